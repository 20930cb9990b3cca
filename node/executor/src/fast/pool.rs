//! MaxPool2d, AvgPool2d and GlobalAvgPool.
//!
//! Means are never computed by a float division (that would round). The window *sums*
//! are computed in `f32` (a sum over gathered window taps, or over a plane): a sum
//! of `n` int8 values has magnitude at most `127 * n`, exact in `f32` while
//! `127 * n < 2^24` (checked at construction, else the sum is taken in `i64`). The sum is
//! converted to `i64` and rounded half up exactly as the spec does:
//! `floor((2 * sum + n) / (2 * n))`, see [`round_mean`].

use super::contract::{F32_EXACT, int_tensor};
use super::gather::{Order, Taps, in_parts};
use super::values::{Form, Values};
use crate::{ExecError, ExecResult};
use burn::tensor::{Device, Int, IntDType, Tensor};
use verdict_specs::model::{ValueId, Window};
use verdict_specs::ops::{I8_MAX, window_positions};

/// Largest number of int8 values whose sum is exact in `f32`: `127 * n < 2^24`.
const MAX_EXACT_SUM_TERMS: i64 = (F32_EXACT - 1) / I8_MAX;

/// What MaxPool reads for a padded tap: below every int8 value, so it never wins.
const PAD_BELOW_INT8: f32 = -128.0;

fn chw(shape: &[u32]) -> [usize; 3] {
    [shape[0] as usize, shape[1] as usize, shape[2] as usize]
}

/// Maximum over each window: the taps gathered tap-major (padding read as -128, below
/// every int8 value; every window holds an in-bounds element), then an element-wise
/// maximum over the `kh * kw` tap blocks.
///
/// Not burn's `max_pool2d`: its SIMD kernel (burn-ndarray 0.22.1) panics on some valid
/// geometries, e.g. a `[4, 1]` window with vertical padding over a `148 x 1 x 1` input
/// (`node/executor/tests/integration/executor_edges.rs` keeps that case).
#[derive(Clone, Debug)]
pub(super) struct MaxPool {
    input: ValueId,
    /// Outputs per example, `C * OH * OW`.
    outputs: usize,
    /// Taps per window, `kh * kw`.
    window: usize,
    taps: Taps,
}

impl MaxPool {
    pub(super) fn new(
        input: ValueId,
        in_shape: &[u32],
        out_shape: &[u32],
        window: &Window,
        device: &Device,
    ) -> Self {
        let [c, oh, ow] = chw(out_shape);
        Self {
            input,
            outputs: c * oh * ow,
            window: (window.kernel[0] * window.kernel[1]) as usize,
            taps: Taps::new(
                chw(in_shape),
                [oh, ow],
                window,
                Order::TapMajor,
                None,
                device,
            ),
        }
    }

    pub(super) fn run(&self, values: &mut Values<'_>) -> Form {
        let x = values.float(self.input);
        let n = self.outputs;
        Form::Float(in_parts(x, self.taps.part_size(), |x| {
            let taps = self.taps.gather(x, PAD_BELOW_INT8);
            (1..self.window).fold(taps.clone().slice_dim(1, 0..n), |max, t| {
                max.max_pair(taps.clone().slice_dim(1, t * n..(t + 1) * n))
            })
        }))
    }
}

/// What a window sum is divided by.
#[derive(Clone, Debug)]
enum Divisor {
    /// The same `n` everywhere.
    Uniform(i64),
    /// Per output position, as `[1, OH * OW]`: `257 * n` and `2 * n` (see [`round_mean`]).
    PerPosition {
        offset: Box<Tensor<2, Int>>,
        denominator: Box<Tensor<2, Int>>,
    },
}

/// `floor((2 * sum + n) / (2 * n))` for every element, exactly, with any integer division.
///
/// `|sum| <= 127 * n` (a sum of at most `n` values in `[-127, 127]`), so adding `256 * n`
/// to the numerator makes it positive (`>= 3n`) without changing the fractional part:
/// `floor((2s + n) / 2n) = (2s + 257n) / 2n - 128`, where the division of a positive
/// numerator by a positive denominator truncates and floors alike. The result is in
/// `[-127, 127]` already (the rounded mean of values in that range), so no clamp is needed.
fn round_mean(sum: Tensor<2, Int>, divisor: &Divisor) -> Tensor<2, Int> {
    let doubled = sum.mul_scalar(2);
    match divisor {
        Divisor::Uniform(n) => doubled.add_scalar(257 * n).div_scalar(2 * n),
        Divisor::PerPosition {
            offset,
            denominator,
        } => doubled.add((**offset).clone()).div((**denominator).clone()),
    }
    .sub_scalar(128)
}

