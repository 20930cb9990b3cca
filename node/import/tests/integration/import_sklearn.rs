//! The scikit-learn models users bring (`scripts/sklearn/train.py`): logistic and linear
//! models with and without a `StandardScaler`, regressors, and the per-feature input
//! quantization they need. Each imports, keeps its float quality, and runs bit-exactly
//! on burn against the reference interpreter.

use std::path::PathBuf;
use verdict_executor::{BurnExecutor, Executor, ReferenceExecutor};
use verdict_import::dataset::Dataset;
use verdict_import::{ImportOptions, ImportReport, import_onnx};
use verdict_specs::outputs::outputs_root;
use verdict_specs::quantize::quantize_input;
use verdict_specs::{Model, Task};

pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub(crate) fn dataset(set: &str, split: &str) -> Dataset {
    Dataset::load(&root().join("data").join(set).join(format!("{split}.csv"))).expect("dataset")
}

fn reference(model: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(root().join("models/sklearn/reference.json"))
        .expect("reference.json");
    let all: serde_json::Value = serde_json::from_str(&text).expect("parses");
    all["models"][model].clone()
}

fn import(model: &str, set: &str) -> ImportReport {
    let onnx = std::fs::read(root().join(format!("models/sklearn/{model}.onnx"))).expect("onnx");
    import_onnx(
        &onnx,
        &dataset(set, "calibration"),
        Some(&dataset(set, "test")),
        // As `verdict model import` (scripts/import-demo-models.sh) names them.
        &ImportOptions {
            name: Some(model.into()),
            source: Some(format!("{model}.onnx")),
            ..ImportOptions::default()
        },
        &mut |_| {},
    )
    .unwrap_or_else(|e| panic!("{model} imports: {e}"))
}

/// Burn (1 and 2 threads, batched) and the reference give the same outputs_root.
pub(crate) fn check_bit_exact(model: &Model, set: &str) {
    let test = dataset(set, "test");
    let inputs: Vec<_> = test
        .features
        .iter()
        .map(|f| quantize_input(&model.graph().input, f).expect("quantizes"))
        .collect();
    let reference = ReferenceExecutor::new(std::sync::Arc::new(model.clone()))
        .run_batch(&inputs)
        .expect("reference runs");
    let expected = outputs_root(&reference);
    for threads in [1, 2] {
        let burn = BurnExecutor::ndarray(model)
            .and_then(|e| e.with_threads(threads))
            .expect("burn executor");
        let mut outputs = Vec::new();
        for batch in inputs.chunks(37) {
            outputs.extend(burn.run_batch(batch).expect("burn runs"));
        }
        assert_eq!(outputs_root(&outputs), expected, "{threads} threads");
    }
}

fn check_classifier(model: &str, set: &str, min_agreement: f64) {
    let report = import(model, set);
    assert_eq!(report.task, Task::Classification, "{model}");
    let float = report.float_accuracy.expect("scored");
    let int8 = report.int8_accuracy.expect("scored");
    let onnxruntime = reference(model)["accuracy"].as_f64().expect("accuracy");
    // The float evaluator is the ONNX graph's meaning: it agrees with onnxruntime.
    assert!(
        (float - onnxruntime).abs() < 1e-9,
        "{model}: {float} vs onnxruntime {onnxruntime}"
    );
    assert!(
        int8 >= float - 0.02,
        "{model}: int8 {int8} vs float {float}"
    );
    let agreement = report.agreement.expect("scored");
    assert!(agreement >= min_agreement, "{model}: agreement {agreement}");
    check_bit_exact(&report.model, set);
}

fn check_regressor(model: &str, set: &str) -> ImportReport {
    let report = import(model, set);
    assert_eq!(report.task, Task::Regression, "{model}");
    assert_eq!(report.model.task(), Task::Regression);
    assert!(report.model.graph().output_scale > 0.0);
    let float = report.float_regression.expect("scored");
    let int8 = report.int8_regression.expect("scored");
    let onnxruntime = reference(model)["r2"].as_f64().expect("r2");
    assert!(
        (float.r2 - onnxruntime).abs() < 1e-4,
        "{model}: {} vs {onnxruntime}",
        float.r2
    );
    assert!(
        (int8.r2 - float.r2).abs() <= 0.01,
        "{model}: int8 r2 {} vs float {}",
        int8.r2,
        float.r2
    );
    assert!(report.max_abs_error.expect("scored") > 0.0);
    check_bit_exact(&report.model, set);
    report
}

#[test]
fn logistic_regression_behind_a_scaler_keeps_its_accuracy() {
    check_classifier("breast-cancer-logistic", "breast-cancer", 0.98);
    let report = import("breast-cancer-logistic", "breast-cancer");
    // The Scaler became the input quantization: one (scale, offset) per feature.
    let input = &report.model.graph().input;
    assert_eq!(input.features.len(), 30);
    assert!(input.features.iter().any(|f| f.offset != 0.0));
}

