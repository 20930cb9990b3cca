//! The digits models: ONNX import keeps the float accuracy, the float evaluator agrees
//! with onnxruntime, the committed `.vdm` files are exactly what the importer writes, and
//! the burn and reference executors commit to the same outputs on the whole test split.

use std::path::PathBuf;
use std::sync::Arc;
use verdict_executor::{BurnExecutor, Executor, ReferenceExecutor};
use verdict_import::classify::predicted_class;
use verdict_import::dataset::Dataset;
use verdict_import::{ImportOptions, ImportReport, import_onnx};
use verdict_specs::Model;
use verdict_specs::outputs::outputs_root;
use verdict_specs::quantize::quantize_input;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn dataset(name: &str) -> Dataset {
    Dataset::load(&root().join("data/digits").join(name)).expect("dataset loads")
}

fn reference(model: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(root().join("models/digits/reference.json"))
        .expect("reference.json");
    let all: serde_json::Value = serde_json::from_str(&text).expect("reference.json parses");
    all["models"][format!("{model}.onnx")].clone()
}

/// Imports `models/digits/{name}.onnx` exactly as `scripts/import-digits.sh` does.
fn import(name: &str) -> ImportReport {
    let onnx = std::fs::read(root().join(format!("models/digits/{name}.onnx"))).expect("onnx file");
    let options = ImportOptions {
        name: Some(name.to_string()),
        source: Some(format!("{name}.onnx")),
        ..ImportOptions::default()
    };
    let mut last_progress = None;
    let report = import_onnx(
        &onnx,
        &dataset("calibration.csv"),
        Some(&dataset("test.csv")),
        &options,
        &mut |p| last_progress = Some(p),
    )
    .expect("import succeeds");
    assert!(last_progress.is_some(), "progress was reported");
    report
}

fn check_model(name: &str) {
    let report = import(name);
    let expected = reference(name);
    let float = report.float_accuracy.expect("test set given");
    let int8 = report.int8_accuracy.expect("test set given");
    let onnxruntime = expected["onnxruntime_test_accuracy"]
        .as_f64()
        .expect("accuracy");
    assert_eq!(report.test_rows, 540);
    assert_eq!(report.calibration_rows, 256);
    assert!(
        (float - onnxruntime).abs() < 1e-12,
        "{name}: float evaluator {float} vs onnxruntime {onnxruntime}"
    );
    assert!(
        int8 >= float - 0.01,
        "{name}: int8 accuracy {int8} more than 1 point below float {float}"
    );
    eprintln!(
        "{name}: float {float:.4} int8 {int8:.4} agreement {:.4}",
        report.agreement.unwrap_or(0.0)
    );

    // The committed model file is exactly what the importer writes today.
    let path = root().join(format!("models/digits/{name}.vdm"));
    let committed = std::fs::read(&path).expect("committed .vdm (run scripts/import-digits.sh)");
    assert!(
        committed == report.model.encode(),
        "{} is stale: run scripts/import-digits.sh",
        path.display()
    );

    // Same predictions as onnxruntime on the first rows, and the same bits from both executors.
    let model = Model::decode(&committed).expect("committed model decodes");
    let test = dataset("test.csv");
    let inputs: Vec<_> = test
        .features
        .iter()
        .map(|f| quantize_input(&model.graph().input, f).expect("quantizes"))
        .collect();
    let reference_out = ReferenceExecutor::new(Arc::new(model.clone()))
        .run_batch(&inputs)
        .expect("reference runs");
    let burn = BurnExecutor::ndarray(&model).expect("burn executor");
    let burn_out: Vec<_> = inputs
        .chunks(64)
        .flat_map(|batch| burn.run_batch(batch).expect("burn runs"))
        .collect();
    assert_eq!(
        outputs_root(&reference_out),
        outputs_root(&burn_out),
        "{name}: outputs_root differs"
    );
    assert_eq!(reference_out, burn_out);
    let first: Vec<i64> = reference_out[..20]
        .iter()
        .map(|o| predicted_class(&model, o).expect("a class"))
        .collect();
    let onnx_first: Vec<i64> = expected["predicted_labels_first_20"]
        .as_array()
        .expect("labels")
        .iter()
        .filter_map(|v| v.as_i64())
        .collect();
    let differing = first
        .iter()
        .zip(&onnx_first)
        .filter(|(a, b)| a != b)
        .count();
    assert!(
        differing <= 1,
        "{name}: int8 {first:?} vs onnxruntime {onnx_first:?}"
    );
}

#[test]
fn digits_mlp_imports_within_one_point() {
    check_model("digits-mlp");
}

#[test]
fn digits_cnn_imports_within_one_point() {
    check_model("digits-cnn");
}

#[test]
fn importing_twice_gives_identical_bytes() {
    let onnx = std::fs::read(root().join("models/digits/digits-cnn.onnx")).expect("onnx");
    let calibration = dataset("calibration.csv");
    let run = || {
        import_onnx(
            &onnx,
            &calibration,
            None,
            &ImportOptions::default(),
            &mut |_| {},
        )
        .expect("imports")
        .model
        .encode()
    };
    assert_eq!(run(), run());
}

#[test]
fn the_probabilities_output_imports_as_scores() {
    let onnx = std::fs::read(root().join("models/digits/digits-mlp.onnx")).expect("onnx");
    let options = ImportOptions {
        output: Some("probabilities".into()),
        ..ImportOptions::default()
    };
    let report = import_onnx(
        &onnx,
        &dataset("calibration.csv"),
        Some(&dataset("test.csv")),
        &options,
        &mut |_| {},
    )
    .expect("imports");
    assert!(!report.model.outputs_label());
    assert_eq!(report.model.output_type().shape, vec![10]);
    assert!(
        report.notes.iter().any(|n| n.contains("Softmax")),
        "{:?}",
        report.notes
    );
    assert!(report.int8_accuracy.unwrap_or(0.0) > 0.95);
}
