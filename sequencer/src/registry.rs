//! Serving the models registered on L1 without a restart.
//!
//! The follower reads the `ModelRegistry` in registration order. Each model its policy
//! takes (every model, or an allow-list of ids and owners; always within a size and op
//! bound) is wanted until its file is found: in the data dir's model cache (where
//! uploads land, `verdict_uploadModelFile`), else from the configured sources, checked
//! against the id there. Found files are loaded under the same checks as the configured
//! ones; then the builder moves to a new L1 origin (fees are charged as of a block's
//! origin, and a model registered after the old one has no fee at it) and the models
//! join the served set. A wanted model no source gives is logged and counted
//! (`verdict_sequencer_models_unobtainable`) and asked for again.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256};
use tokio::sync::{Notify, watch};
use tracing::{info, warn};
use verdict_l1::bindings::ModelRegistry;
use verdict_l1::client::L1Error;
use verdict_l1::contracts::VerdictL1;
use verdict_models::fetch::{self, fetch_model};
use verdict_models::{ModelError, ModelFile, ModelLimits, ModelSet, ServedModel, load_model};
use verdict_specs::Hash;

use crate::builder::BuilderMsg;
use crate::config::{SequencerConfig, ServeRegistered};

/// Metric: registered models the policy serves whose file no source gave.
pub const MODELS_UNOBTAINABLE: &str = "verdict_sequencer_models_unobtainable";
/// Metric: models added from the registry while running.
pub const MODELS_ADDED_TOTAL: &str = "verdict_sequencer_models_added_total";

/// How long a wanted model no source gave waits before the sources are asked again
/// (an upload, which lands in the cache, wakes the follower at once).
const RETRY: Duration = Duration::from_secs(30);

/// How long after its registration a model's file is expected to be uploaded
/// (`verdict model publish` registers, then uploads): a model without a file is only
/// reported as unobtainable after this.
const UPLOAD_GRACE: Duration = Duration::from_secs(20);

/// Which registered models to serve.
#[derive(Clone, Debug)]
pub struct Policy {
    /// All, an allow-list, or none.
    pub mode: ServeRegistered,
    /// Allowed ids.
    pub ids: HashSet<Hash>,
    /// Allowed owners.
    pub owners: HashSet<Address>,
    /// The largest file taken.
    pub max_bytes: u64,
    /// The most ops.
    pub max_ops: u32,
}

impl Policy {
    /// The policy `config` names.
    pub fn of(config: &SequencerConfig) -> Self {
        Self {
            mode: config.serve_registered,
            ids: config.allow_models.iter().map(|id| id.0).collect(),
            owners: config.allow_owners.iter().copied().collect(),
            max_bytes: config.max_model_bytes,
            max_ops: config.max_model_ops,
        }
    }

    /// Why the registered model `id` is not served, or `None` if it is.
    fn refusal(&self, id: &Hash, model: &ModelRegistry::Model) -> Option<String> {
        match self.mode {
            ServeRegistered::None => return Some("serve_registered is \"none\"".into()),
            ServeRegistered::AllowList
                if !self.ids.contains(id) && !self.owners.contains(&model.owner) =>
            {
                return Some(format!(
                    "neither its id nor its owner {} is in allow_models or allow_owners",
                    model.owner
                ));
            }
            _ => {}
        }
        (model.opCount > self.max_ops).then(|| {
            format!(
                "it has {} ops, more than max_model_ops {}",
                model.opCount, self.max_ops
            )
        })
    }
}

/// A model the policy serves whose file is not loaded yet.
struct Wanted {
    name: String,
    /// When the registration was read.
    since: Instant,
    /// When the sources were last asked (none yet: ask at once).
    asked: Option<Instant>,
}

/// Follows the registry and adds the models it serves.
pub struct RegistryFollower {
    pub(crate) l1: VerdictL1,
    pub(crate) models: Arc<ModelSet>,
    pub(crate) policy: Policy,
    pub(crate) sources: Vec<String>,
    /// The model cache (`DATA_DIR/models`): uploads and fetched files.
    pub(crate) cache: PathBuf,
    /// The checks and executor threads of every loaded model (`l1_origin` is set per load).
    pub(crate) limits: ModelLimits,
    /// Woken when an upload completes.
    pub(crate) arrived: Arc<Notify>,
    pub(crate) poll: Duration,
    /// Registrations looked at so far (the registry's index of the next one).
    pub(crate) seen: u64,
    wanted: BTreeMap<Hash, Wanted>,
}

