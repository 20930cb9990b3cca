//! The `verdict` API over a chain store: every read (blocks, records with their
//! inclusion proofs, withdrawals, batches, accounts, models, subscriptions) answered the
//! same by the sequencer and the full node. Writes (`sendInference`, `sendWithdrawal`)
//! go to a [`Submit`] when the node takes them (the sequencer); a read-only node (the
//! full node) refuses them with `Unavailable`.

use std::sync::Arc;

use alloy::primitives::{Address, B256, Bytes, U64, U256};
use jsonrpsee::core::{RpcResult, SubscriptionResult, async_trait};
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::{PendingSubscriptionSink, SubscriptionMessage};
use tokio::sync::broadcast;
use verdict_rpc::api::MODEL_FILE_CHUNK_MAX;
use verdict_rpc::types::{
    AccountJson, BlockHeaderJson, BlockJson, BlockRecords, ChainInfo, InclusionProof,
    InferenceJson, InferenceReceipt, ModelFileChunk, ModelJson, ModelUploadJson, PreparedInference,
    RecordJson, SignedRequestJson, SignedWithdrawalJson, Status, SubscriptionEvent,
    SubscriptionKind, UnsignedRequestJson, WithdrawalInclusion, WithdrawalJson, WithdrawalReceipt,
};
use verdict_rpc::{ErrorCode, RpcError, VerdictApiServer};
use verdict_specs::l2::block::BlockHeader;
use verdict_specs::l2::record::InferenceTx;
use verdict_specs::l2::request::{InferenceRequest, SigningDomain};
use verdict_specs::merkle;
use verdict_specs::quantize::{QuantizeError, quantize_input};

use verdict_l1::deploy::Deployment;
use verdict_models::ModelSet;
use verdict_models::upload::{UploadError, UploadInbox};
use verdict_rpc::metrics as m;

use crate::store::ChainStore;
use crate::view::{BatchView, ChainEvent, ChainView};

/// The records per block a chain reports when its writer says nothing else (the
/// sequencer's default `max_block_records`).
pub const DEFAULT_MAX_BLOCK_RECORDS: usize = 1024;

/// Where a node that takes writes sends them: the sequencer's admission and builder.
#[async_trait]
pub trait Submit: Send + Sync {
    /// Admits, executes and records a signed inference request; answers once durable.
    async fn send_inference(&self, request: SignedRequestJson) -> RpcResult<InferenceReceipt>;
    /// Admits and records a signed withdrawal; answers once durable.
    async fn send_withdrawal(
        &self,
        withdrawal: SignedWithdrawalJson,
    ) -> RpcResult<WithdrawalReceipt>;
}

/// Everything the API reads, and where it sends writes.
pub struct ChainApi {
    /// The models served.
    pub models: Arc<ModelSet>,
    /// The chain's signing domain (record hashes).
    pub domain: SigningDomain,
    /// The chain store.
    pub store: ChainStore,
    /// The live head and accounts.
    pub chain: Arc<ChainView>,
    /// The batches.
    pub batches: Arc<BatchView>,
    /// What `verdict_chainInfo` answers.
    pub info: ChainInfo,
    /// Where writes go; `None` on a read-only node (a full node), which refuses them.
    pub submit: Option<Arc<dyn Submit>>,
    /// Where uploaded model files go; `None` on a node that takes none.
    pub uploads: Option<Arc<UploadInbox>>,
}

/// What `verdict_chainInfo` answers for `deployment` (the sequencer's and full nodes').
pub fn chain_info(deployment: &Deployment, max_block_records: usize) -> ChainInfo {
    ChainInfo {
        l1_chain_id: U64::from(deployment.chain_id),
        rollup: deployment.rollup,
        bridge: deployment.bridge,
        model_registry: deployment.model_registry,
        sequencer: deployment.sequencer,
        dispute_window: U64::from(deployment.dispute_window),
        genesis_hash: B256::from(BlockHeader::genesis().hash()),
        max_block_records: U64::from(max_block_records as u64),
    }
}

fn internal(e: impl std::fmt::Display) -> ErrorObjectOwned {
    RpcError::new(ErrorCode::Internal, e.to_string()).into()
}

