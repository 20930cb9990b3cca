//! Re-executing a sample of a posted batch's records and finding the wrong ones.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use verdict_executor::{BurnExecutor, ExecError, Executor};
use verdict_specs::game::sampling::is_sampled;
use verdict_specs::l2::posted::PostedBatch;
use verdict_specs::l2::request::SigningDomain;
use verdict_specs::{Hash, Model, Tensor};

/// A model the challenger can re-execute.
pub struct KnownModel {
    /// The model.
    pub model: Model,
    /// Its burn executor.
    pub executor: BurnExecutor,
}

/// The models the challenger knows, by id.
#[derive(Clone, Default)]
pub struct Models(HashMap<Hash, Arc<KnownModel>>);

impl Models {
    /// Adds `model` with a fresh executor.
    pub fn insert(&mut self, model: Model) -> Result<(), ExecError> {
        let executor = BurnExecutor::ndarray(&model)?;
        self.0
            .insert(model.id().id, Arc::new(KnownModel { model, executor }));
        Ok(())
    }

    /// The model with `id`.
    pub fn get(&self, id: &Hash) -> Option<&Arc<KnownModel>> {
        self.0.get(id)
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What checking one batch found.
#[derive(Clone, Debug, Default)]
pub struct BatchFindings {
    /// Records re-executed.
    pub checked: usize,
    /// Sampled records of models the challenger does not have.
    pub unknown_model: usize,
    /// Records checked and found right, as (block position, index).
    pub right: Vec<(usize, usize)>,
    /// Records checked and found wrong.
    pub wrong: Vec<Finding>,
}

/// One wrong record.
#[derive(Clone, Debug)]
pub struct Finding {
    /// Position of its block in the batch.
    pub block: usize,
    /// Its index in the block.
    pub index: usize,
    /// The record's hash.
    pub record_hash: Hash,
    /// Its model.
    pub model_id: Hash,
    /// The input.
    pub input: Tensor,
    /// What the record says the output is (its commitment).
    pub claimed_output_root: Hash,
    /// What the model gives.
    pub correct_output: Tensor,
}

/// Re-executes the records of `batch` that `secret` samples at `rate`, each model's share
/// as one executor batch.
pub fn check_batch(
    batch: &PostedBatch,
    domain: &SigningDomain,
    models: &Models,
    secret: &Hash,
    rate: f64,
) -> Result<BatchFindings, ExecError> {
    let mut findings = BatchFindings::default();
    let mut by_model: BTreeMap<Hash, Vec<(usize, usize, usize)>> = BTreeMap::new();
    let mut flat = Vec::new();
    for (position, (block, index, record)) in batch.records(domain).enumerate() {
        // Records are numbered across the whole batch, in chain order.
        if !is_sampled(secret, &batch.header.output_root, position as u64, rate) {
            continue;
        }
        if models.get(&record.model_id).is_none() {
            findings.unknown_model += 1;
            continue;
        }
        by_model
            .entry(record.model_id)
            .or_default()
            .push((block, index, flat.len()));
        flat.push(record);
    }
    for (model_id, positions) in by_model {
        let Some(known) = models.get(&model_id) else {
            continue;
        };
        let inputs: Vec<Tensor> = positions
            .iter()
            .map(|&(block, index, _)| {
                batch.blocks[block].inferences[index]
                    .signed
                    .request
                    .input
                    .clone()
            })
            .collect();
        let outputs = known.executor.run_batch(&inputs)?;
        for ((&(block, index, at), input), output) in positions.iter().zip(inputs).zip(outputs) {
            findings.checked += 1;
            let record = &flat[at];
            if output.commitment() == record.output_root {
                findings.right.push((block, index));
            } else {
                findings.wrong.push(Finding {
                    block,
                    index,
                    record_hash: record.hash(),
                    model_id,
                    input,
                    claimed_output_root: record.output_root,
                    correct_output: output,
                });
            }
        }
    }
    Ok(findings)
}
