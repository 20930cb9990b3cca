//! [`GroupCommitter`]: many callers' write sets made durable by few fsyncs.
//!
//! A `sync = true` RocksDB write costs one WAL fsync, whatever its size, and the fsync is
//! most of its time. So one writer thread takes every set queued while the previous
//! write+fsync ran and applies them as one write with one fsync: under load, N callers pay
//! for one fsync instead of N, and a set waits for the write in progress and its own (more
//! only when the queue holds more than one write's bounds).
//!
//! - Callers queue sets on a channel ([`GroupCommitter::commit`] queues at call time, not
//!   when first polled) and wait on a oneshot for the answer; the async side never blocks.
//! - The writer takes the queue's sets in order into one `WriteBatch`, so sets from one
//!   caller are applied in the order queued, and each set is all-or-nothing.
//! - An answer is sent only after the write that held the set returned from its fsync.
//! - A failed write answers every set in it with the error and poisons the committer (and
//!   the [`Store`]): every later set is answered [`StoreError::Poisoned`], never written.
//!   After a failed fsync nobody knows what reached the disk; a sequencer must stop.
//! - Dropping the last handle lets the writer finish what is queued, then joins it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use super::db::Store;
use super::error::{Result, StoreError};
use super::write_set::WriteSet;

/// Bounds on one group write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupCommitConfig {
    /// Most sets merged into one write (at least one is always written).
    pub max_sets_per_write: usize,
    /// Most key and value bytes in one write; a single set larger than this is written
    /// alone.
    pub max_bytes_per_write: usize,
}

impl Default for GroupCommitConfig {
    fn default() -> Self {
        Self {
            max_sets_per_write: 4096,
            max_bytes_per_write: 64 << 20,
        }
    }
}

/// What a committer has made durable so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupCommitStats {
    /// Successful synced writes (one fsync each).
    pub writes: u64,
    /// Sets in those writes.
    pub sets: u64,
    /// Key and value bytes in those sets.
    pub bytes: u64,
}

#[derive(Default)]
struct Counters {
    writes: AtomicU64,
    sets: AtomicU64,
    bytes: AtomicU64,
}

/// Where the writer applies a group: the [`Store`], or a fake in tests.
pub(crate) trait GroupSink: Send + 'static {
    /// Refuses a set that can never be written (an unknown column family) before it joins a
    /// group, so that it fails alone.
    fn check(&self, set: &WriteSet) -> Result<()>;
    /// Applies `sets`, in order, as one atomic write with `sync = true`.
    fn write_synced(&self, sets: &[WriteSet]) -> Result<()>;
}

impl GroupSink for Store {
    fn check(&self, set: &WriteSet) -> Result<()> {
        Store::check(self, set)
    }

    fn write_synced(&self, sets: &[WriteSet]) -> Result<()> {
        self.write_sets(sets, true)
    }
}

impl Store {
    /// Starts the group-commit writer thread for this store. If the thread cannot be
    /// started, every commit answers [`StoreError::WriterStart`].
    pub fn group_committer(&self, config: GroupCommitConfig) -> GroupCommitter {
        GroupCommitter::start(self.clone(), config)
    }
}

/// A handle to one group-commit writer thread. Clones share the thread; dropping the last
/// one closes the queue, lets the writer answer what is queued, and joins it (so the drop
/// may block for the writes still queued; afterwards the thread's [`Store`] clone is gone).
#[derive(Clone)]
pub struct GroupCommitter {
    shared: Arc<Shared>,
}

struct Shared {
    /// `None` if the writer never started (then `start_error` says why), and in `drop`.
    queue: Option<mpsc::Sender<Request>>,
    thread: Option<JoinHandle<()>>,
    start_error: Option<StoreError>,
    counters: Arc<Counters>,
}

struct Request {
    set: WriteSet,
    reply: Reply,
}

enum Reply {
    Async(oneshot::Sender<Result<()>>),
    Blocking(mpsc::SyncSender<Result<()>>),
}

impl Reply {
    fn send(self, answer: Result<()>) {
        // A caller that stopped waiting is no error: its set was handled all the same.
        let _ = match self {
            Reply::Async(reply) => reply.send(answer).map_err(drop),
            Reply::Blocking(reply) => reply.send(answer).map_err(drop),
        };
    }
}

