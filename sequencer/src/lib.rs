//! The Verdict sequencer: admits signed inference requests over JSON-RPC, executes them,
//! records each durably before answering, seals L2 blocks, credits L1 deposits, and posts
//! batches to the `Rollup` contract, tracking each until it is final.
//!
//! - [`admission`]: the stateless checks (signature, model, input, fee limit).
//! - [`builder`]: the one thread that orders, executes and records; seals blocks.
//! - [`chain_store`]: the chain's layout in RocksDB.
//! - [`batcher`]: posting, reconciling after restarts, finalizing.
//! - [`deposits`]: following the bridge's queue.
//! - [`rpc`]: the `verdict_*` API.
//! - [`config`]: the TOML configuration.
//! - [`defender`], [`state_defence`]: playing the dispute games over records and blocks.
//! - [`fault`]: fault injection for tests and demos (a sequencer that lies on purpose).

pub mod admission;
pub mod batcher;
pub mod builder;
pub mod chain_store;
pub mod config;
pub mod defender;
pub mod deposits;
pub mod devnet;
pub mod fault;
pub mod full_node;
pub mod models;
pub mod rollback;
pub mod rpc;
pub mod state_defence;

use std::sync::Arc;
use std::thread::JoinHandle;

use alloy::primitives::{B256, U64, U256};
use alloy::signers::local::PrivateKeySigner;
use tokio::sync::watch;
use tracing::{info, warn};
use verdict_executor::BurnExecutor;
use verdict_l1::client::{ClientConfig, L1Client, L1Error};
use verdict_l1::contracts::{ModelRegistration, VerdictL1};
use verdict_l1::deploy::Deployment;
use verdict_rpc::VerdictApiServer;
use verdict_rpc::server::{MetricsRender, RpcServer, RpcServerConfig};
use verdict_rpc::types::ChainInfo;
use verdict_specs::Model;
use verdict_specs::l2::block::BlockHeader;
use verdict_specs::l2::request::SigningDomain;

use crate::batcher::{BatchView, Batcher};
use crate::builder::{Builder, BuilderMsg, ChainView};
use crate::chain_store::ChainStore;
use crate::config::SequencerConfig;
use crate::models::{ModelSet, ServedModel};
use crate::rpc::SequencerApi;

