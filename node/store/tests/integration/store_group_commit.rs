//! The RocksDB store's group committer against a real database in a temp dir: an
//! acknowledged set survives closing and reopening, and a SIGKILL of the writing process
//! (every acknowledged set present, no set partial, each submitter's sets a prefix);
//! concurrent submitters are acknowledged in order and really share writes; a failed write
//! answers its set with the error and poisons the store.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use verdict_store::{GroupCommitConfig, Store, StoreError, WriteSet};

const RECORDS: &str = "records";
const INDEX: &str = "index";
const FAMILIES: &[&str] = &[RECORDS, INDEX];
/// Record parts per set: a set is all-or-nothing only if all of its parts are.
const PARTS: u8 = 4;

/// Key of part `part` of submitter `task`'s set `seq`.
fn record_key(task: u32, seq: u32, part: u8) -> Vec<u8> {
    [&task.to_be_bytes()[..], &seq.to_be_bytes(), &[part]].concat()
}

fn index_key(task: u32, seq: u32) -> Vec<u8> {
    [task.to_be_bytes(), seq.to_be_bytes()].concat()
}

fn record_value(task: u32, seq: u32, part: u8) -> Vec<u8> {
    let mut value = record_key(task, seq, part);
    value.resize(150, part);
    value
}

/// Submitter `task`'s set `seq`: [`PARTS`] records and an index entry, in two families.
fn task_set(task: u32, seq: u32) -> WriteSet {
    let mut set = WriteSet::new();
    for part in 0..PARTS {
        set.put(
            RECORDS,
            record_key(task, seq, part),
            record_value(task, seq, part),
        );
    }
    set.put(INDEX, index_key(task, seq), seq.to_be_bytes());
    set
}

/// Per submitter, the sets present in `store`; panics on a partial set.
fn present_sets(store: &Store) -> BTreeMap<u32, BTreeSet<u32>> {
    let mut parts: BTreeMap<(u32, u32), Vec<u8>> = BTreeMap::new();
    for entry in store.scan_from(RECORDS, &[]) {
        let (key, value) = entry.expect("scan records");
        let task = u32::from_be_bytes(key[0..4].try_into().expect("4 bytes"));
        let seq = u32::from_be_bytes(key[4..8].try_into().expect("4 bytes"));
        assert_eq!(value, record_value(task, seq, key[8]), "record value");
        parts.entry((task, seq)).or_default().push(key[8]);
    }
    let mut present: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
    for ((task, seq), got) in parts {
        assert_eq!(
            got,
            (0..PARTS).collect::<Vec<_>>(),
            "set {task}/{seq} is partial"
        );
        let index = store.get(INDEX, &index_key(task, seq)).expect("get index");
        assert_eq!(
            index,
            Some(seq.to_be_bytes().to_vec()),
            "set {task}/{seq} has no index"
        );
        present.entry(task).or_default().insert(seq);
    }
    let indexed = store.scan_from(INDEX, &[]).count();
    let sets: usize = present.values().map(BTreeSet::len).sum();
    assert_eq!(indexed, sets, "an index entry without its records");
    present
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_sets_survive_closing_and_reopening() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let store = Store::open(dir.path(), FAMILIES).expect("open");
        let committer = store.group_committer(GroupCommitConfig::default());
        for seq in 0..20 {
            committer.commit(task_set(7, seq)).await.expect("commit");
        }
        let mut delete = WriteSet::new();
        delete.delete(INDEX, index_key(7, 19));
        for part in 0..PARTS {
            delete.delete(RECORDS, record_key(7, 19, part));
        }
        committer.commit(delete).await.expect("commit delete");
        // Dropping the last committer joins its thread, whose clone of the store is the
        // last one: the database is closed and its lock released when this block ends.
    }
    let store = Store::open(dir.path(), FAMILIES).expect("reopen");
    let present = present_sets(&store);
    assert_eq!(present[&7], (0..19).collect());
    let (last_key, last_value) = store.last(INDEX).expect("last").expect("not empty");
    assert_eq!(last_key, index_key(7, 18));
    assert_eq!(last_value, 18u32.to_be_bytes());
}

