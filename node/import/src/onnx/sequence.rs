//! The ops of sequence and time-series models on activations: `Transpose`, `Slice`,
//! `Gather` of one step, `Concat`, and `ReduceSum`/`ReduceMean`/`ReduceMax` over any
//! per-example axis. ONNX axes count the batch axis (0), which never moves, is never
//! sliced and never reduced; per-example axes are one less.

use super::{NodeCtx, Parser, Val};
use crate::error::ImportResult;
use crate::float::{FloatOp, Reduction};

impl Parser {
    /// A per-example axis from an ONNX axis of a rank-`rank` per-example value (negative
    /// counts from the end); the batch axis is refused.
    fn example_axis(&self, ctx: &NodeCtx<'_>, axis: i64, rank: usize) -> ImportResult<usize> {
        let full = rank as i64 + 1;
        let axis = if axis < 0 { axis + full } else { axis };
        if axis < 1 || axis >= full {
            return Err(ctx.attrs.fail(format!(
                "axis {axis} is the batch axis or out of range for rank {full}"
            )));
        }
        Ok(axis as usize - 1)
    }

    /// `Transpose` of activations; the batch axis must stay first.
    pub(super) fn transpose(&mut self, ctx: &NodeCtx<'_>) -> ImportResult<()> {
        let input = self.value_input(ctx, 0)?;
        let shape = self.graph.shape(input).to_vec();
        let rank = shape.len();
        let perm = match ctx.attrs.ints("perm")? {
            Some(p) => p,
            None => (0..=rank as i64).rev().collect(),
        };
        if perm.len() != rank + 1 || perm[0] != 0 {
            return Err(ctx.attrs.fail(format!(
                "perm {perm:?}: the batch axis must stay first, and every axis appear once"
            )));
        }
        let mut example: Vec<u8> = Vec::with_capacity(rank);
        for &p in &perm[1..] {
            if p < 1 || p > rank as i64 || example.contains(&((p - 1) as u8)) {
                return Err(ctx
                    .attrs
                    .fail(format!("perm {perm:?} is not a permutation")));
            }
            example.push((p - 1) as u8);
        }
        if example.iter().enumerate().all(|(i, &p)| p as usize == i) {
            self.alias(ctx, Val::Value(input));
            return Ok(());
        }
        let out: Vec<usize> = example.iter().map(|&p| shape[p as usize]).collect();
        self.push(
            ctx,
            FloatOp::Transpose {
                input,
                perm: example,
            },
            out,
        );
        Ok(())
    }

    /// `Slice` with constant starts, ends, axes and unit steps (inputs since opset 10,
    /// attributes before). A slice along the last axis of a 1-D convolution's output that
    /// only it reads shortens the convolution's padding instead (a causal TCN's "chomp").
    pub(super) fn slice(&mut self, ctx: &NodeCtx<'_>) -> ImportResult<()> {
        let a = &ctx.attrs;
        let input = self.value_input(ctx, 0)?;
        let shape = self.graph.shape(input).to_vec();
        let ints = |v: Option<Val>, what: &str| -> ImportResult<Option<Vec<i64>>> {
            match v {
                None => Ok(None),
                Some(Val::Const(c)) if c.batch_at.is_empty() => {
                    Ok(Some(c.data.iter().map(|&x| x as i64).collect()))
                }
                Some(_) => Err(a.fail(format!("the {what} must be constants"))),
            }
        };
        let (starts, ends, axes, steps) = if a.node.input.len() > 1 {
            (
                ints(self.optional_input(ctx, 1)?, "starts")?,
                ints(self.optional_input(ctx, 2)?, "ends")?,
                ints(self.optional_input(ctx, 3)?, "axes")?,
                ints(self.optional_input(ctx, 4)?, "steps")?,
            )
        } else {
            (a.ints("starts")?, a.ints("ends")?, a.ints("axes")?, None)
        };
        let (Some(starts), Some(ends)) = (starts, ends) else {
            return Err(a.fail("starts and ends are required"));
        };
        let axes = axes.unwrap_or_else(|| (0..starts.len() as i64).collect());
        if axes.len() != starts.len() || ends.len() != starts.len() {
            return Err(a.fail("starts, ends and axes must have one entry per sliced axis"));
        }
        if let Some(steps) = &steps
            && steps.iter().any(|&s| s != 1)
        {
            return Err(a.fail(format!("steps {steps:?}; only step 1 is supported")));
        }
        let mut start = vec![0usize; shape.len()];
        let mut out = shape.clone();
        for ((&axis, &s), &e) in axes.iter().zip(&starts).zip(&ends) {
            let axis = self.example_axis(ctx, axis, shape.len())?;
            let dim = shape[axis] as i64;
            let clamp = |v: i64| (if v < 0 { v + dim } else { v }).clamp(0, dim);
            let (s, e) = (clamp(s), clamp(e));
            if e <= s {
                return Err(a.fail(format!("the slice of axis {} is empty", axis + 1)));
            }
            start[axis] = s as usize;
            out[axis] = (e - s) as usize;
        }
        if out == shape {
            self.alias(ctx, Val::Value(input));
            return Ok(());
        }
        if self.shorten_conv(ctx, input, &start, &out) {
            return Ok(());
        }
        self.push(ctx, FloatOp::Slice { input, start }, out);
        Ok(())
    }

