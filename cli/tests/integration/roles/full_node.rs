//! `verdict node`: a full node started after 50 batches rebuilds the chain from L1 alone
//! and reaches the sequencer's head with identical blocks (hashes, state roots, records,
//! statuses); killed mid-sync (SIGKILL) and restarted, it resumes; it refuses requests.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use verdict_l1::client::{ClientConfig, L1Client};
use verdict_l1::contracts::VerdictL1;
use verdict_l1::deploy::Deployment;
use verdict_rpc::VerdictApiClient;
use verdict_rpc::types::{BlockJson, ModelJson, Status};

use crate::support::{Devnet, dev_key, http_client, input_for, signed};

/// `verdict node` as a process (SIGKILLed when dropped) and its RPC URL.
pub(super) struct NodeProcess {
    child: Child,
    pub(super) rpc: String,
}

impl NodeProcess {
    fn start(l1_rpc: &str, deployment: &std::path::Path, dir: &std::path::Path) -> Self {
        Self::start_with(l1_rpc, deployment, dir, &[])
    }

    /// [`Self::start`] with more arguments.
    pub(super) fn start_with(
        l1_rpc: &str,
        deployment: &std::path::Path,
        dir: &std::path::Path,
        extra: &[&str],
    ) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_verdict"))
            .args([
                "node",
                "--stop-on-stdin-eof",
                "--rpc-port",
                "0",
                "--poll-ms",
                "200",
            ])
            .args(["--l1-rpc", l1_rpc, "--deployment"])
            .arg(deployment)
            .arg("--data-dir")
            .arg(dir)
            .args(extra)
            .env(
                "RUST_LOG",
                std::env::var("VERDICT_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("verdict node starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let rpc = loop {
            let line = lines
                .next()
                .expect("the node prints its endpoint")
                .expect("utf-8");
            if let Some(url) = line.strip_prefix("Node RPC") {
                break url.trim().to_string();
            }
        };
        std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
        Self { child, rpc }
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn block(url: &str, number: u64) -> Option<BlockJson> {
    http_client(url)
        .get_block_by_number(format!("{number:#x}"), Some(true))
        .await
        .ok()
        .flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_node_rebuilds_the_chain_from_l1_and_resumes_after_a_kill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let devnet = Devnet::start(
        dir.path(),
        &[
            "--block-time",
            "0.1",
            "--l1-block-time",
            "0.3",
            "--dispute-window",
            "10",
            "--batch-blocks",
            "1",
            "--batch-interval",
            "1",
            "--no-challenger",
        ],
    );
    let client = devnet.client();
    let info = client.chain_info().await.expect("chainInfo");
    let models: Vec<ModelJson> = client.models().await.expect("models");
    let deployment_file = dir.path().join("deployment.json");
    let deployment = Deployment::read(&deployment_file).expect("deployment");
    let l1 = VerdictL1::new(
        L1Client::connect(&devnet.l1_rpc, None, ClientConfig::default())
            .await
            .expect("L1"),
        deployment,
    )
    .expect("binds");

    // 50 batches and more: requests in separate blocks, one batch per block.
    let key = dev_key(1);
    let mut nonce = 0;
    let deadline = Instant::now() + Duration::from_secs(180);
    while l1.head().await.expect("head").batch_count < 52 {
        let model = &models[nonce as usize % models.len()];
        client
            .send_inference(signed(&info, &key, model, input_for(model, nonce), nonce))
            .await
            .expect("answered");
        nonce += 1;
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(Instant::now() < deadline, "50 batches not posted in time");
    }

    // A node from scratch; killed mid-sync, restarted on its data.
    let node_dir = tempfile::tempdir().expect("tempdir");
    let node = NodeProcess::start(&devnet.l1_rpc, &deployment_file, node_dir.path());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let height = http_client(&node.rpc)
            .block_number()
            .await
            .map(|n| n.to::<u64>())
            .unwrap_or(0);
        if height >= 10 {
            break;
        }
        assert!(Instant::now() < deadline, "the node made no progress");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(node);
    let node = NodeProcess::start(&devnet.l1_rpc, &deployment_file, node_dir.path());
    let node_client = http_client(&node.rpc);
    let resumed_at = node_client
        .block_number()
        .await
        .expect("blockNumber")
        .to::<u64>();
    assert!(
        resumed_at >= 10,
        "the restarted node kept what it had: {resumed_at}"
    );

    // It reaches the last block L1 holds, block for block the sequencer's chain.
    let target = l1.head().await.expect("head").next_block - 1;
    let deadline = Instant::now() + Duration::from_secs(120);
    while node_client
        .block_number()
        .await
        .expect("blockNumber")
        .to::<u64>()
        < target
    {
        assert!(
            Instant::now() < deadline,
            "the node did not reach block {target}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for number in 0..=target {
        let ours = block(&node.rpc, number)
            .await
            .expect("the node has the block");
        let theirs = block(&devnet.rpc, number)
            .await
            .expect("the sequencer has the block");
        assert_eq!(ours.header, theirs.header, "block {number}");
        assert_eq!(ours.records, theirs.records, "block {number}");
        assert_eq!(ours.deposit_count, theirs.deposit_count, "block {number}");
    }
    // The same answers for an early record, once both see its batch final.
    let mut early = None;
    for number in 1..=target {
        let b = block(&devnet.rpc, number).await.expect("block");
        if let verdict_rpc::types::BlockRecords::Full(records) = b.records
            && let Some(first) = records.into_iter().next()
        {
            early = Some(first);
            break;
        }
    }
    if let Some(record) = early {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ours = node_client
                .get_inference(record.record_hash)
                .await
                .expect("ours");
            let theirs = client
                .get_inference(record.record_hash)
                .await
                .expect("theirs");
            if ours.as_ref().map(|r| r.status) == Some(Status::Finalized)
                && theirs.as_ref().map(|r| r.status) == Some(Status::Finalized)
            {
                assert_eq!(ours, theirs, "the same answer from both nodes");
                break;
            }
            assert!(Instant::now() < deadline, "not final on both in time");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // Requests go to the sequencer.
    let model = &models[0];
    let refused = node_client
        .send_inference(signed(&info, &dev_key(2), model, input_for(model, 0), 0))
        .await
        .expect_err("a full node takes no requests");
    assert!(refused.to_string().contains("read-only"), "{refused}");
}

/// Waits until the node's head is the last block L1 holds and equals the sequencer's.
async fn in_step(node: &NodeProcess, devnet: &Devnet, l1: &VerdictL1, timeout: Duration) -> u64 {
    let deadline = Instant::now() + timeout;
    loop {
        let target = l1.head().await.expect("head").next_block - 1;
        let ours = block(&node.rpc, target).await;
        let theirs = block(&devnet.rpc, target).await;
        if let (Some(ours), Some(theirs)) = (ours, theirs)
            && ours.header == theirs.header
            && http_client(&node.rpc)
                .block_number()
                .await
                .map(|n| n.to::<u64>())
                .unwrap_or(0)
                == target
        {
            return target;
        }
        assert!(Instant::now() < deadline, "the node is not in step with L1");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_node_follows_an_l1_reorg_that_drops_a_batch() {
    use alloy::providers::Provider;

    let dir = tempfile::tempdir().expect("tempdir");
    let devnet = Devnet::start(
        dir.path(),
        &[
            "--block-time",
            "0.1",
            "--l1-block-time",
            "0.3",
            "--dispute-window",
            "200",
            "--batch-blocks",
            "1",
            "--batch-interval",
            "1",
            "--no-challenger",
        ],
    );
    let client = devnet.client();
    let info = client.chain_info().await.expect("chainInfo");
    let models: Vec<ModelJson> = client.models().await.expect("models");
    let deployment_file = dir.path().join("deployment.json");
    let l1_client = L1Client::connect(&devnet.l1_rpc, None, ClientConfig::default())
        .await
        .expect("L1");
    let l1 = VerdictL1::new(
        l1_client.clone(),
        Deployment::read(&deployment_file).expect("deployment"),
    )
    .expect("binds");
    let key = dev_key(1);
    let model = &models[0];
    client
        .send_inference(signed(&info, &key, model, input_for(model, 0), 0))
        .await
        .expect("answered");
    let deadline = Instant::now() + Duration::from_secs(60);
    while l1.head().await.expect("head").batch_count < 1 {
        assert!(
            Instant::now() < deadline,
            "the first batches were not posted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let node_dir = tempfile::tempdir().expect("tempdir");
    let node = NodeProcess::start(&devnet.l1_rpc, &deployment_file, node_dir.path());
    in_step(&node, &devnet, &l1, Duration::from_secs(60)).await;

    // A batch L1 will forget.
    let snapshot: alloy::primitives::U256 = l1_client
        .provider()
        .raw_request("evm_snapshot".into(), ())
        .await
        .expect("evm_snapshot");
    let before = l1.head().await.expect("head");
    client
        .send_inference(signed(&info, &key, model, input_for(model, 1), 1))
        .await
        .expect("answered");
    let deadline = Instant::now() + Duration::from_secs(60);
    while l1.head().await.expect("head").batch_count == before.batch_count {
        assert!(Instant::now() < deadline, "no new batch");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let dropped_at = in_step(&node, &devnet, &l1, Duration::from_secs(60)).await;
    let dropped = block(&node.rpc, dropped_at).await.expect("block").header;

    // The reorg: L1 goes back to before the post.
    let reverted: bool = l1_client
        .provider()
        .raw_request("evm_revert".into(), (snapshot,))
        .await
        .expect("evm_revert");
    assert!(reverted);

    // The node drops the block L1 no longer holds and stays with L1's chain. (The
    // sequencer re-posts too, but this L1 client keeps the dropped transaction's nonce:
    // see the issue notes.)
    let deadline = Instant::now() + Duration::from_secs(60);
    let node_client = http_client(&node.rpc);
    loop {
        let height = node_client
            .block_number()
            .await
            .expect("blockNumber")
            .to::<u64>();
        let gone = block(&node.rpc, dropped_at).await.is_none();
        if height == before.next_block - 1 && gone {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the node did not follow the reorg"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let kept = block(&node.rpc, before.next_block - 1)
        .await
        .expect("kept block");
    assert_eq!(
        kept.header,
        block(&devnet.rpc, before.next_block - 1)
            .await
            .expect("block")
            .header,
        "the blocks L1 still holds are untouched"
    );
    let _ = dropped;
}
