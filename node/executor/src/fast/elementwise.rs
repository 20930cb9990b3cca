//! Requantize, Add, Mul and Relu: element-wise integer rules, in `i64` (Requantize in `f64` where that is provably exact).
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

/// How a Requantize computes, fixed at construction. Per-channel parameters are laid out
/// once per element of an example (`[1, numel]`): broadcasting only along the batch axis
/// is much faster on the ndarray backend than along inner axes.
#[derive(Clone, Debug)]
enum Path {
    /// `floor(x * f + 1/2)` in `f64` with one factor `f = M * 2^-s` (see [`Requantize::new`]).
    F64Uniform(f64),
    /// The same with one factor per element.
    F64PerElement(Tensor<2>),
    /// `(x * M + 2^(s-1)) >> s` in `i64`, one parameter set.
    I64Uniform(Requant),
    /// The same with one parameter set per element.
    I64PerElement(Box<IntParams>),
}

/// Per-element `i64` requantization parameters, each `[1, numel]`.
#[derive(Clone, Debug)]
struct IntParams {
    multiplier: Tensor<2, Int>,
    half: Tensor<2, Int>,
    shift: Tensor<2, Int>,
}

/// `f` of each element's channel parameters, for one example in row-major order (the
/// channel of element `i` is `(i / inner) % channels`).
fn per_element<T>(
    params: &[Requant],
    channels: usize,
    inner: usize,
    numel: usize,
    f: impl Fn(&Requant) -> T,
) -> Vec<T> {
    (0..numel)
        .map(|i| f(&params[(i / inner) % channels]))
        .collect()
}

/// `i32` to `i8` by fixed-point scaling along an axis.
#[derive(Clone, Debug)]
pub(super) struct Requantize {
    input: ValueId,
    path: Path,
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
        let (channels, inner) = (shape[axis] as usize, product(&shape[axis + 1..]));
        let numel = product(shape);
        let uniform = params.iter().all(|p| *p == params[0]);
        // Backends without f64 (most GPU ones) keep the i64 path.
        let exact_in_f64 = device.supports_dtype(DType::F64)
            && params.iter().all(|p| {
                i128::from(bound) * i128::from(p.multiplier) + (1i128 << (p.shift - 1))
                    < (1i128 << 53)
            });
        let factor = |p: &Requant| f64::from(p.multiplier) * 2f64.powi(-i32::from(p.shift));
        let path = match (exact_in_f64, uniform) {
            (true, true) => Path::F64Uniform(factor(&params[0])),
            (true, false) => Path::F64PerElement(Tensor::from_data(
                TensorData::new(
                    per_element(params, channels, inner, numel, factor),
                    [1, numel],
                ),
                (device, DType::F64),
            )),
            (false, true) => Path::I64Uniform(params[0]),
            (false, false) => {
                let row = |f: &dyn Fn(&Requant) -> i64| {
                    int_tensor(
                        per_element(params, channels, inner, numel, f),
                        [1, numel],
                        device,
                    )
                };
                Path::I64PerElement(Box::new(IntParams {
                    multiplier: row(&|p| i64::from(p.multiplier)),
                    half: row(&|p| 1i64 << (p.shift - 1)),
                    shift: row(&|p| i64::from(p.shift)),
                }))
            }
        };
        Self { input, path }
    }

    pub(super) fn run(&self, values: &mut Values<'_>) -> Form {
        let as_f64 = |values: &mut Values<'_>| match values.any(self.input) {
            Form::Float(x) => x.cast(FloatDType::F64),
            Form::Int(x) => x.cast(FloatDType::F64),
        };
        let rounded = |scaled: Tensor<2>| {
            Form::Float(
                scaled
                    .add_scalar(0.5)
                    .floor()
                    .clamp(I8_MIN as f64, I8_MAX as f64)
                    .cast(FloatDType::F32),
            )
        };
        let shifted = match &self.path {
            Path::F64Uniform(f) => return rounded(as_f64(values).mul_scalar(*f)),
            Path::F64PerElement(f) => return rounded(as_f64(values).mul(f.clone())),
            Path::I64Uniform(p) => values
                .int(self.input)
                .mul_scalar(i64::from(p.multiplier))
                .add_scalar(1i64 << (p.shift - 1))
                .bitwise_right_shift_scalar(i64::from(p.shift)),
            Path::I64PerElement(p) => values
                .int(self.input)
                .mul(p.multiplier.clone())
                .add(p.half.clone())
                .bitwise_right_shift(p.shift.clone()),
        };
        Form::Int(shifted.clamp(I8_MIN, I8_MAX))
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

/// How Mul's `b` meets `a`.
#[derive(Clone, Debug)]
pub(super) enum Broadcast {
    /// The same shape.
    Same,
    /// `a` as `[B, P, S]`, `b` as `[B, P, 1]` (`b`'s trailing axes are 1: a `[T, 1]`
    /// weight per time step) or `[B, 1, S]` (its leading axes are 1): burn broadcasts.
    Blocks {
        p: usize,
        s: usize,
        b_is_column: bool,
    },
    /// Any other: the element of `b` each element of `a` meets, `[1, numel]`.
    Gather(Tensor<2, Int>),
}

impl Broadcast {
    /// The block form, when `b` (which broadcasts to `a`) has one.
    pub(super) fn of(a: &[u32], b: &[u32]) -> Option<Self> {
        let product = |dims: &[u32]| dims.iter().map(|&d| d as usize).product::<usize>();
        // The split point k: b equals a before it and is 1 after (or the reverse).
        for k in 0..=a.len() {
            let (head_a, tail_a) = a.split_at(k);
            let (head_b, tail_b) = b.split_at(k);
            let (p, s) = (product(head_a), product(tail_a));
            if head_a == head_b && tail_b.iter().all(|&d| d == 1) {
                return Some(Broadcast::Blocks {
                    p,
                    s,
                    b_is_column: true,
                });
            }
            if head_b.iter().all(|&d| d == 1) && tail_a == tail_b {
                return Some(Broadcast::Blocks {
                    p,
                    s,
                    b_is_column: false,
                });
            }
        }
        None
    }
}

/// `clamp((a * b * M + 2^(s-1)) >> s, -127, 127)`; `|a * b * M| < 2^45`.
#[derive(Clone, Debug)]
pub(super) struct Mul {
    a: ValueId,
    b: ValueId,
    multiplier: i64,
    shift: u8,
    broadcast: Broadcast,
}

impl Mul {
    pub(super) fn new(
        a: ValueId,
        b: ValueId,
        multiplier: i32,
        shift: u8,
        broadcast: Broadcast,
    ) -> Self {
        Self {
            a,
            b,
            multiplier: i64::from(multiplier),
            shift,
            broadcast,
        }
    }

    pub(super) fn run(&self, values: &mut Values<'_>) -> Form {
        let a = values.int(self.a);
        let b = values.int(self.b);
        let [batch, n] = a.dims();
        let product = match &self.broadcast {
            Broadcast::Same => a.mul(b),
            Broadcast::Blocks { p, s, b_is_column } => {
                let b = if *b_is_column {
                    b.reshape([batch, *p, 1])
                } else {
                    b.reshape([batch, 1, *s])
                };
                a.reshape([batch, *p, *s]).mul(b).reshape([batch, n])
            }
            Broadcast::Gather(index) => {
                a.mul(b.gather(1, index.clone().expand([batch, index.dims()[1]])))
            }
        };
        let y = product
            .mul_scalar(self.multiplier)
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