impl std::fmt::Debug for GroupCommitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommitter")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl GroupCommitter {
    pub(crate) fn start(sink: impl GroupSink, config: GroupCommitConfig) -> GroupCommitter {
        let (queue, requests) = mpsc::channel();
        let counters = Arc::new(Counters::default());
        let spawned = std::thread::Builder::new()
            .name("store-group-commit".into())
            .spawn({
                let counters = counters.clone();
                move || Writer::new(sink, config, counters).run(&requests)
            });
        let shared = match spawned {
            Ok(thread) => Shared {
                queue: Some(queue),
                thread: Some(thread),
                start_error: None,
                counters,
            },
            Err(error) => Shared {
                queue: None,
                thread: None,
                start_error: Some(StoreError::WriterStart(error.to_string())),
                counters,
            },
        };
        GroupCommitter {
            shared: Arc::new(shared),
        }
    }

    /// Queues `set` (now, before the future is first polled) and resolves once it is
    /// durable: part of a RocksDB write with `sync = true` that succeeded. Or with the error
    /// that write hit, or [`StoreError::Poisoned`] after an earlier failure. Sets queued by
    /// one caller are applied in the order queued.
    pub fn commit(
        &self,
        set: WriteSet,
    ) -> impl Future<Output = Result<()>> + Send + 'static + use<> {
        let (reply, answer) = oneshot::channel();
        let queued = self.queue(Request {
            set,
            reply: Reply::Async(reply),
        });
        async move {
            queued?;
            answer.await.unwrap_or(Err(StoreError::Closed))
        }
    }

    /// [`Self::commit`] for a thread outside the async runtime: blocks until the answer.
    pub fn commit_blocking(&self, set: WriteSet) -> Result<()> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.queue(Request {
            set,
            reply: Reply::Blocking(reply),
        })?;
        answer.recv().unwrap_or(Err(StoreError::Closed))
    }

    /// Writes, sets and bytes made durable so far.
    pub fn stats(&self) -> GroupCommitStats {
        let counters = &self.shared.counters;
        GroupCommitStats {
            writes: counters.writes.load(Ordering::Relaxed),
            sets: counters.sets.load(Ordering::Relaxed),
            bytes: counters.bytes.load(Ordering::Relaxed),
        }
    }

    fn queue(&self, request: Request) -> Result<()> {
        match &self.shared.queue {
            Some(queue) => queue.send(request).map_err(|_| StoreError::Closed),
            None => Err(self
                .shared
                .start_error
                .clone()
                .unwrap_or(StoreError::Closed)),
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Closing the queue ends the writer once it has answered everything queued.
        self.queue = None;
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the store's group-commit writer thread panicked");
        }
    }
}

/// The writer thread's state.
struct Writer<S> {
    sink: S,
    config: GroupCommitConfig,
    counters: Arc<Counters>,
    /// Set by the first failed write; then every set is answered with it.
    poisoned: Option<StoreError>,
    /// A request taken from the queue that did not fit the previous group.
    carried: Option<Request>,
}

/// The sets of one write and who waits for them.
#[derive(Default)]
struct Group {
    sets: Vec<WriteSet>,
    replies: Vec<Reply>,
    bytes: usize,
}

impl Group {
    fn admits(&self, set: &WriteSet, config: &GroupCommitConfig) -> bool {
        self.sets.is_empty()
            || (self.sets.len() < config.max_sets_per_write
                && self.bytes + set.bytes() <= config.max_bytes_per_write)
    }

    fn push(&mut self, request: Request) {
        self.bytes += request.set.bytes();
        self.sets.push(request.set);
        self.replies.push(request.reply);
    }
}

impl<S: GroupSink> Writer<S> {
    fn new(sink: S, config: GroupCommitConfig, counters: Arc<Counters>) -> Self {
        Self {
            sink,
            config,
            counters,
            poisoned: None,
            carried: None,
        }
    }

    /// Until every handle is dropped and the queue is empty: wait for a set, take what else
    /// is queued (up to the bounds), write it all with one fsync, answer.
    fn run(mut self, requests: &mpsc::Receiver<Request>) {
        while let Some(first) = self.carried.take().or_else(|| requests.recv().ok()) {
            let group = self.gather(first, requests);
            if !group.sets.is_empty() {
                self.write(group);
            }
        }
    }

    fn gather(&mut self, first: Request, requests: &mpsc::Receiver<Request>) -> Group {
        let mut group = Group::default();
        let mut next = Some(first);
        while let Some(request) = next {
            if let Some(cause) = &self.poisoned {
                request.reply.send(Err(cause.clone()));
            } else if let Err(error) = self.sink.check(&request.set) {
                request.reply.send(Err(error));
            } else if group.admits(&request.set, &self.config) {
                group.push(request);
            } else {
                self.carried = Some(request);
                break;
            }
            next = requests.try_recv().ok();
        }
        group
    }

