//! `verdict model eval`: accuracy, `outputs_root` and throughput over a dataset.

use super::{ExecutorKind, predicted_class};
use crate::input::{load_model, quantize};
use crate::output::{percent, print_json, with_fields};
use anyhow::{Context, Result, bail, ensure};
use clap::Args;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use verdict_import::dataset::Dataset;
use verdict_import::score::{RegressionScore, regression_score};
use verdict_specs::hash::to_hex;
use verdict_specs::outputs::outputs_root;
use verdict_specs::{Model, Task, Tensor};

/// Evaluate a model on a labelled dataset.
///
/// Prints, for a classifier, the accuracy (the label against the output's argmax, or
/// against the output itself for a model that ends in a class label); for a regressor,
/// R², the mean absolute error and the largest error of the dequantized output against
/// the target column; then `outputs_root` (one Keccak
/// commitment over every output in row order: two executors or two machines agree
/// exactly when their roots are equal) and the execution throughput (model loading,
/// parsing and input quantization excluded).
#[derive(Args, Debug)]
pub(crate) struct EvalArgs {
    /// The Verdict model (.vdm).
    model: PathBuf,
    /// CSV: float features then the target (integer label, or real value for a
    /// regressor), one row per example.
    #[arg(long, value_name = "CSV")]
    dataset: PathBuf,
    /// Which executor runs the model.
    #[arg(long, value_enum, default_value_t = ExecutorKind::Burn)]
    executor: ExecutorKind,
    /// Examples per executor call.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=65536))]
    batch: u32,
    /// Threads each batch may be split over (default: all cores). A part holds at least
    /// 8 examples and enough work to pay for a thread, so a small model keeps a small
    /// batch on one thread. Outputs are identical for every thread count.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    threads: Option<u32>,
    /// Run the whole dataset this many times, for a steadier throughput figure; every
    /// pass must give the same outputs_root.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100000))]
    repeat: u32,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: EvalArgs) -> Result<()> {
    let threads = args.threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |t| t as usize,
    );
    let model = load_model(&args.model)?;
    let dataset = Dataset::load(&args.dataset)
        .with_context(|| format!("reading dataset {}", args.dataset.display()))?;
    let inputs = dataset
        .features
        .iter()
        .enumerate()
        .map(|(row, features)| {
            quantize(&model, features).with_context(|| format!("dataset row {}", row + 1))
        })
        .collect::<Result<Vec<_>>>()?;
    let executor = args.executor.build(&model, threads)?;

    let mut elapsed = Duration::ZERO;
    let mut first: Option<(Vec<verdict_specs::Tensor>, verdict_specs::Hash)> = None;
    for pass in 0..args.repeat {
        let mut outputs = Vec::with_capacity(inputs.len());
        for batch in inputs.chunks(args.batch as usize) {
            let start = Instant::now();
            let out = executor.run_batch(batch).context("executing the model")?;
            elapsed += start.elapsed();
            outputs.extend(out);
        }
        let root = outputs_root(&outputs);
        match &first {
            None => first = Some((outputs, root)),
            Some((_, expected)) if *expected != root => {
                bail!(
                    "pass {} gave outputs_root {} but pass 1 gave {}: the executor is not deterministic",
                    pass + 1,
                    to_hex(&root),
                    to_hex(expected)
                )
            }
            Some(_) => {}
        }
    }
    let (outputs, root) = first.expect("repeat >= 1");
    ensure!(
        outputs.len() == dataset.len(),
        "executor returned {} outputs for {} rows",
        outputs.len(),
        dataset.len()
    );
    let fit = Fit::of(&model, &outputs, &dataset)?;
    let total = dataset.len() as f64 * f64::from(args.repeat);
    let per_sec = total / elapsed.as_secs_f64().max(1e-9);
    if args.json {
        let json = serde_json::json!({
            "model_id": to_hex(&model.id().id),
            "task": model.task().as_str(),
            "executor": executor.name(),
            "rows": dataset.len(),
            "outputs_root": to_hex(&root),
            "inferences_per_sec": per_sec,
            "execution_seconds": elapsed.as_secs_f64(),
            "batch": args.batch,
            "threads": threads,
            "repeat": args.repeat,
        });
        let fields = match fit {
            Fit::Classes { correct, accuracy } => {
                serde_json::json!({ "correct": correct, "accuracy": accuracy })
            }
            Fit::Values(s) => serde_json::json!({
                "r2": s.r2,
                "mae": s.mae,
                "max_abs_error": s.max_abs_error,
            }),
        };
        return print_json(&with_fields(json, fields));
    }
    println!("model          {}", to_hex(&model.id().id));
    println!(
        "executor       {} (batch {}, {} threads)",
        executor.name(),
        args.batch,
        threads
    );
    match fit {
        Fit::Classes { correct, accuracy } => println!(
            "accuracy       {} ({correct}/{} rows)",
            percent(accuracy),
            dataset.len()
        ),
        Fit::Values(s) => println!(
            "r2             {:.4}  (MAE {:.4}, max error {:.4}, {} rows)",
            s.r2,
            s.mae,
            s.max_abs_error,
            dataset.len()
        ),
    }
    println!("outputs_root   {}", to_hex(&root));
    println!(
        "throughput     {per_sec:.0} inferences/s ({} runs in {:.3} s of execution)",
        total,
        elapsed.as_secs_f64()
    );
    Ok(())
}

/// How the outputs fit the dataset's targets.
enum Fit {
    Classes { correct: usize, accuracy: f64 },
    Values(RegressionScore),
}

impl Fit {
    fn of(model: &Model, outputs: &[Tensor], dataset: &Dataset) -> Result<Self> {
        match model.task() {
            Task::Classification => {
                let labels = dataset.labels().context("the model is a classifier")?;
                let correct = outputs
                    .iter()
                    .zip(&labels)
                    .filter(|(out, label)| predicted_class(model, out) == Some(**label))
                    .count();
                Ok(Fit::Classes {
                    correct,
                    accuracy: correct as f64 / dataset.len() as f64,
                })
            }
            Task::Regression => {
                let values = outputs
                    .iter()
                    .map(|out| {
                        let v = model.output_values(out).unwrap_or_default();
                        ensure!(
                            v.len() == 1,
                            "the regressor has {} outputs; a dataset has one target column",
                            v.len()
                        );
                        Ok(v[0])
                    })
                    .collect::<Result<Vec<f64>>>()?;
                Ok(Fit::Values(regression_score(&values, &dataset.targets)))
            }
        }
    }
}
