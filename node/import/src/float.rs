//! The float graph an ONNX model is read into, and its evaluator.
//!
//! Shapes here are *per example*: the ONNX batch axis is stripped, as in the Verdict
//! model format. Value ids follow the format's convention: `0` is the input, `i + 1` is
//! node `i`'s output. The evaluator computes in `f64` with plain loops; it runs the
//! calibration rows and the float side of the accuracy report, so clarity beats speed.

use crate::activation::Activation;
use verdict_specs::Task;
use verdict_specs::model::Window;
use verdict_specs::ops;

/// A float model in the op set the quantizer maps to integers.
#[derive(Clone, Debug)]
pub struct FloatGraph {
    /// Per-example input shape.
    pub input_shape: Vec<usize>,
    /// The nodes, in execution order.
    pub nodes: Vec<FloatNode>,
    /// What the importer dropped or rewrote, for the model's notes.
    pub notes: Vec<String>,
    /// Producer named in the ONNX file, e.g. `"skl2onnx 1.17"`.
    pub producer: String,
    /// A per-feature affine map (an ONNX-ML `Scaler`) applied to the raw features before
    /// value 0: `value0[i] = (x[i] - offset[i]) * scale[i]`. The int8 model moves it into
    /// the input quantization, so every feature keeps its own resolution.
    pub input_affine: Option<InputAffine>,
    /// Whether the output is a class or a real value.
    pub task: Task,
    /// The ONNX output is a Softmax of the last value, dropped (the class is the same):
    /// the index of the note that says so. [`crate::ImportOptions::probabilities`] puts it
    /// back as the integer Softmax.
    pub output_softmax: Option<usize>,
}

/// `(x - offset) * scale`, one pair per input feature.
#[derive(Clone, Debug, PartialEq)]
pub struct InputAffine {
    /// Subtracted first.
    pub offset: Vec<f64>,
    /// Then multiplied.
    pub scale: Vec<f64>,
}

impl InputAffine {
    /// Applies the map to raw features.
    pub fn apply(&self, features: &[f64]) -> Vec<f64> {
        features
            .iter()
            .enumerate()
            .map(|(i, &x)| (x - self.offset[i]) * self.scale[i])
            .collect()
    }
}

/// One node of a [`FloatGraph`].
#[derive(Clone, Debug)]
pub struct FloatNode {
    /// Name of the ONNX node it came from.
    pub name: String,
    /// What it computes.
    pub op: FloatOp,
    /// Per-example output shape.
    pub shape: Vec<usize>,
}

