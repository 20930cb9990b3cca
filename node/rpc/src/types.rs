//! JSON shapes of the `verdict_*` API.

use alloy::primitives::{Address, B256, Bytes, U64, U256};
use serde::{Deserialize, Serialize};
use verdict_specs::Tensor;
use verdict_specs::l2::block::BlockHeader;
use verdict_specs::l2::request::{InferenceRequest, SignedRequest};
use verdict_specs::l2::withdrawal::{SignedWithdrawal, Withdrawal};

/// A signed inference request as `verdict_sendInference` takes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignedRequestJson {
    /// The signer and payer.
    pub sender: Address,
    /// The sender's next nonce.
    pub nonce: U64,
    /// The model id.
    pub model_id: B256,
    /// The input tensor: `{"dtype": "i8", "shape": [..], "data": [..]}`.
    pub input: Tensor,
    /// Most wei the sender pays.
    pub max_fee: U256,
    /// 65-byte signature `r ‖ s ‖ v` over the EIP-712 digest (specs/l2.md).
    pub signature: Bytes,
}

/// Why a [`SignedRequestJson`] is not a well-formed [`SignedRequest`].
#[derive(Debug, thiserror::Error)]
pub enum RequestShapeError {
    /// The signature is not 65 bytes.
    #[error("signature must be 65 bytes, got {0}")]
    SignatureLength(usize),
    /// The max fee does not fit 128 bits.
    #[error("maxFee {0} is above 2^128 - 1 wei")]
    MaxFeeTooLarge(U256),
    /// A withdrawal's amount does not fit 128 bits.
    #[error("amount {0} is above 2^128 - 1 wei")]
    AmountTooLarge(U256),
}

impl SignedRequestJson {
    /// The JSON form of a signed request.
    pub fn from_signed(signed: &SignedRequest) -> Self {
        let r = &signed.request;
        Self {
            sender: Address::from(r.sender),
            nonce: U64::from(r.nonce),
            model_id: B256::from(r.model_id),
            input: r.input.clone(),
            max_fee: U256::from(r.max_fee),
            signature: Bytes::copy_from_slice(&signed.signature),
        }
    }

    /// The protocol form; fails on a signature of the wrong length or a fee above u128.
    pub fn to_signed(&self) -> Result<SignedRequest, RequestShapeError> {
        let signature: [u8; 65] = self
            .signature
            .as_ref()
            .try_into()
            .map_err(|_| RequestShapeError::SignatureLength(self.signature.len()))?;
        let max_fee = u128::try_from(self.max_fee)
            .map_err(|_| RequestShapeError::MaxFeeTooLarge(self.max_fee))?;
        Ok(SignedRequest {
            request: InferenceRequest {
                sender: self.sender.into_array(),
                nonce: self.nonce.to::<u64>(),
                model_id: self.model_id.0,
                input: self.input.clone(),
                max_fee,
            },
            signature,
        })
    }
}

/// A signed withdrawal as `verdict_sendWithdrawal` takes it (specs/state.md §1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignedWithdrawalJson {
    /// The L2 account debited (the signer).
    pub sender: Address,
    /// The sender's next nonce (shared with inference requests).
    pub nonce: U64,
    /// The L1 address paid once the batch is final.
    pub recipient: Address,
    /// Wei, at least 1.
    pub amount: U256,
    /// 65-byte signature `r ‖ s ‖ v` over the EIP-712 digest.
    pub signature: Bytes,
}

impl SignedWithdrawalJson {
    /// The JSON form of a signed withdrawal.
    pub fn from_signed(signed: &SignedWithdrawal) -> Self {
        let w = &signed.withdrawal;
        Self {
            sender: Address::from(w.sender),
            nonce: U64::from(w.nonce),
            recipient: Address::from(w.recipient),
            amount: U256::from(w.amount),
            signature: Bytes::copy_from_slice(&signed.signature),
        }
    }

    /// The protocol form; fails on a signature of the wrong length or an amount above u128.
    pub fn to_signed(&self) -> Result<SignedWithdrawal, RequestShapeError> {
        let signature: [u8; 65] = self
            .signature
            .as_ref()
            .try_into()
            .map_err(|_| RequestShapeError::SignatureLength(self.signature.len()))?;
        let amount = u128::try_from(self.amount)
            .map_err(|_| RequestShapeError::AmountTooLarge(self.amount))?;
        Ok(SignedWithdrawal {
            withdrawal: Withdrawal {
                sender: self.sender.into_array(),
                nonce: self.nonce.to::<u64>(),
                recipient: self.recipient.into_array(),
                amount,
            },
            signature,
        })
    }
}

