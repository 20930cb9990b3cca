//! Softmax that is read (attention-style pooling), products and differences of two
//! activations, scalar factors, and probability outputs: hand-built ONNX graphs of the
//! patterns exporters write, imported, checked op by op and against the float model.

use crate::onnx_build::*;
use onnx_protobuf::TensorProto;
use verdict_import::{ImportOptions, import_onnx, parse_onnx};
use verdict_specs::model::Op;
use verdict_specs::quantize::quantize_input;
use verdict_specs::vectors::SplitMix64;
use verdict_specs::{Tensor, interpreter};

fn scalar(name: &str, v: f32) -> TensorProto {
    floats(name, &[], vec![v])
}

/// `p = softmax(x W1ᵀ + b1)`, `t = tanh(x W2ᵀ + b2)`, `y = W3 (-1.5 * (p * t - t) / 0.5) + b3`:
/// a Softmax read by a Mul, a Sub of two activations, a Div and a negative Mul by scalars.
fn gated_softmax_model() -> Vec<u8> {
    let mut rng = SplitMix64::new(21);
    let nodes = vec![
        node("Gemm", &["x", "w1", "b1"], "h", vec![attr_int("transB", 1)]),
        node("Softmax", &["h"], "p", vec![attr_int("axis", -1)]),
        node("Gemm", &["x", "w2", "b2"], "g", vec![attr_int("transB", 1)]),
        node("Tanh", &["g"], "t", vec![]),
        node("Mul", &["p", "t"], "m", vec![]),
        node("Sub", &["m", "t"], "d", vec![]),
        node("Div", &["d", "half"], "s", vec![]),
        node("Mul", &["minus", "s"], "n", vec![]),
        node("Gemm", &["n", "w3", "b3"], "y", vec![attr_int("transB", 1)]),
    ];
    let inits = vec![
        floats(
            "w1",
            &[6, 8],
            random(&mut rng, 48).iter().map(|v| 3.0 * v).collect(),
        ),
        floats("b1", &[6], random(&mut rng, 6)),
        floats("w2", &[6, 8], random(&mut rng, 48)),
        floats("b2", &[6], random(&mut rng, 6)),
        scalar("half", 0.5),
        scalar("minus", -1.5),
        floats("w3", &[3, 6], random(&mut rng, 18)),
        floats("b3", &[3], random(&mut rng, 3)),
    ];
    model(&[-1, 8], nodes, inits)
}

#[test]
fn a_read_softmax_products_differences_and_scalar_factors_import_and_agree() {
    let bytes = gated_softmax_model();
    let report = import_onnx(
        &bytes,
        &dataset(128, 8, 5),
        Some(&dataset(400, 8, 6)),
        &ImportOptions::default(),
        &mut |_| {},
    )
    .expect("imports");
    let ops: Vec<&str> = report.model.graph().nodes.iter().map(Op::name).collect();
    assert_eq!(
        ops,
        // The Softmax is computed where its reader needs it; `/ 0.5` is no op at all.
        [
            "MatMul",
            "Requantize",
            "MatMul",
            "Requantize",
            "Table",
            "Softmax",
            "Mul",
            "Add",
            "Add",
            "MatMul",
            "Requantize"
        ],
        "{:?}",
        report.notes
    );
    // Sub is an Add with a negative multiplier; the negative scalar an exact negation.
    let adds: Vec<(i32, i32)> = report
        .model
        .graph()
        .nodes
        .iter()
        .filter_map(|op| match op {
            Op::Add {
                a_multiplier,
                b_multiplier,
                ..
            } => Some((*a_multiplier, *b_multiplier)),
            _ => None,
        })
        .collect();
    assert!(adds[0].0 > 0 && adds[0].1 < 0, "{adds:?}");
    assert_eq!(adds[1], (-(1 << 30), 0));
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("kept as the integer Softmax")),
        "{:?}",
        report.notes
    );
    let agreement = report.agreement.expect("scored");
    eprintln!("gated softmax model: int8 agrees with float on {agreement}");
    assert!(agreement >= 0.9, "int8 agrees with float on {agreement}");
}

