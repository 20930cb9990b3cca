//! The reference interpreter behind the [`Executor`] trait.

use super::{ExecError, ExecResult, Executor};
use std::sync::Arc;
use verdict_specs::interpreter::{self, check_input};
use verdict_specs::{Model, Tensor};

/// Runs `verdict_specs::interpreter::run` on each example in turn: the definition of
/// what a model computes, and the yardstick for [`super::BurnExecutor`].
#[derive(Clone, Debug)]
pub struct ReferenceExecutor {
    model: Arc<Model>,
}

impl ReferenceExecutor {
    /// An executor for `model`.
    pub fn new(model: Arc<Model>) -> Self {
        Self { model }
    }

    /// The model it runs.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Every value of every example (input first, output last), as
    /// `verdict_specs::interpreter::trace` computes them.
    pub fn trace_batch(&self, inputs: &[Tensor]) -> ExecResult<Vec<Vec<Tensor>>> {
        check_all(&self.model, inputs)?;
        inputs
            .iter()
            .enumerate()
            .map(|(index, input)| {
                interpreter::trace(&self.model, input)
                    .map_err(|source| ExecError::BadInput { index, source })
            })
            .collect()
    }
}

impl Executor for ReferenceExecutor {
    fn run_batch(&self, inputs: &[Tensor]) -> ExecResult<Vec<Tensor>> {
        check_all(&self.model, inputs)?;
        inputs
            .iter()
            .enumerate()
            .map(|(index, input)| {
                interpreter::run(&self.model, input)
                    .map_err(|source| ExecError::BadInput { index, source })
            })
            .collect()
    }

    fn name(&self) -> &'static str {
        "reference"
    }
}

/// Checks every input of a batch before any work, naming the first bad one.
pub(super) fn check_all(model: &Model, inputs: &[Tensor]) -> ExecResult<()> {
    for (index, input) in inputs.iter().enumerate() {
        check_input(model, input).map_err(|source| ExecError::BadInput { index, source })?;
    }
    Ok(())
}
