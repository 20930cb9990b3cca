//! Verdict's operations on L1, typed: registering models, bonding, posting and
//! finalizing batches, depositing and reading the deposit queue. One [`VerdictL1`] per
//! deployment; every method goes through the one [`L1Client`].

use super::bindings::{BatchData, Bridge, ModelRegistry, Rollup};
use super::client::{L1Client, L1Error, Result, rpc};
use super::deploy::Deployment;
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::Provider;
use alloy::rpc::types::{Filter, TransactionReceipt};
use alloy::sol_types::SolEvent;
use verdict_specs::batch::BatchHeader;
use verdict_specs::bridge::Deposit;

/// What `ModelRegistry.register` records about a model. The contract reads the graph's
/// hash, op count and input shape from `graph` itself; the copies here are what the
/// registration must come out as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelRegistration {
    /// The canonical graph encoding (specs/model-format.md), sent in full.
    pub graph: Vec<u8>,
    pub graph_hash: B256,
    pub weights_root: B256,
    pub op_count: u32,
    pub input_shape: Vec<u32>,
    /// Wei per inference.
    pub fee: U256,
    /// Unique, 1 to 64 bytes of `[a-z0-9._-]`.
    pub name: String,
}

impl ModelRegistration {
    /// The registration of `model` under `name` at `fee` wei per inference.
    pub fn of(model: &verdict_specs::Model, name: &str, fee: U256) -> Self {
        let id = model.id();
        Self {
            graph: verdict_specs::model::encode_graph(model.graph()),
            graph_hash: B256::from(id.graph_hash),
            weights_root: B256::from(id.weights_root),
            op_count: model.graph().nodes.len() as u32,
            input_shape: model.graph().input.shape.to_vec(),
            fee,
            name: name.to_string(),
        }
    }
}

/// The rollup's head: counts of posted and final batches, the next L2 block, and how
/// much of the deposit queue the posted batches consumed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RollupHead {
    pub batch_count: u64,
    pub finalized_count: u64,
    pub next_block: u64,
    pub deposits_consumed: u64,
}

/// A batch post: the data, from whose headers the contract derives the block range,
/// output root and deposits consumed, and the deposit accumulator the sequencer built
/// on (the post fails if an L1 reorg changed the queue since).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchPost {
    pub deposit_accumulator: B256,
    /// The batch data (`verdict_specs::l2::batch_data`), carried in calldata.
    pub data: Vec<u8>,
}

/// A posted batch's header and the transaction that posted it.
#[derive(Clone, Debug)]
pub struct PostedBatch {
    pub header: BatchHeader,
    pub receipt: TransactionReceipt,
}

/// The contracts of one deployment, through one client.
#[derive(Clone, Debug)]
pub struct VerdictL1 {
    client: L1Client,
    deployment: Deployment,
}

impl VerdictL1 {
    /// Binds `deployment` to `client`, refusing a client on another chain.
    pub fn new(client: L1Client, deployment: Deployment) -> Result<Self> {
        if client.chain_id() != deployment.chain_id {
            return Err(L1Error::WrongChain {
                deployment: deployment.chain_id,
                url: client.url().to_string(),
                endpoint: client.chain_id(),
            });
        }
        Ok(Self { client, deployment })
    }

    pub fn client(&self) -> &L1Client {
        &self.client
    }

    pub fn deployment(&self) -> &Deployment {
        &self.deployment
    }

    // ------------------------------------------------------------------ models

    /// Registers a model; returns its id.
    pub async fn register_model(&self, model: &ModelRegistration) -> Result<B256> {
        Ok(self.register_model_with_receipt(model).await?.0)
    }

    /// Registers a model; returns its id and the transaction's receipt.
    pub async fn register_model_with_receipt(
        &self,
        model: &ModelRegistration,
    ) -> Result<(B256, TransactionReceipt)> {
        let call = ModelRegistry::registerCall {
            graph: Bytes::from(model.graph.clone()),
            weights: model.weights_root,
            fee: model.fee,
            name: model.name.clone(),
        };
        let receipt = self
            .client
            .send(self.deployment.model_registry, call, U256::ZERO)
            .await?;
        let event: ModelRegistry::ModelRegistered = decode_event(&receipt)?;
        Ok((event.modelId, receipt))
    }

    /// The registered model `id` (an error if it is not registered).
    pub async fn model(&self, id: B256) -> Result<ModelRegistry::Model> {
        self.client
            .read(
                self.deployment.model_registry,
                ModelRegistry::getModelCall { modelId: id },
            )
            .await
    }

    /// Whether model `id` is registered.
    pub async fn is_registered(&self, id: B256) -> Result<bool> {
        self.client
            .read(
                self.deployment.model_registry,
                ModelRegistry::isRegisteredCall { modelId: id },
            )
            .await
    }

    /// Whether the registry takes `name` (1 to 64 bytes of `[a-z0-9._-]`): asked of the
    /// contract, whose rule it is.
    pub async fn valid_name(&self, name: &str) -> Result<bool> {
        self.client
            .read(
                self.deployment.model_registry,
                ModelRegistry::validNameCall {
                    name: name.to_string(),
                },
            )
            .await
    }

