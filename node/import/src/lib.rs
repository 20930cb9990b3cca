//! ONNX import: a float ONNX model and a calibration set in, a Verdict int8 model out.
//!
//! 1. [`parse_onnx`] reads the part of the ONNX graph that computes the chosen output
//!    into a [`FloatGraph`] (ops the integer op set has, with folds and drops noted).
//! 2. The float graph runs on every calibration row; each value's largest magnitude
//!    fixes its int8 scale.
//! 3. `quantize` writes the integer graph: per-output-channel weights, `i32` biases,
//!    fixed-point requantization (see the `quantize` module docs for every rule).
//! 4. With a test set, the float graph and the int8 model (run by the reference
//!    interpreter, the definition) are both scored, and how often they agree.
//!
//! The result is deterministic: the same ONNX bytes and calibration rows give the same
//! model bytes, on any machine.
//!
//! Beside the import: [`dataset`], the labelled-CSV format every command reads, and
//! [`classify`], the class an output stands for.

pub mod activation;
pub mod classify;
pub mod dataset;
mod error;
mod float;
mod onnx;
mod quantize;
pub mod score;
pub mod trees;

pub use error::{ImportError, ImportResult};
pub use float::{FloatGraph, FloatNode, FloatOp, InputAffine};
pub use onnx::parse_onnx;

use crate::classify::predicted_class;
use crate::dataset::Dataset;
use crate::score::{RegressionScore, regression_score};
use quantize::Calibration;
use verdict_specs::model::Metadata;
use verdict_specs::quantize::quantize_input;
use verdict_specs::{Model, Task, Tensor, interpreter};

/// What to import and how to label it.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// Model name stored in the file (default: `"model"`).
    pub name: Option<String>,
    /// Which ONNX value to import as the output (default: the first graph output).
    pub output: Option<String>,
    /// Where the model came from, e.g. the ONNX file name, recorded in the metadata.
    pub source: Option<String>,
    /// Classifier or regressor (default: read from the graph — a class or score output
    /// classifies, a regressor op or a single real output regresses).
    pub task: Option<Task>,
    /// Keep a Softmax the output ends in, as the integer Softmax, so the model outputs
    /// probabilities (scale 1/127) instead of the scores before it. Off by default: the
    /// class is the same either way, and the scores tie less often.
    pub probabilities: bool,
}

/// Progress of a long import, for progress bars.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportProgress {
    /// Calibration rows run through the float model.
    Calibrating {
        /// Rows done.
        done: usize,
        /// Rows in all.
        total: usize,
    },
    /// Test rows scored with the float and the int8 model.
    Evaluating {
        /// Rows done.
        done: usize,
        /// Rows in all.
        total: usize,
    },
}

/// The imported model and how well it keeps the float model's accuracy.
#[derive(Clone, Debug)]
pub struct ImportReport {
    /// The int8 model.
    pub model: Model,
    /// Classifier or regressor.
    pub task: Task,
    /// A regressor's fit on the test rows, float model against the targets.
    pub float_regression: Option<RegressionScore>,
    /// A regressor's fit on the test rows, int8 model against the targets.
    pub int8_regression: Option<RegressionScore>,
    /// A regressor's largest `|int8 - float|` prediction difference on the test rows.
    pub max_abs_error: Option<f64>,
    /// Float model accuracy on the test rows (with a test set).
    pub float_accuracy: Option<f64>,
    /// Int8 model accuracy on the test rows (with a test set).
    pub int8_accuracy: Option<f64>,
    /// Fraction of test rows where both predict the same class (with a test set).
    pub agreement: Option<f64>,
    /// For a tree model: how many tree walks on the test rows (rows × trees) end at
    /// another leaf in the integer model than in the float one, i.e. met a threshold
    /// within one quantization step of the feature.
    pub tree_walks: Option<TreeWalks>,
    /// Test rows scored (0 without a test set).
    pub test_rows: usize,
    /// Calibration rows used.
    pub calibration_rows: usize,
    /// What the importer dropped, folded or clamped.
    pub notes: Vec<String>,
}

/// Tree walks on the test rows and how many quantization moved to another leaf.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeWalks {
    /// Rows × trees.
    pub walks: usize,
    /// Walks ending at another leaf than the float model's.
    pub moved: usize,
}

/// Appends the integer Softmax the ONNX output ends in (the parser drops it).
fn keep_output_softmax(graph: &mut FloatGraph) -> ImportResult<()> {
    let Some(note) = graph.output_softmax.take() else {
        return Err(ImportError::Structure(
            "probabilities asked for, but the chosen output is not a Softmax".into(),
        ));
    };
    let last = graph.value_count() - 1;
    graph.nodes.push(FloatNode {
        name: "output#softmax".into(),
        op: FloatOp::Softmax { input: last },
        shape: graph.shape(last).to_vec(),
    });
    graph.notes[note] = "the output Softmax is kept as the integer Softmax: the model outputs \
        probabilities (scale 1/127)"
        .into();
    // The output holds the probabilities now, not the scores before them.
    graph
        .notes
        .retain(|n| !n.contains("holds the scores before Softmax"));
    Ok(())
}

