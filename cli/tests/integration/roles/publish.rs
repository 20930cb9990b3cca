//! Bringing a model to the network, end to end with real processes: a model nobody has
//! seen is imported from ONNX in the test, published with `verdict model publish`
//! (registered on L1, uploaded to the sequencer), served without a restart, called with
//! float features (`verdict infer`) to the same output as `verdict model run`; the
//! devnet's challenger, never given the file, fetches it from the sequencer, re-executes
//! the record, and the batch finalizes. A sequencer answering that model wrongly is caught
//! and loses. A model registered without a file is reported by the sequencer's metrics.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use alloy::primitives::B256;
use serde_json::Value;
use verdict_rpc::VerdictApiClient;
use verdict_specs::game::Status as GameStatus;

use super::dispute::{devnet_args, game_ended, l1_of};
use super::full_node::NodeProcess;
use crate::support::{Devnet, dev_key, http_get};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn verdict(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("verdict runs")
}

fn json_of(out: &Output, what: &str) -> Value {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{what} prints JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Imports `onnx` (a model no devnet serves) with the diabetes data into `dir`.
fn import(onnx: &str, dir: &Path) -> PathBuf {
    let output = dir.join("published.vdm");
    let data = repo().join("data/diabetes");
    let out = Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args(["model", "import"])
        .arg(repo().join(onnx))
        .arg("--calibration")
        .arg(data.join("calibration.csv"))
        .arg("-o")
        .arg(&output)
        .output()
        .expect("verdict model import runs");
    assert!(
        out.status.success(),
        "import: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    output
}

fn publish(devnet: &Devnet, dir: &Path, file: &Path, name: &str, upload: bool) -> Value {
    let deployment = dir.join("deployment.json");
    let key = format!("{}", dev_key(3).to_bytes());
    let mut args = vec![
        "model",
        "publish",
        file.to_str().expect("utf-8 path"),
        "--name",
        name,
        "--fee",
        "1000",
        "--l1-rpc",
        &devnet.l1_rpc,
        "--deployment",
        deployment.to_str().expect("utf-8 path"),
        "--key",
        &key,
        "--json",
    ];
    if upload {
        args.extend(["--rpc", &devnet.rpc]);
    }
    json_of(&verdict(&args), "verdict model publish")
}

const FEATURES: &str = "examples/inputs/diabetes-row-0.json";

/// `verdict model run --json` of `file` on FEATURES: the answer the network must give.
fn model_run(file: &Path) -> Value {
    json_of(
        &verdict(&[
            "model",
            "run",
            file.to_str().expect("utf-8"),
            "--input",
            repo().join(FEATURES).to_str().expect("utf-8"),
            "--json",
        ]),
        "verdict model run",
    )
}

/// `verdict infer --json` with the float features of FEATURES, waiting for `wait`.
fn infer(devnet: &Devnet, model: &str, wait: &str) -> Value {
    let key = format!("{}", dev_key(2).to_bytes());
    let input = repo().join(FEATURES);
    json_of(
        &verdict(&[
            "infer",
            "--rpc",
            &devnet.rpc,
            "--model",
            model,
            "--input",
            input.to_str().expect("utf-8 path"),
            "--key",
            &key,
            "--wait",
            wait,
            "--timeout",
            "240",
            "--json",
        ]),
        "verdict infer",
    )
}

/// The client libraries' command lines (installed by scripts/clients.sh, which `make
/// test` runs first): the Python package in its virtualenv, the built JS package.
fn client_commands() -> Vec<(&'static str, Command)> {
    let python = repo().join("target/clients/venv/bin/python");
    let js = repo().join("clients/js/dist/cli.js");
    for (path, what) in [(&python, "the Python client"), (&js, "the JS client")] {
        assert!(
            path.exists(),
            "{what} is not installed at {}: run scripts/clients.sh (make test does)",
            path.display()
        );
    }
    let mut py = Command::new(python);
    py.args(["-m", "verdict_client"]);
    let mut node = Command::new("node");
    node.arg(js);
    vec![("python", py), ("js", node)]
}

/// A client library's `infer` of FEATURES on `model`, as JSON.
fn client_infer(devnet: &Devnet, mut command: Command, key: usize, via_prepare: bool) -> Value {
    let key = format!("{}", dev_key(key).to_bytes());
    let input = repo().join(FEATURES);
    command.args([
        "infer",
        "--rpc",
        &devnet.rpc,
        "--l1-rpc",
        &devnet.l1_rpc,
        "--model",
        "diabetes-mlp",
        "--features",
        input.to_str().expect("utf-8"),
        "--key",
        &key,
        "--wait",
        "posted",
        "--json",
    ]);
    if via_prepare {
        command.arg("--via-prepare");
    }
    let out = command.output().expect("the client runs");
    json_of(&out, "a client library's infer")
}

async fn metrics(devnet: &Devnet) -> String {
    let rpc = devnet.rpc.clone();
    tokio::task::spawn_blocking(move || http_get(&rpc, "/metrics"))
        .await
        .expect("GET /metrics")
}

/// The value of the unlabelled `metric`, if it is exported.
fn metric(text: &str, metric: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(metric)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn a_published_model_is_served_checked_by_a_challenger_that_fetched_it_and_final() {
    let dir = tempfile::tempdir().expect("tempdir");
    let devnet = Devnet::start(dir.path(), &devnet_args(&[]));
    let files = tempfile::tempdir().expect("tempdir");
    let file = import("models/sklearn/diabetes-mlp.onnx", files.path());
    // A second model registered with no file anywhere: the sequencer must say so.
    let orphan_file = import(
        "models/sklearn/diabetes-linear.onnx",
        &files.path().join("o"),
    );
    let orphan = publish(&devnet, dir.path(), &orphan_file, "orphan", false);
    assert_eq!(orphan["served"], Value::Null, "{orphan}");

    let started = Instant::now();
    let published = publish(&devnet, dir.path(), &file, "diabetes-mlp", true);
    let id: B256 = published["model_id"]
        .as_str()
        .expect("model_id")
        .parse()
        .expect("a hash");
    assert_eq!(published["name"], "diabetes-mlp");
    assert!(
        published["l1_tx"].as_str().is_some_and(|tx| tx.len() == 66),
        "{published}"
    );
    assert_eq!(published["served"], true, "{published}");
    let served = devnet
        .client()
        .get_model("diabetes-mlp".into())
        .await
        .expect("getModel")
        .expect("served without a restart");
    assert_eq!(served.id, id);
    assert_eq!(
        served.fee_per_inference,
        alloy::primitives::U256::from(1000)
    );

    let answer = infer(&devnet, "diabetes-mlp", "posted");
    eprintln!(
        "publish to the first posted answer: {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let local = model_run(&file);
    assert_eq!(
        answer["output"], local["output"],
        "the network answers as model run"
    );
    assert_eq!(answer["fee"], "1000");
    // The client libraries, each from its own account: float features quantized from
    // the model's metadata and signed locally; and (Python) signed with eth_account from
    // the typed data verdict_prepareInference gives.
    for (i, (name, command)) in client_commands().into_iter().enumerate() {
        let answer = client_infer(&devnet, command, 4 + i, false);
        assert_eq!(answer["output"], local["output"], "{name}: {answer}");
    }
    let (_, python) = client_commands().remove(0);
    let prepared = client_infer(&devnet, python, 6, true);
    assert_eq!(
        prepared["output"], local["output"],
        "python via prepare: {prepared}"
    );

    let record: B256 = answer["record_hash"]
        .as_str()
        .expect("record_hash")
        .parse()
        .expect("a hash");
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let found = devnet
            .client()
            .get_inference(record)
            .await
            .expect("getInference")
            .expect("recorded");
        if found.status == verdict_rpc::types::Status::Finalized {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the record's batch is not final in time"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let text = metrics(&devnet).await;
    assert!(
        text.lines()
            .any(|l| l.starts_with("verdict_challenger_models_fetched_total")
                && l.contains(&devnet.rpc)),
        "the devnet's challenger fetched the model from the sequencer:\n{text}"
    );
    // The orphan was registered over 20 s ago (the upload grace) and nobody has it.
    let deadline = Instant::now() + Duration::from_secs(60);
    while metric(
        &metrics(&devnet).await,
        "verdict_sequencer_models_unobtainable",
    ) != Some(1.0)
    {
        assert!(
            Instant::now() < deadline,
            "the sequencer reports the registered model it cannot obtain:\n{}",
            metrics(&devnet).await
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn a_sequencer_answering_a_published_model_wrongly_loses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let devnet = Devnet::start(
        dir.path(),
        &devnet_args(&["--faulty-sequencer", "1", "--fault-mode", "output"]),
    );
    let files = tempfile::tempdir().expect("tempdir");
    let file = import("models/sklearn/diabetes-mlp.onnx", files.path());
    let published = publish(&devnet, dir.path(), &file, "diabetes-mlp", true);
    assert_eq!(published["served"], true, "{published}");
    let answer = infer(&devnet, "diabetes-mlp", "posted");
    let local = model_run(&file);
    assert_ne!(
        answer["output"], local["output"],
        "the faulty sequencer lied"
    );
    let l1 = l1_of(&devnet, dir.path()).await;
    let (_, status) = game_ended(&l1, Duration::from_secs(240)).await;
    assert_eq!(
        status,
        GameStatus::ChallengerWon,
        "the challenger, which fetched the published model, won"
    );
}

#[test]
fn publishing_refuses_what_the_registry_would() {
    let dir = tempfile::tempdir().expect("tempdir");
    let devnet = Devnet::start(dir.path(), &devnet_args(&[]));
    let deployment = dir.path().join("deployment.json");
    let deployment = deployment.to_str().expect("utf-8");
    let demo = repo().join("models/digits/digits-mlp.vdm");
    let demo = demo.to_str().expect("utf-8");
    let unfunded = format!(
        "{}",
        alloy::signers::local::PrivateKeySigner::random().to_bytes()
    );
    let files = tempfile::tempdir().expect("tempdir");
    let fresh = import("models/sklearn/diabetes-linear.onnx", files.path());
    let fresh = fresh.to_str().expect("utf-8");
    let not_a_model = files.path().join("junk.vdm");
    std::fs::write(&not_a_model, b"not a model").expect("write");
    let base = [
        "--l1-rpc",
        devnet.l1_rpc.as_str(),
        "--deployment",
        deployment,
    ];
    let refused = |file: &str, name: &str, extra: &[&str], words: &[&str]| {
        let mut args = vec!["model", "publish", file, "--name", name];
        args.extend(base);
        args.extend(extra);
        let out = verdict(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        for word in words {
            assert!(stderr.contains(word), "{args:?}: {word:?} not in {stderr}");
        }
    };
    refused(
        demo,
        "another-name",
        &[],
        &["already registered", "digits-mlp", "verdict model upload"],
    );
    refused(fresh, "digits-mlp", &[], &["taken by model"]);
    refused(fresh, "Bad Name", &[], &["1 to 64 bytes"]);
    refused(fresh, "fresh", &["--key", &unfunded], &["no ETH"]);
    refused(
        not_a_model.to_str().expect("utf-8"),
        "fresh",
        &[],
        &["not a Verdict model file"],
    );
}

/// A full node given a model source fetches the file of a published model when a record
/// names it, re-executes the record and serves the file on; a model uploaded to the full
/// node (`verdict model upload`) is served by it too.
#[tokio::test]
async fn a_full_node_fetches_published_models_and_takes_uploads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let devnet = Devnet::start(dir.path(), &devnet_args(&["--no-challenger"]));
    let files = tempfile::tempdir().expect("tempdir");
    let file = import("models/sklearn/diabetes-mlp.onnx", files.path());
    let published = publish(&devnet, dir.path(), &file, "diabetes-mlp", true);
    assert_eq!(published["served"], true, "{published}");
    let answer = infer(&devnet, "diabetes-mlp", "posted");
    assert_eq!(answer["status"], "posted", "{answer}");

    let node_dir = tempfile::tempdir().expect("tempdir");
    let node = NodeProcess::start_with(
        &devnet.l1_rpc,
        &dir.path().join("deployment.json"),
        node_dir.path(),
        &["--model-source", &devnet.rpc],
    );
    let client = crate::support::http_client(&node.rpc);
    let bytes = std::fs::read(&file).expect("the model file");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(Some(chunk)) = client
            .get_model_file("diabetes-mlp".into(), None, None)
            .await
        {
            assert_eq!(
                chunk.data.as_ref(),
                bytes.as_slice(),
                "the node serves the file on"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the full node fetched the published model"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    let other = import(
        "models/sklearn/diabetes-linear.onnx",
        &files.path().join("b"),
    );
    let registered = publish(&devnet, dir.path(), &other, "diabetes-linear", false);
    let out = verdict(&[
        "model",
        "upload",
        other.to_str().expect("utf-8"),
        "--rpc",
        &node.rpc,
        "--json",
    ]);
    let uploaded = json_of(&out, "verdict model upload");
    assert_eq!(uploaded["model_id"], registered["model_id"]);
    assert_eq!(uploaded["served"], true, "{uploaded}");
}
