//! `InferenceRequest`: what a user signs (EIP-712 typed data).
//!
//! The typed-data struct is
//! `InferenceRequest(address sender,uint64 nonce,bytes32 modelId,bytes32 input,uint256 maxFee)`
//! where `input` is the input tensor's commitment ([`Tensor::commitment`]), under the
//! domain `EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)`
//! with name `"Verdict"`, version `"1"`, the **L1** chain id and the `Rollup` address. The
//! L1 chain id and the Rollup address together name one rollup, so a request signed for
//! one deployment is worthless on any other; a contract on L1 can recompute the digest
//! with `block.chainid` and `address(this)`-style constants.
//!
//! The request hash (the record's `request_hash`) is the EIP-712 digest itself:
//! `keccak(0x19 ‖ 0x01 ‖ domainSeparator ‖ structHash)`, the exact value a wallet signs.

use crate::encoding::{DecodeError, Reader, Writer};
use crate::hash::{Hash, keccak};
use crate::tensor::Tensor;

use super::Address;

/// The EIP-712 type string of the request struct.
pub const REQUEST_TYPE: &str =
    "InferenceRequest(address sender,uint64 nonce,bytes32 modelId,bytes32 input,uint256 maxFee)";
/// The EIP-712 type string of the domain.
pub const DOMAIN_TYPE: &str =
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";
/// The domain's `name`.
pub const DOMAIN_NAME: &str = "Verdict";
/// The domain's `version`.
pub const DOMAIN_VERSION: &str = "1";

/// The rollup a request is signed for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigningDomain {
    /// The L1 chain id.
    pub chain_id: u64,
    /// The `Rollup` contract's address on L1.
    pub rollup: Address,
}

impl SigningDomain {
    /// The EIP-712 domain separator.
    pub fn separator(&self) -> Hash {
        keccak(&[
            &keccak(&[DOMAIN_TYPE.as_bytes()]),
            &keccak(&[DOMAIN_NAME.as_bytes()]),
            &keccak(&[DOMAIN_VERSION.as_bytes()]),
            &word_u128(self.chain_id.into()),
            &word_address(&self.rollup),
        ])
    }
}

/// A request to run `model_id` on `input`, paying at most `max_fee` wei.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InferenceRequest {
    /// The account that signs and pays.
    pub sender: Address,
    /// The sender's next nonce: requests from one sender run in nonce order, each once.
    pub nonce: u64,
    /// The model's id.
    pub model_id: Hash,
    /// The input tensor (int8, the model's input shape).
    pub input: Tensor,
    /// The most the sender agrees to pay, in wei.
    pub max_fee: u128,
}

impl InferenceRequest {
    /// The EIP-712 struct hash; `input_commitment` is `self.input.commitment()`, passed in
    /// because callers usually have it already.
    pub fn struct_hash_with(&self, input_commitment: &Hash) -> Hash {
        struct_hash(
            &self.sender,
            self.nonce,
            &self.model_id,
            input_commitment,
            self.max_fee,
        )
    }

    /// The EIP-712 digest a wallet signs; also the request's hash.
    pub fn signing_hash(&self, domain: &SigningDomain) -> Hash {
        self.signing_hash_with(domain, &self.input.commitment())
    }

    /// [`Self::signing_hash`] with the input commitment already known.
    pub fn signing_hash_with(&self, domain: &SigningDomain, input_commitment: &Hash) -> Hash {
        keccak(&[
            &[0x19, 0x01],
            &domain.separator(),
            &self.struct_hash_with(input_commitment),
        ])
    }

    /// Canonical bytes: sender, nonce, model id, max fee, then the input tensor.
    pub fn encode(&self, w: &mut Writer) {
        w.raw(&self.sender);
        w.raw(&self.nonce.to_be_bytes());
        w.raw(&self.model_id);
        w.raw(&self.max_fee.to_be_bytes());
        self.input.encode(w);
    }

    /// Decodes [`Self::encode`]'s output from untrusted bytes.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let sender = r.field("sender", |r| r.array::<20>())?;
        let nonce = u64::from_be_bytes(r.field("nonce", |r| r.array::<8>())?);
        let model_id = r.field("model id", |r| r.array::<32>())?;
        let max_fee = u128::from_be_bytes(r.field("max fee", |r| r.array::<16>())?);
        let input = r.field("input", Tensor::decode)?;
        Ok(Self {
            sender,
            nonce,
            model_id,
            input,
            max_fee,
        })
    }
}