/// A float op. Value ids as in [`FloatGraph`].
#[derive(Clone, Debug)]
pub enum FloatOp {
    /// `y[.., n] = bias[n] + sum_k x[.., k] * weight[n * k_len + k]`.
    Dense {
        /// Input value.
        input: usize,
        /// `[N, K]`, row-major.
        weight: Vec<f64>,
        /// `N`.
        outputs: usize,
        /// `K`.
        inner: usize,
        /// `[N]`, if any.
        bias: Option<Vec<f64>>,
    },
    /// 2-D convolution of `[C, H, W]` by `[O, C, kh, kw]`, zero padding.
    Conv {
        /// Input value.
        input: usize,
        /// `[O, C, kh, kw]`, row-major.
        weight: Vec<f64>,
        /// `[O, C, kh, kw]`.
        dims: [usize; 4],
        /// `[O]`, if any.
        bias: Option<Vec<f64>>,
        /// Stride and padding (kernel from `dims`).
        window: Window,
    },
    /// `max(x, 0)`.
    Relu {
        /// Input value.
        input: usize,
    },
    /// Element-wise sum of two values of one shape.
    Add {
        /// First operand.
        a: usize,
        /// Second operand.
        b: usize,
    },
    /// Max over windows of `[C, H, W]`; padding ignored.
    MaxPool {
        /// Input value.
        input: usize,
        /// Geometry.
        window: Window,
    },
    /// Mean over windows of `[C, H, W]`.
    AvgPool {
        /// Input value.
        input: usize,
        /// Geometry.
        window: Window,
        /// Divide by the full window (true) or the in-bounds count (false).
        count_include_pad: bool,
    },
    /// Mean over `H x W` of `[C, H, W]`.
    GlobalAvgPool {
        /// Input value.
        input: usize,
    },
    /// Same elements under the node's shape.
    Reshape {
        /// Input value.
        input: usize,
    },
    /// Index of the maximum along the last axis (lowest on ties), shape `[.., 1]`.
    ArgMax {
        /// Input value.
        input: usize,
    },
    /// An element-wise function, computed by the integer model as a 256-entry table.
    Table {
        /// Input value.
        input: usize,
        /// The function.
        f: Activation,
    },
    /// A decision-tree ensemble over the features of `input` (a vector), giving one
    /// score or value per target.
    TreeEnsemble {
        /// Input value (the model input).
        input: usize,
        /// The trees.
        ensemble: std::sync::Arc<crate::trees::FloatEnsemble>,
    },
    /// Softmax over the last axis.
    Softmax {
        /// Input value (the scores).
        input: usize,
    },
    /// Element-wise product of two activations of one shape.
    Mul {
        /// First operand.
        a: usize,
        /// Second operand.
        b: usize,
    },
    /// Element-wise difference `a - b` of two activations of one shape.
    Sub {
        /// First operand.
        a: usize,
        /// Second operand.
        b: usize,
    },
    /// `x * factor` for a scalar constant (ONNX `Mul` or `Div` by a constant that no
    /// MatMul, Gemm or Conv absorbs): the integers stay, the scale changes.
    Scale {
        /// Input value.
        input: usize,
        /// The factor, finite and non-zero.
        factor: f64,
    },
    /// Axes permuted: output dimension `i` is input dimension `perm[i]`.
    Transpose {
        /// Input value.
        input: usize,
        /// A permutation of the per-example axes.
        perm: Vec<u8>,
    },
    /// The window `start .. start + shape` (the node's shape), step 1.
    Slice {
        /// Input value.
        input: usize,
        /// First coordinate along each axis.
        start: Vec<usize>,
    },
    /// `a` then `b` along `axis`.
    Concat {
        /// First part.
        a: usize,
        /// Second part.
        b: usize,
        /// The axis joined along.
        axis: usize,
    },
    /// Sum, mean or maximum along one axis, kept with length 1.
    Reduce {
        /// Input value.
        input: usize,
        /// The axis reduced.
        axis: usize,
        /// Which reduction.
        kind: Reduction,
    },
    /// `labels[x]` for an ArgMax output `x`.
    LabelLookup {
        /// Input value (an ArgMax).
        input: usize,
        /// One label per class.
        labels: Vec<i32>,
    },
}

/// What a [`FloatOp::Reduce`] computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduction {
    /// The sum.
    Sum,
    /// The mean.
    Mean,
    /// The maximum.
    Max,
}

impl FloatOp {
    /// The values the op reads.
    pub fn inputs(&self) -> Vec<usize> {
        match self {
            FloatOp::Add { a, b }
            | FloatOp::Mul { a, b }
            | FloatOp::Sub { a, b }
            | FloatOp::Concat { a, b, .. } => vec![*a, *b],
            FloatOp::Dense { input, .. }
            | FloatOp::Conv { input, .. }
            | FloatOp::Relu { input }
            | FloatOp::MaxPool { input, .. }
            | FloatOp::AvgPool { input, .. }
            | FloatOp::GlobalAvgPool { input }
            | FloatOp::Reshape { input }
            | FloatOp::ArgMax { input }
            | FloatOp::LabelLookup { input, .. }
            | FloatOp::Table { input, .. }
            | FloatOp::TreeEnsemble { input, .. }
            | FloatOp::Softmax { input }
            | FloatOp::Scale { input, .. }
            | FloatOp::Transpose { input, .. }
            | FloatOp::Slice { input, .. }
            | FloatOp::Reduce { input, .. } => vec![*input],
        }
    }

    /// Whether the op yields integers (class indices or labels) rather than activations.
    pub fn is_integer(&self) -> bool {
        matches!(self, FloatOp::ArgMax { .. } | FloatOp::LabelLookup { .. })
    }
}

impl FloatGraph {
    /// Number of values: the input and one per node.
    pub fn value_count(&self) -> usize {
        self.nodes.len() + 1
    }

    /// Per-example shape of value `id`.
    pub fn shape(&self, id: usize) -> &[usize] {
        if id == 0 {
            &self.input_shape
        } else {
            &self.nodes[id - 1].shape
        }
    }

    /// Number of features one example has.
    pub fn input_len(&self) -> usize {
        self.input_shape.iter().product()
    }

