//! [`Store`]: the RocksDB database, its column families, reads, and the two direct write
//! paths (synced and unsynced). Every write path goes through [`Store::write_sets`], which
//! also poisons the store on the first failure.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rocksdb::{
    ColumnFamily, ColumnFamilyDescriptor, DBCompressionType, DBIteratorWithThreadMode,
    DBRecoveryMode, DBWithThreadMode, Direction, IteratorMode, Options, SingleThreaded, WriteBatch,
    WriteOptions,
};

use super::error::{Result, StoreError};
use super::write_set::WriteSet;

/// Named explicitly (not `rocksdb::DB`), so the type stays put whatever features of rocksdb
/// another crate turns on.
type Db = DBWithThreadMode<SingleThreaded>;

/// Informational LOG files RocksDB keeps (not WAL files: those are deleted once flushed).
const KEEP_LOG_FILES: usize = 4;

/// A RocksDB database opened with a fixed set of column families. Cheap to clone: every
/// clone shares one database, which closes when the last clone (the group-commit writer
/// thread holds one) is dropped.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    path: PathBuf,
    /// The first failed write; set once, never cleared.
    poisoned: OnceLock<StoreError>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .field("poisoned", &self.inner.poisoned.get().is_some())
            .finish_non_exhaustive()
    }
}

/// Options for the database and every column family. The WAL stays on (RocksDB's default;
/// nothing here turns it off), and recovery replays it up to the first torn or corrupt
/// record, so a crash leaves a prefix of the acknowledged writes, never a partial one.
fn options() -> Options {
    let mut options = Options::default();
    options.create_if_missing(true);
    options.create_missing_column_families(true);
    options.set_compression_type(DBCompressionType::Lz4);
    options.set_keep_log_file_num(KEEP_LOG_FILES);
    options.set_wal_recovery_mode(DBRecoveryMode::PointInTime);
    options
}

impl Store {
    /// Opens (creating if missing) the database at `path` with exactly `column_families`
    /// (created if missing; RocksDB's `default` family always exists besides). A column
    /// family on disk that is not listed makes the open fail, as does a database already
    /// open (in this process or another): the error names `path`.
    pub fn open(path: &Path, column_families: &[&'static str]) -> Result<Store> {
        let options = options();
        let descriptors = column_families
            .iter()
            .map(|name| ColumnFamilyDescriptor::new(*name, options.clone()));
        let db = Db::open_cf_descriptors(&options, path, descriptors).map_err(|source| {
            StoreError::Open {
                path: path.to_path_buf(),
                source,
            }
        })?;
        Ok(Store {
            inner: Arc::new(Inner {
                db,
                path: path.to_path_buf(),
                poisoned: OnceLock::new(),
            }),
        })
    }

    /// The database directory.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The value of `key` in `cf`.
    pub fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let handle = self.cf(cf)?;
        Ok(self.inner.db.get_cf(handle, key)?)
    }

    /// The entries of `cf` with key `>= start`, in key order, as owned pairs. An unknown
    /// column family or a read error is yielded as the last item.
    pub fn scan_from(
        &self,
        cf: &str,
        start: &[u8],
    ) -> impl Iterator<Item = Result<(Vec<u8>, Vec<u8>)>> + use<'_> {
        let state = match self.cf(cf) {
            Ok(handle) => Scan::Reading(
                self.inner
                    .db
                    .iterator_cf(handle, IteratorMode::From(start, Direction::Forward)),
            ),
            Err(error) => Scan::Failed(Some(error)),
        };
        ScanFrom { state }
    }

    /// The entry of `cf` with the greatest key.
    pub fn last(&self, cf: &str) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        let handle = self.cf(cf)?;
        let mut iter = self.inner.db.raw_iterator_cf(handle);
        iter.seek_to_last();
        match iter.item() {
            Some((key, value)) => Ok(Some((key.to_vec(), value.to_vec()))),
            None => {
                iter.status()?;
                Ok(None)
            }
        }
    }

    /// Applies `set` atomically and durably now: one RocksDB write with `sync = true`
    /// (the WAL is fsynced before this returns). Not grouped with other callers' sets
    /// by this crate (RocksDB may still batch concurrent writers internally).
    pub fn write_sync(&self, set: WriteSet) -> Result<()> {
        self.write_sets(std::slice::from_ref(&set), true)
    }

    /// Applies `set` atomically without waiting for the WAL fsync: it survives a crash of
    /// this process (the WAL write reached the kernel) but maybe not a power loss. For
    /// benchmarks and for data that may be lost.
    pub fn write_unsynced(&self, set: WriteSet) -> Result<()> {
        self.write_sets(std::slice::from_ref(&set), false)
    }

    /// Why writes are refused, if an earlier write failed.
    pub fn poisoned(&self) -> Option<&StoreError> {
        self.inner.poisoned.get()
    }

    /// Checks that every op of `set` names a column family of this store.
    pub(crate) fn check(&self, set: &WriteSet) -> Result<()> {
        set.ops().iter().try_for_each(|op| self.cf(op.cf).map(drop))
    }

    /// Applies `sets`, in order, as one atomic RocksDB write. The first failed write
    /// poisons the store: this and every later write return [`StoreError::Poisoned`]
    /// (the failing call itself gets the RocksDB error).
    pub(crate) fn write_sets(&self, sets: &[WriteSet], sync: bool) -> Result<()> {
        if let Some(cause) = self.inner.poisoned.get() {
            return Err(cause.clone().poison());
        }
        let mut batch = WriteBatch::default();
        for op in sets.iter().flat_map(WriteSet::ops) {
            let handle = self.cf(op.cf)?;
            match &op.value {
                Some(value) => batch.put_cf(handle, &op.key, value),
                None => batch.delete_cf(handle, &op.key),
            }
        }
        let mut write_options = WriteOptions::default();
        write_options.set_sync(sync);
        self.inner
            .db
            .write_opt(batch, &write_options)
            .map_err(|error| {
                let error = StoreError::Rocks(error);
                // Only the first failure is kept; a racing second one is the same story.
                let _ = self.inner.poisoned.set(error.clone());
                error
            })
    }

    fn cf(&self, name: &str) -> Result<&ColumnFamily> {
        self.inner
            .db
            .cf_handle(name)
            .ok_or_else(|| StoreError::UnknownColumnFamily(name.to_owned()))
    }
}

