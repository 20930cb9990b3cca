//! `verdict model …`: import ONNX models, evaluate, run and inspect `.vdm` files.

mod eval;
mod import;
mod inspect;
mod run;

use anyhow::Result;
use clap::{Subcommand, ValueEnum};

#[derive(Subcommand, Debug)]
pub(crate) enum ModelCommand {
    Import(import::ImportArgs),
    Eval(eval::EvalArgs),
    Run(run::RunArgs),
    Inspect(inspect::InspectArgs),
}

pub(crate) fn run(command: ModelCommand) -> Result<()> {
    match command {
        ModelCommand::Import(args) => import::run(args),
        ModelCommand::Eval(args) => eval::run(args),
        ModelCommand::Run(args) => run::run(args),
        ModelCommand::Inspect(args) => inspect::run(args),
    }
}

/// Which implementation executes the model. Both give identical bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExecutorKind {
    /// The fast executor on burn tensors (NdArray backend).
    Burn,
    /// The reference interpreter from `verdict-specs`: the definition, slow.
    Reference,
}

impl ExecutorKind {
    pub(crate) fn build(
        self,
        model: &verdict_specs::Model,
    ) -> Result<Box<dyn verdict_node::executor::Executor>> {
        use anyhow::Context;
        use std::sync::Arc;
        Ok(match self {
            ExecutorKind::Burn => Box::new(
                verdict_node::executor::BurnExecutor::ndarray(model)
                    .context("preparing the burn executor")?,
            ),
            ExecutorKind::Reference => Box::new(verdict_node::executor::ReferenceExecutor::new(
                Arc::new(model.clone()),
            )),
        })
    }
}

pub(crate) use verdict_node::classify::predicted_class;

/// Sets the worker thread count for this process: rayon's global pool (burn-ndarray's
/// element-wise kernels) and `MATMUL_NUM_THREADS` (matrixmultiply's own threads, 1 to 4).
/// Must run before any model executes. Outputs never depend on it: every float
/// intermediate is an exact integer, whatever the order of summation.
pub(crate) fn set_threads(threads: usize) -> Result<()> {
    use anyhow::Context;
    #[allow(unsafe_code)]
    // SAFETY: called from the main thread at start-up, before any other thread exists
    // (the rayon pool below is created afterwards), so nothing reads the environment
    // concurrently.
    unsafe {
        std::env::set_var("MATMUL_NUM_THREADS", threads.clamp(1, 4).to_string());
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .context("configuring the thread pool")?;
    Ok(())
}
