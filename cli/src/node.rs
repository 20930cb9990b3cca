//! `verdict node`: a full node rebuilt from L1 alone, serving the read API.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use verdict_challenger::{Challenger, ChallengerConfig};
use verdict_full_node::{FullNode, FullNodeConfig};
use verdict_l1::client::signer::{KEYSTORE_PASSWORD_ENV, load_signer};
use verdict_l1::deploy::Deployment;
use verdict_models::ModelFile;

use crate::input::load_model;
use crate::process::{init_logging, shutdown_or_stdin_eof};

/// Run a full node: rebuild the L2 chain and state from L1 alone and serve the API.
///
/// Batch data comes from the calldata of each post, deposits from the bridge's queue;
/// every block's transactions are applied and checked against its state root, every
/// record of a known model is re-executed, and each batch's status (posted, final,
/// reverted) is followed on L1, reverts included. The `verdict_*` read methods answer as
/// the sequencer's do (sendInference is refused: send requests to the sequencer). A
/// restart resumes from the last whole batch.
///
/// With --challenge-key the node also runs a challenger in the same process: it disputes
/// every wrong record and every wrong state transition it finds on L1 (docs/challenger.md).
#[derive(Args, Debug)]
pub(crate) struct NodeArgs {
    /// The L1 JSON-RPC endpoint.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8545")]
    l1_rpc: String,
    /// The deployment file (`verdict l1 deploy`, or the devnet's data dir).
    #[arg(long, value_name = "FILE", default_value = "deployment.json")]
    deployment: PathBuf,
    /// Where the chain is kept.
    #[arg(long, value_name = "DIR", default_value = "verdict-data/node")]
    data_dir: PathBuf,
    /// Port of the JSON-RPC (HTTP and WebSocket; /metrics, /health). 0 picks one.
    #[arg(long, default_value_t = 8646)]
    rpc_port: u16,
    /// Interface to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// Model files whose records are re-executed (default: the demo models).
    #[arg(long = "model", value_name = "FILE")]
    models: Vec<PathBuf>,
    /// Where to fetch the file of a model a record names and this node lacks, tried in
    /// order: L2 nodes' RPC URLs or HTTP directories of 0x<id>.vdm files (a URL with
    /// {id} is a template). The bytes are checked against the model id, cached in
    /// DATA_DIR/models, and served from then on (verdict_getModelFile). Repeatable.
    #[arg(long = "model-source", value_name = "URL")]
    model_sources: Vec<String>,
    /// The largest model file fetched or uploaded (verdict_uploadModelFile), in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20)]
    max_model_bytes: u64,
    /// How often L1 is polled, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    poll_ms: u64,
    /// Also run a challenger in this process, paying gas and bonds with this L1 key
    /// (0x-hex or a keystore file, password from VERDICT_KEYSTORE_PASSWORD).
    #[arg(long, value_name = "KEY")]
    challenge_key: Option<String>,
    /// The in-process challenger's sample rate (1: check every record, a full verifier).
    #[arg(
        long,
        value_name = "P",
        default_value_t = 1.0,
        requires = "challenge_key"
    )]
    challenge_sample_rate: f64,
    /// Stop when stdin closes (for supervisors and test harnesses).
    #[arg(long, hide = true)]
    stop_on_stdin_eof: bool,
}

pub(crate) fn run(args: NodeArgs) -> Result<()> {
    init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: NodeArgs) -> Result<()> {
    let deployment = Deployment::read(&args.deployment)
        .with_context(|| format!("reading the deployment {}", args.deployment.display()))?;
    let models = if args.models.is_empty() {
        crate::challenger::demo_models()?
            .into_iter()
            .map(|model| ModelFile {
                path: format!("(built-in) {}", model.metadata.name),
                model,
            })
            .collect()
    } else {
        args.models
            .iter()
            .map(|path| {
                Ok(ModelFile {
                    path: path.display().to_string(),
                    model: load_model(path)?,
                })
            })
            .collect::<Result<Vec<_>>>()?
    };
    let metrics = verdict_rpc::metrics::install().context("installing the metrics recorder")?;
    let config = FullNodeConfig {
        l1_rpc: args.l1_rpc.clone(),
        data_dir: args.data_dir.clone(),
        rpc_addr: SocketAddr::new(args.host, args.rpc_port),
        poll: Duration::from_millis(args.poll_ms.max(1)),
        model_sources: args.model_sources.clone(),
        max_model_bytes: args.max_model_bytes,
    };
    let challenger_models: Vec<_> = models.iter().map(|m| m.model.clone()).collect();
    let node = FullNode::start(&config, deployment.clone(), models, Some(metrics))
        .await
        .context("starting the full node")?;
    println!("Node RPC   {}", node.rpc.http_url());
    println!("WebSocket  {}", node.rpc.ws_url());
    println!("Following  {}", args.l1_rpc);
    let challenger = match &args.challenge_key {
        None => None,
        Some(key) => {
            let signer = load_signer(key, std::env::var(KEYSTORE_PASSWORD_ENV).ok().as_deref())
                .context("loading --challenge-key")?;
            let challenger_config = ChallengerConfig {
                l1_rpc: args.l1_rpc.clone(),
                data_dir: args.data_dir.join("challenger"),
                sample_rate: args.challenge_sample_rate,
                l1_poll_ms: args.poll_ms.max(1),
                model_sources: args.model_sources.clone(),
                ..ChallengerConfig::default()
            };
            let challenger =
                Challenger::start(&challenger_config, deployment, signer, challenger_models)
                    .await
                    .context("starting the in-process challenger")?;
            println!(
                "Challenger {} (sample rate {})",
                challenger.address, args.challenge_sample_rate
            );
            Some(challenger)
        }
    };
    shutdown_or_stdin_eof(args.stop_on_stdin_eof).await?;
    if let Some(challenger) = challenger {
        challenger.stop().await;
    }
    node.stop().await;
    Ok(())
}
