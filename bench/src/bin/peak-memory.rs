//! Peak resident memory (VmHWM) of each engine running each workload, every
//! measurement in a fresh process so one engine's allocations never hide another's.
//!
//! `cargo run --release -p verdict-bench --bin peak-memory` measures everything, prints a
//! table and writes `target/bench/memory.json`. A `baseline` process loads the same
//! files and runs nothing; `delta_mib` is an engine's peak above it.

use anyhow::{Context, Result, bail};
use serde_json::json;
use std::process::Command;
use verdict_bench::{BATCHES, MODELS, Workload, run_executor, write_json};

const ENGINES: [&str; 4] = ["baseline", "burn", "reference", "tract"];
/// A child's exit status for an engine that cannot run the workload at all (tract has no
/// ONNX-ML ops: the Scaler and tree models); the reason is on its stderr.
const UNAVAILABLE: i32 = 3;
/// Batches run per measurement: enough for every buffer pool to reach its steady size.
/// Runs of each workload per process (a few in smoke mode).
fn iterations() -> usize {
    verdict_bench::sized(50, 2)
}

/// This process's peak resident set, in KiB, from `/proc/self/status`.
fn peak_kib() -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")
        .context("reading /proc/self/status (Linux only)")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmHWM line in /proc/self/status")
}

/// Child mode: run one engine on one workload, print the peak in KiB.
fn measure_one(engine: &str, model: &str, batch: usize) -> Result<()> {
    let name = MODELS
        .into_iter()
        .find(|m| *m == model)
        .with_context(|| format!("unknown model {model}"))?;
    let w = Workload::load(name)?;
    let inputs = w.int8_inputs(batch)?;
    match engine {
        "baseline" => {}
        "burn" => {
            let e = w.burn()?;
            for _ in 0..iterations() {
                run_executor(&e, &inputs)?;
            }
        }
        "reference" => {
            let e = w.reference();
            for _ in 0..iterations() {
                run_executor(&e, &inputs)?;
            }
        }
        "tract" => {
            let t = match w.tract(batch) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("{e}");
                    std::process::exit(UNAVAILABLE);
                }
            };
            for _ in 0..iterations() {
                t.run()?;
            }
        }
        other => bail!("unknown engine {other}"),
    }
    println!("{}", peak_kib()?);
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, engine, model, batch] = args.as_slice()
        && flag == "--one"
    {
        return measure_one(engine, model, batch.parse().context("batch")?);
    }
    let exe = std::env::current_exe()?;
    let mut rows = Vec::new();
    println!(
        "{:<11} {:>5}  {:<9} {:>9} {:>9}",
        "model", "batch", "engine", "peak MiB", "delta MiB"
    );
    for model in MODELS {
        for batch in BATCHES {
            let mut baseline = 0.0;
            for engine in ENGINES {
                let out = Command::new(&exe)
                    .args(["--one", engine, model, &batch.to_string()])
                    .output()
                    .with_context(|| format!("running {}", exe.display()))?;
                if out.status.code() == Some(UNAVAILABLE) {
                    let why = String::from_utf8_lossy(&out.stderr).trim().to_string();
                    println!(
                        "{model:<11} {batch:>5}  {engine:<9} {:>9} {:>9}",
                        "n/a", "n/a"
                    );
                    rows.push(json!({
                        "model": model, "batch": batch, "engine": engine, "unavailable": why,
                    }));
                    continue;
                }
                if !out.status.success() {
                    bail!(
                        "{engine} on {model}: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
                let kib: f64 = String::from_utf8_lossy(&out.stdout)
                    .trim()
                    .parse()
                    .context("child output")?;
                let mib = kib / 1024.0;
                if engine == "baseline" {
                    baseline = mib;
                }
                println!(
                    "{model:<11} {batch:>5}  {engine:<9} {mib:>9.1} {:>9.1}",
                    mib - baseline
                );
                rows.push(json!({
                    "model": model, "batch": batch, "engine": engine,
                    "peak_mib": mib, "delta_mib": mib - baseline,
                }));
            }
        }
    }
    let path = write_json(
        "memory.json",
        &json!({ "benchmark": "peak-memory", "iterations": iterations(), "results": rows }),
    )?;
    println!("written to {}", path.display());
    Ok(())
}
