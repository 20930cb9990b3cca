//! The embedded L1 chain against anvil on the same machine, in the same run: how many
//! signed transfers per second each accepts and executes (automine; one sender, each
//! transaction sent once the last was accepted: anvil dropped transactions and exited
//! under 8 concurrent senders here), and
//! the latency of `eth_call` (a `Bridge.depositCount()` read) over HTTP.
//!
//! `cargo run --release -p verdict-bench --bin l1-chain` prints a table and writes
//! `target/bench/l1-chain.json`. anvil comes from `contracts/node_modules` (run
//! `scripts/contracts.sh` or `npm ci` in `contracts/` first).

use alloy::eips::eip2718::Encodable2718;
use alloy::network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder};
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use anyhow::{Context, Result, bail};
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use verdict_bench::{root, write_json};
use verdict_devchain::{DevChain, DevChainConfig};
use verdict_l1::bindings::Bridge;
use verdict_l1::client::{ClientConfig, L1Client};

const SENDERS: usize = 1;
/// Transfers per sender (a few in smoke mode).
fn transfers_per_sender() -> usize {
    verdict_bench::sized(1_000, 20)
}
/// `eth_call`s timed (a few in smoke mode).
fn calls() -> usize {
    verdict_bench::sized(2_000, 20)
}

struct AnvilProcess(Child);

