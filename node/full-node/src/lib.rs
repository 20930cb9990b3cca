//! The full node: the L2 chain and its state rebuilt from L1 alone — batch data from the
//! calldata of each post, deposits from the bridge's queue — with every block's state
//! transition applied and checked against its state root, every record re-executed, and
//! each batch's status (posted, final, reverted) followed on L1, reverts included. It
//! serves the read half of the `verdict_*` API with the sequencer's own code over the
//! same chain layout, so clients get the same answers from any node.
//!
//! It is built from the node's parts only (no sequencer code): the chain store, the
//! derivation, roll-back and the read half of the API come from `verdict-chain`, the
//! models from `verdict-models`. A batch is written in one RocksDB write with its
//! blocks, so a killed node resumes from the last whole batch.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use verdict_l1::poll::{Ticker, next_range, retry_later};

use alloy::primitives::{Address, B256};
use tokio::sync::{broadcast, watch};
use tracing::{error, info, warn};
use verdict_chain::source::L1Source;
use verdict_chain::{BatchContext, TraceMode, derive_block};
use verdict_l1::client::{ClientConfig, L1Client, L1Error};
use verdict_l1::contracts::VerdictL1;
use verdict_l1::deploy::Deployment;
use verdict_l1::state_inputs::L1StateInputs;
use verdict_rpc::VerdictApiServer;
use verdict_rpc::server::{MetricsRender, RpcServer, RpcServerConfig};
use verdict_rpc::types::Status;
use verdict_specs::batch::BatchHeader;
use verdict_specs::l2::block::BlockHeader;
use verdict_specs::l2::posted::PostedBatch;
use verdict_specs::l2::request::SigningDomain;
use verdict_specs::l2::transition::State;
use verdict_specs::{Hash, Tensor};
use verdict_store::WriteSet;

use verdict_chain::api::{ChainApi, DEFAULT_MAX_BLOCK_RECORDS, chain_info};
use verdict_chain::rollback;
use verdict_chain::store::{self as chain_store, BatchRecord, ChainStore, ChainStoreError};
use verdict_chain::view::{BatchView, ChainEvent, ChainView};
use verdict_models::fetch::{self, ModelSources};
use verdict_models::upload::UploadInbox;
use verdict_models::{ModelError, ModelFile, ModelLimits, ModelSet, load_model, load_models};
use verdict_rpc::server::RpcServerError;

