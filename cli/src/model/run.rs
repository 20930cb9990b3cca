//! `verdict model run`: one example through a model, with its commitments.

use super::{ExecutorKind, predicted_class};
use crate::input::{load_features, load_model, quantize};
use crate::output::print_json;
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;
use verdict_specs::hash::to_hex;

/// Run a model on one example and print the output tensor, the input and output
/// commitments and the model id.
///
/// The input file holds a JSON array of numbers: the float features of one example in
/// CSV order (row-major in the model's input shape). They are quantized with the
/// model's input scale: q = clamp(floor(x / scale + 1/2), -127, 127).
#[derive(Args, Debug)]
pub(crate) struct RunArgs {
    /// The Verdict model (.vdm).
    model: PathBuf,
    /// JSON array of the example's float features.
    #[arg(long, value_name = "FILE.json")]
    input: PathBuf,
    /// Which executor runs the model.
    #[arg(long, value_enum, default_value_t = ExecutorKind::Burn)]
    executor: ExecutorKind,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: RunArgs) -> Result<()> {
    let model = load_model(&args.model)?;
    let features = load_features(&args.input)?;
    let input = quantize(&model, &features)
        .with_context(|| format!("quantizing {}", args.input.display()))?;
    let executor = args.executor.build(&model, 1)?;
    let output = executor
        .run_batch(std::slice::from_ref(&input))
        .context("executing the model")?
        .pop()
        .context("the executor returned no output")?;
    let values: Vec<i64> = (0..output.len())
        .filter_map(|i| output.data().get(i))
        .collect();
    let scale = model.graph().output_scale;
    let dequantized: Option<Vec<f64>> = (scale > 0.0).then(|| {
        values
            .iter()
            .map(|&v| v as f64 * f64::from(scale))
            .collect()
    });
    let real = model.output_values(&output);
    let class = real
        .is_none()
        .then(|| predicted_class(&model, &output))
        .flatten();
    if args.json {
        return print_json(&serde_json::json!({
            "model_id": to_hex(&model.id().id),
            "input_commitment": to_hex(&input.commitment()),
            "output_commitment": to_hex(&output.commitment()),
            "output": output,
            "output_float": dequantized,
            "output_scale": scale,
            "task": model.task().as_str(),
            "value": real,
            "class": class,
            "executor": executor.name(),
        }));
    }
    println!("model              {}", to_hex(&model.id().id));
    println!("input commitment   {}", to_hex(&input.commitment()));
    println!("output commitment  {}", to_hex(&output.commitment()));
    println!(
        "output             {} {:?} {:?}",
        output.dtype(),
        output.shape(),
        values
    );
    if let Some(floats) = dequantized {
        let shown: Vec<String> = floats.iter().map(|v| format!("{v:.4}")).collect();
        println!("output (float)     [{}]  (x {scale})", shown.join(", "));
    }
    if let Some(real) = &real {
        let shown: Vec<String> = real.iter().map(|v| format!("{v:.6}")).collect();
        println!("value              [{}]", shown.join(", "));
    }
    if let Some(class) = class {
        println!("class              {class}");
    }
    Ok(())
}
