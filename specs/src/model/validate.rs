//! Type and shape inference: every rule a graph must satisfy before it may run.
//!
//! A graph that passes can be executed without any run-time failure other than a bad
//! input tensor: shapes agree, weights have the declared types, accumulators cannot
//! overflow i32, every pooling window has an in-bounds element, and a LabelLookup
//! index is always in range.

use super::graph::{Graph, Op, ValueId, ValueType, WeightId, Window};
use crate::ops;
use crate::ops::{
    MAX_ACCUMULATOR, MAX_PRODUCT, MAX_TREE_DEPTH, SOFTMAX_EXP_MAX, SOFTMAX_TABLE_LEN, TABLE_LEN,
    TREE_NODE_WIDTH, TreeChild, walk_depths,
};
use crate::tensor::{DType, Shape, Tensor, element_count};
use thiserror::Error;

/// Why a graph is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GraphError {
    /// The graph has no nodes.
    #[error("the graph has no nodes")]
    Empty,
    /// The input spec is unusable.
    #[error("input: {0}")]
    Input(String),
    /// A node breaks a rule.
    #[error("node {node} ({op}): {reason}")]
    Node {
        /// Node index.
        node: usize,
        /// Op name.
        op: &'static str,
        /// The rule broken.
        reason: String,
    },
}

/// Infers the type of every value (index = [`ValueId`]) or names the first rule broken.
pub fn infer_types(graph: &Graph, weights: &[Tensor]) -> Result<Vec<ValueType>, GraphError> {
    if element_count(&graph.input.shape).is_none() {
        return Err(GraphError::Input(format!(
            "shape {:?} is not allowed",
            graph.input.shape
        )));
    }
    if !(graph.input.scale.is_finite() && graph.input.scale > 0.0) {
        return Err(GraphError::Input(format!(
            "scale {} must be positive",
            graph.input.scale
        )));
    }
    let features = &graph.input.features;
    if !features.is_empty() {
        let count = element_count(&graph.input.shape).unwrap_or(0);
        if features.len() != count {
            return Err(GraphError::Input(format!(
                "{} per-feature quantizations for {count} input elements",
                features.len()
            )));
        }
        if let Some((i, f)) = features
            .iter()
            .enumerate()
            .find(|(_, f)| !(f.scale.is_finite() && f.scale > 0.0 && f.offset.is_finite()))
        {
            return Err(GraphError::Input(format!(
                "feature {i}: scale {} must be positive and offset {} finite",
                f.scale, f.offset
            )));
        }
    }
    if !(graph.output_scale.is_finite() && graph.output_scale >= 0.0) {
        return Err(GraphError::Input(format!(
            "output scale {} must be >= 0",
            graph.output_scale
        )));
    }
    if graph.nodes.is_empty() {
        return Err(GraphError::Empty);
    }
    let mut types = vec![ValueType {
        dtype: graph.input.dtype,
        shape: graph.input.shape.clone(),
    }];
    for (index, op) in graph.nodes.iter().enumerate() {
        let check = NodeCheck {
            index,
            op,
            types: &types,
            weights,
            graph,
        };
        let ty = check.infer()?;
        if element_count(&ty.shape).is_none() {
            return Err(check.fail(format!("output shape {:?} is not allowed", ty.shape)));
        }
        types.push(ty);
    }
    Ok(types)
}

struct NodeCheck<'a> {
    index: usize,
    op: &'a Op,
    types: &'a [ValueType],
    weights: &'a [Tensor],
    graph: &'a Graph,
}

