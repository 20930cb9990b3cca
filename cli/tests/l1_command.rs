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
