//! `verdict model publish` and `verdict model upload`: putting a model on the network.
//!
//! Publishing registers the model in the ModelRegistry on L1 (id, graph hash, weights
//! root, op count, input shape, fee, name; the sender becomes its owner) and uploads the
//! file to an L2 node, which checks the bytes against the registered id and serves them.
//! A model's id commits to its whole graph and weights, so from then on any node or
//! challenger can fetch the file from any source and check it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use alloy::primitives::utils::format_ether;
use alloy::primitives::{B256, Bytes, U64, U256};
use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use jsonrpsee::http_client::HttpClient;
use serde_json::json;
use verdict_l1::client::L1Error;
use verdict_l1::contracts::{ModelRegistration, VerdictL1};
use verdict_rpc::VerdictApiClient;
use verdict_specs::Model;

use crate::bridge::{KeyArg, bind_contracts, l2_client, signer};
use crate::output::print_json;

/// Bytes per upload call: hex doubles them, and the request stays under the node's
/// default 1 MiB request limit.
const UPLOAD_CHUNK: usize = 384 * 1024;

/// How long `publish` waits for the node to serve the uploaded model.
const SERVE_TIMEOUT: Duration = Duration::from_secs(60);

/// Register a model on L1 and upload its file to an L2 node, which then serves it.
///
/// The sender (--key) pays the registration and becomes the model's owner (who may
/// change its fee later). Without --rpc the file is only registered: nodes then fetch it
/// from their model sources, or it is uploaded later with `verdict model upload`.
#[derive(Args, Debug)]
pub(crate) struct PublishArgs {
    /// The model file (`.vdm`, from `verdict model import`).
    file: PathBuf,
    /// The name to register it under: unique, 1 to 64 bytes of [a-z0-9._-].
    #[arg(long)]
    name: String,
    /// Fee per inference in wei, paid by each request's sender to the sequencer.
    #[arg(long, value_name = "WEI", default_value = "0")]
    fee: U256,
    /// The L1 JSON-RPC endpoint.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8545")]
    l1_rpc: String,
    /// The deployment file (`verdict l1 deploy`, or deployment.json in the devnet's data
    /// dir). Without it the contract addresses are taken from the --rpc endpoint.
    #[arg(long, value_name = "FILE")]
    deployment: Option<PathBuf>,
    #[command(flatten)]
    key: KeyArg,
    /// The L2 node (sequencer) to upload the file to; it serves the model once the
    /// upload is checked.
    #[arg(long, value_name = "URL")]
    rpc: Option<String>,
    /// Print one JSON object (model_id, name, l1_tx, …).
    #[arg(long)]
    json: bool,
}

