//! The RPC server on a loopback port: the OpenRPC document against the methods really
//! served (names, parameter names and order, result shapes), `rpc.discover`, `/metrics`,
//! `/health`, CORS, the request, batch, connection and subscription limits, and
//! subscriptions over WebSocket.
//!
//! The `VerdictApiServer` here gives canned answers and records the arguments it decoded;
//! the sequencer's real implementation is tested in its own crate.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::primitives::{Address, B256, Bytes, U64, U256, address};
use jsonrpsee::PendingSubscriptionSink;
use jsonrpsee::core::client::{ClientT, Error as ClientError, SubscriptionClientT};
use jsonrpsee::core::params::{ArrayParams, ObjectParams};
use jsonrpsee::core::{RpcResult, SubscriptionResult};
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::rpc_params;
use jsonrpsee::ws_client::{WsClient, WsClientBuilder};
use regex::Regex;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::broadcast;
use verdict_rpc::api::BlockTag;
use verdict_rpc::server::{OPENRPC_JSON, openrpc_document};
use verdict_rpc::types::{
    AccountJson, BatchJson, BlockHeaderJson, BlockJson, BlockRecords, ChainInfo, InclusionProof,
    InferenceJson, InferenceReceipt, ModelFileChunk, ModelJson, ModelUploadJson, PreparedInference,
    RecordJson, SignedRequestJson, SignedWithdrawalJson, Status, SubscriptionEvent,
    SubscriptionKind, UnsignedRequestJson, WithdrawalInclusion, WithdrawalJson, WithdrawalReceipt,
};
use verdict_rpc::{
    ErrorCode, MetricsRender, RpcError, RpcServer, RpcServerConfig, VerdictApiClient,
    VerdictApiServer, serve,
};
use verdict_specs::Tensor;

// ---------------------------------------------------------------------------------------
// A canned implementation of the API.

/// Canned answers; every call records the arguments as the server decoded them.
#[derive(Clone)]
struct Canned {
    calls: Arc<Mutex<Vec<(&'static str, Value)>>>,
    events: broadcast::Sender<(SubscriptionKind, SubscriptionEvent)>,
}

impl Canned {
    fn new() -> Self {
        Self {
            calls: Arc::default(),
            events: broadcast::channel(64).0,
        }
    }

    fn record(&self, method: &'static str, args: Value) {
        self.calls
            .lock()
            .expect("no test thread panicked holding the lock")
            .push((method, args));
    }

    /// The arguments of the latest call of `method`.
    fn last_args(&self, method: &str) -> Value {
        let calls = self.calls.lock().expect("lock");
        calls
            .iter()
            .rev()
            .find(|(m, _)| *m == method)
            .map(|(_, args)| args.clone())
            .unwrap_or_else(|| panic!("{method} was never called"))
    }
}

fn hash(byte: u8) -> B256 {
    B256::repeat_byte(byte)
}

const SENDER: Address = address!("0x70997970c51812dc3a010c7d01b50e0d17dc79c8");
const RECIPIENT: Address = address!("0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc");

fn header(number: u64) -> BlockHeaderJson {
    BlockHeaderJson {
        number: U64::from(number),
        hash: hash(0xbb),
        parent_hash: hash(0xaa),
        timestamp: U64::from(1_716_580_000u64),
        records_root: hash(0xcc),
        state_root: hash(0xdd),
        deposits_consumed: U64::from(3),
        withdrawals_root: B256::ZERO,
        record_count: U64::from(2),
        withdrawal_count: U64::ZERO,
        l1_origin: U64::from(7),
    }
}

fn output() -> Tensor {
    Tensor::from_i32(vec![1, 3], vec![-1022, 4113, 87]).expect("a valid tensor")
}

fn record() -> RecordJson {
    RecordJson {
        record_hash: hash(0xee),
        request_hash: hash(0xff),
        sender: SENDER,
        nonce: U64::from(7),
        model_id: hash(0x6d),
        input_root: hash(0x11),
        output_root: hash(0x22),
        output: output(),
        fee: U256::from(10u64.pow(16)),
    }
}

fn batch(status: Status) -> BatchJson {
    BatchJson {
        index: U64::from(5),
        first_block: U64::from(41),
        last_block: U64::from(44),
        output_root: hash(0x33),
        data_hash: hash(0x44),
        l1_transaction: hash(0x55),
        l1_block: U64::from(500),
        window_end: U64::from(564),
        status,
    }
}

fn block_json(full: Option<bool>) -> BlockJson {
    BlockJson {
        header: header(42),
        deposit_count: U64::from(1),
        records: if full == Some(true) {
            BlockRecords::Full(vec![record()])
        } else {
            BlockRecords::Hashes(vec![hash(0xee)])
        },
        status: Status::Posted,
    }
}

fn model() -> ModelJson {
    ModelJson {
        id: hash(0x6d),
        name: "digits-mlp".into(),
        graph_hash: hash(0x66),
        weights_root: hash(0x77),
        op_count: U64::from(9),
        input_shape: vec![1, 64],
        input_dtype: "i8".into(),
        output_shape: vec![1, 10],
        output_dtype: "i32".into(),
        task: "classification".into(),
        output_scale: 0.0,
        input_scale: 0.007_874_016,
        feature_count: 64,
        input_features: None,
        fee_per_inference: U256::from(10u64.pow(16)),
    }
}

fn withdrawal_json() -> WithdrawalJson {
    WithdrawalJson {
        withdrawal_hash: hash(0x5a),
        sender: SENDER,
        nonce: U64::from(8),
        recipient: RECIPIENT,
        amount: U256::from(5 * 10u64.pow(17)),
        block_number: U64::from(43),
        index: U64::from(1),
        status: Status::Finalized,
        batch_index: Some(U64::from(5)),
        proof: Some(WithdrawalInclusion {
            proof: vec![hash(0x4b)],
            index: U64::from(1),
            block: header(43),
            later_headers: vec![header(44)],
            output_root: hash(0xbb),
            batch_index: U64::from(5),
        }),
    }
}

fn to_json(value: impl Serialize) -> Value {
    serde_json::to_value(value).expect("API types serialize")
}

#[jsonrpsee::core::async_trait]
impl VerdictApiServer for Canned {
    async fn send_inference(&self, request: SignedRequestJson) -> RpcResult<InferenceReceipt> {
        self.record("verdict_sendInference", json!([to_json(&request)]));
        request
            .to_signed()
            .map_err(|e| RpcError::new(ErrorCode::BadRequest, e.to_string()))?;
        Ok(InferenceReceipt {
            record_hash: hash(0xee),
            request_hash: hash(0xff),
            output: output(),
            block_number: U64::from(43),
            index: U64::ZERO,
            fee: U256::from(10u64.pow(16)),
        })
    }

