//! Float graph + calibration ranges → a Verdict integer model.
//!
//! - **Activations:** one scale per tensor, `max|v| / 127` over the calibration rows
//!   (symmetric, zero point 0). The input scale is what clients quantize features with.
//! - **Weights:** one scale per output channel, `max|w| / 127`; `w_q = round(w / s_w)`.
//!   (Coarser when the channel's bias would not fit the `i32` accumulator otherwise.)
//! - **Biases:** `b_q = round(b / (s_x * s_w))` in the accumulator's scale.
//! - **Requantize:** the accumulator (scale `s_x * s_w`) goes to the output scale `s_y` by
//!   the real factor `f = s_x * s_w / s_y`, written as `M * 2^-shift` with `M` in
//!   `[2^30, 2^31)` (31 significant bits) and `shift <= 62`.
//! - **ReLU after a MatMul, Conv or Add** that it alone reads: the requantization targets
//!   the ReLU's output range, which is all the ReLU keeps, so no int8 step is spent on
//!   negative values the ReLU zeroes anyway.
//! - Pools, Reshape and a standalone ReLU keep their input's scale.

use super::error::{ImportError, ImportResult};
use super::float::{FloatGraph, FloatOp};
use verdict_specs::Task;
use verdict_specs::model::{FeatureQuant, Graph, InputSpec, Metadata, Op, Requant};
use verdict_specs::ops::{MAX_ACCUMULATOR, MAX_PRODUCT};
use verdict_specs::{DType, Model, Tensor};

/// Most trees one ReduceSum adds (a sum's one-step check reads its whole row: about
/// 300 gas a term, so 512 terms stay far below a block's gas).
const TREES_PER_SUM: usize = 512;

/// The largest `|v|` each float value reached on the calibration rows.
#[derive(Clone, Debug)]
pub(super) struct Calibration {
    max_abs: Vec<f64>,
    /// Largest `|v|` of each input element, for per-feature input quantization.
    input_max_abs: Vec<f64>,
    /// Smallest and largest value of each input element, for wide (tree) inputs.
    input_range: Vec<(f64, f64)>,
    rows: usize,
}

impl Calibration {
    pub(super) fn new(values: usize) -> Self {
        Self {
            max_abs: vec![0.0; values],
            input_max_abs: Vec::new(),
            input_range: Vec::new(),
            rows: 0,
        }
    }

    /// Records every value of one example (as [`FloatGraph::eval`] returns them).
    pub(super) fn observe(&mut self, values: &[Vec<f64>]) {
        for (max, value) in self.max_abs.iter_mut().zip(values) {
            *max = value.iter().fold(*max, |m, v| m.max(v.abs()));
        }
        if let Some(input) = values.first() {
            self.input_max_abs.resize(input.len(), 0.0);
            for (max, v) in self.input_max_abs.iter_mut().zip(input) {
                *max = max.max(v.abs());
            }
            self.input_range
                .resize(input.len(), (f64::INFINITY, f64::NEG_INFINITY));
            for ((lo, hi), &v) in self.input_range.iter_mut().zip(input) {
                (*lo, *hi) = (lo.min(v), hi.max(v));
            }
        }
        self.rows += 1;
    }

    /// The int8 scale of float value `id`, rounded to the `f32` the model stores.
    fn scale(&self, id: usize) -> f64 {
        scale_of(self.max_abs[id])
    }
}

/// Room above the calibrated range a per-feature scale leaves, so that test rows a
/// little beyond the calibration rows do not saturate (one scale for all features has
/// this room for free on every feature but the widest).
const FEATURE_HEADROOM: f64 = 1.25;

/// Per-feature input scales, when they quantize the features much more finely than one
/// shared scale does. The rounding noise of feature `k` relative to its own range is
/// `(scale / max_k)^2` (up to a constant): with the shared scale `S = max / 127` it sums
/// to `sum_k (S / max_k)^2`, with per-feature scales (and their headroom) to
/// `K * FEATURE_HEADROOM^2 / 127^2`. Per-feature scales are used when they at least halve
/// that total; features that never leave zero do not count.
fn per_feature_scales(max_abs: &[f64]) -> Option<Vec<f64>> {
    let shared = max_abs.iter().copied().fold(0.0f64, f64::max);
    let live: Vec<f64> = max_abs.iter().copied().filter(|&m| m > 0.0).collect();
    if live.is_empty() || !shared.is_finite() {
        return None;
    }
    let shared_noise: f64 = live.iter().map(|m| (shared / m).powi(2)).sum();
    let own_noise = live.len() as f64 * FEATURE_HEADROOM.powi(2);
    (shared_noise >= 2.0 * own_noise).then(|| {
        max_abs
            .iter()
            .map(|&m| scale_of(m * FEATURE_HEADROOM))
            .collect()
    })
}

