//! L2 blocks: the header that is hashed and chained, and the body batch data carries.

use crate::bridge::Deposit;
use crate::encoding::{DecodeError, Reader};
use crate::hash::{Hash, keccak};
use crate::merkle;

use super::domain;
use super::record::InferenceTx;
use super::request::SigningDomain;
use super::withdrawal::SignedWithdrawal;

/// A block header. `hash()` chains blocks through `parent_hash`; the last block's hash of
/// a batch is its `output_root` on L1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BlockHeader {
    /// Height; block 0 is the genesis and is never posted.
    pub number: u64,
    /// Hash of block `number - 1` (zero for the genesis).
    #[serde(with = "crate::hash::serde_hex")]
    pub parent_hash: Hash,
    /// Seconds since the Unix epoch, never below the parent's.
    pub timestamp: u64,
    /// Merkle root over the block's record hashes, in order.
    #[serde(with = "crate::hash::serde_hex")]
    pub records_root: Hash,
    /// Root of the account tree after the block.
    #[serde(with = "crate::hash::serde_hex")]
    pub state_root: Hash,
    /// Deposits from the L1 queue consumed after this block (the L1 message cursor).
    pub deposits_consumed: u64,
    /// Merkle root over the block's withdrawal leaves, in order (zero: none).
    #[serde(with = "crate::hash::serde_hex")]
    pub withdrawals_root: Hash,
    /// Leaves under `records_root`.
    pub record_count: u32,
    /// Leaves under `withdrawals_root`.
    pub withdrawal_count: u32,
    /// The L1 block whose contract state (model fees) the block was built against.
    pub l1_origin: u64,
}

/// Bytes of [`BlockHeader::encode`].
pub const HEADER_BYTES: usize = 1 + 8 + 32 + 8 + 32 + 32 + 8 + 32 + 4 + 4 + 8;

impl BlockHeader {
    /// The genesis header: everything zero.
    pub fn genesis() -> Self {
        Self {
            number: 0,
            parent_hash: [0; 32],
            timestamp: 0,
            records_root: merkle::EMPTY_LEAF,
            state_root: [0; 32],
            deposits_consumed: 0,
            withdrawals_root: [0; 32],
            record_count: 0,
            withdrawal_count: 0,
            l1_origin: 0,
        }
    }

    /// `0x07 ‖ number ‖ parent_hash ‖ timestamp ‖ records_root ‖ state_root ‖
    /// deposits_consumed ‖ withdrawals_root ‖ record_count ‖ withdrawal_count ‖
    /// l1_origin`, integers big-endian (169 bytes, specs/state.md §2).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_BYTES);
        out.push(domain::BLOCK);
        out.extend_from_slice(&self.number.to_be_bytes());
        out.extend_from_slice(&self.parent_hash);
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.records_root);
        out.extend_from_slice(&self.state_root);
        out.extend_from_slice(&self.deposits_consumed.to_be_bytes());
        out.extend_from_slice(&self.withdrawals_root);
        out.extend_from_slice(&self.record_count.to_be_bytes());
        out.extend_from_slice(&self.withdrawal_count.to_be_bytes());
        out.extend_from_slice(&self.l1_origin.to_be_bytes());
        out
    }

    /// Decodes [`Self::encode`]'s bytes from untrusted input.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.offset();
        let tag = r.field("domain", |r| r.u8())?;
        if tag != domain::BLOCK {
            return Err(r.error_at(at, format!("block header domain {tag:#04x}, expected 0x07")));
        }
        let u64_field = |r: &mut Reader<'_>, name: &str| {
            r.field(name, |r| r.array::<8>()).map(u64::from_be_bytes)
        };
        let number = u64_field(r, "number")?;
        let parent_hash = r.field("parent hash", |r| r.array::<32>())?;
        let timestamp = u64_field(r, "timestamp")?;
        let records_root = r.field("records root", |r| r.array::<32>())?;
        let state_root = r.field("state root", |r| r.array::<32>())?;
        let deposits_consumed = u64_field(r, "deposits consumed")?;
        let withdrawals_root = r.field("withdrawals root", |r| r.array::<32>())?;
        let record_count = r.field("record count", |r| r.u32())?;
        let withdrawal_count = r.field("withdrawal count", |r| r.u32())?;
        let l1_origin = u64_field(r, "l1 origin")?;
        Ok(Self {
            number,
            parent_hash,
            timestamp,
            records_root,
            state_root,
            deposits_consumed,
            withdrawals_root,
            record_count,
            withdrawal_count,
            l1_origin,
        })
    }

    /// `keccak(encode())`.
    pub fn hash(&self) -> Hash {
        keccak(&[&self.encode()])
    }
}

/// A whole block: header, the deposits it consumed (in queue order), its inferences and
/// its withdrawals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// The header.
    pub header: BlockHeader,
    /// Deposits consumed, queue indices `parent.deposits_consumed..header.deposits_consumed`.
    /// Batch data carries only their count: their contents are on L1.
    pub deposits: Vec<Deposit>,
    /// Inferences, in execution order.
    pub inferences: Vec<InferenceTx>,
    /// Withdrawals, applied after the inferences.
    pub withdrawals: Vec<SignedWithdrawal>,
}

/// The records root of a list of inferences.
pub fn records_root(inferences: &[InferenceTx], domain: &SigningDomain) -> Hash {
    let leaves: Vec<Hash> = inferences
        .iter()
        .map(|tx| tx.record(domain).hash())
        .collect();
    merkle::root(&leaves)
}