    /// How many nodes read each value (the output counts one more, for the caller).
    pub fn readers(&self) -> Vec<usize> {
        let mut readers = vec![0; self.value_count()];
        for node in &self.nodes {
            for input in node.op.inputs() {
                readers[input] += 1;
            }
        }
        readers[self.value_count() - 1] += 1;
        readers
    }

    /// Whether the model's output is a class (an ArgMax or label) rather than scores.
    pub fn outputs_class(&self) -> bool {
        self.nodes.last().is_some_and(|n| n.op.is_integer())
    }

    /// The real-valued output of one example (a regressor's prediction).
    pub fn predict_values(&self, features: &[f64]) -> Vec<f64> {
        self.eval(features).pop().unwrap_or_default()
    }

    /// Every value for one example, input first. `features` must have
    /// [`FloatGraph::input_len`] elements (the caller checks).
    pub fn eval(&self, features: &[f64]) -> Vec<Vec<f64>> {
        let mut values: Vec<Vec<f64>> = Vec::with_capacity(self.value_count());
        values.push(match &self.input_affine {
            Some(affine) => affine.apply(features),
            None => features.to_vec(),
        });
        for node in &self.nodes {
            let out = eval_node(&node.op, &values, |id| self.shape(id));
            values.push(out);
        }
        values
    }

    /// The class the float model predicts for one example: the label for class-producing
    /// models, else the index of the largest output (lowest on ties).
    pub fn predict(&self, features: &[f64]) -> i64 {
        let values = self.eval(features);
        let output = values.last().map(Vec::as_slice).unwrap_or_default();
        if self.outputs_class() {
            output.first().map_or(-1, |&v| v as i64)
        } else {
            argmax(output).map_or(-1, |i| i as i64)
        }
    }
}

fn eval_node<'s>(
    op: &FloatOp,
    values: &[Vec<f64>],
    shape: impl Fn(usize) -> &'s [usize],
) -> Vec<f64> {
    // The value this node computes: the next one.
    let id = values.len();
    match op {
        FloatOp::Dense {
            input,
            weight,
            outputs,
            inner,
            bias,
        } => {
            let x = &values[*input];
            let mut out = Vec::with_capacity(x.len() / inner * outputs);
            for row in x.chunks(*inner) {
                for n in 0..*outputs {
                    let w = &weight[n * inner..(n + 1) * inner];
                    let dot: f64 = row.iter().zip(w).map(|(a, b)| a * b).sum();
                    out.push(dot + bias.as_ref().map_or(0.0, |b| b[n]));
                }
            }
            out
        }
        FloatOp::Conv {
            input,
            weight,
            dims,
            bias,
            window,
        } => conv(
            &values[*input],
            &as_chw(shape(*input)),
            weight,
            *dims,
            bias.as_deref(),
            window,
        ),
        FloatOp::Relu { input } => values[*input].iter().map(|&v| v.max(0.0)).collect(),
        FloatOp::Add { a, b } => values[*a]
            .iter()
            .zip(&values[*b])
            .map(|(x, y)| x + y)
            .collect(),
        FloatOp::MaxPool { input, window } => {
            pool(&values[*input], shape(*input), window, |taps, _| {
                taps.iter().copied().fold(f64::NEG_INFINITY, f64::max)
            })
        }
        FloatOp::AvgPool {
            input,
            window,
            count_include_pad,
        } => {
            let full = f64::from(window.kernel[0] * window.kernel[1]);
            pool(&values[*input], shape(*input), window, |taps, _| {
                let divisor = if *count_include_pad {
                    full
                } else {
                    taps.len() as f64
                };
                taps.iter().sum::<f64>() / divisor
            })
        }
        FloatOp::GlobalAvgPool { input } => {
            let s = shape(*input);
            let plane = s[1] * s[2];
            values[*input]
                .chunks(plane)
                .map(|p| p.iter().sum::<f64>() / plane as f64)
                .collect()
        }
        FloatOp::Reshape { input } => values[*input].clone(),
        FloatOp::ArgMax { input } => {
            let s = shape(*input);
            let last = s.last().copied().unwrap_or(1).max(1);
            values[*input]
                .chunks(last)
                .map(|row| argmax(row).map_or(0.0, |i| i as f64))
                .collect()
        }
        FloatOp::Table { input, f } => values[*input].iter().map(|&x| f.apply(x)).collect(),
        FloatOp::Softmax { input } => {
            let last = shape(*input).last().copied().unwrap_or(1).max(1);
            values[*input].chunks(last).flat_map(softmax).collect()
        }
        FloatOp::Mul { a, b } => {
            let (sa, sb) = (to_u32(shape(*a)), to_u32(shape(*b)));
            values[*a]
                .iter()
                .enumerate()
                .map(|(j, x)| x * values[*b][ops::broadcast_source(j, &sa, &sb)])
                .collect()
        }
        FloatOp::Transpose { input, perm } => {
            let s = to_u32(shape(*input));
            let count = values[*input].len();
            (0..count)
                .map(|j| values[*input][ops::transpose_source(j, &s, perm)])
                .collect()
        }
        FloatOp::Slice { input, start } => {
            let s = to_u32(shape(*input));
            let out = to_u32(shape(id));
            let start: Vec<u32> = start.iter().map(|&v| v as u32).collect();
            (0..out.iter().map(|&d| d as usize).product())
                .map(|j| values[*input][ops::slice_source(j, &s, &start, &out)])
                .collect()
        }
        FloatOp::Concat { a, b, axis } => {
            let (sa, sb) = (to_u32(shape(*a)), to_u32(shape(*b)));
            let count = values[*a].len() + values[*b].len();
            (0..count)
                .map(|j| match ops::concat_source(j, &sa, &sb, *axis) {
                    (0, i) => values[*a][i],
                    (_, i) => values[*b][i],
                })
                .collect()
        }
        FloatOp::Reduce { input, axis, kind } => {
            let s = to_u32(shape(*input));
            let out = to_u32(shape(id));
            let n = s[*axis] as f64;
            (0..out.iter().map(|&d| d as usize).product())
                .map(|j| {
                    let taps = ops::reduce_positions(&s, *axis, j).map(|i| values[*input][i]);
                    match kind {
                        Reduction::Sum => taps.sum(),
                        Reduction::Mean => taps.sum::<f64>() / n,
                        Reduction::Max => taps.fold(f64::NEG_INFINITY, f64::max),
                    }
                })
                .collect()
        }
        FloatOp::Sub { a, b } => values[*a]
            .iter()
            .zip(&values[*b])
            .map(|(x, y)| x - y)
            .collect(),
        FloatOp::Scale { input, factor } => values[*input].iter().map(|x| x * factor).collect(),
        FloatOp::TreeEnsemble { input, ensemble } => ensemble.eval(&values[*input]),
        FloatOp::LabelLookup { input, labels } => values[*input]
            .iter()
            .map(|&i| labels.get(i as usize).map_or(0.0, |&l| f64::from(l)))
            .collect(),
    }
}

