//! JSON-RPC error objects, with the codes geth and anvil use, so client libraries
//! recognise them: -32000 for a refused transaction or an unknown block, 3 for a revert
//! (with the revert bytes as `data`), -32602 for malformed parameters, -32603 for a
//! failure of the chain itself.

use super::super::error::{CallError, DevChainError};
use jsonrpsee::types::ErrorObjectOwned;

/// geth's "server error" code, used for every refused transaction.
pub(crate) const SERVER_ERROR: i32 = -32000;
/// geth's code for `execution reverted`.
pub(crate) const REVERTED: i32 = 3;
/// JSON-RPC's invalid params.
pub(crate) const INVALID_PARAMS: i32 = -32602;
/// JSON-RPC's internal error.
pub(crate) const INTERNAL: i32 = -32603;

pub(crate) fn server_error(message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(SERVER_ERROR, message, None::<()>)
}

pub(crate) fn invalid_params(message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(INVALID_PARAMS, message, None::<()>)
}

/// geth's answer for a state query at a block that does not exist.
pub(crate) fn header_not_found() -> ErrorObjectOwned {
    server_error("header not found")
}

pub(crate) fn chain_error(error: DevChainError) -> ErrorObjectOwned {
    match error {
        DevChainError::Rejected(tx) => server_error(tx.to_string()),
        DevChainError::Timestamp { .. } => server_error(error.to_string()),
        other => ErrorObjectOwned::owned(INTERNAL, other.to_string(), None::<()>),
    }
}

pub(crate) fn call_error(error: CallError) -> ErrorObjectOwned {
    match &error {
        CallError::Reverted { output, .. } => {
            ErrorObjectOwned::owned(REVERTED, error.to_string(), Some(output.clone()))
        }
        CallError::BadRequest(_) => invalid_params(error.to_string()),
        _ => server_error(error.to_string()),
    }
}
