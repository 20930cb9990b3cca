//! `verdict sequencer --config FILE`: the sequencer alone, against any L1 endpoint.

use std::path::PathBuf;
use std::sync::LazyLock;

use anyhow::{Context, Result, bail};
use clap::Args;
use verdict_l1::client::signer::{KEYSTORE_PASSWORD_ENV, load_signer};
use verdict_l1::deploy::Deployment;
use verdict_models::ModelFile;
use verdict_sequencer::Sequencer;
use verdict_sequencer::config::{KEYS, SequencerConfig};

use crate::input::load_model;
use crate::process::{init_logging, shutdown_or_stdin_eof};

static KEY_TABLE: LazyLock<String> = LazyLock::new(|| {
    let mut text = String::from(
        "Configuration keys (TOML; each can be overridden by the environment variable VERDICT_<KEY>, e.g. VERDICT_RPC_ADDR):\n\n",
    );
    for (key, default, meaning) in KEYS {
        text.push_str(&format!(
            "  {key:<20} {meaning}\n  {:<20} default: {default}\n",
            ""
        ));
    }
    text.push_str(
        "\nExample:\n  l1_rpc = \"http://127.0.0.1:8545\"\n  deployment = \"deployment.json\"\n  key = \"/secure/sequencer.keystore\"\n  key_password_file = \"/secure/password\"\n  models = [\"models/digits/digits-mlp.vdm\"]\n",
    );
    text
});

/// Run the sequencer: JSON-RPC on `rpc_addr`, blocks in `data_dir`, batches to L1.
///
/// The deployment (from `verdict l1 deploy`) names the contracts; the key must be the
/// rollup's sequencer, bonded; every model served must be registered in the
/// ModelRegistry. Stopping (Ctrl-C, SIGTERM) seals the open block; a restart with the
/// same data_dir continues the same chain, and a kill loses nothing that was answered.
#[derive(Args, Debug)]
#[command(after_long_help = KEY_TABLE.as_str())]
pub(crate) struct SequencerArgs {
    /// The TOML configuration file (see the keys below). Without it, defaults and
    /// VERDICT_* variables only.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Print the effective configuration (file, then environment) as TOML and exit.
    #[arg(long)]
    print_config: bool,

    /// TESTS AND DEMOS ONLY: answer this fraction of requests wrongly (and defend the
    /// wrong answers in dispute games). Overrides `fault_rate`.
    #[arg(long, value_name = "R")]
    fault_rate: Option<f64>,

    /// What a fault gets wrong: output (the final output), intermediate (one value
    /// mid-model, flowing on), silent (a wrong output, and no defence); or the state:
    /// fee (charged the fee + 1 wei), deposit (a deposit credited 1 wei more),
    /// withdrawal (a forged 1-wei withdrawal from the sender to the sequencer); or the
    /// batch data: drain (a posted header commits to a 100-ether withdrawal to the
    /// sequencer that its body lacks, reverted by a data fault proof). Overrides
    /// `fault_mode`.
    #[arg(long, value_name = "MODE")]
    fault_mode: Option<verdict_sequencer::fault::FaultMode>,

    /// Stop when stdin closes (for supervisors and test harnesses).
    #[arg(long, hide = true)]
    stop_on_stdin_eof: bool,
}

pub(crate) fn run(args: SequencerArgs) -> Result<()> {
    init_logging();
    let mut config = SequencerConfig::load(args.config.as_deref(), std::env::vars())
        .context("reading the sequencer configuration")?;
    if let Some(rate) = args.fault_rate {
        if !(0.0..=1.0).contains(&rate) {
            bail!("--fault-rate {rate}: expected a fraction between 0 and 1");
        }
        config.fault_rate = rate;
    }
    if let Some(mode) = args.fault_mode {
        config.fault_mode = mode;
    }
    if config.fault_rate > 0.0 {
        tracing::warn!(
            rate = config.fault_rate,
            mode = %config.fault_mode,
            "FAULT INJECTION ON: this sequencer answers some requests wrongly and will be slashed"
        );
    }
    if args.print_config {
        print!(
            "{}",
            toml::to_string(&config).context("printing the configuration")?
        );
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(config, args.stop_on_stdin_eof))
}

async fn serve(config: SequencerConfig, stop_on_stdin_eof: bool) -> Result<()> {
    let Some(key) = config.key.clone() else {
        bail!(
            "no key configured: set `key` in the config file or VERDICT_KEY (0x-hex or a keystore path)"
        );
    };
    let password = match &config.key_password_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("reading the key password from {}", path.display()))?
                .trim_end_matches(['\n', '\r'])
                .to_string(),
        ),
        None => std::env::var(KEYSTORE_PASSWORD_ENV).ok(),
    };
    let signer = load_signer(&key, password.as_deref()).context("loading the sequencer key")?;
    let deployment = Deployment::read(&config.deployment)
        .with_context(|| format!("reading the deployment {}", config.deployment.display()))?;
    if config.models.is_empty() {
        bail!(
            "no models configured: list model files under `models` (e.g. models = [\"models/digits/digits-mlp.vdm\"])"
        );
    }
    let models = config
        .models
        .iter()
        .map(|path| {
            Ok(ModelFile {
                path: path.display().to_string(),
                model: load_model(path)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let metrics = verdict_rpc::metrics::install().context("installing the metrics recorder")?;
    let sequencer = Sequencer::start(&config, deployment, signer, models, Some(metrics))
        .await
        .context("starting the sequencer")?;
    println!("L2 RPC     {}", sequencer.rpc.http_url());
    println!("WebSocket  {}", sequencer.rpc.ws_url());
    println!(
        "Metrics    {}/metrics",
        sequencer.rpc.http_url().trim_end_matches('/')
    );
    crate::devnet::log_chain(&sequencer);
    let mut sequencer = supervise(sequencer, stop_on_stdin_eof).await?;
    tracing::info!("stopping: sealing the open block");
    sequencer.stop().await;
    Ok(())
}

/// Runs `sequencer` until shutdown (Ctrl-C, SIGTERM, or stdin closing when asked);
/// whenever L1 reverts its batches (a lost dispute game), rolls the chain back to the
/// last block L1 holds and starts again, executing the removed inferences anew.
pub(crate) async fn supervise(
    mut sequencer: Sequencer,
    stop_on_stdin_eof: bool,
) -> Result<Sequencer> {
    let shutdown = shutdown_or_stdin_eof(stop_on_stdin_eof);
    tokio::pin!(shutdown);
    loop {
        let reverted = tokio::select! {
            result = &mut shutdown => {
                result?;
                None
            }
            first = sequencer.reverted() => Some(first),
        };
        let Some(first) = reverted else {
            return Ok(sequencer);
        };
        tracing::warn!(
            first_block = first,
            "L1 reverted this sequencer's batches from block {first} (a dispute game was lost): rebuilding the chain"
        );
        sequencer = sequencer
            .rebuild_after_revert()
            .await
            .context("rebuilding the chain after a revert")?;
        crate::devnet::log_chain(&sequencer);
    }
}
