//! The integer graph: one input, a list of nodes in execution order, one output.
//!
//! Values are numbered: value 0 is the model input, value `i + 1` is the output of
//! node `i`. A node may read any earlier value, so the node list is a topological
//! order by construction; the model output is the last node's value. Shapes never
//! include a batch dimension: a batch is many independent runs of the same graph.

use crate::tensor::{DType, Shape};
use serde::{Deserialize, Serialize};

/// Index of a value: 0 is the input, `i + 1` the output of node `i`.
pub type ValueId = u32;
/// Index into the model's weight tensors.
pub type WeightId = u32;

/// The requantization parameters of one channel: `y = clamp((x * multiplier + 2^(shift-1)) >> shift, -127, 127)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requant {
    /// Fixed-point multiplier, `0..=i32::MAX`.
    pub multiplier: i32,
    /// Right shift, `1..=62`.
    pub shift: u8,
}

/// Window geometry of a 2-D convolution or pooling over `[C, H, W]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Kernel height and width.
    pub kernel: [u32; 2],
    /// Vertical and horizontal stride, each at least 1.
    pub stride: [u32; 2],
    /// Padding: top, left, bottom, right.
    pub padding: [u32; 4],
}

impl Window {
    /// Output height and width for an input of `h` x `w`, if at least one window fits.
    pub fn output_size(&self, h: u32, w: u32) -> Option<[u32; 2]> {
        let [kh, kw] = self.kernel;
        let [sh, sw] = self.stride;
        let [pt, pl, pb, pr] = self.padding;
        if kh == 0 || kw == 0 || sh == 0 || sw == 0 {
            return None;
        }
        let padded_h = u64::from(h) + u64::from(pt) + u64::from(pb);
        let padded_w = u64::from(w) + u64::from(pl) + u64::from(pr);
        if padded_h < u64::from(kh) || padded_w < u64::from(kw) {
            return None;
        }
        let oh = (padded_h - u64::from(kh)) / u64::from(sh) + 1;
        let ow = (padded_w - u64::from(kw)) / u64::from(sw) + 1;
        Some([u32::try_from(oh).ok()?, u32::try_from(ow).ok()?])
    }
}

