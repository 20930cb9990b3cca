//! Where the burn executor's time goes: the wall time of every node of each digits model,
//! at batch 1 and 64, on one thread (median of many runs).
//!
//! `cargo run --release -p verdict-bench --bin profile-steps`

use anyhow::Result;
use std::time::Duration;
use verdict_bench::{BATCHES, MODELS, Workload};
use verdict_executor::Executor;

/// Runs per node and batch (a few in smoke mode).
fn runs() -> usize {
    verdict_bench::sized(2000, 5)
}

fn main() -> Result<()> {
    for name in MODELS {
        let w = Workload::load(name)?;
        let exec = w.burn()?;
        for batch in BATCHES {
            let inputs = w.int8_inputs(batch)?;
            let mut samples: Vec<Vec<Duration>> = Vec::new();
            let mut ops = Vec::new();
            let mut whole = Vec::with_capacity(runs());
            for _ in 0..runs() {
                let start = std::time::Instant::now();
                exec.run_batch(&inputs)?;
                whole.push(start.elapsed());
                let profile = exec.profile(&inputs)?;
                ops = profile.iter().map(|(op, _)| *op).collect();
                samples.push(profile.into_iter().map(|(_, t)| t).collect());
            }
            let medians: Vec<Duration> = (0..ops.len())
                .map(|i| {
                    let mut column: Vec<Duration> = samples.iter().map(|s| s[i]).collect();
                    column.sort();
                    column[column.len() / 2]
                })
                .collect();
            let total: Duration = medians.iter().sum();
            whole.sort();
            let call = whole[whole.len() / 2];
            println!(
                "{name} batch {batch}: run_batch {:.1} µs; nodes {:.1} µs in {} nodes; outside the nodes {:.1} µs",
                call.as_secs_f64() * 1e6,
                total.as_secs_f64() * 1e6,
                ops.len(),
                (call.as_secs_f64() - total.as_secs_f64()) * 1e6
            );
            for (i, (op, t)) in ops.iter().zip(&medians).enumerate() {
                println!(
                    "  %{:<3} {op:<14} {:>8.1} µs  {:>5.1}%",
                    i + 1,
                    t.as_secs_f64() * 1e6,
                    100.0 * t.as_secs_f64() / total.as_secs_f64()
                );
            }
        }
    }
    Ok(())
}
