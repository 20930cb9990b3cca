//! The importer on hand-built ONNX graphs: what it maps, what it folds, and a clear error
//! naming the node, op and attribute for everything it cannot map. Corrupted ONNX bytes
//! give an error, never a panic.

use crate::onnx_build::*;
use onnx_protobuf::tensor_proto::DataType;
use onnx_protobuf::{AttributeProto, NodeProto, TensorProto};
use proptest::prelude::*;
use verdict_import::{ImportError, ImportOptions, import_onnx, parse_onnx};
use verdict_specs::model::Op;
use verdict_specs::vectors::SplitMix64;

// --- what maps -----------------------------------------------------------------------------

/// Conv + BatchNormalization + Relu + MaxPool + Conv + residual Add + AveragePool +
/// Flatten + Gemm(transB) — BN folded, Add of two activations kept.
fn cnn_with_batch_norm() -> Vec<u8> {
    let mut rng = SplitMix64::new(7);
    let nodes = vec![
        node(
            "Conv",
            &["x", "w1", "b1"],
            "c1",
            vec![attr_ints("pads", &[1, 1, 1, 1])],
        ),
        node(
            "BatchNormalization",
            &["c1", "g", "beta", "mean", "var"],
            "bn",
            vec![attr_float("epsilon", 1e-5)],
        ),
        node("Relu", &["bn"], "r1", vec![]),
        node(
            "MaxPool",
            &["r1"],
            "p1",
            vec![
                attr_ints("kernel_shape", &[2, 2]),
                attr_ints("strides", &[2, 2]),
            ],
        ),
        node(
            "Conv",
            &["p1", "w2"],
            "c2",
            vec![attr_ints("pads", &[1, 1, 1, 1])],
        ),
        node("Add", &["c2", "p1"], "res", vec![]),
        node(
            "AveragePool",
            &["res"],
            "p2",
            vec![
                attr_ints("kernel_shape", &[2, 2]),
                attr_ints("strides", &[2, 2]),
            ],
        ),
        node("Flatten", &["p2"], "f", vec![]),
        node("Gemm", &["f", "w3", "b3"], "y", vec![attr_int("transB", 1)]),
    ];
    let inits = vec![
        floats("w1", &[4, 2, 3, 3], random(&mut rng, 72)),
        floats("b1", &[4], random(&mut rng, 4)),
        floats("g", &[4], vec![1.5, 0.5, 1.0, 2.0]),
        floats("beta", &[4], vec![0.1, -0.2, 0.0, 0.3]),
        floats("mean", &[4], vec![0.05, 0.0, -0.1, 0.2]),
        floats("var", &[4], vec![1.0, 0.25, 4.0, 0.5]),
        floats("w2", &[4, 4, 3, 3], random(&mut rng, 144)),
        floats("w3", &[5, 16], random(&mut rng, 80)),
        floats("b3", &[5], random(&mut rng, 5)),
    ];
    model(&[-1, 2, 8, 8], nodes, inits)
}

#[test]
fn batch_norm_folds_and_residual_add_maps() {
    let bytes = cnn_with_batch_norm();
    let graph = parse_onnx(&bytes, None, None).expect("parses");
    assert_eq!(graph.input_shape, vec![2, 8, 8]);
    assert!(
        graph.notes.iter().any(|n| n.contains("BatchNormalization")),
        "{:?}",
        graph.notes
    );
    let report = import_onnx(
        &bytes,
        &dataset(64, 128, 2),
        Some(&dataset(200, 128, 3)),
        &ImportOptions::default(),
        &mut |_| {},
    )
    .expect("imports");
    let ops: Vec<&str> = report.model.graph().nodes.iter().map(Op::name).collect();
    assert_eq!(
        ops,
        [
            "Conv2d",
            "Requantize",
            "Relu",
            "MaxPool2d",
            "Conv2d",
            "Requantize",
            "Add",
            "AvgPool2d",
            "Reshape",
            "MatMul",
            "Requantize"
        ]
    );
    let agreement = report.agreement.expect("scored");
    assert!(
        agreement > 0.85,
        "int8 agrees with float on only {agreement}"
    );
}