/// The answer to `verdict_sendWithdrawal`: sent once the withdrawal is durable in a block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WithdrawalReceipt {
    /// The withdrawal's leaf (its id on L1: `Bridge.claimed(leaf)`).
    pub withdrawal_hash: B256,
    /// The block holding it.
    pub block_number: U64,
    /// Its position among the block's withdrawals.
    pub index: U64,
}

/// Proof that a withdrawal is in the chain up to a batch's output root: `proof` leads
/// from the leaf to `block.withdrawalsRoot`, the headers chain to `outputRoot`. The
/// fields map one to one onto `Bridge.finalizeWithdrawal`'s `WithdrawalInclusion`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WithdrawalInclusion {
    /// Merkle siblings from the leaf to the withdrawals root, leaf level first.
    pub proof: Vec<B256>,
    /// The leaf's position in the block.
    pub index: U64,
    /// The withdrawal's block.
    pub block: BlockHeaderJson,
    /// The headers after it, up to the batch's last block.
    pub later_headers: Vec<BlockHeaderJson>,
    /// The batch's output root.
    pub output_root: B256,
    /// The batch index on L1.
    pub batch_index: U64,
}

/// `verdict_getWithdrawal`'s answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WithdrawalJson {
    /// The leaf.
    pub withdrawal_hash: B256,
    /// Debited L2 account.
    pub sender: Address,
    /// Its nonce.
    pub nonce: U64,
    /// Paid L1 address.
    pub recipient: Address,
    /// Wei.
    pub amount: U256,
    /// The block holding it.
    pub block_number: U64,
    /// Position among the block's withdrawals.
    pub index: U64,
    /// Where its batch stands.
    pub status: Status,
    /// The batch that holds it, once posted.
    pub batch_index: Option<U64>,
    /// The inclusion proof, once posted.
    pub proof: Option<WithdrawalInclusion>,
}

/// The answer to `verdict_sendInference`: sent once the record is durable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InferenceReceipt {
    /// The record's hash (a leaf of the block's records root).
    pub record_hash: B256,
    /// The request's EIP-712 digest.
    pub request_hash: B256,
    /// The model's output.
    pub output: Tensor,
    /// The block the record is in (it may still be open).
    pub block_number: U64,
    /// Position in the block.
    pub index: U64,
    /// Wei charged.
    pub fee: U256,
}

/// Where a record or batch stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// In a block not yet in a batch on L1.
    Pending,
    /// In a batch posted to L1, inside its dispute window.
    Posted,
    /// In a batch L1 has finalized.
    Finalized,
    /// In a batch that L1 reverted.
    Reverted,
}

/// A committed record, as the block holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordJson {
    /// `keccak` of the record's encoding.
    pub record_hash: B256,
    /// The request's EIP-712 digest.
    pub request_hash: B256,
    /// Who paid.
    pub sender: Address,
    /// The sender's nonce.
    pub nonce: U64,
    /// The model.
    pub model_id: B256,
    /// The input tensor's commitment.
    pub input_root: B256,
    /// The output tensor's commitment.
    pub output_root: B256,
    /// The output tensor.
    pub output: Tensor,
    /// Wei paid.
    pub fee: U256,
}

/// Proof that a record is in the chain up to a batch's output root:
/// `recordProof` leads from the record hash to `block.recordsRoot`; each of `laterHeaders`
/// names the previous header's hash as its parent; the last header's hash (or `block`'s,
/// when there are none) is `outputRoot`, the value `Rollup` holds for the batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InclusionProof {
    /// Merkle siblings from the record hash to the records root, leaf level first.
    pub record_proof: Vec<B256>,
    /// The record's position in the block.
    pub index: U64,
    /// The record's block.
    pub block: BlockHeaderJson,
    /// The headers after it, up to the batch's last block.
    pub later_headers: Vec<BlockHeaderJson>,
    /// The batch's output root (its last block's hash).
    pub output_root: B256,
    /// The batch index on L1.
    pub batch_index: U64,
}