    /// A Slice of the last axis of a 1-D or 2-D convolution's output that nothing else
    /// reads, with stride 1 along it, is the same convolution with less padding; rewrites
    /// it so when the padding stays non-negative (BatchNorm after it still folds).
    fn shorten_conv(
        &mut self,
        ctx: &NodeCtx<'_>,
        id: usize,
        start: &[usize],
        out: &[usize],
    ) -> bool {
        let Some((_, true)) = self.fold_target(ctx, id, 0) else {
            return false;
        };
        let shape = self.graph.shape(id).to_vec();
        let last = shape.len() - 1;
        let only_last = (0..last).all(|i| start[i] == 0 && out[i] == shape[i]);
        let node = &mut self.graph.nodes[id - 1];
        let FloatOp::Conv { window, .. } = &mut node.op else {
            return false;
        };
        if !only_last || window.stride[1] != 1 {
            return false;
        }
        let dropped_end = shape[last] - start[last] - out[last];
        let (left, right) = (window.padding[1] as usize, window.padding[3] as usize);
        if start[last] > left || dropped_end > right {
            return false;
        }
        window.padding[1] = (left - start[last]) as u32;
        window.padding[3] = (right - dropped_end) as u32;
        node.shape = out.to_vec();
        self.graph.notes.push(format!(
            "Slice '{}' folded into the convolution's padding (now {:?})",
            ctx.attrs.label, window.padding
        ));
        self.fold_into(ctx, id);
        true
    }

    /// `Gather` of one constant index along a per-example axis of activations: a Slice of
    /// length 1, then a Reshape without that axis for a scalar index.
    pub(super) fn gather_step(&mut self, ctx: &NodeCtx<'_>) -> ImportResult<()> {
        let a = &ctx.attrs;
        let input = self.value_input(ctx, 0)?;
        let shape = self.graph.shape(input).to_vec();
        let axis = self.example_axis(ctx, a.int("axis", 0)?, shape.len())?;
        let index = self.const_input(ctx, 1)?;
        let [i] = index.data[..] else {
            return Err(a.fail(format!(
                "{} indices; gathering from activations takes one index",
                index.data.len()
            )));
        };
        let dim = shape[axis] as i64;
        let i = if i < 0.0 { i as i64 + dim } else { i as i64 };
        if !(0..dim).contains(&i) {
            return Err(a.fail(format!("index {i} is out of range for {dim} steps")));
        }
        let mut start = vec![0; shape.len()];
        start[axis] = i as usize;
        let mut window = shape.clone();
        window[axis] = 1;
        let scalar = index.dims.is_empty();
        if !scalar {
            self.push(ctx, FloatOp::Slice { input, start }, window);
            return Ok(());
        }
        let sliced = self.push_internal(ctx, "step", FloatOp::Slice { input, start }, window);
        let mut squeezed = shape;
        squeezed.remove(axis);
        if squeezed.is_empty() {
            squeezed.push(1);
        }
        self.push(ctx, FloatOp::Reshape { input: sliced }, squeezed);
        Ok(())
    }

