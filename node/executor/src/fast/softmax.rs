//! Softmax over the last axis: the row maximum, one gather from the exp table at
//! `max - x`, an exact `i64` row sum and one integer division per element.
//!
//! `x` is int8 (exact in `f32`), so `max - x` is an exact index in `0..=254`. Entries are
//! at most 2^24 and rows shorter than 2^32, so `254 * e + S < 2^63`; both operands of the
//! division are non-negative, where burn's truncating integer division is the floor the
//! spec names.

use super::contract::int_tensor;
use super::values::{Form, Values};
use burn::tensor::{Device, Int, Tensor};
use verdict_specs::Tensor as SpecTensor;
use verdict_specs::model::ValueId;
use verdict_specs::ops::SOFTMAX_ONE;

/// `y_i = floor((254 * e_i + S) / (2 * S))` along each row of an `i8` value.
#[derive(Clone, Debug)]
pub(super) struct Softmax {
    input: ValueId,
    /// Row length.
    n: usize,
    /// `i64 [256]`: the exp table.
    table: Tensor<1, Int>,
}

impl Softmax {
    pub(super) fn new(input: ValueId, shape: &[u32], table: &SpecTensor, device: &Device) -> Self {
        let entries = table
            .as_i32()
            .expect("validation fixed the exp table type as i32");
        Self {
            input,
            n: *shape.last().expect("validation: rank >= 1") as usize,
            table: int_tensor(
                entries.iter().map(|&v| i64::from(v)).collect(),
                [entries.len()],
                device,
            ),
        }
    }

    pub(super) fn run(&self, values: &mut Values<'_>, batch: usize) -> Form {
        let x = values.float(self.input);
        let numel = x.dims()[1];
        let rows = batch * numel / self.n;
        let x = x.reshape([rows, self.n]);
        let distance = x.clone().max_dim(1).sub(x).int().reshape([rows * self.n]);
        let exp = self
            .table
            .clone()
            .select(0, distance)
            .reshape([rows, self.n]);
        let sum = exp.clone().sum_dim(1);
        let y = exp
            .mul_scalar(2 * SOFTMAX_ONE)
            .add(sum.clone())
            .div(sum.mul_scalar(2));
        Form::Int(y.reshape([batch, numel]))
    }
}