/// Counts one `sendInference` by outcome: `ok` or the error code.
pub fn count_send_inference(outcome: Result<(), i32>) {
    let outcome = match outcome {
        Ok(()) => "ok".to_string(),
        Err(code) => code.to_string(),
    };
    metrics::counter!(m::REQUESTS_TOTAL, m::LABEL_METHOD => "sendInference", m::LABEL_OUTCOME => outcome)
        .increment(1);
}

impl ChainApi {
    fn record_json(&self, tx: &InferenceTx) -> RecordJson {
        let record = tx.record(&self.domain);
        RecordJson {
            record_hash: B256::from(record.hash()),
            request_hash: B256::from(record.request_hash),
            sender: Address::from(record.sender),
            nonce: U64::from(tx.signed.request.nonce),
            model_id: B256::from(record.model_id),
            input_root: B256::from(record.input_root),
            output_root: B256::from(record.output_root),
            output: tx.output.clone(),
            fee: U256::from(record.fee),
        }
    }

    fn block_json(&self, header: &BlockHeader, full: bool) -> RpcResult<BlockJson> {
        let records = if full {
            let txs = self.store.txs(header.number).map_err(internal)?;
            BlockRecords::Full(txs.iter().map(|tx| self.record_json(tx)).collect())
        } else {
            let hashes = self.store.block_records(header.number).map_err(internal)?;
            BlockRecords::Hashes(hashes.into_iter().map(B256::from).collect())
        };
        let parent_consumed = match header.number {
            0 => 0,
            n => self
                .store
                .header(n - 1)
                .map_err(internal)?
                .map(|p| p.deposits_consumed)
                .unwrap_or(0),
        };
        Ok(BlockJson {
            header: BlockHeaderJson::from(header),
            deposit_count: U64::from(header.deposits_consumed - parent_consumed),
            records,
            status: self.batches.block_status(header.number),
        })
    }

    fn sealed_header(&self, number: u64) -> RpcResult<Option<BlockHeader>> {
        if number > self.chain.sealed().number {
            return Ok(None);
        }
        self.store.header(number).map_err(internal)
    }

    /// The headers after block `number` up to the last block of `batch`.
    fn later_headers(&self, number: u64, last_block: u64) -> RpcResult<Vec<BlockHeaderJson>> {
        let mut later = Vec::new();
        for n in number + 1..=last_block {
            match self.store.header(n).map_err(internal)? {
                Some(h) => later.push(BlockHeaderJson::from(&h)),
                None => return Err(internal(format!("block {n} of a posted batch is missing"))),
            }
        }
        Ok(later)
    }

    fn withdrawal_proof(&self, number: u64, index: u32) -> RpcResult<Option<WithdrawalInclusion>> {
        let Some(batch) = self.batches.containing(number) else {
            return Ok(None);
        };
        let Some(block) = self.store.header(number).map_err(internal)? else {
            return Ok(None);
        };
        let leaves: Vec<_> = self
            .store
            .withdrawals(number)
            .map_err(internal)?
            .iter()
            .map(|w| w.withdrawal.leaf())
            .collect();
        let Some(path) = merkle::prove(&leaves, index as usize) else {
            return Err(internal(format!(
                "withdrawal {index} of block {number} has no proof"
            )));
        };
        Ok(Some(WithdrawalInclusion {
            proof: path.siblings.into_iter().map(B256::from).collect(),
            index: U64::from(index),
            block: BlockHeaderJson::from(&block),
            later_headers: self.later_headers(number, batch.header.last_block)?,
            output_root: B256::from(batch.header.output_root),
            batch_index: U64::from(batch.header.index),
        }))
    }

    fn proof(&self, number: u64, index: u32) -> RpcResult<Option<InclusionProof>> {
        let Some(batch) = self.batches.containing(number) else {
            return Ok(None);
        };
        let Some(block) = self.store.header(number).map_err(internal)? else {
            return Ok(None);
        };
        let leaves = self.store.block_records(number).map_err(internal)?;
        let Some(path) = merkle::prove(&leaves, index as usize) else {
            return Err(internal(format!(
                "record {index} of block {number} has no proof"
            )));
        };
        let later = self.later_headers(number, batch.header.last_block)?;
        Ok(Some(InclusionProof {
            record_proof: path.siblings.into_iter().map(B256::from).collect(),
            index: U64::from(index),
            block: BlockHeaderJson::from(&block),
            later_headers: later,
            output_root: B256::from(batch.header.output_root),
            batch_index: U64::from(batch.header.index),
        }))
    }
}

