//! Full-node sync against the sequencer's production rate, in one run on one machine.
//!
//! 1. An embedded L1 (0.25 s blocks), the contracts, the demo models and a sequencer
//!    (in process, its real RPC server): `--records` signed requests from eight dev
//!    accounts are sent concurrently over HTTP; the **production rate** is records per
//!    second from the first send to the last answer.
//! 2. Once every block is in a posted batch, a fresh full node (`verdict node`'s code)
//!    rebuilds the chain from L1 alone — batch data from calldata, deposits from the
//!    queue, every state transition checked, every record re-executed — and the **sync
//!    rate** is records and blocks per second from its start until it holds the
//!    sequencer's head with the same block hash.
//!
//! Prints the ratio sync/production (goal ≥ 3) and writes `target/bench/node-sync.json`.
//!
//! `cargo run --release -p verdict-bench --bin node-sync [-- --records N]`

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use jsonrpsee::http_client::HttpClientBuilder;
use verdict_devchain::{DevAccounts, DevChain, DevChainConfig};
use verdict_devnet::prepare;
use verdict_full_node::{FullNode, FullNodeConfig};
use verdict_l1::client::{ClientConfig, L1Client};
use verdict_rpc::VerdictApiClient;
use verdict_rpc::signing::{domain_of, sign_request_json};
use verdict_sequencer::Sequencer;
use verdict_sequencer::config::SequencerConfig;
use verdict_specs::Tensor;
use verdict_specs::l2::request::InferenceRequest;
use verdict_specs::vectors::SplitMix64;

#[derive(Parser)]
struct Args {
    /// Requests sent to the sequencer.
    #[arg(long, default_value_t = 4000)]
    records: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// The model (a demo model's name).
    #[arg(long, default_value = "digits-mlp")]
    model: String,
}