/// `max / 127` as an `f32`; a value that never moved off zero can take any scale, and
/// 1/127 keeps it finite.
fn scale_of(max: f64) -> f64 {
    let scale = if max > 0.0 && max.is_finite() {
        max / 127.0
    } else {
        1.0 / 127.0
    };
    f64::from(scale as f32)
}

/// `f ≈ multiplier * 2^-shift` with a 31-bit multiplier, or `None` when `f` is out of
/// the representable range (not positive, or at least 2^30).
pub(crate) fn fixed_point(f: f64) -> Option<Requant> {
    if !(f.is_finite() && f > 0.0) {
        return None;
    }
    // f = m * 2^e with m in [0.5, 1).
    let e = f.log2().floor() as i32 + 1;
    let mut shift = 31 - e;
    if shift > 62 {
        shift = 62;
    }
    if shift < 1 {
        return None;
    }
    let mut multiplier = (f * 2f64.powi(shift)).round();
    if multiplier >= 2f64.powi(31) {
        multiplier /= 2.0;
        shift -= 1;
        if shift < 1 {
            return None;
        }
    }
    Some(Requant {
        multiplier: multiplier as i32,
        shift: shift as u8,
    })
}

/// Builds the integer model.
pub(super) fn quantize(
    graph: &FloatGraph,
    calibration: &Calibration,
    mut metadata: Metadata,
) -> ImportResult<Model> {
    let mut b = Builder {
        graph,
        calibration,
        readers: graph.readers(),
        int_value: vec![0; graph.value_count()],
        keep_accumulator: None,
        feature_scales: None,
        wide_input: None,
        int_scale: vec![0.0; graph.value_count()],
        nodes: Vec::new(),
        weights: Vec::new(),
        metadata: &mut metadata,
    };
    b.keep_accumulator = accumulator_output(graph);
    let reads_trees = graph
        .nodes
        .iter()
        .any(|n| matches!(n.op, FloatOp::TreeEnsemble { .. }));
    if graph.task == Task::Regression
        && b.keep_accumulator.is_none()
        && !ends_in_trees(graph)
        && graph
            .shape(graph.value_count() - 1)
            .iter()
            .product::<usize>()
            != 1
    {
        return Err(ImportError::Quantize {
            node: graph
                .nodes
                .last()
                .map(|n| n.name.clone())
                .unwrap_or_default(),
            reason: "a regression output must come from a MatMul/Gemm/Conv (through Relu or \
                     Reshape at most) or be a single value"
                .into(),
        });
    }
    let input_scale = calibration.scale(0);
    b.int_scale[0] = input_scale;
    if reads_trees {
        b.wide_input = Some(wide_input(graph, calibration)?);
    }
    // A vector input that only Dense layers read may get one scale per feature, folded
    // into those layers' weight columns: tabular features live on very different ranges,
    // and one shared int8 scale flattens the small ones (see `per_feature_scales`).
    if !reads_trees
        && graph.input_shape.len() == 1
        && graph
            .nodes
            .iter()
            .filter(|n| n.op.inputs().contains(&0))
            .all(|n| matches!(n.op, FloatOp::Dense { .. }))
        && let Some(scales) = per_feature_scales(&calibration.input_max_abs)
    {
        b.metadata.notes.push(format!(
            "input quantized per feature ({} scales, {FEATURE_HEADROOM}x the calibrated range)",
            scales.len()
        ));
        b.feature_scales = Some(scales);
        // The integer input is in "feature units": each q_k stands for q_k * s_k.
        b.int_scale[0] = 1.0;
    }
    b.metadata.value_scales = vec![input_scale as f32];
    for id in 1..graph.value_count() {
        b.node(id)?;
    }
    let last = graph.value_count() - 1;
    let output_scale = b.int_scale[last] as f32;
    let wide = b.wide_input.take();
    let features = match &wide {
        Some(features) => features.clone(),
        None => input_features(graph, b.feature_scales.as_deref(), input_scale),
    };
    let (nodes, weights) = (b.nodes, b.weights);
    let input_scale = if features.is_empty() {
        input_scale as f32
    } else {
        // Shown as the input's scale: the largest feature scale.
        display_scale(&features, input_scale)
    };
    let int_graph = Graph {
        input: InputSpec {
            shape: to_u32_shape(&graph.input_shape),
            dtype: if wide.is_some() {
                DType::I32
            } else {
                DType::I8
            },
            scale: input_scale,
            features,
        },
        nodes,
        output_scale,
    };
    Ok(Model::new(int_graph, weights, metadata)?)
}