#[test]
fn batch_norm_folding_matches_the_float_definition() {
    // Conv(1x1, one channel, weight 2, bias 1) then BN(gamma 3, beta 0.5, mean 1, var 3, eps 1):
    // y = (2x + 1 - 1) * 3 / 2 + 0.5 = 3x + 0.5.
    let nodes = vec![
        node("Conv", &["x", "w", "b"], "c", vec![]),
        node(
            "BatchNormalization",
            &["c", "g", "beta", "mean", "var"],
            "y",
            vec![attr_float("epsilon", 1.0)],
        ),
    ];
    let inits = vec![
        floats("w", &[1, 1, 1, 1], vec![2.0]),
        floats("b", &[1], vec![1.0]),
        floats("g", &[1], vec![3.0]),
        floats("beta", &[1], vec![0.5]),
        floats("mean", &[1], vec![1.0]),
        floats("var", &[1], vec![3.0]),
    ];
    let graph = parse_onnx(&model(&[-1, 1, 1, 2], nodes, inits), None, None).expect("parses");
    let values = graph.eval(&[1.0, -2.0]);
    assert_eq!(values.last().expect("output"), &vec![3.5, -5.5]);
}

#[test]
fn mlp_with_matmul_add_and_reshape_maps() {
    let mut rng = SplitMix64::new(9);
    let nodes = vec![
        node("Reshape", &["x", "shape"], "flat", vec![]),
        node("MatMul", &["flat", "w1"], "m1", vec![]),
        node("Add", &["b1", "m1"], "a1", vec![]),
        node("Relu", &["a1"], "r1", vec![]),
        node("MatMul", &["r1", "w2"], "m2", vec![]),
        node("Add", &["m2", "b2"], "y", vec![]),
    ];
    let inits = vec![
        ints("shape", &[0, -1]),
        floats("w1", &[12, 16], random(&mut rng, 192)),
        floats("b1", &[1, 16], random(&mut rng, 16)),
        floats("w2", &[16, 3], random(&mut rng, 48)),
        floats("b2", &[3], random(&mut rng, 3)),
    ];
    let bytes = model(&[-1, 3, 4], nodes, inits);
    let graph = parse_onnx(&bytes, None, None).expect("parses");
    assert_eq!(
        graph.nodes.len(),
        4,
        "reshape, two dense layers and a relu: {:?}",
        graph.nodes
    );
    assert!(agreement(&bytes, 12) > 0.9);
}

#[test]
fn an_unknown_input_dimension_is_taken_from_the_data() {
    let nodes = vec![node("Relu", &["x"], "y", vec![])];
    let bytes = model(&[-1, -1], nodes, vec![]);
    assert!(parse_onnx(&bytes, None, None).is_err());
    let graph = parse_onnx(&bytes, None, Some(5)).expect("parses with a feature count");
    assert_eq!(graph.input_shape, vec![5]);
}