const SENDERS: usize = 8;

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<()> {
    let mut args = Args::parse();
    if verdict_bench::smoke() {
        args.records = args.records.min(64);
        args.concurrency = args.concurrency.min(8);
    }
    let dir = tempfile::tempdir().context("temp dir")?;
    let chain = DevChain::open(DevChainConfig {
        block_time: Some(Duration::from_millis(250)),
        ..DevChainConfig::default()
    })
    .context("embedded L1")?;
    let (_, server) = chain
        .serve("127.0.0.1:0".parse().context("address")?)
        .await
        .context("serving L1")?;
    let l1_url = server.http_url();
    let keys = DevAccounts::default().derive().context("dev keys")?;
    let deployer = keys[0].clone();
    let client = L1Client::connect(&l1_url, Some(deployer.clone()), ClientConfig::default())
        .await
        .context("L1 client")?;
    let senders: Vec<_> = keys[1..=SENDERS].to_vec();
    let recipients: Vec<_> = senders.iter().map(|k| k.address()).collect();
    let prepared = prepare(
        client,
        &dir.path().join("deployment.json"),
        10_000,
        &recipients,
    )
    .await
    .context("deploying")?;
    let config = SequencerConfig {
        data_dir: dir.path().join("sequencer"),
        l1_rpc: l1_url.clone(),
        rpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        block_time_ms: 200,
        batch_blocks: 8,
        batch_interval_secs: 1,
        l1_poll_ms: 250,
        ..SequencerConfig::default()
    };
    let sequencer = Sequencer::start(
        &config,
        prepared.deployment.clone(),
        deployer,
        prepared.models.clone(),
        None,
    )
    .await
    .context("starting the sequencer")?;
    let rpc = HttpClientBuilder::default()
        .max_concurrent_requests(args.concurrency * 2)
        .request_timeout(Duration::from_secs(120))
        .build(sequencer.rpc.http_url())
        .context("RPC client")?;
    let info = rpc.chain_info().await.context("chainInfo")?;
    let model = rpc
        .get_model(args.model.clone())
        .await?
        .with_context(|| format!("no model {}", args.model))?;
    // Wait for the deposits to be credited.
    let deadline = Instant::now() + Duration::from_secs(60);
    for r in &recipients {
        while rpc.get_account(*r).await?.balance.is_zero() {
            if Instant::now() > deadline {
                bail!("deposits not credited in time");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // 1. Production.
    let count: usize = model.input_shape.iter().map(|&d| d as usize).product();
    let mut rng = SplitMix64::new(7);
    let mut signed = Vec::with_capacity(args.records);
    for i in 0..args.records {
        let sender = &senders[i % SENDERS];
        let request = InferenceRequest {
            sender: sender.address().into_array(),
            nonce: (i / SENDERS) as u64,
            model_id: model.id.0,
            input: Tensor::from_i8(model.input_shape.clone(), rng.i8s(count))?,
            max_fee: model.fee_per_inference.to::<u128>(),
        };
        signed.push(sign_request_json(sender, request, &domain_of(&info))?);
    }
    let rpc = Arc::new(rpc);
    let started = Instant::now();
    // One task per sender keeps each sender's nonces in order.
    let mut tasks = Vec::new();
    for s in 0..SENDERS {
        let mine: Vec<_> = signed.iter().skip(s).step_by(SENDERS).cloned().collect();
        let rpc = Arc::clone(&rpc);
        tasks.push(tokio::spawn(async move {
            for request in mine {
                rpc.send_inference(request).await?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let production = started.elapsed();
    let head = sequencer.chain().sealed();
    let production_rate = args.records as f64 / production.as_secs_f64();
    println!(
        "sequencer: {} records in {} blocks, {:.2} s: {production_rate:.0} records/s",
        args.records,
        head.number,
        production.as_secs_f64()
    );

    // Every block in a posted batch.
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let sealed = sequencer.chain().sealed().number;
        let posted = sequencer
            .batches()
            .all()
            .iter()
            .map(|b| b.header.last_block)
            .max()
            .unwrap_or(0);
        if posted >= sealed && sealed >= head.number {
            break;
        }
        if Instant::now() > deadline {
            bail!("blocks not posted in time ({posted} of {sealed})");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let target = sequencer.chain().sealed();

    // 2. Sync.
    let node_config = FullNodeConfig {
        l1_rpc: l1_url,
        data_dir: dir.path().join("node"),
        rpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        poll: Duration::from_millis(50),
        model_sources: Vec::new(),
        max_model_bytes: 64 << 20,
    };
    let started = Instant::now();
    let node = FullNode::start(
        &node_config,
        prepared.deployment.clone(),
        prepared.models,
        None,
    )
    .await
    .context("starting the full node")?;
    let deadline = Instant::now() + Duration::from_secs(600);
    while node.chain.sealed().number < target.number {
        if Instant::now() > deadline {
            bail!("the full node did not catch up in time");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let sync = started.elapsed();
    let synced = node.chain.sealed();
    if synced.hash() != target.hash() {
        bail!(
            "the full node's block {} differs from the sequencer's",
            target.number
        );
    }
    let records_rate = args.records as f64 / sync.as_secs_f64();
    let blocks_rate = target.number as f64 / sync.as_secs_f64();
    let ratio = records_rate / production_rate;
    println!(
        "full node: {} blocks, {} records in {:.2} s: {records_rate:.0} records/s re-executed, {blocks_rate:.0} blocks/s applied",
        target.number,
        args.records,
        sync.as_secs_f64()
    );
    println!("sync / production = {ratio:.2}x (goal >= 3x)");
    let path = verdict_bench::write_json(
        "node-sync.json",
        &serde_json::json!({
            "model": args.model,
            "records": args.records,
            "blocks": target.number,
            "production_seconds": production.as_secs_f64(),
            "production_records_per_second": production_rate,
            "sync_seconds": sync.as_secs_f64(),
            "sync_records_per_second": records_rate,
            "sync_blocks_per_second": blocks_rate,
            "sync_over_production": ratio,
        }),
    )?;
    println!("wrote {}", path.display());
    node.stop().await;
    let mut sequencer = sequencer;
    sequencer.stop().await;
    drop(server);
    Ok(())
}
