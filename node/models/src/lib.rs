//! The models a node serves: each loaded from its file, checked against its L1
//! registration (which fixes its name and fee), with one burn executor each. One model
//! set for the sequencer and the full node.
//!
//! - [`ModelSet`] / [`ServedModel`]: the loaded models, by id and by name.
//! - [`load`]: loading model files against their L1 registration ([`load_models`]).
//! - [`fetch`]: getting a registered model's bytes from other nodes, checked against
//!   its id ([`fetch_model`]), and a cache of them by id.
//! - [`upload`]: taking a registered model's file uploaded in chunks
//!   ([`upload::UploadInbox`]).

pub mod fetch;
pub mod load;
pub mod upload;

pub use fetch::{FetchError, Fetched, fetch_model};
pub use load::{ModelError, ModelFile, ModelLimits, Serving, load_model, load_models};

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use alloy::primitives::{B256, U256};
use verdict_executor::{BurnExecutor, Executor};
use verdict_rpc::types::ModelJson;
use verdict_specs::{Hash, Model};

/// One served model.
pub struct ServedModel {
    /// The model.
    pub model: Model,
    /// Its id.
    pub id: Hash,
    /// Its registered name.
    pub name: String,
    /// Wei per inference, as registered.
    pub fee: u128,
    /// The executor that runs it.
    pub executor: BurnExecutor,
    /// The model file's bytes, encoded once when first served (`verdict_getModelFile`).
    file: OnceLock<Vec<u8>>,
}

impl ServedModel {
    /// `model`, registered as `name` with `fee` wei per inference, run by `executor`.
    pub fn new(model: Model, name: String, fee: u128, executor: BurnExecutor) -> Self {
        Self {
            id: model.id().id,
            model,
            name,
            fee,
            executor,
            file: OnceLock::new(),
        }
    }

    /// The model file (`.vdm` bytes), encoded on first use and kept.
    pub fn file_bytes(&self) -> &[u8] {
        self.file.get_or_init(|| self.model.encode())
    }

    /// The model's JSON description.
    pub fn to_json(&self) -> ModelJson {
        let id = self.model.id();
        let output = self.model.output_type();
        ModelJson {
            id: B256::from(self.id),
            name: self.name.clone(),
            graph_hash: B256::from(id.graph_hash),
            weights_root: B256::from(id.weights_root),
            op_count: alloy::primitives::U64::from(self.model.graph().nodes.len() as u64),
            input_shape: self.model.graph().input.shape.to_vec(),
            input_dtype: self.model.graph().input.dtype.name().to_string(),
            output_shape: output.shape.to_vec(),
            output_dtype: output.dtype.name().to_string(),
            task: self.model.task().as_str().to_string(),
            output_scale: self.model.graph().output_scale,
            input_scale: self.model.graph().input.scale,
            feature_count: self
                .model
                .graph()
                .input
                .shape
                .iter()
                .map(|&d| u64::from(d))
                .product(),
            input_features: {
                let features = &self.model.graph().input.features;
                (!features.is_empty()).then(|| {
                    features
                        .iter()
                        .map(|f| verdict_rpc::types::FeatureQuantJson {
                            scale: f.scale,
                            offset: f.offset,
                        })
                        .collect()
                })
            },
            fee_per_inference: U256::from(self.fee),
        }
    }

    /// Bytes one inference of this model takes in batch data ([`inference_bytes`]).
    pub fn inference_bytes(&self) -> usize {
        inference_bytes(&self.model)
    }

    /// Runs a batch of already-checked inputs.
    pub fn run(
        &self,
        inputs: &[verdict_specs::Tensor],
    ) -> verdict_executor::ExecResult<Vec<verdict_specs::Tensor>> {
        self.executor.run_batch(inputs)
    }
}

/// Bytes one inference of `model` takes in batch data: the signed request (its input
/// has the model's input shape, checked at admission), the output and the fee.
pub fn inference_bytes(model: &Model) -> usize {
    let tensor = |dtype: verdict_specs::DType, shape: &[u32]| {
        let count: usize = shape.iter().map(|&d| d as usize).product();
        2 + 4 * shape.len() + count * dtype.size()
    };
    let input = &model.graph().input.shape;
    let output = model.output_type();
    // sender, nonce, model id, max fee; the input; the signature; the output; the fee.
    20 + 8
        + 32
        + 16
        + tensor(model.graph().input.dtype, input)
        + 65
        + tensor(output.dtype, &output.shape)
        + 16
}

/// Every served model, by id and by name. Shared by every part of a node and changed
/// while it runs (a model registered after the start is served from then on): reads
/// hand out `Arc`s, so a model in use stays alive while the set changes.
#[derive(Default)]
pub struct ModelSet {
    inner: RwLock<Models>,
}

#[derive(Default)]
struct Models {
    by_id: HashMap<Hash, Arc<ServedModel>>,
    by_name: HashMap<String, Hash>,
}

impl ModelSet {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Models> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a model, or replaces the one of its id (a new fee).
    pub fn insert(&self, model: ServedModel) {
        let mut models = self.inner.write().unwrap_or_else(|p| p.into_inner());
        models.by_name.insert(model.name.clone(), model.id);
        models.by_id.insert(model.id, Arc::new(model));
    }

    /// A model by id.
    pub fn get(&self, id: &Hash) -> Option<Arc<ServedModel>> {
        self.read().by_id.get(id).cloned()
    }

    /// Whether model `id` is served.
    pub fn contains(&self, id: &Hash) -> bool {
        self.read().by_id.contains_key(id)
    }

    /// A model by name, or by `0x` id.
    pub fn find(&self, name_or_id: &str) -> Option<Arc<ServedModel>> {
        let models = self.read();
        if let Some(id) = models.by_name.get(name_or_id) {
            return models.by_id.get(id).cloned();
        }
        verdict_specs::hash::from_hex(name_or_id).and_then(|id| models.by_id.get(&id).cloned())
    }

    /// Every model, sorted by name.
    pub fn all(&self) -> Vec<Arc<ServedModel>> {
        let mut all: Vec<_> = self.read().by_id.values().cloned().collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// Each model's fee, by id.
    pub fn fees(&self) -> HashMap<Hash, u128> {
        self.read()
            .by_id
            .iter()
            .map(|(id, m)| (*id, m.fee))
            .collect()
    }

    /// How many models.
    pub fn len(&self) -> usize {
        self.read().by_id.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.read().by_id.is_empty()
    }
}
