//! What class a model output stands for.

use verdict_specs::{Model, Tensor};

/// The class a model's output stands for: the label itself for models that end in an
/// ArgMax or label lookup, else the index of the largest output element (lowest index on
/// ties, as the ArgMax op rules). `None` for an empty output.
pub fn predicted_class(model: &Model, output: &Tensor) -> Option<i64> {
    let values: Vec<i64> = (0..output.len())
        .filter_map(|i| output.data().get(i))
        .collect();
    if model.outputs_label() {
        values.first().copied()
    } else {
        verdict_specs::ops::argmax(&values).map(|i| i as i64)
    }
}
