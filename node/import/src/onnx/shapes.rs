//! ONNX nodes that only move shapes around, or scale a linear op's output.
//!
//! PyTorch exports `x.view(x.size(0), -1)` as `Shape → Gather → Unsqueeze → Concat →
//! Reshape`: shape arithmetic on a tensor whose only unknown is the batch size. These
//! nodes are evaluated at import on constants that mark where the batch size sits
//! (`Const::batch_at`), so the Reshape sees a constant target. `Squeeze`/`Unsqueeze`
//! of activations, `ReduceMean` over the spatial axes (global average pooling), and a
//! constant `Mul`/`Div`/`Sub` after a MatMul, Gemm or Conv (folded into its weights and
//! bias) are also read here.

use super::{ChannelAffine, Const, NodeCtx, Parser, Val, broadcast_channel};
use crate::error::ImportResult;
use crate::float::FloatOp;
use std::rc::Rc;
use verdict_specs::ops;

/// Placeholder stored for the batch size in a shape constant (see `Const::batch_at`).
const BATCH_PLACEHOLDER: f64 = 0.0;

impl Parser {
    /// `Shape`: the input's full shape `[batch, ...]`, optionally sliced by `start`/`end`.
    pub(super) fn shape_of(&mut self, ctx: &NodeCtx<'_>) -> ImportResult<()> {
        let (dims, batch_at): (Vec<f64>, Vec<usize>) = match self.input(ctx, 0)? {
            Val::Value(id) => (
                std::iter::once(BATCH_PLACEHOLDER)
                    .chain(self.graph.shape(id).iter().map(|&d| d as f64))
                    .collect(),
                vec![0],
            ),
            Val::Const(c) => (c.dims.iter().map(|&d| d as f64).collect(), Vec::new()),
        };
        let rank = dims.len() as i64;
        let clamp = |v: i64| (if v < 0 { v + rank } else { v }).clamp(0, rank) as usize;
        let start = clamp(ctx.attrs.int("start", 0)?);
        let end = clamp(ctx.attrs.int("end", rank)?).max(start);
        let data = dims[start..end].to_vec();
        let batch_at = batch_at
            .into_iter()
            .filter(|&b| (start..end).contains(&b))
            .map(|b| b - start)
            .collect();
        self.alias(ctx, Val::Const(Rc::new(Const::shape(data, batch_at))));
        Ok(())
    }

    /// `Gather` of a shape constant by constant indices (axis 0).
    pub(super) fn gather(&mut self, ctx: &NodeCtx<'_>) -> ImportResult<()> {
        let a = &ctx.attrs;
        let Val::Const(data) = self.input(ctx, 0)? else {
            return Err(a.fail("gathering from activations is not supported (only from shapes)"));
        };
        if a.int("axis", 0)? != 0 || data.dims.len() > 1 {
            return Err(a.fail("only a Gather along axis 0 of a 1-D constant is supported"));
        }
        let indices = self.const_input(ctx, 1)?;
        let len = data.data.len() as i64;
        let mut out = Vec::with_capacity(indices.data.len());
        let mut batch_at = Vec::new();
        for (k, &i) in indices.data.iter().enumerate() {
            let i = i as i64;
            let i = if i < 0 { i + len } else { i };
            if !(0..len).contains(&i) {
                return Err(a.fail(format!("index {i} is out of range for {len} values")));
            }
            if data.batch_at.contains(&(i as usize)) {
                batch_at.push(k);
            }
            out.push(data.data[i as usize]);
        }
        self.alias(
            ctx,
            Val::Const(Rc::new(Const {
                dims: indices.dims.clone(),
                data: out,
                batch_at,
            })),
        );
        Ok(())
    }

    /// `Concat` of constants (shapes), along their only axis.
    pub(super) fn concat(&mut self, ctx: &NodeCtx<'_>) -> ImportResult<()> {
        let a = &ctx.attrs;
        let mut data = Vec::new();
        let mut batch_at = Vec::new();
        for i in 0..a.node.input.len() {
            let Val::Const(c) = self.input(ctx, i)? else {
                return Err(a.fail("concatenating activations is not supported (only shapes)"));
            };
            if c.dims.len() > 1 {
                return Err(a.fail("only 1-D constants (shapes) can be concatenated"));
            }
            batch_at.extend(c.batch_at.iter().map(|b| b + data.len()));
            data.extend_from_slice(&c.data);
        }
        self.alias(ctx, Val::Const(Rc::new(Const::shape(data, batch_at))));
        Ok(())
    }

