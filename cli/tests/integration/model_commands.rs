//! `verdict model …` end to end: the real binary on the committed digits models and data.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn verdict(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the verdict binary runs")
}

/// Runs a command that must succeed and print one JSON object.
fn json(args: &[&str]) -> Value {
    let out = verdict(args);
    assert!(
        out.status.success(),
        "verdict {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

/// Runs a command that must fail; returns its stderr.
fn failure(args: &[&str]) -> String {
    let out = verdict(args);
    assert!(!out.status.success(), "verdict {args:?} should fail");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        stderr.starts_with("error: "),
        "errors start with 'error: ': {stderr}"
    );
    stderr
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

#[test]
fn import_writes_the_committed_model_and_reports_accuracy() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("mlp.vdm");
    let report = json(&[
        "model",
        "import",
        "models/digits/digits-mlp.onnx",
        "--calibration",
        "data/digits/calibration.csv",
        "--test",
        "data/digits/test.csv",
        "--name",
        "digits-mlp",
        "-o",
        path_str(&out),
        "--json",
    ]);
    let float = report["float_accuracy"].as_f64().expect("float_accuracy");
    let int8 = report["int8_accuracy"].as_f64().expect("int8_accuracy");
    assert!(int8 >= float - 0.01, "{report}");
    assert_eq!(report["test_rows"], 540);
    assert_eq!(report["calibration_rows"], 256);
    let written = std::fs::read(&out).expect("model written");
    let committed = std::fs::read(root().join("models/digits/digits-mlp.vdm")).expect("committed");
    assert!(
        written == committed,
        "the CLI import differs from the committed model"
    );
    let inspected = json(&["model", "inspect", path_str(&out), "--json"]);
    assert_eq!(inspected["model_id"], report["model_id"]);
    assert_eq!(inspected["name"], "digits-mlp");
}

#[test]
fn eval_gives_the_same_outputs_root_on_both_executors() {
    let burn = json(&[
        "model",
        "eval",
        "models/digits/digits-cnn.vdm",
        "--dataset",
        "data/digits/test.csv",
        "--batch",
        "17",
        "--repeat",
        "2",
        "--json",
    ]);
    let reference = json(&[
        "model",
        "eval",
        "models/digits/digits-cnn.vdm",
        "--dataset",
        "data/digits/test.csv",
        "--executor",
        "reference",
        "--json",
    ]);
    assert_eq!(burn["outputs_root"], reference["outputs_root"]);
    assert_eq!(burn["accuracy"], reference["accuracy"]);
    assert_eq!(burn["rows"], 540);
    assert!(burn["accuracy"].as_f64().expect("accuracy") > 0.95);
    assert!(burn["inferences_per_sec"].as_f64().expect("throughput") > 0.0);
}

#[test]
fn eval_results_do_not_depend_on_the_thread_count() {
    let run = |threads: &str| {
        json(&[
            "model",
            "eval",
            "models/digits/digits-mlp.vdm",
            "--dataset",
            "data/digits/test.csv",
            "--threads",
            threads,
            "--json",
        ])["outputs_root"]
            .clone()
    };
    assert_eq!(run("1"), run("2"));
}

#[test]
fn run_classifies_one_example() {
    for (model, expected) in [("digits-mlp", 1), ("digits-cnn", 1)] {
        let out = json(&[
            "model",
            "run",
            &format!("models/digits/{model}.vdm"),
            "--input",
            "examples/inputs/test-row-0.json",
            "--json",
        ]);
        assert_eq!(out["class"], expected, "{model}: {out}");
        assert!(
            out["output_commitment"]
                .as_str()
                .expect("hex")
                .starts_with("0x")
        );
        let reference = json(&[
            "model",
            "run",
            &format!("models/digits/{model}.vdm"),
            "--input",
            "examples/inputs/test-row-0.json",
            "--executor",
            "reference",
            "--json",
        ]);
        assert_eq!(out["output_commitment"], reference["output_commitment"]);
    }
}

#[test]
fn bad_inputs_get_clear_errors_and_leave_no_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = failure(&["model", "inspect", "no/such/model.vdm"]);
    assert!(missing.contains("no/such/model.vdm"), "{missing}");

    let corrupt = dir.path().join("corrupt.vdm");
    let mut bytes = std::fs::read(root().join("models/digits/digits-cnn.vdm")).expect("model");
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&corrupt, &bytes).expect("write");
    let err = failure(&["model", "inspect", path_str(&corrupt)]);
    assert!(err.contains("malformed model"), "{err}");

    let short_input = dir.path().join("short.json");
    std::fs::write(&short_input, "[0.5, 0.25]").expect("write");
    let err = failure(&[
        "model",
        "run",
        "models/digits/digits-mlp.vdm",
        "--input",
        path_str(&short_input),
    ]);
    assert!(err.contains("expected 64 input features, got 2"), "{err}");

    let not_onnx = dir.path().join("bad.onnx");
    std::fs::write(&not_onnx, b"\x0a\xff\xff\xff garbage").expect("write");
    let target = dir.path().join("out.vdm");
    let err = failure(&[
        "model",
        "import",
        path_str(&not_onnx),
        "--calibration",
        "data/digits/calibration.csv",
        "-o",
        path_str(&target),
    ]);
    assert!(err.contains("ONNX"), "{err}");
    assert!(!target.exists(), "a failed import writes nothing");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    let bad_csv = dir.path().join("bad.csv");
    std::fs::write(&bad_csv, "0.1,0.2,1\n0.3,x,2\n").expect("write");
    let err = failure(&[
        "model",
        "eval",
        "models/digits/digits-mlp.vdm",
        "--dataset",
        path_str(&bad_csv),
    ]);
    assert!(err.contains("line 2, column 2"), "{err}");
}