/// `verdict_getInference`'s answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InferenceJson {
    /// The record.
    pub record: RecordJson,
    /// The block holding it.
    pub block_number: U64,
    /// That block's hash; null while the block is open.
    pub block_hash: Option<B256>,
    /// Position in the block.
    pub index: U64,
    /// Where it stands.
    pub status: Status,
    /// The batch that holds it, once posted.
    pub batch_index: Option<U64>,
    /// The inclusion proof up to the batch's output root, once posted.
    pub proof: Option<InclusionProof>,
}

/// A block header in JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockHeaderJson {
    /// Height.
    pub number: U64,
    /// This header's hash.
    pub hash: B256,
    /// The parent's hash.
    pub parent_hash: B256,
    /// Seconds since the epoch.
    pub timestamp: U64,
    /// Merkle root over the record hashes.
    pub records_root: B256,
    /// The account tree's root after the block.
    pub state_root: B256,
    /// Deposits consumed after the block.
    pub deposits_consumed: U64,
    /// The withdrawals root.
    pub withdrawals_root: B256,
    /// Records in the block.
    pub record_count: U64,
    /// Withdrawals in the block.
    pub withdrawal_count: U64,
    /// The L1 block whose model fees the block charges.
    pub l1_origin: U64,
}

impl From<&BlockHeader> for BlockHeaderJson {
    fn from(h: &BlockHeader) -> Self {
        Self {
            number: U64::from(h.number),
            hash: B256::from(h.hash()),
            parent_hash: B256::from(h.parent_hash),
            timestamp: U64::from(h.timestamp),
            records_root: B256::from(h.records_root),
            state_root: B256::from(h.state_root),
            deposits_consumed: U64::from(h.deposits_consumed),
            withdrawals_root: B256::from(h.withdrawals_root),
            record_count: U64::from(h.record_count),
            withdrawal_count: U64::from(h.withdrawal_count),
            l1_origin: U64::from(h.l1_origin),
        }
    }
}

impl BlockHeaderJson {
    /// The protocol header (the `hash` field is not trusted: recompute it).
    pub fn to_header(&self) -> BlockHeader {
        BlockHeader {
            number: self.number.to::<u64>(),
            parent_hash: self.parent_hash.0,
            timestamp: self.timestamp.to::<u64>(),
            records_root: self.records_root.0,
            state_root: self.state_root.0,
            deposits_consumed: self.deposits_consumed.to::<u64>(),
            withdrawals_root: self.withdrawals_root.0,
            record_count: self.record_count.saturating_to::<u32>(),
            withdrawal_count: self.withdrawal_count.saturating_to::<u32>(),
            l1_origin: self.l1_origin.to::<u64>(),
        }
    }
}

/// A sealed block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockJson {
    /// The header.
    #[serde(flatten)]
    pub header: BlockHeaderJson,
    /// Deposits the block consumed.
    pub deposit_count: U64,
    /// Record hashes, in order (or full records when asked for).
    pub records: BlockRecords,
    /// Status of the block's batch.
    pub status: Status,
}

/// A block's records: hashes, or whole records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BlockRecords {
    /// Record hashes only.
    Hashes(Vec<B256>),
    /// Whole records.
    Full(Vec<RecordJson>),
}

/// `verdict_getBatch`'s answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchJson {
    /// Index on L1.
    pub index: U64,
    /// First L2 block.
    pub first_block: U64,
    /// Last L2 block.
    pub last_block: U64,
    /// The last block's hash.
    pub output_root: B256,
    /// The batch data hash L1 computed.
    pub data_hash: B256,
    /// The L1 transaction that posted it.
    pub l1_transaction: B256,
    /// The L1 block that included it.
    pub l1_block: U64,
    /// The L1 block from which it can be finalized.
    pub window_end: U64,
    /// Where it stands.
    pub status: Status,
}

/// What `verdict_prepareInference` answers: the request a wallet signs, ready.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreparedInference {
    /// The request as `verdict_sendInference` takes it, without `signature`: add the
    /// wallet's signature of `typedData` and send it.
    pub request: UnsignedRequestJson,
    /// The input tensor's commitment (the typed data's `input`).
    pub input_commitment: B256,
    /// The EIP-712 digest the signature is over (also the record's request hash).
    pub request_hash: B256,
    /// The EIP-712 typed data in `eth_signTypedData_v4` form: `types`, `primaryType`,
    /// `domain`, `message` (integers as decimal strings, bytes and addresses as hex).
    pub typed_data: serde_json::Value,
}

