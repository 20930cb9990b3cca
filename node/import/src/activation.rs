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

/// The exp table of an integer Softmax whose input has scale `input_scale`:
/// `table[d] = floor(2^24 · exp(−d · s_x) + 1/2)` for the distance `d` of an element from
/// its row's maximum (specs/ops.md, "Softmax"). Entry 0 is `2^24`; entries only fall.
pub fn softmax_exp_table(input_scale: f64) -> Vec<i32> {
    use verdict_specs::ops::{SOFTMAX_EXP_MAX, SOFTMAX_TABLE_LEN};
    (0..SOFTMAX_TABLE_LEN)
        .map(|d| {
            let e = libm::exp(-f64::from(d) * input_scale) * SOFTMAX_EXP_MAX as f64;
            (e + 0.5).floor().clamp(0.0, SOFTMAX_EXP_MAX as f64) as i32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_softmax_example_of_specs_ops() {
        let t = softmax_exp_table(1.0 / 16.0);
        assert_eq!([t[0], t[16], t[32]], [16_777_216, 6_171_993, 2_270_549]);
        assert!(t.windows(2).all(|w| w[0] >= w[1]));
        assert_eq!(
            verdict_specs::ops::softmax_row(&[16, 0, -16], &t),
            Some(vec![84, 31, 11])
        );
    }

    #[test]
    fn the_worked_example_of_specs_ops() {
        // tanh, s_x = 1/32, s_y = 1/127: x = 16 -> tanh(0.5) * 127 = 58.69 -> 59.
        let t = table(Activation::Tanh, 1.0 / 32.0, 1.0 / 127.0);
        assert_eq!(t.len(), 256);
        assert_eq!(t[16 + 128], 59);
        assert_eq!(t[1], -127);
        assert_eq!(t[0], t[1], "the entry for -128 repeats -127's");
        assert_eq!(t[128], 0);
    }

    #[test]
    fn increasing_functions_give_non_decreasing_tables() {
        for f in [
            Activation::Sigmoid,
            Activation::Tanh,
            Activation::Exp,
            Activation::Erf,
            Activation::Softplus,
            Activation::Elu { alpha: 1.0 },
            Activation::LeakyRelu { alpha: 0.01 },
        ] {
            let t = table(f, 0.05, 0.02);
            assert!(t.windows(2).all(|w| w[0] <= w[1]), "{}", f.name());
        }
    }

    #[test]
    fn piecewise_functions_are_exact_where_they_are_linear() {
        // Clip(0, 6) at equal scales is the identity on [0, 6] and saturates outside.
        let t = table(Activation::Clip { min: 0.0, max: 6.0 }, 0.1, 0.1);
        assert_eq!(t[30 + 128], 30);
        assert_eq!(t[100 + 128], 60);
        assert_eq!(t[128 - 5], 0);
        // HardSwish(x) = x for x >= 3 and 0 for x <= -3.
        let t = table(Activation::HardSwish, 0.05, 0.05);
        assert_eq!(t[100 + 128], 100);
        assert_eq!(t[128 - 100], 0);
        // SiLU and GELU are close to x for large x and to 0 for very negative x.
        for f in [
            Activation::Silu,
            Activation::Gelu { tanh: false },
            Activation::Gelu { tanh: true },
        ] {
            let t = table(f, 0.1, 0.1);
            assert!((i32::from(t[127 + 128]) - 127).abs() <= 1, "{}", f.name());
            assert!(t[1].abs() <= 1, "{}", f.name());
        }
    }
}