#[async_trait]
impl VerdictApiServer for ChainApi {
    async fn send_inference(&self, request: SignedRequestJson) -> RpcResult<InferenceReceipt> {
        match &self.submit {
            Some(submit) => submit.send_inference(request).await,
            None => {
                count_send_inference(Err(ErrorCode::Unavailable.code()));
                Err(RpcError::new(
                    ErrorCode::Unavailable,
                    "this is a read-only full node: send requests to the sequencer",
                )
                .into())
            }
        }
    }

    async fn get_inference(&self, record_hash: B256) -> RpcResult<Option<InferenceJson>> {
        let Some((number, index)) = self
            .store
            .record_location(&record_hash.0)
            .map_err(internal)?
        else {
            return Ok(None);
        };
        let Some(tx) = self.store.tx(number, index).map_err(internal)? else {
            return Ok(None);
        };
        let sealed = number <= self.chain.sealed().number;
        let block_hash = if sealed {
            self.store
                .header(number)
                .map_err(internal)?
                .map(|h| B256::from(h.hash()))
        } else {
            None
        };
        let batch = self.batches.containing(number);
        let status = batch.as_ref().map(|b| b.status).unwrap_or(Status::Pending);
        let proof = if sealed {
            self.proof(number, index)?
        } else {
            None
        };
        Ok(Some(InferenceJson {
            record: self.record_json(&tx),
            block_number: U64::from(number),
            block_hash,
            index: U64::from(index),
            status,
            batch_index: batch.map(|b| U64::from(b.header.index)),
            proof,
        }))
    }

    async fn send_withdrawal(
        &self,
        withdrawal: SignedWithdrawalJson,
    ) -> RpcResult<WithdrawalReceipt> {
        match &self.submit {
            Some(submit) => submit.send_withdrawal(withdrawal).await,
            None => Err(RpcError::new(
                ErrorCode::Unavailable,
                "this is a read-only full node: send withdrawals to the sequencer",
            )
            .into()),
        }
    }

    async fn get_withdrawal(&self, withdrawal_hash: B256) -> RpcResult<Option<WithdrawalJson>> {
        let Some((number, index)) = self
            .store
            .withdrawal_location(&withdrawal_hash.0)
            .map_err(internal)?
        else {
            return Ok(None);
        };
        let withdrawals = self.store.withdrawals(number).map_err(internal)?;
        let Some(signed) = withdrawals.get(index as usize) else {
            return Ok(None);
        };
        let w = signed.withdrawal;
        let sealed = number <= self.chain.sealed().number;
        let batch = self.batches.containing(number);
        let status = batch.as_ref().map(|b| b.status).unwrap_or(Status::Pending);
        let proof = if sealed {
            self.withdrawal_proof(number, index)?
        } else {
            None
        };
        Ok(Some(WithdrawalJson {
            withdrawal_hash,
            sender: Address::from(w.sender),
            nonce: U64::from(w.nonce),
            recipient: Address::from(w.recipient),
            amount: U256::from(w.amount),
            block_number: U64::from(number),
            index: U64::from(index),
            status,
            batch_index: batch.map(|b| U64::from(b.header.index)),
            proof,
        }))
    }

    async fn block_number(&self) -> RpcResult<U64> {
        Ok(U64::from(self.chain.sealed().number))
    }

    async fn get_block_by_number(
        &self,
        block: String,
        full: Option<bool>,
    ) -> RpcResult<Option<BlockJson>> {
        let number = match block.as_str() {
            "latest" | "safe" | "pending" => self.chain.sealed().number,
            "earliest" => 0,
            "finalized" => self.batches_last_final_block().unwrap_or_default(),
            text => parse_quantity(text).ok_or_else(|| {
                ErrorObjectOwned::from(RpcError::new(
                    ErrorCode::BadRequest,
                    format!(
                        "block {text:?} is not a hex quantity or one of latest, earliest, finalized"
                    ),
                ))
            })?,
        };
        match self.sealed_header(number)? {
            Some(h) => self.block_json(&h, full.unwrap_or(false)).map(Some),
            None => Ok(None),
        }
    }

