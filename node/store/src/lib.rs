//! The node's RocksDB store: column families, atomic write sets, and a group committer that
//! makes many callers' writes durable with one WAL fsync (docs/storage.md).
//!
//! - [`Store`]: open, read (`get`, `scan_from`, `last`), write synced or unsynced.
//! - [`WriteSet`]: puts and deletes applied all-or-nothing.
//! - [`GroupCommitter`]: the writer thread that merges queued sets into one synced write.
//! - [`StoreError`]: one error enum; a failed write poisons the store for good.
//!
//! No protocol meaning lives here: keys and values are bytes the caller encodes.

mod db;
mod error;
mod group_commit;
mod write_set;

pub use db::Store;
pub use error::{Result, StoreError};
pub use group_commit::{GroupCommitConfig, GroupCommitStats, GroupCommitter};
pub use write_set::WriteSet;