/// PyTorch's `x.view(x.size(0), -1)` (Shape → Gather → Unsqueeze → Concat → Reshape),
/// `x.mean([2, 3])` and constant scaling after a Gemm, on a model small enough to check by
/// hand: y = ((2 * mean(x)) * 3 + 1) * 2 - 0.5.
#[test]
fn torch_style_shape_arithmetic_reduce_mean_and_affine_folds_map() {
    let nodes = vec![
        node("Conv", &["x", "w"], "c", vec![]),
        node(
            "ReduceMean",
            &["c"],
            "m",
            vec![attr_ints("axes", &[2, 3]), attr_int("keepdims", 1)],
        ),
        node("Shape", &["m"], "s", vec![]),
        node("Gather", &["s", "zero"], "b", vec![attr_int("axis", 0)]),
        node("Unsqueeze", &["b", "axes0"], "bu", vec![]),
        node(
            "Concat",
            &["bu", "minus_one"],
            "target",
            vec![attr_int("axis", 0)],
        ),
        node("Reshape", &["m", "target"], "flat", vec![]),
        node(
            "Gemm",
            &["flat", "g", "gb"],
            "gemm",
            vec![attr_int("transB", 1)],
        ),
        node("Mul", &["gemm", "two"], "scaled", vec![]),
        node("Sub", &["scaled", "half"], "y", vec![]),
    ];
    let scalar_int = |name: &str, v: i64| TensorProto {
        name: name.into(),
        data_type: DataType::INT64 as i32,
        int64_data: vec![v],
        ..Default::default()
    };
    let inits = vec![
        floats("w", &[1, 1, 1, 1], vec![2.0]),
        scalar_int("zero", 0),
        ints("axes0", &[0]),
        ints("minus_one", &[-1]),
        floats("g", &[1, 1], vec![3.0]),
        floats("gb", &[1], vec![1.0]),
        floats("two", &[], vec![2.0]),
        floats("half", &[1], vec![0.5]),
    ];
    let bytes = model(&[-1, 1, 2, 2], nodes, inits);
    let graph = parse_onnx(&bytes, None, None).expect("parses");
    let values = graph.eval(&[1.0, 2.0, 3.0, 4.0]);
    assert_eq!(values.last().expect("output"), &vec![31.5]);
    assert!(
        graph.notes.iter().any(|n| n.contains("Mul")),
        "{:?}",
        graph.notes
    );
    let report = import_onnx(
        &bytes,
        &dataset(32, 4, 2),
        None,
        &ImportOptions::default(),
        &mut |_| {},
    )
    .expect("imports");
    let ops: Vec<&str> = report.model.graph().nodes.iter().map(Op::name).collect();
    // One real-valued output: a regressor, whose last accumulator is the output.
    assert_eq!(report.task, verdict_specs::Task::Regression);
    assert_eq!(
        ops,
        ["Conv2d", "Requantize", "GlobalAvgPool", "Reshape", "MatMul"]
    );
    // One score cannot be classified (its argmax is always 0): forcing it is refused.
    let err = import_onnx(
        &bytes,
        &dataset(32, 4, 2),
        None,
        &ImportOptions {
            task: Some(verdict_specs::Task::Classification),
            ..ImportOptions::default()
        },
        &mut |_| {},
    )
    .expect_err("one output cannot classify");
    assert!(err.to_string().contains("one value"), "{err}");
}

#[test]
fn squeeze_and_unsqueeze_reshape_activations_but_not_the_batch_axis() {
    let nodes = vec![
        node("GlobalAveragePool", &["x"], "p", vec![]),
        node("Squeeze", &["p", "axes"], "sq", vec![]),
        node("Unsqueeze", &["sq", "axis1"], "y", vec![]),
    ];
    let inits = vec![ints("axes", &[2, 3]), ints("axis1", &[1])];
    let graph = parse_onnx(&model(&[-1, 3, 2, 2], nodes, inits), None, None).expect("parses");
    assert_eq!(graph.nodes.last().expect("a node").shape, vec![1, 3]);

    let nodes = vec![node("Squeeze", &["x", "axes"], "y", vec![])];
    let err = error_of(&model(&[-1, 3], nodes, vec![ints("axes", &[0])]), 3);
    assert!(err.contains("size 1"), "{err}");
}

#[test]
fn the_batch_size_never_becomes_a_weight() {
    // A shape-derived constant used as a Gemm bias would bake in a made-up batch size.
    let nodes = vec![
        node("Shape", &["x"], "s", vec![]),
        node("Gather", &["s", "idx"], "b", vec![]),
        node("Gemm", &["x", "w", "b"], "y", vec![]),
    ];
    let inits = vec![ints("idx", &[0]), floats("w", &[2, 1], vec![1.0, 1.0])];
    let err = error_of(&model(&[-1, 2], nodes, inits), 2);
    assert!(err.contains("batch size"), "{err}");
}

// --- clear errors --------------------------------------------------------------------------