/// Rounded mean over each window: the taps gathered tap-major (padding read as 0), the
/// `kh * kw` tap blocks summed element-wise (exact in `f32`), then [`round_mean`].
#[derive(Clone, Debug)]
pub(super) struct AvgPool {
    input: ValueId,
    /// Output `[C, OH, OW]`.
    out: [usize; 3],
    /// Taps per window, `kh * kw`.
    window: usize,
    taps: Taps,
    divisor: Divisor,
}

impl AvgPool {
    pub(super) fn new(
        node: usize,
        input: ValueId,
        in_shape: &[u32],
        out_shape: &[u32],
        window: &Window,
        count_include_pad: bool,
        device: &Device,
    ) -> ExecResult<Self> {
        let [kh, kw] = window.kernel;
        let full = i64::from(kh) * i64::from(kw);
        if full > MAX_EXACT_SUM_TERMS {
            return Err(ExecError::Unsupported {
                node,
                op: "AvgPool2d",
                reason: format!("a {kh}x{kw} window sum may not be exact in f32"),
            });
        }
        let [_, h, w] = chw(in_shape);
        let [_, oh, ow] = chw(out_shape);
        let counts: Vec<i64> = (0..oh * ow)
            .map(|i| {
                if count_include_pad {
                    full
                } else {
                    let (oy, ox) = ((i / ow) as u32, (i % ow) as u32);
                    window_positions(window, h as u32, w as u32, oy, ox).0.len() as i64
                }
            })
            .collect();
        let divisor = if counts.iter().all(|&n| n == counts[0]) {
            Divisor::Uniform(counts[0])
        } else {
            Divisor::PerPosition {
                offset: Box::new(int_tensor(
                    counts.iter().map(|n| 257 * n).collect(),
                    [1, oh * ow],
                    device,
                )),
                denominator: Box::new(int_tensor(
                    counts.iter().map(|n| 2 * n).collect(),
                    [1, oh * ow],
                    device,
                )),
            }
        };
        Ok(Self {
            input,
            out: chw(out_shape),
            window: full as usize,
            taps: Taps::new(
                chw(in_shape),
                [oh, ow],
                window,
                Order::TapMajor,
                None,
                device,
            ),
            divisor,
        })
    }

    pub(super) fn run(&self, values: &mut Values<'_>) -> Form {
        let [c, oh, ow] = self.out;
        let x = values.float(self.input);
        Form::Int(in_parts(x, self.taps.part_size(), |x| {
            let batch = x.dims()[0];
            let n = c * oh * ow;
            let taps = self.taps.gather(x, 0.0);
            let sums = (1..self.window)
                .fold(taps.clone().slice_dim(1, 0..n), |sum, t| {
                    sum.add(taps.clone().slice_dim(1, t * n..(t + 1) * n))
                })
                .reshape([batch * c, oh * ow])
                .cast(IntDType::I64);
            round_mean(sums, &self.divisor).reshape([batch, c * oh * ow])
        }))
    }
}

/// Rounded mean of each `H x W` plane.
#[derive(Clone, Debug)]
pub(super) struct GlobalAvgPool {
    input: ValueId,
    channels: usize,
    plane: usize,
}

impl GlobalAvgPool {
    pub(super) fn new(input: ValueId, in_shape: &[u32]) -> Self {
        let [c, h, w] = chw(in_shape);
        Self {
            input,
            channels: c,
            plane: h * w,
        }
    }

    pub(super) fn run(&self, values: &mut Values<'_>, batch: usize) -> Form {
        let x = values
            .float(self.input)
            .reshape([batch * self.channels, self.plane]);
        let sums = if (self.plane as i64) <= MAX_EXACT_SUM_TERMS {
            x.sum_dim(1).cast(IntDType::I64)
        } else {
            x.cast(IntDType::I64).sum_dim(1)
        };
        let means = round_mean(sums, &Divisor::Uniform(self.plane as i64));
        Form::Int(means.reshape([batch, self.channels]))
    }
}
