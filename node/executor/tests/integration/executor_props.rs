//! Property: on random valid graphs, random weights and random inputs (extremes and ties
//! included), the burn executor computes exactly what the reference interpreter computes:
//! every intermediate value and the output, batched or one example at a time, on the
//! global pool, a 1-thread pool and a 2-thread pool.
//!
//! Graphs are built constructively from the running value types, so every generated
//! graph is valid. Each case is drawn from one `u64` seed (printed on failure) by
//! `SplitMix64`, so a failing seed reproduces exactly.

use proptest::prelude::*;
use std::sync::Arc;
use verdict_executor::{BurnExecutor, Executor, ReferenceExecutor};
use verdict_specs::model::{Graph, InputSpec, Metadata, Op, Requant, ValueType, Window};
use verdict_specs::ops::MAX_PRODUCT;
use verdict_specs::tensor::element_count;
use verdict_specs::vectors::{EnsembleShape, SplitMix64, random_ensemble};
use verdict_specs::{DType, Model, Tensor};

#[derive(Clone, Copy)]
enum Kind {
    MatMul,
    Conv2d,
    Pool,
    GlobalAvgPool,
    Add,
    Requantize,
    LabelLookup,
    Reshape,
    ArgMax,
    Relu,
    Table,
    TreeEnsemble,
    ReduceSum,
    Softmax,
    Mul,
    Transpose,
    Concat,
    Slice,
}

/// Builds one random valid graph.
struct GraphGen {
    rng: SplitMix64,
    types: Vec<ValueType>,
    nodes: Vec<Op>,
    weights: Vec<Tensor>,
}

