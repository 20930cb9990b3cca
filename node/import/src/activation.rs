//! Element-wise non-linearities the integer graph computes by table.
//!
//! Each is a float function of one value. The importer evaluates it at the 255 int8
//! inputs (`x = q * s_in`), divides by the output scale and rounds (half up, saturated),
//! giving the `Table` op's 256 entries. The functions use `libm` (a pure-Rust port of
//! musl's libm), not the platform's, so a table, and with it the model id, is the same
//! on every machine.

/// A float element-wise function. Parameters are the ONNX attributes, as `f64`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `tanh(x)`.
    Tanh,
    /// `e^x`.
    Exp,
    /// The error function.
    Erf,
    /// `x * Φ(x) = x/2 * (1 + erf(x / √2))`, or with `tanh` the approximation
    /// `x/2 * (1 + tanh(√(2/π) * (x + 0.044715 x³)))`.
    Gelu {
        /// ONNX `approximate = "tanh"`.
        tanh: bool,
    },
    /// `x * sigmoid(x)` (SiLU, Swish).
    Silu,
    /// `max(0, min(1, alpha * x + beta))`.
    HardSigmoid {
        /// Slope.
        alpha: f64,
        /// Offset.
        beta: f64,
    },
    /// `x * max(0, min(1, x / 6 + 1/2))`.
    HardSwish,
    /// `x` for `x >= 0`, else `alpha * x`.
    LeakyRelu {
        /// Negative slope.
        alpha: f64,
    },
    /// `x` for `x >= 0`, else `alpha * (e^x - 1)`.
    Elu {
        /// Scale of the negative part.
        alpha: f64,
    },
    /// `ln(1 + e^x)`.
    Softplus,
    /// `min(max(x, min), max)`.
    Clip {
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
    },
}

impl Activation {
    /// The function's value at `x`.
    pub fn apply(self, x: f64) -> f64 {
        match self {
            Activation::Sigmoid => sigmoid(x),
            Activation::Tanh => libm::tanh(x),
            Activation::Exp => libm::exp(x),
            Activation::Erf => libm::erf(x),
            Activation::Gelu { tanh: false } => {
                0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2))
            }
            Activation::Gelu { tanh: true } => {
                let k = (2.0 / std::f64::consts::PI).sqrt();
                0.5 * x * (1.0 + libm::tanh(k * (x + 0.044715 * x * x * x)))
            }
            Activation::Silu => x * sigmoid(x),
            Activation::HardSigmoid { alpha, beta } => (alpha * x + beta).clamp(0.0, 1.0),
            Activation::HardSwish => x * (x / 6.0 + 0.5).clamp(0.0, 1.0),
            Activation::LeakyRelu { alpha } => {
                if x >= 0.0 {
                    x
                } else {
                    alpha * x
                }
            }
            Activation::Elu { alpha } => {
                if x >= 0.0 {
                    x
                } else {
                    alpha * libm::expm1(x)
                }
            }
            Activation::Softplus => {
                // ln(1 + e^x) without overflow for large x.
                if x > 30.0 {
                    x
                } else {
                    libm::log1p(libm::exp(x))
                }
            }
            Activation::Clip { min, max } => x.max(min).min(max),
        }
    }

    /// The name written in notes and `verdict model inspect`.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Sigmoid => "Sigmoid",
            Activation::Tanh => "Tanh",
            Activation::Exp => "Exp",
            Activation::Erf => "Erf",
            Activation::Gelu { tanh: false } => "Gelu",
            Activation::Gelu { tanh: true } => "Gelu(tanh)",
            Activation::Silu => "SiLU",
            Activation::HardSigmoid { .. } => "HardSigmoid",
            Activation::HardSwish => "HardSwish",
            Activation::LeakyRelu { .. } => "LeakyRelu",
            Activation::Elu { .. } => "Elu",
            Activation::Softplus => "Softplus",
            Activation::Clip { .. } => "Clip",
        }
    }
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + libm::exp(-x))
    } else {
        let e = libm::exp(x);
        e / (1.0 + e)
    }
}

/// The 256 entries of a `Table` op: entry `q + 128` is `f(q * s_in) / s_out` rounded half
/// up and saturated to `[-127, 127]` (entry 0, for the never-occurring -128, repeats
/// entry 1).
pub fn table(f: Activation, input_scale: f64, output_scale: f64) -> Vec<i8> {
    let entry = |q: i32| {
        let y = f.apply(f64::from(q) * input_scale) / output_scale;
        if y.is_nan() {
            0
        } else {
            (y + 0.5).floor().clamp(-127.0, 127.0) as i8
        }
    };
    std::iter::once(entry(-127))
        .chain((-127..=127).map(entry))
        .collect()
}