struct Builder<'a> {
    graph: &'a FloatGraph,
    calibration: &'a Calibration,
    readers: Vec<usize>,
    /// Float value id → integer value id.
    int_value: Vec<u32>,
    /// The Dense or Conv whose `i32` accumulator a regressor outputs (no Requantize).
    keep_accumulator: Option<usize>,
    /// Per-feature scales of value 0 (folded into the Dense layers that read it).
    feature_scales: Option<Vec<f64>>,
    /// The `i32` input's per-feature quantization, for a model whose trees read it.
    wide_input: Option<Vec<FeatureQuant>>,
    /// Float value id → scale of its integer value (0 for class indices and labels).
    int_scale: Vec<f64>,
    nodes: Vec<Op>,
    weights: Vec<Tensor>,
    metadata: &'a mut Metadata,
}

impl Builder<'_> {
    fn node(&mut self, id: usize) -> ImportResult<()> {
        let node = &self.graph.nodes[id - 1];
        let name = node.name.as_str();
        let (value, scale) = match &node.op {
            FloatOp::Dense {
                input,
                weight,
                outputs,
                inner,
                bias,
            } => {
                let rank = self.graph.shape(id).len();
                self.contraction(
                    id,
                    *input,
                    weight,
                    *outputs,
                    *inner,
                    bias.as_deref(),
                    (rank - 1) as u8,
                    |x, w, b| Op::MatMul {
                        input: x,
                        weight: w,
                        bias: b,
                    },
                    &[*outputs as u32, *inner as u32],
                )?
            }
            FloatOp::Conv {
                input,
                weight,
                dims,
                bias,
                window,
            } => {
                let inner = dims[1] * dims[2] * dims[3];
                let (stride, padding) = (window.stride, window.padding);
                // A 1-D conv reads `[C, T]` as `[C, 1, T]` and gives `[O, T']` back.
                let one_d = self.graph.shape(*input).len() == 2;
                let flat_input = self.int_value[*input];
                if one_d {
                    let chw = crate::float::as_chw(self.graph.shape(*input));
                    let op = Op::Reshape {
                        input: flat_input,
                        shape: to_u32_shape(&chw),
                    };
                    self.int_value[*input] =
                        self.push(&format!("{name}/as_2d"), op, self.int_scale[*input]);
                }
                let result = self.contraction(
                    id,
                    *input,
                    weight,
                    dims[0],
                    inner,
                    bias.as_deref(),
                    0,
                    |x, w, b| Op::Conv2d {
                        input: x,
                        weight: w,
                        bias: b,
                        stride,
                        padding,
                    },
                    &dims.map(|d| d as u32),
                );
                self.int_value[*input] = flat_input;
                let (out, scale) = result?;
                if one_d {
                    let op = Op::Reshape {
                        input: out,
                        shape: to_u32_shape(&node.shape),
                    };
                    (self.push(&format!("{name}/as_1d"), op, scale), scale)
                } else {
                    (out, scale)
                }
            }
            FloatOp::Relu { input } => {
                let x = self.int_value[*input];
                (
                    self.push(name, Op::Relu { input: x }, self.int_scale[*input]),
                    self.int_scale[*input],
                )
            }
            FloatOp::Add { a, b } => self.add(id, *a, *b)?,
            FloatOp::MaxPool { input, window } => {
                let op = Op::MaxPool2d {
                    input: self.int_value[*input],
                    window: *window,
                };
                (
                    self.push(name, op, self.int_scale[*input]),
                    self.int_scale[*input],
                )
            }
            FloatOp::AvgPool {
                input,
                window,
                count_include_pad,
            } => {
                let op = Op::AvgPool2d {
                    input: self.int_value[*input],
                    window: *window,
                    count_include_pad: *count_include_pad,
                };
                (
                    self.push(name, op, self.int_scale[*input]),
                    self.int_scale[*input],
                )
            }
            FloatOp::GlobalAvgPool { input } => {
                let op = Op::GlobalAvgPool {
                    input: self.int_value[*input],
                };
                (
                    self.push(name, op, self.int_scale[*input]),
                    self.int_scale[*input],
                )
            }
            FloatOp::Reshape { input } => {
                let op = Op::Reshape {
                    input: self.int_value[*input],
                    shape: to_u32_shape(&node.shape),
                };
                (
                    self.push(name, op, self.int_scale[*input]),
                    self.int_scale[*input],
                )
            }
            FloatOp::ArgMax { input } => (
                self.push(
                    name,
                    Op::ArgMax {
                        input: self.int_value[*input],
                    },
                    0.0,
                ),
                0.0,
            ),
            FloatOp::Table { input, f } => {
                let (s_in, s_out) = (self.int_scale[*input], self.target_scale(id));
                let entries = crate::activation::table(*f, s_in, s_out);
                let table = self.weight(
                    format!("{name}.table"),
                    Tensor::from_i8(vec![verdict_specs::ops::TABLE_LEN], entries),
                )?;
                let op = Op::Table {
                    input: self.int_value[*input],
                    table,
                };
                (self.push(name, op, s_out), s_out)
            }
            FloatOp::TreeEnsemble { input, ensemble } => self.trees(name, *input, ensemble)?,
            FloatOp::Softmax { input } => {
                let entries = crate::activation::softmax_exp_table(self.int_scale[*input]);
                let table = self.weight(
                    format!("{name}.exp"),
                    Tensor::from_i32(vec![verdict_specs::ops::SOFTMAX_TABLE_LEN], entries),
                )?;
                let op = Op::Softmax {
                    input: self.int_value[*input],
                    table,
                };
                let scale = 1.0 / verdict_specs::ops::SOFTMAX_ONE as f64;
                (self.push(name, op, scale), scale)
            }
            FloatOp::Mul { a, b } => self.mul(id, *a, *b)?,
            FloatOp::Sub { a, b } => self.add_scaled(id, *a, *b, -1.0)?,
            FloatOp::Scale { input, factor } => self.scale(id, *input, *factor)?,
            FloatOp::Transpose { input, perm } => {
                let op = Op::Transpose {
                    input: self.int_value[*input],
                    perm: perm.clone(),
                };
                let scale = self.int_scale[*input];
                (self.push(name, op, scale), scale)
            }
            FloatOp::Slice { input, start } => {
                let op = Op::Slice {
                    input: self.int_value[*input],
                    start: start.iter().map(|&v| v as u32).collect(),
                    shape: to_u32_shape(&node.shape),
                };
                let scale = self.int_scale[*input];
                (self.push(name, op, scale), scale)
            }
            FloatOp::Concat { a, b, axis } => self.concat(id, *a, *b, *axis)?,
            FloatOp::Reduce { input, axis, kind } => self.reduce(id, *input, *axis, *kind)?,
            FloatOp::LabelLookup { input, labels } => {
                let len = labels.len() as u32;
                let weight = self.weight(
                    format!("{name}.labels"),
                    Tensor::from_i32(vec![len], labels.clone()),
                )?;
                let op = Op::LabelLookup {
                    input: self.int_value[*input],
                    labels: weight,
                };
                (self.push(name, op, 0.0), 0.0)
            }
        };
        self.int_value[id] = value;
        self.int_scale[id] = scale;
        Ok(())
    }

    /// The scale value `id` is requantized to: its own range, or that of a ReLU which
    /// alone reads it.
    fn target_scale(&self, id: usize) -> f64 {
        if self.readers[id] == 1
            && let Some(relu) = self
                .graph
                .nodes
                .iter()
                .position(|n| matches!(n.op, FloatOp::Relu { input } if input == id))
        {
            return self.calibration.scale(relu + 1);
        }
        self.calibration.scale(id)
    }

    /// MatMul or Conv2d, then Requantize along `axis`.
    #[allow(clippy::too_many_arguments)]
    fn contraction(
        &mut self,
        id: usize,
        input: usize,
        weight: &[f64],
        channels: usize,
        inner: usize,
        bias: Option<&[f64]>,
        axis: u8,
        make: impl FnOnce(u32, u32, Option<u32>) -> Op,
        weight_shape: &[u32],
    ) -> ImportResult<(u32, f64)> {
        let name = self.graph.nodes[id - 1].name.clone();
        let fail = |reason: String| ImportError::Quantize {
            node: name.clone(),
            reason,
        };
        if let Some(bad) = weight
            .iter()
            .chain(bias.unwrap_or_default())
            .find(|v| !v.is_finite())
        {
            return Err(fail(format!("weight or bias value {bad} is not finite")));
        }
        let s_x = self.int_scale[input];
        let s_y = self.target_scale(id);
        let keep = self.keep_accumulator == Some(id);
        // Per-feature input scales: column k of the weights is multiplied by s_k, so the
        // integer input (in units of its own scale) meets weights in the same units.
        let folded: Vec<f64>;
        let weight = match (&self.feature_scales, input) {
            (Some(scales), 0) => {
                folded = weight
                    .iter()
                    .enumerate()
                    .map(|(i, w)| w * scales[i % inner])
                    .collect();
                folded.as_slice()
            }
            _ => weight,
        };
        // A kept accumulator is the output: one scale for every channel, so one output
        // scale (`s_x * s_w`) dequantizes it.
        let shared_max = weight.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let mut q_weight = Vec::with_capacity(weight.len());
        let mut q_bias = Vec::with_capacity(channels);
        let mut params = Vec::with_capacity(channels);
        let bias_limit = MAX_ACCUMULATOR - inner as i64 * MAX_PRODUCT;
        let mut clamped = 0usize;
        let mut accumulator_scale = 0.0;
        for ch in 0..channels {
            let row = &weight[ch * inner..(ch + 1) * inner];
            let max = if keep {
                shared_max
            } else {
                row.iter().fold(0.0f64, |m, v| m.max(v.abs()))
            };
            let mut s_w = if max > 0.0 {
                f64::from((max / 127.0) as f32)
            } else {
                1.0
            };
            // A channel whose weights are tiny next to its bias would need a bias beyond
            // the accumulator's range at that scale: coarsen the weight scale until the
            // bias fits (the tiny weights lose nothing that matters next to the bias).
            if let Some(b) = bias {
                let largest = if keep {
                    b.iter().fold(0.0f64, |m, v| m.max(v.abs()))
                } else {
                    b[ch].abs()
                };
                let needed = largest / (s_x * bias_limit as f64);
                if needed > s_w {
                    s_w = f64::from((needed * (1.0 + 1e-6)) as f32);
                }
            }
            q_weight.extend(
                row.iter()
                    .map(|&w| (w / s_w).round().clamp(-127.0, 127.0) as i8),
            );
            let acc_scale = s_x * s_w;
            let b = bias.map_or(0.0, |b| (b[ch] / acc_scale).round());
            if b.abs() > bias_limit as f64 {
                clamped += 1;
            }
            q_bias.push(b.clamp(-(bias_limit as f64), bias_limit as f64) as i32);
            if keep {
                accumulator_scale = acc_scale;
                continue;
            }
            params.push(fixed_point(acc_scale / s_y).ok_or_else(|| {
                fail(format!(
                    "channel {ch}: rescale factor {} is out of range",
                    acc_scale / s_y
                ))
            })?);
        }
        if clamped > 0 {
            self.metadata.notes.push(format!(
                "{name}: {clamped} bias values clamped to fit the i32 accumulator"
            ));
        }
        let w = self.weight(
            format!("{name}.weight"),
            Tensor::from_i8(weight_shape.to_vec(), q_weight),
        )?;
        let b = match bias {
            Some(_) => Some(self.weight(
                format!("{name}.bias"),
                Tensor::from_i32(vec![channels as u32], q_bias),
            )?),
            None => None,
        };
        let x = self.int_value[input];
        if keep {
            let acc = self.push(&name, make(x, w, b), accumulator_scale);
            return Ok((acc, accumulator_scale));
        }
        let acc = self.push(&name, make(x, w, b), 0.0);
        // One parameter for all channels when they agree (a smaller model, same result).
        if params.windows(2).all(|p| p[0] == p[1]) {
            params.truncate(1);
        }
        let out = self.push(
            &format!("{name}/requantize"),
            Op::Requantize {
                input: acc,
                axis,
                params,
            },
            s_y,
        );
        Ok((out, s_y))
    }

    fn add(&mut self, id: usize, a: usize, b: usize) -> ImportResult<(u32, f64)> {
        self.add_scaled(id, a, b, 1.0)
    }

    /// `a + sign * b` (Add, or Sub with `sign = -1`): an Add whose `b` multiplier has
    /// that sign.
    fn add_scaled(&mut self, id: usize, a: usize, b: usize, sign: f64) -> ImportResult<(u32, f64)> {
        let name = self.graph.nodes[id - 1].name.clone();
        let s_y = self.target_scale(id);
        let (ra, rb) = (self.int_scale[a] / s_y, self.int_scale[b] / s_y);
        let fail = || ImportError::Quantize {
            node: name.clone(),
            reason: format!("operand rescale factors {ra} and {rb} are out of range"),
        };
        let shift = fixed_point(ra.max(rb)).ok_or_else(fail)?.shift;
        let multiplier = |r: f64| {
            let m = (r * 2f64.powi(i32::from(shift))).round();
            (m <= f64::from(i32::MAX)).then_some(m as i32)
        };
        let (ma, mb) = (
            multiplier(ra).ok_or_else(fail)?,
            multiplier(rb).ok_or_else(fail)? * sign as i32,
        );
        let op = Op::Add {
            a: self.int_value[a],
            b: self.int_value[b],
            a_multiplier: ma,
            b_multiplier: mb,
            shift,
        };
        Ok((self.push(&name, op, s_y), s_y))
    }

    /// `a * b`: one Mul whose multiplier takes the product of the operand scales to the
    /// output scale.
    fn mul(&mut self, id: usize, a: usize, b: usize) -> ImportResult<(u32, f64)> {
        let name = self.graph.nodes[id - 1].name.clone();
        let s_y = self.target_scale(id);
        let factor = self.int_scale[a] * self.int_scale[b] / s_y;
        let Requant { multiplier, shift } =
            fixed_point(factor).ok_or_else(|| ImportError::Quantize {
                node: name.clone(),
                reason: format!("the product's rescale factor {factor} is out of range"),
            })?;
        let op = Op::Mul {
            a: self.int_value[a],
            b: self.int_value[b],
            multiplier,
            shift,
        };
        Ok((self.push(&name, op, s_y), s_y))
    }

    /// `a` then `b` along `axis`: both parts at the output's calibrated scale (a part at
    /// another scale is rescaled first, by an Add whose second multiplier is 0).
    fn concat(&mut self, id: usize, a: usize, b: usize, axis: usize) -> ImportResult<(u32, f64)> {
        let name = self.graph.nodes[id - 1].name.clone();
        let s_y = self.target_scale(id);
        let mut parts = [self.int_value[a], self.int_value[b]];
        for (part, value) in parts.iter_mut().zip([a, b]) {
            let ratio = self.int_scale[value] / s_y;
            if (ratio - 1.0).abs() < 1e-12 {
                continue;
            }
            let Requant { multiplier, shift } =
                fixed_point(ratio).ok_or_else(|| ImportError::Quantize {
                    node: name.clone(),
                    reason: format!("a part's rescale factor {ratio} is out of range"),
                })?;
            let op = Op::Add {
                a: *part,
                b: *part,
                a_multiplier: multiplier,
                b_multiplier: 0,
                shift,
            };
            *part = self.push(&format!("{name}/rescale"), op, s_y);
        }
        let op = Op::Concat {
            a: parts[0],
            b: parts[1],
            axis: axis as u8,
        };
        Ok((self.push(&name, op, s_y), s_y))
    }

    /// Sum or mean along `axis`: the exact `ReduceSum`, then one Requantize to the
    /// output's scale (`1/n` of the mean folded into its factor). Max: the values as
    /// `[outer, n, inner]`, one MaxPool2d window of `n x 1`, reshaped back.
    fn reduce(
        &mut self,
        id: usize,
        input: usize,
        axis: usize,
        kind: crate::float::Reduction,
    ) -> ImportResult<(u32, f64)> {
        use crate::float::Reduction;
        let name = self.graph.nodes[id - 1].name.clone();
        let in_shape = self.graph.shape(input).to_vec();
        let out_shape = to_u32_shape(self.graph.shape(id));
        let x = self.int_value[input];
        let s_x = self.int_scale[input];
        if kind == Reduction::Max {
            let outer: usize = in_shape[..axis].iter().product();
            let inner: usize = in_shape[axis + 1..].iter().product();
            let n = in_shape[axis];
            let viewed = self.push(
                &format!("{name}/as_chw"),
                Op::Reshape {
                    input: x,
                    shape: to_u32_shape(&[outer, n, inner]),
                },
                s_x,
            );
            let pooled = self.push(
                &format!("{name}/max"),
                Op::MaxPool2d {
                    input: viewed,
                    window: verdict_specs::model::Window {
                        kernel: [n as u32, 1],
                        stride: [1, 1],
                        padding: [0; 4],
                    },
                },
                s_x,
            );
            let op = Op::Reshape {
                input: pooled,
                shape: out_shape,
            };
            return Ok((self.push(&name, op, s_x), s_x));
        }
        let sum = self.push(
            &format!("{name}/sum"),
            Op::ReduceSum {
                input: x,
                axis: axis as u8,
            },
            s_x,
        );
        let s_y = self.target_scale(id);
        let n = if kind == Reduction::Mean {
            in_shape[axis] as f64
        } else {
            1.0
        };
        let factor = s_x / n / s_y;
        let params = vec![fixed_point(factor).ok_or_else(|| ImportError::Quantize {
            node: name.clone(),
            reason: format!("the reduction's rescale factor {factor} is out of range"),
        })?];
        let op = Op::Requantize {
            input: sum,
            axis: 0,
            params,
        };
        Ok((self.push(&name, op, s_y), s_y))
    }

    /// `x * factor` for a scalar: the same integers at a scale `|factor|` times the
    /// input's (a negative factor negates exactly: `-x` is an int8 value too). The model's
    /// last value must be a node's output, so a final positive Scale is a no-op Reshape.
    fn scale(&mut self, id: usize, input: usize, factor: f64) -> ImportResult<(u32, f64)> {
        let name = self.graph.nodes[id - 1].name.clone();
        let scale = self.int_scale[input] * factor.abs();
        let x = self.int_value[input];
        if factor < 0.0 {
            let op = Op::Add {
                a: x,
                b: x,
                a_multiplier: -(1 << 30),
                b_multiplier: 0,
                shift: 30,
            };
            return Ok((self.push(&name, op, scale), scale));
        }
        if id + 1 == self.graph.value_count() {
            let op = Op::Reshape {
                input: x,
                shape: to_u32_shape(self.graph.shape(id)),
            };
            return Ok((self.push(&name, op, scale), scale));
        }
        Ok((x, scale))
    }

    /// A tree ensemble reading the wide input: `TreeEnsemble` (one value per tree and
    /// target), `ReduceSum` over the trees, `Reshape` to `[targets]`. Leaves are fixed
    /// point at one scale chosen so the largest possible sum fits in i32 with room for
    /// every leaf's rounding.
    fn trees(
        &mut self,
        name: &str,
        input: usize,
        ensemble: &crate::trees::FloatEnsemble,
    ) -> ImportResult<(u32, f64)> {
        let fail = |reason: String| ImportError::Quantize {
            node: name.to_string(),
            reason,
        };
        let Some(quant) = self.wide_input.as_deref().filter(|_| input == 0) else {
            return Err(fail("a tree ensemble must read the model input".into()));
        };
        let bound = ensemble.bound();
        let headroom = 1.0 + (ensemble.roots.len() as f64 + 2.0) / f64::from(i32::MAX);
        let scale = if bound > 0.0 && bound.is_finite() {
            bound * headroom * 1.001 / f64::from(i32::MAX)
        } else {
            1e-6
        };
        // The f32 the model stores, which the leaves are computed with.
        let scale = f64::from(scale as f32);
        let lowered =
            crate::trees::lower(ensemble, quant, scale).map_err(|e| fail(e.to_string()))?;
        let trees = lowered.roots.len() as u32;
        let targets = ensemble.targets as u32;
        let nodes = self.weight(format!("{name}.nodes"), Ok(lowered.nodes))?;
        let leaves = self.weight(format!("{name}.leaves"), Ok(lowered.leaves))?;
        self.metadata.notes.push(format!(
            "{name}: {trees} trees (the last holds the base values), leaves in fixed point \
             at scale {scale:e}"
        ));
        // One ReduceSum adds at most TREES_PER_SUM trees, so a dispute over a sum opens a
        // bounded row: a larger ensemble is evaluated in groups (one TreeEnsemble each,
        // sharing the node and leaf weights), their sums joined and summed once more.
        // The leaf scale keeps the largest possible total within i32, so no partial sum
        // saturates and the grouped sum is the single sum.
        let roots_values = lowered.roots.as_i32().unwrap_or_default().to_vec();
        let group_sum = |b: &mut Self, roots: u32, tag: &str| {
            let per_tree = b.push(
                &format!("{name}.trees{tag}"),
                Op::TreeEnsemble {
                    input: 0,
                    nodes,
                    leaves,
                    roots,
                },
                scale,
            );
            b.push(
                &format!("{name}.sum{tag}"),
                Op::ReduceSum {
                    input: per_tree,
                    axis: 1,
                },
                scale,
            )
        };
        let sum = if roots_values.len() <= TREES_PER_SUM {
            let roots = self.weight(format!("{name}.roots"), Ok(lowered.roots))?;
            group_sum(self, roots, "")
        } else {
            let mut joined: Option<u32> = None;
            for (g, group) in roots_values.chunks(TREES_PER_SUM).enumerate() {
                let group_roots = self.weight(
                    format!("{name}.roots{g}"),
                    Tensor::from_i32(vec![group.len() as u32], group.to_vec()),
                )?;
                let partial = group_sum(self, group_roots, &g.to_string());
                joined = Some(match joined {
                    None => partial,
                    Some(left) => self.push(
                        &format!("{name}.partials{g}"),
                        Op::Concat {
                            a: left,
                            b: partial,
                            axis: 1,
                        },
                        scale,
                    ),
                });
            }
            self.metadata.notes.push(format!(
                "{name}: {trees} trees summed in groups of at most {TREES_PER_SUM}, so one dispute step opens a bounded row"
            ));
            let partials = joined.expect("at least one group");
            self.push(
                &format!("{name}.sum"),
                Op::ReduceSum {
                    input: partials,
                    axis: 1,
                },
                scale,
            )
        };
        let out = self.push(
            name,
            Op::Reshape {
                input: sum,
                shape: vec![targets],
            },
            scale,
        );
        Ok((out, scale))
    }

    fn push(&mut self, name: &str, op: Op, scale: f64) -> u32 {
        self.nodes.push(op);
        self.metadata.node_names.push(name.to_string());
        self.metadata.value_scales.push(scale as f32);
        self.nodes.len() as u32
    }

    fn weight(
        &mut self,
        name: String,
        tensor: Result<Tensor, verdict_specs::tensor::TensorError>,
    ) -> ImportResult<u32> {
        let tensor = tensor.map_err(|e| ImportError::Quantize {
            node: name.clone(),
            reason: e.to_string(),
        })?;
        self.weights.push(tensor);
        self.metadata.weight_names.push(name);
        Ok(self.weights.len() as u32 - 1)
    }
}

