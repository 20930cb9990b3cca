//! The L2 chain as anyone rebuilds it from L1 alone, and as every node keeps it.
//!
//! - [`derive`]: one derivation of a block's transactions, state trace and faults from its
//!   body, its parent's state and what L1 says (the deposit queue, the registered fees),
//!   by the complete rules of `specs/state.md` §3. The full node and the challenger's
//!   state check both run it.
//! - [`source`]: those L1 inputs read from a real L1 ([`source::L1Source`]), cached.
//! - [`store`]: the chain's layout in RocksDB (headers, transactions, records,
//!   accounts, batches), typed reads and write sets.
//! - [`view`]: the live head, accounts and batches that readers share with the writer.
//! - [`replay`]: the state after any stored block, replayed from the store alone.
//! - [`rollback`]: cutting the chain back to the last block L1 still holds.
//! - [`api`]: the `verdict_*` API over the store (reads; writes go to a [`api::Submit`]).

pub mod api;
pub mod derive;
pub mod replay;
pub mod rollback;
pub mod source;
pub mod store;
pub mod view;

pub use derive::{BatchContext, BlockFault, Derived, L1Inputs, TraceMode, derive_block};
