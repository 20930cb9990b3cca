//! The importer's error type: every message names the ONNX node, op and attribute at fault.

use thiserror::Error;

/// Why an ONNX model could not be imported.
#[derive(Debug, Error)]
pub enum ImportError {
    /// The bytes are not a readable ONNX protobuf.
    #[error("not a readable ONNX model: {0}")]
    Protobuf(String),
    /// The model is readable but its structure is unusable (no graph, no input, …).
    #[error("ONNX model structure: {0}")]
    Structure(String),
    /// A node uses an op, attribute value or input layout the importer cannot map exactly.
    #[error("node '{node}' ({op}): {reason}")]
    Unsupported {
        /// The ONNX node's name (or its first output when unnamed).
        node: String,
        /// The ONNX op type.
        op: String,
        /// What is not supported, and what would be.
        reason: String,
    },
    /// An initializer or constant tensor cannot be decoded.
    #[error("tensor '{name}': {reason}")]
    Tensor {
        /// The tensor's name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A dataset does not fit the model.
    #[error("{which} set: {reason}")]
    Dataset {
        /// `"calibration"` or `"test"`.
        which: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The float model cannot be quantized within the integer op set's ranges.
    #[error("quantizing node '{node}': {reason}")]
    Quantize {
        /// The ONNX node.
        node: String,
        /// What is out of range.
        reason: String,
    },
    /// The quantized graph broke a rule of the model format (an importer bug, or a model
    /// beyond the format's limits, such as an accumulator that could overflow i32).
    #[error("the quantized graph is invalid: {0}")]
    Graph(#[from] verdict_specs::model::GraphError),
    /// The quantized model failed to run on a test row.
    #[error("running the int8 model: {0}")]
    Exec(#[from] verdict_executor::ExecError),
}

impl ImportError {
    pub(crate) fn unsupported(node: &str, op: &str, reason: impl Into<String>) -> Self {
        ImportError::Unsupported {
            node: node.to_string(),
            op: op.to_string(),
            reason: reason.into(),
        }
    }
}

/// Result with [`ImportError`].
pub type ImportResult<T> = Result<T, ImportError>;
