//! The journal: an append-only file of [`Record`]s, each written and fsynced before the
//! chain reports what it did.
//!
//! # Why a journal
//!
//! A dev chain's state is small and its history short; what matters is that nothing
//! reported is ever lost and that a crash at any byte leaves a readable file. An
//! append-only log gives both with one file and no database: a block's record is
//! appended and `fsync`ed before the block becomes visible (before `eth_sendRawTransaction`
//! returns its hash in automine mode), and opening the chain replays every record. Each
//! record carries the state changes it made, so replay applies them without running the
//! EVM (see [`record`](super::record)). Replay costs time proportional to the history
//! (plain JSON decoding: about a second per hundred thousand small blocks); a periodic
//! state snapshot would bound it, and is not needed at dev-chain sizes.
//!
//! # Format
//!
//! `VERDICT-L1-JOURNAL-1\n`, then frames: `len: u32 LE`, `check: [u8; 8]` (the first
//! eight bytes of keccak256 of the payload), `payload` (`len` bytes of JSON).
//!
//! # Torn tails
//!
//! A kill during a write leaves a short or half-written last frame. Opening stops at the
//! first frame that is short or fails its check, truncates the file there (logging a
//! warning with the byte offset) and keeps everything before it: those records were
//! complete, and only they were ever reported. A frame that passes its check but does
//! not parse is not a torn write, and opening fails with [`DevChainError::Corrupt`].
//! If an append itself fails, the file is cut back to the last whole record and the
//! chain stops accepting changes ([`DevChainError::Halted`]).
//!
//! # One writer
//!
//! The journal file is locked (an OS advisory lock, released when the file is closed or
//! the process dies), so a second chain on the same data dir is refused instead of
//! interleaving its appends with the first one's. Opening waits up to a second for the
//! lock, time for a chain in the same process that is shutting down to let go.

use super::error::DevChainError;
use super::record::Record;
use alloy::primitives::keccak256;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// First bytes of every journal file.
const MAGIC: &[u8] = b"VERDICT-L1-JOURNAL-1\n";
/// Frame header: length and check.
const FRAME_HEADER: usize = 4 + 8;
/// How long opening waits for another holder of the journal lock to let go.
const LOCK_ATTEMPTS: u32 = 20;
const LOCK_RETRY: std::time::Duration = std::time::Duration::from_millis(50);
/// The journal's file name inside the data dir.
pub(crate) const JOURNAL_FILE: &str = "journal.vdl";

/// An open journal, positioned at its end.
#[derive(Debug)]
pub(crate) struct Journal {
    file: File,
    path: PathBuf,
    /// Length of the file up to the end of the last whole record.
    len: u64,
}

