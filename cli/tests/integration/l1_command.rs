//! `verdict l1` end to end: the real binary on a free port, driven by alloy over HTTP,
//! killed with SIGKILL and restarted on the same data dir.

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

/// Dev account 0 of the test mnemonic (anvil's first account).
const DEV_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

/// A running `verdict l1`, killed (SIGKILL) when dropped.
struct Running {
    child: Child,
    http: String,
}

impl Running {
    fn start(data_dir: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_verdict"))
            .args(["l1", "--port", "0", "--data-dir"])
            .arg(data_dir)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("verdict starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let http = loop {
            let line = lines
                .next()
                .expect("the banner names the HTTP endpoint")
                .expect("utf-8 stdout");
            if let Some(url) = line.strip_prefix("HTTP") {
                break url.trim().to_owned();
            }
        };
        // Keep reading, so the rest of the banner never meets a closed pipe.
        std::thread::spawn(move || lines.for_each(drop));
        assert!(http.starts_with("http://127.0.0.1:"), "{http}");
        assert!(!http.ends_with(":0"), "the bound port is printed: {http}");
        Self { child, http }
    }

    fn provider(&self) -> DynProvider {
        let signer: PrivateKeySigner = DEV_KEY.parse().expect("key");
        ProviderBuilder::new()
            .wallet(signer)
            .connect_http(self.http.parse().expect("url"))
            .erased()
    }

    /// SIGKILL: no chance to flush anything.
    fn kill(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn the_chain_survives_sigkill_and_restarts_on_the_same_data_dir() {
    let dir = tempfile::tempdir().expect("temp dir");
    let to = Address::repeat_byte(0x33);
    let value = U256::from(10).pow(U256::from(18));

    let running = Running::start(dir.path());
    let provider = running.provider();
    let receipt = provider
        .send_transaction(TransactionRequest::default().with_to(to).with_value(value))
        .await
        .expect("sent")
        .get_receipt()
        .await
        .expect("mined");
    assert!(receipt.status());
    let height = provider.get_block_number().await.expect("height");
    assert_eq!(height, 1);
    running.kill();

    let running = Running::start(dir.path());
    let provider = running.provider();
    assert_eq!(provider.get_block_number().await.expect("height"), height);
    assert_eq!(provider.get_balance(to).await.expect("balance"), value);
    let restored = provider
        .get_transaction_receipt(receipt.transaction_hash)
        .await
        .expect("rpc")
        .expect("the receipt survives the kill");
    assert_eq!(restored.block_hash, receipt.block_hash);
    assert_eq!(restored.gas_used, receipt.gas_used);
    // And the chain goes on from there.
    let next = provider
        .send_transaction(TransactionRequest::default().with_to(to).with_value(value))
        .await
        .expect("sent")
        .get_receipt()
        .await
        .expect("mined");
    assert_eq!(next.block_number, Some(height + 1));
    running.kill();
}

fn verdict(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args(args)
        .output()
        .expect("the verdict binary runs")
}

#[test]
fn help_explains_every_flag() {
    let out = verdict(&["l1", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--host",
        "--port",
        "--block-time",
        "--data-dir",
        "--chain-id",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
    assert!(help.contains("automine"), "{help}");
}

#[test]
fn a_zero_block_time_is_refused() {
    let out = verdict(&["l1", "--port", "0", "--block-time", "0"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--block-time"), "{stderr}");
}

/// `verdict l1 deploy` against a running `verdict l1`, a deposit through the bridge, then
/// SIGKILL and restart: the contracts, their storage and the deposit are all still there.
#[tokio::test]
async fn deployed_contracts_and_their_state_survive_a_kill() {
    use verdict_l1::client::signer::load_signer;
    use verdict_l1::client::{ClientConfig, L1Client};
    use verdict_l1::contracts::VerdictL1;
    use verdict_l1::deploy::Deployment;

    let dir = tempfile::tempdir().expect("temp dir");
    let chain_dir = dir.path().join("chain");
    let deployment_file = dir.path().join("deployment.json");
    let running = Running::start(&chain_dir);

    let out = verdict(&[
        "l1",
        "deploy",
        "--rpc",
        &running.http,
        "--key",
        DEV_KEY,
        "--dispute-window",
        "7",
        "--min-bond",
        "0.5",
        "--out",
        deployment_file.to_str().expect("utf-8 path"),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Rollup"), "{stdout}");
    let deployment = Deployment::read(&deployment_file).expect("deployment file");
    assert_eq!(deployment.dispute_window, 7);
    assert_eq!(
        deployment.min_bond,
        U256::from(5) * U256::from(10).pow(U256::from(17))
    );

    // A second deploy to the same file is refused unless forced.
    let again = verdict(&[
        "l1",
        "deploy",
        "--rpc",
        &running.http,
        "--key",
        DEV_KEY,
        "--out",
        deployment_file.to_str().expect("utf-8 path"),
    ]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));

    let connect = |url: String| async move {
        let signer = load_signer(DEV_KEY, None).expect("key");
        L1Client::connect(&url, Some(signer), ClientConfig::default())
            .await
            .expect("connect")
    };
    let l1 = VerdictL1::new(connect(running.http.clone()).await, deployment.clone()).expect("bind");
    let deposit = l1
        .deposit(Address::repeat_byte(0x44), U256::from(12345))
        .await
        .expect("deposit");
    let accumulator = l1.accumulator_at(1).await.expect("accumulator");
    let code = l1
        .client()
        .provider()
        .get_code_at(deployment.rollup)
        .await
        .expect("code");
    running.kill();

    let running = Running::start(&chain_dir);
    let l1 = VerdictL1::new(connect(running.http.clone()).await, deployment.clone()).expect("bind");
    assert_eq!(l1.deposit_count().await.expect("count"), 1);
    assert_eq!(
        l1.accumulator_at(1).await.expect("accumulator"),
        accumulator
    );
    let to = l1.client().block_number().await.expect("height");
    assert_eq!(
        l1.deposits(deployment.deployed_at_block, to)
            .await
            .expect("deposit logs"),
        vec![deposit]
    );
    let provider = l1.client().provider();
    assert_eq!(
        provider.get_code_at(deployment.rollup).await.expect("code"),
        code
    );
    running.kill();
}

#[test]
fn deploy_explains_bad_input() {
    let out = verdict(&[
        "l1",
        "deploy",
        "--rpc",
        "http://127.0.0.1:1",
        "--key",
        "0x1234",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("key"), "{stderr}");

    let help = verdict(&["l1", "deploy", "--help"]);
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--rpc",
        "--key",
        "--sequencer",
        "--dispute-window",
        "--min-bond",
        "--out",
    ] {
        assert!(text.contains(flag), "{flag} missing from:\n{text}");
    }
}
