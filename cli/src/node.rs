//! `verdict node`: a full node rebuilt from L1 alone, serving the read API.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use verdict_node::l1::deploy::Deployment;
use verdict_sequencer::ModelFile;
use verdict_sequencer::full_node::{FullNode, FullNodeConfig};

use crate::input::load_model;
use crate::l1::serve::{init_logging, shutdown_or_stdin_eof};

/// Run a full node: rebuild the L2 chain and state from L1 alone and serve the API.
///
/// Batch data comes from the calldata of each post, deposits from the bridge's queue;
/// every block's transactions are applied and checked against its state root, every
/// record of a known model is re-executed, and each batch's status (posted, final,
/// reverted) is followed on L1, reverts included. The `verdict_*` read methods answer as
/// the sequencer's do (sendInference is refused: send requests to the sequencer). A
/// restart resumes from the last whole batch.
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
    /// How often L1 is polled, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    poll_ms: u64,
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
    let metrics = verdict_node::metrics::install().context("installing the metrics recorder")?;
    let config = FullNodeConfig {
        l1_rpc: args.l1_rpc.clone(),
        data_dir: args.data_dir.clone(),
        rpc_addr: SocketAddr::new(args.host, args.rpc_port),
        poll: Duration::from_millis(args.poll_ms.max(1)),
    };
    let node = FullNode::start(&config, deployment, models, Some(metrics))
        .await
        .context("starting the full node")?;
    println!("Node RPC   {}", node.rpc.http_url());
    println!("WebSocket  {}", node.rpc.ws_url());
    println!("Following  {}", args.l1_rpc);
    shutdown_or_stdin_eof(args.stop_on_stdin_eof).await?;
    node.stop().await;
    Ok(())
}
