//! Shared pieces of the L1 integration tests: Foundry's anvil (installed from npm by
//! `contracts/package.json` when missing) on a free loopback port, and the well-known
//! development keys.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The first accounts of the test mnemonic ("test test … junk"), as anvil and the
/// embedded chain fund them. Public knowledge; never use them on a real chain.
pub(crate) const DEV_KEYS: [&str; 4] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
];

/// The workspace root, found from whichever crate compiles this module (the CLI's tests
/// include it by path too): the first directory up that holds `Cargo.lock`.
fn repo_root() -> PathBuf {
    let start = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    start
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .unwrap_or_else(|| panic!("no Cargo.lock above {}", start.display()))
        .to_path_buf()
}

/// The anvil binary from `contracts/node_modules`, running `npm ci` there first if
/// needed (once per test process). The native binary inside the platform package is
/// used, not the `.bin/anvil` node launcher: killing the launcher would leave anvil
/// itself running after the test.
pub(crate) fn anvil_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            let contracts = repo_root().join("contracts");
            let launcher = contracts.join("node_modules/.bin/anvil");
            if !launcher.exists() {
                let status = Command::new("npm")
                    .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                    .current_dir(&contracts)
                    .status()
                    .expect("npm is needed to install anvil (scripts/setup.sh installs it)");
                assert!(status.success(), "npm ci in contracts/ failed");
            }
            native_anvil(&contracts).unwrap_or(launcher)
        })
        .clone()
}

/// `node_modules/@foundry-rs/anvil-<platform>/bin/anvil`, if there is one.
fn native_anvil(contracts: &std::path::Path) -> Option<PathBuf> {
    std::fs::read_dir(contracts.join("node_modules/@foundry-rs"))
        .ok()?
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("anvil-"))
        .map(|entry| entry.path().join("bin/anvil"))
        .find(|path| path.is_file())
}

/// A free loopback port (bound and released; a tiny race is acceptable in tests).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// An anvil process, killed on drop.
pub(crate) struct Anvil {
    child: Child,
    pub(crate) port: u16,
}

impl Anvil {
    /// Starts anvil (automine, chain id 31337) and waits until it accepts connections.
    pub(crate) fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts anvil with extra arguments (e.g. `["--block-time", "1"]`).
    pub(crate) fn start_with(extra: &[&str]) -> Self {
        let port = free_port();
        let child = Command::new(anvil_binary())
            .args([
                "--port",
                &port.to_string(),
                "--host",
                "127.0.0.1",
                "--silent",
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("anvil starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "anvil did not listen on {port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, port }
    }

    pub(crate) fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub(crate) fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// 1 ETH in wei, times `n`.
pub(crate) fn ether(n: u64) -> alloy::primitives::U256 {
    alloy::primitives::U256::from(n)
        * alloy::primitives::U256::from(10).pow(alloy::primitives::U256::from(18))
}

/// An L1 client signing with dev key `key`, polling fast (the embedded chain and anvil
/// answer in milliseconds).
pub(crate) async fn dev_client(url: &str, key: usize) -> verdict_l1::client::L1Client {
    use verdict_l1::client::{ClientConfig, L1Client};
    let signer = verdict_l1::client::signer::load_signer(DEV_KEYS[key], None).expect("dev key");
    let config = ClientConfig {
        receipt_timeout: Duration::from_secs(20),
        poll_interval: Duration::from_millis(20),
        ..ClientConfig::default()
    };
    L1Client::connect(url, Some(signer), config)
        .await
        .expect("connect")
}
