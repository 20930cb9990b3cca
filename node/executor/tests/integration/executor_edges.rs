//! The burn executor at the edges of its exactness argument, on fixed worst cases:
//! contractions whose partial sums pass 2^24 unless chunked, biases that push the
//! accumulator off the f32 fast path, pooling sums too long for f32, argmax over wide
//! i32 values and long rows, and requantization at the extremes.

use std::sync::Arc;
use verdict_executor::{BurnExecutor, Executor, ReferenceExecutor};
use verdict_specs::model::{Graph, InputSpec, Metadata, Op, Requant, Window};
use verdict_specs::tensor::element_count;
use verdict_specs::vectors::SplitMix64;
use verdict_specs::{Model, Tensor};

fn model(input: Vec<u32>, nodes: Vec<Op>, weights: Vec<Tensor>) -> Model {
    let graph = Graph {
        input: InputSpec::per_tensor(input, 0.1),
        nodes,
        output_scale: 0.0,
    };
    Model::new(graph, weights, Metadata::default()).expect("valid")
}

/// One sign, mostly 127, sometimes 126 or 125: partial sums grow through odd values.
fn near_max(rng: &mut SplitMix64, n: usize, sign: i8) -> Vec<i8> {
    (0..n)
        .map(|_| sign * (127 - (rng.range(0, 9) - 7).max(0) as i8))
        .collect()
}

fn input(rng: &mut SplitMix64, shape: &[u32], sign: i8) -> Tensor {
    let n = element_count(shape).expect("valid");
    Tensor::from_i8(shape.to_vec(), near_max(rng, n, sign)).expect("sized")
}

/// Burn's trace equals the reference trace, batched and on 1 and 3 threads.
fn assert_exact(model: &Model, inputs: &[Tensor]) {
    let reference = ReferenceExecutor::new(Arc::new(model.clone()));
    let expected = reference.trace_batch(inputs).expect("valid inputs");
    let burn = BurnExecutor::ndarray(model).expect("supported");
    assert_eq!(burn.trace_batch(inputs).expect("valid inputs"), expected);
    let outputs: Vec<Tensor> = expected.iter().map(|t| t[t.len() - 1].clone()).collect();
    for threads in [1, 3] {
        let pooled = burn.clone().with_threads(threads).expect("pool");
        assert_eq!(pooled.run_batch(inputs).expect("valid"), outputs);
    }
}

#[test]
fn long_matmul_is_exact_past_2_pow_24() {
    let mut rng = SplitMix64::new(1);
    let k = 2100;
    // 2100 * 16129 = 33_870_900 > 2^24: one f32 sum would round.
    let weight = Tensor::from_i8(vec![3, k], near_max(&mut rng, 3 * k as usize, 1)).expect("sized");
    let bias = Tensor::from_i32(vec![3], vec![1_000_001, -7, 0]).expect("sized");
    let m = model(
        vec![2, k],
        vec![
            Op::MatMul {
                input: 0,
                weight: 0,
                bias: Some(1),
            },
            Op::MatMul {
                input: 0,
                weight: 0,
                bias: None,
            },
        ],
        vec![weight, bias],
    );
    let inputs: Vec<Tensor> = (0..4)
        .map(|i| input(&mut rng, &[2, k], if i % 2 == 0 { 1 } else { -1 }))
        .collect();
    assert_exact(&m, &inputs);
}

#[test]
fn bias_near_2_pow_24_leaves_the_fast_path() {
    let mut rng = SplitMix64::new(2);
    let k = 1000u32;
    // 1000 * 16129 = 16_129_000; a bias of 700_001 takes the sum past 2^24.
    let weight = Tensor::from_i8(vec![2, k], near_max(&mut rng, 2 * k as usize, 1)).expect("sized");
    let bias = Tensor::from_i32(vec![2], vec![700_001, -700_001]).expect("sized");
    let m = model(
        vec![k],
        vec![Op::MatMul {
            input: 0,
            weight: 0,
            bias: Some(1),
        }],
        vec![weight, bias],
    );
    let inputs = vec![input(&mut rng, &[k], 1), input(&mut rng, &[k], -1)];
    assert_exact(&m, &inputs);
}

