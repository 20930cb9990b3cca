//! The shared test vectors in `specs/vectors/`, generated from this crate's own code.
//!
//! `cargo run -p verdict-specs --example write-vectors` writes them; the test
//! `tests/vectors.rs` checks that the committed files equal a fresh generation and
//! that every case re-verifies (so a rule change cannot land without new vectors).
//! Other implementations (the Solidity verifier) read the same files. Generation is
//! deterministic: a fixed-seed SplitMix64 stream, no system randomness.

mod batch_data;
mod requests;
mod state;
mod trees;

pub use batch_data::{
    BatchDataVectorCase, BatchDataVectors, Derived, TipCase, VECTOR_DOMAIN, batch_data_cases,
    body_verdict_name, frame_error_name, judge,
};
pub use requests::{QuantizationCase, RequestCase, RequestVectors, WithdrawalCase, request_cases};
pub use state::{
    AccountEntry, DevKey, FEE_HISTORY, FeeChange, Rejection, STATE_CHAIN_ID, STATE_DEPLOYER,
    StateCase, StateModel, StateVectors, StepCheck, fee_at, state_cases,
};
pub use trees::{EnsembleShape, features_near_thresholds, random_ensemble};

use crate::hash::{Hash, to_hex};
use crate::interpreter;
use crate::merkle::{self, MerkleProof};
use crate::model::{Graph, InputSpec, Metadata, Model, Op, Requant, Window};
use crate::ops;
use crate::tensor::{ElementOpening, RangeOpening, Tensor};
use serde::{Deserialize, Serialize};

/// Deterministic pseudo-random numbers (SplitMix64) for reproducible vectors.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A stream from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `[lo, hi]`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }
    /// `n` int8 values in `[-127, 127]`, a quarter of them at the extremes.
    pub fn i8s(&mut self, n: usize) -> Vec<i8> {
        (0..n)
            .map(|_| match self.range(0, 7) {
                0 => 127,
                1 => -127,
                _ => self.range(-127, 127) as i8,
            })
            .collect()
    }
}

/// `merkle.json`: roots and proofs over small leaf lists.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MerkleCase {
    /// Leaf bytes, hex.
    pub leaves: Vec<String>,
    /// Root over `leaf_hash(leaf)`.
    #[serde(with = "crate::hash::serde_hex")]
    pub root: Hash,
    /// One proof per leaf.
    pub proofs: Vec<MerkleProof>,
}

/// `tensors.json`: canonical bytes, commitments and openings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TensorCase {
    /// The tensor.
    pub tensor: Tensor,
    /// Canonical element bytes, hex.
    pub element_bytes: String,
    /// Merkle root over the 32-byte chunks.
    #[serde(with = "crate::hash::serde_hex")]
    pub data_root: Hash,
    /// The tensor commitment.
    #[serde(with = "crate::hash::serde_hex")]
    pub commitment: Hash,
    /// Openings of the first, a middle and the last element.
    pub element_openings: Vec<ElementOpening>,
    /// Opening of the last row (last dimension).
    pub row_opening: RangeOpening,
}

/// `arithmetic.json`: the integer rules one line at a time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArithmeticVectors {
    /// `requantize(x, multiplier, shift)`.
    pub requantize: Vec<RequantizeCase>,
    /// `add_element(a, b, a_multiplier, b_multiplier, shift)`.
    pub add: Vec<AddCase>,
    /// `round_div_half_up(sum, n)`.
    pub round_div: Vec<[i64; 3]>,
}

/// One requantization.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequantizeCase {
    /// Accumulator.
    pub x: i32,
    /// Multiplier.
    pub multiplier: i32,
    /// Shift.
    pub shift: u8,
    /// Result.
    pub expected: i8,
}

/// One Add element.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AddCase {
    /// First operand.
    pub a: i8,
    /// Second operand.
    pub b: i8,
    /// Multiplier of `a`.
    pub a_multiplier: i32,
    /// Multiplier of `b`.
    pub b_multiplier: i32,
    /// Shift.
    pub shift: u8,
    /// Result.
    pub expected: i8,
}

/// `models.json`: small models, one per op (and mixed ones), run on one input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelCase {
    /// What the case exercises.
    pub name: String,
    /// The graph, readable.
    pub graph: Graph,
    /// The weights, readable.
    pub weights: Vec<Tensor>,
    /// The model file bytes, hex.
    pub model_hex: String,
    /// Its id.
    pub model_id: crate::model::ModelId,
    /// The input.
    pub input: Tensor,
    /// Every value the reference interpreter computes (input first, output last).
    pub trace: Vec<Tensor>,
    /// The commitment of each traced value.
    pub trace_commitments: Vec<String>,
}

