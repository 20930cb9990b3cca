//! `verdict verify`: an answer checked against L1 while it is pending and once it is final,
//! and against a lying L2 endpoint (a wrong output, a forged proof, a whole fake chain
//! that hangs together) it says NOT VERIFIED and exits 1.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{B256, U64};
use jsonrpsee::RpcModule;
use jsonrpsee::server::Server;
use jsonrpsee::types::ErrorObjectOwned;
use verdict_rpc::VerdictApiClient;
use verdict_rpc::types::{BlockHeaderJson, InferenceJson, ModelJson};
use verdict_specs::l2::block::BlockHeader;
use verdict_specs::l2::record::InferenceRecord;

use crate::support::{Devnet, dev_key, input_for, signed};

/// Runs `verdict verify HASH --json` against `rpc`; (exit success, the JSON).
fn verify(
    rpc: &str,
    l1_rpc: &str,
    deployment: &std::path::Path,
    hash: B256,
) -> (bool, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args([
            "verify",
            &hash.to_string(),
            "--rpc",
            rpc,
            "--l1-rpc",
            l1_rpc,
            "--json",
        ])
        .arg("--deployment")
        .arg(deployment)
        .output()
        .expect("verdict verify runs");
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "verify printed no JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), json)
}

/// An L2 endpoint that answers `verdict_getInference` with `served` whatever is asked.
async fn liar(served: serde_json::Value) -> (String, jsonrpsee::server::ServerHandle) {
    let server = Server::builder().build("127.0.0.1:0").await.expect("binds");
    let url = format!("http://{}", server.local_addr().expect("address"));
    let served = Arc::new(served);
    let mut module = RpcModule::new(());
    module
        .register_method("verdict_getInference", move |_, _, _| {
            Ok::<_, ErrorObjectOwned>((*served).clone())
        })
        .expect("registers");
    (url, server.start(module))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_verify_against_l1_and_lies_do_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let devnet = Devnet::start(
        dir.path(),
        &[
            "--block-time",
            "0.2",
            "--l1-block-time",
            "0.5",
            "--dispute-window",
            "16",
            "--batch-blocks",
            "1",
            "--batch-interval",
            "1",
            "--no-challenger",
        ],
    );
    let deployment = dir.path().join("deployment.json");
    let client = devnet.client();
    let info = client.chain_info().await.expect("chainInfo");
    let models: Vec<ModelJson> = client.models().await.expect("models");
    let model = &models[0];
    let receipt = client
        .send_inference(signed(&info, &dev_key(1), model, input_for(model, 1), 0))
        .await
        .expect("answered");
    let hash = receipt.record_hash;

    // Pending, then final.
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut seen_pending = false;
    loop {
        let (ok, json) = verify(&devnet.rpc, &devnet.l1_rpc, &deployment, hash);
        match json["verdict"]["status"].as_str() {
            Some("pending") => {
                assert!(ok, "{json}");
                assert!(json["verdict"]["window_end"].as_u64().is_some(), "{json}");
                seen_pending = true;
            }
            Some("final") => {
                assert!(ok, "{json}");
                assert_eq!(
                    json["output"],
                    serde_json::to_value(&receipt.output).expect("json")
                );
                break;
            }
            Some("not_posted") => assert!(!ok, "not verified before it is posted: {json}"),
            other => panic!("unexpected verdict {other:?}: {json}"),
        }
        assert!(Instant::now() < deadline, "not final in time: {json}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(
        seen_pending,
        "the answer was seen pending before it was final"
    );

    let honest: InferenceJson = client
        .get_inference(hash)
        .await
        .expect("getInference")
        .expect("known");

    // 1. A wrong output under the honest record.
    let mut wrong = honest.clone();
    let mut output = serde_json::to_value(&wrong.record.output).expect("json");
    let first = output["data"][0].as_i64().expect("a number");
    output["data"][0] = (if first == 1 { 2 } else { 1 }).into();
    wrong.record.output = serde_json::from_value(output).expect("tensor");
    // 2. A forged proof.
    let mut forged = honest.clone();
    if let Some(proof) = forged.proof.as_mut() {
        proof.block.records_root = B256::repeat_byte(7);
    }
    // 3. A fake chain that hangs together: a fake record in a fake block whose hash is
    //    the proof's output root. L1 never held it.
    let mut fake = honest.clone();
    fake.record.output = wrong.record.output.clone();
    fake.record.output_root = B256::from(fake.record.output.commitment());
    let record = InferenceRecord {
        request_hash: fake.record.request_hash.0,
        sender: fake.record.sender.into_array(),
        model_id: fake.record.model_id.0,
        input_root: fake.record.input_root.0,
        output_root: fake.record.output_root.0,
        fee: fake.record.fee.to::<u128>(),
    };
    fake.record.record_hash = B256::from(record.hash());
    let proof = fake.proof.as_mut().expect("posted");
    let mut block: BlockHeader = proof.block.to_header();
    block.records_root = record.hash();
    proof.record_proof.clear();
    proof.index = U64::ZERO;
    proof.block = BlockHeaderJson::from(&block);
    proof.later_headers.clear();
    proof.output_root = B256::from(block.hash());

    for (what, served, asked, expect) in [
        ("wrong output", wrong, hash, "output served"),
        ("forged proof", forged, hash, "inclusion proof"),
        (
            "fake chain",
            fake.clone(),
            fake.record.record_hash,
            "L1 never held",
        ),
    ] {
        let (url, handle) = liar(serde_json::to_value(&served).expect("json")).await;
        let (ok, json) = verify(&url, &devnet.l1_rpc, &deployment, asked);
        assert!(!ok, "{what}: verify must fail: {json}");
        assert_eq!(json["verified"], false, "{what}: {json}");
        let reason = json["verdict"]["reason"].as_str().unwrap_or_default();
        assert!(reason.contains(expect), "{what}: {json}");
        let _ = handle.stop();
    }
}