#[test]
fn unsupported_ops_are_named_with_their_node() {
    let bytes = model(&[-1, 4], vec![node("LSTM", &["x"], "y", vec![])], vec![]);
    let err = error_of(&bytes, 4);
    assert!(
        err.contains("LSTM_y") && err.contains("'LSTM' is not supported"),
        "{err}"
    );
    assert!(err.contains("MatMul"), "lists the supported ops: {err}");
    // An ai.onnx.ml op outside the set names its domain.
    let mut svm = node("SVMClassifier", &["x"], "y", vec![]);
    svm.domain = "ai.onnx.ml".into();
    let err = error_of(&model(&[-1, 4], vec![svm], vec![]), 4);
    assert!(
        err.contains("'ai.onnx.ml:SVMClassifier' is not supported"),
        "{err}"
    );
}

#[test]
fn refused_attributes_of_the_new_ops_are_named() {
    // A regressor whose output goes through PROBIT.
    let mut linear = node(
        "LinearRegressor",
        &["x"],
        "y",
        vec![
            attr_floats("coefficients", &[1.0, 2.0, 3.0, 4.0]),
            attr_string("post_transform", "PROBIT"),
        ],
    );
    linear.domain = "ai.onnx.ml".into();
    let err = error_of(&model(&[-1, 4], vec![linear], vec![]), 4);
    assert!(
        err.contains("LinearRegressor_y")
            && err.contains("LinearRegressor")
            && err.contains("post_transform = PROBIT"),
        "{err}"
    );
    // A Gelu with an approximation nobody defines.
    let bytes = model(
        &[-1, 4],
        vec![node(
            "Gelu",
            &["x"],
            "y",
            vec![attr_string("approximate", "cubic")],
        )],
        vec![],
    );
    let err = error_of(&bytes, 4);
    assert!(
        err.contains("Gelu_y") && err.contains("approximate"),
        "{err}"
    );
    // Coefficients that do not fit the input.
    let mut classifier = node(
        "LinearClassifier",
        &["x"],
        "y",
        vec![
            attr_floats("coefficients", &[1.0; 12]),
            attr_ints("classlabels_ints", &[0, 1, 2, 3]),
        ],
    );
    classifier.domain = "ai.onnx.ml".into();
    let err = error_of(&model(&[-1, 4], vec![classifier], vec![]), 4);
    assert!(
        err.contains("3 coefficient rows for 4 class labels"),
        "{err}"
    );
}

#[test]
fn a_lone_activation_imports_as_a_table_and_runs_exactly() {
    for op in [
        "Sigmoid",
        "Tanh",
        "Exp",
        "Erf",
        "Gelu",
        "HardSigmoid",
        "HardSwish",
        "LeakyRelu",
        "Elu",
        "Softplus",
    ] {
        // One feature in, one value out: a regressor, scored against the float function.
        let bytes = model(&[-1, 1], vec![node(op, &["x"], "y", vec![])], vec![]);
        let report = import_onnx(
            &bytes,
            &dataset(64, 1, 3),
            Some(&dataset(64, 1, 4)),
            &ImportOptions {
                task: Some(verdict_specs::Task::Regression),
                ..ImportOptions::default()
            },
            &mut |_| {},
        )
        .unwrap_or_else(|e| panic!("{op}: {e}"));
        let ops: Vec<&str> = report.model.graph().nodes.iter().map(Op::name).collect();
        assert_eq!(ops, ["Table"], "{op}");
        // The int8 table follows the float function to within a couple of output steps.
        let step = f64::from(report.model.graph().output_scale);
        assert!(
            report.max_abs_error.expect("scored") <= 3.0 * step + 1e-9,
            "{op}: error {:?}, step {step}",
            report.max_abs_error
        );
    }
}

#[test]
fn grouped_convolutions_name_the_attribute() {
    let nodes = vec![node("Conv", &["x", "w"], "y", vec![attr_int("group", 2)])];
    let inits = vec![floats("w", &[2, 1, 1, 1], vec![1.0, 1.0])];
    let err = error_of(&model(&[-1, 2, 2, 2], nodes, inits), 8);
    assert!(err.contains("group") && err.contains("Conv"), "{err}");
}