/// All vector files, by file name.
pub fn generate() -> Vec<(&'static str, serde_json::Value)> {
    let json = |v: &dyn erased::Json| v.to_value();
    vec![
        ("merkle.json", json(&merkle_cases())),
        ("tensors.json", json(&tensor_cases())),
        ("arithmetic.json", json(&arithmetic_cases())),
        ("models.json", json(&model_cases())),
        ("deposits.json", json(&deposit_cases())),
        ("batches.json", json(&batch_cases())),
        ("batch_data.json", json(&batch_data_cases())),
        ("one_step.json", json(&one_step_cases())),
        ("state.json", json(&state_cases())),
        ("requests.json", json(&request_cases())),
    ]
}

mod erased {
    pub(super) trait Json {
        fn to_value(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Json for T {
        fn to_value(&self) -> serde_json::Value {
            serde_json::to_value(self).expect("vectors are plain data")
        }
    }
}

/// `deposits.json`: deposit records with their canonical bytes, hashes and the queue
/// accumulator after each.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DepositCase {
    /// The record.
    pub deposit: crate::bridge::Deposit,
    /// `Deposit::encode`, hex.
    pub encoded: String,
    /// `Deposit::hash`.
    #[serde(with = "crate::hash::serde_hex")]
    pub hash: Hash,
    /// The queue accumulator after this deposit (and every earlier case, in order).
    #[serde(with = "crate::hash::serde_hex")]
    pub accumulator: Hash,
}

/// A queue of deposits with extreme and ordinary fields.
pub fn deposit_cases() -> Vec<DepositCase> {
    let mut rng = SplitMix64::new(0xdeb051);
    let mut acc = crate::bridge::EMPTY_QUEUE;
    (0..6u64)
        .map(|index| {
            let mut address = || {
                let mut a = [0u8; 20];
                for byte in &mut a {
                    *byte = rng.range(0, 255) as u8;
                }
                a
            };
            let (sender, recipient) = (address(), address());
            let amount = match index {
                0 => 1,
                1 => u128::MAX,
                2 => 1_000_000_000_000_000_000,
                _ => (rng.next_u64() as u128) << 20,
            };
            let deposit = crate::bridge::Deposit {
                index,
                sender,
                recipient,
                amount,
                l1_block: if index == 1 { u64::MAX } else { 100 + index },
            };
            acc = crate::bridge::accumulate(&acc, &deposit.hash());
            DepositCase {
                deposit,
                encoded: format!("0x{}", hex::encode(deposit.encode())),
                hash: deposit.hash(),
                accumulator: acc,
            }
        })
        .collect()
}

/// `batches.json`: batch data hashes around the chunk boundaries and batch headers with
/// extreme fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchVectors {
    /// Batch data of assorted lengths and its hash.
    pub data: Vec<BatchDataCase>,
    /// Headers, their canonical bytes and hashes.
    pub headers: Vec<BatchHeaderCase>,
}

/// One batch data hash case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchDataCase {
    /// The data, hex.
    pub data: String,
    /// `batch::data_hash(data)`.
    #[serde(with = "crate::hash::serde_hex")]
    pub hash: Hash,
}

/// One batch header case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchHeaderCase {
    /// The header.
    pub header: crate::batch::BatchHeader,
    /// `BatchHeader::encode`, hex.
    pub encoded: String,
    /// `BatchHeader::hash`.
    #[serde(with = "crate::hash::serde_hex")]
    pub hash: Hash,
}

/// Data lengths 0, 1, around one and several chunks; headers with zero and extreme fields.
pub fn batch_cases() -> BatchVectors {
    use crate::batch::{BatchHeader, DATA_CHUNK_BYTES, data_hash};
    let mut rng = SplitMix64::new(0xba7c4);
    let chunk = DATA_CHUNK_BYTES;
    let data = [0, 1, 31, chunk - 1, chunk, chunk + 1, 3 * chunk + 7]
        .into_iter()
        .map(|len| {
            let bytes: Vec<u8> = (0..len).map(|_| rng.range(0, 255) as u8).collect();
            BatchDataCase {
                data: format!("0x{}", hex::encode(&bytes)),
                hash: data_hash(&bytes),
            }
        })
        .collect();
    let mut hash = || {
        let mut h = [0u8; 32];
        for byte in &mut h {
            *byte = rng.range(0, 255) as u8;
        }
        h
    };
    let headers = [
        BatchHeader {
            index: 0,
            first_block: 1,
            last_block: 1,
            parent_root: crate::l2::block::BlockHeader::genesis().hash(),
            output_root: [0; 32],
            data_hash: data_hash(&[]),
            deposits_start: 0,
            deposits_end: 0,
            deposit_accumulator: crate::bridge::EMPTY_QUEUE,
            l1_block: 0,
        },
        BatchHeader {
            index: 7,
            first_block: 100,
            last_block: 163,
            parent_root: hash(),
            output_root: hash(),
            data_hash: hash(),
            deposits_start: 12,
            deposits_end: 15,
            deposit_accumulator: hash(),
            l1_block: 1_234_567,
        },
        BatchHeader {
            index: u64::MAX,
            first_block: u64::MAX - 1,
            last_block: u64::MAX,
            parent_root: [0xee; 32],
            output_root: [0xff; 32],
            data_hash: hash(),
            deposits_start: u64::MAX - 1,
            deposits_end: u64::MAX,
            deposit_accumulator: [0xff; 32],
            l1_block: u64::MAX,
        },
    ]
    .into_iter()
    .map(|header| BatchHeaderCase {
        header,
        encoded: format!("0x{}", hex::encode(header.encode())),
        hash: header.hash(),
    })
    .collect();
    BatchVectors { data, headers }
}

