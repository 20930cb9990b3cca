//! How a client turns float features into the model's int8 input.
//!
//! `q = clamp(floor((x - offset) / scale + 1/2), -127, 127)`, computed in IEEE-754
//! double precision from the feature `x` (as parsed, a double) and the model's `f32`
//! scale and offset widened to double: one scale for all features and offset 0, or one
//! pair per feature (`InputSpec::features`). This runs only on the client: what the chain commits to
//! is the int8 tensor, so the rule needs to be reproducible, not provable.

use crate::model::InputSpec;
use crate::tensor::{Tensor, element_count};
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

/// Quantizes one feature.
pub fn quantize_value(x: f64, scale: f32) -> i8 {
    (x / f64::from(scale) + 0.5).floor().clamp(-127.0, 127.0) as i8
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
    let data = features
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let f = spec.feature(i);
            quantize_value(x - f64::from(f.offset), f.scale)
        })
        .collect();
    Ok(Tensor::from_i8(spec.shape.clone(), data).expect("count checked against the shape"))
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
}
