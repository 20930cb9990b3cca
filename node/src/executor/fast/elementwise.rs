//! Requantize, Add and Relu: element-wise integer rules, in `i64`.
//!
//! `y = clamp((x * M + 2^(s-1)) >> s, -127, 127)` exactly as `verdict_specs::ops` writes it:
//! `|x| < 2^31` and `0 <= M < 2^31` keep `x * M + 2^(s-1)` below 2^63, and `>>` on an `i64`
//! tensor is an arithmetic (flooring) shift (burn-ndarray shifts the `i64` element; the
//! property test holds every backend to it).

use super::contract::int_tensor;
use super::values::{Form, Values};
use burn::tensor::{DType, Device, FloatDType, Int, Tensor, TensorData};
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

/// The requantization as one `f64` factor per channel, `f = M * 2^-s`, used when
/// `y = floor(x * f + 1/2)` is provably the integer rule (see [`Requantize::new`]).
#[derive(Clone, Debug)]
enum Factors {
    Uniform(f64),
    /// One factor per element of an example, `[1, numel]`: broadcasting only along the
    /// batch axis is much faster than along inner axes on the ndarray backend.
    PerElement(Tensor<2>),
}

/// `i32` to `i8` by fixed-point scaling along an axis.
#[derive(Clone, Debug)]
pub(super) struct Requantize {
    input: ValueId,
    scale: Scale,
    /// The `f64` form, when exact for every input the op can see.
    factors: Option<Factors>,
}

impl Requantize {
    /// `bound` is the largest `|x|` the input can hold (from the ops that produce it).
    ///
    /// # The `f64` path
    ///
    /// With `f = M * 2^-s` (exact: `M` has at most 31 bits), `floor(x * f + 1/2)` in `f64`
    /// equals `(x * M + 2^(s-1)) >> s` whenever `|x| * M + 2^(s-1) < 2^53`: `x * f` is
    /// `x * M` (an integer below 2^53, so representable) scaled by a power of two, so the
    /// multiplication is exact; `x * f + 1/2` is `(x * M + 2^(s-1)) * 2^-s`, again an
    /// integer below 2^53 scaled by a power of two, so the addition is exact; `floor` is
    /// exact, and flooring is what `>>` does. So the `f64` path is taken only when
    /// `bound * max M + 2^(max s - 1) < 2^53` (true for every layer of the digits models);
    /// it runs on SIMD float kernels and hands the next op `f32` directly.
    pub(super) fn new(
        input: ValueId,
        shape: &[u32],
        axis: u8,
        params: &[Requant],
        bound: i64,
        device: &Device,
    ) -> Self {
        let axis = usize::from(axis);
        let product = |dims: &[u32]| dims.iter().map(|&d| d as usize).product::<usize>();
        let (outer, channels, inner) = (
            product(&shape[..axis]),
            shape[axis] as usize,
            product(&shape[axis + 1..]),
        );
        // Backends without f64 (most GPU ones) keep the i64 path.
        let exact_in_f64 = device.supports_dtype(DType::F64)
            && params.iter().all(|p| {
                i128::from(bound) * i128::from(p.multiplier) + (1i128 << (p.shift - 1))
                    < (1i128 << 53)
            });
        let factor = |p: &Requant| f64::from(p.multiplier) * 2f64.powi(-i32::from(p.shift));
        let uniform = params.iter().all(|p| *p == params[0]);
        let factors = exact_in_f64.then(|| {
            if uniform {
                Factors::Uniform(factor(&params[0]))
            } else {
                let numel = outer * channels * inner;
                let per_element: Vec<f64> = (0..numel)
                    .map(|i| factor(&params[(i / inner) % channels]))
                    .collect();
                Factors::PerElement(Tensor::from_data(
                    TensorData::new(per_element, [1, numel]),
                    (device, DType::F64),
                ))
            }
        });
        let scale = if uniform {
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
        Self {
            input,
            scale,
            factors,
        }
    }

    pub(super) fn run(&self, values: &mut Values<'_>, batch: usize) -> Form {
        if let Some(factors) = &self.factors {
            let x = match values.any(self.input) {
                Form::Float(x) => x.cast(FloatDType::F64),
                Form::Int(x) => x.cast(FloatDType::F64),
            };
            let scaled = match factors {
                Factors::Uniform(f) => x.mul_scalar(*f),
                Factors::PerElement(f) => x.mul(f.clone()),
            };
            let y = scaled
                .add_scalar(0.5)
                .floor()
                .clamp(I8_MIN as f64, I8_MAX as f64)
                .cast(FloatDType::F32);
            return Form::Float(y);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The f64 requantization path is the fast one on the default backend; if burn ever
    /// stops reporting f64 support there, results stay exact but this says why it slowed.
    #[test]
    fn the_ndarray_backend_supports_f64() {
        #[allow(deprecated)]
        let device = Device::ndarray();
        assert!(device.supports_dtype(DType::F64));
    }
}
