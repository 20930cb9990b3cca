//! The `verdict` namespace as a jsonrpsee trait.

use alloy::primitives::{Address, B256, U64};
use jsonrpsee::core::{RpcResult, SubscriptionResult};
use jsonrpsee::proc_macros::rpc;

use super::types::{
    AccountJson, BatchJson, BlockJson, ChainInfo, InferenceJson, InferenceReceipt, ModelFileChunk,
    ModelJson, ModelUploadJson, PreparedInference, SignedRequestJson, SignedWithdrawalJson,
    SubscriptionEvent, SubscriptionKind, WithdrawalJson, WithdrawalReceipt,
};

/// Most bytes one `verdict_getModelFile` call returns (hex doubles them in the answer,
/// well below the server's response limit).
pub const MODEL_FILE_CHUNK_MAX: u64 = 1 << 20;

/// A block tag or number: `"latest"`, `"earliest"`, or a hex quantity.
pub type BlockTag = String;

/// Methods of the `verdict` namespace; `specs/openrpc.json` describes each.
#[rpc(server, client, namespace = "verdict")]
pub trait VerdictApi {
    /// Checks, executes and records a signed request; answers once the record is durable.
    #[method(name = "sendInference")]
    async fn send_inference(&self, request: SignedRequestJson) -> RpcResult<InferenceReceipt>;

    /// A record by hash, with its status and (once posted) its inclusion proof.
    #[method(name = "getInference")]
    async fn get_inference(&self, record_hash: B256) -> RpcResult<Option<InferenceJson>>;

    /// Debits the sender's L2 balance for a withdrawal to L1 (specs/state.md §1); answers
    /// once the withdrawal is durable in a block. Claim it on L1 with
    /// `Bridge.finalizeWithdrawal` once its batch is final (`verdict bridge prove`).
    #[method(name = "sendWithdrawal")]
    async fn send_withdrawal(
        &self,
        withdrawal: SignedWithdrawalJson,
    ) -> RpcResult<WithdrawalReceipt>;

    /// A withdrawal by its hash (leaf), with its batch status and, once posted, the
    /// inclusion proof `Bridge.finalizeWithdrawal` takes.
    #[method(name = "getWithdrawal")]
    async fn get_withdrawal(&self, withdrawal_hash: B256) -> RpcResult<Option<WithdrawalJson>>;

    /// The latest sealed block's number.
    #[method(name = "blockNumber")]
    async fn block_number(&self) -> RpcResult<U64>;

    /// A sealed block by number or tag; `full` gives whole records instead of hashes.
    #[method(name = "getBlockByNumber")]
    async fn get_block_by_number(
        &self,
        block: BlockTag,
        full: Option<bool>,
    ) -> RpcResult<Option<BlockJson>>;

    /// A sealed block by hash.
    #[method(name = "getBlockByHash")]
    async fn get_block_by_hash(
        &self,
        hash: B256,
        full: Option<bool>,
    ) -> RpcResult<Option<BlockJson>>;

    /// A batch by its L1 index.
    #[method(name = "getBatch")]
    async fn get_batch(&self, index: U64) -> RpcResult<Option<BatchJson>>;

    /// A model by registered name or id.
    #[method(name = "getModel")]
    async fn get_model(&self, name_or_id: String) -> RpcResult<Option<ModelJson>>;

    /// Part of the model file (`.vdm` bytes) of a model this node serves: `length` bytes
    /// (at most [`MODEL_FILE_CHUNK_MAX`], the default) from `offset` (default 0). A
    /// model's id commits to its graph and weights, so a fetcher checks the bytes it put
    /// together against the id it asked for, whoever served them.
    #[method(name = "getModelFile")]
    async fn get_model_file(
        &self,
        name_or_id: String,
        offset: Option<U64>,
        length: Option<U64>,
    ) -> RpcResult<Option<ModelFileChunk>>;

    /// Uploads part of the model file of a model registered on L1 (the second half of
    /// `verdict model publish`): `data` at `offset` of a file of `total_bytes` bytes, in
    /// order from offset 0. The node takes chunks only for a registered id and within
    /// its size limit, and keeps the file only if its bytes decode to a model of exactly
    /// `model_id`; it then serves the model (a sequencer whose policy takes it) and its
    /// bytes (`verdict_getModelFile`).
    #[method(name = "uploadModelFile")]
    async fn upload_model_file(
        &self,
        model_id: B256,
        offset: U64,
        total_bytes: U64,
        data: alloy::primitives::Bytes,
    ) -> RpcResult<ModelUploadJson>;

    /// Quantizes float `features` (in the model's input order, as `verdict model run`
    /// reads them) with the model's input quantization and returns the request for
    /// `sender` with its commitment, digest and EIP-712 typed data, so a wallet can sign
    /// it with `eth_signTypedData_v4` and the request be sent as any other (checked as
    /// any other). `nonce` defaults to the sender's next nonce, `maxFee` to the model's fee.
    #[method(name = "prepareInference")]
    async fn prepare_inference(
        &self,
        name_or_id: String,
        sender: Address,
        features: Vec<f64>,
        nonce: Option<U64>,
        max_fee: Option<alloy::primitives::U256>,
    ) -> RpcResult<PreparedInference>;

    /// Every model this node serves.
    #[method(name = "models")]
    async fn models(&self) -> RpcResult<Vec<ModelJson>>;

    /// An account's balance and next nonce (zero for an unknown account).
    #[method(name = "getAccount")]
    async fn get_account(&self, address: Address) -> RpcResult<AccountJson>;

    /// Chain id, contract addresses, dispute window.
    #[method(name = "chainInfo")]
    async fn chain_info(&self) -> RpcResult<ChainInfo>;

    /// Follows `newHeads`, `batches` or `finalized`.
    #[subscription(name = "subscribe" => "subscription", unsubscribe = "unsubscribe", item = SubscriptionEvent)]
    async fn subscribe_events(&self, kind: SubscriptionKind) -> SubscriptionResult;
}
