//! Stable error codes of the `verdict` API.
//!
//! JSON-RPC reserves -32768..-32000; jsonrpsee answers malformed JSON (-32700), unknown
//! methods (-32601), bad parameters (-32602), oversized requests (-32007) and too many
//! calls in a batch (-32010) itself. Verdict's own codes are positive, grouped by what
//! the client should do: 1xxx means "this request can never succeed as sent", 2xxx "it
//! may succeed later", 3xxx "the node is at fault". The table is in `docs/rpc.md`; a
//! code never changes meaning once released.

use jsonrpsee::types::ErrorObjectOwned;
use serde::Serialize;

/// Every Verdict error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum ErrorCode {
    /// A field is malformed beyond what the JSON schema catches (signature length, fee above u128).
    BadRequest = 1000,
    /// The signature does not recover to the request's sender.
    InvalidSignature = 1001,
    /// The nonce was already used by this sender (a replay).
    NonceTooLow = 1002,
    /// The nonce is ahead of the sender's next nonce; requests run in nonce order.
    NonceTooHigh = 1003,
    /// No model with this id (or name) is served.
    UnknownModel = 1004,
    /// The input tensor's dtype or shape is not the model's input.
    InputShape = 1005,
    /// An input value is outside the allowed int8 range [-127, 127].
    InputRange = 1006,
    /// `maxFee` is below the model's fee.
    FeeTooLow = 1007,
    /// An uploaded model file is refused: its bytes are not the model of the id they
    /// were sent for, it is over the node's size limit, or a chunk is out of order.
    ModelFileRejected = 1008,
    /// The sender's L2 balance cannot pay the fee.
    InsufficientBalance = 2001,
    /// The sequencer is shutting down or cannot take requests now; retry elsewhere or later.
    Unavailable = 2002,
    /// The node failed internally (storage, executor); the request was not recorded.
    Internal = 3000,
}

impl ErrorCode {
    /// The numeric code.
    pub fn code(self) -> i32 {
        self as i32
    }

    /// Every code, in table order (for docs and tests).
    pub const ALL: [ErrorCode; 12] = [
        Self::BadRequest,
        Self::InvalidSignature,
        Self::NonceTooLow,
        Self::NonceTooHigh,
        Self::UnknownModel,
        Self::InputShape,
        Self::InputRange,
        Self::FeeTooLow,
        Self::ModelFileRejected,
        Self::InsufficientBalance,
        Self::Unavailable,
        Self::Internal,
    ];
}

/// An error with a code, a message naming the problem, and optional structured data.
#[derive(Clone, Debug, PartialEq)]
pub struct RpcError {
    /// The code.
    pub code: ErrorCode,
    /// What is wrong, in words a client can show.
    pub message: String,
    /// Machine-readable details (expected vs actual values).
    pub data: Option<serde_json::Value>,
}

impl RpcError {
    /// An error without data.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// Attaches structured data.
    pub fn with_data(mut self, data: impl Serialize) -> Self {
        self.data = serde_json::to_value(data).ok();
        self
    }
}

impl std::fmt::Display for RpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (code {})", self.message, self.code.code())
    }
}

impl std::error::Error for RpcError {}

impl From<RpcError> for ErrorObjectOwned {
    fn from(e: RpcError) -> Self {
        ErrorObjectOwned::owned(e.code.code(), e.message, e.data)
    }
}