/// Merkle cases for 1 to 9 leaves.
pub fn merkle_cases() -> Vec<MerkleCase> {
    (1..=9u8)
        .map(|n| {
            let leaves: Vec<Vec<u8>> = (0..n).map(|i| vec![i; usize::from(i) + 1]).collect();
            let hashes: Vec<Hash> = leaves.iter().map(|l| merkle::leaf_hash(l)).collect();
            MerkleCase {
                leaves: leaves
                    .iter()
                    .map(|l| format!("0x{}", hex::encode(l)))
                    .collect(),
                root: merkle::root(&hashes),
                proofs: (0..hashes.len())
                    .map(|i| merkle::prove(&hashes, i).expect("in range"))
                    .collect(),
            }
        })
        .collect()
}

/// Tensor cases of both dtypes, with lengths around the 32-byte chunk boundary.
pub fn tensor_cases() -> Vec<TensorCase> {
    let mut rng = SplitMix64::new(0x7e45_0001);
    let mut tensors = Vec::new();
    for shape in [
        vec![1],
        vec![32],
        vec![33],
        vec![3, 11],
        vec![2, 4, 8],
        vec![5, 70],
    ] {
        let n = crate::tensor::element_count(&shape).expect("small");
        tensors.push(Tensor::from_i8(shape.clone(), rng.i8s(n)).expect("sized"));
        let wide = (0..n).map(|_| rng.next_u64() as i32).collect();
        tensors.push(Tensor::from_i32(shape, wide).expect("sized"));
    }
    tensors
        .into_iter()
        .map(|t| {
            let n = t.len();
            let row = *t.shape().last().expect("rank >= 1") as usize;
            TensorCase {
                element_bytes: format!("0x{}", hex::encode(t.element_bytes())),
                data_root: t.data_root(),
                commitment: t.commitment(),
                element_openings: [0, n / 2, n - 1]
                    .iter()
                    .map(|&i| t.open_element(i).expect("in range"))
                    .collect(),
                row_opening: t.open_range(n - row, row).expect("in range"),
                tensor: t,
            }
        })
        .collect()
}

/// Edge cases and random cases of the arithmetic rules.
pub fn arithmetic_cases() -> ArithmeticVectors {
    let mut rng = SplitMix64::new(0x7e45_0002);
    let mut requantize = Vec::new();
    let mut push = |x: i32, multiplier: i32, shift: u8| {
        let expected = ops::requantize(x, Requant { multiplier, shift });
        requantize.push(RequantizeCase {
            x,
            multiplier,
            shift,
            expected,
        });
    };
    for x in [
        0,
        1,
        -1,
        3,
        -3,
        5,
        -5,
        255,
        -255,
        256,
        -256,
        i32::MAX,
        i32::MIN,
    ] {
        push(x, 1 << 30, 31);
    }
    push(i32::MAX, i32::MAX, 1);
    push(i32::MIN, i32::MAX, 1);
    push(i32::MIN, i32::MAX, 62);
    push(-1, 1, 62);
    for _ in 0..40 {
        let x = rng.range(-2_000_000, 2_000_000) as i32;
        let m = rng.range(1 << 30, i64::from(i32::MAX)) as i32;
        let s = rng.range(20, 45) as u8;
        push(x, m, s);
    }
    let mut add = Vec::new();
    for _ in 0..30 {
        let [a, b] = [rng.range(-127, 127) as i8, rng.range(-127, 127) as i8];
        let a_multiplier = rng.range(0, i64::from(i32::MAX)) as i32;
        let b_multiplier = rng.range(0, i64::from(i32::MAX)) as i32;
        let shift = rng.range(28, 34) as u8;
        let expected = ops::add_element(a, b, a_multiplier, b_multiplier, shift);
        add.push(AddCase {
            a,
            b,
            a_multiplier,
            b_multiplier,
            shift,
            expected,
        });
    }
    let round_div = [
        (3, 2),
        (-3, 2),
        (5, 4),
        (-5, 4),
        (-6, 4),
        (-7, 4),
        (10, 4),
        (-10, 4),
        (0, 9),
        (1016, 8),
        (-1016, 8),
    ]
    .iter()
    .map(|&(s, n)| [s, n, ops::round_div_half_up(s, n)])
    .collect();
    ArithmeticVectors {
        requantize,
        add,
        round_div,
    }
}