/// The EIP-712 typed data of `request` in the JSON form `eth_signTypedData_v4` takes
/// (MetaMask, ethers, viem, `eth_account.Account.sign_typed_data`): the digest a wallet
/// computes from it is [`InferenceRequest::signing_hash`]. Integers are decimal strings
/// (a `uint256` may pass 2^53), addresses checksummed, bytes `0x` hex.
pub fn typed_data_json(request: &InferenceRequest, domain: &SigningDomain) -> serde_json::Value {
    let field = |name: &str, ty: &str| serde_json::json!({"name": name, "type": ty});
    let address = |a: &Address| alloy_primitives::Address::from(*a).to_checksum(None);
    serde_json::json!({
        "types": {
            "EIP712Domain": [
                field("name", "string"),
                field("version", "string"),
                field("chainId", "uint256"),
                field("verifyingContract", "address"),
            ],
            "InferenceRequest": [
                field("sender", "address"),
                field("nonce", "uint64"),
                field("modelId", "bytes32"),
                field("input", "bytes32"),
                field("maxFee", "uint256"),
            ],
        },
        "primaryType": "InferenceRequest",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": domain.chain_id,
            "verifyingContract": address(&domain.rollup),
        },
        "message": {
            "sender": address(&request.sender),
            "nonce": request.nonce.to_string(),
            "modelId": crate::hash::to_hex(&request.model_id),
            "input": crate::hash::to_hex(&request.input.commitment()),
            "maxFee": request.max_fee.to_string(),
        },
    })
}

/// The EIP-712 struct hash of a request from its fields (the input by its commitment).
pub fn struct_hash(
    sender: &Address,
    nonce: u64,
    model_id: &Hash,
    input_commitment: &Hash,
    max_fee: u128,
) -> Hash {
    keccak(&[
        &keccak(&[REQUEST_TYPE.as_bytes()]),
        &word_address(sender),
        &word_u128(nonce.into()),
        model_id,
        input_commitment,
        &word_u128(max_fee),
    ])
}

/// A 65-byte secp256k1 signature `r ‖ s ‖ v` (v is 27 or 28, or 0 or 1).
pub type SignatureBytes = [u8; 65];

/// A request with its signature, as it travels and as batch data carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedRequest {
    /// The request.
    pub request: InferenceRequest,
    /// The sender's signature over [`InferenceRequest::signing_hash`].
    pub signature: SignatureBytes,
}

impl SignedRequest {
    /// Canonical bytes: the request, then the signature.
    pub fn encode(&self, w: &mut Writer) {
        self.request.encode(w);
        w.raw(&self.signature);
    }

    /// Decodes [`Self::encode`]'s output from untrusted bytes.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let request = r.field("request", InferenceRequest::decode)?;
        let signature = r.field("signature", |r| r.array::<65>())?;
        Ok(Self { request, signature })
    }
}

pub(crate) fn word_u128(value: u128) -> [u8; 32] {
    let mut word = [0u8; 32];
    word[16..].copy_from_slice(&value.to_be_bytes());
    word
}

pub(crate) fn word_address(address: &Address) -> [u8; 32] {
    let mut word = [0u8; 32];
    word[12..].copy_from_slice(address);
    word
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::Reader;

    fn request() -> InferenceRequest {
        InferenceRequest {
            sender: [0x11; 20],
            nonce: 7,
            model_id: [0x22; 32],
            input: Tensor::from_i8(vec![2, 2], vec![1, -2, 3, -4]).expect("tensor"),
            max_fee: 1_000,
        }
    }

    #[test]
    fn encoding_round_trips() {
        let signed = SignedRequest {
            request: request(),
            signature: [9; 65],
        };
        let mut w = Writer::new();
        signed.encode(&mut w);
        let bytes = w.finish();
        let mut r = Reader::new(&bytes);
        assert_eq!(SignedRequest::decode(&mut r).expect("decodes"), signed);
        r.finish().expect("nothing left");
    }

    #[test]
    fn the_digest_binds_every_field_and_the_domain() {
        let domain = SigningDomain {
            chain_id: 1,
            rollup: [0x33; 20],
        };
        let base = request().signing_hash(&domain);
        let mut other = request();
        other.nonce += 1;
        assert_ne!(other.signing_hash(&domain), base);
        let mut other = request();
        other.max_fee += 1;
        assert_ne!(other.signing_hash(&domain), base);
        let mut other = request();
        other.input = Tensor::from_i8(vec![4], vec![1, -2, 3, -4]).expect("tensor");
        assert_ne!(other.signing_hash(&domain), base, "the shape is committed");
        let other_chain = SigningDomain {
            chain_id: 2,
            ..domain
        };
        assert_ne!(request().signing_hash(&other_chain), base);
    }
}
