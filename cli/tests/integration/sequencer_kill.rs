//! `kill -9` of `verdict sequencer` at pseudo-random moments under load, several times,
//! restarting each time on the same data dir: every request that got an answer is in the
//! chain at the position it was given, each sender's records are in nonce order with no
//! duplicate and no gap, and no block range was ever posted to L1 twice.

use crate::support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256};
use verdict_devchain::{DevChain, DevChainConfig};
use verdict_devnet::prepare;
use verdict_l1::client::{ClientConfig, L1Client};
use verdict_l1::contracts::VerdictL1;
use verdict_rpc::VerdictApiClient;
use verdict_rpc::types::{BlockRecords, InferenceReceipt};

use support::{dev_key, http_client, input_for, signed};

const SENDERS: usize = 4;
const KILLS: usize = 4;

/// A `verdict sequencer` process.
struct Running(Child);

impl Running {
    fn start(config: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_verdict"))
            .args(["sequencer", "--stop-on-stdin-eof", "--config"])
            .arg(config)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("verdict sequencer starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        loop {
            let line = lines
                .next()
                .expect("the sequencer prints its endpoints (see stderr)")
                .expect("utf-8");
            if line.starts_with("Metrics") {
                break;
            }
        }
        std::thread::spawn(move || lines.for_each(drop));
        Self(child)
    }