#[test]
fn pool_dilations_ceil_mode_and_last_index_ties_are_refused() {
    // A convolution dilates its kernel (zeros between the taps); a pool cannot.
    let pool = vec![node(
        "MaxPool",
        &["x"],
        "y",
        vec![
            attr_ints("kernel_shape", &[2, 2]),
            attr_ints("dilations", &[2, 2]),
        ],
    )];
    let err = error_of(&model(&[-1, 1, 4, 4], pool, vec![]), 16);
    assert!(err.contains("dilations"), "{err}");
    let conv = vec![node(
        "Conv",
        &["x", "w"],
        "y",
        vec![attr_ints("dilations", &[0, 1])],
    )];
    let err = error_of(
        &model(
            &[-1, 1, 4, 4],
            conv,
            vec![floats("w", &[1, 1, 2, 2], vec![1.0; 4])],
        ),
        16,
    );
    assert!(err.contains("positive dilations"), "{err}");

    let pool = vec![node(
        "MaxPool",
        &["x"],
        "y",
        vec![attr_ints("kernel_shape", &[2, 2]), attr_int("ceil_mode", 1)],
    )];
    let err = error_of(&model(&[-1, 1, 3, 3], pool, vec![]), 9);
    assert!(err.contains("ceil_mode"), "{err}");

    let argmax = vec![node(
        "ArgMax",
        &["x"],
        "y",
        vec![attr_int("axis", 1), attr_int("select_last_index", 1)],
    )];
    let err = error_of(&model(&[-1, 3], argmax, vec![]), 3);
    assert!(err.contains("select_last_index"), "{err}");
}

#[test]
fn a_softmax_read_by_another_op_is_computed_not_dropped() {
    let nodes = vec![
        node("Softmax", &["x"], "s", vec![]),
        node("Relu", &["s"], "y", vec![]),
    ];
    let graph = parse_onnx(&model(&[-1, 3], nodes, vec![]), None, None).expect("parses");
    assert!(
        matches!(
            graph.nodes[0].op,
            verdict_import::FloatOp::Softmax { input: 0 }
        ),
        "{:?}",
        graph.nodes
    );
}

#[test]
fn run_time_weights_and_bad_reshapes_are_refused() {
    let nodes = vec![node("MatMul", &["x", "x"], "y", vec![])];
    let err = error_of(&model(&[-1, 3], nodes, vec![]), 3);
    assert!(err.contains("computed at run time"), "{err}");

    let nodes = vec![node("Reshape", &["x", "shape"], "y", vec![])];
    let err = error_of(&model(&[-1, 6], nodes, vec![ints("shape", &[-1])]), 6);
    assert!(err.contains("batch axis"), "{err}");
    let nodes = vec![node("Reshape", &["x", "shape"], "y", vec![])];
    let err = error_of(&model(&[-1, 6], nodes, vec![ints("shape", &[0, 4])]), 6);
    assert!(err.contains("cannot reshape"), "{err}");
}

#[test]
fn structural_problems_are_explained() {
    // Unknown output name.
    let bytes = model(&[-1, 3], vec![node("Relu", &["x"], "y", vec![])], vec![]);
    let options = ImportOptions {
        output: Some("nope".into()),
        ..ImportOptions::default()
    };
    let err =
        import_onnx(&bytes, &dataset(4, 3, 1), None, &options, &mut |_| {}).expect_err("fails");
    assert!(
        err.to_string().contains("nope") && err.to_string().contains("y"),
        "{err}"
    );

    // Feature count mismatch.
    let err = import_onnx(
        &bytes,
        &dataset(4, 5, 1),
        None,
        &ImportOptions::default(),
        &mut |_| {},
    )
    .expect_err("fails");
    assert!(
        matches!(
            err,
            ImportError::Dataset {
                which: "calibration",
                ..
            }
        ),
        "{err}"
    );

    // Weights outside the file.
    let mut w = floats("w", &[3, 2], vec![]);
    w.data_location = onnx_protobuf::tensor_proto::DataLocation::EXTERNAL.into();
    let bytes = model(
        &[-1, 3],
        vec![node("MatMul", &["x", "w"], "y", vec![])],
        vec![w],
    );
    assert!(error_of(&bytes, 3).contains("external data"));

    // A tensor whose data disagrees with its shape.
    let bytes = model(
        &[-1, 3],
        vec![node("MatMul", &["x", "w"], "y", vec![])],
        vec![floats("w", &[3, 2], vec![1.0; 5])],
    );
    let err = error_of(&bytes, 3);
    assert!(err.contains("'w'") && err.contains("5 values"), "{err}");

    // Not ONNX at all.
    assert!(error_of(b"definitely not a protobuf", 3).contains("ONNX"));
}