impl NodeCheck<'_> {
    fn fail(&self, reason: impl Into<String>) -> GraphError {
        GraphError::Node {
            node: self.index,
            op: self.op.name(),
            reason: reason.into(),
        }
    }

    fn value(&self, id: ValueId, want: Option<DType>) -> Result<&ValueType, GraphError> {
        let ty = self
            .types
            .get(id as usize)
            .ok_or_else(|| self.fail(format!("reads value {id}, which is not computed yet")))?;
        match want {
            Some(dtype) if ty.dtype != dtype => Err(self.fail(format!(
                "value {id} is {} but {dtype} is required",
                ty.dtype
            ))),
            _ => Ok(ty),
        }
    }

    fn weight(&self, id: WeightId, dtype: DType) -> Result<&Tensor, GraphError> {
        let w = self
            .weights
            .get(id as usize)
            .ok_or_else(|| self.fail(format!("weight {id} does not exist")))?;
        if w.dtype() != dtype {
            return Err(self.fail(format!(
                "weight {id} is {} but {dtype} is required",
                w.dtype()
            )));
        }
        Ok(w)
    }

    /// The bias must be `i32 [n]`, and `k * 127^2 + max|bias|` must fit in i32.
    fn accumulator_fits(&self, k: u64, n: u32, bias: Option<WeightId>) -> Result<(), GraphError> {
        let max_bias = match bias {
            Some(id) => {
                let b = self.weight(id, DType::I32)?;
                if b.shape() != [n] {
                    return Err(self.fail(format!("bias shape {:?} must be [{n}]", b.shape())));
                }
                b.as_i32()
                    .map(|v| v.iter().map(|x| i64::from(*x).abs()).max().unwrap_or(0))
                    .unwrap_or(0)
            }
            None => 0,
        };
        let worst = (k as i64)
            .saturating_mul(MAX_PRODUCT)
            .saturating_add(max_bias);
        if worst > MAX_ACCUMULATOR {
            return Err(self.fail(format!(
                "accumulator could reach {worst} (inner size {k}, bias up to {max_bias}), beyond i32"
            )));
        }
        Ok(())
    }

    fn window_fits(&self, window: &Window, h: u32, w: u32) -> Result<[u32; 2], GraphError> {
        let [kh, kw] = window.kernel;
        let [pt, pl, pb, pr] = window.padding;
        if pt >= kh || pb >= kh || pl >= kw || pr >= kw {
            return Err(self.fail(format!(
                "padding {:?} must be smaller than the kernel {:?}",
                window.padding, window.kernel
            )));
        }
        window
            .output_size(h, w)
            .ok_or_else(|| self.fail(format!("window {window:?} does not fit a {h}x{w} input")))
    }

    fn chw(&self, id: ValueId) -> Result<[u32; 3], GraphError> {
        let ty = self.value(id, Some(DType::I8))?;
        match ty.shape[..] {
            [c, h, w] => Ok([c, h, w]),
            _ => Err(self.fail(format!("input shape {:?} must be [C, H, W]", ty.shape))),
        }
    }

    fn infer(&self) -> Result<ValueType, GraphError> {
        match self.op {
            Op::MatMul {
                input,
                weight,
                bias,
            } => {
                let x = self.value(*input, Some(DType::I8))?;
                let w = self.weight(*weight, DType::I8)?;
                let k = *x.shape.last().unwrap_or(&0);
                let [n, wk] = w.shape()[..] else {
                    return Err(self.fail(format!("weight shape {:?} must be [N, K]", w.shape())));
                };
                if wk != k {
                    return Err(self.fail(format!(
                        "weight is [{n}, {wk}] but the input's last dimension is {k}"
                    )));
                }
                self.accumulator_fits(u64::from(k), n, *bias)?;
                let mut shape = x.shape.clone();
                *shape.last_mut().unwrap_or(&mut 0) = n;
                Ok(ValueType {
                    dtype: DType::I32,
                    shape,
                })
            }
            Op::Conv2d {
                input,
                weight,
                bias,
                stride,
                padding,
            } => {
                let [c, h, w] = self.chw(*input)?;
                let wt = self.weight(*weight, DType::I8)?;
                let [o, wc, kh, kw] = wt.shape()[..] else {
                    return Err(self.fail(format!(
                        "weight shape {:?} must be [O, C, kh, kw]",
                        wt.shape()
                    )));
                };
                if wc != c {
                    return Err(
                        self.fail(format!("weight has {wc} input channels, the input has {c}"))
                    );
                }
                let window = Window {
                    kernel: [kh, kw],
                    stride: *stride,
                    padding: *padding,
                };
                let [oh, ow] = self.window_fits(&window, h, w)?;
                self.accumulator_fits(u64::from(c) * u64::from(kh) * u64::from(kw), o, *bias)?;
                Ok(ValueType {
                    dtype: DType::I32,
                    shape: vec![o, oh, ow],
                })
            }
            Op::Requantize {
                input,
                axis,
                params,
            } => {
                let x = self.value(*input, Some(DType::I32))?;
                let channels = *x.shape.get(*axis as usize).ok_or_else(|| {
                    self.fail(format!(
                        "axis {axis} is out of range for shape {:?}",
                        x.shape
                    ))
                })?;
                if params.len() != 1 && params.len() != channels as usize {
                    return Err(self.fail(format!(
                        "{} parameter sets for {channels} channels (need 1 or {channels})",
                        params.len()
                    )));
                }
                if let Some(bad) = params
                    .iter()
                    .find(|p| p.multiplier < 0 || !(1..=62).contains(&p.shift))
                {
                    return Err(self.fail(format!(
                        "multiplier {} / shift {} out of range (multiplier >= 0, shift 1..=62)",
                        bad.multiplier, bad.shift
                    )));
                }
                Ok(ValueType {
                    dtype: DType::I8,
                    shape: x.shape.clone(),
                })
            }
            Op::Relu { input } => Ok(self.value(*input, None)?.clone()),
            Op::Add {
                a,
                b,
                a_multiplier,
                b_multiplier,
                shift,
            } => {
                let ta = self.value(*a, Some(DType::I8))?;
                let tb = self.value(*b, Some(DType::I8))?;
                if ta.shape != tb.shape {
                    return Err(self.fail(format!(
                        "operand shapes differ: {:?} and {:?}",
                        ta.shape, tb.shape
                    )));
                }
                if [a_multiplier, b_multiplier].contains(&&i32::MIN) || !(1..=62).contains(shift) {
                    return Err(self.fail(
                        "multipliers must be in [-(2^31 - 1), 2^31 - 1] and the shift in 1..=62",
                    ));
                }
                Ok(ta.clone())
            }
            Op::Mul {
                a,
                b,
                multiplier,
                shift,
            } => {
                let ta = self.value(*a, Some(DType::I8))?;
                let tb = self.value(*b, Some(DType::I8))?;
                if !ops::broadcasts_to(&tb.shape, &ta.shape) {
                    return Err(self.fail(format!(
                        "operand shape {:?} does not broadcast to {:?} (same rank, each dimension equal or 1)",
                        tb.shape, ta.shape
                    )));
                }
                if *multiplier == i32::MIN || !(1..=62).contains(shift) {
                    return Err(self.fail(
                        "the multiplier must be in [-(2^31 - 1), 2^31 - 1] and the shift in 1..=62",
                    ));
                }
                Ok(ta.clone())
            }
            Op::Transpose { input, perm } => {
                let x = self.value(*input, None)?;
                if !ops::is_permutation(perm, x.shape.len()) {
                    return Err(self.fail(format!(
                        "perm {perm:?} is not a permutation of the {} axes",
                        x.shape.len()
                    )));
                }
                Ok(ValueType {
                    dtype: x.dtype,
                    shape: ops::transposed_shape(&x.shape, perm),
                })
            }
            Op::Concat { a, b, axis } => {
                let ta = self.value(*a, None)?.clone();
                let tb = self.value(*b, Some(ta.dtype))?;
                let Some(shape) = ops::concat_shape(&ta.shape, &tb.shape, *axis as usize) else {
                    return Err(self.fail(format!(
                        "shapes {:?} and {:?} do not join along axis {axis}",
                        ta.shape, tb.shape
                    )));
                };
                if element_count(&shape).is_none() {
                    return Err(self.fail(format!("the joined shape {shape:?} is too large")));
                }
                Ok(ValueType {
                    dtype: ta.dtype,
                    shape,
                })
            }
            Op::Slice {
                input,
                start,
                shape,
            } => {
                let x = self.value(*input, None)?;
                if !ops::slice_fits(&x.shape, start, shape) {
                    return Err(self.fail(format!(
                        "the window at {start:?} of shape {shape:?} is not inside {:?}",
                        x.shape
                    )));
                }
                Ok(ValueType {
                    dtype: x.dtype,
                    shape: shape.clone(),
                })
            }
            Op::Softmax { input, table } => {
                let x = self.value(*input, Some(DType::I8))?.clone();
                let t = self.weight(*table, DType::I32)?;
                if t.shape() != [SOFTMAX_TABLE_LEN] {
                    return Err(self.fail(format!(
                        "exp table shape {:?} must be [{SOFTMAX_TABLE_LEN}], one entry per distance from the row's maximum",
                        t.shape()
                    )));
                }
                let entries = t.as_i32().unwrap_or_default();
                if let Some(i) = entries
                    .iter()
                    .position(|&v| !(0..=SOFTMAX_EXP_MAX).contains(&i64::from(v)))
                {
                    return Err(self.fail(format!(
                        "exp table entry {i} is {}; entries must be in [0, 2^24]",
                        entries[i]
                    )));
                }
                if entries.first().is_some_and(|&e| e < 1) {
                    return Err(self.fail(
                        "exp table entry 0 (the row maximum's) must be at least 1, so no row sums to 0",
                    ));
                }
                Ok(x)
            }
            Op::MaxPool2d { input, window } | Op::AvgPool2d { input, window, .. } => {
                let [c, h, w] = self.chw(*input)?;
                let [oh, ow] = self.window_fits(window, h, w)?;
                Ok(ValueType {
                    dtype: DType::I8,
                    shape: vec![c, oh, ow],
                })
            }
            Op::GlobalAvgPool { input } => {
                let [c, _, _] = self.chw(*input)?;
                Ok(ValueType {
                    dtype: DType::I8,
                    shape: vec![c, 1, 1],
                })
            }
            Op::Reshape { input, shape } => {
                let x = self.value(*input, None)?;
                if element_count(shape) != element_count(&x.shape) {
                    return Err(self.fail(format!("cannot reshape {:?} to {shape:?}", x.shape)));
                }
                Ok(ValueType {
                    dtype: x.dtype,
                    shape: shape.clone(),
                })
            }
            Op::ArgMax { input } => {
                let x = self.value(*input, None)?;
                let mut shape: Shape = x.shape.clone();
                *shape.last_mut().unwrap_or(&mut 0) = 1;
                Ok(ValueType {
                    dtype: DType::I32,
                    shape,
                })
            }
            Op::LabelLookup { input, labels } => {
                let x = self.value(*input, Some(DType::I32))?;
                let table = self.weight(*labels, DType::I32)?;
                let Some(Op::ArgMax { input: source }) = input
                    .checked_sub(1)
                    .and_then(|n| self.graph.nodes.get(n as usize))
                else {
                    return Err(self.fail("input must be an ArgMax output"));
                };
                let classes = *self.types[*source as usize].shape.last().unwrap_or(&0);
                if table.shape() != [classes] {
                    return Err(self.fail(format!(
                        "labels shape {:?} must be [{classes}], one label per class",
                        table.shape()
                    )));
                }
                Ok(x.clone())
            }
            Op::Table { input, table } => {
                let x = self.value(*input, Some(DType::I8))?.clone();
                let t = self.weight(*table, DType::I8)?;
                if t.shape() != [TABLE_LEN] {
                    return Err(self.fail(format!(
                        "table shape {:?} must be [{TABLE_LEN}], one entry per int8 value",
                        t.shape()
                    )));
                }
                let entries = t.as_i8().unwrap_or_default();
                if let Some(i) = entries.iter().position(|&v| v == i8::MIN) {
                    return Err(self.fail(format!(
                        "table entry {i} is -128; outputs stay in [-127, 127]"
                    )));
                }
                Ok(x)
            }
            Op::TreeEnsemble {
                input,
                nodes,
                leaves,
                roots,
            } => self.tree_ensemble(*input, *nodes, *leaves, *roots),
            Op::ReduceSum { input, axis } => {
                let x = self.value(*input, None)?;
                let mut shape = x.shape.clone();
                let Some(len) = shape.get_mut(*axis as usize) else {
                    return Err(self.fail(format!(
                        "axis {axis} is out of range for shape {:?}",
                        x.shape
                    )));
                };
                *len = 1;
                Ok(ValueType {
                    dtype: DType::I32,
                    shape,
                })
            }
        }
    }

    /// Every walk of every tree ends at a leaf within [`MAX_TREE_DEPTH`] comparisons of
    /// features that exist: children point forward, indices are in range.
    fn tree_ensemble(
        &self,
        input: ValueId,
        nodes: WeightId,
        leaves: WeightId,
        roots: WeightId,
    ) -> Result<ValueType, GraphError> {
        let x = self.value(input, None)?;
        let features = element_count(&x.shape).unwrap_or(0);
        let node_rows = self.weight(nodes, DType::I32)?;
        let [m, width] = node_rows.shape()[..] else {
            return Err(self.fail(format!(
                "nodes shape {:?} must be [M, {TREE_NODE_WIDTH}]",
                node_rows.shape()
            )));
        };
        if width as usize != TREE_NODE_WIDTH {
            return Err(self.fail(format!(
                "nodes shape {:?} must be [M, {TREE_NODE_WIDTH}]",
                node_rows.shape()
            )));
        }
        let leaf_rows = self.weight(leaves, DType::I32)?;
        let [leaf_count, targets] = leaf_rows.shape()[..] else {
            return Err(self.fail(format!(
                "leaves shape {:?} must be [L, targets]",
                leaf_rows.shape()
            )));
        };
        let root_list = self.weight(roots, DType::I32)?;
        let [trees] = root_list.shape()[..] else {
            return Err(self.fail(format!("roots shape {:?} must be [T]", root_list.shape())));
        };
        let rows = node_rows.as_i32().unwrap_or_default();
        let child_ok = |c: i32, from: Option<usize>| match TreeChild::decode(i64::from(c)) {
            TreeChild::Leaf(l) => l < leaf_count as usize,
            TreeChild::Node(n) => n < m as usize && from.is_none_or(|f| n > f),
        };
        for i in (0..m as usize).rev() {
            let row = &rows[i * TREE_NODE_WIDTH..(i + 1) * TREE_NODE_WIDTH];
            let [feature, _, if_true, if_false] = [row[0], row[1], row[2], row[3]];
            if !(0..features as i64).contains(&i64::from(feature)) {
                return Err(self.fail(format!(
                    "node {i} compares feature {feature}; the input has {features}"
                )));
            }
            for child in [if_true, if_false] {
                if !child_ok(child, Some(i)) {
                    return Err(self.fail(format!(
                        "node {i} has child {child}: a child is a later node (< {m}) or a leaf -1 - l (l < {leaf_count})"
                    )));
                }
            }
        }
        // Children are later rows now, so the depths come from one backward pass.
        let depth = walk_depths(rows);
        if let Some((i, d)) = depth
            .iter()
            .enumerate()
            .rev()
            .find(|(_, d)| **d > MAX_TREE_DEPTH)
        {
            return Err(self.fail(format!(
                "node {i} starts a walk of {d} comparisons, more than {MAX_TREE_DEPTH}"
            )));
        }
        if let Some((t, root)) = root_list
            .as_i32()
            .unwrap_or_default()
            .iter()
            .enumerate()
            .find(|(_, r)| !child_ok(**r, None))
        {
            return Err(self.fail(format!("tree {t} has root {root}, which is out of range")));
        }
        Ok(ValueType {
            dtype: DType::I32,
            shape: vec![targets, trees],
        })
    }
}