    /// `Concat` of activations along a per-example axis, two parts at a time.
    pub(super) fn concat_values(&mut self, ctx: &NodeCtx<'_>) -> ImportResult<()> {
        let a = &ctx.attrs;
        let count = a.node.input.len();
        let parts: Vec<usize> = (0..count)
            .map(|i| self.value_input(ctx, i))
            .collect::<ImportResult<_>>()?;
        let first = self.graph.shape(parts[0]).to_vec();
        let axis = self.example_axis(ctx, a.int("axis", 0)?, first.len())?;
        let mut joined = parts[0];
        for (k, &part) in parts.iter().enumerate().skip(1) {
            let (sa, sb) = (
                self.graph.shape(joined).to_vec(),
                self.graph.shape(part).to_vec(),
            );
            let fits = sa.len() == sb.len()
                && sa
                    .iter()
                    .zip(&sb)
                    .enumerate()
                    .all(|(i, (x, y))| i == axis || x == y);
            if !fits {
                return Err(a.fail(format!(
                    "parts of shapes {sa:?} and {sb:?} do not join along axis {}",
                    axis + 1
                )));
            }
            let mut out = sa.clone();
            out[axis] += sb[axis];
            let op = FloatOp::Concat {
                a: joined,
                b: part,
                axis,
            };
            if k + 1 == count {
                self.push(ctx, op, out);
                return Ok(());
            }
            joined = self.push_internal(ctx, &format!("part{k}"), op, out);
        }
        self.alias(ctx, Val::Value(joined));
        Ok(())
    }

    /// `ReduceSum`, `ReduceMean` or `ReduceMax` over constant per-example axes (all of
    /// them when none are given, `noop_with_empty_axes` aside), one axis at a time.
    pub(super) fn reduce(&mut self, op: &str, ctx: &NodeCtx<'_>) -> ImportResult<()> {
        let a = &ctx.attrs;
        let input = self.value_input(ctx, 0)?;
        let shape = self.graph.shape(input).to_vec();
        let kind = match op {
            "ReduceSum" => Reduction::Sum,
            "ReduceMean" => Reduction::Mean,
            _ => Reduction::Max,
        };
        let mut axes: Vec<usize> = match self.axes(ctx)? {
            Some(axes) if !axes.is_empty() => axes
                .iter()
                .map(|&x| self.example_axis(ctx, x, shape.len()))
                .collect::<ImportResult<_>>()?,
            _ if a.int("noop_with_empty_axes", 0)? != 0 => {
                self.alias(ctx, Val::Value(input));
                return Ok(());
            }
            _ => {
                return Err(
                    a.fail("without axes the reduction covers the batch axis too; name the axes")
                );
            }
        };
        axes.sort_unstable();
        axes.dedup();
        let mut value = input;
        let mut kept = shape.clone();
        for &axis in &axes {
            kept[axis] = 1;
            value = self.push_internal(
                ctx,
                &format!("axis{}", axis + 1),
                FloatOp::Reduce {
                    input: value,
                    axis,
                    kind,
                },
                kept.clone(),
            );
        }
        let out = if a.int("keepdims", 1)? != 0 {
            kept
        } else {
            let rest: Vec<usize> = shape
                .iter()
                .enumerate()
                .filter(|(i, _)| !axes.contains(i))
                .map(|(_, &d)| d)
                .collect();
            if rest.is_empty() { vec![1] } else { rest }
        };
        self.push(ctx, FloatOp::Reshape { input: value }, out);
        Ok(())
    }
}
