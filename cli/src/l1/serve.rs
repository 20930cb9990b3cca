//! `verdict l1`: start the embedded chain, print how to reach it and its dev accounts,
//! log each mined block, stop cleanly on Ctrl-C (or SIGTERM).
//!
//! The banner goes to stdout (scripts parse the `HTTP` line, e.g. after `--port 0`);
//! logs go to stderr.

use alloy::primitives::U256;
use alloy::primitives::utils::format_ether;
use anyhow::{Context, Result};
use clap::Args;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;
use verdict_devchain::{DEFAULT_CHAIN_ID, DevChain, DevChainConfig};

use crate::process::{init_logging, shutdown_signal};

/// How to serve the chain.
#[derive(Args, Debug)]
pub(crate) struct ServeArgs {
    /// Interface to listen on. The default accepts local connections only; use 0.0.0.0
    /// to serve other machines (the dev keys are public: never on a network you do not
    /// trust).
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub(crate) host: IpAddr,

    /// Port for JSON-RPC, HTTP and WebSocket on the same port. 0 picks a free port; the
    /// address actually bound is printed.
    #[arg(long, default_value_t = 8545)]
    pub(crate) port: u16,

    /// Mine a block every SECS seconds (fractions allowed) from a pending pool ordered
    /// by sender nonce. Without it every transaction is mined at once into its own
    /// block (automine, as anvil).
    #[arg(long, value_name = "SECS")]
    pub(crate) block_time: Option<f64>,

    /// Keep the chain in DIR: every block is journaled and fsynced before it is
    /// reported, so the chain survives restarts and kills and carries on at the same
    /// height. Without it the chain lives in memory and is gone on exit.
    #[arg(long, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,

    /// EIP-155 chain id. A data dir remembers its chain id; reopening it with another
    /// one is refused.
    #[arg(long, default_value_t = DEFAULT_CHAIN_ID)]
    pub(crate) chain_id: u64,
}

pub(crate) fn run(args: ServeArgs) -> Result<()> {
    init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args))
}

fn block_time(seconds: Option<f64>) -> Result<Option<Duration>> {
    seconds
        .map(|seconds| {
            Duration::try_from_secs_f64(seconds)
                .ok()
                .filter(|period| !period.is_zero())
                .with_context(|| {
                    format!("--block-time {seconds}: expected a positive number of seconds")
                })
        })
        .transpose()
}

async fn serve(args: ServeArgs) -> Result<()> {
    let config = DevChainConfig {
        data_dir: args.data_dir.clone(),
        block_time: block_time(args.block_time)?,
        chain_id: args.chain_id,
        ..DevChainConfig::default()
    };
    let chain = DevChain::open(config).with_context(|| match &args.data_dir {
        Some(dir) => format!("opening the L1 chain in {}", dir.display()),
        None => "starting the in-memory L1 chain".to_owned(),
    })?;
    let (_, server) = chain
        .serve(SocketAddr::new(args.host, args.port))
        .await
        .context("starting the JSON-RPC server")?;
    print_banner(&chain, &server.http_url(), &server.ws_url()).context("writing to stdout")?;

    shutdown_signal().await?;
    tracing::info!("shutting down");
    server.stop().await;
    Ok(())
}

fn print_banner(chain: &DevChain, http: &str, ws: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let config = chain.config();
    let latest = chain.latest_block();
    writeln!(out, "verdict L1 dev chain")?;
    writeln!(out)?;
    writeln!(out, "HTTP       {http}")?;
    writeln!(out, "WebSocket  {ws}")?;
    writeln!(out, "Chain id   {}", chain.chain_id())?;
    match config.block_time {
        Some(period) => writeln!(out, "Mining     a block every {}s", period.as_secs_f64())?,
        None => writeln!(out, "Mining     automine (one block per transaction)")?,
    }
    match chain.data_dir() {
        Some(dir) => writeln!(out, "Data dir   {}", dir.display())?,
        None => writeln!(out, "Data dir   none (in memory)")?,
    }
    writeln!(out, "Head       block {} ({})", latest.number, latest.hash)?;
    writeln!(out)?;
    writeln!(out, "Mnemonic   {}", chain.mnemonic())?;
    writeln!(out, "Path       m/44'/60'/0'/0/i")?;
    writeln!(out)?;
    let balance = ether_string(config.accounts.balance);
    writeln!(
        out,
        "Dev accounts (genesis balance {balance} ETH each; public keys, test use only)"
    )?;
    for (index, signer) in chain.accounts().iter().enumerate() {
        writeln!(
            out,
            "({index}) {}  private key {}",
            signer.address(),
            signer.to_bytes()
        )?;
    }
    writeln!(out)?;
    writeln!(out, "Ctrl-C stops the chain.")?;
    out.flush()
}

/// `10000` rather than `10000.000000000000000000`.
fn ether_string(wei: U256) -> String {
    let text = format_ether(wei);
    match text.split_once('.') {
        Some((whole, fraction)) if fraction.bytes().all(|b| b == b'0') => whole.to_owned(),
        _ => text,
    }
}