    fn write(&mut self, group: Group) {
        match self.sink.write_synced(&group.sets) {
            Ok(()) => {
                // Counted before answering, so a caller that saw its answer sees its write.
                let counters = &self.counters;
                counters.writes.fetch_add(1, Ordering::Relaxed);
                counters
                    .sets
                    .fetch_add(group.sets.len() as u64, Ordering::Relaxed);
                counters
                    .bytes
                    .fetch_add(group.bytes as u64, Ordering::Relaxed);
                for reply in group.replies {
                    reply.send(Ok(()));
                }
            }
            Err(error) => {
                tracing::error!(
                    sets = group.sets.len(),
                    %error,
                    "group commit failed; the store accepts no more writes"
                );
                for reply in group.replies {
                    reply.send(Err(error.clone()));
                }
                self.poisoned = Some(error.poison());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::AtomicBool;

    use super::*;

    /// Records each write's sets; can hold its first write until released, fail its n-th
    /// write, or panic.
    struct FakeSink {
        writes: Arc<Mutex<Vec<Vec<WriteSet>>>>,
        /// Told when the first write starts; the write then waits for `release`.
        started: Option<mpsc::Sender<()>>,
        release: Option<mpsc::Receiver<()>>,
        /// The 0-based index of the write that fails with `error`.
        fail_write: Option<usize>,
        panic_write: Option<usize>,
        dropped: Arc<AtomicBool>,
    }

    /// The test's side of a [`FakeSink`].
    struct Probe {
        writes: Arc<Mutex<Vec<Vec<WriteSet>>>>,
        started: mpsc::Receiver<()>,
        release: mpsc::Sender<()>,
        dropped: Arc<AtomicBool>,
    }

    fn fake() -> (FakeSink, Probe) {
        let (started_tx, started) = mpsc::channel();
        let (release, release_rx) = mpsc::channel();
        let writes = Arc::default();
        let dropped = Arc::new(AtomicBool::new(false));
        let sink = FakeSink {
            writes: Arc::clone(&writes),
            started: Some(started_tx),
            release: Some(release_rx),
            fail_write: None,
            panic_write: None,
            dropped: Arc::clone(&dropped),
        };
        let probe = Probe {
            writes,
            started,
            release,
            dropped,
        };
        (sink, probe)
    }

    /// A real RocksDB error, from opening a database that does not exist.
    fn injected_error() -> StoreError {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing");
        let error = rocksdb::DB::open(&rocksdb::Options::default(), missing)
            .expect_err("create_if_missing is off by default");
        StoreError::Rocks(error)
    }

    impl GroupSink for FakeSink {
        fn check(&self, set: &WriteSet) -> Result<()> {
            match set.ops().iter().find(|op| op.cf != "cf") {
                Some(op) => Err(StoreError::UnknownColumnFamily(op.cf.to_owned())),
                None => Ok(()),
            }
        }

        fn write_synced(&self, sets: &[WriteSet]) -> Result<()> {
            let index = {
                let mut writes = self.writes.lock().expect("lock");
                writes.push(sets.to_vec());
                writes.len() - 1
            };
            if index == 0
                && let (Some(started), Some(release)) = (&self.started, &self.release)
            {
                started.send(()).expect("test waits");
                release.recv().expect("test releases");
            }
            if self.panic_write == Some(index) {
                panic!("injected writer panic");
            }
            if self.fail_write == Some(index) {
                return Err(injected_error());
            }
            Ok(())
        }
    }

    impl Drop for FakeSink {
        fn drop(&mut self) {
            self.dropped.store(true, Ordering::SeqCst);
        }
    }

    fn set(i: u8) -> WriteSet {
        let mut set = WriteSet::new();
        set.put("cf", [i], [i; 10]);
        set
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
    }

    /// Queues set 0, waits until its write is in progress, queues sets 1..n, releases.
    fn queue_during_first_write(
        committer: &GroupCommitter,
        probe: &Probe,
        n: u8,
    ) -> Vec<impl Future<Output = Result<()>> + use<>> {
        let mut answers = vec![committer.commit(set(0))];
        probe.started.recv().expect("first write starts");
        answers.extend((1..n).map(|i| committer.commit(set(i))));
        probe.release.send(()).expect("writer waits");
        answers
    }

    #[test]
    fn sets_queued_during_a_write_share_the_next_write_in_order() {
        let (sink, probe) = fake();
        let committer = GroupCommitter::start(sink, GroupCommitConfig::default());
        let answers = queue_during_first_write(&committer, &probe, 10);
        let rt = runtime();
        for answer in answers {
            rt.block_on(answer).expect("durable");
        }
        let writes = probe.writes.lock().expect("lock").clone();
        assert_eq!(writes, [vec![set(0)], (1..10).map(set).collect()]);
        assert_eq!(
            committer.stats(),
            GroupCommitStats {
                writes: 2,
                sets: 10,
                bytes: 10 * 11
            }
        );
    }

    #[test]
    fn a_group_respects_max_sets_and_max_bytes() {
        for (config, sizes) in [
            (
                GroupCommitConfig {
                    max_sets_per_write: 4,
                    ..GroupCommitConfig::default()
                },
                vec![1, 4, 4, 1],
            ),
            (
                GroupCommitConfig {
                    max_sets_per_write: 100,
                    max_bytes_per_write: 2 * 11 + 5,
                },
                vec![1, 2, 2, 2, 2, 1],
            ),
            (
                // A set larger than the byte bound is written alone, not refused.
                GroupCommitConfig {
                    max_sets_per_write: 0,
                    max_bytes_per_write: 1,
                },
                vec![1; 10],
            ),
        ] {
            let (sink, probe) = fake();
            let committer = GroupCommitter::start(sink, config);
            let answers = queue_during_first_write(&committer, &probe, 10);
            let rt = runtime();
            for answer in answers {
                rt.block_on(answer).expect("durable");
            }
            let writes = probe.writes.lock().expect("lock").clone();
            let got: Vec<usize> = writes.iter().map(Vec::len).collect();
            assert_eq!(got, sizes, "{config:?}");
            assert_eq!(writes.concat(), (0..10).map(set).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_failed_write_answers_its_whole_group_then_everything_is_poisoned() {
        let (mut sink, probe) = fake();
        sink.fail_write = Some(1);
        let committer = GroupCommitter::start(sink, GroupCommitConfig::default());
        let mut answers = queue_during_first_write(&committer, &probe, 10).into_iter();
        let rt = runtime();
        rt.block_on(answers.next().expect("set 0"))
            .expect("first write succeeds");
        for answer in answers {
            let error = rt.block_on(answer).expect_err("the group's write failed");
            assert!(matches!(error, StoreError::Rocks(_)), "{error}");
        }
        for _ in 0..3 {
            let error = committer.commit_blocking(set(42)).expect_err("poisoned");
            let StoreError::Poisoned { cause } = &error else {
                panic!("expected Poisoned, got {error}");
            };
            assert!(matches!(**cause, StoreError::Rocks(_)), "{error}");
            let error = rt
                .block_on(committer.commit(set(43)))
                .expect_err("poisoned");
            assert!(matches!(error, StoreError::Poisoned { .. }), "{error}");
        }
        // Nothing is written after the failure.
        assert_eq!(probe.writes.lock().expect("lock").len(), 2);
        assert_eq!(committer.stats().writes, 1);
    }

    #[test]
    fn an_unwritable_set_fails_alone() {
        let (sink, probe) = fake();
        let committer = GroupCommitter::start(sink, GroupCommitConfig::default());
        probe.release.send(()).expect("writer waits");
        let mut bad = set(1);
        bad.put("elsewhere", b"k".to_vec(), b"v".to_vec());
        let error = committer.commit_blocking(bad).expect_err("unknown cf");
        assert!(
            matches!(&error, StoreError::UnknownColumnFamily(cf) if cf == "elsewhere"),
            "{error}"
        );
        committer.commit_blocking(set(2)).expect("not poisoned");
        assert_eq!(*probe.writes.lock().expect("lock"), [vec![set(2)]]);
    }

    #[test]
    fn dropping_the_last_handle_writes_what_is_queued_then_stops_the_thread() {
        let (mut sink, probe) = fake();
        sink.started = None;
        sink.release = None;
        let committer = GroupCommitter::start(sink, GroupCommitConfig::default());
        let other = committer.clone();
        let answers: Vec<_> = (0..50).map(|i| committer.commit(set(i))).collect();
        drop(committer);
        assert!(!probe.dropped.load(Ordering::SeqCst), "a handle is left");
        drop(other);
        // The drop joined the thread, which owned (and so dropped) the sink.
        assert!(probe.dropped.load(Ordering::SeqCst));
        let rt = runtime();
        for answer in answers {
            rt.block_on(answer)
                .expect("written before the thread stopped");
        }
        let written: usize = probe
            .writes
            .lock()
            .expect("lock")
            .iter()
            .map(Vec::len)
            .sum();
        assert_eq!(written, 50);
    }

    #[test]
    fn a_writer_that_panicked_answers_closed() {
        let (mut sink, probe) = fake();
        sink.started = None;
        sink.release = None;
        sink.panic_write = Some(0);
        let committer = GroupCommitter::start(sink, GroupCommitConfig::default());
        let error = committer.commit_blocking(set(0)).expect_err("writer died");
        assert!(matches!(error, StoreError::Closed), "{error}");
        // Wait until the panicking thread has dropped its end of the queue.
        while !probe.dropped.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        let error = runtime()
            .block_on(committer.commit(set(1)))
            .expect_err("writer gone");
        assert!(matches!(error, StoreError::Closed), "{error}");
    }
}
