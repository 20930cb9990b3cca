//! Admission: the checks a request passes before it reaches the chain, in the order a
//! client most wants to hear about them. Everything here is stateless (runs on the RPC
//! worker threads, in parallel); the nonce and balance checks need the chain's state and
//! run in the block builder.

use std::sync::Arc;

use serde_json::json;
use verdict_rpc::types::{SignedRequestJson, SignedWithdrawalJson};
use verdict_rpc::{ErrorCode, RpcError};
use verdict_specs::Hash;
use verdict_specs::interpreter::{InputError, check_input};
use verdict_specs::l2::request::{SignedRequest, SigningDomain};
use verdict_specs::l2::withdrawal::SignedWithdrawal;

use verdict_models::{ModelSet, ServedModel};

/// A request that passed every stateless check.
pub struct Admitted {
    /// The request and its signature.
    pub signed: SignedRequest,
    /// Its EIP-712 digest.
    pub request_hash: Hash,
    /// The input's commitment.
    pub input_root: Hash,
    /// The model it runs.
    pub model: Arc<ServedModel>,
    /// Executed again after a roll-back (never given a fault).
    pub replayed: bool,
}

/// Checks shape, model, input, fee limit and signature.
pub fn admit(
    json: &SignedRequestJson,
    models: &ModelSet,
    domain: &SigningDomain,
) -> Result<Admitted, RpcError> {
    let signed = json
        .to_signed()
        .map_err(|e| RpcError::new(ErrorCode::BadRequest, e.to_string()))?;
    let request = &signed.request;
    let model = models.get(&request.model_id).ok_or_else(|| {
        RpcError::new(
            ErrorCode::UnknownModel,
            format!("no model with id {} is served here", json.model_id),
        )
    })?;
    check_input(&model.model, &request.input).map_err(input_error)?;
    if request.max_fee < model.fee {
        return Err(RpcError::new(
            ErrorCode::FeeTooLow,
            format!(
                "maxFee {} wei is below the fee of model {} ({} wei)",
                request.max_fee, model.name, model.fee
            ),
        )
        .with_data(json!({"maxFee": request.max_fee.to_string(), "fee": model.fee.to_string()})));
    }
    let input_root = request.input.commitment();
    let request_hash = request.signing_hash_with(domain, &input_root);
    let signer = recover(&signed.signature, &request_hash)?;
    if signer != json.sender {
        return Err(RpcError::new(
            ErrorCode::InvalidSignature,
            format!(
                "the signature recovers to {signer}, not the sender {}",
                json.sender
            ),
        ));
    }
    Ok(Admitted {
        request_hash,
        input_root,
        model,
        signed,
        replayed: false,
    })
}

/// The signer under the protocol's rules (low `s`, `v` 27/28 or 0/1): a signature L1's
/// state one-step verifier would refuse must never enter a block.
pub(crate) fn recover(
    signature: &[u8; 65],
    digest: &Hash,
) -> Result<alloy::primitives::Address, RpcError> {
    verdict_specs::l2::signature::recover_signer(signature, digest)
        .map(alloy::primitives::Address::from)
        .map_err(|e| RpcError::new(ErrorCode::InvalidSignature, format!("the {e}")))
}

/// Checks a withdrawal before the builder sees it: shape, amount and signature. Nonce
/// and balance are checked by the builder against the live state.
pub fn admit_withdrawal(
    json: &SignedWithdrawalJson,
    domain: &SigningDomain,
) -> Result<SignedWithdrawal, RpcError> {
    let signed = json
        .to_signed()
        .map_err(|e| RpcError::new(ErrorCode::BadRequest, e.to_string()))?;
    if signed.withdrawal.amount == 0 {
        return Err(RpcError::new(
            ErrorCode::BadRequest,
            "a withdrawal must move at least 1 wei",
        ));
    }
    let signer = recover(&signed.signature, &signed.withdrawal.signing_hash(domain))?;
    if signer != json.sender {
        return Err(RpcError::new(
            ErrorCode::InvalidSignature,
            format!(
                "the signature recovers to {signer}, not the sender {}",
                json.sender
            ),
        ));
    }
    Ok(signed)
}

fn input_error(e: InputError) -> RpcError {
    let code = match e {
        InputError::Range { .. } => ErrorCode::InputRange,
        _ => ErrorCode::InputShape,
    };
    RpcError::new(code, format!("input: {e}"))
}
