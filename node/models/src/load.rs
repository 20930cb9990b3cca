//! Loading model files against their L1 registration: a node serves only models whose
//! registration says what the file says, with a fee at the chain's L1 origin.

use alloy::primitives::B256;
use verdict_executor::BurnExecutor;
use verdict_l1::client::L1Error;
use verdict_l1::contracts::{ModelRegistration, VerdictL1};
use verdict_specs::Model;

use crate::{ModelSet, ServedModel, inference_bytes};

/// A model file to serve, loaded.
#[derive(Clone)]
pub struct ModelFile {
    /// Where it came from (for messages).
    pub path: String,
    /// The model.
    pub model: Model,
}

/// Why a model file cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// L1 failed.
    #[error("L1: {0}")]
    L1(#[from] L1Error),
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
    /// An executor could not be built.
    #[error("model {name}: {source}")]
    Executor {
        name: String,
        source: verdict_executor::ExecError,
    },
}

/// What a served model must fit, and how it is run.
#[derive(Clone, Copy, Debug)]
pub struct ModelLimits {
    /// Executor threads per model.
    pub threads: usize,
    /// The L1 block whose fees the chain charges: fees are read at it.
    pub l1_origin: u64,
    /// When serving (the sequencer): the block size the checks that a dispute can
    /// reveal every value and that one inference fits a block use; skipped without it
    /// (a full node serves what L1 already holds).
    pub serving: Option<Serving>,
}

/// The sequencer's block size, for the serving checks of [`ModelLimits`].
#[derive(Clone, Copy, Debug)]
pub struct Serving {
    /// The builder's block size in bytes.
    pub max_block_bytes: usize,
    /// The most a configuration may raise it to (for the error's advice).
    pub max_block_bytes_limit: usize,
}

/// Loads the model files to serve, refusing any this node could not defend: not
/// registered, registered with other facts than the file's (graph hash, weights root,
/// op count, input shape), without a fee at `l1_origin`, with a value a dispute cannot
/// reveal, or whose one inference would not fit a block.
pub async fn load_models(
    l1: &VerdictL1,
    files: Vec<ModelFile>,
    limits: &ModelLimits,
) -> Result<ModelSet, ModelError> {
    let set = ModelSet::default();
    for file in files {
        set.insert(load_model(l1, file, limits).await?);
    }
    Ok(set)
}

/// Loads one model file under the checks of [`load_models`].
pub async fn load_model(
    l1: &VerdictL1,
    file: ModelFile,
    limits: &ModelLimits,
) -> Result<ServedModel, ModelError> {
    let id = B256::from(file.model.id().id);
    if !l1.is_registered(id).await? {
        return Err(ModelError::Unregistered {
            id,
            path: file.path,
            registry: l1.deployment().model_registry,
        });
    }
    let registered = l1.model(id).await?;
    check_registration(id, &file, &registered)?;
    if let Some(serving) = limits.serving {
        check_servable(id, &file, serving)?;
    }
    // Blocks charge the fee in force at their l1_origin (specs/state.md §3), not the
    // latest one: a fee change after it applies from a later origin on.
    let fee = l1
        .fee_at(id, limits.l1_origin)
        .await?
        .ok_or_else(|| ModelError::NoFeeAtOrigin {
            id,
            path: file.path.clone(),
            l1_origin: limits.l1_origin,
        })?;
    let executor = BurnExecutor::ndarray(&file.model)
        .and_then(|e| e.with_threads(limits.threads))
        .map_err(|source| ModelError::Executor {
            name: registered.name.clone(),
            source,
        })?;
    Ok(ServedModel::new(
        file.model,
        registered.name.clone(),
        fee,
        executor,
    ))
}

/// A sequencer serves only what it can defend: every value revealable in a dispute, and
/// one inference within a block.
fn check_servable(id: B256, file: &ModelFile, serving: Serving) -> Result<(), ModelError> {
    verdict_specs::game::check_revealable(&file.model).map_err(|source| {
        ModelError::NotRevealable {
            id,
            path: file.path.clone(),
            source,
        }
    })?;
    let bytes = inference_bytes(&file.model);
    let block_room = serving
        .max_block_bytes
        .saturating_sub(verdict_specs::l2::block::HEADER_BYTES);
    if bytes > block_room {
        return Err(ModelError::TooLargeForBlock {
            id,
            path: file.path.clone(),
            bytes,
            max_block_bytes: serving.max_block_bytes,
            limit: serving.max_block_bytes_limit,
        });
    }
    Ok(())
}

/// The registration must say what the file says: the graph hash and weights root its id
/// is made of, and the op count and input shape disputes rely on (the registry reads
/// both from the graph; a registry that does not is not Verdict's).
fn check_registration(
    id: B256,
    file: &ModelFile,
    registered: &verdict_l1::bindings::ModelRegistry::Model,
) -> Result<(), ModelError> {
    let expected = ModelRegistration::of(&file.model, &registered.name, registered.feePerInference);
    let mismatch =
        |field, registered: String, file_value: String| ModelError::RegistrationMismatch {
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