#[test]
fn wide_conv_is_exact_past_2_pow_24() {
    let mut rng = SplitMix64::new(3);
    // 160 * 3 * 3 = 1440 taps: 23_225_760 > 2^24 at the worst.
    let (c, o) = (160u32, 2u32);
    let weight = Tensor::from_i8(
        vec![o, c, 3, 3],
        near_max(&mut rng, (o * c * 9) as usize, 1),
    )
    .expect("sized");
    let bias = Tensor::from_i32(vec![o], vec![12345, -3]).expect("sized");
    let m = model(
        vec![c, 4, 5],
        vec![Op::Conv2d {
            input: 0,
            weight: 0,
            bias: Some(1),
            stride: [1, 2],
            padding: [1, 0, 2, 1],
        }],
        vec![weight, bias],
    );
    let inputs = vec![
        input(&mut rng, &[c, 4, 5], 1),
        input(&mut rng, &[c, 4, 5], -1),
    ];
    assert_exact(&m, &inputs);
}

#[test]
fn kernels_of_more_than_1024_taps_per_channel_are_chunked_exactly() {
    let mut rng = SplitMix64::new(5);
    // 33 * 32 = 1056 taps of one channel: 1056 * 127 * 127 = 17_032_224 > 2^24, so one
    // channel's window must itself be split into chunks.
    let weight =
        Tensor::from_i8(vec![1, 1, 33, 32], near_max(&mut rng, 33 * 32, 1)).expect("sized");
    let m = model(
        vec![1, 34, 33],
        vec![Op::Conv2d {
            input: 0,
            weight: 0,
            bias: None,
            stride: [1, 1],
            padding: [0; 4],
        }],
        vec![weight],
    );
    let inputs = vec![
        input(&mut rng, &[1, 34, 33], 1),
        input(&mut rng, &[1, 34, 33], -1),
    ];
    assert_exact(&m, &inputs);
}

#[test]
fn global_average_over_a_huge_plane_sums_in_integers() {
    let mut rng = SplitMix64::new(4);
    // 400 * 400 = 160_000 values: 127 * 160_000 > 2^24.
    let m = model(
        vec![1, 400, 400],
        vec![Op::GlobalAvgPool { input: 0 }],
        vec![],
    );
    let mut odd = input(&mut rng, &[1, 400, 400], 1).into_data();
    if let verdict_specs::TensorData::I8(v) = &mut odd {
        v[0] = -127;
    }
    let inputs = vec![
        input(&mut rng, &[1, 400, 400], 1),
        input(&mut rng, &[1, 400, 400], -1),
        Tensor::new(vec![1, 400, 400], odd).expect("sized"),
    ];
    assert_exact(&m, &inputs);
}

#[test]
fn average_pools_round_half_up_at_every_border() {
    let mut rng = SplitMix64::new(5);
    for count_include_pad in [false, true] {
        let m = model(
            vec![2, 6, 7],
            vec![Op::AvgPool2d {
                input: 0,
                window: Window {
                    kernel: [3, 4],
                    stride: [2, 1],
                    padding: [2, 3, 1, 0],
                },
                count_include_pad,
            }],
            vec![],
        );
        let inputs: Vec<Tensor> = (0..6)
            .map(|i| {
                let data: Vec<i8> = (0..84)
                    .map(|_| rng.range(-3, 3) as i8 - (i % 2) as i8)
                    .collect();
                Tensor::from_i8(vec![2, 6, 7], data).expect("sized")
            })
            .collect();
        assert_exact(&m, &inputs);
    }
}

#[test]
fn argmax_over_wide_accumulators_and_long_rows() {
    // i32 accumulators far beyond int8 (held in f32 on the fast path), with ties.
    let weight =
        Tensor::from_i8(vec![4, 2], vec![127, 127, 127, 127, -127, 3, 127, 127]).expect("sized");
    let bias = Tensor::from_i32(vec![4], vec![5, 5, 9, 5]).expect("sized");
    let m = model(
        vec![2],
        vec![
            Op::MatMul {
                input: 0,
                weight: 0,
                bias: Some(1),
            },
            Op::ArgMax { input: 1 },
        ],
        vec![weight, bias],
    );
    let inputs = vec![
        Tensor::from_i8(vec![2], vec![127, 127]).expect("sized"),
        Tensor::from_i8(vec![2], vec![0, 0]).expect("sized"),
        Tensor::from_i8(vec![2], vec![-127, -127]).expect("sized"),
    ];
    assert_exact(&m, &inputs);

    // A row longer than f32 keys allow (128 * K > 2^24), maximum repeated.
    let k = 140_000usize;
    let m = model(vec![k as u32], vec![Op::ArgMax { input: 0 }], vec![]);
    let mut data = vec![-5i8; k];
    data[77_777] = 126;
    data[100_000] = 126;
    let inputs = vec![
        Tensor::from_i8(vec![k as u32], data).expect("sized"),
        Tensor::from_i8(vec![k as u32], vec![3; k]).expect("sized"),
    ];
    assert_exact(&m, &inputs);
}

