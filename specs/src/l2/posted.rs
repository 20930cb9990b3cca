//! A posted batch read back from L1: its data decoded and checked against the header the
//! Rollup holds, and the inclusion proof of any record in it. Challengers and full nodes
//! trust nothing but the L1 header and the calldata.

use super::batch_data::{self, BlockBody, BodyFault, FrameError, Tip};
use super::block::BlockHeader;
use super::record::InferenceRecord;
use super::request::SigningDomain;
use crate::batch::{BatchHeader, data_hash};
use crate::hash::Hash;
use crate::merkle;
use thiserror::Error;

/// Why posted data is not a valid batch for its header. Only [`PostedBatchError::Body`]
/// can happen on a working deployment: `Rollup.postBatch` derives the rest of the header
/// from the data and refuses data whose frame breaks a rule, so the other variants mean
/// the header is not the one L1 recorded for this data (or the contract is not Verdict's).
#[derive(Debug, Error)]
pub enum PostedBatchError {
    /// The data does not hash to the header's data hash.
    #[error("the data does not hash to the posted data hash")]
    DataHash,
    /// The data breaks a frame rule `postBatch` enforces.
    #[error("the batch data breaks a posting rule: {0}")]
    Frame(#[from] FrameError),
    /// A header field is not what the data gives.
    #[error("the batch header's {field} is not what its data gives")]
    Header {
        /// Which field.
        field: &'static str,
    },
    /// A block's body does not back its header: a data fault, provable on L1 with
    /// `DisputeGame.proveDataFault` (the batch is reverted and the sequencer slashed).
    #[error("block {number} (entry {index} of the batch): {fault}")]
    Body {
        /// The block's position in the batch.
        index: usize,
        /// The block's number.
        number: u64,
        /// What is wrong.
        fault: BodyFault,
    },
}

impl PostedBatchError {
    /// The position in the batch of a block whose body a data fault proof can show wrong.
    pub fn provable_block(&self) -> Option<usize> {
        match self {
            Self::Body { index, .. } => Some(*index),
            _ => None,
        }
    }
}

/// The blocks of one posted batch, checked.
#[derive(Clone, Debug)]
pub struct PostedBatch {
    /// The L1 header.
    pub header: BatchHeader,
    /// The blocks, in order.
    pub blocks: Vec<BlockBody>,
    /// Each block's record hashes.
    pub record_hashes: Vec<Vec<Hash>>,
}

/// Where a record sits and how to prove it: what `DisputeGame.open` takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordInclusion {
    /// The record's canonical bytes.
    pub record: Vec<u8>,
    /// Siblings from the record hash to the block's records root.
    pub record_proof: Vec<Hash>,
    /// Position in the block.
    pub index: u64,
    /// The block header's canonical bytes.
    pub block_header: Vec<u8>,
    /// The canonical bytes of every later header of the batch.
    pub later_headers: Vec<Vec<u8>>,
}

impl PostedBatch {
    /// Decodes and checks `data` against `header`: the frame rules of posting, every
    /// header field the contract derives from the data, and every block's body
    /// ([`batch_data::check_body`]). `parent`, when known, is the hash of the block
    /// before `header.first_block` in the caller's own chain; it must be the header's
    /// `parent_root`.
    pub fn check(
        header: &BatchHeader,
        data: &[u8],
        domain: &SigningDomain,
        parent: Option<&Hash>,
    ) -> Result<Self, PostedBatchError> {
        if data_hash(data) != header.data_hash {
            return Err(PostedBatchError::DataHash);
        }
        let frame = batch_data::read_frame(data)?;
        frame.check_chain(&Tip {
            next_block: header.first_block,
            parent_root: header.parent_root,
            deposits_consumed: header.deposits_start,
            l1_block: header.l1_block,
        })?;
        let mismatch = |field| Err(PostedBatchError::Header { field });
        if frame.last_block() != header.last_block {
            return mismatch("last block");
        }
        if frame.output_root() != header.output_root {
            return mismatch("output root");
        }
        if frame.deposits_end() != header.deposits_end {
            return mismatch("deposits end");
        }
        if parent.is_some_and(|p| *p != header.parent_root) {
            return mismatch("parent root");
        }
        let mut blocks = Vec::with_capacity(frame.headers.len());
        let mut record_hashes = Vec::with_capacity(frame.headers.len());
        for (index, (h, range)) in frame.headers.iter().zip(&frame.bodies).enumerate() {
            let body =
                batch_data::check_body(h, &data[range.clone()], domain).map_err(|fault| {
                    PostedBatchError::Body {
                        index,
                        number: h.number,
                        fault,
                    }
                })?;
            record_hashes.push(body.record_hashes);
            blocks.push(BlockBody {
                header: *h,
                inferences: body.inferences,
                withdrawals: body.withdrawals,
            });
        }
        Ok(Self {
            header: *header,
            blocks,
            record_hashes,
        })
    }

    /// Every record, with its block position (`block` is an index into `blocks`).
    pub fn records<'a>(
        &'a self,
        domain: &'a SigningDomain,
    ) -> impl Iterator<Item = (usize, usize, InferenceRecord)> + 'a {
        self.blocks.iter().enumerate().flat_map(move |(b, block)| {
            block
                .inferences
                .iter()
                .enumerate()
                .map(move |(i, tx)| (b, i, tx.record(domain)))
        })
    }

    /// The inclusion proof of record `index` of block `block` (an index into `blocks`).
    pub fn inclusion(
        &self,
        block: usize,
        index: usize,
        domain: &SigningDomain,
    ) -> Option<RecordInclusion> {
        let body = self.blocks.get(block)?;
        let tx = body.inferences.get(index)?;
        let proof = merkle::prove(&self.record_hashes[block], index)?;
        Some(RecordInclusion {
            record: tx.record(domain).encode(),
            record_proof: proof.siblings,
            index: index as u64,
            block_header: body.header.encode(),
            later_headers: self.blocks[block + 1..]
                .iter()
                .map(|b| BlockHeader::encode(&b.header))
                .collect(),
        })
    }
}