#[test]
fn multiclass_logistic_regression_on_raw_features_keeps_its_accuracy() {
    // Wine's features span 0.1 to 1680: only per-feature input scales keep the small ones.
    check_classifier("wine-logistic", "wine", 0.98);
    let report = import("wine-logistic", "wine");
    assert_eq!(report.model.graph().input.features.len(), 13);
}

#[test]
fn linear_and_ridge_regressors_keep_r2_and_output_real_values() {
    let report = check_regressor("diabetes-linear", "diabetes");
    // The accumulator is the output: i32, no requantization to int8.
    let out = report.model.output_type();
    assert_eq!(out.dtype, verdict_specs::DType::I32);
    assert_eq!(out.shape, vec![1]);
    check_regressor("diabetes-ridge", "diabetes");
}

#[test]
fn an_mlp_regressor_is_scored_as_a_regressor() {
    check_regressor("diabetes-mlp", "diabetes");
}

#[test]
fn a_regressor_predicts_close_to_the_float_model_row_by_row() {
    let report = import("diabetes-ridge", "diabetes");
    let model = &report.model;
    let test = dataset("diabetes", "test");
    let onnx = std::fs::read(root().join("models/sklearn/diabetes-ridge.onnx")).expect("onnx");
    let graph = verdict_import::parse_onnx(&onnx, None, Some(10)).expect("parses");
    for features in test.features.iter().take(20) {
        let float = graph.predict_values(features)[0];
        let input = quantize_input(&model.graph().input, features).expect("quantizes");
        let output = verdict_specs::interpreter::run(model, &input).expect("runs");
        let value = model.output_values(&output).expect("a regressor")[0];
        // Targets run 25..346; the int8 model stays within a couple of units.
        assert!((value - float).abs() < 3.0, "{value} vs {float}");
    }
}

#[test]
fn tanh_and_logistic_mlps_import_with_table_activations() {
    check_classifier("breast-cancer-mlp-tanh", "breast-cancer", 0.98);
    check_classifier("wine-mlp-logistic", "wine", 0.98);
    let report = import("breast-cancer-mlp-tanh", "breast-cancer");
    let ops: Vec<&str> = report
        .model
        .graph()
        .nodes
        .iter()
        .map(|op| op.name())
        .collect();
    assert_eq!(
        ops.iter().filter(|&&op| op == "Table").count(),
        2,
        "{ops:?}"
    );
    // The binary head became two logits and an ArgMax: no table for the output Sigmoid.
    assert_eq!(ops.last(), Some(&"ArgMax"));
}

#[test]
fn the_committed_demo_models_are_what_the_importer_writes() {
    for (model, set) in [
        ("diabetes-ridge", "diabetes"),
        ("breast-cancer-gbt", "breast-cancer"),
    ] {
        let report = import(model, set);
        let path = format!("models/sklearn/{model}.vdm");
        let committed = std::fs::read(root().join(&path)).expect("committed model");
        assert!(
            report.model.encode() == committed,
            "{path} is stale: run scripts/import-demo-models.sh"
        );
    }
}

/// A tree model: an `i32` input with one scale per feature, trees walked exactly, and
/// decisions moved by quantization only for features within a step of a threshold.
fn check_tree_model(report: &ImportReport, trees_at_least: usize) {
    let input = &report.model.graph().input;
    assert_eq!(input.dtype, verdict_specs::DType::I32);
    assert_eq!(input.features.len(), input.shape[0] as usize);
    let walks = report.tree_walks.expect("a tree model counts its walks");
    assert!(walks.walks >= trees_at_least * report.test_rows);
    // The input resolution is about 2^-24 of each feature's range: quantization may move a
    // walk only for a feature within that of a threshold, which these rows never are but
    // for exact ties (handled exactly, see specs/ops.md).
    assert!(
        walks.moved * 1000 <= walks.walks,
        "{} of {} walks moved",
        walks.moved,
        walks.walks
    );
}

#[test]
fn tree_classifiers_from_every_exporter_agree_with_float() {
    for (model, set, trees) in [
        ("breast-cancer-gbt", "breast-cancer", 100),
        ("breast-cancer-forest", "breast-cancer", 50),
        ("breast-cancer-xgboost", "breast-cancer", 60),
        ("wine-decision-tree", "wine", 1),
        ("wine-extra-trees", "wine", 40),
        ("breast-cancer-hgb", "breast-cancer", 80),
    ] {
        // The bar: the tree classifier's predictions agree with float on >= 99 %.
        check_classifier(model, set, 0.99);
        check_tree_model(&import(model, set), trees);
    }
}

#[test]
fn tree_regressors_keep_r2() {
    for (model, trees) in [
        ("diabetes-forest", 40),
        ("diabetes-gbt", 100),
        ("diabetes-lightgbm", 60),
        ("diabetes-hgb", 80),
    ] {
        let report = check_regressor(model, "diabetes");
        check_tree_model(&report, trees);
        // Leaves are fixed point at about 2^-31 of the largest sum: the int8 model's
        // prediction is the float one up to rounding.
        assert!(report.max_abs_error.expect("scored") < 1e-3, "{model}");
    }
}