/// Upload a registered model's file to an L2 node (after `verdict model publish`
/// without --rpc, or to another node). The node checks the bytes against the id.
#[derive(Args, Debug)]
pub(crate) struct UploadArgs {
    /// The model file (`.vdm`).
    file: PathBuf,
    /// The L2 node to upload to.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8645")]
    rpc: String,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub(crate) fn publish(args: PublishArgs) -> Result<()> {
    runtime()?.block_on(publish_async(args))
}

pub(crate) fn upload(args: UploadArgs) -> Result<()> {
    runtime()?.block_on(async {
        let (model, bytes) = read_model(&args.file)?;
        let id = B256::from(model.id().id);
        let l2 = l2_client(&args.rpc)?;
        let started = Instant::now();
        upload_file(&l2, &args.rpc, id, &bytes, !args.json).await?;
        let served = wait_served(&l2, id, SERVE_TIMEOUT).await?;
        let seconds = started.elapsed().as_secs_f64();
        if args.json {
            print_json(&json!({
                "model_id": id,
                "file_bytes": bytes.len(),
                "rpc": args.rpc,
                "served": served,
                "seconds": seconds,
            }))
        } else {
            println!(
                "uploaded {} bytes of model {id} to {} in {seconds:.2} s",
                bytes.len(),
                args.rpc
            );
            println!("{}", served_line(served, &args.rpc));
            Ok(())
        }
    })
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn read_model(path: &Path) -> Result<(Model, Vec<u8>)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let model = Model::decode(&bytes)
        .with_context(|| format!("{} is not a Verdict model file", path.display()))?;
    Ok((model, bytes))
}

async fn publish_async(args: PublishArgs) -> Result<()> {
    let (model, bytes) = read_model(&args.file)?;
    let id = B256::from(model.id().id);
    let signer = signer(&args.key)?;
    let owner = signer.address();
    let l2 = args.rpc.as_deref().map(l2_client).transpose()?;
    let l1 = bind_contracts(
        &args.l1_rpc,
        args.deployment.as_deref(),
        args.rpc.as_deref().zip(l2.as_ref()),
        Some(signer),
    )
    .await?;

    check_publishable(&l1, id, &args.name, owner).await?;
    let started = Instant::now();
    let registration = ModelRegistration::of(&model, &args.name, args.fee);
    let (registered, receipt) = l1
        .register_model_with_receipt(&registration)
        .await
        .map_err(|e| unfunded_or(e, owner))
        .with_context(|| format!("registering {} as {}", args.file.display(), args.name))?;
    if registered != id {
        bail!(
            "the registry recorded model {registered}, not the file's {id}: this ModelRegistry is not Verdict's"
        );
    }
    let l1_tx = receipt.transaction_hash;
    let l1_block = receipt.block_number.unwrap_or_default();
    if !args.json {
        println!(
            "registered {} as {} (model {id}) in L1 block {l1_block}, transaction {l1_tx}",
            args.file.display(),
            args.name
        );
    }

    let mut served = None;
    if let (Some(url), Some(l2)) = (args.rpc.as_deref(), l2.as_ref()) {
        upload_file(l2, url, id, &bytes, !args.json).await?;
        served = Some(wait_served(l2, id, SERVE_TIMEOUT).await?);
    }
    let seconds = started.elapsed().as_secs_f64();
    if args.json {
        return print_json(&json!({
            "model_id": id,
            "name": args.name,
            "owner": owner,
            "fee": args.fee.to_string(),
            "l1_tx": l1_tx,
            "l1_block": l1_block,
            "graph_hash": registration.graph_hash,
            "weights_root": registration.weights_root,
            "op_count": registration.op_count,
            "file_bytes": bytes.len(),
            "uploaded_to": args.rpc,
            "served": served,
            "seconds": seconds,
        }));
    }
    match (served, args.rpc.as_deref()) {
        (Some(served), Some(url)) => {
            println!("uploaded {} bytes to {url}", bytes.len());
            println!("{}", served_line(served, url));
        }
        _ => println!(
            "not uploaded (no --rpc): nodes fetch the file from their model sources, or upload it with `verdict model upload {} --rpc URL`",
            args.file.display()
        ),
    }
    println!(
        "fee {} wei ({} ETH) per inference; owner {owner}",
        args.fee,
        format_ether(args.fee)
    );
    Ok(())
}

/// Refuses, before spending gas, what the registry would refuse: a bad or taken name,
/// an id registered already, and a sender without ETH.
async fn check_publishable(
    l1: &VerdictL1,
    id: B256,
    name: &str,
    owner: alloy::primitives::Address,
) -> Result<()> {
    if !l1.valid_name(name).await? {
        bail!("--name {name:?}: a model name is 1 to 64 bytes of a-z, 0-9, '.', '_' and '-'");
    }
    if l1.is_registered(id).await? {
        let existing = l1.model(id).await?;
        bail!(
            "model {id} is already registered, as {:?} by {} (a model's id is its graph and weights: the same file is the same model); to put the file on a node, run `verdict model upload FILE --rpc URL`",
            existing.name,
            existing.owner
        );
    }
    let holder = l1.model_id_by_name(name).await?;
    if holder != B256::ZERO {
        bail!("the name {name:?} is taken by model {holder}; choose another --name");
    }
    let balance = l1.client().balance(owner).await?;
    if balance.is_zero() {
        bail!(
            "the key's address {owner} has no ETH on L1 (chain {}) to pay for the registration; fund it first",
            l1.client().chain_id()
        );
    }
    Ok(())
}

/// An L1 error, said plainly when the sender could not pay.
fn unfunded_or(e: L1Error, owner: alloy::primitives::Address) -> anyhow::Error {
    let text = e.to_string();
    if text.contains("insufficient funds") || text.contains("InsufficientFunds") {
        anyhow::anyhow!(
            "the key's address {owner} cannot pay for the registration transaction: {text}"
        )
    } else {
        anyhow::Error::new(e)
    }
}

/// Uploads `bytes` (model `id`) to `url` chunk by chunk, with a progress bar on `show`.
async fn upload_file(l2: &HttpClient, url: &str, id: B256, bytes: &[u8], show: bool) -> Result<()> {
    let bar = if show && bytes.len() > UPLOAD_CHUNK {
        let bar = ProgressBar::new(bytes.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("   uploading [{bar:30}] {bytes}/{total_bytes}")
                .expect("static template")
                .progress_chars("=> "),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let total = U64::from(bytes.len());
    let mut offset = 0;
    loop {
        let end = (offset + UPLOAD_CHUNK).min(bytes.len());
        let progress = l2
            .upload_model_file(
                id,
                U64::from(offset),
                total,
                Bytes::copy_from_slice(&bytes[offset..end]),
            )
            .await
            .with_context(|| format!("uploading the model file to {url}"))?;
        bar.set_position(progress.received_bytes.to::<u64>());
        if progress.complete {
            break;
        }
        if end == bytes.len() {
            bail!("{url} took the whole file but does not say it is complete");
        }
        offset = end;
    }
    bar.finish_and_clear();
    Ok(())
}

/// Whether the node serves model `id` within `timeout` (a sequencer adds an uploaded
/// model within a poll of L1; a node whose policy does not take it never does).
async fn wait_served(l2: &HttpClient, id: B256, timeout: Duration) -> Result<bool> {
    let deadline = Instant::now() + timeout;
    loop {
        if l2
            .get_model(id.to_string())
            .await
            .context("asking the node for the model")?
            .is_some()
        {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn served_line(served: bool, url: &str) -> String {
    if served {
        format!("{url} serves the model: send inferences with `verdict infer --model NAME`")
    } else {
        format!(
            "{url} took the file but does not serve the model yet within a minute (its serve_registered policy may not take it; see its log)"
        )
    }
}