fn half_requant() -> Requant {
    Requant {
        multiplier: 1 << 30,
        shift: 38,
    }
}

/// One model per op, plus mixed graphs; each run on an extreme-valued input.
pub fn model_cases() -> Vec<ModelCase> {
    model_cases_seeded(0x7e45_0003)
}

/// [`model_cases`]' graphs with weights and inputs drawn from `seed`: fresh random cases
/// for differential tests (the committed vectors use one fixed seed).
pub fn model_cases_seeded(seed: u64) -> Vec<ModelCase> {
    let mut rng = SplitMix64::new(seed);
    let mut cases = Vec::new();
    let mut add_case = |name: &str, graph: Graph, weights: Vec<Tensor>, rng: &mut SplitMix64| {
        let n = crate::tensor::element_count(&graph.input.shape).expect("valid shape");
        let input = Tensor::from_i8(graph.input.shape.clone(), rng.i8s(n)).expect("sized");
        let model = Model::new(
            graph,
            weights,
            Metadata {
                name: name.into(),
                ..Metadata::default()
            },
        )
        .unwrap_or_else(|e| panic!("vector model {name} is invalid: {e}"));
        let trace = interpreter::trace(&model, &input).expect("input matches");
        cases.push(ModelCase {
            name: name.into(),
            graph: model.graph().clone(),
            weights: model.weights().to_vec(),
            model_hex: format!("0x{}", hex::encode(model.encode())),
            model_id: model.id(),
            input,
            trace_commitments: trace.iter().map(|t| to_hex(&t.commitment())).collect(),
            trace,
        });
    };
    let spec = |shape: Vec<u32>| InputSpec::per_tensor(shape, 0.05);
    let graph = |shape: Vec<u32>, nodes: Vec<Op>| Graph {
        input: spec(shape),
        nodes,
        output_scale: 0.1,
    };
    let i8w = |rng: &mut SplitMix64, shape: Vec<u32>| {
        let n = crate::tensor::element_count(&shape).expect("small");
        Tensor::from_i8(shape, rng.i8s(n)).expect("sized")
    };
    let i32w = |rng: &mut SplitMix64, n: u32, bound: i64| {
        Tensor::from_i32(
            vec![n],
            (0..n).map(|_| rng.range(-bound, bound) as i32).collect(),
        )
        .expect("sized")
    };

    // MatMul with an inner dimension above 1024 (the chunk size of the fast executor).
    let w = i8w(&mut rng, vec![6, 1500]);
    let b = i32w(&mut rng, 6, 100_000);
    add_case(
        "matmul_k1500",
        graph(
            vec![1500],
            vec![Op::MatMul {
                input: 0,
                weight: 0,
                bias: Some(1),
            }],
        ),
        vec![w, b],
        &mut rng,
    );

    // MatMul on a 2-D input, no bias, then per-channel requantize.
    let w = i8w(&mut rng, vec![5, 7]);
    let params = (0..5)
        .map(|i| Requant {
            multiplier: (1 << 30) + i * 12345,
            shift: 36 + i as u8,
        })
        .collect();
    add_case(
        "matmul_rows_requantize_per_channel",
        graph(
            vec![3, 7],
            vec![
                Op::MatMul {
                    input: 0,
                    weight: 0,
                    bias: None,
                },
                Op::Requantize {
                    input: 1,
                    axis: 1,
                    params,
                },
            ],
        ),
        vec![w],
        &mut rng,
    );

    // Requantize that saturates both ways, then ReLU.
    let w = i8w(&mut rng, vec![8, 16]);
    add_case(
        "requantize_saturating_relu",
        graph(
            vec![16],
            vec![
                Op::MatMul {
                    input: 0,
                    weight: 0,
                    bias: None,
                },
                Op::Requantize {
                    input: 1,
                    axis: 0,
                    params: vec![Requant {
                        multiplier: 1 << 30,
                        shift: 30,
                    }],
                },
                Op::Relu { input: 2 },
            ],
        ),
        vec![w],
        &mut rng,
    );

    // Conv2d with stride and asymmetric padding.
    let w = i8w(&mut rng, vec![4, 3, 3, 2]);
    let b = i32w(&mut rng, 4, 5000);
    add_case(
        "conv2d_stride_padding",
        graph(
            vec![3, 7, 6],
            vec![
                Op::Conv2d {
                    input: 0,
                    weight: 0,
                    bias: Some(1),
                    stride: [2, 1],
                    padding: [1, 0, 2, 1],
                },
                Op::Requantize {
                    input: 1,
                    axis: 0,
                    params: vec![half_requant(); 4],
                },
            ],
        ),
        vec![w, b],
        &mut rng,
    );

    // Add of two int8 tensors with their own scales.
    let w = i8w(&mut rng, vec![12, 12]);
    add_case(
        "add_residual",
        graph(
            vec![12],
            vec![
                Op::MatMul {
                    input: 0,
                    weight: 0,
                    bias: None,
                },
                Op::Requantize {
                    input: 1,
                    axis: 0,
                    params: vec![half_requant()],
                },
                Op::Add {
                    a: 0,
                    b: 2,
                    a_multiplier: 1_500_000_000,
                    b_multiplier: 900_000_000,
                    shift: 31,
                },
            ],
        ),
        vec![w],
        &mut rng,
    );

    // Pools with padding.
    let pool_window = Window {
        kernel: [3, 3],
        stride: [2, 2],
        padding: [1, 1, 1, 1],
    };
    add_case(
        "max_pool_padded",
        graph(
            vec![2, 5, 5],
            vec![Op::MaxPool2d {
                input: 0,
                window: pool_window,
            }],
        ),
        vec![],
        &mut rng,
    );
    add_case(
        "avg_pool_padded_exclude",
        graph(
            vec![2, 5, 5],
            vec![Op::AvgPool2d {
                input: 0,
                window: pool_window,
                count_include_pad: false,
            }],
        ),
        vec![],
        &mut rng,
    );
    add_case(
        "avg_pool_padded_include",
        graph(
            vec![2, 5, 5],
            vec![Op::AvgPool2d {
                input: 0,
                window: pool_window,
                count_include_pad: true,
            }],
        ),
        vec![],
        &mut rng,
    );
    add_case(
        "global_avg_pool",
        graph(vec![3, 4, 5], vec![Op::GlobalAvgPool { input: 0 }]),
        vec![],
        &mut rng,
    );

    // Reshape, ArgMax (with ties) and LabelLookup.
    let labels = Tensor::from_i32(vec![10], vec![3, 1, 4, 1, 5, 9, 2, 6, 5, 8]).expect("sized");
    add_case(
        "reshape_argmax_labels",
        graph(
            vec![2, 5],
            vec![
                Op::Reshape {
                    input: 0,
                    shape: vec![10],
                },
                Op::ArgMax { input: 1 },
                Op::LabelLookup {
                    input: 2,
                    labels: 0,
                },
            ],
        ),
        vec![labels],
        &mut rng,
    );
    // A small CNN end to end: conv, relu, pools, flatten, dense, argmax.
    let c1 = i8w(&mut rng, vec![4, 1, 3, 3]);
    let c1b = i32w(&mut rng, 4, 2000);
    let d1 = i8w(&mut rng, vec![10, 16]);
    let d1b = i32w(&mut rng, 10, 2000);
    add_case(
        "small_cnn",
        graph(
            vec![1, 8, 8],
            vec![
                Op::Conv2d {
                    input: 0,
                    weight: 0,
                    bias: Some(1),
                    stride: [1, 1],
                    padding: [1, 1, 1, 1],
                },
                Op::Requantize {
                    input: 1,
                    axis: 0,
                    params: vec![Requant {
                        multiplier: 1_300_000_000,
                        shift: 40,
                    }],
                },
                Op::Relu { input: 2 },
                Op::MaxPool2d {
                    input: 3,
                    window: Window {
                        kernel: [2, 2],
                        stride: [2, 2],
                        padding: [0; 4],
                    },
                },
                Op::AvgPool2d {
                    input: 4,
                    window: Window {
                        kernel: [2, 2],
                        stride: [2, 2],
                        padding: [0; 4],
                    },
                    count_include_pad: true,
                },
                Op::Reshape {
                    input: 5,
                    shape: vec![16],
                },
                Op::MatMul {
                    input: 6,
                    weight: 2,
                    bias: Some(3),
                },
                Op::Requantize {
                    input: 7,
                    axis: 0,
                    params: vec![half_requant()],
                },
                Op::ArgMax { input: 8 },
            ],
        ),
        vec![c1, c1b, d1, d1b],
        &mut rng,
    );
    // Table (element-wise functions by lookup): monotone tables like a tanh or sigmoid,
    // in an MLP whose hidden and output activations are both tables.
    let monotone_table = |rng: &mut SplitMix64| {
        let mut entries: Vec<i8> = rng.i8s(256);
        entries.sort_unstable();
        Tensor::from_i8(vec![256], entries).expect("sized")
    };
    let t1 = monotone_table(&mut rng);
    let t2 = monotone_table(&mut rng);
    let w1 = i8w(&mut rng, vec![12, 20]);
    let b1 = i32w(&mut rng, 12, 3000);
    let w2 = i8w(&mut rng, vec![4, 12]);
    add_case(
        "mlp_with_table_activations",
        graph(
            vec![20],
            vec![
                Op::MatMul {
                    input: 0,
                    weight: 0,
                    bias: Some(1),
                },
                Op::Requantize {
                    input: 1,
                    axis: 0,
                    params: vec![Requant {
                        multiplier: 1_400_000_000,
                        shift: 41,
                    }],
                },
                Op::Table { input: 2, table: 2 },
                Op::MatMul {
                    input: 3,
                    weight: 3,
                    bias: None,
                },
                Op::Requantize {
                    input: 4,
                    axis: 0,
                    params: vec![half_requant()],
                },
                Op::Table { input: 5, table: 4 },
                Op::ArgMax { input: 6 },
            ],
        ),
        vec![w1, b1, t1, w2, t2],
        &mut rng,
    );
    let ties = Tensor::from_i8(vec![6], vec![5, 127, -3, 127, 127, 0]).expect("sized");
    let model = graph(vec![6], vec![Op::ArgMax { input: 0 }]);
    cases.push(case_with_input(
        "argmax_ties_lowest_index",
        model,
        vec![],
        ties,
    ));

    // Every int8 value through one table, in a [15, 17] tensor (the table's own chunks
    // and the input's rows both matter for openings).
    let table = monotone_table(&mut rng);
    let every = Tensor::from_i8(vec![15, 17], (-127..=127).collect()).expect("255 values");
    let model = graph(vec![15, 17], vec![Op::Table { input: 0, table: 0 }]);
    cases.push(case_with_input(
        "table_every_int8_value",
        model,
        vec![table],
        every,
    ));

    tree_cases(&mut rng, &mut cases);
    softmax_cases(&mut rng, &mut cases);
    layout_cases(&mut rng, &mut cases);
    cases
}

