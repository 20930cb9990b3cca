//! Executor throughput: the burn executor vs the reference interpreter vs tract running
//! the float ONNX model, on every demo model (digits MLP and CNN, the ridge regressor,
//! the gradient-boosted trees, the co2 TCN) at batch 1 and 64. tract has no ONNX-ML tree
//! ops: for the tree model its figure is absent and the reason is recorded.
//!
//! `cargo bench -p verdict-bench --bench executors` runs criterion (reports under
//! `target/criterion/`), then a short interleaved measurement of every engine in the same
//! process whose figures and ratios go to `target/bench/executors.json`.
//!
//! Threads: tract runs on one thread. burn runs twice: on the calling thread (`burn-1t`,
//! the like-for-like figure) and with each batch split over every core (`burn`).

use anyhow::Result;
use criterion::{BenchmarkId, Criterion, Throughput};
use serde_json::json;
use std::time::Duration;
use verdict_bench::{BATCHES, MODELS, Workload, median_time, run_executor, write_json};
use verdict_executor::Executor;

struct Engines {
    burn: Box<dyn Executor>,
    burn_1t: Box<dyn Executor>,
    reference: Box<dyn Executor>,
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn engines(w: &Workload) -> Result<Engines> {
    Ok(Engines {
        burn: Box::new(w.burn()?.with_threads(cores())?),
        burn_1t: Box::new(w.burn()?),
        reference: Box::new(w.reference()),
    })
}

fn criterion_benches(c: &mut Criterion, workloads: &[Workload]) -> Result<()> {
    for w in workloads {
        let e = engines(w)?;
        for batch in BATCHES {
            let inputs = w.int8_inputs(batch)?;
            let tract = w.tract(batch).ok();
            let mut group = c.benchmark_group(format!("{} batch {batch}", w.name));
            group.throughput(Throughput::Elements(batch as u64));
            for (name, executor) in [
                ("burn", &e.burn),
                ("burn-1t", &e.burn_1t),
                ("reference", &e.reference),
            ] {
                group.bench_function(BenchmarkId::from_parameter(name), |b| {
                    b.iter(|| run_executor(executor.as_ref(), &inputs).expect("runs"))
                });
            }
            if let Some(tract) = &tract {
                group.bench_function(BenchmarkId::from_parameter("tract"), |b| {
                    b.iter(|| tract.run().expect("runs"))
                });
            }
            group.finish();
        }
    }
    Ok(())
}

/// Interleaved medians of every engine, for `target/bench/executors.json`.
fn headline(workloads: &[Workload], quick: bool) -> Result<serde_json::Value> {
    let (round, rounds) = if quick {
        (Duration::from_millis(20), 3)
    } else {
        (Duration::from_millis(200), 7)
    };
    let mut rows = Vec::new();
    for w in workloads {
        let e = engines(w)?;
        for batch in BATCHES {
            let inputs = w.int8_inputs(batch)?;
            let tract = w.tract(batch);
            let per_sec = |d: Duration| batch as f64 / d.as_secs_f64();
            let burn = per_sec(median_time(
                || run_executor(e.burn.as_ref(), &inputs),
                round,
                rounds,
            )?);
            let burn_1t = per_sec(median_time(
                || run_executor(e.burn_1t.as_ref(), &inputs),
                round,
                rounds,
            )?);
            let reference = per_sec(median_time(
                || run_executor(e.reference.as_ref(), &inputs),
                round,
                rounds,
            )?);
            let (tract, tract_error) = match tract {
                Ok(t) => (Some(per_sec(median_time(|| t.run(), round, rounds)?)), None),
                Err(e) => (None, Some(format!("{e:#}"))),
            };
            let ratio = |ours: f64| tract.map(|t| ours / t);
            println!(
                "{:<17} batch {batch:>2}: burn {burn:>10.0}/s  burn-1t {burn_1t:>10.0}/s  reference {reference:>10.0}/s  tract {}  \
                 burn-1t/tract {}  burn/tract {}  burn-1t/reference {:.2}x",
                w.name,
                tract.map_or("      n/a".into(), |t| format!("{t:>10.0}/s")),
                ratio(burn_1t).map_or("n/a".into(), |r| format!("{r:.2}x")),
                ratio(burn).map_or("n/a".into(), |r| format!("{r:.2}x")),
                burn_1t / reference
            );
            rows.push(json!({
                "model": w.name,
                "batch": batch,
                "inferences_per_sec": {
                    "burn": burn, "burn_1t": burn_1t, "reference": reference, "tract": tract,
                },
                "ratios": {
                    "burn_1t_vs_tract": ratio(burn_1t),
                    "burn_vs_tract": ratio(burn),
                    "burn_1t_vs_reference": burn_1t / reference,
                },
                "tract_unavailable": tract_error,
            }));
        }
    }
    Ok(json!({
        "benchmark": "executors",
        "cpus": cores(),
        "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
        "quick": quick,
        "results": rows,
    }))
}

fn main() -> Result<()> {
    let workloads: Vec<Workload> = MODELS
        .into_iter()
        .map(Workload::load)
        .collect::<Result<_>>()?;
    // `cargo test --benches` runs this with `--bench` absent: a smoke test, not a measurement.
    let measuring = std::env::args().any(|a| a == "--bench");
    let mut c = Criterion::default().configure_from_args();
    if measuring {
        c = c
            .measurement_time(Duration::from_secs(3))
            .warm_up_time(Duration::from_secs(1));
    }
    criterion_benches(&mut c, &workloads)?;
    c.final_summary();
    let summary = headline(&workloads, !measuring)?;
    let path = write_json("executors.json", &summary)?;
    println!("headline figures written to {}", path.display());
    Ok(())
}