    /// How many models are registered.
    pub async fn model_count(&self) -> Result<u64> {
        let count = self
            .client
            .read(
                self.deployment.model_registry,
                ModelRegistry::modelCountCall {},
            )
            .await?;
        Ok(count.saturating_to::<u64>())
    }

    /// The id of the `index`-th model registered (in registration order).
    pub async fn model_id_at(&self, index: u64) -> Result<B256> {
        self.client
            .read(
                self.deployment.model_registry,
                ModelRegistry::modelIdsCall(U256::from(index)),
            )
            .await
    }

    /// The id registered under `name`, or zero.
    pub async fn model_id_by_name(&self, name: &str) -> Result<B256> {
        self.client
            .read(
                self.deployment.model_registry,
                ModelRegistry::modelIdOfCall {
                    name: name.to_string(),
                },
            )
            .await
    }

    // ------------------------------------------------------------------ bonds

    /// Adds `amount` wei to the signer's bond.
    pub async fn bond(&self, amount: U256) -> Result<TransactionReceipt> {
        self.client
            .send(self.deployment.rollup, Rollup::bondCall {}, amount)
            .await
    }

    /// The bond of `account`.
    pub async fn bond_of(&self, account: Address) -> Result<U256> {
        self.client
            .read(self.deployment.rollup, Rollup::bondsCall { account })
            .await
    }

    // ------------------------------------------------------------------ batches

    /// The rollup's head.
    pub async fn head(&self) -> Result<RollupHead> {
        let head = self
            .client
            .read(self.deployment.rollup, Rollup::headCall {})
            .await?;
        Ok(RollupHead {
            batch_count: head.batchCount,
            finalized_count: head.finalizedCount,
            next_block: head.nextBlock,
            deposits_consumed: head.depositsConsumed,
        })
    }

    /// Posts a batch and returns the header the contract recorded.
    pub async fn post_batch(&self, batch: &BatchPost) -> Result<PostedBatch> {
        let call = Rollup::postBatchCall {
            depositAccumulator: batch.deposit_accumulator,
            data: Bytes::from(batch.data.clone()),
        };
        let receipt = self
            .client
            .send(self.deployment.rollup, call, U256::ZERO)
            .await?;
        let event: Rollup::BatchPosted = decode_event(&receipt)?;
        Ok(PostedBatch {
            header: header_from_sol(&event.header),
            receipt,
        })
    }

    /// Finalizes the batch with `header` (the next one, once its window has passed).
    pub async fn finalize(&self, header: &BatchHeader) -> Result<TransactionReceipt> {
        let call = Rollup::finalizeCall {
            header: header_to_sol(header),
        };
        self.client
            .send(self.deployment.rollup, call, U256::ZERO)
            .await
    }

    /// The header hash stored for batch `index` (zero if never posted).
    pub async fn batch_hash(&self, index: u64) -> Result<B256> {
        self.client
            .read(
                self.deployment.rollup,
                Rollup::batchHashesCall {
                    index: U256::from(index),
                },
            )
            .await
    }

    /// The headers of every `BatchPosted` event in L1 blocks `from..=to` (including
    /// batches reverted since; compare with [`Self::batch_hash`]).
    pub async fn posted_batches(&self, from: u64, to: u64) -> Result<Vec<BatchHeader>> {
        let events: Vec<Rollup::BatchPosted> =
            self.events(self.deployment.rollup, from, to).await?;
        Ok(events.iter().map(|e| header_from_sol(&e.header)).collect())
    }

    /// The batch data a `postBatch` transaction carried, read from its calldata: what
    /// challengers and full nodes rebuild the chain from, trusting nobody.
    pub async fn batch_data(&self, tx: B256) -> Result<Vec<u8>> {
        use alloy::consensus::Transaction as _;
        use alloy::sol_types::SolCall as _;
        let transaction = self
            .client
            .provider()
            .get_transaction_by_hash(tx)
            .await
            .map_err(rpc("eth_getTransactionByHash"))?
            .ok_or_else(|| L1Error::Missing(format!("transaction {tx}")))?;
        let call = Rollup::postBatchCall::abi_decode(transaction.input()).map_err(|e| {
            L1Error::Undecodable {
                what: format!("transaction {tx} as a postBatch call"),
                message: e.to_string(),
            }
        })?;
        Ok(call.data.to_vec())
    }

    /// Like [`Self::posted_batches`], with the hash of the L1 transaction of each post.
    pub async fn posted_batch_logs(&self, from: u64, to: u64) -> Result<Vec<(BatchHeader, B256)>> {
        let logs = self
            .logs(
                self.deployment.rollup,
                Rollup::BatchPosted::SIGNATURE_HASH,
                from,
                to,
            )
            .await?;
        logs.iter()
            .map(|log| {
                let event =
                    log.log_decode::<Rollup::BatchPosted>()
                        .map_err(|e| L1Error::Undecodable {
                            what: "a BatchPosted log".to_string(),
                            message: e.to_string(),
                        })?;
                let tx = log.transaction_hash.unwrap_or_default();
                Ok((header_from_sol(&event.inner.data.header), tx))
            })
            .collect()
    }