impl Drop for AnvilProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_anvil() -> Result<(AnvilProcess, String)> {
    let binary = root().join("contracts/node_modules/.bin/anvil");
    if !binary.exists() {
        bail!(
            "{} is missing: run `npm ci` in contracts/",
            binary.display()
        );
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let child = Command::new(binary)
        .args(["--port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting anvil")?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            bail!("anvil did not start");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((AnvilProcess(child), format!("http://127.0.0.1:{port}")))
}

fn dev_signers() -> Result<Vec<PrivateKeySigner>> {
    DevChainConfig::default()
        .accounts
        .derive()
        .context("deriving the dev accounts")
}

/// Signs every transfer up front, so only sending and executing is timed.
async fn signed_transfers(
    provider: &DynProvider,
    signers: &[PrivateKeySigner],
) -> Result<Vec<Vec<Bytes>>> {
    let chain_id = provider.get_chain_id().await?;
    let mut all = Vec::new();
    for signer in signers.iter().take(SENDERS) {
        let wallet = EthereumWallet::from(signer.clone());
        let start = provider.get_transaction_count(signer.address()).await?;
        let mut mine = Vec::new();
        for i in 0..transfers_per_sender() as u64 {
            let tx = TransactionRequest::default()
                .with_to(Address::repeat_byte(0x77))
                .with_value(U256::from(1))
                .with_nonce(start + i)
                .with_chain_id(chain_id)
                .with_gas_limit(21_000)
                .with_max_fee_per_gas(100_000_000_000)
                .with_max_priority_fee_per_gas(1_000_000_000);
            let envelope = tx.build(&wallet).await?;
            mine.push(Bytes::from(envelope.encoded_2718()));
        }
        all.push(mine);
    }
    Ok(all)
}

/// Transfers per second: each sender sends its transactions in nonce order, waiting for
/// each to be accepted (automine executes it before answering).
async fn throughput(url: &str, signers: &[PrivateKeySigner]) -> Result<f64> {
    let provider = ProviderBuilder::new().connect(url).await?.erased();
    let batches = signed_transfers(&provider, signers).await?;
    let mut targets = Vec::new();
    for signer in signers.iter().take(SENDERS) {
        let start = provider.get_transaction_count(signer.address()).await?;
        targets.push((signer.address(), start + transfers_per_sender() as u64));
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for batch in batches {
        let provider = provider.clone();
        tasks.push(tokio::spawn(async move {
            for raw in batch {
                send_raw(&provider, raw).await?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    // Every transfer executed: each sender's mined nonce reached its last transfer (anvil
    // may put several transactions in one block, so blocks are not counted).
    let total = SENDERS * transfers_per_sender();
    for (address, target) in targets {
        while provider.get_transaction_count(address).latest().await? < target {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// Sends one raw transaction, retrying a dropped connection (anvil resets idle
/// keep-alive connections under load); a retry of an accepted transaction is fine.
async fn send_raw(provider: &DynProvider, raw: Bytes) -> Result<()> {
    let mut attempts = 0;
    loop {
        let sent: Result<serde_json::Value, _> = provider
            .raw_request("eth_sendRawTransaction".into(), (raw.clone(),))
            .await;
        match sent {
            Ok(_) => return Ok(()),
            Err(error) => {
                let text = error.to_string();
                if text.contains("already known") || text.contains("nonce too low") {
                    return Ok(());
                }
                attempts += 1;
                if attempts > 5 || error.as_error_resp().is_some() {
                    return Err(error.into());
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Median and 99th-percentile latency of `Bridge.depositCount()` through `eth_call`.
async fn call_latency(url: &str, key: &PrivateKeySigner) -> Result<(Duration, Duration)> {
    let client = L1Client::connect(url, Some(key.clone()), ClientConfig::default()).await?;
    let (bridge, _) = client.deploy("Bridge", Bridge::BYTECODE.to_vec()).await?;
    let provider = client.provider();
    let request = TransactionRequest::default()
        .with_to(bridge)
        .with_input(Bytes::from(Bridge::depositCountCall {}.abi_encode()));
    let mut times = Vec::with_capacity(calls());
    for _ in 0..calls() {
        let started = Instant::now();
        std::hint::black_box(provider.call(request.clone()).await?);
        times.push(started.elapsed());
    }
    times.sort();
    Ok((times[calls() / 2], times[calls() * 99 / 100]))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let signers = dev_signers()?;
    // Same chain on both sides: automine, in memory (anvil keeps its state in memory too).
    let chain = DevChain::open(DevChainConfig::default())?;
    let (_, server) = chain.serve("127.0.0.1:0".parse()?).await?;
    // `ANVIL_URL` points at an anvil already running (e.g. a native build); else one
    // from contracts/node_modules is started.
    let (_anvil, anvil_url) = match std::env::var("ANVIL_URL") {
        Ok(url) => (None, url),
        Err(_) => {
            let (process, url) = start_anvil()?;
            (Some(process), url)
        }
    };

    let ours = server.http_url();
    eprintln!("transfers on verdict l1 ({ours})…");
    let ours_tps = throughput(&ours, &signers)
        .await
        .context("verdict l1 throughput")?;
    eprintln!("transfers on anvil ({anvil_url})…");
    let anvil_tps = throughput(&anvil_url, &signers)
        .await
        .context("anvil throughput")?;
    eprintln!("eth_call latency…");
    let (ours_p50, ours_p99) = call_latency(&ours, &signers[9])
        .await
        .context("verdict l1 calls")?;
    let (anvil_p50, anvil_p99) = call_latency(&anvil_url, &signers[9])
        .await
        .context("anvil calls")?;

    println!(
        "{:<22} {:>14} {:>14} {:>10}",
        "", "verdict l1", "anvil", "ratio"
    );
    println!(
        "{:<22} {:>14.0} {:>14.0} {:>9.2}x",
        "transfers/s",
        ours_tps,
        anvil_tps,
        ours_tps / anvil_tps
    );
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "{:<22} {:>12.0}µs {:>12.0}µs {:>9.2}x",
        "eth_call p50",
        us(ours_p50),
        us(anvil_p50),
        us(ours_p50) / us(anvil_p50)
    );
    println!(
        "{:<22} {:>12.0}µs {:>12.0}µs {:>9.2}x",
        "eth_call p99",
        us(ours_p99),
        us(anvil_p99),
        us(ours_p99) / us(anvil_p99)
    );
    let path = write_json(
        "l1-chain.json",
        &json!({
            "transfers": SENDERS * transfers_per_sender(),
            "senders": SENDERS,
            "verdict_l1_transfers_per_s": ours_tps,
            "anvil_transfers_per_s": anvil_tps,
            "throughput_ratio": ours_tps / anvil_tps,
            "verdict_l1_call_p50_us": us(ours_p50),
            "anvil_call_p50_us": us(anvil_p50),
            "verdict_l1_call_p99_us": us(ours_p99),
            "anvil_call_p99_us": us(anvil_p99),
            "call_p50_ratio": us(ours_p50) / us(anvil_p50),
        }),
    )?;
    println!("wrote {}", path.display());
    server.stop().await;
    Ok(())
}
