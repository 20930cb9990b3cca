//! Checking an inclusion proof: record hash → records root → block hash → the chain of
//! later headers → the batch's output root. What a client trusts after this is only the
//! output root, which it compares with what `Rollup` holds on L1.

use verdict_specs::Hash;
use verdict_specs::merkle::MerkleProof;

use super::types::InclusionProof;

/// Why a proof does not hold.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The record is not under the block's records root at the stated index.
    #[error("the record is not in block {block} at index {index}")]
    NotInBlock {
        /// The block.
        block: u64,
        /// The claimed index.
        index: u64,
    },
    /// A later header does not name the previous one as its parent.
    #[error("header {number} does not follow the previous header")]
    BrokenChain {
        /// The header that does not link.
        number: u64,
    },
    /// The last header's hash is not the stated output root.
    #[error("the headers end at hash {got}, not the output root {expected}")]
    WrongOutputRoot {
        /// The output root stated.
        expected: String,
        /// Where the headers lead.
        got: String,
    },
}

/// Checks `proof` for the record with `record_hash` and returns the output root it leads
/// to (equal to `proof.output_root`). The caller compares that root with L1's.
pub fn verify_inclusion(record_hash: &Hash, proof: &InclusionProof) -> Result<Hash, ProofError> {
    let block = proof.block.to_header();
    let index = proof.index.to::<u64>();
    let path = MerkleProof {
        index,
        siblings: proof.record_proof.iter().map(|h| h.0).collect(),
    };
    if !path.verify(*record_hash, &block.records_root) {
        return Err(ProofError::NotInBlock {
            block: block.number,
            index,
        });
    }
    let mut hash = block.hash();
    let mut number = block.number;
    for later in &proof.later_headers {
        let header = later.to_header();
        if header.parent_hash != hash || header.number != number + 1 {
            return Err(ProofError::BrokenChain {
                number: header.number,
            });
        }
        hash = header.hash();
        number = header.number;
    }
    if hash != proof.output_root.0 {
        return Err(ProofError::WrongOutputRoot {
            expected: verdict_specs::hash::to_hex(&proof.output_root.0),
            got: verdict_specs::hash::to_hex(&hash),
        });
    }
    Ok(hash)
}