impl Journal {
    /// Opens (or creates) the journal in `dir`; returns it with its records, after
    /// cutting off a torn tail.
    pub(crate) fn open(dir: &Path) -> Result<(Self, Vec<Record>), DevChainError> {
        let io = |source| DevChainError::Io {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let path = dir.join(JOURNAL_FILE);
        let io = |source| DevChainError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        lock(&file, &path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;

        if bytes.len() < MAGIC.len() && MAGIC.starts_with(&bytes) {
            // New, or killed while writing the magic: start afresh.
            file.set_len(0).map_err(io)?;
            file.seek(SeekFrom::Start(0)).map_err(io)?;
            file.write_all(MAGIC).map_err(io)?;
            file.sync_all().map_err(io)?;
            sync_dir(dir).map_err(|source| DevChainError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
            let journal = Self {
                file,
                path,
                len: MAGIC.len() as u64,
            };
            return Ok((journal, Vec::new()));
        }
        if !bytes.starts_with(MAGIC) {
            return Err(DevChainError::Corrupt {
                path,
                index: 0,
                offset: 0,
                reason: "not a verdict L1 journal (bad magic)".to_owned(),
            });
        }

        let (records, end) = read_frames(&path, &bytes)?;
        if end < bytes.len() {
            tracing::warn!(
                path = %path.display(),
                offset = end,
                dropped_bytes = bytes.len() - end,
                records = records.len(),
                "journal ends in a torn record (killed mid-write?); truncating it"
            );
            file.set_len(end as u64).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        file.seek(SeekFrom::Start(end as u64)).map_err(io)?;
        let journal = Self {
            file,
            path,
            len: end as u64,
        };
        Ok((journal, records))
    }

    /// Appends one record and waits until it is on disk.
    pub(crate) fn append(&mut self, record: &Record) -> Result<(), DevChainError> {
        let payload = serde_json::to_vec(record).map_err(|error| DevChainError::Io {
            path: self.path.clone(),
            source: std::io::Error::other(error),
        })?;
        let len = u32::try_from(payload.len()).map_err(|_| DevChainError::Io {
            path: self.path.clone(),
            source: std::io::Error::other("record larger than 4 GiB"),
        })?;
        let mut frame = Vec::with_capacity(FRAME_HEADER + payload.len());
        frame.extend_from_slice(&len.to_le_bytes());
        frame.extend_from_slice(&keccak256(&payload)[..8]);
        frame.extend_from_slice(&payload);

        let written = self
            .file
            .seek(SeekFrom::Start(self.len))
            .and_then(|_| self.file.write_all(&frame))
            .and_then(|()| self.file.sync_data());
        if let Err(source) = written {
            // Cut back to the last whole record so later opens see a clean file.
            let _ = self.file.set_len(self.len);
            let _ = self.file.sync_all();
            return Err(DevChainError::Io {
                path: self.path.clone(),
                source,
            });
        }
        self.len += frame.len() as u64;
        Ok(())
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

/// Reads whole, checked frames from `bytes`; returns the records and where the last
/// whole frame ends.
fn read_frames(path: &Path, bytes: &[u8]) -> Result<(Vec<Record>, usize), DevChainError> {
    let mut records = Vec::new();
    let mut offset = MAGIC.len();
    loop {
        let rest = &bytes[offset..];
        if rest.len() < FRAME_HEADER {
            return Ok((records, offset));
        }
        let (len_bytes, rest) = rest.split_at(4);
        let (check, rest) = rest.split_at(8);
        let len = u32::from_le_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]);
        let Some(payload) = rest.get(..len as usize) else {
            return Ok((records, offset));
        };
        if keccak256(payload)[..8] != *check {
            return Ok((records, offset));
        }
        let record = serde_json::from_slice(payload).map_err(|error| DevChainError::Corrupt {
            path: path.to_path_buf(),
            index: records.len() as u64,
            offset: offset as u64,
            reason: format!("record passes its check but does not parse: {error}"),
        })?;
        records.push(record);
        offset += FRAME_HEADER + len as usize;
    }
}

/// Takes the journal's exclusive lock, waiting a little for a holder that is closing.
fn lock(file: &File, path: &Path) -> Result<(), DevChainError> {
    for _ in 0..LOCK_ATTEMPTS {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(TryLockError::WouldBlock) => std::thread::sleep(LOCK_RETRY),
            Err(TryLockError::Error(source)) => {
                return Err(DevChainError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
    }
    Err(DevChainError::Locked {
        path: path.to_path_buf(),
    })
}

/// Makes a new file's directory entry durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_tail_is_dropped_and_earlier_records_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        {
            let (mut journal, records) = Journal::open(dir.path()).expect("opens");
            assert!(records.is_empty());
            journal.append(&Record::Snapshot { id: 1 }).expect("append");
            journal.append(&Record::Snapshot { id: 2 }).expect("append");
        }
        let path = dir.path().join(JOURNAL_FILE);
        let full = std::fs::read(&path).expect("read");
        // Cut the second frame in half.
        std::fs::write(&path, &full[..full.len() - 5]).expect("write");
        let (mut journal, records) = Journal::open(dir.path()).expect("reopens");
        assert_eq!(records.len(), 1);
        journal
            .append(&Record::Snapshot { id: 3 })
            .expect("append after truncation");
        drop(journal);
        let (_, records) = Journal::open(dir.path()).expect("reopens");
        let ids: Vec<u64> = records
            .iter()
            .map(|record| match record {
                Record::Snapshot { id } => *id,
                _ => 0,
            })
            .collect();
        assert_eq!(ids, vec![1, 3]);
    }

    #[test]
    fn a_second_writer_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (_first, _) = Journal::open(dir.path()).expect("opens");
        assert!(matches!(
            Journal::open(dir.path()),
            Err(DevChainError::Locked { .. })
        ));
    }

    #[test]
    fn a_foreign_file_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join(JOURNAL_FILE), b"hello world, not a journal")
            .expect("write");
        assert!(matches!(
            Journal::open(dir.path()),
            Err(DevChainError::Corrupt { .. })
        ));
    }
}