    fn kill9(mut self) {
        self.0.kill().expect("SIGKILL");
        let _ = self.0.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

/// xorshift, for reproducible "random" moments.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answered_requests_survive_kill_9_in_order_and_batches_are_never_posted_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let chain = DevChain::open(DevChainConfig {
        block_time: Some(Duration::from_millis(250)),
        ..DevChainConfig::default()
    })
    .expect("L1");
    let (_, l1_server) = chain
        .serve("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("serves");
    let l1_url = l1_server.http_url();
    let deployer = dev_key(0);
    let client = L1Client::connect(&l1_url, Some(deployer.clone()), ClientConfig::default())
        .await
        .expect("L1 client");
    let recipients: Vec<Address> = (1..=SENDERS).map(|i| dev_key(i).address()).collect();
    let deployment_file = dir.path().join("deployment.json");
    let prepared = prepare(client, &deployment_file, 4, &recipients)
        .await
        .expect("prepared");

    let port = support::anvil::free_port();
    let rpc = format!("http://127.0.0.1:{port}");
    let config = dir.path().join("sequencer.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\nl1_rpc = {l1_url:?}\ndeployment = {:?}\nkey = {:?}\nmodels = [{:?}]\n\
             rpc_addr = \"127.0.0.1:{port}\"\nblock_time_ms = 100\nbatch_blocks = 3\nmax_block_bytes = 8192\nmax_batch_bytes = 12000\nbatch_interval_secs = 1\nl1_poll_ms = 200\n",
            dir.path().join("chain"),
            deployment_file,
            deployer.to_bytes().to_string(),
            repo_path("models/digits/digits-mlp.vdm"),
        ),
    )
    .expect("config");

    let mut sequencer = Running::start(&config);
    let info = http_client(&rpc).chain_info().await.expect("chainInfo");
    let model = http_client(&rpc)
        .get_model("digits-mlp".into())
        .await
        .expect("getModel")
        .expect("served");

    // Load: each sender sends in nonce order; after an error (the process died mid-call)
    // it asks the restarted sequencer for its next nonce and goes on from there.
    let stop = Arc::new(AtomicBool::new(false));
    let mut senders = Vec::new();
    for s in 0..SENDERS {
        let (stop, info, model, rpc) =
            (Arc::clone(&stop), info.clone(), model.clone(), rpc.clone());
        senders.push(tokio::spawn(async move {
            let key = dev_key(s + 1);
            let client = http_client(&rpc);
            let mut answered: Vec<(u64, InferenceReceipt)> = Vec::new();
            let mut nonce = 0u64;
            while !stop.load(Ordering::SeqCst) {
                let request = signed(
                    &info,
                    &key,
                    &model,
                    input_for(&model, nonce + 1000 * s as u64),
                    nonce,
                );
                match client.send_inference(request).await {
                    Ok(receipt) => {
                        answered.push((nonce, receipt));
                        nonce += 1;
                        // Paced: enough load to fill blocks, not so much that posting
                        // (one batch per L1 block) trails by minutes.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        if let Ok(account) = client.get_account(key.address()).await {
                            nonce = account.nonce.to::<u64>();
                        }
                    }
                }
            }
            (key.address(), answered)
        }));
    }

    let mut seed = 0x5eed_u64;
    for _ in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(400 + next(&mut seed) % 1200)).await;
        sequencer.kill9();
        sequencer = Running::start(&config);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    let mut answered: BTreeMap<Address, Vec<(u64, InferenceReceipt)>> = BTreeMap::new();
    for task in senders {
        let (address, list) = task.await.expect("sender");
        answered.insert(address, list);
    }
    let total: usize = answered.values().map(Vec::len).sum();
    assert!(total > 50, "the load was real: {total} answers");
    eprintln!("{total} answers under load");

    // One more restart after the load: what was open is replayed, nothing is lost.
    sequencer.kill9();
    let _sequencer = Running::start(&config);
    let client = http_client(&rpc);

    // Every answered request is where its answer said it is.
    for list in answered.values() {
        for (_, receipt) in list {
            let found = client
                .get_inference(receipt.record_hash)
                .await
                .expect("getInference")
                .unwrap_or_else(|| panic!("answered record {} is lost", receipt.record_hash));
            assert_eq!(found.block_number, receipt.block_number);
            assert_eq!(found.index, receipt.index);
            assert_eq!(found.record.output, receipt.output);
        }
    }

    // Wait until the chain's blocks are all posted, then read the chain in order. The
    // posts trail the load (about one block per L1 block here, as the batches are kept
    // small to force splitting), so the wait is bounded by progress, not by a total:
    // it fails only when L1's `nextBlock` stops moving.
    let deployment = prepared.deployment;
    let l1_client = L1Client::connect(&l1_url, None, ClientConfig::default())
        .await
        .expect("L1");
    let l1 = VerdictL1::new(l1_client, deployment).expect("binds");
    const STALL: Duration = Duration::from_secs(60);
    let mut posted_up_to = 0;
    let mut last_progress = Instant::now();
    let head = loop {
        let head = client
            .block_number()
            .await
            .expect("blockNumber")
            .to::<u64>();
        let block = client
            .get_block_by_number(format!("{head:#x}"), None)
            .await
            .expect("getBlockByNumber")
            .expect("head block");
        if block.status != verdict_rpc::types::Status::Pending {
            break head;
        }
        let next_block = l1.head().await.expect("L1 head").next_block;
        if next_block > posted_up_to {
            posted_up_to = next_block;
            last_progress = Instant::now();
        }
        assert!(
            last_progress.elapsed() < STALL,
            "posting stalled: L1 stayed at nextBlock {posted_up_to} for {STALL:?} (head {head})"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    eprintln!("{head} blocks, all posted");
    let mut nonces: BTreeMap<Address, Vec<u64>> = BTreeMap::new();
    let mut seen = std::collections::HashSet::new();
    for n in 1..=head {
        let block = client
            .get_block_by_number(format!("{n:#x}"), Some(true))
            .await
            .expect("getBlockByNumber")
            .expect("sealed");
        let records = match block.records {
            BlockRecords::Full(records) => records,
            // A block without records (deposits only, or sealed by its timer) reads as
            // an empty list of either kind.
            BlockRecords::Hashes(hashes) if hashes.is_empty() => vec![],
            BlockRecords::Hashes(_) => panic!("full records asked for"),
        };
        for record in records {
            assert!(
                seen.insert(record.record_hash),
                "record {} twice",
                record.record_hash
            );
            nonces
                .entry(record.sender)
                .or_default()
                .push(record.nonce.to::<u64>());
        }
    }
    for (address, list) in &answered {
        let chain_nonces = nonces.get(address).cloned().unwrap_or_default();
        let expected: Vec<u64> = (0..chain_nonces.len() as u64).collect();
        assert_eq!(
            chain_nonces, expected,
            "{address}: in order, no gap, no duplicate"
        );
        let highest_answered = list.last().map(|(n, _)| *n).unwrap_or(0);
        assert!(chain_nonces.len() as u64 > highest_answered);
    }

    // L1: contiguous ranges, no block posted twice, every output root ours.
    let latest = l1.client().block_number().await.expect("L1 head");
    let posts = l1
        .posted_batch_logs(0, latest)
        .await
        .expect("BatchPosted logs");
    let l1_head = l1.head().await.expect("head");
    assert_eq!(
        posts.len() as u64,
        l1_head.batch_count,
        "no post was reverted, so none was repeated"
    );
    let mut expected_first = 1;
    for (header, _) in &posts {
        assert_eq!(
            header.first_block, expected_first,
            "batch {} starts where the last ended",
            header.index
        );
        let local = client
            .get_block_by_number(format!("{:#x}", header.last_block), None)
            .await
            .expect("block")
            .expect("sealed");
        assert_eq!(local.header.hash, B256::from(header.output_root));
        expected_first = header.last_block + 1;
    }
    l1_server.stop().await;
}
