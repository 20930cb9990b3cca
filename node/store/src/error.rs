//! [`StoreError`]: everything the store can fail with.

use std::path::PathBuf;

/// The store's result type.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Why a store operation failed. `Clone`, so that one failed group write can answer every
/// waiter in the group with the same error.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// RocksDB refused to open (or create) the database.
    #[error("opening the store at {}: {source}", path.display())]
    Open {
        /// The database directory.
        path: PathBuf,
        /// RocksDB's reason.
        source: rocksdb::Error,
    },
    /// A column family the store was not opened with.
    #[error("unknown column family {0:?}: the store was not opened with it")]
    UnknownColumnFamily(String),
    /// A RocksDB read or write failed.
    #[error("rocksdb: {0}")]
    Rocks(#[from] rocksdb::Error),
    /// A write failed earlier; the store accepts no write after that (reads still work).
    /// Whatever the failed write left behind is unknown, so a sequencer must stop, reopen
    /// and recover rather than answer from a state that may not be on disk.
    #[error(
        "the store is poisoned: an earlier write failed ({cause}); no write is accepted after it"
    )]
    Poisoned {
        /// The first failure.
        cause: Box<StoreError>,
    },
    /// The group-commit writer thread could not be started.
    #[error("starting the group-commit writer thread: {0}")]
    WriterStart(String),
    /// The group-commit writer thread is gone (it panicked) before answering.
    #[error("the group-commit writer thread is gone")]
    Closed,
}

impl StoreError {
    /// The error that every write after `self` gets: `self` as the cause of
    /// [`StoreError::Poisoned`] (not nested when `self` already is one).
    pub(crate) fn poison(self) -> StoreError {
        match self {
            poisoned @ StoreError::Poisoned { .. } => poisoned,
            cause => StoreError::Poisoned {
                cause: Box::new(cause),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisoning_keeps_the_first_cause_and_never_nests() {
        let cause = StoreError::UnknownColumnFamily("x".into());
        let poisoned = cause.poison();
        assert!(
            matches!(&poisoned, StoreError::Poisoned { cause } if matches!(**cause, StoreError::UnknownColumnFamily(_)))
        );
        let again = poisoned.clone().poison();
        assert_eq!(again.to_string(), poisoned.to_string());
        assert!(again.to_string().contains("\"x\""), "{again}");
    }
}