impl GraphGen {
    fn new(seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed);
        let shape = match rng.range(0, 9) {
            // A vector, sometimes long enough to need several 1024-chunks.
            0..=2 => vec![Self::inner_len(&mut rng)],
            3 | 4 => vec![rng.range(1, 3) as u32, Self::inner_len(&mut rng)],
            // Many channels: a 3x3 Conv2d has 1026 to 1440 taps and splits them into chunks.
            5 => vec![
                rng.range(114, 160) as u32,
                rng.range(1, 4) as u32,
                rng.range(1, 4) as u32,
            ],
            _ => vec![
                rng.range(1, 4) as u32,
                rng.range(1, 9) as u32,
                rng.range(1, 9) as u32,
            ],
        };
        // A quarter of the graphs take a wide (i32) input, as tree models do.
        let dtype = if rng.range(0, 3) == 0 {
            DType::I32
        } else {
            DType::I8
        };
        Self {
            rng,
            types: vec![ValueType { dtype, shape }],
            nodes: Vec::new(),
            weights: Vec::new(),
        }
    }

    fn inner_len(rng: &mut SplitMix64) -> u32 {
        match rng.range(0, 5) {
            0 => rng.range(1000, 2100) as u32,
            _ => rng.range(1, 40) as u32,
        }
    }

    fn chance(&mut self, one_in: i64) -> bool {
        self.rng.range(1, one_in) == 1
    }

    fn weight(&mut self, t: Tensor) -> u32 {
        self.weights.push(t);
        (self.weights.len() - 1) as u32
    }

    fn i8_weight(&mut self, shape: Vec<u32>) -> u32 {
        let n = element_count(&shape).expect("small shape");
        // Near one extreme a quarter of the time: with a near-extreme input, the partial
        // sums of a contraction grow monotonically to nearly their worst case, through
        // odd values (all exactly +-127 would give block sums that are multiples of 2^8).
        let data = if self.chance(4) {
            near_extreme(&mut self.rng, n)
        } else {
            self.rng.i8s(n)
        };
        let t = Tensor::from_i8(shape, data).expect("sized");
        self.weight(t)
    }

    /// A bias for `inner` products per output: none, small, or as large as validation
    /// allows (which pushes the executor off its f32 fast path).
    fn bias(&mut self, inner: u64, n: u32) -> Option<u32> {
        let room = i64::from(i32::MAX) - inner as i64 * MAX_PRODUCT;
        let bound = match self.rng.range(0, 2) {
            0 => return None,
            1 => 2000.min(room),
            _ => room.min(1 << 25),
        };
        let data = (0..n)
            .map(|_| self.rng.range(-bound, bound) as i32)
            .collect();
        let t = Tensor::from_i32(vec![n], data).expect("sized");
        Some(self.weight(t))
    }

    fn multiplier(&mut self) -> i32 {
        match self.rng.range(0, 6) {
            0 | 1 => i32::MAX - self.rng.range(0, 1000) as i32,
            2 | 3 => self.rng.range(1 << 30, i64::from(i32::MAX)) as i32,
            4 => self.rng.range(0, 1 << 20) as i32,
            5 => 0,
            _ => self.rng.range(0, i64::from(i32::MAX)) as i32,
        }
    }

    /// Mostly shifts that keep some outputs inside (-127, 127); sometimes any legal one.
    /// A multiplier of either sign (Add subtracts with a negative one; Mul may flip).
    fn signed_multiplier(&mut self) -> i32 {
        let m = self.multiplier();
        if self.chance(2) { -m } else { m }
    }

    fn shift(&mut self) -> u8 {
        if self.chance(4) {
            self.rng.range(1, 62) as u8
        } else {
            self.rng.range(28, 52) as u8
        }
    }

    fn requant(&mut self) -> Requant {
        Requant {
            multiplier: self.multiplier(),
            shift: self.shift(),
        }
    }

    fn window(&mut self, h: u32, w: u32, kernel: Option<[u32; 2]>) -> Option<Window> {
        for _ in 0..8 {
            let kernel = kernel
                .unwrap_or_else(|| [self.rng.range(1, 4) as u32, self.rng.range(1, 4) as u32]);
            let mut pad = |k: u32| {
                if self.rng.range(0, 2) == 0 {
                    0
                } else {
                    self.rng.range(0, i64::from(k) - 1) as u32
                }
            };
            let padding = [
                pad(kernel[0]),
                pad(kernel[1]),
                pad(kernel[0]),
                pad(kernel[1]),
            ];
            let stride = [self.rng.range(1, 3) as u32, self.rng.range(1, 3) as u32];
            let window = Window {
                kernel,
                stride,
                padding,
            };
            if window.output_size(h, w).is_some() {
                return Some(window);
            }
        }
        None
    }

    /// A new shape with the same element count: rank 1, 2 or 3.
    fn reshape(&mut self, numel: u32) -> Vec<u32> {
        let divisors = |n: u32| (1..=n).filter(|d| n.is_multiple_of(*d)).collect::<Vec<_>>();
        let pick = |rng: &mut SplitMix64, v: &[u32]| v[rng.range(0, v.len() as i64 - 1) as usize];
        match self.rng.range(0, 2) {
            0 => vec![numel],
            1 => {
                let d = pick(&mut self.rng, &divisors(numel));
                vec![d, numel / d]
            }
            _ => {
                let d1 = pick(&mut self.rng, &divisors(numel));
                let d2 = pick(&mut self.rng, &divisors(numel / d1));
                vec![d1, d2, numel / d1 / d2]
            }
        }
    }

    /// Appends one op reading an existing value; false if the chosen op did not fit.
    fn add_op(&mut self) -> bool {
        let latest = self.types.len() - 1;
        let src = if self.chance(4) {
            self.rng.range(0, latest as i64) as usize
        } else {
            latest
        };
        let ty = self.types[src].clone();
        let input = src as u32;
        let numel = element_count(&ty.shape).expect("valid") as u32;
        let chw = match ty.shape[..] {
            [c, h, w] if ty.dtype == DType::I8 => Some([c, h, w]),
            _ => None,
        };
        let argmax_source = match src.checked_sub(1).map(|n| &self.nodes[n]) {
            Some(Op::ArgMax { input }) => Some(*input as usize),
            _ => None,
        };
        let kind = self.pick_kind(ty.dtype, chw.is_some(), argmax_source.is_some());
        let op = match kind {
            Kind::MatMul => {
                let k = *ty.shape.last().expect("rank >= 1");
                let n = self.rng.range(1, 12) as u32;
                let weight = self.i8_weight(vec![n, k]);
                let bias = self.bias(u64::from(k), n);
                Op::MatMul {
                    input,
                    weight,
                    bias,
                }
            }
            Kind::Conv2d => {
                let [c, h, w] = chw.expect("picked for [C, H, W] only");
                let kernel = if c > 64 {
                    [3, 3]
                } else {
                    [self.rng.range(1, 4) as u32, self.rng.range(1, 4) as u32]
                };
                let Some(window) = self.window(h, w, Some(kernel)) else {
                    return false;
                };
                let o = self.rng.range(1, 4) as u32;
                let weight = self.i8_weight(vec![o, c, kernel[0], kernel[1]]);
                let bias = self.bias(u64::from(c * kernel[0] * kernel[1]), o);
                Op::Conv2d {
                    input,
                    weight,
                    bias,
                    stride: window.stride,
                    padding: window.padding,
                }
            }
            Kind::Pool => {
                let [_, h, w] = chw.expect("picked for [C, H, W] only");
                let Some(window) = self.window(h, w, None) else {
                    return false;
                };
                match self.rng.range(0, 2) {
                    0 => Op::MaxPool2d { input, window },
                    n => Op::AvgPool2d {
                        input,
                        window,
                        count_include_pad: n == 1,
                    },
                }
            }
            Kind::GlobalAvgPool => Op::GlobalAvgPool { input },
            Kind::Add => {
                // Any int8 value of the same shape, itself included.
                let partners: Vec<usize> = (0..self.types.len())
                    .filter(|&i| self.types[i] == ty)
                    .collect();
                let b = partners[self.rng.range(0, partners.len() as i64 - 1) as usize] as u32;
                Op::Add {
                    a: input,
                    b,
                    a_multiplier: self.signed_multiplier(),
                    b_multiplier: self.signed_multiplier(),
                    shift: self.shift(),
                }
            }
            Kind::Mul => {
                // Any int8 value of the same shape or one that broadcasts to it.
                let partners: Vec<usize> = (0..self.types.len())
                    .filter(|&i| {
                        self.types[i].dtype == DType::I8
                            && verdict_specs::ops::broadcasts_to(&self.types[i].shape, &ty.shape)
                    })
                    .collect();
                let b = partners[self.rng.range(0, partners.len() as i64 - 1) as usize] as u32;
                Op::Mul {
                    a: input,
                    b,
                    multiplier: self.signed_multiplier(),
                    shift: self.shift(),
                }
            }
            Kind::Transpose => {
                let mut perm: Vec<u8> = (0..ty.shape.len() as u8).collect();
                for i in (1..perm.len()).rev() {
                    perm.swap(i, self.rng.range(0, i as i64) as usize);
                }
                Op::Transpose { input, perm }
            }
            Kind::Slice => {
                let (mut start, mut shape) = (Vec::new(), Vec::new());
                for &d in &ty.shape {
                    let len = self.rng.range(1, i64::from(d)) as u32;
                    start.push(self.rng.range(0, i64::from(d - len)) as u32);
                    shape.push(len);
                }
                Op::Slice {
                    input,
                    start,
                    shape,
                }
            }
            Kind::Concat => {
                // A value of the same type that matches on every axis but one.
                let axis = self.rng.range(0, ty.shape.len() as i64 - 1) as usize;
                let partners: Vec<usize> = (0..self.types.len())
                    .filter(|&i| {
                        let t = &self.types[i];
                        t.dtype == ty.dtype
                            && t.shape.len() == ty.shape.len()
                            && t.shape
                                .iter()
                                .zip(&ty.shape)
                                .enumerate()
                                .all(|(k, (p, q))| k == axis || p == q)
                    })
                    .collect();
                let b = partners[self.rng.range(0, partners.len() as i64 - 1) as usize] as u32;
                Op::Concat {
                    a: input,
                    b,
                    axis: axis as u8,
                }
            }
            Kind::Softmax => {
                // Decreasing like exp, flat, or any values: entry 0 at least 1, extremes
                // (2^24, 0) as often as not, so sums and ties are hard.
                let max = verdict_specs::ops::SOFTMAX_EXP_MAX;
                let mut data: Vec<i32> = (0..256)
                    .map(|_| match self.rng.range(0, 4) {
                        0 => max as i32,
                        1 => 0,
                        2 => self.rng.range(0, 8) as i32,
                        _ => self.rng.range(0, max) as i32,
                    })
                    .collect();
                if self.chance(2) {
                    data.sort_unstable_by(|a, b| b.cmp(a));
                }
                data[0] = data[0].max(1);
                let table = self.weight(Tensor::from_i32(vec![256], data).expect("sized"));
                Op::Softmax { input, table }
            }
            Kind::Requantize => {
                let axis = self.rng.range(0, ty.shape.len() as i64 - 1) as u8;
                let channels = ty.shape[usize::from(axis)];
                let params = if self.chance(3) {
                    vec![self.requant()]
                } else {
                    (0..channels).map(|_| self.requant()).collect()
                };
                Op::Requantize {
                    input,
                    axis,
                    params,
                }
            }
            Kind::LabelLookup => {
                let source = argmax_source.expect("picked for ArgMax outputs only");
                let classes = *self.types[source].shape.last().expect("rank >= 1");
                let data = (0..classes)
                    .map(|_| self.rng.range(i64::from(i32::MIN), i64::from(i32::MAX)) as i32)
                    .collect();
                let labels = self.weight(Tensor::from_i32(vec![classes], data).expect("sized"));
                Op::LabelLookup { input, labels }
            }
            Kind::Reshape => Op::Reshape {
                input,
                shape: self.reshape(numel),
            },
            Kind::ArgMax => Op::ArgMax { input },
            Kind::Relu => Op::Relu { input },
            Kind::TreeEnsemble => {
                // Thresholds on the scale of the values compared, so walks go both ways
                // and ties happen; leaves sometimes large enough for the sum to saturate.
                let threshold_bound = match (ty.dtype, self.rng.range(0, 2)) {
                    (DType::I8, _) => 127,
                    (DType::I32, 0) => 3,
                    (DType::I32, 1) => 1 << 16,
                    (DType::I32, _) => i64::from(i32::MAX),
                };
                let leaf_bound = if self.chance(3) {
                    i64::from(i32::MAX)
                } else {
                    1000
                };
                let shape = EnsembleShape {
                    features: numel as usize,
                    trees: self.rng.range(1, 12) as usize,
                    targets: self.rng.range(1, 4) as usize,
                    max_depth: self.rng.range(0, 7) as usize,
                    threshold_bound,
                    leaf_bound,
                };
                let [nodes, leaves, roots] = random_ensemble(&mut self.rng, shape);
                Op::TreeEnsemble {
                    input,
                    nodes: self.weight(nodes),
                    leaves: self.weight(leaves),
                    roots: self.weight(roots),
                }
            }
            Kind::ReduceSum => Op::ReduceSum {
                input,
                axis: self.rng.range(0, ty.shape.len() as i64 - 1) as u8,
            },
            Kind::Table => {
                // Any entries in [-127, 127]: extremes and ties as often as not.
                let mut data: Vec<i8> = (0..256)
                    .map(|_| match self.rng.range(0, 5) {
                        0 => 127,
                        1 => -127,
                        2 => 0,
                        _ => self.rng.range(-127, 127) as i8,
                    })
                    .collect();
                if self.chance(2) {
                    data.sort_unstable();
                }
                let table = self.weight(Tensor::from_i8(vec![256], data).expect("sized"));
                Op::Table { input, table }
            }
        };
        self.push(op)
    }

    fn pick_kind(&mut self, dtype: DType, chw: bool, argmax: bool) -> Kind {
        let candidates: &[(Kind, i64, bool)] = &[
            (Kind::MatMul, 4, dtype == DType::I8),
            (Kind::Conv2d, 4, chw),
            (Kind::Pool, 4, chw),
            (Kind::GlobalAvgPool, 1, chw),
            (Kind::Add, 2, dtype == DType::I8),
            (Kind::Requantize, 8, dtype == DType::I32),
            (Kind::LabelLookup, 8, argmax),
            (Kind::Reshape, 1, true),
            (Kind::ArgMax, 1, true),
            (Kind::Relu, 1, true),
            (Kind::Table, 3, dtype == DType::I8),
            (Kind::TreeEnsemble, 2, true),
            (Kind::ReduceSum, 2, true),
            (Kind::Softmax, 2, dtype == DType::I8),
            (Kind::Mul, 2, dtype == DType::I8),
            (Kind::Transpose, 2, true),
            (Kind::Slice, 2, true),
            (Kind::Concat, 2, true),
        ];
        let total: i64 = candidates.iter().filter(|c| c.2).map(|c| c.1).sum();
        let mut roll = self.rng.range(1, total);
        for &(kind, weight, ok) in candidates {
            if ok {
                if roll <= weight {
                    return kind;
                }
                roll -= weight;
            }
        }
        unreachable!("the weights sum to the total")
    }

    fn push(&mut self, op: Op) -> bool {
        self.nodes.push(op);
        match self.model() {
            Ok(model) => {
                self.types = model.value_types().to_vec();
                true
            }
            Err(e) => panic!("generator built an invalid graph: {e}\n{:?}", self.nodes),
        }
    }

    fn model(&self) -> Result<Model, verdict_specs::model::GraphError> {
        Model::new(
            Graph {
                input: InputSpec {
                    dtype: self.types[0].dtype,
                    ..InputSpec::per_tensor(self.types[0].shape.clone(), 0.1)
                },
                nodes: self.nodes.clone(),
                output_scale: 0.0,
            },
            self.weights.clone(),
            Metadata::default(),
        )
    }

    fn build(mut self, ops: usize) -> (Model, SplitMix64) {
        let mut tries = 0;
        while self.nodes.len() < ops && tries < 4 * ops {
            self.add_op();
            tries += 1;
        }
        if self.nodes.is_empty() {
            self.push(Op::Relu { input: 0 });
        }
        let model = self.model().expect("checked at every push");
        (model, self.rng)
    }
}

