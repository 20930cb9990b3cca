//! `verdict model import`: ONNX → quantized `.vdm`, with an accuracy report.

use crate::output::{percent, print_json, with_fields, write_atomically};
use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use verdict_import::dataset::Dataset;
use verdict_import::{ImportOptions, ImportProgress, import_onnx};
use verdict_specs::Task;
use verdict_specs::hash::to_hex;

/// Import a float ONNX model: quantize it to int8 with calibration rows and write a
/// Verdict model file.
///
/// Weights are quantized per output channel, activations per tensor from the ranges
/// seen on the calibration rows. With --test, the float and int8 models are both run
/// on the test rows: a classifier reports their accuracy and agreement, a regressor R²,
/// MAE and the largest int8-vs-float difference. Dataset CSV: one row per example, the
/// float features in order, then the target (the integer label, or the real value for a
/// regressor); no header.
///
/// Supported ONNX ops, what is folded or dropped, and every quantization rule:
/// docs/model-import.md.
#[derive(Args, Debug)]
pub(crate) struct ImportArgs {
    /// The float ONNX model (e.g. from skl2onnx or torch.onnx).
    onnx: PathBuf,
    /// CSV rows used to measure activation ranges (a few hundred representative rows).
    #[arg(long, value_name = "CSV")]
    calibration: PathBuf,
    /// CSV rows to measure float and int8 accuracy on.
    #[arg(long, value_name = "CSV")]
    test: Option<PathBuf>,
    /// Where to write the Verdict model (.vdm).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    out: PathBuf,
    /// Model name stored in the file (default: the ONNX file's stem).
    #[arg(long)]
    name: Option<String>,
    /// Which ONNX graph output to import (default: the first).
    #[arg(long = "onnx-output", value_name = "NAME")]
    onnx_output: Option<String>,
    /// Classifier or regressor (default: read from the graph: a label or class scores
    /// classify; a regressor op, or one real-valued output, regresses).
    #[arg(long, value_enum)]
    task: Option<TaskArg>,
    /// Keep the Softmax a classifier's output ends in, so the model outputs class
    /// probabilities (int8 at scale 1/127, the integer Softmax) rather than the scores
    /// before it; the class is the same, ties between probabilities are likelier.
    #[arg(long)]
    probabilities: bool,
    /// Print one JSON object instead of the readable report.
    #[arg(long)]
    json: bool,
}

/// `--task`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum TaskArg {
    /// The output is a class (label, index or argmax of scores).
    Classification,
    /// The output is a real value, kept at the accumulator's precision.
    Regression,
}

impl From<TaskArg> for Task {
    fn from(t: TaskArg) -> Self {
        match t {
            TaskArg::Classification => Task::Classification,
            TaskArg::Regression => Task::Regression,
        }
    }
}

pub(crate) fn run(args: ImportArgs) -> Result<()> {
    let onnx =
        std::fs::read(&args.onnx).with_context(|| format!("reading {}", args.onnx.display()))?;
    let calibration = Dataset::load(&args.calibration)
        .with_context(|| format!("reading calibration set {}", args.calibration.display()))?;
    let test = args
        .test
        .as_ref()
        .map(|p| Dataset::load(p).with_context(|| format!("reading test set {}", p.display())))
        .transpose()?;
    let options = ImportOptions {
        name: args.name.clone().or_else(|| {
            args.onnx
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
        }),
        output: args.onnx_output.clone(),
        source: args
            .onnx
            .file_name()
            .map(|s| s.to_string_lossy().into_owned()),
        task: args.task.map(Task::from),
        probabilities: args.probabilities,
    };
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} rows")
            .expect("static template")
            .progress_chars("=> "),
    );
    let mut on_progress = |p: ImportProgress| match p {
        ImportProgress::Calibrating { done, total } => {
            bar.set_message("calibrating");
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
        ImportProgress::Evaluating { done, total } => {
            bar.set_message("evaluating");
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
        #[allow(unreachable_patterns)]
        _ => {}
    };
    let report = import_onnx(
        &onnx,
        &calibration,
        test.as_ref(),
        &options,
        &mut on_progress,
    )
    .with_context(|| format!("importing {}", args.onnx.display()))?;
    bar.finish_and_clear();

    let bytes = report.model.encode();
    write_atomically(&args.out, &bytes)?;
    let id = report.model.id();
    let regression = report.task == Task::Regression;
    if args.json {
        let json = serde_json::json!({
            "model_id": to_hex(&id.id),
            "graph_hash": to_hex(&id.graph_hash),
            "weights_root": to_hex(&id.weights_root),
            "output": args.out.display().to_string(),
            "bytes": bytes.len(),
            "parameters": report.model.parameter_count(),
            "task": report.task.as_str(),
            "output_scale": report.model.graph().output_scale,
            "per_feature_input": !report.model.graph().input.features.is_empty(),
            "input_dtype": report.model.graph().input.dtype.name(),
            "tree_walks": report.tree_walks.map(|w| w.walks),
            "tree_walks_moved": report.tree_walks.map(|w| w.moved),
            "calibration_rows": report.calibration_rows,
            "test_rows": report.test_rows,
            "notes": report.notes,
        });
        let fields = if regression {
            serde_json::json!({
                "float_r2": report.float_regression.map(|s| s.r2),
                "int8_r2": report.int8_regression.map(|s| s.r2),
                "float_mae": report.float_regression.map(|s| s.mae),
                "int8_mae": report.int8_regression.map(|s| s.mae),
                "max_abs_error": report.max_abs_error,
            })
        } else {
            serde_json::json!({
                "float_accuracy": report.float_accuracy,
                "int8_accuracy": report.int8_accuracy,
                "agreement": report.agreement,
            })
        };
        return print_json(&with_fields(json, fields));
    }
    println!(
        "wrote {} ({} bytes, {} parameters)",
        args.out.display(),
        bytes.len(),
        report.model.parameter_count()
    );
    println!("model id        {}", to_hex(&id.id));
    println!(
        "task            {}{}",
        report.task.as_str(),
        if regression {
            format!(" (output scale {})", report.model.graph().output_scale)
        } else {
            String::new()
        }
    );
    println!("calibration     {} rows", report.calibration_rows);
    if let (Some(f), Some(q), Some(diff)) = (
        report.float_regression,
        report.int8_regression,
        report.max_abs_error,
    ) {
        println!("test rows       {}", report.test_rows);
        println!("float r2        {:.4}  (MAE {:.4})", f.r2, f.mae);
        println!(
            "int8 r2         {:.4}  (MAE {:.4}, {:+.4} r2)",
            q.r2,
            q.mae,
            q.r2 - f.r2
        );
        println!("max |int8-float| {diff:.6}");
    }
    if let (Some(f), Some(q), Some(a)) = (
        report.float_accuracy,
        report.int8_accuracy,
        report.agreement,
    ) {
        println!("test rows       {}", report.test_rows);
        println!("float accuracy  {}", percent(f));
        println!(
            "int8 accuracy   {}  ({:+.2} points)",
            percent(q),
            (q - f) * 100.0
        );
        println!(
            "agreement       {}  (float and int8 predict the same class)",
            percent(a)
        );
    }
    if let Some(w) = report.tree_walks {
        println!(
            "tree walks      {} of {} end at another leaf than float (a feature within one \
             quantization step of a threshold)",
            w.moved, w.walks
        );
    }
    for note in &report.notes {
        println!("note: {note}");
    }
    Ok(())
}
