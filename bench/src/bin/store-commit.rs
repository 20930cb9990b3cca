//! Inference records made durable per second by the RocksDB store, in one run:
//!
//! - `sync`: one writer, one `Store::write_sync` (one WAL fsync) per record;
//! - `sync-threads`: 16 OS threads each calling `write_sync` (RocksDB groups concurrent
//!   synced writers internally; the baseline a thread-per-request design would get);
//! - `group`: the group committer with C = 1, 16, 64, 256 concurrent async submitters, each
//!   awaiting its record's durability before submitting the next;
//! - `unsynced`: one writer, `write_unsynced` (no fsync): the upper bound.
//!
//! Each record is what the sequencer stores per answered inference (node/chain/src/
//! store.rs): the `InferenceTx` encoding (signed request with a 64-byte int8 input,
//! 10-element i32 output, fee) under `txs` at block number ‖ index, and the record-hash
//! index entry under `records`: one write set, two column families.
//!
//! `cargo run -p verdict-bench --bin store-commit -- [--records N] [--seconds S] [--dir D]`
//! prints a table and writes `target/bench/store-commit.json`. Every mode writes N records
//! (default 100,000) into a fresh database under D (default: the system temp dir), or stops
//! after S seconds (default 6), whichever comes first; rates are records over the time
//! taken. The dev profile is enough (dependencies, RocksDB included, are optimised): the
//! figures are fsync-bound, so they depend on the disk under D far more than on the CPU.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::json;
use verdict_bench::write_json;
use verdict_specs::Tensor;
use verdict_specs::encoding::Writer;
use verdict_specs::l2::record::InferenceTx;
use verdict_specs::l2::request::{InferenceRequest, SignedRequest, SigningDomain};
use verdict_store::{GroupCommitConfig, Store, WriteSet};

const TXS: &str = "txs";
const RECORDS: &str = "records";
const FAMILIES: &[&str] = &[TXS, RECORDS];
/// Records per block, for the keys.
const BLOCK_RECORDS: u64 = 1_000;
const GROUP_SUBMITTERS: [usize; 4] = [1, 16, 64, 256];
const SYNC_THREADS: usize = 16;

struct Args {
    records: usize,
    seconds: f64,
    dir: PathBuf,
}