/// Why the sequencer cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// L1 failed.
    #[error("L1: {0}")]
    L1(#[from] L1Error),
    /// The key is not the deployment's sequencer.
    #[error("the key's address {key} is not the rollup's sequencer {sequencer}")]
    NotSequencer {
        key: alloy::primitives::Address,
        sequencer: alloy::primitives::Address,
    },
    /// A model file is not registered on L1.
    #[error(
        "model {id} ({path}) is not registered in ModelRegistry {registry}; register it first (verdict devnet does this for the demo models)"
    )]
    Unregistered {
        id: B256,
        path: String,
        registry: alloy::primitives::Address,
    },
    /// The registration on L1 disagrees with the model file (a registry that is not
    /// Verdict's, or a file that is not the model its id names).
    #[error(
        "model {id} ({path}): its registration says {field} {registered}, the file {file}; refusing to serve records nobody could defend"
    )]
    RegistrationMismatch {
        id: B256,
        path: String,
        field: &'static str,
        registered: String,
        file: String,
    },
    /// The model was not registered yet at the L1 block blocks charge fees as of.
    #[error("model {id} ({path}) has no fee at L1 block {l1_origin}; it was registered later")]
    NoFeeAtOrigin {
        id: B256,
        path: String,
        l1_origin: u64,
    },
    /// A model has a value too large for a dispute to reveal.
    #[error("model {id} ({path}): {source}; refusing to serve it")]
    NotRevealable {
        id: B256,
        path: String,
        source: verdict_specs::game::TooLargeToReveal,
    },
    /// One inference of a model takes more bytes than a block may hold.
    #[error(
        "model {id} ({path}): one inference takes {bytes} bytes of batch data, more than a block holds (max_block_bytes {max_block_bytes}); raise max_block_bytes (up to {limit}) or serve a smaller model"
    )]
    TooLargeForBlock {
        id: B256,
        path: String,
        bytes: usize,
        max_block_bytes: usize,
        limit: usize,
    },
    /// The bond is below the contract's minimum.
    #[error("the sequencer's bond is {bond} wei, below the minimum {min} wei; bond first")]
    Unbonded { bond: U256, min: U256 },
    /// An executor could not be built.
    #[error("model {name}: {source}")]
    Executor {
        name: String,
        source: verdict_executor::ExecError,
    },
    /// The chain database failed or is inconsistent.
    #[error("chain database: {0}")]
    Builder(#[from] builder::BuilderError),
    /// The chain database failed.
    #[error("chain database: {0}")]
    Store(#[from] chain_store::ChainStoreError),
    /// The RPC server could not start.
    #[error("RPC server: {0}")]
    Rpc(String),
}

/// A model file to serve, loaded.
#[derive(Clone)]
pub struct ModelFile {
    /// Where it came from (for messages).
    pub path: String,
    /// The model.
    pub model: Model,
}

/// A running sequencer.
pub struct Sequencer {
    /// The RPC server.
    pub rpc: RpcServer,
    /// What `verdict_chainInfo` answers.
    pub info: ChainInfo,
    /// The models served.
    pub models: Arc<ModelSet>,
    chain: Arc<ChainView>,
    batches: Arc<BatchView>,
    builder: std::sync::mpsc::Sender<BuilderMsg>,
    builder_thread: Option<JoinHandle<()>>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    store: ChainStore,
    reverted: watch::Receiver<Option<u64>>,
    restart: Restart,
}

/// What starting again needs (after L1 reverted a batch).
#[derive(Clone)]
struct Restart {
    config: SequencerConfig,
    deployment: Deployment,
    signer: PrivateKeySigner,
    model_files: Vec<ModelFile>,
    metrics: Option<MetricsRender>,
}

impl Sequencer {
    /// Starts every part: checks L1 (key, models, bond), recovers the chain from
    /// `config.data_dir`, and serves the API.
    pub async fn start(
        config: &SequencerConfig,
        deployment: Deployment,
        signer: PrivateKeySigner,
        model_files: Vec<ModelFile>,
        metrics: Option<MetricsRender>,
    ) -> Result<Self, StartError> {
        let store = ChainStore::open(&config.data_dir)?;
        Self::start_with_store(
            Restart {
                config: config.clone(),
                deployment,
                signer,
                model_files,
                metrics,
            },
            store,
        )
        .await
    }

    async fn start_with_store(restart: Restart, store: ChainStore) -> Result<Self, StartError> {
        let Restart {
            config,
            deployment,
            signer,
            model_files,
            metrics,
        } = restart.clone();
        let config = &config;
        let address = signer.address();
        if address != deployment.sequencer {
            return Err(StartError::NotSequencer {
                key: address,
                sequencer: deployment.sequencer,
            });
        }
        let client =
            L1Client::connect(&config.l1_rpc, Some(signer), ClientConfig::default()).await?;
        let l1 = VerdictL1::new(client, deployment.clone())?;

        let mut bond = l1.bond_of(address).await?;
        if bond < deployment.min_bond && config.auto_rebond {
            let top_up = deployment.min_bond - bond;
            warn!(wei = %top_up, "bond below the minimum (slashed?): topping it up (auto_rebond)");
            l1.bond(top_up).await?;
            bond = l1.bond_of(address).await?;
        }
        if bond < deployment.min_bond {
            return Err(StartError::Unbonded {
                bond,
                min: deployment.min_bond,
            });
        }
        // Fees are read at (or just after) this L1 block; blocks charge them as of it.
        let l1_origin = l1.client().block_number().await?;
        let models = Arc::new(
            load_models(
                &l1,
                model_files,
                &ModelLimits {
                    threads: config.executor_threads,
                    l1_origin,
                    max_block_bytes: Some(config.max_block_bytes),
                },
            )
            .await?,
        );

        let domain = SigningDomain {
            chain_id: deployment.chain_id,
            rollup: deployment.rollup.into_array(),
        };
        let runtime = tokio::runtime::Handle::current();
        let (builder, chain) = Builder::recover(
            store.clone(),
            config.block(),
            domain,
            address.into_array(),
            l1_origin,
            runtime,
        )?;
        let next_deposit = builder.next_deposit();
        let (builder_tx, builder_rx) = std::sync::mpsc::channel();
        let builder_thread = std::thread::Builder::new()
            .name("verdict-builder".into())
            .spawn(move || builder.run(builder_rx))
            .map_err(|e| StartError::Rpc(format!("starting the builder thread: {e}")))?;

        let (stop, stop_rx) = watch::channel(false);
        let (reverted_tx, reverted) = watch::channel(None);
        let (batcher, batches) = Batcher::new(
            l1.clone(),
            store.clone(),
            Arc::clone(&chain),
            config.batcher(),
            reverted_tx,
        )?;
        let mut tasks = vec![tokio::spawn(batcher.run(stop_rx.clone()))];
        let defender = defender::Defender {
            l1: l1.clone(),
            store: store.clone(),
            models: Arc::clone(&models),
            domain,
            faults: config.faults(),
            poll: std::time::Duration::from_millis(config.l1_poll_ms),
        };
        tasks.push(tokio::spawn(defender.run(stop_rx.clone())));
        tasks.push(tokio::spawn(replay(
            store.clone(),
            Arc::clone(&models),
            domain,
            Arc::clone(&chain),
            builder_tx.clone(),
        )));
        let from_block = store
            .deposit_l1_block()?
            .unwrap_or(deployment.deployed_at_block);
        tasks.push(tokio::spawn(deposits::follow(
            l1.clone(),
            config.deposits(),
            from_block,
            next_deposit,
            builder_tx.clone(),
            stop_rx,
        )));

        let info = chain_info(&deployment, config.max_block_records);
        let api = SequencerApi {
            builder: builder_tx.clone(),
            models: Arc::clone(&models),
            domain,
            store: store.clone(),
            chain: Arc::clone(&chain),
            batches: Arc::clone(&batches),
            info: info.clone(),
            read_only: false,
        };
        let rpc_config = RpcServerConfig {
            addr: config.rpc_addr,
            max_request_bytes: config.max_request_bytes,
            max_connections: config.max_connections,
            max_batch_calls: config.max_batch_calls,
            ..RpcServerConfig::default()
        };
        let rpc = verdict_rpc::server::serve(&rpc_config, api.into_rpc(), metrics)
            .await
            .map_err(|e| StartError::Rpc(e.to_string()))?;
        info!(rpc = %rpc.http_url(), models = models.len(), head = chain.sealed().number, "sequencer running");
        Ok(Self {
            rpc,
            info,
            models,
            chain,
            batches,
            builder: builder_tx,
            builder_thread: Some(builder_thread),
            stop,
            tasks,
            store,
            reverted,
            restart,
        })
    }

    /// Resolves with the first block of a batch L1 reverted (a lost dispute game): the
    /// chain from there must be rebuilt ([`Self::rebuild_after_revert`]).
    pub async fn reverted(&mut self) -> u64 {
        loop {
            if let Some(first) = *self.reverted.borrow_and_update() {
                return first;
            }
            if self.reverted.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Stops, rolls the chain back to the last block L1 still holds, and starts again;
    /// the removed inferences are executed again (honestly) into new blocks.
    pub async fn rebuild_after_revert(mut self) -> Result<Self, StartError> {
        let first = self.reverted.borrow().unwrap_or(1);
        let store = self.store.clone();
        let mut restart = self.restart.clone();
        // Clients keep their endpoint: the same port, also when the config asked for any.
        restart.config.rpc_addr = self.rpc.local_addr;
        let sequencer = restart.deployment.sequencer.into_array();
        self.stop().await;
        let to = first.saturating_sub(1);
        let faults = restart.config.faults();
        rollback::roll_back_with(&store, to, &sequencer, faults.as_ref())
            .map_err(|e| StartError::Rpc(format!("rolling the chain back: {e}")))?;
        let head = rollback_batches(&store, to)?;
        info!(
            to,
            batches_kept = head,
            "chain rolled back after a lost dispute; starting again"
        );
        Self::start_with_store(restart, store).await
    }

    /// The chain's live view (sealed head, accounts).
    pub fn chain(&self) -> &Arc<ChainView> {
        &self.chain
    }

    /// The batches' view.
    pub fn batches(&self) -> &Arc<BatchView> {
        &self.batches
    }

    /// Stops serving, seals the open block, and waits for every part to end.
    pub async fn stop(&mut self) {
        self.rpc.stop();
        let _ = self.stop.send(true);
        let _ = self.builder.send(BuilderMsg::Stop);
        if let Some(thread) = self.builder_thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

/// What `verdict_chainInfo` answers for `deployment` (the sequencer's and full nodes').
pub(crate) fn chain_info(deployment: &Deployment, max_block_records: usize) -> ChainInfo {
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

/// Drops the batch records of batches that end above block `to`; returns how many remain.
fn rollback_batches(store: &ChainStore, to: u64) -> Result<usize, StartError> {
    let batches = store.batches()?;
    if let Some(first_gone) = batches.iter().find(|b| b.header.last_block > to) {
        store.delete_batches_from(first_gone.header.index)?;
    }
    Ok(batches.iter().filter(|b| b.header.last_block <= to).count())
}

/// Executes again the inferences a roll-back removed, in their order, then forgets them.
async fn replay(
    store: ChainStore,
    models: Arc<ModelSet>,
    domain: SigningDomain,
    chain: Arc<ChainView>,
    builder: std::sync::mpsc::Sender<BuilderMsg>,
) {
    let txs = match store.replay() {
        Ok(txs) if txs.is_empty() => return,
        Ok(txs) => txs,
        Err(e) => {
            warn!("reading the replay list: {e}");
            return;
        }
    };
    // The removed blocks' deposits paid for these inferences: wait until the chain has
    // taken them again from L1 (or give up waiting after a while: an L1 reorg may have
    // dropped some, and the inferences they paid for then fail).
    let needed = store.replay_deposits().unwrap_or_default();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(120);
    while chain.sealed().deposits_consumed < needed && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mut answers = Vec::with_capacity(txs.len());
    for tx in txs {
        let request = &tx.signed.request;
        let Some(model) = models.get(&request.model_id) else {
            warn!(model = %verdict_specs::hash::to_hex(&request.model_id), "a replayed inference's model is not served: dropped");
            continue;
        };
        let input_root = request.input.commitment();
        let admitted = admission::Admitted {
            request_hash: request.signing_hash_with(&domain, &input_root),
            input_root,
            model: Arc::clone(model),
            replayed: true,
            signed: tx.signed.clone(),
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        if builder
            .send(BuilderMsg::Inference(Box::new(admitted), reply))
            .is_err()
        {
            return;
        }
        answers.push(answer);
    }
    let total = answers.len();
    let mut kept = 0;
    for answer in answers {
        if let Ok(Ok(_)) = answer.await {
            kept += 1;
        }
    }
    info!(
        kept,
        dropped = total - kept,
        "inferences of the reverted blocks executed again"
    );
    if let Err(e) = store.clear_replay() {
        warn!("clearing the replay list: {e}");
    }
}

/// What a served model must fit, and how it is run.
pub(crate) struct ModelLimits {
    /// Executor threads per model.
    pub threads: usize,
    /// The L1 block whose fees the chain charges: fees are read at it.
    pub l1_origin: u64,
    /// When serving (the sequencer): the builder's block size
    /// ([`config::SequencerConfig::max_block_bytes`]); the serving checks (a dispute can
    /// reveal every value, one inference fits a block) are skipped without it.
    pub max_block_bytes: Option<usize>,
}

/// Loads the model files to serve, refusing any this sequencer could not defend: not
/// registered, registered with other facts than the file's (graph hash, weights root,
/// op count, input shape), without a fee at `l1_origin`, with a value a dispute cannot
/// reveal, or whose one inference would not fit a block.
pub(crate) async fn load_models(
    l1: &VerdictL1,
    files: Vec<ModelFile>,
    limits: &ModelLimits,
) -> Result<ModelSet, StartError> {
    let mut set = ModelSet::default();
    for file in files {
        let id = B256::from(file.model.id().id);
        if !l1.is_registered(id).await? {
            return Err(StartError::Unregistered {
                id,
                path: file.path,
                registry: l1.deployment().model_registry,
            });
        }
        let registered = l1.model(id).await?;
        check_registration(id, &file, &registered)?;
        if let Some(max_block_bytes) = limits.max_block_bytes {
            verdict_specs::game::check_revealable(&file.model).map_err(|source| {
                StartError::NotRevealable {
                    id,
                    path: file.path.clone(),
                    source,
                }
            })?;
            let bytes = models::inference_bytes(&file.model);
            let block_room = max_block_bytes.saturating_sub(verdict_specs::l2::block::HEADER_BYTES);
            if bytes > block_room {
                return Err(StartError::TooLargeForBlock {
                    id,
                    path: file.path,
                    bytes,
                    max_block_bytes,
                    limit: config::MAX_BLOCK_BYTES,
                });
            }
        }
        // Blocks charge the fee in force at their l1_origin (specs/state.md §3), not
        // the latest one: a fee change after it applies from a later origin on.
        let fee =
            l1.fee_at(id, limits.l1_origin)
                .await?
                .ok_or_else(|| StartError::NoFeeAtOrigin {
                    id,
                    path: file.path.clone(),
                    l1_origin: limits.l1_origin,
                })?;
        let executor = BurnExecutor::ndarray(&file.model)
            .and_then(|e| e.with_threads(limits.threads))
            .map_err(|source| StartError::Executor {
                name: registered.name.clone(),
                source,
            })?;
        set.insert(ServedModel {
            id: id.0,
            name: registered.name.clone(),
            fee,
            executor,
            model: file.model,
        });
    }
    Ok(set)
}

/// The registration must say what the file says: the graph hash and weights root its id
/// is made of, and the op count and input shape disputes rely on (the registry reads
/// both from the graph; a registry that does not is not Verdict's).
fn check_registration(
    id: B256,
    file: &ModelFile,
    registered: &verdict_l1::bindings::ModelRegistry::Model,
) -> Result<(), StartError> {
    let expected = ModelRegistration::of(&file.model, &registered.name, registered.feePerInference);
    let mismatch =
        |field, registered: String, file_value: String| StartError::RegistrationMismatch {
            id,
            path: file.path.clone(),
            field,
            registered,
            file: file_value,
        };
    if registered.graphHash != expected.graph_hash {
        return Err(mismatch(
            "graph hash",
            registered.graphHash.to_string(),
            expected.graph_hash.to_string(),
        ));
    }
    if registered.weightsRoot != expected.weights_root {
        return Err(mismatch(
            "weights root",
            registered.weightsRoot.to_string(),
            expected.weights_root.to_string(),
        ));
    }
    if registered.opCount != expected.op_count {
        return Err(mismatch(
            "op count",
            registered.opCount.to_string(),
            expected.op_count.to_string(),
        ));
    }
    if registered.inputShape != expected.input_shape {
        return Err(mismatch(
            "input shape",
            format!("{:?}", registered.inputShape),
            format!("{:?}", expected.input_shape),
        ));
    }
    Ok(())
}