// --- corrupted files never panic ---------------------------------------------------------------

fn digits_mlp() -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../models/digits/digits-mlp.onnx");
    std::fs::read(path).expect("committed model")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn corrupted_onnx_gives_errors_not_panics(
        seed in any::<u64>(),
        flips in 1usize..16,
        truncate in proptest::option::of(0usize..8000),
    ) {
        let mut bytes = if seed % 2 == 0 { digits_mlp() } else { cnn_with_batch_norm() };
        let mut rng = SplitMix64::new(seed);
        for _ in 0..flips {
            let i = rng.range(0, bytes.len() as i64 - 1) as usize;
            bytes[i] ^= 1 << rng.range(0, 7);
        }
        if let Some(n) = truncate {
            bytes.truncate(n.min(bytes.len()));
        }
        let features = if seed % 2 == 0 { 64 } else { 128 };
        // Either outcome is fine; a panic fails the test.
        let _ = import_onnx(&bytes, &dataset(4, features, seed), Some(&dataset(4, features, 1)), &ImportOptions::default(), &mut |_| {});
    }
}

/// A one-split regressor tree `x[feature] <= 0.5 ? 1 : 2` with extra attributes.
fn stump(feature: i64, extra: Vec<AttributeProto>) -> NodeProto {
    let mut attrs = vec![
        attr_ints("nodes_treeids", &[0, 0, 0]),
        attr_ints("nodes_nodeids", &[0, 1, 2]),
        attr_ints("nodes_featureids", &[feature, 0, 0]),
        attr_strings("nodes_modes", &["BRANCH_LEQ", "LEAF", "LEAF"]),
        attr_floats("nodes_values", &[0.5, 0.0, 0.0]),
        attr_ints("nodes_truenodeids", &[1, 0, 0]),
        attr_ints("nodes_falsenodeids", &[2, 0, 0]),
        attr_ints("target_treeids", &[0, 0]),
        attr_ints("target_nodeids", &[1, 2]),
        attr_ints("target_ids", &[0, 0]),
        attr_floats("target_weights", &[1.0, 2.0]),
    ];
    attrs.extend(extra);
    let mut n = node("TreeEnsembleRegressor", &["x"], "y", attrs);
    n.domain = "ai.onnx.ml".into();
    n
}

/// A regressor of `trees` one-split trees over 4 features.
fn many_stumps(trees: usize) -> NodeProto {
    let mut rng = SplitMix64::new(trees as u64);
    let per = |v: &dyn Fn(usize) -> Vec<i64>| (0..trees).flat_map(v).collect::<Vec<i64>>();
    let modes: Vec<&str> = (0..trees)
        .flat_map(|_| ["BRANCH_LEQ", "LEAF", "LEAF"])
        .collect();
    let thresholds: Vec<f32> = (0..trees)
        // Between the data's thousandths: no feature sits on a threshold.
        .flat_map(|_| [(rng.range(-900, 900) as f32 + 0.5) / 1000.0, 0.0, 0.0])
        .collect();
    let weights: Vec<f32> = (0..2 * trees)
        .map(|_| rng.range(-1000, 1000) as f32 / 1000.0)
        .collect();
    let attrs = vec![
        attr_ints("nodes_treeids", &per(&|t| vec![t as i64; 3])),
        attr_ints("nodes_nodeids", &per(&|_| vec![0, 1, 2])),
        attr_ints("nodes_featureids", &per(&|t| vec![(t % 4) as i64, 0, 0])),
        attr_strings("nodes_modes", &modes),
        attr_floats("nodes_values", &thresholds),
        attr_ints("nodes_truenodeids", &per(&|_| vec![1, 0, 0])),
        attr_ints("nodes_falsenodeids", &per(&|_| vec![2, 0, 0])),
        attr_ints("target_treeids", &per(&|t| vec![t as i64; 2])),
        attr_ints("target_nodeids", &per(&|_| vec![1, 2])),
        attr_ints("target_ids", &per(&|_| vec![0, 0])),
        attr_floats("target_weights", &weights),
    ];
    let mut n = node("TreeEnsembleRegressor", &["x"], "y", attrs);
    n.domain = "ai.onnx.ml".into();
    n
}