    async fn get_block_by_hash(
        &self,
        hash: B256,
        full: Option<bool>,
    ) -> RpcResult<Option<BlockJson>> {
        let Some(number) = self.store.number_by_hash(&hash.0).map_err(internal)? else {
            return Ok(None);
        };
        match self.sealed_header(number)? {
            Some(h) => self.block_json(&h, full.unwrap_or(false)).map(Some),
            None => Ok(None),
        }
    }

    async fn get_batch(&self, index: U64) -> RpcResult<Option<verdict_rpc::types::BatchJson>> {
        Ok(self
            .batches
            .get(index.to::<u64>())
            .map(|b| self.batches.to_json(&b)))
    }

    async fn get_model(&self, name_or_id: String) -> RpcResult<Option<ModelJson>> {
        Ok(self.models.find(&name_or_id).map(|m| m.to_json()))
    }

    async fn get_model_file(
        &self,
        name_or_id: String,
        offset: Option<U64>,
        length: Option<U64>,
    ) -> RpcResult<Option<ModelFileChunk>> {
        let Some(served) = self.models.find(&name_or_id) else {
            return Ok(None);
        };
        let bytes = served.file_bytes();
        let total = bytes.len() as u64;
        let offset = offset.map_or(0, |o| o.saturating_to::<u64>());
        if offset > total {
            return Err(RpcError::new(
                ErrorCode::BadRequest,
                format!("offset {offset} is beyond the {total}-byte model file"),
            )
            .into());
        }
        let length = length
            .map_or(MODEL_FILE_CHUNK_MAX, |l| l.saturating_to::<u64>())
            .min(MODEL_FILE_CHUNK_MAX)
            .min(total - offset);
        let end = offset + length;
        Ok(Some(ModelFileChunk {
            id: B256::from(served.id),
            total_bytes: U64::from(total),
            offset: U64::from(offset),
            data: Bytes::copy_from_slice(&bytes[offset as usize..end as usize]),
            next_offset: (end < total).then(|| U64::from(end)),
        }))
    }

    async fn prepare_inference(
        &self,
        name_or_id: String,
        sender: Address,
        features: Vec<f64>,
        nonce: Option<U64>,
        max_fee: Option<U256>,
    ) -> RpcResult<PreparedInference> {
        let Some(served) = self.models.find(&name_or_id) else {
            return Err(RpcError::new(
                ErrorCode::UnknownModel,
                format!("no model '{name_or_id}' is served (verdict_models lists them)"),
            )
            .into());
        };
        let input = quantize_input(&served.model.graph().input, &features).map_err(|e| {
            let code = match e {
                QuantizeError::Count { .. } => ErrorCode::InputShape,
                QuantizeError::NotFinite { .. } => ErrorCode::BadRequest,
            };
            ErrorObjectOwned::from(RpcError::new(code, format!("features: {e}")))
        })?;
        let max_fee = match max_fee {
            None => served.fee,
            Some(fee) => u128::try_from(fee).map_err(|_| {
                ErrorObjectOwned::from(RpcError::new(
                    ErrorCode::BadRequest,
                    format!("maxFee {fee} is above 2^128 - 1 wei"),
                ))
            })?,
        };
        let nonce = nonce.map_or_else(
            || self.chain.account(&sender.into_array()).nonce,
            |n| n.to::<u64>(),
        );
        let request = InferenceRequest {
            sender: sender.into_array(),
            nonce,
            model_id: served.id,
            input,
            max_fee,
        };
        let domain = verdict_rpc::signing::domain_of(&self.info);
        Ok(PreparedInference {
            input_commitment: B256::from(request.input.commitment()),
            request_hash: B256::from(request.signing_hash(&domain)),
            typed_data: verdict_rpc::signing::typed_data_json(&request, &domain),
            request: UnsignedRequestJson {
                sender,
                nonce: U64::from(nonce),
                model_id: B256::from(served.id),
                input: request.input,
                max_fee: U256::from(max_fee),
            },
        })
    }