/// `n` values of one sign: 80% at the extreme, 10% each one and two below it.
fn near_extreme(rng: &mut SplitMix64, n: usize) -> Vec<i8> {
    let sign = if rng.range(0, 1) == 0 { 1 } else { -1 };
    (0..n)
        .map(|_| {
            let below = match rng.range(0, 9) {
                8 => 1,
                9 => 2,
                _ => 0,
            };
            sign * (127 - below)
        })
        .collect()
}

/// `batch` inputs: random with extremes, all equal (argmax ties), or from a tiny alphabet.
fn inputs(model: &Model, rng: &mut SplitMix64, batch: usize) -> Vec<Tensor> {
    let shape = model.graph().input.shape.clone();
    let n = element_count(&shape).expect("valid");
    (0..batch)
        .map(|_| {
            let data = match rng.range(0, 6) {
                0 => vec![rng.range(-127, 127) as i8; n],
                5 => near_extreme(rng, n),
                1 => (0..n).map(|_| rng.range(-1, 1) as i8).collect(),
                2 => (0..n)
                    .map(|_| if rng.range(0, 1) == 0 { 127 } else { -127 })
                    .collect(),
                _ => rng.i8s(n),
            };
            match model.graph().input.dtype {
                DType::I8 => Tensor::from_i8(shape.clone(), data),
                // Wide inputs: the int8 patterns (ties with small thresholds), scaled up
                // to the i32 extremes, or anything.
                DType::I32 => {
                    let scale = [1, 1 << 8, 16_909_320][rng.range(0, 2) as usize];
                    let wide = data
                        .iter()
                        .map(|&v| match rng.range(0, 9) {
                            0 => rng.range(-i64::from(i32::MAX), i64::from(i32::MAX)) as i32,
                            _ => i32::from(v).saturating_mul(scale).max(-i32::MAX),
                        })
                        .collect();
                    Tensor::from_i32(shape.clone(), wide)
                }
            }
            .expect("sized")
        })
        .collect()
}

