//! The bad-input table, one test per row, against a real `verdict devnet`: each bad
//! request gets a clear error with its stable code, nothing is recorded, and the chain
//! keeps serving (a good request from the same sender succeeds right after).
//!
//! The rows share one devnet (starting one takes seconds); each row uses its own sender,
//! so rows cannot disturb each other's nonces.

use crate::support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::OnceLock;

use alloy::primitives::{Bytes, U256};
use jsonrpsee::core::ClientError;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use verdict_rpc::VerdictApiClient;
use verdict_rpc::types::{ChainInfo, ModelJson};
use verdict_specs::Tensor;

use support::{Devnet, dev_key, input_for, signed};

struct Shared {
    devnet: Devnet,
    dir: tempfile::TempDir,
}

/// The shared devnet's data dir.
fn devnet_dir() -> &'static std::path::Path {
    devnet();
    shared().dir.path()
}

/// The one devnet of this test binary (tests run on threads of one process).
fn devnet() -> &'static Devnet {
    &shared().devnet
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let devnet = Devnet::start(
            dir.path(),
            &["--block-time", "0.2", "--batch-interval", "2"],
        );
        Shared { devnet, dir }
    })
}

/// Serializes rows that need exclusive use of an account.
static LOCK: Mutex<()> = Mutex::const_new(());

async fn setup() -> (ChainInfo, ModelJson) {
    let client = devnet().client();
    let info = client.chain_info().await.expect("chainInfo");
    let model = client
        .get_model("digits-mlp".into())
        .await
        .expect("getModel")
        .expect("served");
    (info, model)
}

/// Asserts a call failed with `code` and a message containing `words`.
fn assert_refused<T: std::fmt::Debug>(result: Result<T, ClientError>, code: i32, words: &str) {
    match result {
        Err(ClientError::Call(e)) => {
            assert_eq!(e.code(), code, "{}", e.message());
            assert!(
                e.message().contains(words),
                "message {:?} should mention {words:?}",
                e.message()
            );
        }
        other => panic!("expected error {code}, got {other:?}"),
    }
}

/// The chain is unharmed: the sender's nonce did not move, and its next good request is
/// answered.
async fn still_serving(info: &ChainInfo, model: &ModelJson, account: usize, nonce: u64) {
    let client = devnet().client();
    let key = dev_key(account);
    let state = client.get_account(key.address()).await.expect("getAccount");
    assert_eq!(
        state.nonce.to::<u64>(),
        nonce,
        "a refused request must not use a nonce"
    );
    let good = signed(info, &key, model, input_for(model, 99), nonce);
    let receipt = client
        .send_inference(good)
        .await
        .expect("a good request right after");
    assert_eq!(receipt.output.len(), 1);
}

#[tokio::test]
async fn bad_signature() {
    let (info, model) = setup().await;
    let key = dev_key(2);
    let mut request = signed(&info, &key, &model, input_for(&model, 1), 0);
    // Signed by someone else.
    let other = signed(&info, &dev_key(3), &model, input_for(&model, 1), 0);
    request.signature = other.signature.clone();
    assert_refused(
        devnet().client().send_inference(request.clone()).await,
        1001,
        "not the sender",
    );
    // Not a signature at all.
    request.signature = Bytes::from(vec![0u8; 65]);
    assert_refused(
        devnet().client().send_inference(request.clone()).await,
        1001,
        "signature",
    );
    request.signature = Bytes::from(vec![1u8; 64]);
    assert_refused(
        devnet().client().send_inference(request).await,
        1000,
        "65 bytes",
    );
    still_serving(&info, &model, 2, 0).await;
}

#[tokio::test]
async fn replayed_nonce() {
    let _guard = LOCK.lock().await;
    let (info, model) = setup().await;
    let key = dev_key(4);
    let client = devnet().client();
    let first = signed(&info, &key, &model, input_for(&model, 2), 0);
    client
        .send_inference(first.clone())
        .await
        .expect("first use");
    assert_refused(client.send_inference(first).await, 1002, "already used");
    still_serving(&info, &model, 4, 1).await;
}

#[tokio::test]
async fn future_nonce() {
    let (info, model) = setup().await;
    let request = signed(&info, &dev_key(5), &model, input_for(&model, 3), 7);
    assert_refused(
        devnet().client().send_inference(request).await,
        1003,
        "ahead",
    );
    still_serving(&info, &model, 5, 0).await;
}