/// One operation. Every op reads int8 or int32 values and writes one value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// `i8 [.., K]` times `weight i8 [N, K]` (transposed), plus `bias i32 [N]`, into `i32 [.., N]`.
    MatMul {
        /// The activations.
        input: ValueId,
        /// `i8 [N, K]`, one row per output.
        weight: WeightId,
        /// `i32 [N]`, optional.
        bias: Option<WeightId>,
    },
    /// `i8 [C, H, W]` with `weight i8 [O, C, kh, kw]` and `bias i32 [O]` into `i32 [O, OH, OW]`; zero padding.
    Conv2d {
        /// The activations.
        input: ValueId,
        /// `i8 [O, C, kh, kw]`.
        weight: WeightId,
        /// `i32 [O]`, optional.
        bias: Option<WeightId>,
        /// Stride and padding (the kernel comes from the weight's shape).
        stride: [u32; 2],
        /// Top, left, bottom, right.
        padding: [u32; 4],
    },
    /// `i32` to `i8` by per-channel fixed-point scaling along `axis` (one entry, or one per channel).
    Requantize {
        /// The accumulators.
        input: ValueId,
        /// Axis of the channels.
        axis: u8,
        /// One entry for all channels, or one per channel.
        params: Vec<Requant>,
    },
    /// `max(x, 0)`, for `i8` or `i32`.
    Relu {
        /// The input.
        input: ValueId,
    },
    /// Two `i8` tensors of one shape, each with its own scale, into `i8`:
    /// `clamp((a * a_multiplier + b * b_multiplier + 2^(shift-1)) >> shift, -127, 127)`.
    /// A negative multiplier subtracts (`Sub` of two activations).
    Add {
        /// First operand.
        a: ValueId,
        /// Second operand.
        b: ValueId,
        /// Multiplier of `a`, `-(2^31 - 1)..=2^31 - 1`.
        a_multiplier: i32,
        /// Multiplier of `b`, `-(2^31 - 1)..=2^31 - 1`.
        b_multiplier: i32,
        /// Right shift, `1..=62`.
        shift: u8,
    },
    /// Maximum over each window of `i8 [C, H, W]`; padded positions are ignored.
    MaxPool2d {
        /// The input.
        input: ValueId,
        /// Geometry; every padding must be smaller than the kernel.
        window: Window,
    },
    /// Rounded mean over each window of `i8 [C, H, W]`.
    AvgPool2d {
        /// The input.
        input: ValueId,
        /// Geometry; every padding must be smaller than the kernel.
        window: Window,
        /// Divide by the full window size (true) or by the in-bounds count (false).
        count_include_pad: bool,
    },
    /// Rounded mean over `H x W` of `i8 [C, H, W]` into `i8 [C, 1, 1]`.
    GlobalAvgPool {
        /// The input.
        input: ValueId,
    },
    /// Same elements, row-major, under a new shape.
    Reshape {
        /// The input.
        input: ValueId,
        /// The new shape, same element count.
        shape: Shape,
    },
    /// Index of the maximum along the last axis (lowest index on ties) into `i32 [.., 1]`.
    ArgMax {
        /// The input.
        input: ValueId,
    },
    /// An element-wise function of `i8` by lookup: `y = table[x + 128]`, `i8 -> i8`, any
    /// shape. The importer computes the 256 entries from a float function (Sigmoid, Tanh,
    /// GELU, ...) at the calibrated scales; the model commits to them as a weight.
    Table {
        /// The input.
        input: ValueId,
        /// `i8 [256]`, every entry in `[-127, 127]`; entry 0 (for -128) is never read.
        table: WeightId,
    },
    /// Evaluates `T` decision trees on the features of `input` (`i8` or `i32`, any shape,
    /// read flat) into `i32 [targets, T]`: element `(j, t)` is target `j` of the leaf tree
    /// `t` reaches. A tree walks from `roots[t]`; at node `i` (row `[feature, threshold,
    /// if_true, if_false]` of `nodes`) it goes to `if_true` when `x[feature] <= threshold`
    /// and to `if_false` otherwise. A child `c >= 0` is node `c` (always a later row), `c < 0`
    /// is leaf `-1 - c` (a row of `leaves`). A [`Op::ReduceSum`] over the last axis adds
    /// the trees up, so a dispute checks one tree or one sum per step.
    TreeEnsemble {
        /// The features.
        input: ValueId,
        /// `i32 [M, 4]`: feature, threshold, if_true, if_false.
        nodes: WeightId,
        /// `i32 [L, targets]`: the leaf values, fixed point at the output scale.
        leaves: WeightId,
        /// `i32 [T]`: each tree's first node (or leaf, for a constant tree).
        roots: WeightId,
    },
    /// Sum along `axis` of `i8` or `i32` into `i32`, the axis kept with length 1:
    /// the exact sum, saturated to `[-(2^31 - 1), 2^31 - 1]`.
    ReduceSum {
        /// The input.
        input: ValueId,
        /// The axis summed over.
        axis: u8,
    },
    /// Softmax over the last axis of `i8 [.., n]` into `i8 [.., n]` (probabilities at
    /// scale 1/127): with `m` the row's maximum, `e_k = table[m - x_k]` and `S = sum_k e_k`,
    /// `y_i = floor((254 * e_i + S) / (2 * S))`, i.e. `127 * e_i / S` rounded half up.
    /// The importer computes the exp table from the input scale; the model commits to it.
    Softmax {
        /// The scores.
        input: ValueId,
        /// `i32 [256]`: `table[d]` stands for `exp(-d * s_x)`, entries in `[0, 2^24]`,
        /// `table[0] >= 1`; entry 255 is never read.
        table: WeightId,
    },
    /// Element-wise product of two `i8` tensors, each with its own scale, into `i8`:
    /// `clamp((a * b * multiplier + 2^(shift-1)) >> shift, -127, 127)`. `b` has `a`'s
    /// shape or broadcasts to it (the same rank, each dimension equal or 1).
    Mul {
        /// First operand.
        a: ValueId,
        /// Second operand.
        b: ValueId,
        /// `s_a * s_b / s_y * 2^shift`, in `[-(2^31 - 1), 2^31 - 1]`.
        multiplier: i32,
        /// Right shift, `1..=62`.
        shift: u8,
    },
    /// Permutes the axes: output dimension `i` is input dimension `perm[i]`; any type.
    Transpose {
        /// The input.
        input: ValueId,
        /// A permutation of `0..rank`.
        perm: Vec<u8>,
    },
    /// `a` then `b` along `axis`; one type, shapes equal but along `axis`.
    Concat {
        /// First part.
        a: ValueId,
        /// Second part.
        b: ValueId,
        /// The axis joined along.
        axis: u8,
    },
    /// The window `start .. start + shape` of the input (step 1); any type.
    Slice {
        /// The input.
        input: ValueId,
        /// First coordinate along each axis.
        start: Vec<u32>,
        /// Length along each axis, each at least 1.
        shape: Shape,
    },
    /// Maps class indices (an ArgMax output) to labels: `labels[x]`.
    LabelLookup {
        /// An ArgMax output.
        input: ValueId,
        /// `i32 [n]` where `n` is the ArgMax's axis length.
        labels: WeightId,
    },
}

