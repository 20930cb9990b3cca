//! Requantize, Add and Relu: element-wise integer rules, in `i64`.
//!
//! `y = clamp((x * M + 2^(s-1)) >> s, -127, 127)` exactly as `verdict_specs::ops` writes it:
//! `|x| < 2^31` and `0 <= M < 2^31` keep `x * M + 2^(s-1)` below 2^63, and `>>` on an `i64`
//! tensor is an arithmetic (flooring) shift (burn-ndarray shifts the `i64` element; the
//! property test holds every backend to it).

use super::contract::int_tensor;
use super::values::{Form, Values};
use burn::tensor::{Device, Int, Tensor};
use verdict_specs::model::{Requant, ValueId};
use verdict_specs::ops::{I8_MAX, I8_MIN};

/// Per-channel parameters, as `i64` tensors shaped to broadcast over the value.
#[derive(Clone, Debug)]
struct ChannelParams<const D: usize> {
    multiplier: Tensor<D, Int>,
    half: Tensor<D, Int>,
    shift: Tensor<D, Int>,
}

impl<const D: usize> ChannelParams<D> {
    fn new(params: &[Requant], shape: [usize; D], device: &Device) -> Self {
        let column =
            |f: &dyn Fn(&Requant) -> i64| int_tensor(params.iter().map(f).collect(), shape, device);
        Self {
            multiplier: column(&|p| i64::from(p.multiplier)),
            half: column(&|p| 1i64 << (p.shift - 1)),
            shift: column(&|p| i64::from(p.shift)),
        }
    }

    fn apply(&self, x: Tensor<D, Int>) -> Tensor<D, Int> {
        x.mul(self.multiplier.clone())
            .add(self.half.clone())
            .bitwise_right_shift(self.shift.clone())
    }
}

#[derive(Clone, Debug)]
enum Scale {
    /// One parameter set for every element.
    Uniform(Requant),
    /// One per channel where the channel is the whole trailing axis: `[B, C]` by `[1, C]`.
    Rows(ChannelParams<2>),
    /// One per channel of `[B, outer, C, inner]`, by `[1, 1, C, 1]`.
    Channels {
        outer: usize,
        channels: usize,
        inner: usize,
        params: ChannelParams<4>,
    },
}

/// `i32` to `i8` by fixed-point scaling along an axis.
#[derive(Clone, Debug)]
pub(super) struct Requantize {
    input: ValueId,
    scale: Scale,
}

impl Requantize {
    pub(super) fn new(
        input: ValueId,
        shape: &[u32],
        axis: u8,
        params: &[Requant],
        device: &Device,
    ) -> Self {
        let axis = usize::from(axis);
        let product = |dims: &[u32]| dims.iter().map(|&d| d as usize).product::<usize>();
        let (outer, channels, inner) = (
            product(&shape[..axis]),
            shape[axis] as usize,
            product(&shape[axis + 1..]),
        );
        let scale = if params.iter().all(|p| *p == params[0]) {
            Scale::Uniform(params[0])
        } else if outer == 1 && inner == 1 {
            Scale::Rows(ChannelParams::new(params, [1, channels], device))
        } else {
            Scale::Channels {
                outer,
                channels,
                inner,
                params: ChannelParams::new(params, [1, 1, channels, 1], device),
            }
        };
        Self { input, scale }
    }

    pub(super) fn run(&self, values: &mut Values<'_>, batch: usize) -> Form {
        let x = values.int(self.input);
        let y = match &self.scale {
            Scale::Uniform(p) => x
                .mul_scalar(i64::from(p.multiplier))
                .add_scalar(1i64 << (p.shift - 1))
                .bitwise_right_shift_scalar(i64::from(p.shift)),
            Scale::Rows(params) => params.apply(x),
            Scale::Channels {
                outer,
                channels,
                inner,
                params,
            } => {
                let numel = outer * channels * inner;
                params
                    .apply(x.reshape([batch, *outer, *channels, *inner]))
                    .reshape([batch, numel])
            }
        };
        Form::Int(y.clamp(I8_MIN, I8_MAX))
    }
}

/// `clamp((a * Ma + b * Mb + 2^(s-1)) >> s, -127, 127)`; `|a * Ma + b * Mb| < 2^40`.
#[derive(Clone, Debug)]
pub(super) struct Add {
    a: ValueId,
    b: ValueId,
    a_multiplier: i64,
    b_multiplier: i64,
    shift: u8,
}

impl Add {
    pub(super) fn new(
        a: ValueId,
        b: ValueId,
        a_multiplier: i32,
        b_multiplier: i32,
        shift: u8,
    ) -> Self {
        Self {
            a,
            b,
            a_multiplier: i64::from(a_multiplier),
            b_multiplier: i64::from(b_multiplier),
            shift,
        }
    }

    pub(super) fn run(&self, values: &mut Values<'_>) -> Form {
        let a = values.int(self.a).mul_scalar(self.a_multiplier);
        let b = values.int(self.b).mul_scalar(self.b_multiplier);
        let y = a
            .add(b)
            .add_scalar(1i64 << (self.shift - 1))
            .bitwise_right_shift_scalar(i64::from(self.shift));
        Form::Int(y.clamp(I8_MIN, I8_MAX))
    }
}

/// `max(x, 0)` in whichever form the value is held.
pub(super) fn relu(values: &mut Values<'_>, input: ValueId) -> Form {
    match values.any(input) {
        Form::Float(x) => Form::Float(x.clamp_min(0.0)),
        Form::Int(x) => Form::Int(x.clamp_min(0)),
    }
}