#[test]
fn commit_blocking_from_threads_survives_reopening() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let store = Store::open(dir.path(), FAMILIES).expect("open");
        let committer = store.group_committer(GroupCommitConfig::default());
        std::thread::scope(|scope| {
            for task in 0..8 {
                let committer = committer.clone();
                scope.spawn(move || {
                    for seq in 0..25 {
                        committer
                            .commit_blocking(task_set(task, seq))
                            .expect("commit");
                    }
                });
            }
        });
        assert_eq!(committer.stats().sets, 8 * 25);
    }
    let store = Store::open(dir.path(), FAMILIES).expect("reopen");
    let present = present_sets(&store);
    for task in 0..8 {
        assert_eq!(present[&task], (0..25).collect(), "task {task}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_committers_are_acknowledged_in_order_and_grouped() {
    const TASKS: u32 = 64;
    const SETS: u32 = 20;
    const LATEST: &str = "latest";
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path(), &[RECORDS, INDEX, LATEST]).expect("open");
    let committer = store.group_committer(GroupCommitConfig::default());
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let committer = committer.clone();
        tasks.push(tokio::spawn(async move {
            // Each set also overwrites the task's "latest" key: if two sets of one task
            // were applied out of order, the value left would not be the last seq.
            let set = |seq: u32| {
                let mut set = task_set(task, seq);
                set.put(LATEST, task.to_be_bytes(), seq.to_be_bytes());
                set
            };
            if task % 2 == 0 {
                // Queue every set before awaiting any.
                let answers: Vec<_> = (0..SETS).map(|seq| committer.commit(set(seq))).collect();
                for answer in answers {
                    answer.await?;
                }
            } else {
                for seq in 0..SETS {
                    committer.commit(set(seq)).await?;
                }
            }
            Ok::<_, StoreError>(())
        }));
    }
    for task in tasks {
        task.await
            .expect("task panicked")
            .expect("every set acknowledged");
    }
    let stats = committer.stats();
    assert_eq!(stats.sets, u64::from(TASKS * SETS), "{stats:?}");
    assert!(
        stats.writes < stats.sets,
        "no set shared a write: {stats:?}"
    );
    eprintln!(
        "{} sets in {} writes ({:.1} sets per fsync)",
        stats.sets,
        stats.writes,
        stats.sets as f64 / stats.writes as f64
    );
    let present = present_sets(&store);
    for task in 0..TASKS {
        assert_eq!(present[&task], (0..SETS).collect(), "task {task}");
        let latest = store.get(LATEST, &task.to_be_bytes()).expect("get latest");
        assert_eq!(
            latest,
            Some((SETS - 1).to_be_bytes().to_vec()),
            "task {task}"
        );
    }
}

#[tokio::test]
async fn an_unknown_column_family_fails_its_set_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path(), FAMILIES).expect("open");
    let committer = store.group_committer(GroupCommitConfig::default());
    let mut bad = task_set(1, 0);
    bad.put("blocks", b"k".to_vec(), b"v".to_vec());
    let error = committer.commit(bad).await.expect_err("unknown family");
    assert!(
        matches!(&error, StoreError::UnknownColumnFamily(name) if name == "blocks"),
        "{error}"
    );
    assert!(error.to_string().contains("blocks"), "{error}");
    // Nothing of the refused set was written, and the store still takes writes.
    assert_eq!(store.get(INDEX, &index_key(1, 0)).expect("get"), None);
    committer.commit(task_set(1, 1)).await.expect("commit");
    assert!(store.poisoned().is_none());
    assert!(matches!(
        store.get("blocks", b"k"),
        Err(StoreError::UnknownColumnFamily(_))
    ));
}

/// RocksDB's memtable holds 64 MiB by default; once full, the next write switches to a new
/// memtable and a new WAL file. With the database directory gone (renamed away), creating
/// that file fails: a real write error, from RocksDB itself.
#[tokio::test]
async fn a_failed_write_answers_with_its_error_and_poisons_the_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("db");
    let moved = dir.path().join("moved");
    let families = [RECORDS, INDEX, "blobs"];
    let store = Store::open(&path, &families).expect("open");
    let committer = store.group_committer(GroupCommitConfig::default());
    committer.commit(task_set(0, 0)).await.expect("commit");
    std::fs::rename(&path, &moved).expect("move the database away");

    let big = vec![0x5a; 1 << 20];
    let mut acknowledged = 1;
    let error = loop {
        assert!(acknowledged < 200, "200 MiB written and no write failed");
        let mut set = task_set(0, acknowledged);
        set.put("blobs", b"big".to_vec(), big.clone());
        match committer.commit(set).await {
            Ok(()) => acknowledged += 1,
            Err(error) => break error,
        }
    };
    assert!(matches!(error, StoreError::Rocks(_)), "{error}");
    eprintln!("after {acknowledged} acknowledged sets: {error}");

    // Everything after is refused, through the committer and directly.
    for seq in [1_000, 1_001] {
        let error = committer
            .commit(task_set(0, seq))
            .await
            .expect_err("poisoned");
        assert!(matches!(error, StoreError::Poisoned { .. }), "{error}");
        assert!(error.to_string().contains("poisoned"), "{error}");
    }
    let error = store.write_sync(task_set(0, 1_002)).expect_err("poisoned");
    assert!(matches!(error, StoreError::Poisoned { .. }), "{error}");
    let error = store
        .write_unsynced(task_set(0, 1_003))
        .expect_err("poisoned");
    assert!(matches!(error, StoreError::Poisoned { .. }), "{error}");
    assert!(store.poisoned().is_some());
    // Reads still work.
    assert!(store.get(INDEX, &index_key(0, 0)).expect("get").is_some());

    // Every acknowledged set is in the moved database, and nothing refused is.
    drop(committer);
    drop(store);
    let store = Store::open(&moved, &families).expect("reopen");
    let present = present_sets(&store);
    let seqs = &present[&0];
    assert!(
        (0..acknowledged).all(|seq| seqs.contains(&seq)),
        "an acknowledged set is missing"
    );
    assert!(
        seqs.iter().all(|&seq| seq <= acknowledged),
        "a refused set was written"
    );
}

