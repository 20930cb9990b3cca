//! Reading the inputs every command shares: model files and single-example JSON inputs.

use anyhow::{Context, Result, bail};
use std::path::Path;
use verdict_specs::{Model, Tensor};

/// Reads and validates a `.vdm` model file.
pub(crate) fn load_model(path: &Path) -> Result<Model> {
    let bytes = std::fs::read(path).with_context(|| format!("reading model {}", path.display()))?;
    Model::decode(&bytes).with_context(|| format!("reading model {}", path.display()))
}

/// Reads one example's float features: a JSON array of numbers, in CSV order.
pub(crate) fn load_features(path: &Path) -> Result<Vec<f64>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading input {}", path.display()))?;
    parse_features(&text).with_context(|| format!("reading input {}", path.display()))
}

fn parse_features(text: &str) -> Result<Vec<f64>> {
    let value: serde_json::Value = serde_json::from_str(text).context("not valid JSON")?;
    let Some(items) = value.as_array() else {
        bail!("expected a JSON array of numbers, e.g. [0.0, 0.25, 1.0]");
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            item.as_f64()
                .with_context(|| format!("element {i} is {item}, not a number"))
        })
        .collect()
}

/// Quantizes float features into the model's int8 input, with the model's input scale.
pub(crate) fn quantize(model: &Model, features: &[f64]) -> Result<Tensor> {
    Ok(verdict_specs::quantize::quantize_input(
        &model.graph().input,
        features,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_must_be_an_array_of_numbers() {
        assert_eq!(
            parse_features("[0, 0.5, -1e2]").expect("valid"),
            vec![0.0, 0.5, -100.0]
        );
        assert!(
            parse_features("{\"a\": 1}")
                .unwrap_err()
                .to_string()
                .contains("array")
        );
        assert!(format!("{:#}", parse_features("[1, \"x\"]").unwrap_err()).contains("element 1"));
        assert!(parse_features("[1,").is_err());
    }
}