#[test]
fn requantize_and_add_at_the_extremes() {
    // Accumulators up to 2048 * 16129 (about 2^25) times multipliers near 2^31.
    let k = 2048u32;
    let weight = Tensor::from_i8(vec![3, k], vec![127; 3 * k as usize]).expect("sized");
    let bias = Tensor::from_i32(vec![3], vec![0, -1, 1]).expect("sized");
    let params = vec![
        Requant {
            multiplier: i32::MAX,
            shift: 62,
        },
        Requant {
            multiplier: i32::MAX,
            shift: 1,
        },
        Requant {
            multiplier: 1 << 30,
            shift: 48,
        },
    ];
    let m = model(
        vec![k],
        vec![
            Op::MatMul {
                input: 0,
                weight: 0,
                bias: Some(1),
            },
            Op::Requantize {
                input: 1,
                axis: 0,
                params,
            },
            Op::Add {
                a: 2,
                b: 2,
                a_multiplier: i32::MAX,
                b_multiplier: i32::MAX,
                shift: 62,
            },
            Op::Add {
                a: 2,
                b: 3,
                a_multiplier: 1 << 30,
                b_multiplier: 0,
                shift: 31,
            },
        ],
        vec![weight, bias],
    );
    let inputs = vec![
        Tensor::from_i8(vec![k], vec![127; k as usize]).expect("sized"),
        Tensor::from_i8(vec![k], vec![-127; k as usize]).expect("sized"),
        Tensor::from_i8(vec![k], vec![0; k as usize]).expect("sized"),
    ];
    assert_exact(&m, &inputs);
}

/// burn-ndarray 0.22.1's SIMD `max_pool2d` panicked on this valid graph (found by the
/// property test, seed 4631889521306630638); the executor gathers window taps itself.
#[test]
fn max_pool_with_vertical_padding_over_a_single_row() {
    let mut rng = SplitMix64::new(6);
    let m = model(
        vec![148, 2, 2],
        vec![
            Op::MaxPool2d {
                input: 0,
                window: Window {
                    kernel: [2, 1],
                    stride: [3, 2],
                    padding: [0; 4],
                },
            },
            Op::MaxPool2d {
                input: 1,
                window: Window {
                    kernel: [4, 1],
                    stride: [3, 2],
                    padding: [2, 0, 2, 0],
                },
            },
        ],
        vec![],
    );
    let inputs = vec![
        input(&mut rng, &[148, 2, 2], 1),
        input(&mut rng, &[148, 2, 2], -1),
    ];
    assert_exact(&m, &inputs);
}

/// The default thread split follows the work: a small MLP keeps a batch of 64 (and 512)
/// on one thread, where a second one only costs (measured 1.3x to 1.5x slower on two
/// cores), while a convolution splits it.
#[test]
fn small_models_keep_small_batches_on_one_thread() {
    let mut rng = SplitMix64::new(3);
    let mlp = model(
        vec![64],
        vec![Op::MatMul {
            input: 0,
            weight: 0,
            bias: None,
        }],
        vec![Tensor::from_i8(vec![64, 64], rng.i8s(64 * 64)).expect("w")],
    );
    let conv = model(
        vec![8, 8, 8],
        vec![Op::Conv2d {
            input: 0,
            weight: 0,
            bias: None,
            stride: [1, 1],
            padding: [1, 1, 1, 1],
        }],
        vec![Tensor::from_i8(vec![16, 8, 3, 3], rng.i8s(16 * 8 * 9)).expect("w")],
    );
    let two = |m: &Model| {
        BurnExecutor::ndarray(m)
            .and_then(|e| e.with_threads(2))
            .expect("executor")
    };
    assert_eq!(two(&mlp).parts(64), 1);
    assert_eq!(two(&mlp).parts(512), 1);
    assert_eq!(two(&mlp).parts(1 << 14), 2);
    assert_eq!(two(&conv).parts(64), 2);
    assert_eq!(two(&conv).parts(8), 1, "at least 8 examples a part");
}