/// The iterator behind [`Store::scan_from`].
struct ScanFrom<'a> {
    state: Scan<'a>,
}

enum Scan<'a> {
    Reading(DBIteratorWithThreadMode<'a, Db>),
    /// The error still to yield (`None` once yielded).
    Failed(Option<StoreError>),
}

impl Iterator for ScanFrom<'_> {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.state {
            Scan::Reading(iter) => match iter.next()? {
                Ok((key, value)) => Some(Ok((key.into_vec(), value.into_vec()))),
                Err(error) => {
                    self.state = Scan::Failed(None);
                    Some(Err(error.into()))
                }
            },
            Scan::Failed(error) => error.take().map(Err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &tempfile::TempDir) -> Store {
        Store::open(dir.path(), &["a", "b"]).expect("open")
    }

    #[test]
    fn store_is_send_sync_and_cheap_to_clone() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<Store>();
    }

    #[test]
    fn reads_see_writes_per_column_family() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(&dir);
        let mut set = WriteSet::new();
        for key in [3u8, 1, 2] {
            set.put("a", [key], [key * 10]);
        }
        set.put("b", [9], b"other".to_vec());
        set.delete("a", [2]);
        store.write_sync(set).expect("write");

        assert_eq!(store.get("a", &[1]).expect("get"), Some(vec![10]));
        assert_eq!(store.get("a", &[2]).expect("get"), None);
        assert_eq!(store.get("a", &[9]).expect("get"), None);
        let scanned: Vec<_> = store
            .scan_from("a", &[0])
            .collect::<Result<_>>()
            .expect("scan");
        assert_eq!(scanned, [(vec![1], vec![10]), (vec![3], vec![30])]);
        let from_two: Vec<_> = store
            .scan_from("a", &[2])
            .collect::<Result<_>>()
            .expect("scan");
        assert_eq!(from_two, [(vec![3], vec![30])]);
        assert_eq!(store.last("a").expect("last"), Some((vec![3], vec![30])));
        assert_eq!(
            store.last("b").expect("last"),
            Some((vec![9], b"other".to_vec()))
        );
    }

    #[test]
    fn empty_column_family_has_no_last_and_scans_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(&dir);
        assert_eq!(store.last("a").expect("last"), None);
        assert_eq!(store.scan_from("a", b"").count(), 0);
    }

    #[test]
    fn unknown_column_family_is_an_error_everywhere() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(&dir);
        let unknown = |result: Result<()>| matches!(result, Err(StoreError::UnknownColumnFamily(name)) if name == "nope");
        assert!(unknown(store.get("nope", b"k").map(drop)));
        assert!(unknown(store.last("nope").map(drop)));
        let mut scan = store.scan_from("nope", b"");
        assert!(unknown(scan.next().expect("one error").map(drop)));
        assert!(scan.next().is_none());
        let mut set = WriteSet::new();
        set.put("a", b"k".to_vec(), b"v".to_vec());
        set.put("nope", b"k".to_vec(), b"v".to_vec());
        assert!(unknown(store.check(&set)));
        assert!(unknown(store.write_sync(set.clone())));
        assert!(unknown(store.write_unsynced(set)));
        // A refused set is not a failed write: nothing applied, the store is not poisoned.
        assert_eq!(store.get("a", b"k").expect("get"), None);
        assert!(store.poisoned().is_none());
    }

    #[test]
    fn open_failure_names_the_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("not-a-directory");
        std::fs::write(&file, b"x").expect("write file");
        let error = Store::open(&file, &["a"]).expect_err("a file is not a database");
        assert!(matches!(error, StoreError::Open { .. }));
        assert!(error.to_string().contains("not-a-directory"), "{error}");
    }

    #[test]
    fn a_database_open_twice_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let _store = store(&dir);
        let error = Store::open(dir.path(), &["a", "b"]).expect_err("locked");
        assert!(matches!(error, StoreError::Open { .. }), "{error}");
    }
}
