//! Transpose, Slice and Concat: each output element is one input element, so each is one
//! `select` along the flat example axis with indices computed once from the shapes
//! (`verdict_specs::ops` says which element; the indices are those functions' values).

use super::contract::int_tensor;
use super::values::{Form, Values};
use burn::tensor::{Device, Int, Tensor};
use verdict_specs::model::ValueId;

/// `[numel_out]` indices into a flat example (of both parts joined, for Concat).
fn index_tensor(count: usize, source: impl Fn(usize) -> usize, device: &Device) -> Tensor<1, Int> {
    int_tensor(
        (0..count).map(|j| source(j) as i64).collect(),
        [count],
        device,
    )
}

/// A Transpose or Slice: output element `j` is input element `index[j]`.
#[derive(Clone, Debug)]
pub(super) struct Rearrange {
    input: ValueId,
    index: Tensor<1, Int>,
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
        match values.any(self.input) {
            Form::Float(x) => Form::Float(x.select(1, self.index.clone())),
            Form::Int(x) => Form::Int(x.select(1, self.index.clone())),
        }
    }
}

/// `a` then `b` along an axis: both flat examples side by side, then one `select`.
#[derive(Clone, Debug)]
pub(super) struct Concat {
    a: ValueId,
    b: ValueId,
    index: Tensor<1, Int>,
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
        match (a, b) {
            (Form::Float(a), Form::Float(b)) => {
                Form::Float(Tensor::cat(vec![a, b], 1).select(1, self.index.clone()))
            }
            (a, b) => {
                let int = |f: Form| match f {
                    Form::Float(x) => x.int(),
                    Form::Int(x) => x,
                };
                Form::Int(Tensor::cat(vec![int(a), int(b)], 1).select(1, self.index.clone()))
            }
        }
    }
}