    // ------------------------------------------------------------------ bridge

    /// Deposits `amount` wei from the signer to `recipient` on L2; returns the queued
    /// deposit.
    pub async fn deposit(&self, recipient: Address, amount: U256) -> Result<Deposit> {
        let receipt = self
            .client
            .send(
                self.deployment.bridge,
                Bridge::depositCall { recipient },
                amount,
            )
            .await?;
        let event: Bridge::DepositQueued = decode_event(&receipt)?;
        deposit_from_event(&event)
    }

    /// Deposits queued so far.
    pub async fn deposit_count(&self) -> Result<u64> {
        let count = self
            .client
            .read(self.deployment.bridge, Bridge::depositCountCall {})
            .await?;
        u64::try_from(count).map_err(|_| L1Error::OutOfRange(format!("deposit count {count}")))
    }

    /// The queue accumulator after the first `count` deposits.
    pub async fn accumulator_at(&self, count: u64) -> Result<B256> {
        self.client
            .read(
                self.deployment.bridge,
                Bridge::accumulatorAtCall {
                    count: U256::from(count),
                },
            )
            .await
    }

    /// The deposits queued in L1 blocks `from..=to`, in queue order.
    pub async fn deposits(&self, from: u64, to: u64) -> Result<Vec<Deposit>> {
        let events: Vec<Bridge::DepositQueued> =
            self.events(self.deployment.bridge, from, to).await?;
        events.iter().map(deposit_from_event).collect()
    }

    /// Every `E` event `address` emitted in L1 blocks `from..=to`, in chain order.
    pub(super) async fn events<E: SolEvent>(
        &self,
        address: Address,
        from: u64,
        to: u64,
    ) -> Result<Vec<E>> {
        let logs = self.logs(address, E::SIGNATURE_HASH, from, to).await?;
        logs.iter()
            .map(|log| {
                log.log_decode::<E>()
                    .map(|l| l.inner.data)
                    .map_err(|e| L1Error::Undecodable {
                        what: format!("a {} log", E::SIGNATURE),
                        message: e.to_string(),
                    })
            })
            .collect()
    }
}

impl VerdictL1 {
    pub(super) async fn logs(
        &self,
        address: Address,
        signature: B256,
        from: u64,
        to: u64,
    ) -> Result<Vec<alloy::rpc::types::Log>> {
        let filter = Filter::new()
            .address(address)
            .event_signature(signature)
            .from_block(from)
            .to_block(to);
        self.client
            .provider()
            .get_logs(&filter)
            .await
            .map_err(rpc("eth_getLogs"))
    }
}

/// The first log of type `E` in `receipt`.
pub(super) fn decode_event<E: SolEvent>(receipt: &TransactionReceipt) -> Result<E> {
    receipt
        .inner
        .logs()
        .iter()
        .find_map(|log| log.log_decode::<E>().ok())
        .map(|log| log.inner.data)
        .ok_or_else(|| {
            L1Error::Missing(format!(
                "the {} event of transaction {}",
                E::SIGNATURE,
                receipt.transaction_hash
            ))
        })
}

fn deposit_from_event(event: &Bridge::DepositQueued) -> Result<Deposit> {
    let amount = u128::try_from(event.amount)
        .map_err(|_| L1Error::OutOfRange(format!("deposit amount {}", event.amount)))?;
    Ok(Deposit {
        index: event.index,
        sender: event.sender.into_array(),
        recipient: event.recipient.into_array(),
        amount,
        l1_block: event.l1Block,
    })
}

/// A [`BatchHeader`] as the `BatchData.Header` struct of one contract's bindings: each
/// `sol!` module generates its own copy of the struct, with the same fields.
macro_rules! batch_header_as {
    ($ty:path, $h:expr) => {{
        let h: &::verdict_specs::batch::BatchHeader = $h;
        $ty {
            index: h.index,
            firstBlock: h.first_block,
            lastBlock: h.last_block,
            parentRoot: ::alloy::primitives::B256::from(h.parent_root),
            outputRoot: ::alloy::primitives::B256::from(h.output_root),
            dataHash: ::alloy::primitives::B256::from(h.data_hash),
            depositsStart: h.deposits_start,
            depositsEnd: h.deposits_end,
            depositAccumulator: ::alloy::primitives::B256::from(h.deposit_accumulator),
            l1Block: h.l1_block,
        }
    }};
}
pub(super) use batch_header_as;

/// The Solidity struct of a header.
pub fn header_to_sol(h: &BatchHeader) -> BatchData::Header {
    batch_header_as!(BatchData::Header, h)
}

/// A header from its Solidity struct.
pub fn header_from_sol(h: &BatchData::Header) -> BatchHeader {
    BatchHeader {
        index: h.index,
        first_block: h.firstBlock,
        last_block: h.lastBlock,
        parent_root: h.parentRoot.0,
        output_root: h.outputRoot.0,
        data_hash: h.dataHash.0,
        deposits_start: h.depositsStart,
        deposits_end: h.depositsEnd,
        deposit_accumulator: h.depositAccumulator.0,
        l1_block: h.l1Block,
    }
}