/// Why the full node cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// L1 failed.
    #[error("L1: {0}")]
    L1(#[from] L1Error),
    /// A model file cannot be served.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The chain database failed.
    #[error("chain database: {0}")]
    Store(#[from] ChainStoreError),
    /// The stored accounts are not the state the stored head commits to.
    #[error("chain database: the stored accounts do not hash to block {0}'s state root")]
    InconsistentState(u64),
    /// The RPC server could not start.
    #[error(transparent)]
    Rpc(#[from] RpcServerError),
}

/// Most L1 blocks read in one `eth_getLogs`.
const MAX_RANGE: u64 = 2_000;

/// The full node's settings.
#[derive(Clone, Debug)]
pub struct FullNodeConfig {
    /// The L1 endpoint.
    pub l1_rpc: String,
    /// Where the chain is kept.
    pub data_dir: PathBuf,
    /// The JSON-RPC listen address.
    pub rpc_addr: std::net::SocketAddr,
    /// How often L1 is polled.
    pub poll: Duration,
    /// Where the files of registered models this node lacks are fetched from (L2 RPC
    /// URLs or HTTP directories, `verdict_models::fetch`).
    pub model_sources: Vec<String>,
    /// The largest model file fetched or uploaded.
    pub max_model_bytes: u64,
}

/// Metric: models named by records that no source gave this node.
pub const MODELS_UNOBTAINABLE: &str = "verdict_node_models_unobtainable";

/// How long a model no source gave waits before it is asked for again.
const FETCH_RETRY: Duration = Duration::from_secs(30);

/// A running full node.
pub struct FullNode {
    /// The RPC server.
    pub rpc: RpcServer,
    /// The chain as rebuilt.
    pub chain: Arc<ChainView>,
    /// The batches as followed.
    pub batches: Arc<BatchView>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// Why following stopped at a batch (a fault of the sequencer that posted it).
#[derive(Debug, thiserror::Error)]
enum FollowError {
    #[error(transparent)]
    L1(#[from] L1Error),
    #[error(transparent)]
    Store(#[from] ChainStoreError),
    #[error("batch {index} is invalid: {reason}")]
    Invalid { index: u64, reason: String },
}

impl FullNode {
    /// Opens the chain in `config.data_dir`, starts following L1 and serves the API.
    pub async fn start(
        config: &FullNodeConfig,
        deployment: Deployment,
        model_files: Vec<ModelFile>,
        metrics: Option<MetricsRender>,
    ) -> Result<Self, StartError> {
        let client = L1Client::connect(&config.l1_rpc, None, ClientConfig::default()).await?;
        let l1 = VerdictL1::new(client, deployment.clone())?;
        let l1_origin = l1.client().block_number().await?;
        let limits = ModelLimits {
            threads: 1,
            l1_origin,
            serving: None,
        };
        let models = Arc::new(load_models(&l1, model_files, &limits).await?);
        let cache = config.data_dir.join("models");
        // The follower reads the cache each poll, so nothing needs waking.
        let uploads = Arc::new(UploadInbox::new(
            l1.clone(),
            cache.clone(),
            config.max_model_bytes,
            Arc::new(tokio::sync::Notify::new()),
        ));
        let mut obtainer = ModelObtainer {
            sources: ModelSources::new(
                config.model_sources.clone(),
                cache,
                config.max_model_bytes,
                FETCH_RETRY,
            ),
            looked_at: BTreeSet::new(),
        };
        // Files uploaded or fetched before a restart are served again at once.
        obtainer.load_cache(&l1, &models).await;
        let store = ChainStore::open(&config.data_dir)?;
        let head = store.head_or_genesis()?;
        let mut state = State::from_accounts(store.accounts()?);
        if state.root() != head.state_root {
            return Err(StartError::InconsistentState(head.number));
        }
        let chain = Arc::new(ChainView {
            sealed: std::sync::RwLock::new(head),
            state: std::sync::RwLock::new(state),
            failed: AtomicBool::new(false),
            events: broadcast::channel(1024).0,
        });
        let batches = Arc::new(BatchView::new(store.batches()?, deployment.dispute_window));
        let domain = SigningDomain::from(&deployment);
        let info = chain_info(&deployment, DEFAULT_MAX_BLOCK_RECORDS);
        let api = ChainApi {
            models: Arc::clone(&models),
            domain,
            store: store.clone(),
            chain: Arc::clone(&chain),
            batches: Arc::clone(&batches),
            info,
            // Read-only: a full node takes no requests (but model files, which it serves).
            submit: None,
            uploads: Some(uploads),
        };
        let rpc = verdict_rpc::server::serve(
            &RpcServerConfig {
                addr: config.rpc_addr,
                ..RpcServerConfig::default()
            },
            api.into_rpc(),
            metrics,
        )
        .await?;
        info!(rpc = %rpc.http_url(), head = head.number, "full node running");
        let follower = Follower {
            l1,
            store,
            chain: Arc::clone(&chain),
            batches: Arc::clone(&batches),
            domain,
            models,
            obtainer,
            sequencer: deployment.sequencer,
            inputs: L1StateInputs::new(deployment.deployed_at_block),
            halted: None,
        };
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(follower.run(config.poll, stop_rx));
        Ok(Self {
            rpc,
            chain,
            batches,
            stop,
            task,
        })
    }

    /// Stops following and serving.
    pub async fn stop(self) {
        self.rpc.stop();
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

struct Follower {
    l1: VerdictL1,
    store: ChainStore,
    chain: Arc<ChainView>,
    batches: Arc<BatchView>,
    domain: SigningDomain,
    models: Arc<ModelSet>,
    /// Gets the files of models records name that this node lacks.
    obtainer: ModelObtainer,
    sequencer: Address,
    /// The bridge's queue and the registry's fees, as far as read.
    inputs: L1StateInputs,
    /// Set when a batch was found invalid: nothing after it can be applied.
    halted: Option<u64>,
}

impl Follower {
    async fn run(mut self, poll: Duration, stop: watch::Receiver<bool>) {
        let mut ticker = Ticker::new(poll, stop);
        loop {
            match self.step().await {
                Err(e @ FollowError::Invalid { .. }) => {
                    error!("{e}; the node stops following at it (a challenger can prove it)");
                    if let FollowError::Invalid { index, .. } = e {
                        self.halted = Some(index);
                    }
                }
                other => retry_later("full node", other),
            }
            if !ticker.wait().await {
                return;
            }
        }
    }

    async fn step(&mut self) -> Result<(), FollowError> {
        // Uploads land in the cache: serve them.
        self.obtainer.load_cache(&self.l1, &self.models).await;
        let latest = self.l1.client().block_number().await?;
        let head = self.l1.head().await?;
        self.follow_reverts(head.batch_count).await?;
        self.follow_finality(head.finalized_count)?;
        let start = self.l1.deployment().deployed_at_block;
        let Some((cursor, to)) = next_range(self.store.follow_cursor()?, start, latest, MAX_RANGE)
        else {
            return Ok(());
        };
        let posted = self.l1.posted_batch_logs(cursor, to).await?;
        let total = head.batch_count;
        for (header, tx) in posted {
            if self.halted.is_some_and(|h| header.index >= h) {
                continue;
            }
            if self.l1.batch_hash(header.index).await? != B256::from(header.hash()) {
                continue; // reverted since
            }
            let local = self.chain.sealed();
            if header.last_block <= local.number {
                continue; // applied before a restart
            }
            if header.first_block != local.number + 1 {
                return Err(FollowError::Invalid {
                    index: header.index,
                    reason: format!(
                        "it starts at block {}, the chain is at {}",
                        header.first_block, local.number
                    ),
                });
            }
            self.apply(&header, tx, latest, head.finalized_count)
                .await?;
            info!(
                batch = header.index,
                of = total,
                blocks = %format!("{}..={}", header.first_block, header.last_block),
                "synced"
            );
        }
        self.store.set_follow_cursor(to + 1)?;
        Ok(())
    }

    /// Batches L1 no longer holds are rolled back (a lost dispute, or an L1 reorg).
    async fn follow_reverts(&mut self, batch_count: u64) -> Result<(), FollowError> {
        let mut lost = None;
        for b in self.batches.all() {
            if b.status == Status::Reverted {
                continue;
            }
            let gone = b.header.index >= batch_count
                || self.l1.batch_hash(b.header.index).await? != B256::from(b.header.hash());
            if gone {
                lost = Some(b);
                break;
            }
        }
        let Some(first_lost) = lost else {
            return Ok(());
        };
        warn!(
            batch = first_lost.header.index,
            from_block = first_lost.header.first_block,
            "L1 no longer holds this batch and those after it: rolling back"
        );
        let to = first_lost.header.first_block - 1;
        rollback::roll_back(&self.store, to, &self.sequencer.into_array()).map_err(|e| {
            FollowError::Invalid {
                index: first_lost.header.index,
                reason: format!("rolling back: {e}"),
            }
        })?;
        // A full node executes nothing again: L1's next batches say what comes.
        self.store.clear_replay()?;
        for b in self.batches.all() {
            if b.header.index >= first_lost.header.index && b.status != Status::Reverted {
                let record = BatchRecord {
                    status: Status::Reverted,
                    ..b
                };
                self.store.put_batch(&record)?;
                self.batches.upsert(record);
            }
        }
        let head = self.store.head()?.unwrap_or_else(BlockHeader::genesis);
        *self.chain.sealed.write().unwrap_or_else(|p| p.into_inner()) = head;
        *self.chain.state.write().unwrap_or_else(|p| p.into_inner()) =
            State::from_accounts(self.store.accounts()?);
        self.store.set_follow_cursor(first_lost.header.l1_block)?;
        self.halted = None;
        Ok(())
    }

    fn follow_finality(&mut self, finalized_count: u64) -> Result<(), FollowError> {
        for b in self.batches.all() {
            if b.status == Status::Posted && b.header.index < finalized_count {
                let record = BatchRecord {
                    status: Status::Finalized,
                    ..b
                };
                self.store.put_batch(&record)?;
                metrics::gauge!(verdict_rpc::metrics::BATCH_FINALIZED_HEIGHT)
                    .set(record.header.last_block as f64);
                self.batches.upsert(record);
            }
        }
        Ok(())
    }

    /// Checks, applies, re-executes and stores one posted batch, in one write.
    async fn apply(
        &mut self,
        header: &BatchHeader,
        tx: B256,
        latest: u64,
        finalized_count: u64,
    ) -> Result<(), FollowError> {
        let invalid = |reason: String| FollowError::Invalid {
            index: header.index,
            reason,
        };
        let parent = self.chain.sealed();
        let data = self.l1.batch_data(tx).await?;
        let batch = PostedBatch::check(header, &data, &self.domain, Some(&parent.hash()))
            .map_err(|e| invalid(e.to_string()))?;
        let mut state = self
            .chain
            .state
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut set = WriteSet::new();
        let sequencer = self.sequencer.into_array();
        let context = BatchContext {
            domain: self.domain,
            sequencer,
            batch_l1_block: header.l1_block,
        };
        let mut source = L1Source {
            l1: &self.l1,
            cache: &mut self.inputs,
            latest,
        };
        let mut events = Vec::new();
        let mut block_parent = parent;
        for (block, hashes) in batch.blocks.iter().zip(&batch.record_hashes) {
            let h = &block.header;
            // The complete rules of specs/state.md §3, the one derivation the
            // challenger's state check runs too.
            let derived = derive_block(
                &mut source,
                &context,
                &block_parent,
                block,
                &mut state,
                TraceMode::FinalRoot,
            )
            .await?;
            if let Some(fault) = derived.fault {
                return Err(invalid(fault.to_string()));
            }
            let deposits = derived.deposits;
            let changed: BTreeSet<_> = derived
                .txs
                .iter()
                .flat_map(|tx| tx.touched(&sequencer))
                .collect();
            for (i, tx) in block.inferences.iter().enumerate() {
                chain_store::put_tx(&mut set, h.number, i as u32, tx, &hashes[i]);
            }
            for (i, w) in block.withdrawals.iter().enumerate() {
                chain_store::put_withdrawal(&mut set, h.number, i as u32, w);
            }
            chain_store::put_deposits(&mut set, h.number, &deposits);
            let accounts: Vec<_> = changed.iter().map(|a| (*a, state.account(a))).collect();
            chain_store::put_seal(
                &mut set,
                h,
                hashes,
                accounts.iter().map(|(a, acc)| (a, *acc)),
            );
            events.push(ChainEvent::Sealed {
                header: *h,
                records: block.inferences.len(),
                deposits: deposits.len(),
            });
            block_parent = *h;
        }
        self.obtainer.obtain(&self.l1, &self.models, &batch).await;
        let wrong = self.reexecute(&batch);
        if wrong > 0 {
            warn!(
                batch = header.index,
                wrong,
                "records whose output is not what the model gives (a challenger can prove each)"
            );
        }
        let record = BatchRecord {
            header: *header,
            l1_transaction: tx,
            status: if header.index < finalized_count {
                Status::Finalized
            } else {
                Status::Posted
            },
        };
        chain_store::put_batch_record(&mut set, &record);
        self.store.write_now(set)?;
        let last = batch.blocks.last().map(|b| b.header).unwrap_or(parent);
        *self.chain.state.write().unwrap_or_else(|p| p.into_inner()) = state;
        *self.chain.sealed.write().unwrap_or_else(|p| p.into_inner()) = last;
        metrics::gauge!(verdict_rpc::metrics::BLOCK_HEIGHT).set(last.number as f64);
        for event in events {
            let _ = self.chain.events.send(event);
        }
        self.batches.upsert(record);
        Ok(())
    }

    /// Re-executes every record of models this node has; returns how many are wrong.
    fn reexecute(&self, batch: &PostedBatch) -> usize {
        let mut by_model: BTreeMap<Hash, Vec<(&Tensor, Hash)>> = BTreeMap::new();
        for block in &batch.blocks {
            for tx in &block.inferences {
                by_model
                    .entry(tx.signed.request.model_id)
                    .or_default()
                    .push((&tx.signed.request.input, tx.output.commitment()));
            }
        }
        let mut wrong = 0;
        for (model_id, records) in by_model {
            let Some(model) = self.models.get(&model_id) else {
                continue;
            };
            let inputs: Vec<Tensor> = records.iter().map(|(i, _)| (*i).clone()).collect();
            match model.run(&inputs) {
                Ok(outputs) => {
                    wrong += outputs
                        .iter()
                        .zip(&records)
                        .filter(|(o, (_, claimed))| o.commitment() != *claimed)
                        .count();
                }
                Err(e) => warn!("re-executing {}: {e}", model.name),
            }
        }
        wrong
    }
}

/// The files of registered models this node lacks: from its cache (`DATA_DIR/models`:
/// uploads and earlier fetches), else from its sources, each checked against its id.
/// A model a record names that no source gives is said (log, metric) and asked for
/// again after [`FETCH_RETRY`]; its records are not re-executed meanwhile.
struct ModelObtainer {
    sources: ModelSources,
    /// Cache files already looked at (each is loaded, or refused, once).
    looked_at: BTreeSet<Hash>,
}

impl ModelObtainer {
    /// Serves every registered model whose file is in the cache and new since the last
    /// look.
    async fn load_cache(&mut self, l1: &VerdictL1, models: &ModelSet) {
        let Ok(entries) = std::fs::read_dir(self.sources.cache()) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(id) = name
                .strip_suffix(".vdm")
                .and_then(verdict_specs::hash::from_hex)
            else {
                continue;
            };
            if models.contains(&id) || !self.looked_at.insert(id) {
                continue;
            }
            if let Some(model) = fetch::load_cached(self.sources.cache(), id) {
                self.add(l1, models, model, &entry.path().display().to_string())
                    .await;
            }
        }
    }

    /// Makes sure every model `batch`'s records name is served, if anyone has it.
    async fn obtain(&mut self, l1: &VerdictL1, models: &ModelSet, batch: &PostedBatch) {
        let missing: BTreeSet<Hash> = batch
            .blocks
            .iter()
            .flat_map(|b| &b.inferences)
            .map(|tx| tx.signed.request.model_id)
            .filter(|id| !models.contains(id))
            .collect();
        for id in missing {
            match self.sources.obtain(id).await {
                Ok(Some(obtained)) => {
                    if let Some(e) = obtained.cache_error {
                        warn!(error = %e, "a fetched model could not be cached; it is used all the same");
                    }
                    self.add(l1, models, obtained.model, &obtained.source).await;
                }
                Ok(None) => {}
                Err(e) => warn!(
                    model = %B256::from(id),
                    error = %e,
                    "records name a model this node cannot obtain: they are not re-executed (configure --model-source)"
                ),
            }
        }
        metrics::gauge!(MODELS_UNOBTAINABLE).set(self.sources.unobtainable() as f64);
    }

    /// Serves `model` (checked against its registration, fee as of the latest L1 block).
    async fn add(
        &self,
        l1: &VerdictL1,
        models: &ModelSet,
        model: verdict_specs::Model,
        from: &str,
    ) {
        let id = model.id().id;
        let l1_origin = match l1.client().block_number().await {
            Ok(block) => block,
            Err(e) => {
                warn!(error = %e, "reading the L1 head to load a model");
                return;
            }
        };
        let limits = ModelLimits {
            threads: 1,
            l1_origin,
            serving: None,
        };
        let file = ModelFile {
            path: from.to_string(),
            model,
        };
        match load_model(l1, file, &limits).await {
            Ok(served) => {
                info!(model = %served.name, id = %B256::from(id), source = from, "model obtained; its records are re-executed and its file served");
                models.insert(served);
            }
            Err(e) => warn!(error = %e, "a model file cannot be served"),
        }
    }
}
