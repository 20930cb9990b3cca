//! `verdict`: one binary for every Verdict role.
//!
//! `devnet`, `sequencer`, `challenger`, `node`, `verify`, `infer`, `bridge
//! deposit|withdraw|status|prove`, `model import|eval|run|inspect`, `l1`.

mod bridge;
mod challenger;
mod devnet;
mod infer;
mod input;
mod l1;
mod model;
mod node;
mod output;
mod process;
mod sequencer;
mod verify;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Verdict: an optimistic-verification rollup for ML inference.
///
/// Models are integer-quantized graphs executed bit-exactly, so every honest machine
/// computes the same output and any wrong answer can be proven wrong on L1.
#[derive(Parser, Debug)]
#[command(name = "verdict", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Import, evaluate, run and inspect Verdict models; publish them to the network.
    #[command(subcommand)]
    Model(model::ModelCommand),
    /// Run everything locally: embedded L1, contracts, demo models, sequencer, funded accounts.
    Devnet(devnet::DevnetArgs),
    /// Sign an inference request, send it to a node, print the output and its status.
    Infer(infer::InferArgs),
    /// Move ETH between L1 and L2: deposit, withdraw, follow a withdrawal, claim it on L1.
    #[command(subcommand)]
    Bridge(bridge::BridgeCommand),
    /// Run the sequencer alone against any L1 endpoint (configured by a TOML file).
    Sequencer(sequencer::SequencerArgs),
    /// Check posted batches and win dispute games against wrong records.
    Challenger(challenger::ChallengerArgs),
    /// Check an answer against L1 (final, pending or reverted), trusting only L1.
    Verify(verify::VerifyArgs),
    /// Run a full node: the chain rebuilt from L1 alone, the read API served.
    Node(node::NodeArgs),
    /// Run a local Ethereum chain for development (JSON-RPC on HTTP and WebSocket).
    L1(l1::L1Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Model(command) => model::run(command),
        Command::Devnet(args) => devnet::run(args),
        Command::Infer(args) => infer::run(args),
        Command::Bridge(command) => bridge::run(command),
        Command::Sequencer(args) => sequencer::run(args),
        Command::Challenger(args) => challenger::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Node(args) => node::run(args),
        Command::L1(args) => l1::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