    /// `Squeeze`/`Unsqueeze`: a reshape of activations (never of the batch axis); on a
    /// constant, only its rank changes, which shape arithmetic does not track.
    pub(super) fn squeeze(&mut self, op: &str, ctx: &NodeCtx<'_>) -> ImportResult<()> {
        let a = &ctx.attrs;
        let input = match self.input(ctx, 0)? {
            Val::Const(c) => {
                self.alias(ctx, Val::Const(c));
                return Ok(());
            }
            Val::Value(_) => self.value_input(ctx, 0)?,
        };
        let axes = self.axes(ctx)?;
        let shape = self.graph.shape(input).to_vec();
        let out_rank = if op == "Unsqueeze" {
            shape.len() + axes.as_ref().map_or(0, Vec::len) + 1
        } else {
            shape.len() + 1
        };
        let normalize = |axis: i64, rank: usize| if axis < 0 { axis + rank as i64 } else { axis };
        let new_shape: Vec<usize> = if op == "Unsqueeze" {
            let Some(axes) = axes else {
                return Err(a.fail("Unsqueeze needs axes"));
            };
            let axes: Vec<i64> = axes.iter().map(|&x| normalize(x, out_rank)).collect();
            if axes.iter().any(|&x| x < 1 || x >= out_rank as i64) {
                return Err(a.fail(format!("axes {axes:?} would move the batch axis")));
            }
            let mut full: Vec<usize> = Vec::with_capacity(out_rank - 1);
            let mut rest = shape.iter();
            for axis in 1..out_rank as i64 {
                if axes.contains(&axis) {
                    full.push(1);
                } else if let Some(&d) = rest.next() {
                    full.push(d);
                }
            }
            full
        } else {
            let rank = shape.len() + 1;
            let axes: Vec<i64> = match axes {
                Some(axes) => axes.iter().map(|&x| normalize(x, rank)).collect(),
                None => (1..rank as i64)
                    .filter(|&x| shape[x as usize - 1] == 1)
                    .collect(),
            };
            if axes
                .iter()
                .any(|&x| x < 1 || x >= rank as i64 || shape[x as usize - 1] != 1)
            {
                return Err(a.fail(format!(
                    "axes {axes:?}: only per-example axes of size 1 can be squeezed"
                )));
            }
            shape
                .iter()
                .enumerate()
                .filter(|(i, _)| !axes.contains(&(*i as i64 + 1)))
                .map(|(_, &d)| d)
                .collect()
        };
        self.reshape_to(ctx, input, new_shape);
        Ok(())
    }

    /// The `axes` of a Squeeze, Unsqueeze or reduction: an attribute in older opsets, a
    /// constant input 1 in newer ones; `None` when absent.
    pub(super) fn axes(&self, ctx: &NodeCtx<'_>) -> ImportResult<Option<Vec<i64>>> {
        if let Some(axes) = ctx.attrs.ints("axes")? {
            return Ok(Some(axes));
        }
        match self.optional_input(ctx, 1)? {
            Some(Val::Const(c)) if c.batch_at.is_empty() => {
                Ok(Some(c.data.iter().map(|&v| v as i64).collect()))
            }
            Some(_) => Err(ctx.attrs.fail("the axes must be a constant")),
            None => Ok(None),
        }
    }

    /// `ReduceMean` over the two spatial axes of `[C, H, W]`: global average pooling.
    pub(super) fn reduce_mean(&mut self, ctx: &NodeCtx<'_>) -> ImportResult<()> {
        let a = &ctx.attrs;
        let input = self.value_input(ctx, 0)?;
        let [c, _, _] = self.chw(ctx, input)?;
        let Some(axes) = self.axes(ctx)? else {
            return Err(a.fail(
                "without axes the mean covers the batch axis too; only axes (2, 3) are supported",
            ));
        };
        let mut axes: Vec<i64> = axes
            .iter()
            .map(|&x| if x < 0 { x + 4 } else { x })
            .collect();
        axes.sort_unstable();
        if axes != [2, 3] {
            return Err(a.fail(format!(
                "axes {axes:?}: only a mean over both spatial axes (2, 3) is supported"
            )));
        }
        if a.int("keepdims", 1)? != 0 {
            self.push(ctx, FloatOp::GlobalAvgPool { input }, vec![c, 1, 1]);
        } else {
            // Two float nodes: the pooled value keeps an internal name.
            self.graph.nodes.push(crate::float::FloatNode {
                name: a.label.to_string(),
                op: FloatOp::GlobalAvgPool { input },
                shape: vec![c, 1, 1],
            });
            let pooled = self.graph.nodes.len();
            self.value_names.push(format!("{}#pooled", ctx.out));
            self.push(ctx, FloatOp::Reshape { input: pooled }, vec![c]);
        }
        Ok(())
    }

