//! `InferenceRecord`: what a block commits to for one answered request.

use crate::encoding::{DecodeError, Reader, Writer};
use crate::hash::{Hash, keccak};
use crate::tensor::Tensor;

use super::request::{SignedRequest, SigningDomain};
use super::{Address, domain};

/// One executed request: the signed request, the output the sequencer claims, the fee paid.
/// This is what batch data carries per inference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InferenceTx {
    /// The request as signed.
    pub signed: SignedRequest,
    /// The model's output on the request's input.
    pub output: Tensor,
    /// Wei charged: the model's registered fee, at most the request's `max_fee`.
    pub fee: u128,
}

impl InferenceTx {
    /// Canonical bytes: the signed request, the output tensor, the fee.
    pub fn encode(&self, w: &mut Writer) {
        self.signed.encode(w);
        self.output.encode(w);
        w.raw(&self.fee.to_be_bytes());
    }

    /// Decodes [`Self::encode`]'s output from untrusted bytes.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let signed = r.field("signed request", SignedRequest::decode)?;
        let output = r.field("output", Tensor::decode)?;
        let fee = u128::from_be_bytes(r.field("fee", |r| r.array::<16>())?);
        Ok(Self {
            signed,
            output,
            fee,
        })
    }

    /// The record this transaction commits to under `domain`.
    pub fn record(&self, domain: &SigningDomain) -> InferenceRecord {
        let request = &self.signed.request;
        let input_root = request.input.commitment();
        InferenceRecord {
            request_hash: request.signing_hash_with(domain, &input_root),
            sender: request.sender,
            model_id: request.model_id,
            input_root,
            output_root: self.output.commitment(),
            fee: self.fee,
        }
    }
}

/// The committed summary of one inference; its hash is a leaf of the block's records root.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InferenceRecord {
    /// The request's EIP-712 digest (binds sender, nonce, model, input, max fee, rollup).
    #[serde(with = "crate::hash::serde_hex")]
    pub request_hash: Hash,
    /// Who paid.
    #[serde(with = "hex_address")]
    pub sender: Address,
    /// The model run.
    #[serde(with = "crate::hash::serde_hex")]
    pub model_id: Hash,
    /// The input tensor's commitment.
    #[serde(with = "crate::hash::serde_hex")]
    pub input_root: Hash,
    /// The output tensor's commitment.
    #[serde(with = "crate::hash::serde_hex")]
    pub output_root: Hash,
    /// Wei paid.
    #[serde(with = "crate::hash::serde_u128")]
    pub fee: u128,
}

/// Bytes of [`InferenceRecord::encode`].
pub const RECORD_BYTES: usize = 1 + 32 + 20 + 32 + 32 + 32 + 16;

impl InferenceRecord {
    /// `0x06 ‖ request_hash ‖ sender ‖ model_id ‖ input_root ‖ output_root ‖ fee(u128)`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(RECORD_BYTES);
        out.push(domain::RECORD);
        out.extend_from_slice(&self.request_hash);
        out.extend_from_slice(&self.sender);
        out.extend_from_slice(&self.model_id);
        out.extend_from_slice(&self.input_root);
        out.extend_from_slice(&self.output_root);
        out.extend_from_slice(&self.fee.to_be_bytes());
        out
    }

    /// The record hash: `keccak(encode())`, a leaf of the records tree as is (its domain
    /// byte keeps it apart from inner nodes).
    pub fn hash(&self) -> Hash {
        keccak(&[&self.encode()])
    }
}

/// Serde adapter for a 20-byte address as `0x` hex.
pub mod hex_address {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    /// Serializes as `0x` hex.
    pub fn serialize<S: Serializer>(a: &[u8; 20], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(a)))
    }

    /// Deserializes `0x` hex of 20 bytes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 20], D::Error> {
        let text = String::deserialize(d)?;
        let bytes = hex::decode(text.trim_start_matches("0x")).map_err(D::Error::custom)?;
        bytes
            .try_into()
            .map_err(|_| D::Error::custom("an address is 20 bytes"))
    }
}
