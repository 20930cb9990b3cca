//! `verdict model inspect`: the graph of a `.vdm` file, readable.

use crate::input::load_model;
use crate::output::print_json;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;
use verdict_specs::Op;
use verdict_specs::hash::to_hex;

/// Show a model's graph: every op with its inputs, output type and shape, and float
/// scale, plus the parameter count and the model id.
#[derive(Args, Debug)]
pub(crate) struct InspectArgs {
    /// The Verdict model (.vdm).
    model: PathBuf,
    /// Print one JSON object (graph, weights' shapes, metadata, ids).
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: InspectArgs) -> Result<()> {
    let model = load_model(&args.model)?;
    let id = model.id();
    let meta = &model.metadata;
    let types = model.value_types();
    if args.json {
        let weights: Vec<_> = model
            .weights()
            .iter()
            .enumerate()
            .map(|(i, w)| {
                serde_json::json!({
                    "name": meta.weight_names.get(i),
                    "dtype": w.dtype(),
                    "shape": w.shape(),
                    "commitment": to_hex(&w.commitment()),
                })
            })
            .collect();
        return print_json(&serde_json::json!({
            "model_id": to_hex(&id.id),
            "graph_hash": to_hex(&id.graph_hash),
            "weights_root": to_hex(&id.weights_root),
            "name": meta.name,
            "source": meta.source,
            "parameters": model.parameter_count(),
            "graph": model.graph(),
            "value_types": types,
            "weights": weights,
            "value_scales": meta.value_scales,
            "node_names": meta.node_names,
            "notes": meta.notes,
        }));
    }
    let graph = model.graph();
    println!(
        "model         {}",
        if meta.name.is_empty() {
            "(unnamed)"
        } else {
            &meta.name
        }
    );
    if !meta.source.is_empty() {
        println!("source        {}", meta.source);
    }
    println!("model id      {}", to_hex(&id.id));
    println!("graph hash    {}", to_hex(&id.graph_hash));
    println!("weights root  {}", to_hex(&id.weights_root));
    println!(
        "parameters    {} in {} tensors",
        model.parameter_count(),
        model.weights().len()
    );
    println!(
        "input         i8 {:?}, scale {}",
        graph.input.shape, graph.input.scale
    );
    if !graph.input.features.is_empty() {
        let shown: Vec<String> = graph
            .input
            .features
            .iter()
            .take(4)
            .map(|f| format!("(x - {}) / {}", f.offset, f.scale))
            .collect();
        println!(
            "              per feature: {}{}",
            shown.join(", "),
            if graph.input.features.len() > 4 {
                ", ..."
            } else {
                ""
            }
        );
    }
    println!("task          {}", model.task().as_str());
    println!();
    println!(
        "{:>4}  {:<14} {:<24} {:<18} {:<12} detail",
        "#", "op", "name", "output", "scale"
    );
    for (i, op) in graph.nodes.iter().enumerate() {
        let value = i + 1;
        let ty = &types[value];
        let scale = meta
            .value_scales
            .get(value)
            .filter(|s| **s > 0.0)
            .map_or(String::from("-"), |s| format!("{s:.6}"));
        let name = meta.node_names.get(i).map_or("", String::as_str);
        let inputs: Vec<String> = op.inputs().iter().map(|v| format!("%{v}")).collect();
        println!(
            "{:>4}  {:<14} {:<24} {:<18} {:<12} {}({}){}",
            format!("%{value}"),
            op.name(),
            truncate(name, 24),
            format!("{} {:?}", ty.dtype, ty.shape),
            scale,
            op.name(),
            inputs.join(", "),
            detail(&model, op)
        );
    }
    println!();
    println!(
        "output        %{} ({})",
        graph.nodes.len(),
        if model.outputs_label() {
            "class label".to_string()
        } else if model.task() == verdict_specs::Task::Regression {
            format!("real value, x {}", graph.output_scale)
        } else {
            "scores".to_string()
        }
    );
    for note in &meta.notes {
        println!("note: {note}");
    }
    Ok(())
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let head: String = text.chars().take(width - 1).collect();
        format!("{head}…")
    }
}

fn detail(model: &verdict_specs::Model, op: &Op) -> String {
    let shape = |w: u32| {
        model
            .weights()
            .get(w as usize)
            .map(|t| format!("{:?}", t.shape()))
            .unwrap_or_default()
    };
    match op {
        Op::MatMul { weight, bias, .. } => format!(
            " weight {}{}",
            shape(*weight),
            if bias.is_some() { " + bias" } else { "" }
        ),
        Op::Conv2d {
            weight,
            bias,
            stride,
            padding,
            ..
        } => format!(
            " weight {} stride {stride:?} pad {padding:?}{}",
            shape(*weight),
            if bias.is_some() { " + bias" } else { "" }
        ),
        Op::Requantize { axis, params, .. } => {
            if params.len() == 1 {
                format!(" x {} / 2^{}", params[0].multiplier, params[0].shift)
            } else {
                format!(" per channel on axis {axis} ({} channels)", params.len())
            }
        }
        Op::Add {
            a_multiplier,
            b_multiplier,
            shift,
            ..
        } => format!(" x {a_multiplier}, {b_multiplier} / 2^{shift}"),
        Op::MaxPool2d { window, .. } => format!(
            " kernel {:?} stride {:?} pad {:?}",
            window.kernel, window.stride, window.padding
        ),
        Op::AvgPool2d {
            window,
            count_include_pad,
            ..
        } => format!(
            " kernel {:?} stride {:?} pad {:?} count_include_pad {count_include_pad}",
            window.kernel, window.stride, window.padding
        ),
        Op::Reshape { shape, .. } => format!(" to {shape:?}"),
        Op::LabelLookup { labels, .. } => format!(" labels {}", shape(*labels)),
        Op::Table { table, .. } => format!(" table {}", shape(*table)),
        Op::Softmax { table, .. } => format!(" exp table {}", shape(*table)),
        Op::Transpose { perm, .. } => format!(" perm {perm:?}"),
        Op::Concat { axis, .. } => format!(" along axis {axis}"),
        Op::Slice { start, shape, .. } => format!(" at {start:?} shape {shape:?}"),
        Op::Mul {
            multiplier, shift, ..
        } => format!(" x {multiplier} / 2^{shift}"),
        Op::TreeEnsemble {
            nodes,
            leaves,
            roots,
            ..
        } => format!(
            " nodes {} leaves {} roots {}",
            shape(*nodes),
            shape(*leaves),
            shape(*roots)
        ),
        Op::ReduceSum { axis, .. } => format!(" over axis {axis}"),
        Op::Relu { .. } | Op::GlobalAvgPool { .. } | Op::ArgMax { .. } => String::new(),
    }
}
