//! Benchmark support: the digits workloads, a tract runner for the float ONNX baseline,
//! a small timer for headline figures, and where results go (`target/bench/`).
//!
//! - `benches/executors.rs` (criterion): burn vs reference vs tract on the digits MLP and
//!   CNN at batch 1 and 64; writes `target/bench/executors.json`.
//! - `src/bin/peak-memory.rs`: peak resident memory of each engine, each in its own
//!   process; writes `target/bench/memory.json`.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tract_onnx::prelude::{
    DatumType, Framework, InferenceFact, InferenceModelExt, IntoRunnable, Tensor as TractTensor,
    TypedRunnableModel, tvec,
};
use verdict_executor::{BurnExecutor, Executor, ReferenceExecutor};
use verdict_import::dataset::Dataset;
use verdict_specs::quantize::quantize_input;
use verdict_specs::{Model, Tensor};

/// The models every benchmark runs.
pub const MODELS: [&str; 5] = [
    "digits-mlp",
    "digits-cnn",
    "diabetes-ridge",
    "breast-cancer-gbt",
    "co2-tcn",
];

/// Where a demo model and its test rows live: `models/{dir}/{name}.vdm` (and `.onnx`),
/// `data/{data}/test.csv`.
fn demo_files(name: &str) -> Result<(&'static str, &'static str)> {
    Ok(match name {
        "digits-mlp" | "digits-cnn" => ("digits", "digits"),
        "diabetes-ridge" => ("sklearn", "diabetes"),
        "breast-cancer-gbt" => ("sklearn", "breast-cancer"),
        "co2-tcn" => ("timeseries", "co2"),
        other => anyhow::bail!("{other} is not a demo model ({MODELS:?})"),
    })
}
/// The batch sizes every benchmark runs.
pub const BATCHES: [usize; 2] = [1, 64];

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Set (to anything but `0`) to run every benchmark in smoke mode: each shrinks its
/// workload to finish in seconds and writes under `target/bench/smoke/`, so CI can run
/// them all to prove none is broken without overwriting real figures
/// (`scripts/bench-smoke.sh`). Smoke figures mean nothing.
pub const SMOKE_ENV: &str = "VERDICT_BENCH_SMOKE";

/// Whether [`SMOKE_ENV`] is set.
pub fn smoke() -> bool {
    std::env::var_os(SMOKE_ENV).is_some_and(|v| !v.is_empty() && v != "0")
}

/// `full` normally, `small` in smoke mode.
pub fn sized<T>(full: T, small: T) -> T {
    if smoke() { small } else { full }
}

/// `target/bench/` (under `CARGO_TARGET_DIR` when set; `target/bench/smoke/` in smoke
/// mode), created.
pub fn output_dir() -> Result<PathBuf> {
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from);
    let dir = if smoke() {
        target.join("bench").join("smoke")
    } else {
        target.join("bench")
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// Writes `value` as pretty JSON to `target/bench/{name}` and returns the path.
pub fn write_json(name: &str, value: &serde_json::Value) -> Result<PathBuf> {
    let path = output_dir()?.join(name);
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(&path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// One model with its test rows.
pub struct Workload {
    /// One of [`MODELS`].
    pub name: &'static str,
    /// The committed int8 model.
    pub model: Model,
    /// The float ONNX file it was imported from.
    pub onnx: PathBuf,
    /// Float features of the test rows.
    pub features: Vec<Vec<f64>>,
}

impl Workload {
    /// Loads `models/{dir}/{name}.vdm`, its ONNX file and `data/{set}/test.csv`.
    pub fn load(name: &'static str) -> Result<Self> {
        let (dir, set) = demo_files(name)?;
        let dir = root().join("models").join(dir);
        let vdm = dir.join(format!("{name}.vdm"));
        let bytes = std::fs::read(&vdm).with_context(|| format!("reading {}", vdm.display()))?;
        let model = Model::decode(&bytes).with_context(|| format!("decoding {}", vdm.display()))?;
        let test = Dataset::load(&root().join("data").join(set).join("test.csv"))?;
        Ok(Self {
            name,
            model,
            onnx: dir.join(format!("{name}.onnx")),
            features: test.features,
        })
    }

    /// The first `batch` test rows (cycling), as float rows.
    pub fn rows(&self, batch: usize) -> Vec<&[f64]> {
        (0..batch)
            .map(|i| self.features[i % self.features.len()].as_slice())
            .collect()
    }

    /// The first `batch` test rows quantized to the model's input (int8, or int32 for a
    /// tree model).
    pub fn int8_inputs(&self, batch: usize) -> Result<Vec<Tensor>> {
        self.rows(batch)
            .into_iter()
            .map(|f| Ok(quantize_input(&self.model.graph().input, f)?))
            .collect()
    }

    /// The burn executor on the NdArray backend.
    pub fn burn(&self) -> Result<BurnExecutor> {
        Ok(BurnExecutor::ndarray(&self.model)?)
    }

    /// The reference interpreter.
    pub fn reference(&self) -> ReferenceExecutor {
        ReferenceExecutor::new(Arc::new(self.model.clone()))
    }

    /// tract running the float ONNX model, optimised for a fixed batch size.
    pub fn tract(&self, batch: usize) -> Result<TractRunner> {
        TractRunner::new(&self.onnx, self.input_shape(batch), &self.rows(batch))
    }

    fn input_shape(&self, batch: usize) -> Vec<usize> {
        std::iter::once(batch)
            .chain(self.model.graph().input.shape.iter().map(|&d| d as usize))
            .collect()
    }
}

/// A tract plan and one prepared input batch.
pub struct TractRunner {
    plan: Arc<TypedRunnableModel>,
    input: TractTensor,
}

impl TractRunner {
    /// Loads and optimises `onnx` for inputs of `shape` (batch first).
    pub fn new(onnx: &Path, shape: Vec<usize>, rows: &[&[f64]]) -> Result<Self> {
        let plan = tract_onnx::onnx()
            .model_for_path(onnx)
            .with_context(|| format!("tract loading {}", onnx.display()))?
            .with_input_fact(0, InferenceFact::dt_shape(DatumType::F32, shape.clone()))?
            .into_optimized()?
            .into_runnable()?;
        let data: Vec<f32> = rows
            .iter()
            .flat_map(|r| r.iter().map(|&v| v as f32))
            .collect();
        let input = TractTensor::from_shape(&shape, &data)?;
        Ok(Self { plan, input })
    }

    /// Runs the prepared batch once.
    pub fn run(&self) -> Result<()> {
        let outputs = self.plan.run(tvec![self.input.clone().into()])?;
        std::hint::black_box(outputs);
        Ok(())
    }
}

/// Runs the burn or reference executor on a prepared batch once.
pub fn run_executor(executor: &dyn Executor, inputs: &[Tensor]) -> Result<()> {
    std::hint::black_box(executor.run_batch(std::hint::black_box(inputs))?);
    Ok(())
}

/// Median time of one call of `f`, over `rounds` rounds of enough calls to fill
/// `round_time` each (after one warm-up round).
pub fn median_time(
    mut f: impl FnMut() -> Result<()>,
    round_time: Duration,
    rounds: usize,
) -> Result<Duration> {
    // Calibrate how many calls fill a round.
    let start = Instant::now();
    let mut calls = 0u32;
    while start.elapsed() < round_time {
        f()?;
        calls += 1;
    }
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        for _ in 0..calls {
            f()?;
        }
        samples.push(start.elapsed() / calls);
    }
    samples.sort();
    Ok(samples[samples.len() / 2])
}