/// Transpose, Slice, Concat (of i8 and of i32 values) and a broadcast Mul: the moves a
/// time-series model makes between `[T, F]` and `[F, T]`, windows and joins.
fn layout_cases(rng: &mut SplitMix64, cases: &mut Vec<ModelCase>) {
    let graph = |shape: Vec<u32>, nodes: Vec<Op>| Graph {
        input: InputSpec::per_tensor(shape, 0.05),
        nodes,
        output_scale: 0.05,
    };
    let nodes = vec![
        Op::Transpose {
            input: 0,
            perm: vec![1, 0],
        },
        Op::Slice {
            input: 1,
            start: vec![0, 1],
            shape: vec![6, 3],
        },
        Op::Slice {
            input: 1,
            start: vec![0, 0],
            shape: vec![6, 1],
        },
        Op::Mul {
            a: 2,
            b: 3,
            multiplier: 1 << 30,
            shift: 36,
        },
        Op::Concat {
            a: 4,
            b: 2,
            axis: 1,
        },
        Op::Concat {
            a: 5,
            b: 1,
            axis: 1,
        },
        Op::ReduceSum { input: 6, axis: 1 },
        Op::Transpose {
            input: 7,
            perm: vec![1, 0],
        },
        Op::Slice {
            input: 8,
            start: vec![0, 2],
            shape: vec![1, 3],
        },
        Op::Concat {
            a: 9,
            b: 9,
            axis: 0,
        },
    ];
    let input = Tensor::from_i8(vec![4, 6], rng.i8s(24)).expect("sized");
    cases.push(case_with_input(
        "time_series_transpose_slice_concat_broadcast_mul",
        graph(vec![4, 6], nodes),
        vec![],
        input,
    ));
    let nodes = vec![
        Op::Transpose {
            input: 0,
            perm: vec![2, 0, 1],
        },
        Op::Slice {
            input: 1,
            start: vec![1, 0, 2],
            shape: vec![3, 2, 1],
        },
    ];
    let input = Tensor::from_i8(vec![2, 3, 4], rng.i8s(24)).expect("sized");
    cases.push(case_with_input(
        "transpose_and_slice_of_rank_3",
        graph(vec![2, 3, 4], nodes),
        vec![],
        input,
    ));
}