/// A per-example shape as the spec's `u32` dimensions.
fn to_u32(shape: &[usize]) -> Vec<u32> {
    shape.iter().map(|&d| d as u32).collect()
}

/// A convolution's input as `[C, H, W]`: a 1-D `[C, T]` input is `[C, 1, T]`.
pub(crate) fn as_chw(shape: &[usize]) -> Vec<usize> {
    match *shape {
        [c, t] => vec![c, 1, t],
        _ => shape.to_vec(),
    }
}

/// The float softmax of one row, from its maximum (as onnxruntime computes it).
fn softmax(row: &[f64]) -> Vec<f64> {
    let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = row.iter().map(|&v| (v - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

/// Index of the largest element, lowest on ties; `None` when empty.
fn argmax(values: &[f64]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, &v) in values.iter().enumerate() {
        if best.is_none_or(|b| v > values[b]) {
            best = Some(i);
        }
    }
    best
}

fn conv(
    x: &[f64],
    in_shape: &[usize],
    weight: &[f64],
    [o_len, c_len, kh, kw]: [usize; 4],
    bias: Option<&[f64]>,
    window: &Window,
) -> Vec<f64> {
    let (h, w) = (in_shape[1], in_shape[2]);
    let [oh, ow] = out_size(window, h, w);
    let [sh, sw] = window.stride.map(|s| s as usize);
    let [pt, pl, _, _] = window.padding.map(|p| p as isize);
    let mut out = vec![0.0; o_len * oh * ow];
    for o in 0..o_len {
        for y in 0..oh {
            for xo in 0..ow {
                let mut sum = bias.map_or(0.0, |b| b[o]);
                for c in 0..c_len {
                    for i in 0..kh {
                        let iy = (y * sh + i) as isize - pt;
                        if iy < 0 || iy >= h as isize {
                            continue;
                        }
                        for j in 0..kw {
                            let ix = (xo * sw + j) as isize - pl;
                            if ix < 0 || ix >= w as isize {
                                continue;
                            }
                            let xv = x[(c * h + iy as usize) * w + ix as usize];
                            sum += xv * weight[((o * c_len + c) * kh + i) * kw + j];
                        }
                    }
                }
                out[(o * oh + y) * ow + xo] = sum;
            }
        }
    }
    out
}

/// Applies `reduce` to the in-bounds taps of every window of every channel.
fn pool(
    x: &[f64],
    in_shape: &[usize],
    window: &Window,
    reduce: impl Fn(&[f64], usize) -> f64,
) -> Vec<f64> {
    let (c_len, h, w) = (in_shape[0], in_shape[1], in_shape[2]);
    let [oh, ow] = out_size(window, h, w);
    let [kh, kw] = window.kernel.map(|k| k as usize);
    let [sh, sw] = window.stride.map(|s| s as usize);
    let [pt, pl, _, _] = window.padding.map(|p| p as isize);
    let mut out = Vec::with_capacity(c_len * oh * ow);
    let mut taps = Vec::with_capacity(kh * kw);
    for c in 0..c_len {
        for y in 0..oh {
            for xo in 0..ow {
                taps.clear();
                for i in 0..kh {
                    let iy = (y * sh + i) as isize - pt;
                    for j in 0..kw {
                        let ix = (xo * sw + j) as isize - pl;
                        if iy >= 0 && iy < h as isize && ix >= 0 && ix < w as isize {
                            taps.push(x[(c * h + iy as usize) * w + ix as usize]);
                        }
                    }
                }
                out.push(reduce(&taps, c));
            }
        }
    }
    out
}

/// Output height and width of a window over `h x w` (the importer checked it fits).
pub(crate) fn out_size(window: &Window, h: usize, w: usize) -> [usize; 2] {
    window
        .output_size(h as u32, w as u32)
        .map_or([0, 0], |s| s.map(|v| v as usize))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(input_shape: Vec<usize>, nodes: Vec<(FloatOp, Vec<usize>)>) -> FloatGraph {
        FloatGraph {
            input_shape,
            nodes: nodes
                .into_iter()
                .enumerate()
                .map(|(i, (op, shape))| FloatNode {
                    name: format!("n{i}"),
                    op,
                    shape,
                })
                .collect(),
            notes: Vec::new(),
            producer: String::new(),
            input_affine: None,
            task: Task::Classification,
            output_softmax: None,
        }
    }

    #[test]
    fn dense_relu_argmax() {
        let g = graph(
            vec![2],
            vec![
                (
                    FloatOp::Dense {
                        input: 0,
                        weight: vec![1.0, 0.0, 0.0, 1.0, -1.0, -1.0],
                        outputs: 3,
                        inner: 2,
                        bias: Some(vec![0.0, 0.5, 0.0]),
                    },
                    vec![3],
                ),
                (FloatOp::Relu { input: 1 }, vec![3]),
                (FloatOp::ArgMax { input: 2 }, vec![1]),
            ],
        );
        let values = g.eval(&[1.0, 2.0]);
        assert_eq!(values[1], vec![1.0, 2.5, -3.0]);
        assert_eq!(values[2], vec![1.0, 2.5, 0.0]);
        assert_eq!(g.predict(&[1.0, 2.0]), 1);
        assert!(g.outputs_class());
    }

    #[test]
    fn conv_with_padding_and_pools() {
        let window = Window {
            kernel: [3, 3],
            stride: [1, 1],
            padding: [1, 1, 1, 1],
        };
        // An all-ones 3x3 kernel sums each 3x3 neighbourhood.
        let g = graph(
            vec![1, 2, 2],
            vec![
                (
                    FloatOp::Conv {
                        input: 0,
                        weight: vec![1.0; 9],
                        dims: [1, 1, 3, 3],
                        bias: None,
                        window,
                    },
                    vec![1, 2, 2],
                ),
                (
                    FloatOp::AvgPool {
                        input: 0,
                        window,
                        count_include_pad: false,
                    },
                    vec![1, 2, 2],
                ),
                (FloatOp::GlobalAvgPool { input: 0 }, vec![1, 1, 1]),
            ],
        );
        let values = g.eval(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(values[1], vec![10.0; 4]);
        assert_eq!(values[2], vec![2.5; 4]);
        assert_eq!(values[3], vec![2.5]);
    }

    #[test]
    fn argmax_ties_take_the_lowest_index() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0]), Some(1));
        assert_eq!(argmax(&[]), None);
    }
}