/// Set in the child process: the database directory.
const CHILD_DIR: &str = "VERDICT_STORE_KILL_TEST_DIR";
const CHILD_TASKS: u32 = 8;
/// Acknowledgements the parent waits for before the kill.
const ACKS_BEFORE_KILL: usize = 400;

/// The child's side of [`acknowledged_sets_survive_sigkill_and_no_set_is_partial`]: a
/// no-op unless `CHILD_DIR` is set. Commits sets from [`CHILD_TASKS`] tasks, each task in
/// order, and prints `ack <task> <seq>` once a set is durable, until killed.
#[test]
fn sigkill_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let store = Store::open(Path::new(&dir), FAMILIES).expect("child open");
    let committer = store.group_committer(GroupCommitConfig::default());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let tasks: Vec<_> = (0..CHILD_TASKS)
            .map(|task| {
                let committer = committer.clone();
                tokio::spawn(async move {
                    for seq in 0..1_000_000 {
                        committer
                            .commit(task_set(task, seq))
                            .await
                            .expect("child commit");
                        // Straight to the process's stdout (the test harness captures only
                        // `print!`), one line per write, flushed.
                        let mut out = std::io::stdout().lock();
                        writeln!(out, "ack {task} {seq}").expect("stdout");
                        out.flush().expect("stdout");
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("child task");
        }
    });
}

#[test]
fn acknowledged_sets_survive_sigkill_and_no_set_is_partial() {
    let dir = tempfile::tempdir().expect("temp dir");
    let exe = std::env::current_exe().expect("test binary");
    // libtest names a test by its module path without the crate's own name.
    let module = module_path!().split_once("::").map_or("", |(_, rest)| rest);
    let child_test = format!("{module}::sigkill_child");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            child_test.as_str(),
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("piped stdout");
    let (lines, acks) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let mut words = line.split_whitespace();
            if words.next() == Some("ack") {
                let mut number = || words.next().and_then(|w| w.parse::<u32>().ok());
                if let (Some(task), Some(seq)) = (number(), number())
                    && lines.send((task, seq)).is_err()
                {
                    break;
                }
            }
        }
    });

    let mut acknowledged: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut count = 0;
    while count < ACKS_BEFORE_KILL {
        let left = deadline.saturating_duration_since(Instant::now());
        match acks.recv_timeout(left) {
            Ok((task, seq)) => {
                acknowledged.entry(task).or_default().insert(seq);
                count += 1;
            }
            Err(error) => {
                let _ = child.kill();
                panic!("child gave {count} acknowledgements, then {error:?}");
            }
        }
    }
    child.kill().expect("SIGKILL the child");
    let status = child.wait().expect("reap the child");
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status.signal(),
            Some(9),
            "killed mid-way, not finished: {status}"
        );
    }
    // Lines printed before the kill are acknowledgements too.
    reader.join().expect("reader");
    for (task, seq) in acks.try_iter() {
        acknowledged.entry(task).or_default().insert(seq);
        count += 1;
    }

    let store = Store::open(dir.path(), FAMILIES).expect("reopen after the kill");
    // Panics on a partial set.
    let present = present_sets(&store);
    let mut unacknowledged = 0;
    for task in 0..CHILD_TASKS {
        let present = present.get(&task).cloned().unwrap_or_default();
        let acked = acknowledged.get(&task).cloned().unwrap_or_default();
        let missing: Vec<_> = acked.difference(&present).collect();
        assert!(
            missing.is_empty(),
            "task {task}: acknowledged but lost: {missing:?}"
        );
        // A task's sets were applied in order: what survived is a prefix.
        let prefix: BTreeSet<u32> = (0..present.len() as u32).collect();
        assert_eq!(
            present, prefix,
            "task {task}: the sets present are not a prefix"
        );
        unacknowledged += present.len() - acked.len();
    }
    eprintln!(
        "{count} acknowledged sets all present after SIGKILL; {unacknowledged} more written but not yet acknowledged"
    );
}