#[tokio::test]
async fn unknown_model() {
    let (info, model) = setup().await;
    let mut other = model.clone();
    other.id = alloy::primitives::B256::repeat_byte(0xab);
    let request = signed(&info, &dev_key(6), &other, input_for(&model, 4), 0);
    assert_refused(
        devnet().client().send_inference(request).await,
        1004,
        "no model",
    );
    still_serving(&info, &model, 6, 0).await;
}

#[tokio::test]
async fn wrong_input_shape() {
    let (info, model) = setup().await;
    let input = Tensor::from_i8(vec![8, 8], vec![1; 64]).expect("tensor");
    let request = signed(&info, &dev_key(7), &model, input, 0);
    assert_refused(
        devnet().client().send_inference(request).await,
        1005,
        "shape",
    );
    let input = Tensor::from_i32(vec![64], vec![1; 64]).expect("tensor");
    let request = signed(&info, &dev_key(7), &model, input, 0);
    assert_refused(devnet().client().send_inference(request).await, 1005, "i8");
    still_serving(&info, &model, 7, 0).await;
}

#[tokio::test]
async fn out_of_range_input() {
    let (info, model) = setup().await;
    let mut data = vec![0i8; 64];
    data[5] = i8::MIN;
    let input = Tensor::from_i8(vec![64], data).expect("tensor");
    let request = signed(&info, &dev_key(8), &model, input, 0);
    assert_refused(
        devnet().client().send_inference(request).await,
        1006,
        "element 5",
    );
    still_serving(&info, &model, 8, 0).await;
}

#[tokio::test]
async fn max_fee_too_low() {
    let (info, model) = setup().await;
    let mut cheap = model.clone();
    cheap.fee_per_inference -= U256::from(1);
    let request = signed(&info, &dev_key(9), &cheap, input_for(&model, 5), 0);
    assert_refused(
        devnet().client().send_inference(request).await,
        1007,
        "below the fee",
    );
    still_serving(&info, &model, 9, 0).await;
}

#[tokio::test]
async fn insufficient_balance() {
    let (info, model) = setup().await;
    // A fresh key: valid signature, no L2 balance.
    let key = alloy::signers::local::PrivateKeySigner::random();
    let request = signed(&info, &key, &model, input_for(&model, 6), 0);
    assert_refused(
        devnet().client().send_inference(request).await,
        2001,
        "deposit",
    );
    let state = devnet()
        .client()
        .get_account(key.address())
        .await
        .expect("getAccount");
    assert_eq!(state.nonce.to::<u64>(), 0);
    assert_eq!(state.balance, U256::ZERO);
}

/// One raw HTTP POST; returns the status code and the body.
fn post(body: &[u8]) -> (u16, String) {
    let url = devnet()
        .rpc
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let mut stream = TcpStream::connect(&url).expect("connects");
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {url}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("head");
    // The server may answer (413) before reading a large body; a reset is fine then.
    let _ = stream.write_all(body);
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("an HTTP status line");
    let body = response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    (status, body)
}