/// Imports `onnx` (the bytes of a `.onnx` file), calibrating on `calibration` and,
/// if given, scoring on `test`. `progress` is called after every row.
pub fn import_onnx(
    onnx: &[u8],
    calibration: &Dataset,
    test: Option<&Dataset>,
    options: &ImportOptions,
    progress: &mut dyn FnMut(ImportProgress),
) -> ImportResult<ImportReport> {
    if calibration.is_empty() {
        return Err(ImportError::Dataset {
            which: "calibration",
            reason: "no rows".into(),
        });
    }
    let mut graph = parse_onnx(
        onnx,
        options.output.as_deref(),
        Some(calibration.feature_count()),
    )?;
    if let Some(task) = options.task {
        if task == Task::Regression && graph.outputs_class() {
            return Err(ImportError::Structure(
                "the chosen output is a class label, not a real value; import another output \
                 (e.g. the scores) to regress"
                    .into(),
            ));
        }
        let outputs = graph
            .shape(graph.value_count() - 1)
            .iter()
            .product::<usize>();
        if task == Task::Classification && outputs == 1 && !graph.outputs_class() {
            return Err(ImportError::Structure(
                "the chosen output is one value; a classifier needs a label or one score per \
                 class (import as a regressor, or choose the class output)"
                    .into(),
            ));
        }
        graph.task = task;
    }
    if options.probabilities {
        keep_output_softmax(&mut graph)?;
    }
    check_features(&graph, calibration, "calibration")?;
    if let Some(test) = test {
        check_features(&graph, test, "test")?;
    }

    let mut stats = Calibration::new(graph.value_count());
    let total = calibration.len();
    for (done, features) in calibration.features.iter().enumerate() {
        stats.observe(&graph.eval(features));
        progress(ImportProgress::Calibrating {
            done: done + 1,
            total,
        });
    }

    let mut notes = graph.notes.clone();
    notes.push(format!("activation ranges calibrated on {total} rows"));
    let metadata = Metadata {
        name: options.name.clone().unwrap_or_else(|| "model".into()),
        source: source_line(&graph, options),
        notes,
        ..Metadata::default()
    };
    // The quantizer may add notes of its own; the report repeats the model's.
    let model = quantize::quantize(&graph, &stats, metadata)?;
    let notes = model.metadata.notes.clone();

    if model.task() != graph.task {
        return Err(ImportError::Structure(format!(
            "the graph was imported as a {} model but its integer output ({} {:?}) reads as {}",
            graph.task.as_str(),
            model.output_type().dtype,
            model.output_type().shape,
            model.task().as_str()
        )));
    }
    let mut report = ImportReport {
        task: model.task(),
        model,
        float_regression: None,
        int8_regression: None,
        max_abs_error: None,
        float_accuracy: None,
        int8_accuracy: None,
        agreement: None,
        tree_walks: None,
        test_rows: 0,
        calibration_rows: total,
        notes,
    };
    if let Some(test) = test {
        match report.task {
            Task::Classification => score(&graph, &mut report, test, progress)?,
            Task::Regression => score_regression(&graph, &mut report, test, progress)?,
        }
        report.tree_walks = tree_walks(&graph, &report.model, test)?;
    }
    Ok(report)
}

/// Counts the test rows' tree walks that quantization moved to another leaf, for a
/// model with a tree ensemble.
fn tree_walks(
    graph: &FloatGraph,
    model: &Model,
    test: &Dataset,
) -> ImportResult<Option<TreeWalks>> {
    let Some(ensemble) = graph.nodes.iter().find_map(|n| match &n.op {
        FloatOp::TreeEnsemble { ensemble, .. } => Some(ensemble),
        _ => None,
    }) else {
        return Ok(None);
    };
    let Some((nodes, roots)) = model.graph().nodes.iter().find_map(|op| match op {
        verdict_specs::model::Op::TreeEnsemble { nodes, roots, .. } => Some((*nodes, *roots)),
        _ => None,
    }) else {
        return Ok(None);
    };
    let spec = &model.graph().input;
    let leaf_of = trees::lower(ensemble, &spec.features, 1.0)
        .map_err(|e| ImportError::Structure(e.to_string()))?
        .leaf_of;
    let weight = |id: u32| model.weights()[id as usize].as_i32().unwrap_or_default();
    let (nodes, roots) = (weight(nodes), weight(roots));
    let mut walks = TreeWalks { walks: 0, moved: 0 };
    for (row, features) in test.features.iter().enumerate() {
        let q = quantize_input(spec, features).map_err(|e| ImportError::Dataset {
            which: "test",
            reason: format!("row {}: {e}", row + 1),
        })?;
        let q: Vec<i64> = (0..q.len()).filter_map(|i| q.data().get(i)).collect();
        walks.walks += ensemble.roots.len();
        walks.moved += trees::moved_walks(ensemble, &leaf_of, nodes, roots, features, &q);
    }
    Ok(Some(walks))
}

