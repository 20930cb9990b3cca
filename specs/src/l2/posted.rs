//! A posted batch read back from L1: its data decoded and checked against the header the
//! Rollup holds, and the inclusion proof of any record in it. Challengers and full nodes
//! trust nothing but the L1 header and the calldata.

use super::batch_data::{self, BatchDataError, BlockBody};
use super::block::BlockHeader;
use super::record::InferenceRecord;
use super::request::SigningDomain;
use crate::batch::{BatchHeader, data_hash};
use crate::hash::Hash;
use crate::merkle;
use thiserror::Error;

/// Why posted data is not a valid batch for its header. Each case is a fault of the
/// sequencer that posted it (the data hash itself always matches: the Rollup computes
/// it from the calldata).
#[derive(Debug, Error)]
pub enum PostedBatchError {
    /// The data does not hash to the header's data hash.
    #[error("the data does not hash to the posted data hash")]
    DataHash,
    /// The data does not decode.
    #[error("the batch data does not decode: {0}")]
    Decode(#[from] BatchDataError),
    /// The blocks are not the header's range.
    #[error(
        "the data holds blocks {first}..={last}, the header says {expected_first}..={expected_last}"
    )]
    Range {
        /// First block in the data.
        first: u64,
        /// Last block in the data.
        last: u64,
        /// The header's first block.
        expected_first: u64,
        /// The header's last block.
        expected_last: u64,
    },
    /// A block does not name the previous one as its parent.
    #[error("block {0} does not follow its predecessor")]
    BrokenChain(u64),
    /// A block's records root is not over its inferences.
    #[error("block {0}'s records root does not match its inferences")]
    RecordsRoot(u64),
    /// A block's withdrawals root is not over its withdrawals.
    #[error("block {0}'s withdrawals root does not match its withdrawals")]
    WithdrawalsRoot(u64),
    /// The last block's hash is not the output root.
    #[error("the last block's hash is not the posted output root")]
    OutputRoot,
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
    /// Decodes and checks `data` against `header`. `parent` is the hash of the block
    /// before `header.first_block`, when known (it checks the first link as well).
    pub fn check(
        header: &BatchHeader,
        data: &[u8],
        domain: &SigningDomain,
        parent: Option<&Hash>,
    ) -> Result<Self, PostedBatchError> {
        if data_hash(data) != header.data_hash {
            return Err(PostedBatchError::DataHash);
        }
        let blocks = batch_data::decode(data)?;
        let (first, last) = match (blocks.first(), blocks.last()) {
            (Some(f), Some(l)) => (f.header.number, l.header.number),
            _ => (0, 0),
        };
        if blocks.is_empty()
            || first != header.first_block
            || last != header.last_block
            || (last - first + 1) as usize != blocks.len()
        {
            return Err(PostedBatchError::Range {
                first,
                last,
                expected_first: header.first_block,
                expected_last: header.last_block,
            });
        }
        let mut previous: Option<(u64, Hash)> = parent.map(|p| (first - 1, *p));
        let mut record_hashes = Vec::with_capacity(blocks.len());
        for block in &blocks {
            let h = &block.header;
            if let Some((number, hash)) = previous
                && (h.parent_hash != hash || h.number != number + 1)
            {
                return Err(PostedBatchError::BrokenChain(h.number));
            }
            let hashes: Vec<Hash> = block
                .inferences
                .iter()
                .map(|tx| tx.record(domain).hash())
                .collect();
            if super::withdrawal::withdrawals_root(&block.withdrawals) != h.withdrawals_root {
                return Err(PostedBatchError::WithdrawalsRoot(h.number));
            }
            if merkle::root(&hashes) != h.records_root {
                return Err(PostedBatchError::RecordsRoot(h.number));
            }
            record_hashes.push(hashes);
            previous = Some((h.number, h.hash()));
        }
        if previous.map(|(_, hash)| hash) != Some(header.output_root) {
            return Err(PostedBatchError::OutputRoot);
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