/// What one pass found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Models added.
    pub added: usize,
    /// Wanted models still without a file.
    pub waiting: usize,
}

impl RegistryFollower {
    /// A follower of `l1`'s registry adding to `models`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        l1: VerdictL1,
        models: Arc<ModelSet>,
        policy: Policy,
        sources: Vec<String>,
        cache: PathBuf,
        limits: ModelLimits,
        arrived: Arc<Notify>,
        poll: Duration,
    ) -> Self {
        Self {
            l1,
            models,
            policy,
            sources,
            cache,
            limits,
            arrived,
            poll,
            seen: 0,
            wanted: BTreeMap::new(),
        }
    }

    /// The first pass, before the builder runs: what it loads is served as of
    /// `l1_origin`, the builder's starting origin.
    pub async fn start(&mut self, l1_origin: u64) -> Result<Pass, L1Error> {
        self.read_registry().await?;
        let files = self.obtain().await;
        let added = self.load(files, l1_origin).await;
        let count = added.len();
        for model in added {
            self.models.insert(model);
        }
        Ok(self.pass(count))
    }

    /// Runs until `stop`: each poll (or upload) reads new registrations, obtains wanted
    /// files and, when some load, moves the builder to a new origin and serves them.
    pub async fn run(mut self, builder: Sender<BuilderMsg>, mut stop: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.poll) => {}
                _ = self.arrived.notified() => {
                    // An upload: ask again now, whatever the retry clock says.
                    for wanted in self.wanted.values_mut() {
                        wanted.asked = None;
                    }
                }
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
            if let Err(e) = self.step(&builder).await {
                warn!(error = %e, "following the model registry");
            }
        }
    }

    async fn step(&mut self, builder: &Sender<BuilderMsg>) -> Result<Pass, L1Error> {
        self.read_registry().await?;
        let files = self.obtain().await;
        if files.is_empty() {
            return Ok(self.pass(0));
        }
        // A block has one origin: the new models' fees (and any fee changed since) are
        // read at a block that includes their registration.
        let l1_origin = self.l1.client().block_number().await?;
        let added = self.load(files, l1_origin).await;
        if added.is_empty() {
            return Ok(self.pass(0));
        }
        let mut refreshed = Vec::new();
        for served in self.models.all() {
            match self.l1.fee_at(B256::from(served.id), l1_origin).await? {
                Some(fee) if fee == served.fee => {}
                Some(fee) => match with_fee(&served, fee, self.limits.threads) {
                    Ok(model) => refreshed.push(model),
                    Err(e) => {
                        warn!(model = %served.name, error = %e, "rebuilding a model's executor for its new fee failed; not moving");
                        return Ok(self.pass(0));
                    }
                },
                None => {
                    warn!(model = %served.name, l1_origin, "a served model has no fee at the new origin; not moving");
                    return Ok(self.pass(0));
                }
            }
        }
        let mut fees = self.models.fees();
        for model in refreshed.iter().chain(&added) {
            fees.insert(model.id, model.fee);
        }
        // The builder first: a request for a new model is admitted only once the model
        // is in the set, so it reaches the builder after the origin that prices it.
        if builder
            .send(BuilderMsg::Origin { l1_origin, fees })
            .is_err()
        {
            return Ok(self.pass(0));
        }
        let count = added.len();
        for model in refreshed.into_iter().chain(added) {
            self.models.insert(model);
        }
        metrics::counter!(MODELS_ADDED_TOTAL).increment(count as u64);
        Ok(self.pass(count))
    }

    fn pass(&self, added: usize) -> Pass {
        let waiting = self.wanted.len();
        metrics::gauge!(MODELS_UNOBTAINABLE).set(
            self.wanted
                .values()
                .filter(|w| w.asked.is_some() && w.since.elapsed() >= UPLOAD_GRACE)
                .count() as f64,
        );
        Pass { added, waiting }
    }

    /// Reads the registrations after the last one seen; wants those the policy serves.
    async fn read_registry(&mut self) -> Result<(), L1Error> {
        let count = self.l1.model_count().await?;
        while self.seen < count {
            let id = self.l1.model_id_at(self.seen).await?;
            self.seen += 1;
            if self.models.contains(&id.0) {
                continue;
            }
            let registered = self.l1.model(id).await?;
            match self.policy.refusal(&id.0, &registered) {
                Some(why) => {
                    info!(model = %registered.name, id = %id, "a registered model is not served: {why}");
                }
                None => {
                    self.wanted.insert(
                        id.0,
                        Wanted {
                            name: registered.name.clone(),
                            since: Instant::now(),
                            asked: None,
                        },
                    );
                }
            }
        }
        Ok(())
    }

    /// The files of wanted models found in the cache or given by a source (and cached).
    async fn obtain(&mut self) -> Vec<(Hash, ModelFile)> {
        let mut found = Vec::new();
        for (id, wanted) in &mut self.wanted {
            if let Some(model) = fetch::load_cached(&self.cache, *id) {
                found.push((
                    *id,
                    ModelFile {
                        path: fetch::cache_path(&self.cache, *id).display().to_string(),
                        model,
                    },
                ));
                continue;
            }
            // Within the grace the sources are asked every poll (the file may be on its
            // way to one), after it every RETRY.
            let grace = wanted.since.elapsed() < UPLOAD_GRACE;
            if !grace && wanted.asked.is_some_and(|at| at.elapsed() < RETRY) {
                continue;
            }
            wanted.asked = Some(Instant::now());
            match fetch_model(&self.sources, *id, self.policy.max_bytes).await {
                Ok(fetched) => {
                    if let Err(e) = fetch::store_cached(&self.cache, &fetched) {
                        warn!(error = %e, "a fetched model could not be cached; it is served all the same");
                    }
                    info!(model = %wanted.name, source = %fetched.source, "fetched a registered model's file");
                    found.push((
                        *id,
                        ModelFile {
                            path: format!("(from {})", fetched.source),
                            model: fetched.model,
                        },
                    ));
                }
                Err(e) if grace => {
                    tracing::debug!(model = %wanted.name, error = %e, "a newly registered model has no file yet; waiting for its upload");
                }
                Err(e) => warn!(
                    model = %wanted.name,
                    error = %e,
                    "a registered model this sequencer would serve has no file: upload it (verdict model upload) or configure model_sources; asked again in {}s",
                    RETRY.as_secs()
                ),
            }
        }
        found
    }

    /// Loads `files` at `l1_origin`; the ones that load stop being wanted, as do those
    /// that can never be served (a model registered after `l1_origin` waits for a later one).
    async fn load(&mut self, files: Vec<(Hash, ModelFile)>, l1_origin: u64) -> Vec<ServedModel> {
        let limits = ModelLimits {
            l1_origin,
            ..self.limits
        };
        let mut loaded = Vec::new();
        for (id, file) in files {
            match load_model(&self.l1, file, &limits).await {
                Ok(served) => {
                    info!(model = %served.name, id = %B256::from(id), l1_origin, "serving a registered model");
                    self.wanted.remove(&id);
                    loaded.push(served);
                }
                Err(ModelError::NoFeeAtOrigin { .. } | ModelError::L1(_)) => {}
                Err(e) => {
                    warn!(error = %e, "a registered model cannot be served");
                    self.wanted.remove(&id);
                }
            }
        }
        loaded
    }
}

/// `served` with another fee (its executor built again: executors are not shared).
fn with_fee(
    served: &ServedModel,
    fee: u128,
    threads: usize,
) -> verdict_executor::ExecResult<ServedModel> {
    let executor = verdict_executor::BurnExecutor::ndarray(&served.model)?.with_threads(threads)?;
    Ok(ServedModel::new(
        served.model.clone(),
        served.name.clone(),
        fee,
        executor,
    ))
}
