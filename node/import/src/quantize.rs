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
use verdict_specs::model::{Graph, InputSpec, Metadata, Op, Requant};
use verdict_specs::ops::{MAX_ACCUMULATOR, MAX_PRODUCT};
use verdict_specs::{Model, Tensor};

/// The largest `|v|` each float value reached on the calibration rows.
#[derive(Clone, Debug)]
pub(super) struct Calibration {
    max_abs: Vec<f64>,
    rows: usize,
}

impl Calibration {
    pub(super) fn new(values: usize) -> Self {
        Self {
            max_abs: vec![0.0; values],
            rows: 0,
        }
    }

    /// Records every value of one example (as [`FloatGraph::eval`] returns them).
    pub(super) fn observe(&mut self, values: &[Vec<f64>]) {
        for (max, value) in self.max_abs.iter_mut().zip(values) {
            *max = value.iter().fold(*max, |m, v| m.max(v.abs()));
        }
        self.rows += 1;
    }

    /// The int8 scale of float value `id`, rounded to the `f32` the model stores.
    fn scale(&self, id: usize) -> f64 {
        let max = self.max_abs[id];
        // A value that never moved off zero can take any scale; 1/127 keeps it finite.
        let scale = if max > 0.0 && max.is_finite() {
            max / 127.0
        } else {
            1.0 / 127.0
        };
        f64::from(scale as f32)
    }
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
        int_scale: vec![0.0; graph.value_count()],
        nodes: Vec::new(),
        weights: Vec::new(),
        metadata: &mut metadata,
    };
    let input_scale = calibration.scale(0);
    b.int_scale[0] = input_scale;
    b.metadata.value_scales = vec![input_scale as f32];
    for id in 1..graph.value_count() {
        b.node(id)?;
    }
    let last = graph.value_count() - 1;
    let output_scale = b.int_scale[last] as f32;
    let (nodes, weights) = (b.nodes, b.weights);
    let int_graph = Graph {
        input: InputSpec {
            shape: to_u32_shape(&graph.input_shape),
            scale: input_scale as f32,
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
                self.contraction(
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
                )?
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
        let mut q_weight = Vec::with_capacity(weight.len());
        let mut q_bias = Vec::with_capacity(channels);
        let mut params = Vec::with_capacity(channels);
        let bias_limit = MAX_ACCUMULATOR - inner as i64 * MAX_PRODUCT;
        let mut clamped = 0usize;
        for ch in 0..channels {
            let row = &weight[ch * inner..(ch + 1) * inner];
            let max = row.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let mut s_w = if max > 0.0 {
                f64::from((max / 127.0) as f32)
            } else {
                1.0
            };
            // A channel whose weights are tiny next to its bias would need a bias beyond
            // the accumulator's range at that scale: coarsen the weight scale until the
            // bias fits (the tiny weights lose nothing that matters next to the bias).
            if let Some(b) = bias {
                let needed = b[ch].abs() / (s_x * bias_limit as f64);
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
            multiplier(rb).ok_or_else(fail)?,
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
