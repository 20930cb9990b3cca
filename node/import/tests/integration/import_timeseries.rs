//! The co2 forecaster (`scripts/timeseries/train_tcn.py`): a TCN exported by
//! `torch.onnx` — Transpose of the `[T, F]` window, dilated causal Conv1d with its chomp
//! Slice, BatchNorm, SiLU, residual Adds, attention pooling over time (a Softmax along
//! the time axis, a broadcast Mul, a ReduceSum), the last step by Gather, a Concat and a
//! linear head. It imports as torch wrote it, keeps its float error, and runs bit-exactly
//! on burn.

use crate::import_sklearn::{check_bit_exact, dataset, root};
use verdict_import::{ImportOptions, ImportReport, import_onnx};
use verdict_specs::Task;
use verdict_specs::model::Op;

fn import_tcn() -> ImportReport {
    let onnx = std::fs::read(root().join("models/timeseries/co2-tcn.onnx")).expect("onnx");
    import_onnx(
        &onnx,
        &dataset("co2", "calibration"),
        Some(&dataset("co2", "test")),
        &ImportOptions {
            name: Some("co2-tcn".into()),
            source: Some("co2-tcn.onnx".into()),
            ..ImportOptions::default()
        },
        &mut |_| {},
    )
    .expect("co2-tcn imports")
}

#[test]
fn the_tcn_forecaster_keeps_its_error_and_runs_bit_exactly() {
    let report = import_tcn();
    assert_eq!(report.task, Task::Regression);
    let ops: Vec<&str> = report.model.graph().nodes.iter().map(Op::name).collect();
    for op in [
        "Transpose",
        "Conv2d",
        "Table",
        "Softmax",
        "Mul",
        "ReduceSum",
        "Slice",
        "Concat",
    ] {
        assert!(ops.contains(&op), "no {op} in {ops:?}");
    }
    let text = std::fs::read_to_string(root().join("models/timeseries/reference.json"))
        .expect("reference.json");
    let reference: serde_json::Value = serde_json::from_str(&text).expect("parses");
    let onnxruntime = reference["co2-tcn"]["float_mae"]
        .as_f64()
        .expect("float_mae");
    let float = report.float_regression.expect("scored").mae;
    let int8 = report.int8_regression.expect("scored").mae;
    // The float evaluator is the ONNX graph's meaning (onnxruntime computes in f32).
    assert!(
        (float - onnxruntime).abs() < 1e-4 * onnxruntime,
        "float MAE {float} vs onnxruntime {onnxruntime}"
    );
    eprintln!("co2-tcn: float MAE {float:.5}, int8 MAE {int8:.5}");
    assert!(int8 <= float * 1.05, "int8 MAE {int8} vs float {float}");
    check_bit_exact(&report.model, "co2");
}

#[test]
fn the_committed_forecaster_is_what_the_importer_writes() {
    let committed =
        std::fs::read(root().join("models/timeseries/co2-tcn.vdm")).expect("committed model");
    assert!(
        import_tcn().model.encode() == committed,
        "models/timeseries/co2-tcn.vdm is stale: run scripts/import-demo-models.sh"
    );
}