/// The per-feature input quantization: the calibrated scale of each feature (of value 0,
/// after any input affine map), moved back to raw features through that map. Empty when
/// the input keeps one scale and no affine map.
fn input_features(
    graph: &FloatGraph,
    feature_scales: Option<&[f64]>,
    input_scale: f64,
) -> Vec<FeatureQuant> {
    let count = graph.input_len();
    if feature_scales.is_none() && graph.input_affine.is_none() {
        return Vec::new();
    }
    (0..count)
        .map(|k| {
            let s = feature_scales.map_or(input_scale, |f| f[k]);
            let (offset, factor) = graph
                .input_affine
                .as_ref()
                .map_or((0.0, 1.0), |a| (a.offset[k], a.scale[k]));
            // value0 = (x - offset) * factor, quantized with s: the client computes
            // q = round((x - offset) / (s / factor)). A feature the map zeroes (factor 0)
            // gets a scale so large that it always quantizes to 0.
            let scale = if factor > 0.0 {
                let v = (s / factor) as f32;
                if v.is_finite() && v > 0.0 {
                    v
                } else {
                    f32::MAX
                }
            } else {
                f32::MAX
            };
            FeatureQuant {
                scale,
                offset: offset as f32,
            }
        })
        .collect()
}

/// The scale `verdict model inspect` shows for a per-feature input: the largest.
fn display_scale(features: &[FeatureQuant], fallback: f64) -> f32 {
    features
        .iter()
        .map(|f| f.scale)
        .filter(|s| *s < f32::MAX)
        .fold(None, |m: Option<f32>, s| Some(m.map_or(s, |m| m.max(s))))
        .unwrap_or(fallback as f32)
}