    async fn upload_model_file(
        &self,
        model_id: B256,
        offset: U64,
        total_bytes: U64,
        data: Bytes,
    ) -> RpcResult<ModelUploadJson> {
        let Some(uploads) = &self.uploads else {
            return Err(RpcError::new(
                ErrorCode::Unavailable,
                "this node takes no model uploads; upload to the sequencer",
            )
            .into());
        };
        let progress = uploads
            .receive(
                model_id.0,
                offset.saturating_to::<u64>(),
                total_bytes.saturating_to::<u64>(),
                &data,
            )
            .await
            .map_err(|e| {
                let code = match &e {
                    UploadError::Unregistered(_) => ErrorCode::UnknownModel,
                    UploadError::L1(_) | UploadError::Io { .. } | UploadError::Cache(_) => {
                        ErrorCode::Internal
                    }
                    UploadError::TooLarge { .. }
                    | UploadError::OutOfOrder(_)
                    | UploadError::Busy
                    | UploadError::Mismatch { .. } => ErrorCode::ModelFileRejected,
                };
                ErrorObjectOwned::from(RpcError::new(code, e.to_string()))
            })?;
        Ok(ModelUploadJson {
            model_id,
            received_bytes: U64::from(progress.received),
            total_bytes: U64::from(progress.total),
            complete: progress.complete,
        })
    }

    async fn models(&self) -> RpcResult<Vec<ModelJson>> {
        Ok(self.models.all().iter().map(|m| m.to_json()).collect())
    }

    async fn get_account(&self, address: Address) -> RpcResult<AccountJson> {
        let account = self.chain.account(&address.into_array());
        Ok(AccountJson {
            balance: U256::from(account.balance),
            nonce: U64::from(account.nonce),
        })
    }

    async fn chain_info(&self) -> RpcResult<ChainInfo> {
        Ok(self.info.clone())
    }

    async fn subscribe_events(
        &self,
        pending: PendingSubscriptionSink,
        kind: SubscriptionKind,
    ) -> SubscriptionResult {
        match kind {
            SubscriptionKind::NewHeads => {
                let rx = self.chain.events.subscribe();
                forward(pending, rx, |event| match event {
                    ChainEvent::Sealed { header, .. } => {
                        Some(SubscriptionEvent::Head(BlockHeaderJson::from(&header)))
                    }
                })
                .await
            }
            SubscriptionKind::Batches => {
                let batches = Arc::clone(&self.batches);
                let rx = self.batches.posted_events.subscribe();
                forward(pending, rx, move |b| {
                    Some(SubscriptionEvent::Batch(batches.to_json(&b)))
                })
                .await
            }
            SubscriptionKind::Finalized => {
                let batches = Arc::clone(&self.batches);
                let rx = self.batches.finalized_events.subscribe();
                forward(pending, rx, move |b| {
                    Some(SubscriptionEvent::Batch(batches.to_json(&b)))
                })
                .await
            }
        }
    }
}

impl ChainApi {
    fn batches_last_final_block(&self) -> Option<u64> {
        let mut last = None;
        let mut index = 0;
        while let Some(b) = self.batches.get(index) {
            if b.status != Status::Finalized {
                break;
            }
            last = Some(b.header.last_block);
            index += 1;
        }
        last
    }
}

async fn forward<T: Clone + Send + 'static>(
    pending: PendingSubscriptionSink,
    mut rx: broadcast::Receiver<T>,
    map: impl Fn(T) -> Option<SubscriptionEvent> + Send + 'static,
) -> SubscriptionResult {
    let sink = pending.accept().await?;
    tokio::spawn(async move {
        loop {
            let item = match rx.recv().await {
                Ok(item) => item,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            };
            let Some(event) = map(item) else { continue };
            let Ok(raw) = serde_json::value::to_raw_value(&event) else {
                continue;
            };
            let message = SubscriptionMessage::from(raw);
            if sink.send(message).await.is_err() {
                return;
            }
        }
    });
    Ok(())
}

fn parse_quantity(text: &str) -> Option<u64> {
    let digits = text.strip_prefix("0x")?;
    if digits.is_empty() || (digits.len() > 1 && digits.starts_with('0')) {
        return None;
    }
    u64::from_str_radix(digits, 16).ok()
}
