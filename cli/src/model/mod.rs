//! `verdict model …`: import ONNX models, evaluate, run and inspect `.vdm` files, and
//! publish them to the network.

mod eval;
mod import;
mod inspect;
mod publish;
mod run;

use anyhow::Result;
use clap::{Subcommand, ValueEnum};

#[derive(Subcommand, Debug)]
pub(crate) enum ModelCommand {
    Import(import::ImportArgs),
    Eval(eval::EvalArgs),
    Run(run::RunArgs),
    Inspect(inspect::InspectArgs),
    Publish(publish::PublishArgs),
    Upload(publish::UploadArgs),
}

pub(crate) fn run(command: ModelCommand) -> Result<()> {
    match command {
        ModelCommand::Import(args) => import::run(args),
        ModelCommand::Eval(args) => eval::run(args),
        ModelCommand::Run(args) => run::run(args),
        ModelCommand::Inspect(args) => inspect::run(args),
        ModelCommand::Publish(args) => publish::publish(args),
        ModelCommand::Upload(args) => publish::upload(args),
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
    /// The executor, splitting each batch over `threads` threads (burn only; the
    /// reference interpreter runs on the calling thread).
    pub(crate) fn build(
        self,
        model: &verdict_specs::Model,
        threads: usize,
    ) -> Result<Box<dyn verdict_executor::Executor>> {
        use anyhow::Context;
        use std::sync::Arc;
        Ok(match self {
            ExecutorKind::Burn => Box::new(
                verdict_executor::BurnExecutor::ndarray(model)
                    .and_then(|e| e.with_threads(threads))
                    .context("preparing the burn executor")?,
            ),
            ExecutorKind::Reference => Box::new(verdict_executor::ReferenceExecutor::new(
                Arc::new(model.clone()),
            )),
        })
    }
}

pub(crate) use verdict_import::classify::predicted_class;