/// Whether the output is a tree ensemble's sum (an `i32` at full precision).
fn ends_in_trees(graph: &FloatGraph) -> bool {
    matches!(
        graph.nodes.last().map(|n| &n.op),
        Some(FloatOp::TreeEnsemble { .. })
    )
}

/// The `i32` input of a tree model: each feature over its calibrated range
/// (`trees::wide_feature_quant`). Only tree ensembles may read it.
fn wide_input(graph: &FloatGraph, calibration: &Calibration) -> ImportResult<Vec<FeatureQuant>> {
    if let Some(node) = graph
        .nodes
        .iter()
        .find(|n| n.op.inputs().contains(&0) && !matches!(n.op, FloatOp::TreeEnsemble { .. }))
    {
        return Err(ImportError::Quantize {
            node: node.name.clone(),
            reason: "reads the input of a tree model; only tree ensembles may read its i32 \
                     features"
                .into(),
        });
    }
    let ensembles: Vec<&crate::trees::FloatEnsemble> = graph
        .nodes
        .iter()
        .filter_map(|n| match &n.op {
            FloatOp::TreeEnsemble { ensemble, .. } => Some(ensemble.as_ref()),
            _ => None,
        })
        .collect();
    Ok(calibration
        .input_range
        .iter()
        .enumerate()
        .map(|(feature, &(lo, hi))| {
            let (lo, hi) = ensembles
                .iter()
                .filter_map(|e| e.threshold_range(feature))
                .fold((lo, hi), |(lo, hi), (a, b)| (lo.min(a), hi.max(b)));
            crate::trees::wide_feature_quant(lo, hi)
        })
        .collect())
}

