//! `outputs_root`: one hash over a list of output tensors, so two executors (or two
//! machines) can compare a whole evaluation run by a single value.
//!
//! `outputs_root = merkle root over leaf_hash(commitment(output_i))`, in row order.

use crate::hash::Hash;
use crate::merkle;
use crate::tensor::Tensor;

/// The outputs root of `outputs`, in order.
pub fn outputs_root(outputs: &[Tensor]) -> Hash {
    let leaves: Vec<Hash> = outputs
        .iter()
        .map(|t| merkle::leaf_hash(&t.commitment()))
        .collect();
    merkle::root(&leaves)
}