/// An exp table for Softmax at input scale `scale`: `round(2^24 * exp(-d * scale))`.
pub fn exp_table(scale: f64) -> Tensor {
    use crate::ops::{SOFTMAX_EXP_MAX, SOFTMAX_TABLE_LEN};
    let entries = (0..SOFTMAX_TABLE_LEN)
        .map(|d| ((-f64::from(d) * scale).exp() * SOFTMAX_EXP_MAX as f64).round() as i32)
        .collect();
    Tensor::from_i32(vec![SOFTMAX_TABLE_LEN], entries).expect("sized")
}

/// Softmax, Mul and subtraction (Add with a negative multiplier): attention-style
/// pooling `sum_k p_k * x_k - x` over rows; rows that are flat, certain, or long enough
/// to span many chunks; a table whose entries are mostly 0 (row sums near the minimum).
fn softmax_cases(rng: &mut SplitMix64, cases: &mut Vec<ModelCase>) {
    let spec = |shape: Vec<u32>| InputSpec::per_tensor(shape, 1.0 / 16.0);
    let graph = |shape: Vec<u32>, nodes: Vec<Op>| Graph {
        input: spec(shape),
        nodes,
        output_scale: 1.0 / 127.0,
    };
    let pooling = vec![
        Op::Softmax { input: 0, table: 0 },
        Op::Mul {
            a: 1,
            b: 0,
            multiplier: 1 << 30,
            shift: 37,
        },
        Op::Add {
            a: 2,
            b: 0,
            a_multiplier: 1 << 30,
            b_multiplier: -(1 << 29),
            shift: 31,
        },
        Op::ReduceSum { input: 3, axis: 1 },
    ];
    let n = 4 * 10;
    let input = Tensor::from_i8(vec![4, 10], rng.i8s(n)).expect("sized");
    cases.push(case_with_input(
        "softmax_attention_pooling",
        graph(vec![4, 10], pooling),
        vec![exp_table(1.0 / 16.0)],
        input,
    ));

    let mut rows: Vec<i8> = vec![7; 7]; // flat: 127/7 each
    rows.extend([127, -127, -127, -127, -127, -127, -127]); // certain
    rows.extend([-127, 126, 127, 127, 0, -1, 1]); // ties at the maximum
    let input = Tensor::from_i8(vec![3, 7], rows).expect("sized");
    let mut sparse = vec![0i32; 256];
    sparse[0] = 1;
    sparse[1] = 3;
    sparse[128] = 1 << 24;
    let sparse = Tensor::from_i32(vec![256], sparse).expect("sized");
    cases.push(case_with_input(
        "softmax_extreme_rows_and_a_sparse_table",
        graph(vec![3, 7], vec![Op::Softmax { input: 0, table: 0 }]),
        vec![sparse],
        input,
    ));

    let input = Tensor::from_i8(vec![2, 300], rng.i8s(600)).expect("sized");
    cases.push(case_with_input(
        "softmax_rows_over_many_chunks",
        graph(vec![2, 300], vec![Op::Softmax { input: 0, table: 0 }]),
        vec![exp_table(1.0 / 40.0)],
        input,
    ));
}