    async fn get_inference(&self, record_hash: B256) -> RpcResult<Option<InferenceJson>> {
        self.record("verdict_getInference", json!([record_hash]));
        if record_hash.is_zero() {
            return Ok(None);
        }
        Ok(Some(InferenceJson {
            record: record(),
            block_number: U64::from(42),
            block_hash: Some(hash(0xbb)),
            index: U64::ZERO,
            status: Status::Posted,
            batch_index: Some(U64::from(5)),
            proof: Some(InclusionProof {
                record_proof: vec![hash(0x88), hash(0x99)],
                index: U64::ZERO,
                block: header(42),
                later_headers: vec![header(43)],
                output_root: hash(0xbb),
                batch_index: U64::from(5),
            }),
        }))
    }

    async fn send_withdrawal(
        &self,
        withdrawal: SignedWithdrawalJson,
    ) -> RpcResult<WithdrawalReceipt> {
        self.record("verdict_sendWithdrawal", json!([to_json(&withdrawal)]));
        withdrawal
            .to_signed()
            .map_err(|e| RpcError::new(ErrorCode::BadRequest, e.to_string()))?;
        Ok(WithdrawalReceipt {
            withdrawal_hash: hash(0x5a),
            block_number: U64::from(43),
            index: U64::from(1),
        })
    }

    async fn get_withdrawal(&self, withdrawal_hash: B256) -> RpcResult<Option<WithdrawalJson>> {
        self.record("verdict_getWithdrawal", json!([withdrawal_hash]));
        if withdrawal_hash.is_zero() {
            return Ok(None);
        }
        Ok(Some(withdrawal_json()))
    }

    async fn block_number(&self) -> RpcResult<U64> {
        self.record("verdict_blockNumber", json!([]));
        Ok(U64::from(42))
    }

    async fn get_block_by_number(
        &self,
        block: BlockTag,
        full: Option<bool>,
    ) -> RpcResult<Option<BlockJson>> {
        self.record("verdict_getBlockByNumber", json!([block, full]));
        Ok(Some(block_json(full)))
    }

    async fn get_block_by_hash(
        &self,
        hash: B256,
        full: Option<bool>,
    ) -> RpcResult<Option<BlockJson>> {
        self.record("verdict_getBlockByHash", json!([hash, full]));
        Ok(Some(block_json(full)))
    }

    async fn get_batch(&self, index: U64) -> RpcResult<Option<BatchJson>> {
        self.record("verdict_getBatch", json!([index]));
        Ok(Some(batch(Status::Posted)))
    }

    async fn get_model(&self, name_or_id: String) -> RpcResult<Option<ModelJson>> {
        self.record("verdict_getModel", json!([name_or_id]));
        Ok((name_or_id == "digits-mlp").then(model))
    }

    async fn prepare_inference(
        &self,
        name_or_id: String,
        sender: Address,
        features: Vec<f64>,
        nonce: Option<U64>,
        max_fee: Option<U256>,
    ) -> RpcResult<PreparedInference> {
        self.record(
            "verdict_prepareInference",
            json!([name_or_id, sender, features, nonce, max_fee]),
        );
        let request = verdict_specs::l2::request::InferenceRequest {
            sender: sender.into_array(),
            nonce: nonce.map_or(7, |n| n.to::<u64>()),
            model_id: model().id.into(),
            input: Tensor::from_i8(vec![1, 4], vec![12, -7, 127, 0]).expect("tensor"),
            max_fee: 10_000_000_000_000_000,
        };
        let domain = verdict_specs::l2::request::SigningDomain {
            chain_id: 31337,
            rollup: [0x5f; 20],
        };
        Ok(PreparedInference {
            input_commitment: B256::from(request.input.commitment()),
            request_hash: B256::from(request.signing_hash(&domain)),
            typed_data: verdict_rpc::signing::typed_data_json(&request, &domain),
            request: UnsignedRequestJson {
                sender,
                nonce: U64::from(request.nonce),
                model_id: model().id,
                input: request.input,
                max_fee: U256::from(request.max_fee),
            },
        })
    }

    async fn get_model_file(
        &self,
        name_or_id: String,
        offset: Option<U64>,
        length: Option<U64>,
    ) -> RpcResult<Option<ModelFileChunk>> {
        self.record("verdict_getModelFile", json!([name_or_id, offset, length]));
        Ok((name_or_id == "digits-mlp").then(|| ModelFileChunk {
            id: model().id,
            total_bytes: U64::from(8866),
            offset: offset.unwrap_or_default(),
            data: alloy::primitives::Bytes::from_static(b"VERD"),
            next_offset: Some(U64::from(4)),
        }))
    }

    async fn upload_model_file(
        &self,
        model_id: B256,
        offset: U64,
        total_bytes: U64,
        data: Bytes,
    ) -> RpcResult<ModelUploadJson> {
        self.record(
            "verdict_uploadModelFile",
            json!([model_id, offset, total_bytes, data]),
        );
        let received = offset + U64::from(data.len());
        Ok(ModelUploadJson {
            model_id,
            received_bytes: received,
            total_bytes,
            complete: received == total_bytes,
        })
    }

    async fn models(&self) -> RpcResult<Vec<ModelJson>> {
        self.record("verdict_models", json!([]));
        Ok(vec![model()])
    }

    async fn get_account(&self, address: Address) -> RpcResult<AccountJson> {
        self.record("verdict_getAccount", json!([address]));
        Ok(AccountJson {
            balance: U256::from(10u64.pow(18)),
            nonce: U64::from(7),
        })
    }

    async fn chain_info(&self) -> RpcResult<ChainInfo> {
        self.record("verdict_chainInfo", json!([]));
        Ok(ChainInfo {
            l1_chain_id: U64::from(31337),
            rollup: address!("0x5FbDB2315678afecb367f032d93F642f64180aa3"),
            bridge: address!("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"),
            model_registry: address!("0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"),
            sequencer: address!("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"),
            dispute_window: U64::from(64),
            genesis_hash: hash(0xaa),
            max_block_records: U64::from(1024),
        })
    }

