//! Signatures over requests and withdrawals (specs/state.md §1): 65 bytes `r ‖ s ‖ v`,
//! `v` 27/28 or 0/1, `r` and `s` non-zero, `s` in the lower half of the curve order
//! (EIP-2). L1's `StateStepVerifier` applies the same rules before `ecrecover`, so a
//! signature is valid on L2 exactly when it is valid on L1.

use alloy_primitives::{B256, Signature, U256};

use crate::hash::Hash;

use super::Address;
use super::request::SignatureBytes;

/// `n / 2` for secp256k1: the largest `s` a valid signature may carry.
const HALF_ORDER: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
];

/// Why a signature is not valid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// `v` is not 27, 28, 0 or 1.
    #[error("signature v = {0} is not 27, 28, 0 or 1")]
    V(u8),
    /// `r` or `s` is zero.
    #[error("signature r or s is zero")]
    Zero,
    /// `s` is in the upper half of the curve order (a malleable signature).
    #[error("signature s is above n/2 (EIP-2): sign with a low-s signer")]
    HighS,
    /// No public key recovers.
    #[error("no public key recovers from the signature")]
    Unrecoverable,
}

/// The address that signed `digest`, under the rules above.
pub fn recover_signer(
    signature: &SignatureBytes,
    digest: &Hash,
) -> Result<Address, SignatureError> {
    let v = signature[64];
    let parity = match v {
        27 | 0 => false,
        28 | 1 => true,
        other => return Err(SignatureError::V(other)),
    };
    let r = &signature[..32];
    let s = &signature[32..64];
    if r.iter().all(|&b| b == 0) || s.iter().all(|&b| b == 0) {
        return Err(SignatureError::Zero);
    }
    if s > &HALF_ORDER[..] {
        return Err(SignatureError::HighS);
    }
    let sig = Signature::new(U256::from_be_slice(r), U256::from_be_slice(s), parity);
    sig.recover_address_from_prehash(&B256::from(*digest))
        .map(|address| address.into_array())
        .map_err(|_| SignatureError::Unrecoverable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_signatures_are_refused_before_recovery() {
        let digest = [7u8; 32];
        let mut sig = [1u8; 65];
        sig[64] = 29;
        assert_eq!(recover_signer(&sig, &digest), Err(SignatureError::V(29)));
        sig[64] = 27;
        sig[32..64].fill(0);
        assert_eq!(recover_signer(&sig, &digest), Err(SignatureError::Zero));
        sig[32..64].fill(0xff);
        assert_eq!(recover_signer(&sig, &digest), Err(SignatureError::HighS));
        sig[32..64].copy_from_slice(&HALF_ORDER);
        assert_ne!(recover_signer(&sig, &digest), Err(SignatureError::HighS));
    }
}