fn args() -> Result<Args> {
    let mut args = Args {
        records: verdict_bench::sized(100_000, 500),
        seconds: verdict_bench::sized(6.0, 1.0),
        dir: std::env::temp_dir().join(format!("verdict-store-commit-{}", std::process::id())),
    };
    let mut words = std::env::args().skip(1);
    while let Some(flag) = words.next() {
        let mut value = || {
            words
                .next()
                .with_context(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--records" => args.records = value()?.parse().context("--records")?,
            "--seconds" => args.seconds = value()?.parse().context("--seconds")?,
            "--dir" => args.dir = PathBuf::from(value()?),
            other => bail!("unknown argument {other:?} (--records N, --seconds S, --dir D)"),
        }
    }
    if args.records == 0 {
        bail!("--records must be at least 1");
    }
    Ok(args)
}

/// Record `i`'s write set, laid out as the sequencer's chain store lays it out.
fn record_set(i: usize, domain: &SigningDomain) -> Result<WriteSet> {
    let byte = |k: usize| (i.wrapping_mul(31).wrapping_add(k) % 256) as u8;
    let input: Vec<i8> = (0..64).map(|k| byte(k) as i8).collect();
    let output: Vec<i32> = (0..10).map(|k| (byte(k) as i32 - 128) * 1_000).collect();
    let mut sender = [0u8; 20];
    sender[..8].copy_from_slice(&((i % 64) as u64).to_be_bytes());
    let tx = InferenceTx {
        signed: SignedRequest {
            request: InferenceRequest {
                sender,
                nonce: (i / 64) as u64,
                model_id: [0x42; 32],
                input: Tensor::from_i8(vec![1, 64], input)?,
                max_fee: 1_000_000,
            },
            signature: [byte(7); 65],
        },
        output: Tensor::from_i32(vec![1, 10], output)?,
        fee: 1_000,
    };
    let record_hash = tx.record(domain).hash();
    let (number, index) = (i as u64 / BLOCK_RECORDS, (i as u64 % BLOCK_RECORDS) as u32);
    let position = [&number.to_be_bytes()[..], &index.to_be_bytes()].concat();
    let mut w = Writer::new();
    tx.encode(&mut w);
    let mut set = WriteSet::new();
    set.put(TXS, position.clone(), w.finish());
    set.put(RECORDS, record_hash.to_vec(), position);
    Ok(set)
}

/// One mode's outcome.
struct Row {
    mode: &'static str,
    submitters: usize,
    records: usize,
    seconds: f64,
    /// Synced writes, where known (the group committer counts them).
    fsyncs: Option<u64>,
}

impl Row {
    fn per_second(&self) -> f64 {
        self.records as f64 / self.seconds
    }
}

/// A fresh database for one mode, removed when dropped.
struct Fresh {
    store: Store,
    path: PathBuf,
}

impl Fresh {
    fn open(dir: &Path, name: &str) -> Result<Self> {
        let path = dir.join(name);
        if path.exists() {
            std::fs::remove_dir_all(&path)
                .with_context(|| format!("removing {}", path.display()))?;
        }
        let store = Store::open(&path, FAMILIES)?;
        Ok(Self { store, path })
    }
}

impl Drop for Fresh {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Splits clones of `sets` among `parts` submitters: submitter k gets records k, k + parts, …
fn deal(sets: &[WriteSet], parts: usize) -> Vec<Vec<WriteSet>> {
    let mut hands = vec![Vec::with_capacity(sets.len() / parts + 1); parts];
    for (i, set) in sets.iter().enumerate() {
        hands[i % parts].push(set.clone());
    }
    hands
}

fn single_writer(
    args: &Args,
    sets: &[WriteSet],
    mode: &'static str,
    write: fn(&Store, WriteSet) -> verdict_store::Result<()>,
) -> Result<Row> {
    let db = Fresh::open(&args.dir, mode)?;
    let sets = sets.to_vec();
    let budget = Duration::from_secs_f64(args.seconds);
    let start = Instant::now();
    let mut records = 0;
    for set in sets {
        write(&db.store, set).with_context(|| format!("{mode} write {records}"))?;
        records += 1;
        if start.elapsed() > budget {
            break;
        }
    }
    Ok(Row {
        mode,
        submitters: 1,
        records,
        seconds: start.elapsed().as_secs_f64(),
        fsyncs: None,
    })
}

fn sync_threads(args: &Args, sets: &[WriteSet], threads: usize) -> Result<Row> {
    let db = Fresh::open(&args.dir, "sync-threads")?;
    let budget = Duration::from_secs_f64(args.seconds);
    let start = Instant::now();
    let counts = std::thread::scope(|scope| {
        let workers: Vec<_> = deal(sets, threads)
            .into_iter()
            .map(|hand| {
                let store = db.store.clone();
                scope.spawn(move || {
                    let mut records = 0;
                    for set in hand {
                        store.write_sync(set)?;
                        records += 1;
                        if start.elapsed() > budget {
                            break;
                        }
                    }
                    Ok::<_, anyhow::Error>(records)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .map_err(|_| anyhow::anyhow!("a writer thread panicked"))?
            })
            .collect::<Result<Vec<usize>>>()
    })?;
    Ok(Row {
        mode: "sync-threads",
        submitters: threads,
        records: counts.iter().sum(),
        seconds: start.elapsed().as_secs_f64(),
        fsyncs: None,
    })
}

async fn group(args: &Args, sets: &[WriteSet], submitters: usize) -> Result<Row> {
    let db = Fresh::open(&args.dir, &format!("group-{submitters}"))?;
    let committer = db.store.group_committer(GroupCommitConfig::default());
    let budget = Duration::from_secs_f64(args.seconds);
    let hands = deal(sets, submitters);
    let start = Instant::now();
    let tasks: Vec<_> = hands
        .into_iter()
        .map(|hand| {
            let committer = committer.clone();
            tokio::spawn(async move {
                let mut records = 0;
                for set in hand {
                    committer.commit(set).await?;
                    records += 1;
                    if start.elapsed() > budget {
                        break;
                    }
                }
                Ok::<_, anyhow::Error>(records)
            })
        })
        .collect();
    let mut records = 0;
    for task in tasks {
        records += task.await.context("a submitter panicked")??;
    }
    let seconds = start.elapsed().as_secs_f64();
    let stats = committer.stats();
    Ok(Row {
        mode: "group",
        submitters,
        records,
        seconds,
        fsyncs: Some(stats.writes),
    })
}

fn main() -> Result<()> {
    let args = args()?;
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating {}", args.dir.display()))?;
    let domain = SigningDomain {
        chain_id: 1,
        rollup: [0x11; 20],
    };
    let sets = (0..args.records)
        .map(|i| record_set(i, &domain))
        .collect::<Result<Vec<_>>>()?;
    let record_bytes = sets.iter().map(WriteSet::bytes).sum::<usize>() as f64 / sets.len() as f64;
    eprintln!(
        "{} records of {record_bytes:.0} key+value bytes in {} families, under {}",
        sets.len(),
        FAMILIES.len(),
        args.dir.display()
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .context("tokio runtime")?;
    let mut rows = Vec::new();
    eprintln!("sync, one writer…");
    rows.push(single_writer(&args, &sets, "sync", Store::write_sync)?);
    eprintln!("sync, {SYNC_THREADS} threads…");
    rows.push(sync_threads(&args, &sets, SYNC_THREADS)?);
    for submitters in GROUP_SUBMITTERS {
        eprintln!("group commit, {submitters} submitters…");
        rows.push(runtime.block_on(group(&args, &sets, submitters))?);
    }
    eprintln!("unsynced, one writer…");
    rows.push(single_writer(
        &args,
        &sets,
        "unsynced",
        Store::write_unsynced,
    )?);
    let _ = std::fs::remove_dir(&args.dir);

    let sync_rate = rows[0].per_second();
    println!(
        "{:<14} {:>10} {:>9} {:>8} {:>12} {:>9} {:>14}",
        "mode", "submitters", "records", "seconds", "records/s", "fsyncs", "records/fsync"
    );
    let mut results = Vec::new();
    for row in &rows {
        let per_fsync = row.fsyncs.map(|f| row.records as f64 / f as f64);
        println!(
            "{:<14} {:>10} {:>9} {:>8.2} {:>12.0} {:>9} {:>14} {:>8.1}x sync",
            row.mode,
            row.submitters,
            row.records,
            row.seconds,
            row.per_second(),
            row.fsyncs.map_or("-".into(), |f| f.to_string()),
            per_fsync.map_or("-".into(), |p| format!("{p:.1}")),
            row.per_second() / sync_rate,
        );
        results.push(json!({
            "mode": row.mode,
            "submitters": row.submitters,
            "records": row.records,
            "seconds": row.seconds,
            "records_per_s": row.per_second(),
            "fsyncs": row.fsyncs,
            "records_per_fsync": per_fsync,
            "ratio_to_sync": row.per_second() / sync_rate,
        }));
    }
    let group_over_sync: serde_json::Map<_, _> = rows
        .iter()
        .filter(|row| row.mode == "group")
        .map(|row| {
            (
                format!("c{}", row.submitters),
                json!(row.per_second() / sync_rate),
            )
        })
        .collect();
    let path = write_json(
        "store-commit.json",
        &json!({
            "benchmark": "store-commit",
            "records_requested": args.records,
            "seconds_cap_per_mode": args.seconds,
            "record_key_value_bytes": record_bytes,
            "column_families": FAMILIES,
            "db_dir": args.dir,
            "results": results,
            "group_over_sync": group_over_sync,
        }),
    )?;
    println!("wrote {}", path.display());
    Ok(())
}
