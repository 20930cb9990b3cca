//! `verdict l1 …`: the embedded L1 chain.
//!
//! `verdict l1 [flags]` runs the chain and serves JSON-RPC (see [`serve`]);
//! `verdict l1 deploy` deploys the contracts to any endpoint (see [`deploy`]). Flags and
//! subcommands exclude each other, so `verdict l1 --port 9000` always means "serve".

mod deploy;
pub(crate) mod serve;

use anyhow::Result;
use clap::{Args, Subcommand};

/// Run a local Ethereum chain for development (a small anvil on revm).
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct L1Args {
    #[command(subcommand)]
    pub(crate) command: Option<L1Command>,
    #[command(flatten)]
    pub(crate) serve: serve::ServeArgs,
}

/// Subcommands of `verdict l1` besides serving.
#[derive(Subcommand, Debug)]
pub(crate) enum L1Command {
    Deploy(deploy::DeployArgs),
}

pub(crate) fn run(args: L1Args) -> Result<()> {
    match args.command {
        None => serve::run(args.serve),
        Some(L1Command::Deploy(args)) => deploy::run(args),
    }
}
