//! Taking a model file uploaded to this node (`verdict_uploadModelFile`, the second half
//! of `verdict model publish`), so that it can serve the model and hand its bytes on.
//!
//! An upload cannot be abused to store arbitrary data: chunks are taken only for a model
//! registered on L1, up to a size limit, in order, for a bounded number of uploads at a
//! time; the joined bytes must decode to a model of exactly the id they were sent for,
//! and only then are they written (atomically) to the model cache, where the node's
//! model follower finds them.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use alloy::primitives::B256;
use tokio::sync::{Mutex, Notify};
use verdict_l1::client::L1Error;
use verdict_l1::contracts::VerdictL1;
use verdict_specs::Hash;

use crate::fetch::{self, Fetched};

/// The most uploads in progress at a time (each one's chunks go to a file on disk).
pub const MAX_PARALLEL_UPLOADS: usize = 4;

/// Why an upload's chunk is refused.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The id is not registered in the ModelRegistry.
    #[error(
        "model {0} is not registered on L1; register it first (verdict model publish does both)"
    )]
    Unregistered(B256),
    /// The file is larger than this node takes.
    #[error("the file is {total} bytes, over this node's {limit}-byte model size limit")]
    TooLarge { total: u64, limit: u64 },
    /// The chunk does not continue the upload.
    #[error("{0}")]
    OutOfOrder(String),
    /// Too many uploads at once.
    #[error("{MAX_PARALLEL_UPLOADS} uploads are in progress; retry later")]
    Busy,
    /// The joined bytes are not the model of the id.
    #[error("the uploaded bytes are not model {id}: {why}")]
    Mismatch { id: B256, why: String },
    /// L1 could not be asked.
    #[error("L1: {0}")]
    L1(#[from] L1Error),
    /// The checked file could not be stored in the cache.
    #[error(transparent)]
    Cache(#[from] crate::fetch::FetchError),
    /// The disk failed.
    #[error("writing the upload to {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Where an upload stands after a chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UploadProgress {
    /// Bytes taken so far.
    pub received: u64,
    /// The file's length.
    pub total: u64,
    /// Whether the whole file arrived, checked and is stored.
    pub complete: bool,
}

/// An upload in progress.
struct Partial {
    total: u64,
    received: u64,
}

/// Takes model files uploaded in chunks.
pub struct UploadInbox {
    l1: VerdictL1,
    dir: PathBuf,
    max_bytes: u64,
    partial: Mutex<HashMap<Hash, Partial>>,
    arrived: Arc<Notify>,
}

impl UploadInbox {
    /// Uploads checked against `l1`'s registry, at most `max_bytes` each, stored in the
    /// model cache `dir`; `arrived` is notified after each complete file.
    pub fn new(l1: VerdictL1, dir: PathBuf, max_bytes: u64, arrived: Arc<Notify>) -> Self {
        Self {
            l1,
            dir,
            max_bytes,
            partial: Mutex::new(HashMap::new()),
            arrived,
        }
    }

    /// The model cache the complete files go to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Takes `data` at `offset` of model `id`'s file of `total` bytes. Offset 0 starts
    /// (or restarts) an upload; every other chunk must continue where the last ended.
    /// A file this node already holds answers complete at once.
    pub async fn receive(
        &self,
        id: Hash,
        offset: u64,
        total: u64,
        data: &[u8],
    ) -> Result<UploadProgress, UploadError> {
        let complete = UploadProgress {
            received: total,
            total,
            complete: true,
        };
        if total > self.max_bytes {
            return Err(UploadError::TooLarge {
                total,
                limit: self.max_bytes,
            });
        }
        if fetch::load_cached(&self.dir, id).is_some() {
            return Ok(complete);
        }
        if !self.l1.is_registered(B256::from(id)).await? {
            return Err(UploadError::Unregistered(B256::from(id)));
        }
        let end = offset
            .checked_add(data.len() as u64)
            .filter(|&end| end <= total)
            .ok_or_else(|| {
                UploadError::OutOfOrder(format!(
                    "a chunk of {} bytes at offset {offset} runs past the file's {total} bytes",
                    data.len()
                ))
            })?;
        let mut partial = self.partial.lock().await;
        let path = self.partial_path(id);
        if offset == 0 {
            if !partial.contains_key(&id) && partial.len() >= MAX_PARALLEL_UPLOADS {
                return Err(UploadError::Busy);
            }
            partial.insert(id, Partial { total, received: 0 });
            self.write(&path, data, true)?;
        } else {
            let Some(upload) = partial.get(&id) else {
                return Err(UploadError::OutOfOrder(format!(
                    "no upload of model {} is in progress; start at offset 0",
                    B256::from(id)
                )));
            };
            if upload.total != total || upload.received != offset {
                return Err(UploadError::OutOfOrder(format!(
                    "the upload of model {} is at byte {} of {}; this chunk is at {offset} of {total}",
                    B256::from(id),
                    upload.received,
                    upload.total
                )));
            }
            self.write(&path, data, false)?;
        }
        if let Some(upload) = partial.get_mut(&id) {
            upload.received = end;
        }
        if end < total {
            return Ok(UploadProgress {
                received: end,
                total,
                complete: false,
            });
        }
        partial.remove(&id);
        drop(partial);
        let result = self.finish(id, &path);
        let _ = std::fs::remove_file(&path);
        result?;
        self.arrived.notify_waiters();
        Ok(complete)
    }

    /// Checks the whole file against its id and stores it in the cache.
    fn finish(&self, id: Hash, path: &Path) -> Result<(), UploadError> {
        let io = |source| UploadError::Io {
            path: path.to_path_buf(),
            source,
        };
        let bytes = std::fs::read(path).map_err(io)?;
        let model = fetch::check(&bytes, id).map_err(|why| UploadError::Mismatch {
            id: B256::from(id),
            why,
        })?;
        fetch::store_cached(
            &self.dir,
            &Fetched {
                model,
                bytes,
                source: "an upload".into(),
            },
        )?;
        Ok(())
    }

    fn partial_path(&self, id: Hash) -> PathBuf {
        self.dir
            .join("uploads")
            .join(format!("{}.partial", B256::from(id)))
    }

    fn write(&self, path: &Path, data: &[u8], truncate: bool) -> Result<(), UploadError> {
        let io = |source| UploadError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(!truncate)
            .truncate(truncate)
            .open(path)
            .map_err(io)?;
        file.write_all(data).map_err(io)
    }
}
