//! A client this project did not write, ethers v6 from npm (installed here by `npm ci`
//! in `node/l1/tests/clients/ethers` when missing), talks to the embedded chain: chain id,
//! balances, a signed transfer, a deposit to the `Bridge`, its receipt and its logs.

use crate::support;

use alloy::primitives::U256;
use std::path::PathBuf;
use std::process::Command;
use support::DEV_KEYS;
use verdict_devchain::{DevChain, DevChainConfig};
use verdict_l1::client::signer::load_signer;
use verdict_l1::client::{ClientConfig, L1Client};
use verdict_l1::deploy::{DeployParams, deploy};

fn ethers_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/ethers");
    if !dir.join("node_modules/ethers").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .status()
            .expect("npm is needed to install ethers (scripts/setup.sh installs it)");
        assert!(status.success(), "npm ci in {} failed", dir.display());
    }
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ethers_talks_to_the_embedded_chain() {
    let dir = ethers_dir();
    let chain = DevChain::open(DevChainConfig::default()).expect("chain");
    let (_, server) = chain
        .serve("127.0.0.1:0".parse().expect("address"))
        .await
        .expect("serve");
    let signer = load_signer(DEV_KEYS[0], None).expect("key");
    let client = L1Client::connect(&server.http_url(), Some(signer), ClientConfig::default())
        .await
        .expect("connect");
    let params = DeployParams {
        sequencer: client.sender().expect("signer"),
        dispute_window: 5,
        min_bond: U256::from(1),
        challenger_bond: U256::from(1),
        clock_blocks: 10,
        inclusion_deadline: 64,
    };
    let deployment = deploy(&client, &params).await.expect("deploy");

    let url = server.http_url();
    let bridge = deployment.bridge.to_string();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .args(["client.mjs", &url, DEV_KEYS[1], &bridge])
            .current_dir(&dir)
            .output()
            .expect("node runs")
    })
    .await
    .expect("joined");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "ethers client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");

    assert_eq!(seen["chainId"], 31337);
    assert_eq!(seen["transferStatus"], 1);
    assert_eq!(seen["transferGasUsed"], "21000");
    assert_eq!(seen["recipientBalance"], "250000000000000000");
    assert_eq!(seen["depositStatus"], 1);
    assert_eq!(seen["depositEvents"][0]["index"], 0);
    assert_eq!(seen["depositEvents"][0]["amount"], "1500000000000000000");
    assert_eq!(seen["queriedLogs"], 1);
    assert_eq!(seen["depositCount"], 1);
    let before: U256 = seen["balanceBefore"]
        .as_str()
        .expect("string")
        .parse()
        .expect("number");
    let after: U256 = seen["balanceAfter"]
        .as_str()
        .expect("string")
        .parse()
        .expect("number");
    let spent = before - after;
    let moved = U256::from(1_750_000_000_000_000_000u64);
    assert!(
        spent > moved,
        "gas was paid on top of the value moved: {spent}"
    );
    let block_number = seen["blockNumber"].as_u64().expect("number");
    assert_eq!(block_number, chain.latest_block().number, "eth_blockNumber");

    // What ethers did is what the chain holds.
    let recipient: alloy::primitives::Address = seen["recipient"]
        .as_str()
        .expect("string")
        .parse()
        .expect("address");
    assert_eq!(
        client.balance(recipient).await.expect("balance"),
        U256::from(250_000_000_000_000_000u64)
    );
}
