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
        let err = error_of(&model(&[-1, 3], nodes, inits), 3);
        assert!(err.contains(expected), "{err}");
    }
}

#[test]
fn sequence_ops_refuse_what_they_cannot_express_by_name() {
    let ints = |name: &str, v: &[i64]| crate::onnx_build::ints(name, v);
    let cases: Vec<(Vec<onnx_protobuf::NodeProto>, Vec<TensorProto>, &str)> = vec![
        (
            vec![node(
                "Transpose",
                &["x"],
                "y",
                vec![attr_ints("perm", &[1, 0, 2])],
            )],
            vec![],
            "batch axis must stay first",
        ),
        (
            vec![node("Slice", &["x", "s", "e", "a", "st"], "y", vec![])],
            vec![
                ints("s", &[0]),
                ints("e", &[4]),
                ints("a", &[1]),
                ints("st", &[2]),
            ],
            "only step 1",
        ),
        (
            vec![node("Slice", &["x", "s", "e", "a"], "y", vec![])],
            vec![ints("s", &[0]), ints("e", &[2]), ints("a", &[0])],
            "batch axis",
        ),
        (
            vec![node("Gather", &["x", "i"], "y", vec![attr_int("axis", 1)])],
            vec![ints("i", &[0, 1])],
            "takes one index",
        ),
        (
            vec![node("ReduceSum", &["x"], "y", vec![])],
            vec![],
            "name the axes",
        ),
        (
            vec![
                node("Slice", &["x", "s", "e", "a"], "p", vec![]),
                node("Concat", &["x", "p"], "y", vec![attr_int("axis", 1)]),
            ],
            vec![ints("s", &[0]), ints("e", &[1]), ints("a", &[2])],
            "do not join along axis 1",
        ),
        (
            vec![
                node("Slice", &["x", "s", "e", "a"], "p", vec![]),
                node("Sub", &["x", "p"], "y", vec![]),
            ],
            vec![ints("s", &[0]), ints("e", &[1]), ints("a", &[2])],
            "broadcasting between activations",
        ),
    ];
    for (nodes, inits, expected) in cases {
        let err = error_of(&model(&[-1, 4, 3], nodes, inits), 12);
        assert!(err.contains(expected), "{expected}: {err}");
    }
}

/// A dilated causal Conv1d (symmetric pads, then the chomp Slice) over a `[T, F]` window
/// transposed to `[F, T]`, ReduceMax and ReduceMean over time, Gather of the last step and
/// a Concat: the float graph matches a direct evaluation of the ONNX definitions, and the
/// chomp becomes padding.
#[test]
fn a_dilated_causal_conv1d_over_a_transposed_window_matches_its_definition() {
    let ints = |name: &str, v: &[i64]| crate::onnx_build::ints(name, v);
    let mut rng = SplitMix64::new(4);
    let (t, f, o, k, d) = (10usize, 2usize, 3usize, 3usize, 2usize);
    let w = random(&mut rng, o * f * k);
    let b = random(&mut rng, o);
    let pad = ((k - 1) * d) as i64;
    let nodes = vec![
        node(
            "Transpose",
            &["x"],
            "xt",
            vec![attr_ints("perm", &[0, 2, 1])],
        ),
        node(
            "Conv",
            &["xt", "w", "b"],
            "c",
            vec![
                attr_ints("dilations", &[d as i64]),
                attr_ints("pads", &[pad, pad]),
                attr_ints("kernel_shape", &[k as i64]),
            ],
        ),
        node("Slice", &["c", "s", "e", "a"], "h", vec![]),
        node(
            "ReduceMax",
            &["h"],
            "mx",
            vec![attr_ints("axes", &[2]), attr_int("keepdims", 0)],
        ),
        node(
            "ReduceMean",
            &["h"],
            "mn",
            vec![attr_ints("axes", &[-1]), attr_int("keepdims", 0)],
        ),
        node("Gather", &["h", "last"], "g", vec![attr_int("axis", 2)]),
        node("Concat", &["mx", "mn", "g"], "y", vec![attr_int("axis", 1)]),
    ];
    let inits = vec![
        floats("w", &[o as i64, f as i64, k as i64], w.clone()),
        floats("b", &[o as i64], b.clone()),
        ints("s", &[0]),
        ints("e", &[-pad]),
        ints("a", &[2]),
        floats("last", &[], vec![-1.0]),
    ];
    let bytes = model(&[-1, t as i64, f as i64], nodes, inits);
    let graph = parse_onnx(&bytes, None, None).expect("parses");
    assert!(
        graph
            .notes
            .iter()
            .any(|n| n.contains("folded into the convolution's padding")),
        "{:?}",
        graph.notes
    );
    let x: Vec<f64> = random(&mut rng, t * f)
        .iter()
        .map(|&v| f64::from(v))
        .collect();
    // h[c, s] = b[c] + Σ_{i, j} w[c, i, j] · x[s + j·d − pad, i] (zero outside), s < T.
    let h: Vec<Vec<f64>> = (0..o)
        .map(|c| {
            (0..t)
                .map(|s| {
                    let mut v = f64::from(b[c]);
                    for i in 0..f {
                        for j in 0..k {
                            let at = s as i64 + (j * d) as i64 - pad;
                            if at >= 0 {
                                v += f64::from(w[(c * f + i) * k + j]) * x[at as usize * f + i];
                            }
                        }
                    }
                    v
                })
                .collect()
        })
        .collect();
    let mut expected: Vec<f64> = h
        .iter()
        .map(|r| r.iter().copied().fold(f64::MIN, f64::max))
        .collect();
    expected.extend(h.iter().map(|r| r.iter().sum::<f64>() / t as f64));
    expected.extend(h.iter().map(|r| r[t - 1]));
    let got = graph.eval(&x).pop().expect("output");
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(&expected) {
        assert!((g - e).abs() < 1e-5, "{got:?} vs {expected:?}");
    }
    // And the integer model has the ops it should, and mostly agrees.
    let report = import_onnx(
        &bytes,
        &dataset(64, t * f, 2),
        Some(&dataset(200, t * f, 3)),
        &ImportOptions::default(),
        &mut |_| {},
    )
    .expect("imports");
    assert!(
        report.agreement.expect("scored") >= 0.8,
        "{:?}",
        report.agreement
    );
    let ops: Vec<&str> = report.model.graph().nodes.iter().map(Op::name).collect();
    for op in [
        "Transpose",
        "Conv2d",
        "MaxPool2d",
        "ReduceSum",
        "Slice",
        "Concat",
    ] {
        assert!(ops.contains(&op), "no {op} in {ops:?}");
    }
}
