//! Signing requests as a client: the EIP-712 digest of `verdict_specs`, signed with a
//! local secp256k1 key.

use alloy::primitives::B256;
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use verdict_specs::l2::request::{InferenceRequest, SignedRequest, SigningDomain};

use super::types::{ChainInfo, SignedRequestJson};

/// The signing domain a node announces in `verdict_chainInfo`.
pub fn domain_of(info: &ChainInfo) -> SigningDomain {
    SigningDomain {
        chain_id: info.l1_chain_id.to::<u64>(),
        rollup: info.rollup.into_array(),
    }
}

/// Signs `request` (whose `sender` must be `signer`'s address) for `domain`.
pub fn sign_request(
    signer: &PrivateKeySigner,
    request: InferenceRequest,
    domain: &SigningDomain,
) -> Result<SignedRequest, alloy::signers::Error> {
    let digest = B256::from(request.signing_hash(domain));
    let signature = signer.sign_hash_sync(&digest)?;
    Ok(SignedRequest {
        request,
        signature: signature.as_bytes(),
    })
}

/// [`sign_request`], in the JSON form `verdict_sendInference` takes.
pub fn sign_request_json(
    signer: &PrivateKeySigner,
    request: InferenceRequest,
    domain: &SigningDomain,
) -> Result<SignedRequestJson, alloy::signers::Error> {
    sign_request(signer, request, domain).map(|s| SignedRequestJson::from_signed(&s))
}

/// The request as `eth_signTypedData_v4` typed data (defined in `verdict_specs`, whose
/// shared vectors the client libraries check).
pub use verdict_specs::l2::request::typed_data_json;

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::sol_types::{SolStruct, eip712_domain};
    use verdict_specs::Tensor;

    alloy::sol! {
        struct InferenceRequest {
            address sender;
            uint64 nonce;
            bytes32 modelId;
            bytes32 input;
            uint256 maxFee;
        }
    }

    /// The typed-data JSON hashes, by alloy's `eth_signTypedData_v4` implementation, to
    /// the digest `verdict_specs` signs.
    #[test]
    fn the_typed_data_json_hashes_to_the_signing_hash() {
        let domain = SigningDomain {
            chain_id: 31337,
            rollup: [0x42; 20],
        };
        let request = verdict_specs::l2::request::InferenceRequest {
            sender: [7; 20],
            nonce: 5,
            model_id: [9; 32],
            input: Tensor::from_i8(vec![2], vec![1, -1]).expect("tensor"),
            max_fee: u128::MAX,
        };
        let json = typed_data_json(&request, &domain);
        let typed: alloy::dyn_abi::TypedData = serde_json::from_value(json).expect("typed data");
        assert_eq!(
            typed.eip712_signing_hash().expect("hashes"),
            B256::from(request.signing_hash(&domain))
        );
    }

    /// The digest `verdict_specs` computes by hand equals alloy's EIP-712 implementation
    /// (what wallets such as MetaMask and ethers compute for `eth_signTypedData_v4`).
    #[test]
    fn the_specs_digest_is_standard_eip712() {
        let rollup = alloy::primitives::Address::repeat_byte(0x42);
        let domain = SigningDomain {
            chain_id: 31337,
            rollup: rollup.into_array(),
        };
        let request = verdict_specs::l2::request::InferenceRequest {
            sender: [7; 20],
            nonce: 5,
            model_id: [9; 32],
            input: Tensor::from_i8(vec![2], vec![1, -1]).expect("tensor"),
            max_fee: 123,
        };
        let typed = InferenceRequest {
            sender: request.sender.into(),
            nonce: request.nonce,
            modelId: request.model_id.into(),
            input: request.input.commitment().into(),
            maxFee: alloy::primitives::U256::from(request.max_fee),
        };
        let alloy_domain = eip712_domain! {
            name: "Verdict",
            version: "1",
            chain_id: 31337,
            verifying_contract: rollup,
        };
        assert_eq!(
            typed.eip712_signing_hash(&alloy_domain).0,
            request.signing_hash(&domain)
        );
    }

    #[test]
    fn a_signature_recovers_to_the_signer() {
        let signer = PrivateKeySigner::random();
        let domain = SigningDomain {
            chain_id: 1,
            rollup: [1; 20],
        };
        let request = verdict_specs::l2::request::InferenceRequest {
            sender: signer.address().into_array(),
            nonce: 0,
            model_id: [0; 32],
            input: Tensor::from_i8(vec![1], vec![3]).expect("tensor"),
            max_fee: 1,
        };
        let signed = sign_request(&signer, request, &domain).expect("signs");
        let sig = alloy::primitives::Signature::from_raw(&signed.signature).expect("65 bytes");
        let recovered = sig
            .recover_address_from_prehash(&B256::from(signed.request.signing_hash(&domain)))
            .expect("recovers");
        assert_eq!(recovered, signer.address());
    }
}