/// Tree ensembles: a classifier on a wide (`i32`) input whose features sit on the
/// thresholds, a regressor on an int8 input whose sum saturates, and ReduceSum over an
/// inner axis (strided reads).
fn tree_cases(rng: &mut SplitMix64, cases: &mut Vec<ModelCase>) {
    use crate::model::FeatureQuant;
    use crate::tensor::DType;
    let features = 6;
    let [nodes, leaves, roots] = random_ensemble(
        rng,
        EnsembleShape {
            features,
            trees: 9,
            targets: 3,
            max_depth: 4,
            threshold_bound: 1 << 30,
            leaf_bound: 1 << 20,
        },
    );
    let input = features_near_thresholds(rng, &nodes, features, i64::from(i32::MAX));
    let input = Tensor::from_i32(
        vec![features as u32],
        input.into_iter().map(|v| v as i32).collect(),
    )
    .expect("sized");
    let labels = Tensor::from_i32(vec![3], vec![10, 20, 30]).expect("sized");
    let wide = InputSpec {
        dtype: DType::I32,
        features: (0..features)
            .map(|i| FeatureQuant {
                scale: 1e-6 * (i + 1) as f32,
                offset: i as f32,
            })
            .collect(),
        ..InputSpec::per_tensor(vec![features as u32], 1e-6)
    };
    let classifier = Graph {
        input: wide,
        nodes: vec![
            Op::TreeEnsemble {
                input: 0,
                nodes: 0,
                leaves: 1,
                roots: 2,
            },
            Op::ReduceSum { input: 1, axis: 1 },
            Op::Reshape {
                input: 2,
                shape: vec![3],
            },
            Op::ArgMax { input: 3 },
            Op::LabelLookup {
                input: 4,
                labels: 3,
            },
        ],
        output_scale: 0.0,
    };
    cases.push(case_with_input(
        "tree_ensemble_classifier_wide_input",
        classifier,
        vec![nodes, leaves, roots, labels],
        input,
    ));

    let [nodes, leaves, roots] = random_ensemble(
        rng,
        EnsembleShape {
            features: 10,
            trees: 5,
            targets: 1,
            max_depth: 6,
            threshold_bound: 127,
            leaf_bound: 1 << 30,
        },
    );
    let input = features_near_thresholds(rng, &nodes, 10, 127);
    let input =
        Tensor::from_i8(vec![10], input.into_iter().map(|v| v as i8).collect()).expect("sized");
    let regressor = Graph {
        input: InputSpec::per_tensor(vec![10], 0.05),
        nodes: vec![
            Op::TreeEnsemble {
                input: 0,
                nodes: 0,
                leaves: 1,
                roots: 2,
            },
            Op::ReduceSum { input: 1, axis: 1 },
        ],
        output_scale: 1e-6,
    };
    cases.push(case_with_input(
        "tree_ensemble_regressor_saturating_sum",
        regressor,
        vec![nodes, leaves, roots],
        input,
    ));

    let n = 3 * 4 * 5;
    let input = Tensor::from_i8(vec![3, 4, 5], rng.i8s(n)).expect("sized");
    let sums = Graph {
        input: InputSpec::per_tensor(vec![3, 4, 5], 0.05),
        nodes: vec![
            Op::ReduceSum { input: 0, axis: 1 },
            Op::ReduceSum { input: 1, axis: 0 },
            Op::ReduceSum { input: 0, axis: 2 },
        ],
        output_scale: 0.05,
    };
    cases.push(case_with_input(
        "reduce_sum_over_each_axis",
        sums,
        vec![],
        input,
    ));
}