fn check_features(graph: &FloatGraph, data: &Dataset, which: &'static str) -> ImportResult<()> {
    if data.feature_count() != graph.input_len() {
        return Err(ImportError::Dataset {
            which,
            reason: format!(
                "rows have {} features; the model input {:?} takes {}",
                data.feature_count(),
                graph.input_shape,
                graph.input_len()
            ),
        });
    }
    Ok(())
}

fn source_line(graph: &FloatGraph, options: &ImportOptions) -> String {
    let mut parts = vec!["ONNX".to_string()];
    if let Some(source) = &options.source {
        parts.push(source.clone());
    }
    if !graph.producer.is_empty() {
        parts.push(format!("from {}", graph.producer));
    }
    format!(
        "{}, quantized by the verdict importer (format 1)",
        parts.join(" ")
    )
}

/// Runs the int8 model (the reference interpreter) on one test row.
fn run_int8(model: &Model, features: &[f64], row: usize) -> ImportResult<Tensor> {
    let input =
        quantize_input(&model.graph().input, features).map_err(|e| ImportError::Dataset {
            which: "test",
            reason: format!("row {}: {e}", row + 1),
        })?;
    Ok(interpreter::run(model, &input)
        .map_err(|source| verdict_executor::ExecError::BadInput { index: row, source })?)
}

/// Scores a regressor: R², MAE and largest error of both models against the targets,
/// and the largest int8-vs-float difference.
fn score_regression(
    graph: &FloatGraph,
    report: &mut ImportReport,
    test: &Dataset,
    progress: &mut dyn FnMut(ImportProgress),
) -> ImportResult<()> {
    let model = &report.model;
    let outputs = model.output_type().shape.iter().product::<u32>();
    if outputs != 1 {
        return Err(ImportError::Dataset {
            which: "test",
            reason: format!("the regressor has {outputs} outputs; a dataset has one target column"),
        });
    }
    let total = test.len();
    let (mut float_values, mut int8_values) =
        (Vec::with_capacity(total), Vec::with_capacity(total));
    let mut max_diff = 0.0f64;
    for (done, features) in test.features.iter().enumerate() {
        let float = graph
            .predict_values(features)
            .first()
            .copied()
            .unwrap_or(0.0);
        let output = run_int8(model, features, done)?;
        let int8 = model
            .output_values(&output)
            .and_then(|v| v.first().copied())
            .unwrap_or(0.0);
        max_diff = max_diff.max((int8 - float).abs());
        float_values.push(float);
        int8_values.push(int8);
        progress(ImportProgress::Evaluating {
            done: done + 1,
            total,
        });
    }
    report.float_regression = Some(regression_score(&float_values, &test.targets));
    report.int8_regression = Some(regression_score(&int8_values, &test.targets));
    report.max_abs_error = Some(max_diff);
    report.test_rows = total;
    Ok(())
}

/// Scores the float graph and the int8 model on `test`.
fn score(
    graph: &FloatGraph,
    report: &mut ImportReport,
    test: &Dataset,
    progress: &mut dyn FnMut(ImportProgress),
) -> ImportResult<()> {
    let model = &report.model;
    let total = test.len();
    let labels = test.labels().map_err(|e| ImportError::Dataset {
        which: "test",
        reason: e.to_string(),
    })?;
    let (mut float_correct, mut int8_correct, mut agree) = (0usize, 0usize, 0usize);
    for (done, (features, &label)) in test.features.iter().zip(&labels).enumerate() {
        let float_class = graph.predict(features);
        let output = run_int8(model, features, done)?;
        let int8_class = predicted_class(model, &output);
        float_correct += usize::from(float_class == label);
        int8_correct += usize::from(int8_class == Some(label));
        agree += usize::from(int8_class == Some(float_class));
        progress(ImportProgress::Evaluating {
            done: done + 1,
            total,
        });
    }
    let rate = |n: usize| {
        if total == 0 {
            0.0
        } else {
            n as f64 / total as f64
        }
    };
    report.float_accuracy = Some(rate(float_correct));
    report.int8_accuracy = Some(rate(int8_correct));
    report.agreement = Some(rate(agree));
    report.test_rows = total;
    Ok(())
}
