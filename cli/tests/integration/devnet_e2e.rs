//! End to end: `verdict devnet` up (embedded L1, and again with anvil as the L1), 1,000
//! signed requests from several accounts, each answer equal to the reference
//! interpreter's; blocks sealed; batches posted and finalized after the window; every
//! inclusion proof verifies against the output root posted on L1.

use crate::support;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use alloy::primitives::B256;
use verdict_devnet::DEMO_MODELS;
use verdict_l1::client::{ClientConfig, L1Client};
use verdict_l1::contracts::VerdictL1;
use verdict_l1::deploy::Deployment;
use verdict_rpc::VerdictApiClient;
use verdict_rpc::types::{
    InferenceReceipt, ModelJson, Status, SubscriptionEvent, SubscriptionKind,
};
use verdict_rpc::verify::verify_inclusion;
use verdict_specs::Model;
use verdict_specs::batch::BatchHeader;

use support::{Devnet, dev_key, input_for, signed};

const SENDERS: usize = 5;
const PER_SENDER: u64 = 200;

fn demo_model(name: &str) -> Model {
    let (_, bytes) = DEMO_MODELS
        .iter()
        .find(|(n, _)| *n == name)
        .expect("a demo model");
    Model::decode(bytes).expect("decodes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_requests_are_answered_exactly_posted_finalized_and_provable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let devnet = Devnet::start(dir.path(), &fast_devnet_args());
    run_flow(&devnet, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_flow_runs_against_anvil() {
    let anvil = support::anvil::Anvil::start_with(&["--block-time", "1"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut args = fast_devnet_args();
    let url = anvil.http_url();
    args.extend(["--l1-rpc", url.as_str()]);
    let devnet = Devnet::start(dir.path(), &args);
    assert_eq!(devnet.l1_rpc, url);
    run_flow(&devnet, dir.path()).await;
}

/// Reads a batch's `postBatch` calldata from L1, decodes the batch data, and checks it
/// against the header L1 recorded: data hash, records roots, header chain, output root.
async fn check_calldata(
    l1: &VerdictL1,
    tx: B256,
    header: &BatchHeader,
    domain: &verdict_specs::l2::request::SigningDomain,
) -> (usize, usize, u64) {
    use alloy::consensus::Transaction as _;
    use alloy::providers::Provider;
    use alloy::sol_types::SolCall;
    let transaction = l1
        .client()
        .provider()
        .get_transaction_by_hash(tx)
        .await
        .expect("eth_getTransactionByHash")
        .expect("the posting transaction");
    let call = verdict_l1::bindings::Rollup::postBatchCall::abi_decode(transaction.input())
        .expect("postBatch calldata");
    assert_eq!(
        verdict_specs::batch::data_hash(&call.data),
        header.data_hash
    );
    let blocks = verdict_specs::l2::batch_data::decode(&call.data).expect("batch data decodes");
    assert_eq!(
        blocks.first().map(|b| b.header.number),
        Some(header.first_block)
    );
    let mut parent = None;
    for block in &blocks {
        assert_eq!(
            verdict_specs::l2::block::records_root(&block.inferences, domain),
            block.header.records_root,
            "block {}",
            block.header.number
        );
        if let Some(parent) = parent {
            assert_eq!(block.header.parent_hash, parent);
        }
        parent = Some(block.header.hash());
    }
    assert_eq!(parent, Some(header.output_root));
    assert_eq!(
        blocks.last().map(|b| b.header.number),
        Some(header.last_block)
    );
    let receipt = l1
        .client()
        .provider()
        .get_transaction_receipt(tx)
        .await
        .expect("eth_getTransactionReceipt")
        .expect("receipt");
    let records = blocks.iter().map(|b| b.inferences.len()).sum();
    (records, call.data.len(), receipt.gas_used)
}

/// A plain HTTP GET; the body.
fn fast_devnet_args() -> Vec<&'static str> {
    vec![
        "--block-time",
        "0.2",
        "--l1-block-time",
        "0.5",
        "--dispute-window",
        "3",
        "--batch-blocks",
        "4",
        "--batch-interval",
        "2",
    ]
}

async fn run_flow(devnet: &Devnet, data_dir: &std::path::Path) {
    let client = devnet.client();
    // Subscriptions over WebSocket, on the same port.
    let ws = jsonrpsee::ws_client::WsClientBuilder::default()
        .build(devnet.rpc.replace("http://", "ws://"))
        .await
        .expect("WebSocket");
    let mut heads = ws
        .subscribe_events(SubscriptionKind::NewHeads)
        .await
        .expect("newHeads");
    let mut finals = ws
        .subscribe_events(SubscriptionKind::Finalized)
        .await
        .expect("finalized");
    let info = client.chain_info().await.expect("chainInfo");
    let models: Vec<ModelJson> = client.models().await.expect("models");
    assert_eq!(models.len(), 5, "{models:?}");
    let regressor = models
        .iter()
        .find(|m| m.name == "diabetes-ridge")
        .expect("the demo regressor is served");
    assert_eq!(regressor.task, "regression");
    assert!(regressor.output_scale > 0.0 && regressor.input_features.is_some());
    let trees = models
        .iter()
        .find(|m| m.name == "breast-cancer-gbt")
        .expect("the demo tree model is served");
    assert_eq!(
        (trees.task.as_str(), trees.input_dtype.as_str()),
        ("classification", "i32")
    );
    let reference: HashMap<B256, Model> =
        models.iter().map(|m| (m.id, demo_model(&m.name))).collect();

    // Several senders at once, each in nonce order.
    let mut tasks = Vec::new();
    for s in 0..SENDERS {
        let (client, info, models) = (devnet.client(), info.clone(), models.clone());
        tasks.push(tokio::spawn(async move {
            let key = dev_key(s + 1);
            let mut sent = Vec::new();
            for nonce in 0..PER_SENDER {
                let model = &models[(nonce as usize + s) % models.len()];
                let input = input_for(model, (s as u64) << 32 | nonce);
                let request = signed(&info, &key, model, input.clone(), nonce);
                let receipt: InferenceReceipt = client
                    .send_inference(request)
                    .await
                    .unwrap_or_else(|e| panic!("sender {s} nonce {nonce}: {e}"));
                sent.push((model.id, input, receipt));
            }
            sent
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("sender task"));
    }
    assert_eq!(all.len(), SENDERS * PER_SENDER as usize);

    // Every answer is the reference interpreter's output.
    for (model_id, input, receipt) in &all {
        let expected = verdict_specs::interpreter::run(&reference[model_id], input).expect("runs");
        assert_eq!(receipt.output, expected, "record {}", receipt.record_hash);
    }

    // Wait until every record is final on L1.
    let deadline = Instant::now() + Duration::from_secs(180);
    let last_block = all
        .iter()
        .map(|(_, _, r)| r.block_number)
        .max()
        .expect("records");
    loop {
        let block = client
            .get_block_by_number(format!("{:#x}", last_block.to::<u64>()), None)
            .await
            .expect("getBlockByNumber");
        if block.is_some_and(|b| b.status == Status::Finalized) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "block {last_block} not final in time"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // L1's view of the batches: the current header at each index.
    let deployment = Deployment::read(&data_dir.join("deployment.json")).expect("deployment file");
    let l1_client = L1Client::connect(&devnet.l1_rpc, None, ClientConfig::default())
        .await
        .expect("L1");
    let latest = l1_client.block_number().await.expect("L1 head");
    let l1 = VerdictL1::new(l1_client, deployment).expect("binds");
    let mut on_l1: BTreeMap<u64, BatchHeader> = BTreeMap::new();
    let domain = verdict_rpc::signing::domain_of(&info);
    let mut totals = (0usize, 0usize, 0u64);
    for (header, tx) in l1
        .posted_batch_logs(0, latest)
        .await
        .expect("BatchPosted logs")
    {
        if l1.batch_hash(header.index).await.expect("batchHashes") != B256::from(header.hash()) {
            continue;
        }
        // Data availability: the blocks can be rebuilt from the calldata alone and
        // commit to exactly the posted header.
        let (records, bytes, gas) = check_calldata(&l1, tx, &header, &domain).await;
        totals.0 += records;
        totals.1 += bytes;
        totals.2 += gas;
        on_l1.insert(header.index, header);
    }

    // A figure for the notes (run with --nocapture), not an assertion.
    println!(
        "L1 cost: {} records in {} batches, {} bytes of batch data ({:.0} B/record), {} gas ({:.0} gas/record)",
        totals.0,
        on_l1.len(),
        totals.1,
        totals.1 as f64 / totals.0.max(1) as f64,
        totals.2,
        totals.2 as f64 / totals.0.max(1) as f64
    );
    let head = l1.head().await.expect("head");
    assert!(head.finalized_count >= 1 && head.finalized_count == head.batch_count);

    // Every record: status finalized, proof valid up to the output root L1 holds.
    for (_, _, receipt) in &all {
        let found = client
            .get_inference(receipt.record_hash)
            .await
            .expect("getInference")
            .expect("the record is known");
        assert_eq!(found.status, Status::Finalized);
        assert_eq!(found.record.output, receipt.output);
        let proof = found.proof.expect("a posted record has a proof");
        let root = verify_inclusion(&receipt.record_hash.0, &proof).expect("the proof verifies");
        let header = &on_l1[&proof.batch_index.to::<u64>()];
        assert_eq!(root, header.output_root, "record {}", receipt.record_hash);
        let block = proof.block.number.to::<u64>();
        assert!(header.first_block <= block && block <= header.last_block);
    }

    // Blocks chain from the genesis to the head.
    let head_number = client
        .block_number()
        .await
        .expect("blockNumber")
        .to::<u64>();
    let mut parent = client
        .get_block_by_number("earliest".into(), None)
        .await
        .expect("genesis")
        .expect("exists")
        .header
        .hash;
    for n in 1..=head_number {
        let block = client
            .get_block_by_number(format!("{:#x}", n), None)
            .await
            .expect("getBlockByNumber")
            .expect("sealed");
        assert_eq!(block.header.parent_hash, parent, "block {n}");
        parent = block.header.hash;
    }
    assert!(head_number >= 2, "several blocks were sealed");
    // The subscriptions saw blocks and final batches.
    let head = tokio::time::timeout(Duration::from_secs(10), heads.next())
        .await
        .expect("a head arrives")
        .expect("stream open")
        .expect("decodes");
    assert!(matches!(head, SubscriptionEvent::Head(_)), "{head:?}");
    let fin = tokio::time::timeout(Duration::from_secs(10), finals.next())
        .await
        .expect("a finalized batch arrives")
        .expect("stream open")
        .expect("decodes");
    assert!(
        matches!(fin, SubscriptionEvent::Batch(ref b) if b.status == Status::Finalized),
        "{fin:?}"
    );

    // Metrics on the same port.
    let metrics = support::http_get(&devnet.rpc, "/metrics");
    assert!(metrics.contains("verdict_records_total"), "{metrics}");
    assert!(
        metrics.contains("verdict_batch_finalized_height"),
        "{metrics}"
    );

    // `verdict infer`, the command, as a user runs it: one JSON object at the end.
    let input = data_dir.join("input.txt");
    std::fs::write(&input, vec!["3"; 64].join(" ")).expect("input");
    let answer = infer_json(
        &devnet.rpc,
        &["--model", "digits-mlp", "--wait", "posted", "--raw"],
        &input,
    );
    for field in ["record_hash", "output", "block", "index", "status"] {
        assert!(answer.get(field).is_some(), "{field} missing: {answer}");
    }
    assert!(
        matches!(answer["status"].as_str(), Some("posted" | "finalized")),
        "{answer}"
    );
    let expected = verdict_specs::interpreter::run(
        &demo_model("digits-mlp"),
        &verdict_specs::Tensor::from_i8(vec![64], vec![3; 64]).expect("tensor"),
    )
    .expect("runs");
    let output: verdict_specs::Tensor =
        serde_json::from_value(answer["output"].clone()).expect("tensor");
    assert_eq!(output, expected);

    // The regressor from float features, as `verdict model run` reads them: the node's
    // per-feature quantization is applied, and the answer is the dequantized value.
    let features = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/inputs/diabetes-row-0.json");
    let answer = infer_json(&devnet.rpc, &["--model", "diabetes-ridge"], &features);
    assert_eq!(answer["task"], "regression", "{answer}");
    assert!(answer["class"].is_null(), "{answer}");
    let model = demo_model("diabetes-ridge");
    let output = run_on_features(&model, &features);
    let value = model.output_values(&output).expect("a regressor")[0];
    let answered = answer["value"][0].as_f64().expect("a value");
    assert!((answered - value).abs() < 1e-9, "{answered} vs {value}");
    // onnxruntime gives 239.005 for this row on the float model.
    assert!((answered - 239.0).abs() < 3.0, "{answered}");

    // The tree model from float features: quantized to its i32 input by the CLI, the
    // class is what `verdict model run` gives (and onnxruntime: 0).
    let features = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/inputs/breast-cancer-row-0.json");
    let answer = infer_json(&devnet.rpc, &["--model", "breast-cancer-gbt"], &features);
    assert_eq!(answer["task"], "classification", "{answer}");
    let output = run_on_features(&demo_model("breast-cancer-gbt"), &features);
    assert_eq!(answer["class"].as_i64(), output.data().get(0), "{answer}");
    assert_eq!(answer["class"].as_i64(), Some(0), "{answer}");

    // The forecaster: a window of 32 weekly changes in, the next change out, as
    // `verdict model run` computes it.
    let features = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/inputs/co2-window-0.json");
    let answer = infer_json(&devnet.rpc, &["--model", "co2-tcn"], &features);
    assert_eq!(answer["task"], "regression", "{answer}");
    let model = demo_model("co2-tcn");
    let output = run_on_features(&model, &features);
    let value = model.output_values(&output).expect("a regressor")[0];
    let answered = answer["value"][0].as_f64().expect("a value");
    assert!((answered - value).abs() < 1e-9, "{answered} vs {value}");

    let log = devnet.log.lock().expect("log").clone();
    assert!(log.iter().any(|l| l.starts_with("block")), "{log:?}");
    assert!(log.iter().any(|l| l.contains("finalized")), "{log:?}");
}

/// What `verdict model run` computes for the float features in `path`: quantized with
/// the model's own input spec, run by the reference interpreter.
fn run_on_features(model: &Model, path: &std::path::Path) -> verdict_specs::Tensor {
    let text = std::fs::read_to_string(path).expect("features");
    let floats: Vec<f64> = serde_json::from_str(&text).expect("numbers");
    let input =
        verdict_specs::quantize::quantize_input(&model.graph().input, &floats).expect("quantizes");
    verdict_specs::interpreter::run(model, &input).expect("runs")
}

/// `verdict infer --rpc RPC ARGS --json --input INPUT`, as a user runs it: it succeeds
/// and prints one JSON object.
fn infer_json(rpc: &str, args: &[&str], input: &std::path::Path) -> serde_json::Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args(["infer", "--rpc", rpc])
        .args(args)
        .args(["--json", "--input"])
        .arg(input)
        .output()
        .expect("verdict infer runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

/// `verdict devnet --data-dir DIR`, killed and started again on DIR, continues the same
/// chain: the same contracts, the answered record still there, new requests go on from
/// the next nonce.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_devnet_continues_the_same_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let args = fast_devnet_args();
    let first = Devnet::start(dir.path(), &args);
    let client = first.client();
    let info = client.chain_info().await.expect("chainInfo");
    let model = client
        .get_model("digits-cnn".into())
        .await
        .expect("getModel")
        .expect("served");
    let key = dev_key(2);
    let receipt = client
        .send_inference(signed(&info, &key, &model, input_for(&model, 1), 0))
        .await
        .expect("answered");
    drop(first); // SIGKILL

    let second = Devnet::start(dir.path(), &args);
    let client = second.client();
    let again = client.chain_info().await.expect("chainInfo");
    assert_eq!(again.rollup, info.rollup, "the same deployment");
    let found = client
        .get_inference(receipt.record_hash)
        .await
        .expect("getInference")
        .expect("the answered record survived the kill");
    assert_eq!(found.block_number, receipt.block_number);
    let account = client.get_account(key.address()).await.expect("account");
    assert_eq!(account.nonce.to::<u64>(), 1);
    let next = client
        .send_inference(signed(&info, &key, &model, input_for(&model, 2), 1))
        .await
        .expect("the chain goes on");
    assert!(next.block_number >= receipt.block_number);
}
