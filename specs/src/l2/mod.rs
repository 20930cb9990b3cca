//! The L2 chain: signed inference requests, the records they produce, accounts in a
//! sparse Merkle tree, blocks, the state transition, and the batch data posted to L1.
//!
//! Prose and byte layouts: `specs/l2.md`. Everything here is pure and deterministic;
//! signature *recovery* (secp256k1) is done by the roles, which hash with
//! [`request::InferenceRequest::signing_hash`] defined here.

pub mod account;
pub mod batch_data;
pub mod block;
pub mod posted;
pub mod record;
pub mod request;
pub mod signature;
pub mod smt;
pub mod step;
pub mod transition;
pub mod withdrawal;

/// A 20-byte account address (an Ethereum address: L2 accounts are L1 keys).
pub type Address = [u8; 20];

/// Domain bytes of the L2 hashes (the protocol's list continues `specs/batch.md`'s).
pub mod domain {
    /// An inference record's hash.
    pub const RECORD: u8 = 0x06;
    /// A block header's hash.
    pub const BLOCK: u8 = 0x07;
    /// An account leaf of the state tree.
    pub const ACCOUNT: u8 = 0x08;
    /// A withdrawal leaf of a block's withdrawals root.
    pub const WITHDRAWAL: u8 = 0x09;
}