fn error_code(body: &str) -> i64 {
    let value: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    value["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("no error code in {body}"))
}

#[tokio::test]
async fn oversized_request() {
    let (info, model) = setup().await;
    let huge = json!({"jsonrpc": "2.0", "id": 1, "method": "verdict_sendInference",
        "params": [{"padding": "x".repeat(2 << 20)}]});
    let (status, body) = post(huge.to_string().as_bytes());
    assert_eq!(status, 413, "{body}");
    assert_eq!(error_code(&body), -32007, "{body}");
    still_serving(
        &info,
        &model,
        1,
        devnet()
            .client()
            .get_account(dev_key(1).address())
            .await
            .expect("account")
            .nonce
            .to::<u64>(),
    )
    .await;
}

#[tokio::test]
async fn malformed_json() {
    let (info, model) = setup().await;
    let (_, body) = post(br#"{"jsonrpc": "2.0", "id": 1, "method": "verdict_sendInf"#);
    assert_eq!(error_code(&body), -32700, "{body}");
    let (_, body) = post(br#"{"jsonrpc":"2.0","id":1,"method":"verdict_sendInference","params":[{"sender":"0x12"}]}"#);
    assert_eq!(
        error_code(&body),
        -32602,
        "wrong params are invalid params: {body}"
    );
    still_serving(&info, &model, 3, 0).await;
}

#[tokio::test]
async fn unknown_method() {
    let (_, body) =
        post(br#"{"jsonrpc":"2.0","id":1,"method":"verdict_doesNotExist","params":[]}"#);
    assert_eq!(error_code(&body), -32601, "{body}");
    let (_, body) = post(br#"{"jsonrpc":"2.0","id":2,"method":"verdict_blockNumber","params":[]}"#);
    let value: Value = serde_json::from_str(&body).expect("json");
    assert!(
        value["result"]
            .as_str()
            .is_some_and(|s| s.starts_with("0x")),
        "{body}"
    );
}

/// The OpenRPC document the real server serves names exactly its methods.
#[tokio::test]
async fn rpc_discover_describes_the_real_server() {
    let (_, body) = post(br#"{"jsonrpc":"2.0","id":1,"method":"rpc.discover","params":[]}"#);
    let value: Value = serde_json::from_str(&body).expect("json");
    let mut documented: Vec<String> = value["result"]["methods"]
        .as_array()
        .expect("methods")
        .iter()
        .filter_map(|m| m["name"].as_str().map(str::to_string))
        .collect();
    documented.sort();
    for method in &documented {
        if method == "verdict_subscribe" || method == "verdict_unsubscribe" {
            continue; // WebSocket only
        }
        let request = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": []});
        let (_, body) = post(request.to_string().as_bytes());
        let answer: Value = serde_json::from_str(&body).expect("json");
        assert_ne!(
            answer["error"]["code"].as_i64(),
            Some(-32601),
            "{method} is documented but not served"
        );
    }
    assert!(
        documented.contains(&"verdict_sendInference".to_string()),
        "{documented:?}"
    );
}

/// `verdict_getModelFile` serves the bytes of every served model in chunks that join to
/// a file decoding to the very id asked for; an offset past the end is a clear error and
/// an unknown model is null.
#[tokio::test]
async fn model_files_are_served_in_chunks_that_match_their_id() {
    let client = devnet().client();
    for model in client.models().await.expect("models") {
        let mut bytes = Vec::new();
        let mut offset = Some(alloy::primitives::U64::ZERO);
        while let Some(at) = offset {
            let chunk = client
                .get_model_file(
                    format!("{}", model.id),
                    Some(at),
                    Some(alloy::primitives::U64::from(4096)),
                )
                .await
                .expect("getModelFile")
                .expect("served");
            assert_eq!(chunk.id, model.id);
            assert_eq!(chunk.offset, at);
            assert!(chunk.data.len() <= 4096);
            bytes.extend_from_slice(&chunk.data);
            offset = chunk.next_offset;
            assert_eq!(
                offset.is_none(),
                bytes.len() as u64 == chunk.total_bytes.to::<u64>()
            );
        }
        let decoded = verdict_specs::Model::decode(&bytes).expect("the file decodes");
        assert_eq!(
            alloy::primitives::B256::from(decoded.id().id),
            model.id,
            "{}",
            model.name
        );
    }
    let whole = client
        .get_model_file("digits-mlp".into(), None, None)
        .await
        .expect("getModelFile")
        .expect("served");
    assert_eq!(
        whole.next_offset, None,
        "the default length holds a small model"
    );
    assert_refused(
        client
            .get_model_file(
                "digits-mlp".into(),
                Some(whole.total_bytes + alloy::primitives::U64::from(1)),
                None,
            )
            .await,
        1000,
        "beyond",
    );
    assert_eq!(
        client
            .get_model_file("no-such-model".into(), None, None)
            .await
            .expect("getModelFile"),
        None
    );
}

/// `verdict_prepareInference` from float features: the typed data hashes (as any
/// `eth_signTypedData_v4` wallet hashes it) to the announced digest, the request signed
/// that way is accepted, and its output is what `verdict model run` gives on the same
/// features. Bad features and fees get clear errors.
#[tokio::test]
async fn a_prepared_inference_signed_as_typed_data_is_accepted() {
    use alloy::signers::SignerSync;
    let _exclusive = LOCK.lock().await;
    let client = devnet().client();
    // Account 0 is no other row's.
    let key = dev_key(0);
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/inputs/test-row-0.json"
    );
    let features: Vec<f64> =
        serde_json::from_str(&std::fs::read_to_string(path).expect("features")).expect("numbers");
    let prepared = client
        .prepare_inference(
            "digits-mlp".into(),
            key.address(),
            features.clone(),
            None,
            None,
        )
        .await
        .expect("prepareInference");
    let typed: alloy::dyn_abi::TypedData =
        serde_json::from_value(prepared.typed_data.clone()).expect("eth_signTypedData_v4 form");
    assert_eq!(
        typed.eip712_signing_hash().expect("hashes"),
        prepared.request_hash
    );
    let signature = key
        .sign_dynamic_typed_data_sync(&typed)
        .expect("a wallet signs");
    let r = prepared.request;
    let receipt = client
        .send_inference(verdict_rpc::types::SignedRequestJson {
            sender: r.sender,
            nonce: r.nonce,
            model_id: r.model_id,
            input: r.input.clone(),
            max_fee: r.max_fee,
            signature: Bytes::copy_from_slice(&signature.as_bytes()),
        })
        .await
        .expect("the prepared request is accepted");
    let (_, bytes) = verdict_devnet::DEMO_MODELS
        .iter()
        .find(|(name, _)| *name == "digits-mlp")
        .expect("a demo model");
    let model = verdict_specs::Model::decode(bytes).expect("decodes");
    let input = verdict_specs::quantize::quantize_input(&model.graph().input, &features)
        .expect("quantizes");
    assert_eq!(r.input, input, "quantized as verdict model run does");
    let output = verdict_specs::interpreter::run(&model, &input).expect("runs");
    assert_eq!(receipt.output, output);

    assert_refused(
        client
            .prepare_inference("digits-mlp".into(), key.address(), vec![0.5; 3], None, None)
            .await,
        1005,
        "64 input features",
    );
    assert_refused(
        client
            .prepare_inference(
                "no-such-model".into(),
                key.address(),
                features.clone(),
                None,
                None,
            )
            .await,
        1004,
        "no-such-model",
    );
    assert_refused(
        client
            .prepare_inference(
                "digits-mlp".into(),
                key.address(),
                features,
                None,
                Some(U256::MAX),
            )
            .await,
        1000,
        "2^128",
    );
}

/// A loopback RPC server that answers `verdict_getModelFile` with the bytes of `bytes`
/// whatever model is asked for: a source serving the wrong file.
async fn lying_source(bytes: Vec<u8>) -> (String, jsonrpsee::server::ServerHandle) {
    let server = jsonrpsee::server::Server::builder()
        .build("127.0.0.1:0")
        .await
        .expect("binds");
    let url = format!("http://{}", server.local_addr().expect("address"));
    let mut module = jsonrpsee::RpcModule::new(bytes);
    module
        .register_method("verdict_getModelFile", |_, bytes, _| {
            json!({
                "id": format!("0x{}", "00".repeat(32)),
                "totalBytes": format!("{:#x}", bytes.len()),
                "offset": "0x0",
                "data": format!("0x{}", alloy::hex::encode(bytes.as_slice())),
                "nextOffset": null,
            })
        })
        .expect("registers");
    (url, server.start(module))
}

/// A registered model a node lacks comes from the first source whose bytes decode to
/// its id: a source serving another model's bytes is skipped with its reason, and with
/// no good source the error names every source tried. Fetched files are cached by id.
#[tokio::test]
async fn model_files_are_fetched_from_sources_and_checked_against_their_id() {
    use verdict_models::fetch::{load_cached, store_cached};
    let devnet_url = devnet().rpc.clone();
    let models = devnet().client().models().await.expect("models");
    let mlp = models
        .iter()
        .find(|m| m.name == "digits-mlp")
        .expect("served");
    let cnn = models
        .iter()
        .find(|m| m.name == "digits-cnn")
        .expect("served");
    let cnn_bytes = {
        let (_, bytes) = verdict_devnet::DEMO_MODELS
            .iter()
            .find(|(name, _)| *name == "digits-cnn")
            .expect("a demo model");
        verdict_specs::Model::decode(bytes)
            .expect("decodes")
            .encode()
    };
    let (liar, _liar_handle) = lying_source(cnn_bytes).await;
    let limit = 64 << 20;

    let fetched = verdict_models::fetch_model(&[liar.clone(), devnet_url.clone()], mlp.id.0, limit)
        .await
        .expect("the second source serves it");
    assert_eq!(fetched.source, devnet_url);
    assert_eq!(alloy::primitives::B256::from(fetched.model.id().id), mlp.id);

    let refused = verdict_models::fetch_model(std::slice::from_ref(&liar), mlp.id.0, limit)
        .await
        .expect_err("the liar's bytes are another model's");
    let why = refused.to_string();
    assert!(
        why.contains(&liar)
            && why.contains(&cnn.id.to_string())
            && why.contains("not of the model asked for"),
        "{why}"
    );
    let none = verdict_models::fetch_model(&[], mlp.id.0, limit)
        .await
        .expect_err("no source");
    assert!(
        none.to_string().contains("no source is configured"),
        "{none}"
    );
    let small = verdict_models::fetch_model(std::slice::from_ref(&devnet_url), mlp.id.0, 100)
        .await
        .expect_err("over the limit");
    assert!(small.to_string().contains("limit"), "{small}");
    let unknown = verdict_models::fetch_model(std::slice::from_ref(&devnet_url), [3; 32], limit)
        .await
        .expect_err("nobody serves it");
    assert!(
        unknown.to_string().contains("does not serve the model"),
        "{unknown}"
    );

    // The cache: written whole under the id, read back only if it is that model.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = store_cached(dir.path(), &fetched).expect("cached");
    assert!(load_cached(dir.path(), mlp.id.0).is_some());
    std::fs::write(&path, b"not a model").expect("overwrite");
    assert!(
        load_cached(dir.path(), mlp.id.0).is_none(),
        "a bad cache file is ignored"
    );
}

/// A plain HTTP server on loopback answering `GET /models/NAME` with the file NAME of
/// `dir` (404 otherwise): a directory source.
fn directory_source(dir: std::path::PathBuf) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let url = format!("http://{}/models", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            let n = stream.read(&mut request).unwrap_or(0);
            let line = String::from_utf8_lossy(&request[..n]).to_string();
            let path = line.split_whitespace().nth(1).unwrap_or("/");
            let file = path
                .strip_prefix("/models/")
                .filter(|name| !name.contains('/') && !name.contains(".."))
                .and_then(|name| std::fs::read(dir.join(name)).ok());
            let _ = match file {
                Some(body) => write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .and_then(|()| stream.write_all(&body)),
                None => write!(
                    stream,
                    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                ),
            };
        }
    });
    url
}

fn demo_bytes(name: &str) -> Vec<u8> {
    let (_, bytes) = verdict_devnet::DEMO_MODELS
        .iter()
        .find(|(n, _)| *n == name)
        .expect("a demo model");
    verdict_specs::Model::decode(bytes)
        .expect("decodes")
        .encode()
}

/// A plain HTTP directory of `0x<id>.vdm` files is a source (and a URL with `{id}` a
/// template); a file under one id holding another model's bytes is refused, and the
/// directory is asked only after the URL fails as an RPC endpoint.
#[tokio::test]
async fn a_directory_of_files_by_id_is_a_model_source() {
    let mlp = verdict_specs::Model::decode(&demo_bytes("digits-mlp")).expect("decodes");
    let cnn = verdict_specs::Model::decode(&demo_bytes("digits-cnn")).expect("decodes");
    let (mlp_id, cnn_id) = (mlp.id().id, cnn.id().id);
    let dir = tempfile::tempdir().expect("tempdir");
    let name = |id: &[u8; 32]| format!("{}.vdm", alloy::primitives::B256::from(*id));
    std::fs::write(dir.path().join(name(&mlp_id)), demo_bytes("digits-mlp")).expect("write");
    // The file named for the CNN holds the MLP: a directory that lies.
    std::fs::write(dir.path().join(name(&cnn_id)), demo_bytes("digits-mlp")).expect("write");
    let url = directory_source(dir.path().to_path_buf());
    let limit = 64 << 20;

    let fetched = verdict_models::fetch_model(std::slice::from_ref(&url), mlp_id, limit)
        .await
        .expect("the directory serves it");
    assert_eq!(fetched.model.id().id, mlp_id);
    assert_eq!(fetched.source, url);
    let template = format!("{url}/{{id}}.vdm");
    let fetched = verdict_models::fetch_model(std::slice::from_ref(&template), mlp_id, limit)
        .await
        .expect("the template serves it");
    assert_eq!(fetched.model.id().id, mlp_id);

    let lie = verdict_models::fetch_model(std::slice::from_ref(&url), cnn_id, limit)
        .await
        .expect_err("the file is another model's");
    assert!(
        lie.to_string().contains("not of the model asked for"),
        "{lie}"
    );
    // The lying directory first, a node that has it next: the node's bytes are used.
    let fetched = verdict_models::fetch_model(&[url.clone(), devnet().rpc.clone()], cnn_id, limit)
        .await
        .expect("the second source");
    assert_eq!(fetched.source, devnet().rpc);
    let missing = verdict_models::fetch_model(std::slice::from_ref(&url), [9; 32], limit)
        .await
        .expect_err("no such file");
    assert!(missing.to_string().contains("404"), "{missing}");
    let small = verdict_models::fetch_model(std::slice::from_ref(&url), mlp_id, 100)
        .await
        .expect_err("over the limit");
    assert!(small.to_string().contains("limit"), "{small}");
}

/// `verdict_uploadModelFile` takes only a registered id's bytes, in order, within the
/// size limit, and keeps them only if they are that model: then the sequencer stores
/// and serves it.
#[tokio::test]
async fn uploads_are_taken_only_for_registered_ids_whose_bytes_they_are() {
    use alloy::primitives::{B256, U64};
    let client = devnet().client();
    let vectors: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/vectors/models.json"),
        )
        .expect("models.json"),
    )
    .expect("JSON");
    let case = vectors
        .as_array()
        .and_then(|cases| cases.iter().find(|c| c["name"] == "small_cnn"))
        .expect("the small CNN vector");
    let bytes = alloy::hex::decode(case["model_hex"].as_str().expect("hex")).expect("hex");
    let model = verdict_specs::Model::decode(&bytes).expect("decodes");
    let id = B256::from(model.id().id);
    let len = |n: usize| U64::from(n);

    assert_refused(
        client
            .upload_model_file(id, len(0), len(bytes.len()), Bytes::from(bytes.clone()))
            .await,
        1004,
        "not registered",
    );
    assert_refused(
        client
            .upload_model_file(id, len(0), len(1 << 40), Bytes::from(bytes.clone()))
            .await,
        1008,
        "size limit",
    );

    let deployment = verdict_l1::deploy::Deployment::read(&devnet_dir().join("deployment.json"))
        .expect("deployment");
    let l1_client = verdict_l1::client::L1Client::connect(
        &devnet().l1_rpc,
        Some(dev_key(6)),
        verdict_l1::client::ClientConfig::default(),
    )
    .await
    .expect("L1");
    let l1 = verdict_l1::contracts::VerdictL1::new(l1_client, deployment).expect("binds");
    l1.register_model(&verdict_l1::contracts::ModelRegistration::of(
        &model,
        "uploaded-small-cnn",
        U256::from(5),
    ))
    .await
    .expect("registers");

    let other = demo_bytes("digits-mlp");
    assert_refused(
        client
            .upload_model_file(id, len(0), len(other.len()), Bytes::from(other))
            .await,
        1008,
        "not model",
    );
    assert_refused(
        client
            .upload_model_file(
                id,
                len(5),
                len(bytes.len()),
                Bytes::from(bytes[5..].to_vec()),
            )
            .await,
        1008,
        "start at offset 0",
    );
    let half = bytes.len() / 2;
    let first = client
        .upload_model_file(
            id,
            len(0),
            len(bytes.len()),
            Bytes::from(bytes[..half].to_vec()),
        )
        .await
        .expect("the first half");
    assert_eq!((first.received_bytes, first.complete), (len(half), false));
    assert_refused(
        client
            .upload_model_file(id, len(half + 1), len(bytes.len()), Bytes::from(vec![0]))
            .await,
        1008,
        "is at byte",
    );
    let done = client
        .upload_model_file(
            id,
            len(half),
            len(bytes.len()),
            Bytes::from(bytes[half..].to_vec()),
        )
        .await
        .expect("the second half");
    assert!(done.complete, "{done:?}");
    let stored = devnet_dir()
        .join("sequencer/models")
        .join(format!("{id}.vdm"));
    assert_eq!(std::fs::read(&stored).expect("stored by id"), bytes);
    let again = client
        .upload_model_file(
            id,
            len(0),
            len(bytes.len()),
            Bytes::from(bytes[..1].to_vec()),
        )
        .await
        .expect("a file the node holds");
    assert!(again.complete);

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(chunk) = client
            .get_model_file(id.to_string(), None, None)
            .await
            .expect("getModelFile")
        {
            assert_eq!(chunk.data.as_ref(), bytes.as_slice());
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the sequencer serves the uploaded model"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