fn check(seed: u64, ops: usize, batch: usize) {
    let (model, mut rng) = GraphGen::new(seed).build(ops);
    let inputs = inputs(&model, &mut rng, batch);
    let context = format!(
        "seed {seed}, {ops} ops, batch {batch}, graph {:?}",
        model.graph()
    );

    let reference = ReferenceExecutor::new(Arc::new(model.clone()));
    let expected = reference.trace_batch(&inputs).expect("valid inputs");
    let outputs: Vec<Tensor> = expected
        .iter()
        .map(|t| t.last().expect("output").clone())
        .collect();

    let burn = BurnExecutor::ndarray(&model).expect("generated models are supported");
    let traces = burn.trace_batch(&inputs).expect("valid inputs");
    for (i, (got, want)) in traces.iter().zip(&expected).enumerate() {
        for (v, (g, w)) in got.iter().zip(want).enumerate() {
            assert_eq!(g, w, "example {i}, value {v}: {context}");
        }
    }
    assert_eq!(
        burn.run_batch(&inputs).expect("valid"),
        outputs,
        "batched: {context}"
    );
    for (i, input) in inputs.iter().enumerate() {
        let one = burn.run_batch(std::slice::from_ref(input)).expect("valid");
        assert_eq!(
            one,
            vec![outputs[i].clone()],
            "example {i} alone: {context}"
        );
    }
    for threads in [1, 2] {
        let pooled = burn.clone().with_threads(threads).expect("pool");
        assert_eq!(
            pooled.run_batch(&inputs).expect("valid"),
            outputs,
            "{threads} threads: {context}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2048,
        max_shrink_iters: 32,
        ..ProptestConfig::default()
    })]

    #[test]
    fn burn_matches_the_reference(seed in any::<u64>(), ops in 1usize..=7, batch in 1usize..=9) {
        check(seed, ops, batch);
    }
}
