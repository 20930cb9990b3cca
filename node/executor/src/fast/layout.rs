//! Transpose, Slice and Concat: each output element is one input element, so each is one
//! `gather` along the flat example axis with indices computed once from the shapes
//! (`verdict_specs::ops` says which element; the indices are those functions' values).
//! `gather` with the index expanded over the batch, not `select`: burn-ndarray's
//! `select` copies one view per index and was many times slower.

use super::contract::int_tensor;
use super::values::{Form, Values};
use burn::tensor::{Device, Int, Tensor};
use verdict_specs::model::ValueId;

/// `[1, numel_out]` indices into a flat example (of both parts joined, for Concat).
pub(super) fn index_tensor(
    count: usize,
    source: impl Fn(usize) -> usize,
    device: &Device,
) -> Tensor<2, Int> {
    int_tensor(
        (0..count).map(|j| source(j) as i64).collect(),
        [1, count],
        device,
    )
}

/// Element `index[j]` of every example of `x` (`[B, n]`) at `j`: `[B, numel_out]`.
pub(super) fn gather_form(x: Form, index: &Tensor<2, Int>) -> Form {
    let expand = |batch: usize| index.clone().expand([batch, index.dims()[1]]);
    match x {
        Form::Float(x) => {
            let batch = x.dims()[0];
            Form::Float(x.gather(1, expand(batch)))
        }
        Form::Int(x) => {
            let batch = x.dims()[0];
            Form::Int(x.gather(1, expand(batch)))
        }
    }
}

/// A Transpose or Slice: output element `j` is input element `index[j]`.
#[derive(Clone, Debug)]
pub(super) struct Rearrange {
    input: ValueId,
    index: Tensor<2, Int>,
}

impl Rearrange {
    pub(super) fn new(
        input: ValueId,
        out_numel: usize,
        source: impl Fn(usize) -> usize,
        device: &Device,
    ) -> Self {
        Self {
            input,
            index: index_tensor(out_numel, source, device),
        }
    }

    pub(super) fn run(&self, values: &mut Values<'_>) -> Form {
        gather_form(values.any(self.input), &self.index)
    }
}

/// `a` then `b` along an axis: both flat examples side by side, then one `select`.
#[derive(Clone, Debug)]
pub(super) struct Concat {
    a: ValueId,
    b: ValueId,
    index: Tensor<2, Int>,
}

impl Concat {
    /// `source(j)` is `(part, i)`; part 1's elements follow part 0's `a_numel`.
    pub(super) fn new(
        a: ValueId,
        b: ValueId,
        a_numel: usize,
        out_numel: usize,
        source: impl Fn(usize) -> (usize, usize),
        device: &Device,
    ) -> Self {
        let flat = |j| match source(j) {
            (0, i) => i,
            (_, i) => a_numel + i,
        };
        Self {
            a,
            b,
            index: index_tensor(out_numel, flat, device),
        }
    }

    pub(super) fn run(&self, values: &mut Values<'_>) -> Form {
        // The same value may be both parts: read it twice before either read frees it.
        let (a, b) = (values.any(self.a), values.any(self.b));
        let joined = match (a, b) {
            (Form::Float(a), Form::Float(b)) => Form::Float(Tensor::cat(vec![a, b], 1)),
            (a, b) => {
                let int = |f: Form| match f {
                    Form::Float(x) => x.int(),
                    Form::Int(x) => x,
                };
                Form::Int(Tensor::cat(vec![int(a), int(b)], 1))
            }
        };
        gather_form(joined, &self.index)
    }
}

/// A Transpose that swaps two blocks of axes, `[P, Q] -> [Q, P]` with `P` the product of
/// the leading axes and `Q` of the trailing ones (every rank-2 transpose, and `[T, F] ->
/// [F, T]` of a time series): one `swap_dims` of the `[B, P, Q]` view, no index.
#[derive(Clone, Debug)]
pub(super) struct SwapBlocks {
    input: ValueId,
    p: usize,
    q: usize,
}

impl SwapBlocks {
    /// `Some` when `perm` is `[k, k+1, .., r-1, 0, 1, .., k-1]` for some `k`.
    pub(super) fn new(input: ValueId, shape: &[u32], perm: &[u8]) -> Option<Self> {
        let r = perm.len();
        let k = perm.first().copied()? as usize;
        let rotated = (0..r).all(|i| perm[i] as usize == (i + k) % r);
        if !rotated || k == 0 {
            return None;
        }
        let product = |dims: &[u32]| dims.iter().map(|&d| d as usize).product::<usize>();
        Some(Self {
            input,
            p: product(&shape[..k]),
            q: product(&shape[k..]),
        })
    }

    pub(super) fn run(&self, values: &mut Values<'_>) -> Form {
        let (p, q) = (self.p, self.q);
        match values.any(self.input) {
            Form::Float(x) => {
                let b = x.dims()[0];
                Form::Float(x.reshape([b, p, q]).swap_dims(1, 2).reshape([b, p * q]))
            }
            Form::Int(x) => {
                let b = x.dims()[0];
                Form::Int(x.reshape([b, p, q]).swap_dims(1, 2).reshape([b, p * q]))
            }
        }
    }
}