    /// `Mul`, `Div` or `Sub` of a MatMul/Gemm/Conv output (read by nothing else) and a
    /// per-channel constant, folded into the op's weights and bias.
    ///
    /// Otherwise: `Mul`/`Sub` of two activations of one shape become the integer Mul and
    /// Add (a negative multiplier); `Mul` or `Div` by a scalar constant rescales.
    pub(super) fn affine(&mut self, op: &str, ctx: &NodeCtx<'_>) -> ImportResult<()> {
        let a = &ctx.attrs;
        if let (Val::Value(_), Val::Value(_)) = (self.input(ctx, 0)?, self.input(ctx, 1)?) {
            return self.elementwise_pair(op, ctx);
        }
        if let Some(done) = self.scalar_scale(op, ctx)? {
            return Ok(done);
        }
        let operands = match (self.input(ctx, 0)?, self.input(ctx, 1)?) {
            (Val::Value(id), Val::Const(c)) if c.batch_at.is_empty() => Some((id, c, 0)),
            (Val::Const(c), Val::Value(id)) if op == "Mul" && c.batch_at.is_empty() => {
                Some((id, c, 1))
            }
            _ => None,
        };
        let target =
            operands.and_then(|(id, c, slot)| Some((id, c, self.fold_target(ctx, id, slot)?)));
        let Some((id, constant, (channels, is_conv))) = target else {
            return Err(a.fail(format!(
                "only `x {} constant` right after a MatMul, Gemm or Conv whose output it \
                 alone reads (folded into that op), a scalar factor, or an op of two activations \
                 is supported",
                match op {
                    "Mul" => "*",
                    "Div" => "/",
                    _ => "-",
                }
            )));
        };
        let values = broadcast_channel(&constant, channels, is_conv).ok_or_else(|| {
            a.fail(format!(
                "constant of shape {:?} is not per channel for {channels} channels",
                constant.dims
            ))
        })?;
        let fold = match op {
            "Sub" => ChannelAffine {
                before: Some(values.iter().map(|v| -v).collect()),
                ..ChannelAffine::default()
            },
            "Div" => ChannelAffine {
                scale: Some(values.iter().map(|v| 1.0 / v).collect()),
                ..ChannelAffine::default()
            },
            _ => ChannelAffine {
                scale: Some(values),
                ..ChannelAffine::default()
            },
        };
        self.fold_affine(ctx, id, fold)?;
        self.graph
            .notes
            .push(format!("{op} '{}' folded into the op before it", a.label));
        Ok(())
    }

    /// `Mul` or `Sub` of two activations of the same shape.
    fn elementwise_pair(&mut self, op: &str, ctx: &NodeCtx<'_>) -> ImportResult<()> {
        let (mut x, mut y) = (self.value_input(ctx, 0)?, self.value_input(ctx, 1)?);
        let (mut sx, mut sy) = (self.graph.shape(x).to_vec(), self.graph.shape(y).to_vec());
        let u32s = |s: &[usize]| s.iter().map(|&d| d as u32).collect::<Vec<u32>>();
        let broadcasts = |b: &[usize], a: &[usize]| ops::broadcasts_to(&u32s(b), &u32s(a));
        // A product is symmetric: the operand that broadcasts goes second.
        if op == "Mul" && sx != sy && broadcasts(&sx, &sy) {
            (x, y, sx, sy) = (y, x, sy, sx);
        }
        let fits = sx == sy || (op == "Mul" && broadcasts(&sy, &sx));
        if !fits {
            return Err(ctx.attrs.fail(format!(
                "operands of shapes {sx:?} and {sy:?}; {} between activations is not supported",
                if op == "Mul" {
                    "broadcasting other than of length-1 axes of the same rank"
                } else {
                    "broadcasting"
                }
            )));
        }
        let float_op = match op {
            "Mul" => FloatOp::Mul { a: x, b: y },
            "Sub" => FloatOp::Sub { a: x, b: y },
            _ => {
                return Err(ctx.attrs.fail(
                    "divides one activation by another; only division by a constant is supported",
                ));
            }
        };
        self.push(ctx, float_op, sx);
        Ok(())
    }

    /// `x * c`, `c * x` or `x / c` for a scalar constant `c` that no MatMul, Gemm or Conv
    /// before it absorbs: a [`FloatOp::Scale`]. `None` when the node is not that.
    fn scalar_scale(&mut self, op: &str, ctx: &NodeCtx<'_>) -> ImportResult<Option<()>> {
        let (id, c, slot) = match (op, self.input(ctx, 0)?, self.input(ctx, 1)?) {
            ("Mul" | "Div", Val::Value(id), Val::Const(c)) => (id, c, 0),
            ("Mul", Val::Const(c), Val::Value(id)) => (id, c, 1),
            _ => return Ok(None),
        };
        if c.data.len() != 1 || self.fold_target(ctx, id, slot).is_some() || self.is_integer(id) {
            return Ok(None);
        }
        let factor = if op == "Div" {
            1.0 / c.data[0]
        } else {
            c.data[0]
        };
        if !factor.is_finite() || factor == 0.0 {
            return Err(ctx.attrs.fail(format!(
                "{op} by the constant {}: the factor must be finite and non-zero",
                c.data[0]
            )));
        }
        let shape = self.graph.shape(id).to_vec();
        self.push(ctx, FloatOp::Scale { input: id, factor }, shape);
        Ok(Some(()))
    }
}
