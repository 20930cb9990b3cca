//! Shared pieces of the CLI's end-to-end tests: `verdict devnet` and `verdict sequencer`
//! as real processes, anvil (through node's test support), and request signing.

#![allow(dead_code)]

#[path = "../../../../node/l1/tests/integration/support/mod.rs"]
pub(crate) mod anvil;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use alloy::signers::local::PrivateKeySigner;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use verdict_devchain::DevAccounts;
use verdict_rpc::signing::{domain_of, sign_request_json};
use verdict_rpc::types::{ChainInfo, ModelJson, SignedRequestJson};
use verdict_specs::Tensor;
use verdict_specs::l2::request::InferenceRequest;

/// A running `verdict devnet`, killed (SIGKILL) when dropped.
pub(crate) struct Devnet {
    pub(crate) child: Child,
    pub(crate) rpc: String,
    pub(crate) l1_rpc: String,
    /// Every stdout line after the banner (the block and batch log).
    pub(crate) log: Arc<Mutex<Vec<String>>>,
}

impl Devnet {
    /// Starts `verdict devnet --data-dir DIR --rpc-port 0 --l1-port 0 ARGS…` and waits
    /// for its banner.
    pub(crate) fn start(data_dir: &Path, args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_verdict"))
            .args([
                "devnet",
                "--stop-on-stdin-eof",
                "--rpc-port",
                "0",
                "--l1-port",
                "0",
                "--data-dir",
            ])
            .arg(data_dir)
            .args(args)
            // VERDICT_TEST_LOG=info shows the devnet's whole log when a test needs it.
            .env(
                "RUST_LOG",
                std::env::var("VERDICT_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            // The devnet stops when this pipe closes, i.e. when the test process exits,
            // even if this handle is never dropped (a static shared by several tests).
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("verdict devnet starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let (mut rpc, mut l1_rpc) = (String::new(), String::new());
        loop {
            let line = lines
                .next()
                .expect("the devnet prints its banner (see stderr for why it stopped)")
                .expect("utf-8");
            if let Some(url) = line.strip_prefix("L2 RPC") {
                rpc = url.trim().to_string();
            }
            if let Some(url) = line.strip_prefix("L1 RPC") {
                l1_rpc = url.trim().to_string();
            }
            if line.starts_with("Ctrl-C") {
                break;
            }
        }
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.lock().map(|mut l| l.push(line)).ok();
            }
        });
        assert!(rpc.starts_with("http://127.0.0.1:"), "{rpc}");
        Self {
            child,
            rpc,
            l1_rpc,
            log,
        }
    }

    pub(crate) fn client(&self) -> HttpClient {
        http_client(&self.rpc)
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn http_client(url: &str) -> HttpClient {
    HttpClientBuilder::default()
        .request_timeout(std::time::Duration::from_secs(60))
        .build(url)
        .expect("client")
}

/// Dev account `i` of the test mnemonic.
pub(crate) fn dev_key(i: usize) -> PrivateKeySigner {
    DevAccounts::default().derive().expect("dev keys")[i].clone()
}

/// A deterministic pseudo-random input for `model`: int8 in [-127, 127], or for an i32
/// input the same values spread over ±2^30 (a tree model's quantized features).
pub(crate) fn input_for(model: &ModelJson, seed: u64) -> Tensor {
    let count: usize = model.input_shape.iter().map(|&d| d as usize).product();
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let data = (0..count)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 255) as i64 - 127
        })
        .collect::<Vec<i64>>();
    if model.input_dtype == "i32" {
        let wide = data.iter().map(|&v| (v << 23) as i32).collect();
        return Tensor::from_i32(model.input_shape.clone(), wide).expect("input");
    }
    let narrow = data.iter().map(|&v| v as i8).collect();
    Tensor::from_i8(model.input_shape.clone(), narrow).expect("input")
}

/// A signed request of `signer` at `nonce`.
pub(crate) fn signed(
    info: &ChainInfo,
    signer: &PrivateKeySigner,
    model: &ModelJson,
    input: Tensor,
    nonce: u64,
) -> SignedRequestJson {
    let request = InferenceRequest {
        sender: signer.address().into_array(),
        nonce,
        model_id: model.id.0,
        input,
        max_fee: model.fee_per_inference.to::<u128>(),
    };
    sign_request_json(signer, request, &domain_of(info)).expect("signs")
}

/// A plain HTTP GET of `path` on `base` (`http://host:port`): the raw response.
pub(crate) fn http_get(base: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let host = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(host).expect("connects");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    response
}
