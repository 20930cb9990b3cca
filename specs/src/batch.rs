//! Batches as L1 sees them: the batch data hash and the batch header.
//!
//! A batch's data (its blocks, requests and outputs; the format is the sequencer's)
//! travels in the calldata of the transaction that posts it, and the `Rollup` contract
//! hashes that calldata itself, so the posted hash always matches the data anyone can
//! read from L1. Hashing a megabyte in one piece would cost quadratic EVM memory, so the
//! data is cut into [`DATA_CHUNK_BYTES`]-byte chunks, each a Merkle leaf:
//!
//! `data_hash = keccak(0x04 ‖ length (8, BE) ‖ merkle_root(leaf(chunk_0), …))`
//!
//! The contract then stores one word per batch, the hash of its [`BatchHeader`]; every
//! later call about the batch (finalize, dispute, revert) passes the header back and
//! the contract checks it against that word (`specs/batch.md`).

use crate::hash::{Hash, keccak};
use crate::merkle;

/// Domain byte of a batch data hash (after deposits, 0x03).
pub const BATCH_DATA_DOMAIN: u8 = 0x04;
/// Domain byte of a batch header hash.
pub const BATCH_HEADER_DOMAIN: u8 = 0x05;
/// Bytes per Merkle leaf of the batch data; the last chunk may be shorter.
pub const DATA_CHUNK_BYTES: usize = 4096;

/// `keccak(0x04 ‖ len(data) as u64 BE ‖ merkle root over the data's chunks)`.
/// The length makes the short last chunk unambiguous; empty data has the empty root.
pub fn data_hash(data: &[u8]) -> Hash {
    let leaves: Vec<Hash> = data
        .chunks(DATA_CHUNK_BYTES)
        .map(merkle::leaf_hash)
        .collect();
    keccak(&[
        &[BATCH_DATA_DOMAIN],
        &(data.len() as u64).to_be_bytes(),
        &merkle::root(&leaves),
    ])
}

/// Everything L1 records about one posted batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BatchHeader {
    /// Position in the rollup's batch list, from 0 (reused after a revert).
    pub index: u64,
    /// First L2 block of the batch (block 0 is the L2 genesis, never posted).
    pub first_block: u64,
    /// Last L2 block of the batch, inclusive.
    pub last_block: u64,
    /// The hash of the block before `first_block`: the previous batch's output root, or
    /// the genesis hash for the first batch. The contract checks it against its tip.
    #[serde(with = "crate::hash::serde_hex")]
    pub parent_root: Hash,
    /// The hash of the last L2 block: what withdrawals and inference proofs open against.
    #[serde(with = "crate::hash::serde_hex")]
    pub output_root: Hash,
    /// [`data_hash`] of the calldata that carried the batch.
    #[serde(with = "crate::hash::serde_hex")]
    pub data_hash: Hash,
    /// Deposits consumed before this batch: the queue index its first deposit has.
    pub deposits_start: u64,
    /// Deposits consumed after this batch (exclusive end of its queue range).
    pub deposits_end: u64,
    /// The bridge's queue accumulator after `deposits_end` deposits.
    #[serde(with = "crate::hash::serde_hex")]
    pub deposit_accumulator: Hash,
    /// The L1 block that included the post; the dispute window counts from here.
    pub l1_block: u64,
}

/// Length of [`BatchHeader::encode`].
pub const HEADER_BYTES: usize = 1 + 8 * 6 + 32 * 4;

impl BatchHeader {
    /// Canonical bytes, Solidity's `abi.encodePacked(bytes1(0x05), uint64 index,
    /// uint64 firstBlock, uint64 lastBlock, bytes32 parentRoot, bytes32 outputRoot,
    /// bytes32 dataHash, uint64 depositsStart, uint64 depositsEnd,
    /// bytes32 depositAccumulator, uint64 l1Block)`: 177 bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_BYTES);
        out.push(BATCH_HEADER_DOMAIN);
        out.extend_from_slice(&self.index.to_be_bytes());
        out.extend_from_slice(&self.first_block.to_be_bytes());
        out.extend_from_slice(&self.last_block.to_be_bytes());
        out.extend_from_slice(&self.parent_root);
        out.extend_from_slice(&self.output_root);
        out.extend_from_slice(&self.data_hash);
        out.extend_from_slice(&self.deposits_start.to_be_bytes());
        out.extend_from_slice(&self.deposits_end.to_be_bytes());
        out.extend_from_slice(&self.deposit_accumulator);
        out.extend_from_slice(&self.l1_block.to_be_bytes());
        out
    }

    /// `keccak(encode())`: the one word the `Rollup` stores per batch.
    pub fn hash(&self) -> Hash {
        keccak(&[&self.encode()])
    }

    /// The first L1 block at which the batch may be finalized (`l1_block + window`),
    /// saturating so a huge window never wraps into the past.
    pub fn window_end(&self, dispute_window: u64) -> u64 {
        self.l1_block.saturating_add(dispute_window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> BatchHeader {
        BatchHeader {
            index: 1,
            first_block: 2,
            last_block: 3,
            parent_root: [3; 32],
            output_root: [4; 32],
            data_hash: [5; 32],
            deposits_start: 6,
            deposits_end: 7,
            deposit_accumulator: [8; 32],
            l1_block: 9,
        }
    }

    #[test]
    fn header_encoding_is_177_bytes_in_field_order() {
        let bytes = header().encode();
        assert_eq!(bytes.len(), HEADER_BYTES);
        assert_eq!(HEADER_BYTES, 177);
        assert_eq!(bytes[0], BATCH_HEADER_DOMAIN);
        assert_eq!(&bytes[1..9], &1u64.to_be_bytes());
        assert_eq!(&bytes[17..25], &3u64.to_be_bytes());
        assert_eq!(&bytes[25..57], &[3; 32]);
        assert_eq!(&bytes[57..89], &[4; 32]);
        assert_eq!(&bytes[89..121], &[5; 32]);
        assert_eq!(&bytes[129..137], &7u64.to_be_bytes());
        assert_eq!(&bytes[137..169], &[8; 32]);
        assert_eq!(&bytes[169..177], &9u64.to_be_bytes());
    }

    #[test]
    fn data_hash_binds_length_and_every_chunk() {
        let data: Vec<u8> = (0..DATA_CHUNK_BYTES * 2 + 5).map(|i| i as u8).collect();
        let base = data_hash(&data);
        let mut changed = data.clone();
        changed[DATA_CHUNK_BYTES + 1] ^= 1;
        assert_ne!(data_hash(&changed), base);
        let mut longer = data.clone();
        longer.push(0);
        assert_ne!(data_hash(&longer), base);
        assert_ne!(data_hash(&[]), data_hash(&[0]));
    }

    #[test]
    fn one_chunk_data_is_its_leaf_under_the_length() {
        let data = [1u8, 2, 3];
        let expected = keccak(&[
            &[BATCH_DATA_DOMAIN],
            &3u64.to_be_bytes(),
            &merkle::leaf_hash(&data),
        ]);
        assert_eq!(data_hash(&data), expected);
    }

    #[test]
    fn the_window_end_saturates() {
        assert_eq!(header().window_end(10), 19);
        assert_eq!(header().window_end(u64::MAX), u64::MAX);
    }
}
