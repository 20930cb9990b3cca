//! ArgMax, LabelLookup and Table: ops that pick by index.
//!
//! ArgMax must return the *lowest* index among equal maxima, whatever the backend's own
//! tie rule. So it is taken over distinct keys `v * K + (K - 1 - i)` (row length `K`, index
//! `i`): a larger value always has a larger key (`(v + 1) * K > v * K + K - 1`), and among
//! equal values the lowest index has the largest key. Every key is distinct, so any
//! argmax returns the one index the spec names. Keys are computed in `f32` for int8 values
//! while `|key| < 128 * K <= 2^24` (exact), else in `i64` (`|v| < 2^31`, `K < 2^26`).

use super::contract::{F32_EXACT, float_tensor, int_tensor};
use super::values::{Form, Values};
use burn::tensor::{Device, Int, IntDType, Tensor};
use verdict_specs::DType;
use verdict_specs::Tensor as SpecTensor;
use verdict_specs::model::ValueId;

/// Index of the maximum along the last axis, lowest index on ties.
#[derive(Clone, Debug)]
pub(super) struct ArgMax {
    input: ValueId,
    /// Row length.
    k: usize,
    /// `K - 1 - i` as `f32 [1, K]`, when the input is int8 and its keys are exact in `f32`.
    float_ranks: Option<Tensor<2>>,
    /// `K - 1 - i` as `i64 [1, K]`.
    int_ranks: Tensor<2, Int>,
}

impl ArgMax {
    pub(super) fn new(input: ValueId, dtype: DType, shape: &[u32], device: &Device) -> Self {
        let k = *shape.last().expect("a shape has rank >= 1") as usize;
        let ranks = || (0..k).rev();
        // Only int8 inputs: an i32 accumulator held as f32 (the contraction fast path) can
        // reach 2^24 itself, so its keys would not be exact.
        let float_ranks = (dtype == DType::I8 && 128 * (k as i64) <= F32_EXACT)
            .then(|| float_tensor(ranks().map(|r| r as f32).collect(), [1, k], device));
        Self {
            input,
            k,
            float_ranks,
            int_ranks: int_tensor(ranks().map(|r| r as i64).collect(), [1, k], device),
        }
    }

    pub(super) fn run(&self, values: &mut Values<'_>, batch: usize) -> Form {
        let k = self.k;
        let index = match (values.any(self.input), &self.float_ranks) {
            (Form::Float(x), Some(ranks)) => {
                let rows = x.dims()[1] / k * batch;
                x.reshape([rows, k])
                    .mul_scalar(k as f32)
                    .add(ranks.clone())
                    .argmax(1)
            }
            (form, _) => {
                let x = match form {
                    Form::Float(x) => x.cast(IntDType::I64),
                    Form::Int(x) => x,
                };
                let rows = x.dims()[1] / k * batch;
                x.reshape([rows, k])
                    .mul_scalar(k as i64)
                    .add(self.int_ranks.clone())
                    .argmax(1)
            }
        };
        let rows = index.dims()[0];
        Form::Int(index.cast(IntDType::I64).reshape([batch, rows / batch]))
    }
}

/// `labels[x]` for every element of an ArgMax output (validation keeps `x` in range).
#[derive(Clone, Debug)]
pub(super) struct LabelLookup {
    input: ValueId,
    /// `i64 [n]`.
    labels: Tensor<1, Int>,
}

impl LabelLookup {
    pub(super) fn new(input: ValueId, labels: &SpecTensor, device: &Device) -> Self {
        let table = labels
            .as_i32()
            .expect("validation fixed the labels type as i32");
        Self {
            input,
            labels: int_tensor(
                table.iter().map(|&v| i64::from(v)).collect(),
                [table.len()],
                device,
            ),
        }
    }

    pub(super) fn run(&self, values: &mut Values<'_>, batch: usize) -> Form {
        let index = values.int(self.input);
        let n = index.dims()[1];
        let picked = self.labels.clone().select(0, index.reshape([batch * n]));
        Form::Int(picked.reshape([batch, n]))
    }
}

/// `table[x + 128]` for every element of an `i8` value: one gather from the 256 entries.
#[derive(Clone, Debug)]
pub(super) struct Table {
    input: ValueId,
    /// `f32 [256]`: the entries as exact small integers.
    entries: Tensor<1>,
}

impl Table {
    pub(super) fn new(input: ValueId, table: &SpecTensor, device: &Device) -> Self {
        let entries = table
            .as_i8()
            .expect("validation fixed the table type as i8");
        Self {
            input,
            entries: float_tensor(
                entries.iter().map(|&v| f32::from(v)).collect(),
                [entries.len()],
                device,
            ),
        }
    }

    pub(super) fn run(&self, values: &mut Values<'_>, batch: usize) -> Form {
        let x = values.float(self.input);
        let n = x.dims()[1];
        // x is an exact integer in [-127, 127] as f32, so x + 128 is an exact index.
        let index = x.add_scalar(128.0).int().reshape([batch * n]);
        Form::Float(self.entries.clone().select(0, index).reshape([batch, n]))
    }
}
