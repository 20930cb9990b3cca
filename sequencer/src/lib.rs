//! The Verdict sequencer: admits signed inference requests over JSON-RPC, executes them,
//! records each durably before answering, seals L2 blocks, credits L1 deposits, and posts
//! batches to the `Rollup` contract, tracking each until it is final.
//!
//! - [`admission`]: the stateless checks (signature, model, input, fee limit).
//! - [`builder`]: the one thread that orders, executes and records; seals blocks.
//! - [`batcher`]: posting, reconciling after restarts, finalizing.
//! - [`deposits`]: following the bridge's queue.
//! - [`submit`]: the API's writes (`sendInference`, `sendWithdrawal`); the reads are
//!   the chain's (`verdict_chain::api`).
//! - [`config`]: the TOML configuration.
//! - [`defender`], [`state_defence`]: playing the dispute games over records and blocks.
//! - [`registry`]: serving models registered on L1 while running (uploaded or fetched).
//! - [`fault`]: fault injection for tests and demos (a sequencer that lies on purpose).

pub mod admission;
pub mod batcher;
pub mod builder;
pub mod config;
pub mod defender;
pub mod deposits;
pub mod fault;
pub mod registry;
pub mod state_defence;
pub mod submit;

use std::sync::Arc;
use std::thread::JoinHandle;

use alloy::primitives::U256;
use alloy::signers::local::PrivateKeySigner;
use tokio::sync::watch;
use tracing::{info, warn};
use verdict_chain::api::{ChainApi, chain_info};
use verdict_chain::rollback;
use verdict_chain::store::{ChainStore, ChainStoreError};
use verdict_chain::view::{BatchView, ChainView};
use verdict_l1::client::{ClientConfig, L1Client, L1Error};
use verdict_l1::contracts::VerdictL1;
use verdict_l1::deploy::Deployment;
use verdict_models::upload::UploadInbox;
use verdict_models::{ModelError, ModelFile, ModelLimits, ModelSet, Serving, load_models};
use verdict_rpc::VerdictApiServer;
use verdict_rpc::server::{MetricsRender, RpcServer, RpcServerConfig, RpcServerError};
use verdict_rpc::types::ChainInfo;
use verdict_specs::l2::request::SigningDomain;

use crate::batcher::Batcher;
use crate::builder::{Builder, BuilderMsg};
use crate::config::SequencerConfig;
use crate::registry::{Policy, RegistryFollower};
use crate::submit::SequencerSubmit;

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
    /// A model file cannot be served.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The bond is below the contract's minimum.
    #[error("the sequencer's bond is {bond} wei, below the minimum {min} wei; bond first")]
    Unbonded { bond: U256, min: U256 },
    /// The chain database failed or is inconsistent.
    #[error("chain database: {0}")]
    Builder(#[from] builder::BuilderError),
    /// The chain database failed.
    #[error("chain database: {0}")]
    Store(#[from] ChainStoreError),
    /// The RPC server could not start.
    #[error(transparent)]
    Rpc(#[from] RpcServerError),
    /// The builder's thread could not be started.
    #[error("starting the builder thread: {0}")]
    BuilderThread(std::io::Error),
    /// Rolling the chain back after a lost dispute failed.
    #[error("rolling the chain back: {0}")]
    Rollback(#[from] rollback::RollbackError),
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
        let limits = ModelLimits {
            threads: config.executor_threads,
            l1_origin,
            serving: Some(Serving {
                max_block_bytes: config.max_block_bytes,
                max_block_bytes_limit: config::MAX_BLOCK_BYTES,
            }),
        };
        let models = Arc::new(load_models(&l1, model_files, &limits).await?);
        // The registered models the policy serves, from the cache (uploads, earlier
        // fetches) or the sources; those not found yet are looked for while running.
        let cache = config.data_dir.join("models");
        let arrived = Arc::new(tokio::sync::Notify::new());
        let mut follower = RegistryFollower::new(
            l1.clone(),
            Arc::clone(&models),
            Policy::of(config),
            config.model_sources.clone(),
            cache.clone(),
            limits,
            Arc::clone(&arrived),
            std::time::Duration::from_millis(config.l1_poll_ms.max(100)),
        );
        let found = follower.start(l1_origin).await?;
        if found.waiting > 0 {
            warn!(
                waiting = found.waiting,
                "registered models this sequencer would serve have no file yet; see the log above"
            );
        }
        let uploads = Arc::new(UploadInbox::new(
            l1.clone(),
            cache,
            config.max_model_bytes,
            arrived,
        ));

        let domain = SigningDomain::from(&deployment);
        let runtime = tokio::runtime::Handle::current();
        let (builder, chain) = Builder::recover(
            store.clone(),
            config.block(),
            domain,
            address.into_array(),
            l1_origin,
            models.fees(),
            runtime,
        )?;
        let next_deposit = builder.next_deposit();
        let (builder_tx, builder_rx) = std::sync::mpsc::channel();
        let builder_thread = std::thread::Builder::new()
            .name("verdict-builder".into())
            .spawn(move || builder.run(builder_rx))
            .map_err(StartError::BuilderThread)?;

        let (stop, stop_rx) = watch::channel(false);
        let (reverted_tx, reverted) = watch::channel(None);
        let (batcher, batches) = Batcher::new(
            l1.clone(),
            store.clone(),
            Arc::clone(&chain),
            config.batcher(),
            reverted_tx,
        )?;
        let mut tasks = vec![
            tokio::spawn(batcher.run(stop_rx.clone())),
            tokio::spawn(follower.run(builder_tx.clone(), stop_rx.clone())),
        ];
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
        let submit = SequencerSubmit {
            builder: builder_tx.clone(),
            models: Arc::clone(&models),
            domain,
            chain: Arc::clone(&chain),
        };
        let api = ChainApi {
            models: Arc::clone(&models),
            domain,
            store: store.clone(),
            chain: Arc::clone(&chain),
            batches: Arc::clone(&batches),
            info: info.clone(),
            submit: Some(Arc::new(submit)),
            uploads: Some(uploads),
        };
        let rpc_config = RpcServerConfig {
            addr: config.rpc_addr,
            max_request_bytes: config.max_request_bytes,
            max_connections: config.max_connections,
            max_batch_calls: config.max_batch_calls,
            ..RpcServerConfig::default()
        };
        let rpc = verdict_rpc::server::serve(&rpc_config, api.into_rpc(), metrics).await?;
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
        let wrong = state_defence::wrong_credits(faults.as_ref());
        rollback::roll_back_with(&store, to, &sequencer, Some(&wrong))?;
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
            model,
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