#[test]
fn a_large_ensemble_is_summed_in_bounded_groups_with_the_same_result() {
    let bytes = model(&[-1, 4], vec![many_stumps(1300)], vec![]);
    let calibration = dataset(64, 4, 7);
    let report = verdict_import::import_onnx(
        &bytes,
        &calibration,
        Some(&dataset(100, 4, 8)),
        &verdict_import::ImportOptions::default(),
        &mut |_| {},
    )
    .expect("imports");
    let ops: Vec<&str> = report.model.graph().nodes.iter().map(Op::name).collect();
    // 1300 trees (+ the base-value tree) in groups of 512: three ensembles, three sums,
    // two joins, one final sum, the reshape.
    assert_eq!(
        ops.iter().filter(|&&o| o == "TreeEnsemble").count(),
        3,
        "{ops:?}"
    );
    assert_eq!(ops.iter().filter(|&&o| o == "Concat").count(), 2, "{ops:?}");
    let types = report.model.value_types();
    for (i, op) in report.model.graph().nodes.iter().enumerate() {
        if let Op::ReduceSum { input, axis } = op {
            let row = types[*input as usize].shape[*axis as usize];
            assert!(row <= 512, "node {i} sums {row} terms");
        }
    }
    // Leaves at 2^-31 of the largest sum and no feature on a threshold: the prediction
    // is the float one.
    assert_eq!(report.tree_walks.map(|w| w.moved), Some(0));
    assert!(
        report.max_abs_error.expect("scored") < 1e-3,
        "{:?}",
        report.max_abs_error
    );
}

#[test]
fn tree_ensembles_import_and_refused_attributes_are_named() {
    // The plain stump imports as a regressor with an i32 input.
    let bytes = model(&[-1, 4], vec![stump(2, vec![])], vec![]);
    let calibration = dataset(32, 4, 5);
    let report = verdict_import::import_onnx(
        &bytes,
        &calibration,
        Some(&calibration),
        &verdict_import::ImportOptions::default(),
        &mut |_| {},
    )
    .expect("a stump imports");
    assert_eq!(report.task, verdict_specs::Task::Regression);
    assert_eq!(report.model.graph().input.dtype, verdict_specs::DType::I32);
    assert!(report.max_abs_error.expect("scored") < 1e-6);
    // MIN aggregation has no integer op.
    let err = error_of(
        &model(
            &[-1, 4],
            vec![stump(2, vec![attr_string("aggregate_function", "MIN")])],
            vec![],
        ),
        4,
    );
    assert!(
        err.contains("TreeEnsembleRegressor_y") && err.contains("aggregate_function = MIN"),
        "{err}"
    );
    // A feature the input does not have.
    let err = error_of(&model(&[-1, 4], vec![stump(9, vec![])], vec![]), 4);
    assert!(err.contains("compares feature 9"), "{err}");
    // A mode nobody defines.
    let mut bad_mode = stump(1, vec![]);
    bad_mode.attribute[3] = attr_strings("nodes_modes", &["BRANCH_ALMOST", "LEAF", "LEAF"]);
    let err = error_of(&model(&[-1, 4], vec![bad_mode], vec![]), 4);
    assert!(err.contains("unknown mode BRANCH_ALMOST"), "{err}");
}