    async fn subscribe_events(
        &self,
        pending: PendingSubscriptionSink,
        kind: SubscriptionKind,
    ) -> SubscriptionResult {
        self.record("verdict_subscribe", json!([kind]));
        // Subscribe before accepting, so nothing sent after the client has its id is missed.
        let mut events = self.events.subscribe();
        let sink = pending.accept().await?;
        loop {
            tokio::select! {
                event = events.recv() => {
                    let Ok((event_kind, event)) = event else { return Ok(()) };
                    if event_kind == kind {
                        sink.send(serde_json::value::to_raw_value(&event)?).await?;
                    }
                }
                () = sink.closed() => return Ok(()),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Starting servers and talking to them.

fn local_config() -> RpcServerConfig {
    RpcServerConfig {
        addr: "127.0.0.1:0".parse().expect("an address"),
        ..RpcServerConfig::default()
    }
}

async fn start(config: &RpcServerConfig, metrics: Option<MetricsRender>) -> (RpcServer, Canned) {
    let api = Canned::new();
    let server = serve(config, api.clone().into_rpc(), metrics)
        .await
        .expect("the server starts on a free port");
    (server, api)
}

fn http_client(server: &RpcServer) -> HttpClient {
    HttpClientBuilder::default()
        .request_timeout(Duration::from_secs(10))
        .build(server.http_url())
        .expect("an HTTP client")
}

async fn ws_client(server: &RpcServer) -> Result<WsClient, ClientError> {
    WsClientBuilder::default()
        .request_timeout(Duration::from_secs(10))
        .build(server.ws_url())
        .await
}

/// POSTs `body` as JSON; answers the HTTP status and the body parsed as JSON.
async fn post_raw(server: &RpcServer, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(server.http_url())
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    let text = response.text().await.expect("a body");
    let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (status, json)
}

fn error_code(answer: &Value) -> i64 {
    answer["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("not an error: {answer}"))
}

fn call_error_code(error: ClientError) -> i32 {
    match error {
        ClientError::Call(object) => object.code(),
        other => panic!("expected a JSON-RPC error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// The OpenRPC document as a contract.

/// The trait's parameters, in order, as written in `VerdictApi` (snake_case). The server
/// macro decodes named parameters under these names (and their lowerCamelCase), so a call
/// by name with the wrong name fails or, for an optional parameter, is dropped: the
/// `args_*` tests catch a table that drifted from the trait.
const TRAIT_PARAMS: &[(&str, &[&str])] = &[
    ("verdict_sendInference", &["request"]),
    (
        "verdict_prepareInference",
        &["name_or_id", "sender", "features", "nonce", "max_fee"],
    ),
    ("verdict_getInference", &["record_hash"]),
    ("verdict_sendWithdrawal", &["withdrawal"]),
    ("verdict_getWithdrawal", &["withdrawal_hash"]),
    ("verdict_blockNumber", &[]),
    ("verdict_getBlockByNumber", &["block", "full"]),
    ("verdict_getBlockByHash", &["hash", "full"]),
    ("verdict_getBatch", &["index"]),
    ("verdict_getModel", &["name_or_id"]),
    ("verdict_getModelFile", &["name_or_id", "offset", "length"]),
    (
        "verdict_uploadModelFile",
        &["model_id", "offset", "total_bytes", "data"],
    ),
    ("verdict_models", &[]),
    ("verdict_getAccount", &["address"]),
    ("verdict_chainInfo", &[]),
    ("verdict_subscribe", &["kind"]),
    // Registered by jsonrpsee for the subscription; takes the id by position only.
    ("verdict_unsubscribe", &["subscription"]),
];

/// The document's name for a trait parameter: snake_case to lowerCamelCase.
fn doc_param_name(trait_name: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in trait_name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn doc_methods() -> BTreeMap<String, &'static Value> {
    openrpc_document()["methods"]
        .as_array()
        .expect("methods is an array")
        .iter()
        .map(|m| (m["name"].as_str().expect("a name").to_owned(), m))
        .collect()
}

fn doc_param_names(method: &Value) -> Vec<String> {
    method["params"]
        .as_array()
        .expect("params is an array")
        .iter()
        .map(|p| p["name"].as_str().expect("a param name").to_owned())
        .collect()
}

/// A JSON Schema checker for the keywords the document uses; any other keyword fails the
/// test, so the document cannot rely on a rule nothing checks.
struct Schemas {
    doc: &'static Value,
}

impl Schemas {
    fn new() -> Self {
        Self {
            doc: openrpc_document(),
        }
    }

    fn check(&self, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
        let schema = schema
            .as_object()
            .unwrap_or_else(|| panic!("{at}: schema is not an object"));
        for (keyword, rule) in schema {
            match keyword.as_str() {
                "title" | "description" => {}
                "$ref" => {
                    let name = rule
                        .as_str()
                        .and_then(|r| r.strip_prefix("#/components/schemas/"))
                        .unwrap_or_else(|| panic!("{at}: unsupported $ref {rule}"));
                    let target = &self.doc["components"]["schemas"][name];
                    assert!(!target.is_null(), "{at}: $ref to a missing schema {name}");
                    self.check(target, value, &format!("{at}<{name}>"))?;
                }
                "allOf" => {
                    for sub in rule.as_array().expect("allOf is an array") {
                        self.check(sub, value, at)?;
                    }
                }
                "oneOf" => {
                    let subs = rule.as_array().expect("oneOf is an array");
                    let matching = subs
                        .iter()
                        .filter(|sub| self.check(sub, value, at).is_ok())
                        .count();
                    if matching != 1 {
                        return Err(format!(
                            "{at}: {value} matches {matching} of the oneOf alternatives"
                        ));
                    }
                }
                "type" => {
                    let ok = match rule.as_str().expect("type is a string") {
                        "string" => value.is_string(),
                        "integer" => value.is_i64() || value.is_u64(),
                        "number" => value.is_number(),
                        "boolean" => value.is_boolean(),
                        "array" => value.is_array(),
                        "object" => value.is_object(),
                        "null" => value.is_null(),
                        other => panic!("{at}: unsupported type {other}"),
                    };
                    if !ok {
                        return Err(format!("{at}: {value} is not of type {rule}"));
                    }
                }
                "enum" => {
                    if !rule.as_array().expect("enum is an array").contains(value) {
                        return Err(format!("{at}: {value} is not one of {rule}"));
                    }
                }
                "pattern" => {
                    let pattern = Regex::new(rule.as_str().expect("a pattern")).expect("a regex");
                    if let Some(s) = value.as_str()
                        && !pattern.is_match(s)
                    {
                        return Err(format!("{at}: {s:?} does not match {pattern}"));
                    }
                }
                "minLength" | "maxLength" => {
                    let bound = rule.as_u64().expect("a length") as usize;
                    if let Some(s) = value.as_str() {
                        let len = s.chars().count();
                        if (keyword == "minLength" && len < bound)
                            || (keyword == "maxLength" && len > bound)
                        {
                            return Err(format!("{at}: length of {s:?} breaks {keyword} {bound}"));
                        }
                    }
                }
                "minimum" | "maximum" => {
                    let bound = rule.as_i64().expect("an integer bound");
                    // A u64 above i64::MAX is above every bound the document uses.
                    let n = value.as_i64().or_else(|| value.as_u64().map(|_| i64::MAX));
                    if let Some(n) = n
                        && ((keyword == "minimum" && n < bound)
                            || (keyword == "maximum" && n > bound))
                    {
                        return Err(format!("{at}: {n} breaks {keyword} {bound}"));
                    }
                }
                "items" => {
                    if let Some(items) = value.as_array() {
                        for (i, item) in items.iter().enumerate() {
                            self.check(rule, item, &format!("{at}[{i}]"))?;
                        }
                    }
                }
                "minItems" | "maxItems" => {
                    let bound = rule.as_u64().expect("a count") as usize;
                    if let Some(items) = value.as_array()
                        && ((keyword == "minItems" && items.len() < bound)
                            || (keyword == "maxItems" && items.len() > bound))
                    {
                        return Err(format!(
                            "{at}: {} items break {keyword} {bound}",
                            items.len()
                        ));
                    }
                }
                "properties" => {
                    if let Some(object) = value.as_object() {
                        for (name, sub) in rule.as_object().expect("properties is an object") {
                            if let Some(field) = object.get(name) {
                                self.check(sub, field, &format!("{at}.{name}"))?;
                            }
                        }
                    }
                }
                "required" => {
                    if let Some(object) = value.as_object() {
                        for name in rule.as_array().expect("required is an array") {
                            let name = name.as_str().expect("a field name");
                            if !object.contains_key(name) {
                                return Err(format!("{at}: missing field {name}"));
                            }
                        }
                    }
                }
                "additionalProperties" => {
                    assert_eq!(rule, &json!(false), "{at}: only `false` is supported");
                    if let Some(object) = value.as_object() {
                        let known = &schema["properties"];
                        for name in object.keys() {
                            if known.get(name).is_none() {
                                return Err(format!("{at}: unexpected field {name}"));
                            }
                        }
                    }
                }
                other => panic!("{at}: schema keyword {other} is not checked by this test"),
            }
        }
        Ok(())
    }

    fn assert_valid(&self, schema: &Value, value: &Value, at: &str) {
        if let Err(e) = self.check(schema, value, at) {
            panic!("{e}");
        }
    }
}

#[test]
fn openrpc_document_is_the_served_file() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../specs/openrpc.json");
    let on_disk: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("readable"))
        .expect("specs/openrpc.json is JSON");
    assert_eq!(&on_disk, openrpc_document());
    assert_eq!(on_disk["openrpc"], "1.2.6");
    assert!(OPENRPC_JSON.ends_with('\n'));
}

#[test]
fn openrpc_names_exactly_the_registered_methods() {
    let registered: BTreeSet<String> = Canned::new()
        .into_rpc()
        .method_names()
        .map(str::to_owned)
        .collect();
    let documented: BTreeSet<String> = doc_methods().into_keys().collect();
    assert_eq!(
        registered.difference(&documented).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "served but not documented"
    );
    assert_eq!(
        documented.difference(&registered).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "documented but not served"
    );
    assert!(!documented.contains("rpc.discover"));
    let tabled: BTreeSet<String> = TRAIT_PARAMS.iter().map(|(m, _)| m.to_string()).collect();
    assert_eq!(tabled, registered, "TRAIT_PARAMS lists every method");
}

#[test]
fn openrpc_params_are_the_traits_in_camel_case() {
    assert_eq!(doc_param_name("name_or_id"), "nameOrId");
    assert_eq!(doc_param_name("record_hash"), "recordHash");
    assert_eq!(doc_param_name("withdrawal_hash"), "withdrawalHash");
    assert_eq!(doc_param_name("full"), "full");
    let methods = doc_methods();
    for (name, params) in TRAIT_PARAMS {
        let expected: Vec<String> = params.iter().map(|p| doc_param_name(p)).collect();
        assert_eq!(doc_param_names(methods[*name]), expected, "{name}");
    }
}

#[test]
fn openrpc_examples_and_error_codes_are_consistent() {
    let schemas = Schemas::new();
    let doc = openrpc_document();
    for (name, method) in doc_methods() {
        let params = method["params"].as_array().expect("params");
        let required: Vec<bool> = params
            .iter()
            .map(|p| p["required"].as_bool().unwrap_or(false))
            .collect();
        assert!(
            required.windows(2).all(|w| w[0] || !w[1]),
            "{name}: a required parameter follows an optional one"
        );
        let examples = method["examples"]
            .as_array()
            .expect("every method has examples");
        assert!(!examples.is_empty(), "{name} has an example");
        for example in examples {
            let given = example["params"].as_array().expect("example params");
            for (i, value) in given.iter().enumerate() {
                let param = &params[i];
                assert_eq!(
                    value["name"], param["name"],
                    "{name}: example params in order"
                );
                schemas.assert_valid(
                    &param["schema"],
                    &value["value"],
                    &format!("{name} example param {}", param["name"]),
                );
            }
            schemas.assert_valid(
                &method["result"]["schema"],
                &example["result"]["value"],
                &format!("{name} example result"),
            );
        }
        for error in method["errors"].as_array().expect("errors") {
            let reference = error["$ref"].as_str().expect("errors are references");
            let key = reference
                .strip_prefix("#/components/errors/")
                .expect("a component error");
            assert!(doc["components"]["errors"][key].is_object(), "{reference}");
        }
    }
    // Every schema in components is used somewhere.
    let text = OPENRPC_JSON;
    for name in doc["components"]["schemas"]
        .as_object()
        .expect("schemas")
        .keys()
    {
        assert!(
            text.contains(&format!("\"#/components/schemas/{name}\"")),
            "schema {name} is never referenced"
        );
    }
}

#[test]
fn every_error_code_is_documented() {
    let errors = openrpc_document()["components"]["errors"]
        .as_object()
        .expect("components/errors");
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/rpc.md"))
        .expect("docs/rpc.md exists");
    for code in ErrorCode::ALL {
        let name = format!("{code:?}");
        assert_eq!(
            errors.get(&name).map(|e| &e["code"]),
            Some(&json!(code.code())),
            "components/errors/{name} has code {}",
            code.code()
        );
        assert!(
            docs.contains(&format!("| {} |", code.code())),
            "docs/rpc.md has a table row for {} ({name})",
            code.code()
        );
    }
    for code in [
        -32700, -32600, -32601, -32602, -32603, -32006, -32007, -32008, -32010, -32011,
    ] {
        assert!(
            errors.values().any(|e| e["code"] == json!(code)),
            "components/errors has {code}"
        );
        assert!(
            docs.contains(&format!("| {code} |")),
            "docs/rpc.md lists {code}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// The document against the running server.

/// Calls every non-subscription method with its documented examples, by position and by
/// name (the document's camelCase names), and checks that the implementation received
/// exactly the example's values and that the answer fits the result schema.
#[tokio::test]
async fn examples_run_by_position_and_by_name() {
    let (server, api) = start(&local_config(), None).await;
    let client = http_client(&server);
    let schemas = Schemas::new();
    for (name, method) in doc_methods() {
        if name == "verdict_subscribe" || name == "verdict_unsubscribe" {
            continue;
        }
        let params = method["params"].as_array().expect("params");
        for example in method["examples"].as_array().expect("examples") {
            let given = example["params"].as_array().expect("example params");
            let mut expected_args: Vec<Value> = given.iter().map(|p| p["value"].clone()).collect();
            expected_args.resize(params.len(), Value::Null);

            let mut by_position = ArrayParams::new();
            let mut by_name = ObjectParams::new();
            for p in given {
                by_position.insert(&p["value"]).expect("serializable");
                by_name
                    .insert(p["name"].as_str().expect("a name"), &p["value"])
                    .expect("serializable");
            }
            for (how, answer) in [
                (
                    "by position",
                    client.request::<Value, _>(&name, by_position.clone()).await,
                ),
                (
                    "by name",
                    client.request::<Value, _>(&name, by_name.clone()).await,
                ),
            ] {
                let answer = answer.unwrap_or_else(|e| panic!("{name} {how}: {e}"));
                assert_eq!(
                    api.last_args(&name),
                    Value::Array(expected_args.clone()),
                    "{name} {how}: the implementation got the example's arguments"
                );
                schemas.assert_valid(
                    &method["result"]["schema"],
                    &answer,
                    &format!("{name} {how} answer"),
                );
            }
        }
    }
}

/// Answers the canned implementation gives beyond the examples (null results, full
/// records, proofs with later headers) also fit their schemas.
#[tokio::test]
async fn typed_client_answers_fit_the_schemas() {
    let (server, _api) = start(&local_config(), None).await;
    let client = http_client(&server);
    let schemas = Schemas::new();
    let methods = doc_methods();
    let result_schema = |name: &str| &methods[name]["result"]["schema"];

    let missing = client.get_inference(B256::ZERO).await.expect("a call");
    assert_eq!(missing, None);
    schemas.assert_valid(
        result_schema("verdict_getInference"),
        &Value::Null,
        "null inference",
    );
    let found = client.get_inference(hash(1)).await.expect("a call");
    schemas.assert_valid(
        result_schema("verdict_getInference"),
        &to_json(&found),
        "inference",
    );
    for full in [None, Some(false), Some(true)] {
        let block = client
            .get_block_by_hash(hash(0xbb), full)
            .await
            .expect("a call")
            .expect("a block");
        assert_eq!(
            matches!(block.records, BlockRecords::Full(_)),
            full == Some(true)
        );
        schemas.assert_valid(
            result_schema("verdict_getBlockByHash"),
            &to_json(&block),
            "block",
        );
    }
    assert_eq!(client.get_model("nope".into()).await.expect("a call"), None);
    let info = client.chain_info().await.expect("a call");
    schemas.assert_valid(
        result_schema("verdict_chainInfo"),
        &to_json(&info),
        "chain info",
    );
    assert_eq!(client.block_number().await.expect("a call"), U64::from(42));

    // A request of the right shape but with a short signature: a Verdict error code.
    let bad = SignedRequestJson {
        sender: SENDER,
        nonce: U64::ZERO,
        model_id: hash(0x6d),
        input: Tensor::from_i8(vec![1, 2], vec![1, 2]).expect("a tensor"),
        max_fee: U256::from(1),
        signature: Bytes::from(vec![0u8; 64]),
    };
    let error = client.send_inference(bad).await.expect_err("rejected");
    assert_eq!(call_error_code(error), ErrorCode::BadRequest.code());
    // Unknown fields in a request are rejected by the schema (-32602).
    let error = client
        .request::<Value, _>(
            "verdict_sendInference",
            rpc_params![json!({"sender": SENDER, "extra": 1})],
        )
        .await
        .expect_err("rejected");
    assert_eq!(call_error_code(error), -32602);
}

/// The keys of a JSON object, sorted.
fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

/// The names of a component schema's properties, sorted; they are also its required list.
fn schema_fields(name: &str) -> Vec<&'static str> {
    let schema = &openrpc_document()["components"]["schemas"][name];
    let properties = keys(&schema["properties"]);
    let mut required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap_or_else(|| panic!("{name} has a required list"))
        .iter()
        .map(|r| r.as_str().expect("a field name"))
        .collect();
    required.sort_unstable();
    assert_eq!(properties, required, "every field of {name} is required");
    properties
}

#[test]
fn block_header_json_has_the_documented_camel_case_fields() {
    let json = to_json(header(42));
    assert_eq!(
        keys(&json),
        [
            "depositsConsumed",
            "hash",
            "l1Origin",
            "number",
            "parentHash",
            "recordCount",
            "recordsRoot",
            "stateRoot",
            "timestamp",
            "withdrawalCount",
            "withdrawalsRoot",
        ]
    );
    assert_eq!(keys(&json), schema_fields("BlockHeader"));
    assert_eq!(json["recordCount"], "0x2");
    assert_eq!(json["withdrawalCount"], "0x0");
    assert_eq!(json["l1Origin"], "0x7");
    // A block is its header's fields plus its own.
    let block = to_json(block_json(None));
    let mut expected = schema_fields("BlockHeader");
    expected.extend(["depositCount", "records", "status"]);
    expected.sort_unstable();
    assert_eq!(keys(&block), expected);
    assert_eq!(keys(&block), schema_fields("Block"));
    Schemas::new().assert_valid(
        &json!({"$ref": "#/components/schemas/BlockHeader"}),
        &json,
        "header",
    );
}

/// The withdrawal methods through the typed client, and their answers as they travel on
/// the wire (camelCase, every documented field and no other).
#[tokio::test]
async fn withdrawals_over_http_have_camel_case_fields() {
    let (server, api) = start(&local_config(), None).await;
    let client = http_client(&server);
    let schemas = Schemas::new();
    let methods = doc_methods();
    let result_schema = |name: &str| &methods[name]["result"]["schema"];

    let withdrawal = SignedWithdrawalJson {
        sender: SENDER,
        nonce: U64::from(8),
        recipient: RECIPIENT,
        amount: U256::from(5 * 10u64.pow(17)),
        signature: Bytes::from(vec![0x4e; 65]),
    };
    let receipt = client
        .send_withdrawal(withdrawal.clone())
        .await
        .expect("a receipt");
    assert_eq!(receipt.withdrawal_hash, hash(0x5a));
    assert_eq!(
        (receipt.block_number, receipt.index),
        (U64::from(43), U64::from(1))
    );
    // The client sent the camelCase object the document describes.
    let sent = api.last_args("verdict_sendWithdrawal");
    assert_eq!(
        keys(&sent[0]),
        ["amount", "nonce", "recipient", "sender", "signature"]
    );
    assert_eq!(keys(&sent[0]), schema_fields("SignedWithdrawal"));
    assert_eq!(sent[0]["amount"], "0x6f05b59d3b20000");
    schemas.assert_valid(
        &methods["verdict_sendWithdrawal"]["params"][0]["schema"],
        &sent[0],
        "sent withdrawal",
    );

    // On the wire.
    let (status, answer) = post_raw(
        &server,
        json!({
            "jsonrpc": "2.0", "id": 1, "method": "verdict_sendWithdrawal",
            "params": [to_json(&withdrawal)]
        })
        .to_string(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let receipt = &answer["result"];
    assert_eq!(keys(receipt), ["blockNumber", "index", "withdrawalHash"]);
    assert_eq!(keys(receipt), schema_fields("WithdrawalReceipt"));
    assert_eq!(receipt["withdrawalHash"], json!(hash(0x5a)));
    schemas.assert_valid(
        result_schema("verdict_sendWithdrawal"),
        receipt,
        "withdrawal receipt",
    );

    let found = client
        .get_withdrawal(hash(0x5a))
        .await
        .expect("a call")
        .expect("a withdrawal");
    assert_eq!(found, withdrawal_json());
    assert_eq!(api.last_args("verdict_getWithdrawal"), json!([hash(0x5a)]));
    let (status, answer) = post_raw(
        &server,
        json!({
            "jsonrpc": "2.0", "id": 2, "method": "verdict_getWithdrawal",
            "params": {"withdrawalHash": hash(0x5a)}
        })
        .to_string(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let found = &answer["result"];
    assert_eq!(
        keys(found),
        [
            "amount",
            "batchIndex",
            "blockNumber",
            "index",
            "nonce",
            "proof",
            "recipient",
            "sender",
            "status",
            "withdrawalHash",
        ]
    );
    assert_eq!(keys(found), schema_fields("Withdrawal"));
    assert_eq!(found["status"], "finalized");
    let proof = &found["proof"];
    assert_eq!(
        keys(proof),
        [
            "batchIndex",
            "block",
            "index",
            "laterHeaders",
            "outputRoot",
            "proof",
        ]
    );
    assert_eq!(keys(proof), schema_fields("WithdrawalInclusion"));
    assert_eq!(keys(&proof["block"]), schema_fields("BlockHeader"));
    assert_eq!(proof["block"]["withdrawalCount"], "0x0");
    assert_eq!(proof["laterHeaders"][0]["number"], "0x2c");
    schemas.assert_valid(result_schema("verdict_getWithdrawal"), found, "withdrawal");

    // Unknown: null, which the schema allows.
    assert_eq!(
        client.get_withdrawal(B256::ZERO).await.expect("a call"),
        None
    );
    schemas.assert_valid(
        result_schema("verdict_getWithdrawal"),
        &Value::Null,
        "null withdrawal",
    );

    // Malformed beyond the schema: a Verdict error code.
    let short_signature = SignedWithdrawalJson {
        signature: Bytes::from(vec![0u8; 64]),
        ..withdrawal.clone()
    };
    let error = client
        .send_withdrawal(short_signature)
        .await
        .expect_err("rejected");
    assert_eq!(call_error_code(error), ErrorCode::BadRequest.code());
    let too_much = SignedWithdrawalJson {
        amount: U256::from(u128::MAX) + U256::from(1),
        ..withdrawal
    };
    let error = client
        .send_withdrawal(too_much)
        .await
        .expect_err("rejected");
    assert_eq!(call_error_code(error), ErrorCode::BadRequest.code());
    // Unknown fields (here snake_case) are rejected by the schema (-32602).
    let error = client
        .request::<Value, _>(
            "verdict_sendWithdrawal",
            rpc_params![json!({
                "sender": SENDER, "nonce": "0x8", "recipient": RECIPIENT, "amount": "0x1",
                "signature": Bytes::from(vec![0x4e; 65]), "withdrawal_hash": hash(1)
            })],
        )
        .await
        .expect_err("rejected");
    assert_eq!(call_error_code(error), -32602);
}

#[tokio::test]
async fn rpc_discover_serves_the_document() {
    let (server, _api) = start(&local_config(), None).await;
    let document: Value = http_client(&server)
        .request("rpc.discover", rpc_params![])
        .await
        .expect("rpc.discover answers");
    assert_eq!(&document, openrpc_document());
    let ws = ws_client(&server).await.expect("a WebSocket");
    let document: Value = ws
        .request("rpc.discover", rpc_params![])
        .await
        .expect("over WS too");
    assert_eq!(&document, openrpc_document());
}

// ---------------------------------------------------------------------------------------
// Plain HTTP routes.

#[tokio::test]
async fn metrics_and_health_share_the_rpc_port() {
    let render = verdict_rpc::metrics::install().expect("the first recorder in this process");
    let again = verdict_rpc::metrics::install().expect("installing again returns the same");
    metrics::counter!(verdict_rpc::metrics::RECORDS_TOTAL).increment(3);
    metrics::counter!(
        verdict_rpc::metrics::L1_GAS_SPENT_TOTAL,
        verdict_rpc::metrics::LABEL_KIND => verdict_rpc::metrics::KIND_POST
    )
    .increment(21_000);
    metrics::histogram!(
        verdict_rpc::metrics::REQUEST_SECONDS,
        verdict_rpc::metrics::LABEL_METHOD => "models"
    )
    .record(0.0003);
    // Both renderers read the one recorder (the render order of metrics is not fixed).
    for text in [render(), again()] {
        assert!(text.contains("verdict_records_total 3"), "{text}");
    }

    let (server, _api) = start(&local_config(), Some(render.clone())).await;
    let http = reqwest::Client::new();
    let response = http
        .get(format!("{}/metrics", server.http_url()))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = response.text().await.expect("a body");
    assert!(
        text.contains("# TYPE verdict_records_total counter"),
        "{text}"
    );
    assert!(text.contains("verdict_records_total 3"), "{text}");
    assert!(
        text.contains("verdict_l1_gas_spent_total{kind=\"post\"} 21000"),
        "{text}"
    );
    // A histogram with the configured buckets, not a summary.
    assert!(
        text.contains("verdict_request_seconds_bucket{method=\"models\",le=\"0.0005\"} 1"),
        "{text}"
    );

    let response = http
        .get(format!("{}/health", server.http_url()))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.text().await.expect("a body"), "ok");

    // Any other GET is jsonrpsee's: 405, JSON-RPC needs POST.
    let response = http.get(server.http_url()).send().await.expect("an answer");
    assert_eq!(response.status().as_u16(), 405);

    // Without a renderer, /metrics is not found; /health still answers.
    let (bare, _api) = start(&local_config(), None).await;
    let response = http
        .get(format!("{}/metrics", bare.http_url()))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status().as_u16(), 404);
    let response = http
        .get(format!("{}/health", bare.http_url()))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn browsers_may_call_from_any_origin() {
    let (server, _api) = start(&local_config(), None).await;
    let http = reqwest::Client::new();
    let preflight = http
        .request(reqwest::Method::OPTIONS, server.http_url())
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .expect("an answer");
    assert_eq!(preflight.status().as_u16(), 204);
    let headers = preflight.headers();
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert!(
        headers["access-control-allow-methods"]
            .to_str()
            .expect("ascii")
            .contains("POST")
    );
    assert_eq!(headers["access-control-allow-headers"], "content-type");

    let answer = http
        .post(server.http_url())
        .header("origin", "https://app.example")
        .header("content-type", "application/json")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"verdict_blockNumber","params":[]}"#)
        .send()
        .await
        .expect("an answer");
    assert_eq!(answer.headers()["access-control-allow-origin"], "*");
    let body: Value = answer.json().await.expect("JSON");
    assert_eq!(body["result"], "0x2a");
}

// ---------------------------------------------------------------------------------------
// Limits and malformed input.

#[tokio::test]
async fn oversized_requests_are_refused_and_the_server_goes_on() {
    let config = RpcServerConfig {
        max_request_bytes: 4096,
        ..local_config()
    };
    let (server, _api) = start(&config, None).await;
    let big = json!({
        "jsonrpc": "2.0", "id": 1, "method": "verdict_getModel", "params": ["x".repeat(5000)]
    })
    .to_string();
    let (status, answer) = post_raw(&server, big.clone()).await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(error_code(&answer), -32007, "{answer}");
    assert_eq!(answer["id"], Value::Null);

    // The jsonrpsee HTTP client sees the 413 as a transport error, not a call error.
    let client = http_client(&server);
    let error = client
        .get_model("x".repeat(5000))
        .await
        .expect_err("too big");
    assert!(matches!(error, ClientError::Transport(_)), "{error:?}");
    assert_eq!(
        client.block_number().await.expect("still serving"),
        U64::from(42)
    );

    // Over WebSocket the server answers -32007 with id null (it cannot know the id of a
    // message it did not read). jsonrpsee's client cannot match that answer to a call and
    // drops the connection; the server goes on.
    let ws = ws_client(&server).await.expect("a WebSocket");
    let error = tokio::time::timeout(Duration::from_secs(5), ws.get_model("x".repeat(5000)))
        .await
        .expect("an answer within 5 s")
        .expect_err("too big");
    assert!(matches!(error, ClientError::RestartNeeded(_)), "{error:?}");
    let fresh = ws_client(&server).await.expect("a WebSocket");
    assert_eq!(
        fresh.block_number().await.expect("still serving"),
        U64::from(42)
    );

    // Just under the limit is fine.
    let (status, answer) = post_raw(
        &server,
        json!({"jsonrpc": "2.0", "id": 2, "method": "verdict_getModel", "params": ["x".repeat(3900)]})
            .to_string(),
    )
    .await;
    assert_eq!((status, &answer["result"]), (200, &Value::Null), "{answer}");
}

#[tokio::test]
async fn batches_above_the_limit_are_refused() {
    let config = RpcServerConfig {
        max_batch_calls: 3,
        ..local_config()
    };
    let (server, _api) = start(&config, None).await;
    let call = |id: u64| json!({"jsonrpc": "2.0", "id": id, "method": "verdict_blockNumber"});
    let (status, answer) = post_raw(&server, json!([call(1), call(2), call(3)]).to_string()).await;
    assert_eq!(status, 200);
    assert_eq!(answer.as_array().map(Vec::len), Some(3), "{answer}");

    let (status, answer) = post_raw(
        &server,
        json!([call(1), call(2), call(3), call(4)]).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    // One error object for the whole batch, not an array.
    assert!(answer.is_object(), "{answer}");
    assert_eq!(error_code(&answer), -32010, "{answer}");
    assert_eq!(answer["id"], Value::Null);
    assert_eq!(
        http_client(&server)
            .block_number()
            .await
            .expect("still serving"),
        U64::from(42)
    );
}

#[tokio::test]
async fn malformed_json_and_unknown_methods() {
    let (server, _api) = start(&local_config(), None).await;
    // Starts like JSON, is not: -32700 in a 200.
    let (status, answer) = post_raw(&server, r#"{"jsonrpc":"2.0","id":1,"method":"#).await;
    assert_eq!((status, error_code(&answer)), (200, -32700), "{answer}");
    // Not even the start of an object or array: -32700 in a 400.
    let (status, answer) = post_raw(&server, "hello").await;
    assert_eq!((status, error_code(&answer)), (400, -32700), "{answer}");
    // JSON, but not a request: -32600, with the id when there is one.
    let (status, answer) = post_raw(&server, r#"{"id":7,"jsonrpc":"1.0"}"#).await;
    assert_eq!((status, error_code(&answer)), (200, -32600), "{answer}");
    assert_eq!(answer["id"], 7);

    // JSON-RPC over HTTP needs a JSON content type: 415 otherwise.
    let response = reqwest::Client::new()
        .post(server.http_url())
        .header("content-type", "text/plain")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"verdict_blockNumber"}"#)
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status().as_u16(), 415);

    let client = http_client(&server);
    let error = client
        .request::<Value, _>("verdict_nope", rpc_params![])
        .await
        .expect_err("no such method");
    assert_eq!(call_error_code(error), -32601);
    let error = client
        .request::<Value, _>("verdict_getBatch", rpc_params!["seven"])
        .await
        .expect_err("not a quantity");
    assert_eq!(call_error_code(error), -32602);
    // A subscription needs a connection to notify on.
    let error = client
        .request::<Value, _>("verdict_subscribe", rpc_params!["newHeads"])
        .await
        .expect_err("not over HTTP");
    assert_eq!(call_error_code(error), -32603);
}

#[tokio::test]
async fn connections_above_the_limit_are_refused_while_the_open_ones_work() {
    let config = RpcServerConfig {
        max_connections: 2,
        ..local_config()
    };
    let (server, _api) = start(&config, None).await;
    let first = ws_client(&server).await.expect("first WebSocket");
    let second = ws_client(&server).await.expect("second WebSocket");

    // The WebSocket handshake is answered with HTTP 429.
    let refused = ws_client(&server).await.expect_err("a third is refused");
    assert!(refused.to_string().contains("429"), "{refused:?}");
    // A plain HTTP call counts too while it runs: refused with 429 as well.
    let response = reqwest::Client::new()
        .post(server.http_url())
        .header("content-type", "application/json")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"verdict_blockNumber"}"#)
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status().as_u16(), 429);

    // The plain-HTTP routes are answered before the connection limit applies.
    let health = reqwest::get(format!("{}/health", server.http_url()))
        .await
        .expect("an answer");
    assert_eq!(health.status().as_u16(), 200);

    assert_eq!(
        first.block_number().await.expect("open ones work"),
        U64::from(42)
    );
    assert_eq!(
        second.block_number().await.expect("open ones work"),
        U64::from(42)
    );

    // Closing one frees its place.
    drop(first);
    let mut third = None;
    for _ in 0..50 {
        if let Ok(client) = ws_client(&server).await {
            third = Some(client);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let third = third.expect("a place frees up once a WebSocket closes");
    assert_eq!(third.block_number().await.expect("works"), U64::from(42));
}

// ---------------------------------------------------------------------------------------
// WebSocket subscriptions.

#[tokio::test]
async fn new_heads_reach_a_websocket_subscriber() {
    let (server, api) = start(&local_config(), None).await;
    let client = ws_client(&server).await.expect("a WebSocket");
    let mut heads = client
        .subscribe_events(SubscriptionKind::NewHeads)
        .await
        .expect("subscribed");
    let mut batches = client
        .subscribe_events(SubscriptionKind::Finalized)
        .await
        .expect("subscribed");
    assert_eq!(api.last_args("verdict_subscribe"), json!(["finalized"]));

    let sent: Vec<SubscriptionEvent> = (43..46)
        .map(|n| SubscriptionEvent::Head(header(n)))
        .collect();
    for event in &sent {
        api.events
            .send((SubscriptionKind::NewHeads, event.clone()))
            .expect("two subscribers listen");
    }
    let finalized = SubscriptionEvent::Batch(batch(Status::Finalized));
    api.events
        .send((SubscriptionKind::Finalized, finalized.clone()))
        .expect("subscribers listen");

    let schemas = Schemas::new();
    let event_schema = json!({"$ref": "#/components/schemas/SubscriptionEvent"});
    for expected in &sent {
        let got = tokio::time::timeout(Duration::from_secs(5), heads.next())
            .await
            .expect("a head within 5 s")
            .expect("the subscription is open")
            .expect("a well-formed item");
        schemas.assert_valid(&event_schema, &to_json(&got), "newHeads item");
        assert_eq!(&got, expected);
    }
    let got = tokio::time::timeout(Duration::from_secs(5), batches.next())
        .await
        .expect("a batch within 5 s")
        .expect("open")
        .expect("well-formed");
    assert_eq!(got, finalized);
    schemas.assert_valid(&event_schema, &to_json(&got), "finalized item");

    heads.unsubscribe().await.expect("unsubscribed");
}

#[tokio::test]
async fn subscribe_by_name_and_the_subscription_limit() {
    let config = RpcServerConfig {
        max_subscriptions_per_connection: 2,
        ..local_config()
    };
    let (server, api) = start(&config, None).await;
    let client = ws_client(&server).await.expect("a WebSocket");
    let mut by_name = ObjectParams::new();
    by_name.insert("kind", "batches").expect("serializable");
    let error = client
        .subscribe::<Value, _>(
            "verdict_subscribe",
            rpc_params!["oldHeads"],
            "verdict_unsubscribe",
        )
        .await
        .expect_err("an unknown kind");
    assert_eq!(call_error_code(error), -32602);
    let _first = client
        .subscribe::<Value, _>("verdict_subscribe", by_name, "verdict_unsubscribe")
        .await
        .expect("subscribed by name");
    assert_eq!(api.last_args("verdict_subscribe"), json!(["batches"]));
    let _second = client
        .subscribe::<Value, _>(
            "verdict_subscribe",
            rpc_params!["newHeads"],
            "verdict_unsubscribe",
        )
        .await
        .expect("subscribed by position");
    let error = client
        .subscribe::<Value, _>(
            "verdict_subscribe",
            rpc_params!["newHeads"],
            "verdict_unsubscribe",
        )
        .await
        .expect_err("a third is refused");
    assert_eq!(call_error_code(error), -32006);
    assert_eq!(
        client.block_number().await.expect("calls still work"),
        U64::from(42)
    );
}

#[tokio::test]
async fn a_stopped_server_refuses_connections() {
    let (server, _api) = start(&local_config(), None).await;
    let url = server.http_url();
    assert!(server.ws_url().starts_with("ws://127.0.0.1:"));
    server.stop();
    server.stop();
    tokio::time::timeout(Duration::from_secs(5), server.stopped())
        .await
        .expect("stops within 5 s");
    let client = HttpClientBuilder::default().build(url).expect("a client");
    assert!(client.block_number().await.is_err());
}
