//! `verdict challenger`: follow the rollup's batches on L1, re-execute a secret sample of
//! their records, and win a dispute game against any wrong one.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::LazyLock;

use anyhow::{Context, Result, bail};
use clap::Args;
use verdict_challenger::config::KEYS;
use verdict_challenger::{Challenger, ChallengerConfig};
use verdict_l1::client::signer::{KEYSTORE_PASSWORD_ENV, load_signer};
use verdict_l1::deploy::Deployment;
use verdict_rpc::server::RpcServerConfig;
use verdict_specs::Model;

use crate::input::load_model;
use crate::process::{init_logging, shutdown_or_stdin_eof};

static KEY_TABLE: LazyLock<String> = LazyLock::new(|| {
    let mut text = String::from(
        "Configuration keys (TOML, with --config; the flags above override them):\n\n",
    );
    for (key, default, meaning) in KEYS {
        text.push_str(&format!(
            "  {key:<14} {meaning}\n  {:<14} default: {default}\n",
            ""
        ));
    }
    text.push_str(
        "\nThe challenger bonds `challenger_bond` (from the deployment) per game it opens and gets\n\
         it back when it wins, with half the sequencer's slashed bond. Pick --sample-rate with\n\
         specs/economics.md: with c challengers each checking a fraction p of the records, a\n\
         wrong record escapes all of them with probability (1-p)^c.\n",
    );
    text
});

/// Run a challenger: check posted batches, dispute wrong records, play games to the end.
///
/// Batch data is read from the L1 calldata of each post (never from the sequencer) and
/// checked against the posted hash. Each record is checked with probability
/// --sample-rate, decided by keccak(secret, batch root, index) with a secret kept in
/// --data-dir, so the sequencer cannot tell which records are checked. A restart resumes
/// the L1 cursor and every game. Without --model, the demo models (digits-mlp,
/// digits-cnn) are checked.
#[derive(Args, Debug)]
#[command(after_long_help = KEY_TABLE.as_str())]
pub(crate) struct ChallengerArgs {
    /// The L1 JSON-RPC endpoint.
    #[arg(long, value_name = "URL")]
    l1_rpc: Option<String>,
    /// The challenger's L1 key (0x-hex or a keystore file); it pays gas and bonds.
    #[arg(long, value_name = "KEY")]
    key: Option<String>,
    /// Probability of checking each record, 0 to 1 (1: a full verifier).
    #[arg(long, value_name = "P")]
    sample_rate: Option<f64>,
    /// Where the secret, the L1 cursor and the games are kept.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// A TOML configuration file (keys below).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The deployment file written by `verdict l1 deploy`.
    #[arg(long, value_name = "FILE")]
    deployment: Option<PathBuf>,
    /// A model file to check records of (repeatable).
    #[arg(long = "model", value_name = "FILE")]
    models: Vec<PathBuf>,
    /// An L2 node's RPC URL to fetch the file of a model a posted record names and this
    /// challenger lacks (repeatable, tried in order; the bytes are checked against the
    /// model id and cached in --data-dir/models).
    #[arg(long = "model-source", value_name = "URL")]
    model_sources: Vec<String>,
    /// Serve GET /metrics and /health on this address.
    #[arg(long, value_name = "ADDR")]
    metrics_addr: Option<SocketAddr>,
    /// TESTS AND DEMOS ONLY: challenge records that are right (the bond is lost).
    #[arg(long)]
    lie: bool,
    /// Stop when stdin closes (for supervisors and test harnesses).
    #[arg(long, hide = true)]
    stop_on_stdin_eof: bool,
}

pub(crate) fn run(args: ChallengerArgs) -> Result<()> {
    init_logging();
    let mut config =
        ChallengerConfig::load(args.config.as_deref()).context("reading the configuration")?;
    if let Some(v) = args.l1_rpc {
        config.l1_rpc = v;
    }
    if let Some(v) = args.key {
        config.key = Some(v);
    }
    if let Some(v) = args.sample_rate {
        config.sample_rate = v;
    }
    if let Some(v) = args.data_dir {
        config.data_dir = v;
    }
    if let Some(v) = args.deployment {
        config.deployment = v;
    }
    if !args.models.is_empty() {
        config.models = args.models;
    }
    if !args.model_sources.is_empty() {
        config.model_sources = args.model_sources;
    }
    if let Some(v) = args.metrics_addr {
        config.metrics_addr = Some(v);
    }
    config.lie |= args.lie;
    config.validate()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(config, args.stop_on_stdin_eof))
}

/// The demo models, for a challenger given none.
pub(crate) fn demo_models() -> Result<Vec<Model>> {
    verdict_devnet::DEMO_MODELS
        .iter()
        .map(|(name, bytes)| {
            let mut model =
                Model::decode(bytes).with_context(|| format!("decoding the built-in {name}"))?;
            model.metadata.name = (*name).to_string();
            Ok(model)
        })
        .collect()
}

async fn serve(config: ChallengerConfig, stop_on_stdin_eof: bool) -> Result<()> {
    let Some(key) = config.key.clone() else {
        bail!("no key: pass --key (0x-hex or a keystore file) or set `key` in the config");
    };
    let password = std::env::var(KEYSTORE_PASSWORD_ENV).ok();
    let signer = load_signer(&key, password.as_deref()).context("loading the challenger key")?;
    let deployment = Deployment::read(&config.deployment)
        .with_context(|| format!("reading the deployment {}", config.deployment.display()))?;
    let models = if config.models.is_empty() {
        demo_models()?
    } else {
        config
            .models
            .iter()
            .map(|p| load_model(p))
            .collect::<Result<Vec<_>>>()?
    };
    let metrics = verdict_rpc::metrics::install().context("installing the metrics recorder")?;
    let server = match config.metrics_addr {
        Some(addr) => {
            let server = verdict_rpc::server::serve(
                &RpcServerConfig {
                    addr,
                    ..RpcServerConfig::default()
                },
                jsonrpsee::RpcModule::new(()),
                Some(metrics),
            )
            .await
            .context("serving /metrics")?;
            println!(
                "Metrics    {}/metrics",
                server.http_url().trim_end_matches('/')
            );
            Some(server)
        }
        None => None,
    };
    let challenger = Challenger::start(&config, deployment, signer, models)
        .await
        .context("starting the challenger")?;
    println!("Challenger {}", challenger.address);
    shutdown_or_stdin_eof(stop_on_stdin_eof).await?;
    challenger.stop().await;
    if let Some(server) = server {
        server.stop();
    }
    Ok(())
}