/// A model case whose input is chosen (ties, every int8 value) rather than drawn; its
/// metadata is empty.
fn case_with_input(name: &str, graph: Graph, weights: Vec<Tensor>, input: Tensor) -> ModelCase {
    let m = Model::new(graph.clone(), weights.clone(), Metadata::default()).expect("valid");
    let trace = interpreter::trace(&m, &input).expect("input matches");
    ModelCase {
        name: name.into(),
        graph,
        weights,
        model_hex: format!("0x{}", hex::encode(m.encode())),
        model_id: m.id(),
        trace_commitments: trace.iter().map(|t| to_hex(&t.commitment())).collect(),
        trace,
        input,
    }
}

/// `one_step.json`: one-step verifications on every step of every model of `models.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OneStepCase {
    /// Model name and what the case tries.
    pub name: String,
    /// What the verifier knows.
    pub context: crate::game::StepContext,
    /// The defender's witness.
    pub proof: crate::game::OneStepProof,
    /// `holds` (the claim is right), `fails` (wrong element or type), or `reverts`
    /// (malformed proof).
    pub expect: String,
    /// `OneStepVerifier.verify` calldata for this case, hex.
    pub calldata: String,
}

/// Honest claims (first and last element), a wrong element, a wrong output type and a
/// tampered opening, for every step of every model case.
pub fn one_step_cases() -> Vec<OneStepCase> {
    use crate::game::{StepContext, Trace, abi, one_step};
    let mut rng = SplitMix64::new(0x0e57_e900);
    let mut cases = Vec::new();
    let mut push = |name: String, context: StepContext, proof: one_step::OneStepProof| {
        let expect = match one_step::verify(&context, &proof) {
            Ok(true) => "holds",
            Ok(false) => "fails",
            Err(_) => "reverts",
        };
        cases.push(OneStepCase {
            name,
            calldata: format!("0x{}", hex::encode(abi::verify_calldata(&context, &proof))),
            context,
            proof,
            expect: expect.into(),
        });
    };
    for case in model_cases() {
        let model = Model::new(case.graph, case.weights, Metadata::default()).expect("valid");
        let id = model.id();
        let values = case.trace;
        let trace = Trace::new(&values);
        let n = model.graph().nodes.len();
        for step in 0..n {
            let honest = &values[step + 1];
            let context = |claimed: &Tensor, element: usize| StepContext {
                graph_hash: id.graph_hash,
                weights_root: id.weights_root,
                op_count: n as u64,
                step: step as u64,
                pre_state: trace.state(step).expect("in range"),
                state_depth: trace.depth() as u64,
                output_commitment: claimed.commitment(),
                element: element as u64,
            };
            let prove = |claimed: &Tensor, element: usize| {
                one_step::prove(&model, &values[..=step], &trace, step, element, claimed)
                    .expect("provable")
            };
            let op = model.graph().nodes[step].name();
            let last = honest.len() - 1;
            for element in [0, last] {
                push(
                    format!("{} node {step} ({op}) element {element}", case.name),
                    context(honest, element),
                    prove(honest, element),
                );
            }
            let element = rng.range(0, last as i64) as usize;
            let wrong = with_element_changed(honest, element);
            push(
                format!("{} node {step} ({op}) wrong element {element}", case.name),
                context(&wrong, element),
                prove(&wrong, element),
            );
            let flat = honest
                .reshaped(vec![honest.len() as u32, 1])
                .expect("same count");
            push(
                format!("{} node {step} ({op}) wrong shape", case.name),
                context(&flat, 0),
                prove(&flat, 0),
            );
            let mut tampered = prove(honest, element);
            tampered.inputs[0].chunks.chunks[0][0] ^= 1;
            push(
                format!("{} node {step} ({op}) tampered input chunk", case.name),
                context(honest, element),
                tampered,
            );
        }
    }
    cases
}

/// `t` with element `i` moved by one (staying in int8 range): a claim that is wrong in
/// exactly one place, for vectors and differential tests.
pub fn with_element_changed(t: &Tensor, i: usize) -> Tensor {
    use crate::tensor::TensorData;
    let data = match t.data() {
        TensorData::I8(v) => {
            let mut v = v.clone();
            v[i] = if v[i] == 127 { 126 } else { v[i] + 1 };
            TensorData::I8(v)
        }
        TensorData::I32(v) => {
            let mut v = v.clone();
            v[i] = v[i].wrapping_add(1);
            TensorData::I32(v)
        }
    };
    Tensor::new(t.shape().to_vec(), data).expect("same shape")
}