impl Op {
    /// The op's name as written in specs and errors.
    pub fn name(&self) -> &'static str {
        match self {
            Op::MatMul { .. } => "MatMul",
            Op::Conv2d { .. } => "Conv2d",
            Op::Requantize { .. } => "Requantize",
            Op::Relu { .. } => "Relu",
            Op::Add { .. } => "Add",
            Op::MaxPool2d { .. } => "MaxPool2d",
            Op::AvgPool2d { .. } => "AvgPool2d",
            Op::GlobalAvgPool { .. } => "GlobalAvgPool",
            Op::Reshape { .. } => "Reshape",
            Op::ArgMax { .. } => "ArgMax",
            Op::LabelLookup { .. } => "LabelLookup",
            Op::Table { .. } => "Table",
            Op::TreeEnsemble { .. } => "TreeEnsemble",
            Op::ReduceSum { .. } => "ReduceSum",
            Op::Softmax { .. } => "Softmax",
            Op::Mul { .. } => "Mul",
            Op::Transpose { .. } => "Transpose",
            Op::Concat { .. } => "Concat",
            Op::Slice { .. } => "Slice",
        }
    }

    /// The values this op reads.
    pub fn inputs(&self) -> Vec<ValueId> {
        match self {
            Op::Add { a, b, .. } | Op::Mul { a, b, .. } | Op::Concat { a, b, .. } => {
                vec![*a, *b]
            }
            Op::MatMul { input, .. }
            | Op::Conv2d { input, .. }
            | Op::Requantize { input, .. }
            | Op::Relu { input }
            | Op::MaxPool2d { input, .. }
            | Op::AvgPool2d { input, .. }
            | Op::GlobalAvgPool { input }
            | Op::Reshape { input, .. }
            | Op::ArgMax { input }
            | Op::LabelLookup { input, .. }
            | Op::Table { input, .. }
            | Op::TreeEnsemble { input, .. }
            | Op::ReduceSum { input, .. }
            | Op::Softmax { input, .. }
            | Op::Transpose { input, .. }
            | Op::Slice { input, .. } => vec![*input],
        }
    }

    /// The weights this op reads.
    pub fn weights(&self) -> Vec<WeightId> {
        match self {
            Op::MatMul { weight, bias, .. } | Op::Conv2d { weight, bias, .. } => {
                std::iter::once(*weight).chain(*bias).collect()
            }
            Op::LabelLookup { labels, .. } => vec![*labels],
            Op::Table { table, .. } | Op::Softmax { table, .. } => vec![*table],
            Op::TreeEnsemble {
                nodes,
                leaves,
                roots,
                ..
            } => vec![*nodes, *leaves, *roots],
            _ => Vec::new(),
        }
    }
}

/// The model input: an `i8` (or `i32`) tensor and how clients quantize float features into it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputSpec {
    /// Shape of one example (no batch dimension).
    pub shape: Shape,
    /// Element type: `i8` for networks; `i32` for models that compare raw features with
    /// thresholds (tree ensembles), where int8 steps would move decisions.
    #[serde(default = "default_input_dtype", skip_serializing_if = "is_i8")]
    pub dtype: DType,
    /// `q = clamp(floor(x / scale + 1/2), -m, m)` (`m` = 127 for i8, `2^31 - 1` for i32);
    /// positive and finite. With
    /// per-feature quantization this is the scale of the standardized input the first op
    /// reads, for display.
    pub scale: f32,
    /// Per-feature quantization, one entry per input element (row-major), or empty when
    /// every feature uses `scale`: `q = clamp(floor((x - offset) / scale + 1/2), -m, m)`.
    /// Models whose features live on very different ranges (a `StandardScaler` in front)
    /// keep each feature's resolution this way; the integer graph is unchanged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<FeatureQuant>,
}

fn default_input_dtype() -> DType {
    DType::I8
}

fn is_i8(dtype: &DType) -> bool {
    *dtype == DType::I8
}

impl InputSpec {
    /// An `i8` input with one scale for every feature.
    pub fn per_tensor(shape: Shape, scale: f32) -> Self {
        Self {
            shape,
            dtype: DType::I8,
            scale,
            features: Vec::new(),
        }
    }

    /// The scale and offset feature `index` is quantized with.
    pub fn feature(&self, index: usize) -> FeatureQuant {
        self.features.get(index).copied().unwrap_or(FeatureQuant {
            scale: self.scale,
            offset: 0.0,
        })
    }
}

/// How one input feature is quantized: `clamp(floor((x - offset) / scale + 1/2), -m, m)`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureQuant {
    /// Positive and finite.
    pub scale: f32,
    /// Finite.
    pub offset: f32,
}

/// The integer graph.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Graph {
    /// The one input.
    pub input: InputSpec,
    /// Nodes in execution order; the last one's value is the output.
    pub nodes: Vec<Op>,
    /// Float scale of the output (`x_float = x_int * scale`) for display, or 0 when the
    /// output is an index or label.
    pub output_scale: f32,
}

/// Type of a value, as inferred by validation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueType {
    /// Element type.
    pub dtype: DType,
    /// Shape, no batch dimension.
    pub shape: Shape,
}
