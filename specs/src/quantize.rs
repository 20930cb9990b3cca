//! How a client turns float features into the model's int8 (or int32) input.
//!
//! `q = clamp(floor((x - offset) / scale + 1/2), -m, m)` with `m = 127` for an `i8`
//! input and `m = 2^31 - 1` for an `i32` one, computed in IEEE-754
//! double precision from the feature `x` (as parsed, a double) and the model's `f32`
//! scale and offset widened to double: one scale for all features and offset 0, or one
//! pair per feature (`InputSpec::features`). This runs only on the client: what the chain commits to
//! is the integer tensor, so the rule needs to be reproducible, not provable. (Tree
//! models rely on it being monotone: `x <= t` implies `q(x) <= q(t)`, since every step
//! of the formula is monotone in IEEE arithmetic.)

use crate::model::{FeatureQuant, InputSpec};
use crate::tensor::{DType, Tensor, TensorData, element_count};
use thiserror::Error;

/// Why features could not be quantized.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum QuantizeError {
    /// Wrong number of features.
    #[error("expected {expected} input features, got {actual}")]
    Count {
        /// Features the model takes.
        expected: usize,
        /// Features given.
        actual: usize,
    },
    /// NaN or infinity.
    #[error("feature {index} is {value}, not a finite number")]
    NotFinite {
        /// Position.
        index: usize,
        /// The value.
        value: f64,
    },
}

/// Quantizes one feature into an `i8` input (offset 0).
pub fn quantize_value(x: f64, scale: f32) -> i8 {
    (x / f64::from(scale) + 0.5).floor().clamp(-127.0, 127.0) as i8
}

/// The largest magnitude a quantized input of `dtype` takes.
pub fn input_max(dtype: DType) -> i64 {
    match dtype {
        DType::I8 => 127,
        DType::I32 => i64::from(i32::MAX),
    }
}

/// Quantizes one feature `x` with its scale and offset into an input of `dtype`.
pub fn quantize_feature(x: f64, quant: FeatureQuant, dtype: DType) -> i64 {
    let max = input_max(dtype) as f64;
    ((x - f64::from(quant.offset)) / f64::from(quant.scale) + 0.5)
        .floor()
        .clamp(-max, max) as i64
}

/// Quantizes the float features of one example (row-major, in the model's input shape).
pub fn quantize_input(spec: &InputSpec, features: &[f64]) -> Result<Tensor, QuantizeError> {
    let expected = element_count(&spec.shape).unwrap_or(0);
    if features.len() != expected {
        return Err(QuantizeError::Count {
            expected,
            actual: features.len(),
        });
    }
    if let Some((index, &value)) = features.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(QuantizeError::NotFinite { index, value });
    }
    let q = features
        .iter()
        .enumerate()
        .map(|(i, &x)| quantize_feature(x, spec.feature(i), spec.dtype));
    let data = match spec.dtype {
        DType::I8 => TensorData::I8(q.map(|v| v as i8).collect()),
        DType::I32 => TensorData::I32(q.map(|v| v as i32).collect()),
    };
    Ok(Tensor::new(spec.shape.clone(), data).expect("count checked against the shape"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_half_up_and_saturates() {
        assert_eq!(quantize_value(0.25, 0.5), 1); // 0.5 -> 1
        assert_eq!(quantize_value(-0.25, 0.5), 0); // -0.5 -> 0
        assert_eq!(quantize_value(1000.0, 0.5), 127);
        assert_eq!(quantize_value(-1000.0, 0.5), -127);
    }

    #[test]
    fn counts_and_nan_are_checked() {
        let spec = InputSpec::per_tensor(vec![2], 1.0);
        assert!(quantize_input(&spec, &[1.0]).is_err());
        assert!(quantize_input(&spec, &[1.0, f64::NAN]).is_err());
        assert_eq!(
            quantize_input(&spec, &[1.0, -2.4]).expect("ok").as_i8(),
            Some(&[1i8, -2][..])
        );
        let per_feature = InputSpec {
            features: vec![
                crate::model::FeatureQuant {
                    scale: 0.5,
                    offset: 10.0,
                },
                crate::model::FeatureQuant {
                    scale: 100.0,
                    offset: 0.0,
                },
            ],
            ..spec
        };
        // (10.25 - 10) / 0.5 = 0.5 -> 1; 1000 / 100 = 10.
        assert_eq!(
            quantize_input(&per_feature, &[10.25, 1000.0])
                .expect("ok")
                .as_i8(),
            Some(&[1i8, 10][..])
        );
    }

    #[test]
    fn wide_inputs_keep_fine_steps_and_stay_monotone() {
        let spec = InputSpec {
            dtype: DType::I32,
            features: vec![FeatureQuant {
                scale: 1e-6,
                offset: 100.0,
            }],
            ..InputSpec::per_tensor(vec![1], 1.0)
        };
        let q = |x: f64| {
            quantize_input(&spec, &[x])
                .expect("ok")
                .as_i32()
                .expect("i32")[0]
        };
        assert_eq!(q(100.0), 0);
        assert!(q(100.5) > 490_000 && q(100.5) < 510_000);
        assert_eq!(q(1e9), i32::MAX);
        assert_eq!(q(-1e9), -i32::MAX);
        let xs = [-3.0, 99.999_999, 100.0, 100.000_001, 100.5, 2e3];
        assert!(xs.windows(2).all(|w| q(w[0]) <= q(w[1])));
    }
}