#[test]
fn probabilities_are_the_integer_softmax_of_the_scores_when_asked() {
    let mut rng = SplitMix64::new(8);
    let nodes = vec![
        node("Gemm", &["x", "w", "b"], "z", vec![attr_int("transB", 1)]),
        node("Softmax", &["z"], "y", vec![]),
    ];
    let inits = vec![
        floats(
            "w",
            &[4, 5],
            random(&mut rng, 20).iter().map(|v| 2.0 * v).collect(),
        ),
        floats("b", &[4], random(&mut rng, 4)),
    ];
    let bytes = model(&[-1, 5], nodes, inits);
    let import = |probabilities| {
        import_onnx(
            &bytes,
            &dataset(64, 5, 1),
            Some(&dataset(300, 5, 2)),
            &ImportOptions {
                probabilities,
                ..ImportOptions::default()
            },
            &mut |_| {},
        )
    };
    let scores = import(false).expect("imports");
    assert_eq!(
        scores.model.graph().nodes.last().map(Op::name),
        Some("Requantize")
    );
    let probs = import(true).expect("imports");
    assert_eq!(
        probs.model.graph().nodes.last().map(Op::name),
        Some("Softmax")
    );
    assert_eq!(probs.model.graph().output_scale, 1.0 / 127.0);
    assert!(probs.agreement.expect("scored") >= 0.9);

    // Each row is a distribution within a few int8 steps of the float softmax.
    let float = parse_onnx(&bytes, None, Some(5)).expect("parses");
    let test = dataset(100, 5, 3);
    let mut worst = 0.0f64;
    for row in &test.features {
        let q = quantize_input(&probs.model.graph().input, row).expect("quantizes");
        let y: Tensor = interpreter::run(&probs.model, &q).expect("runs");
        let y: Vec<f64> = (0..y.len())
            .map(|i| y.data().get(i).expect("element") as f64 / 127.0)
            .collect();
        let logits = float.eval(row).pop().expect("output");
        let max = logits.iter().copied().fold(f64::MIN, f64::max);
        let exps: Vec<f64> = logits.iter().map(|v| (v - max).exp()).collect();
        let sum: f64 = exps.iter().sum();
        for (p, e) in y.iter().zip(&exps) {
            worst = worst.max((p - e / sum).abs());
        }
        let total: f64 = y.iter().sum();
        assert!((total - 1.0).abs() <= 4.0 / 127.0, "{y:?}");
    }
    eprintln!(
        "probabilities: agreement {:?}, largest error vs float softmax {worst:.4}",
        probs.agreement
    );
    assert!(worst < 0.05, "largest probability error {worst}");
}

#[test]
fn probabilities_need_a_softmax_output() {
    let nodes = vec![node("Relu", &["x"], "y", vec![])];
    let err = import_onnx(
        &model(&[-1, 3], nodes, vec![]),
        &dataset(8, 3, 1),
        None,
        &ImportOptions {
            probabilities: true,
            ..ImportOptions::default()
        },
        &mut |_| {},
    )
    .expect_err("no Softmax to keep");
    assert!(err.to_string().contains("not a Softmax"), "{err}");
}

#[test]
fn what_the_integer_ops_cannot_express_is_refused_by_name() {
    let cases: Vec<(Vec<onnx_protobuf::NodeProto>, Vec<TensorProto>, &str)> = vec![
        (
            vec![
                node("Relu", &["x"], "r", vec![]),
                node("Div", &["x", "r"], "y", vec![]),
            ],
            vec![],
            "divides one activation by another",
        ),
        (
            vec![
                node("Relu", &["x"], "r", vec![]),
                node("Mul", &["r", "zero"], "y", vec![]),
            ],
            vec![scalar("zero", 0.0)],
            "finite and non-zero",
        ),
        (
            vec![
                node("Relu", &["x"], "r", vec![]),
                node("Sub", &["r", "c"], "y", vec![]),
            ],
            vec![scalar("c", 1.0)],
            "Sub_y",
        ),
        (
            vec![
                node("LogSoftmax", &["x"], "s", vec![]),
                node("Relu", &["s"], "y", vec![]),
            ],
            vec![],
            "Relu_y",
        ),
    ];
    for (nodes, inits, expected) in cases {
        let err = import_onnx(
            &model(&[-1, 3], nodes, inits),
            &dataset(8, 3, 1),
            None,
            &ImportOptions::default(),
            &mut |_| {},
        )
        .expect_err("refused");
        assert!(err.to_string().contains(expected), "{err}");
    }
}
