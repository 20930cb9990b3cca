//! The executor's error type.

use thiserror::Error;
use verdict_specs::interpreter::InputError;

/// Why a batch could not run, or an executor could not be built.
#[derive(Debug, Error)]
pub enum ExecError {
    /// Input `index` of the batch breaks the model's input spec; nothing ran.
    #[error("batch input {index} rejected: {source}")]
    BadInput {
        /// Position of the bad input in the batch.
        index: usize,
        /// What is wrong with it.
        source: InputError,
    },
    /// The model uses something this executor cannot run exactly (found at construction).
    #[error("node {node} ({op}) is not supported by the burn executor: {reason}")]
    Unsupported {
        /// Node index.
        node: usize,
        /// Op name.
        op: &'static str,
        /// Why.
        reason: String,
    },
    /// The tensor backend failed to produce a result (for example reading a tensor back).
    #[error("tensor backend failed: {0}")]
    Backend(String),
    /// A thread pool could not be built.
    #[error("thread pool: {0}")]
    Threads(String),
}

/// Result with [`ExecError`].
pub type ExecResult<T> = Result<T, ExecError>;