/// A request before it is signed: [`SignedRequestJson`] without the signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UnsignedRequestJson {
    /// The signer and payer.
    pub sender: Address,
    /// The sender's next nonce.
    pub nonce: U64,
    /// The model id.
    pub model_id: B256,
    /// The quantized input tensor.
    pub input: Tensor,
    /// Most wei the sender pays.
    pub max_fee: U256,
}

/// Part of a model file, from `verdict_getModelFile`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelFileChunk {
    /// The model id the file is of.
    pub id: B256,
    /// The whole file's length in bytes.
    pub total_bytes: U64,
    /// Where `data` starts in the file.
    pub offset: U64,
    /// The bytes.
    pub data: Bytes,
    /// Where the next chunk starts, or null after the last one.
    pub next_offset: Option<U64>,
}

/// Where an upload stands, from `verdict_uploadModelFile`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelUploadJson {
    /// The model the file is of.
    pub model_id: B256,
    /// Bytes taken so far.
    pub received_bytes: U64,
    /// The file's length.
    pub total_bytes: U64,
    /// Whether the whole file arrived and was checked against the id and stored.
    pub complete: bool,
}

/// A registered model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelJson {
    /// The model id.
    pub id: B256,
    /// Its registered name.
    pub name: String,
    /// Keccak of the canonical graph.
    pub graph_hash: B256,
    /// Merkle root of the weights.
    pub weights_root: B256,
    /// Ops in the graph.
    pub op_count: U64,
    /// The input shape.
    pub input_shape: Vec<u32>,
    /// The input's dtype: `i8`, or `i32` for models that compare raw features with
    /// thresholds (tree ensembles), whose quantization clamps to `±(2^31 - 1)`.
    #[serde(default = "i8_name")]
    pub input_dtype: String,
    /// The output shape.
    pub output_shape: Vec<u32>,
    /// The output's dtype (`i8` or `i32`).
    pub output_dtype: String,
    /// `"classification"` (the output is a class, or scores whose argmax is the class) or
    /// `"regression"` (the output is real values: `value = output * outputScale`).
    pub task: String,
    /// Float scale of the output (`value = output * outputScale`); 0 for a class label.
    pub output_scale: f32,
    /// Float scale of the input, `q = clamp(floor(x / inputScale + 1/2), -m, m)` (`m` =
    /// 127 for i8, `2^31 - 1` for i32) for every feature, unless `inputFeatures` gives one scale and offset per feature.
    pub input_scale: f32,
    /// How many float features one inference takes (the input's element count, in the
    /// order `verdict model run` reads them).
    pub feature_count: u64,
    /// Per-feature input quantization, `q = clamp(floor((x - offset) / scale + 1/2), ..)`,
    /// one entry per input element; absent when `inputScale` holds for every feature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_features: Option<Vec<FeatureQuantJson>>,
    /// Wei per inference.
    pub fee_per_inference: U256,
}

fn i8_name() -> String {
    "i8".into()
}

/// How one input feature is quantized.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureQuantJson {
    /// Divides `x - offset`.
    pub scale: f32,
    /// Subtracted from the feature first.
    pub offset: f32,
}

/// An L2 account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountJson {
    /// Wei held on L2.
    pub balance: U256,
    /// The nonce the account's next request must carry.
    pub nonce: U64,
}

/// `verdict_chainInfo`'s answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainInfo {
    /// The L1 chain id (also the EIP-712 domain's chain id).
    pub l1_chain_id: U64,
    /// The `Rollup` contract (also the EIP-712 domain's verifying contract).
    pub rollup: Address,
    /// The `Bridge` contract.
    pub bridge: Address,
    /// The `ModelRegistry` contract.
    pub model_registry: Address,
    /// The sequencer's address (fees go to its L2 account).
    pub sequencer: Address,
    /// The dispute window, in L1 blocks.
    pub dispute_window: U64,
    /// The L2 genesis block's hash.
    pub genesis_hash: B256,
    /// Most records per block.
    pub max_block_records: U64,
}

/// What `verdict_subscribe` can follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SubscriptionKind {
    /// Every sealed block's header.
    #[serde(rename = "newHeads")]
    NewHeads,
    /// Every batch status change (posted, reverted).
    #[serde(rename = "batches")]
    Batches,
    /// Every batch that becomes final.
    #[serde(rename = "finalized")]
    Finalized,
}

/// One subscription notification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SubscriptionEvent {
    /// A sealed block (`newHeads`).
    Head(BlockHeaderJson),
    /// A batch (`batches`, `finalized`).
    Batch(BatchJson),
}