/// For a regressor: the Dense or Conv whose accumulator reaches the output through
/// Relu and Reshape only (both keep an `i32` value exact), if there is one.
fn accumulator_output(graph: &FloatGraph) -> Option<usize> {
    if graph.task != Task::Regression {
        return None;
    }
    let readers = graph.readers();
    let mut id = graph.value_count() - 1;
    loop {
        match &graph.nodes.get(id.checked_sub(1)?)?.op {
            FloatOp::Dense { .. } | FloatOp::Conv { .. } => return Some(id),
            FloatOp::Relu { input } | FloatOp::Reshape { input } if readers[*input] == 1 => {
                id = *input;
            }
            FloatOp::Scale { input, factor } if *factor > 0.0 && readers[*input] == 1 => {
                id = *input;
            }
            _ => return None,
        }
    }
}

fn to_u32_shape(shape: &[usize]) -> Vec<u32> {
    shape.iter().map(|&d| d as u32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fixed_point_examples() {
        let r = fixed_point(0.5).unwrap();
        assert_eq!((r.multiplier, r.shift), (1 << 30, 31));
        let r = fixed_point(3.0).unwrap();
        assert_eq!((r.multiplier, r.shift), (3 << 29, 29));
        assert!(fixed_point(0.0).is_none());
        assert!(fixed_point(f64::NAN).is_none());
        assert!(fixed_point(2f64.powi(31)).is_none());
        // Tiny factors cap the shift at 62.
        assert_eq!(fixed_point(1e-30).unwrap().shift, 62);
    }

    proptest! {
        #[test]
        fn fixed_point_is_close(f in 1e-9f64..1e6) {
            let r = fixed_point(f).unwrap();
            prop_assert!(r.multiplier >= 0);
            prop_assert!((1..=62).contains(&r.shift));
            let back = f64::from(r.multiplier) / 2f64.powi(i32::from(r.shift));
            prop_assert!(((back - f) / f).abs() < 1e-9, "{f} -> {back}");
        }
    }
}
