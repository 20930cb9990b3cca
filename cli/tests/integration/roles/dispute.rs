//! Fraud proofs end to end, with real processes on the embedded L1:
//! - `verdict devnet --faulty-sequencer` answers exactly one of 1,000 requests wrongly;
//!   the devnet's challenger (sample rate 1) finds it in the L1 calldata, wins the game,
//!   the batch and its descendants are reverted, the sequencer's bond is slashed, and the
//!   chain goes on with honest batches that finalize (the wrong answer comes back right);
//! - the same with a wrong *intermediate* value flowing on to the output;
//! - `verdict challenger --lie` loses its bond against an honest sequencer, with the
//!   challenger and the whole devnet killed (SIGKILL) and restarted in the middle of the
//!   game: both resume and the game ends correctly.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy::primitives::{B256, U256};
use alloy::providers::Provider;
use verdict_devnet::DEMO_MODELS;
use verdict_l1::bindings::Rollup;
use verdict_l1::client::{ClientConfig, L1Client};
use verdict_l1::contracts::VerdictL1;
use verdict_l1::deploy::Deployment;
use verdict_l1::games::game_of;
use verdict_rpc::VerdictApiClient;
use verdict_rpc::signing::domain_of;
use verdict_rpc::types::{ChainInfo, InferenceReceipt, ModelJson, Status};
use verdict_sequencer::fault::{FaultMode, FaultPlan};
use verdict_specs::Model;
use verdict_specs::game::Status as GameStatus;
use verdict_specs::l2::record::InferenceRecord;
use verdict_specs::l2::request::InferenceRequest;

use crate::support::{Devnet, dev_key, input_for, signed};

const FAULT_RATE: f64 = 0.02;

fn demo_model(name: &str) -> Model {
    let (_, bytes) = DEMO_MODELS
        .iter()
        .find(|(n, _)| *n == name)
        .expect("a demo model");
    Model::decode(bytes).expect("decodes")
}

pub(super) fn devnet_args(extra: &[&'static str]) -> Vec<&'static str> {
    let mut args = vec![
        "--block-time",
        "0.2",
        "--l1-block-time",
        "0.5",
        "--dispute-window",
        // Long enough for a challenger on a loaded CI machine to read every batch in time.
        "80",
        "--batch-blocks",
        "4",
        "--batch-interval",
        "2",
    ];
    args.extend(extra);
    args
}

pub(super) async fn l1_of(devnet: &Devnet, dir: &std::path::Path) -> VerdictL1 {
    let deployment = Deployment::read(&dir.join("deployment.json")).expect("deployment file");
    let client = L1Client::connect(&devnet.l1_rpc, None, ClientConfig::default())
        .await
        .expect("L1");
    VerdictL1::new(client, deployment).expect("binds")
}

/// One request the test sent: what the sequencer answered and what is right.
struct Sent {
    request: InferenceRequest,
    receipt: InferenceReceipt,
    honest: verdict_specs::Tensor,
}

/// Sends `per_sender` requests from each of `senders` dev accounts, choosing inputs so
/// that exactly the request `(faulty_sender, faulty_nonce)` is one the fault plan picks.
async fn send_requests(
    devnet: &Devnet,
    senders: usize,
    per_sender: u64,
    faulty: (usize, u64),
    plan: &FaultPlan,
) -> Vec<Sent> {
    let client = devnet.client();
    let info: ChainInfo = client.chain_info().await.expect("chainInfo");
    let models: Vec<ModelJson> = client.models().await.expect("models");
    let domain = domain_of(&info);
    let mut tasks = Vec::new();
    for s in 0..senders {
        let (client, info, models, plan) = (devnet.client(), info.clone(), models.clone(), *plan);
        tasks.push(tokio::spawn(async move {
            let key = dev_key(s + 1);
            let mut sent = Vec::new();
            for nonce in 0..per_sender {
                let model = &models[(nonce as usize + s) % models.len()];
                let want_fault = (s, nonce) == faulty;
                // Try inputs until the plan's choice is the one wanted.
                let mut seed = (s as u64) << 40 | nonce << 8;
                let (request, json) = loop {
                    let input = input_for(model, seed);
                    let request = InferenceRequest {
                        sender: key.address().into_array(),
                        nonce,
                        model_id: model.id.0,
                        input: input.clone(),
                        max_fee: model.fee_per_inference.to::<u128>(),
                    };
                    let hash = request.signing_hash_with(&domain, &input.commitment());
                    if plan.is_faulty(&hash) == want_fault {
                        break (request, signed(&info, &key, model, input, nonce));
                    }
                    seed += 1;
                };
                let receipt = client
                    .send_inference(json)
                    .await
                    .unwrap_or_else(|e| panic!("sender {s} nonce {nonce}: {e}"));
                let honest =
                    verdict_specs::interpreter::run(&demo_model(&model.name), &request.input)
                        .expect("runs");
                sent.push(Sent {
                    request,
                    receipt,
                    honest,
                });
            }
            sent
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("sender task"));
    }
    all
}

/// Waits until a game on L1 has ended; returns its id and final status.
pub(super) async fn game_ended(l1: &VerdictL1, timeout: Duration) -> (u64, GameStatus) {
    let deadline = Instant::now() + timeout;
    loop {
        let latest = l1.client().block_number().await.expect("L1 head");
        for event in l1.games_opened(0, latest).await.expect("GameOpened logs") {
            let id = event.gameId.to::<u64>();
            let view = l1.game(id).await.expect("game");
            let game = game_of(&view).expect("status");
            if game.status.is_over() {
                return (id, game.status);
            }
        }
        assert!(Instant::now() < deadline, "no game ended in time");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Waits until the record `hash` is in a finalized batch.
async fn finalized(devnet: &Devnet, hash: B256, timeout: Duration) {
    let client = devnet.client();
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(found)) = client.get_inference(hash).await
            && found.status == Status::Finalized
        {
            return;
        }
        assert!(Instant::now() < deadline, "record {hash} not final in time");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn a_faulty_sequencer_loses(mode: &'static str, senders: usize, per_sender: u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let devnet = Devnet::start(
        dir.path(),
        &devnet_args(&["--faulty-sequencer", "0.02", "--fault-mode", mode]),
    );
    let plan = FaultPlan {
        rate: FAULT_RATE,
        mode: mode.parse::<FaultMode>().expect("mode"),
    };
    let faulty = (1, per_sender / 2);
    let sent = send_requests(&devnet, senders, per_sender, faulty, &plan).await;
    assert_eq!(sent.len(), senders * per_sender as usize);
    let wrong: Vec<&Sent> = sent
        .iter()
        .filter(|s| s.receipt.output != s.honest)
        .collect();
    assert_eq!(
        wrong.len(),
        1,
        "exactly one wrong answer among {}",
        sent.len()
    );
    let wrong = wrong[0];

    let l1 = l1_of(&devnet, dir.path()).await;
    let (_, status) = game_ended(&l1, Duration::from_secs(240)).await;
    assert_eq!(status, GameStatus::ChallengerWon);
    // Slashed: half of the bond burnt, and the batch reverted.
    let burnt = l1
        .client()
        .read(l1.deployment().rollup, Rollup::burntCall {})
        .await
        .expect("burnt");
    assert!(burnt > U256::ZERO, "the slashed half is burnt");
    let latest = l1.client().block_number().await.expect("head");
    let reverted = l1
        .client()
        .provider()
        .get_logs(
            &alloy::rpc::types::Filter::new()
                .address(l1.deployment().rollup)
                .event_signature(
                    <Rollup::BatchesReverted as alloy::sol_types::SolEvent>::SIGNATURE_HASH,
                )
                .from_block(0)
                .to_block(latest),
        )
        .await
        .expect("logs");
    assert_eq!(reverted.len(), 1, "one revert");

    // The chain goes on: the wrong answer is executed again, right, and every record
    // ends up final.
    // The sequencer restarts its API while it rebuilds (about a second); retry through it.
    let mut info = devnet.client().chain_info().await;
    for _ in 0..50 {
        if info.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        info = devnet.client().chain_info().await;
    }
    let domain = domain_of(&info.expect("chainInfo"));
    let honest_record = |s: &Sent| {
        let input_root = s.request.input.commitment();
        InferenceRecord {
            request_hash: s.request.signing_hash_with(&domain, &input_root),
            sender: s.request.sender,
            model_id: s.request.model_id,
            input_root,
            output_root: s.honest.commitment(),
            fee: s.receipt.fee.to::<u128>(),
        }
        .hash()
    };
    finalized(
        &devnet,
        B256::from(honest_record(wrong)),
        Duration::from_secs(300),
    )
    .await;
    let client = devnet.client();
    assert!(
        client
            .get_inference(wrong.receipt.record_hash)
            .await
            .expect("getInference")
            .is_none_or(|r| r.status == Status::Reverted),
        "the wrong record is gone from the chain"
    );
    // Every record, right, in the chain and (once its batch's window passes) final.
    for s in &sent {
        finalized(
            &devnet,
            B256::from(honest_record(s)),
            Duration::from_secs(300),
        )
        .await;
    }
    let log = devnet.log.lock().expect("log").join("\n");
    assert!(
        log.contains("reverted"),
        "the devnet's log shows the revert:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_output_among_a_thousand_is_caught_and_reverted_and_the_chain_goes_on() {
    a_faulty_sequencer_loses("output", 5, 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_intermediate_value_is_caught_too() {
    a_faulty_sequencer_loses("intermediate", 2, 20).await;
}

/// `verdict challenger …` as a process (SIGKILLed when dropped).
struct ChallengerProcess(Child);

impl ChallengerProcess {
    fn start(l1_rpc: &str, deployment: &std::path::Path, data_dir: &std::path::Path) -> Self {
        let key = format!("{}", dev_key(8).to_bytes());
        let child = Command::new(env!("CARGO_BIN_EXE_verdict"))
            .args([
                "challenger",
                "--stop-on-stdin-eof",
                "--lie",
                "--l1-rpc",
                l1_rpc,
            ])
            .args(["--key", &key, "--deployment"])
            .arg(deployment)
            .arg("--data-dir")
            .arg(data_dir)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("verdict challenger starts");
        Self(child)
    }
}

impl Drop for ChallengerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lying_challenger_loses_even_when_both_sides_restart_mid_game() {
    let dir = tempfile::tempdir().expect("tempdir");
    let args = devnet_args(&["--no-challenger"]);
    let devnet = Devnet::start(dir.path(), &args);
    let challenger_dir = tempfile::tempdir().expect("tempdir");
    let deployment_file = dir.path().join("deployment.json");
    let mut challenger =
        ChallengerProcess::start(&devnet.l1_rpc, &deployment_file, challenger_dir.path());
    let plan = FaultPlan {
        rate: 0.0,
        mode: FaultMode::Output,
    };
    let sent = send_requests(&devnet, 1, 4, (usize::MAX, 0), &plan).await;
    assert!(sent.iter().all(|s| s.receipt.output == s.honest));

    // Wait for the lie to be under way: a game with at least one move made.
    let l1 = l1_of(&devnet, dir.path()).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let id = loop {
        let latest = l1.client().block_number().await.expect("head");
        let opened = l1.games_opened(0, latest).await.expect("logs");
        if let Some(event) = opened.first() {
            let id = event.gameId.to::<u64>();
            let view = l1.game(id).await.expect("game");
            if view.status > GameStatus::AwaitingFinal.code() {
                break id;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the lying challenger opened no game"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Kill both parties mid-game, then bring them back on the same data.
    drop(challenger);
    drop(devnet);
    let devnet = Devnet::start(dir.path(), &args);
    challenger = ChallengerProcess::start(&devnet.l1_rpc, &deployment_file, challenger_dir.path());
    let l1 = l1_of(&devnet, dir.path()).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        let view = l1.game(id).await.expect("game");
        let game = game_of(&view).expect("status");
        if game.status.is_over() {
            break game.status;
        }
        assert!(Instant::now() < deadline, "the game did not end");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(status, GameStatus::DefenderWon, "the liar loses");
    // The honest batch then finalizes, and nothing was reverted.
    for s in &sent {
        finalized(&devnet, s.receipt.record_hash, Duration::from_secs(120)).await;
    }
    drop(challenger);
}

/// A challenger given only one model file, and the devnet's RPC as a model source, meets
/// records of the other demo models: it fetches their files from the source (checked
/// against their ids, cached in its data dir), re-executes, and wins the game against a
/// faulty sequencer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_challenger_fetches_the_models_it_lacks_and_catches_a_fault() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().expect("tempdir");
    let args = devnet_args(&[
        "--no-challenger",
        "--faulty-sequencer",
        "0.02",
        "--fault-mode",
        "output",
    ]);
    let devnet = Devnet::start(dir.path(), &args);
    let challenger_dir = tempfile::tempdir().expect("tempdir");
    let only_model =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/digits/digits-cnn.vdm");
    let key = format!("{}", dev_key(9).to_bytes());
    let mut child = Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args([
            "challenger",
            "--stop-on-stdin-eof",
            "--l1-rpc",
            &devnet.l1_rpc,
        ])
        .args(["--key", &key, "--deployment"])
        .arg(dir.path().join("deployment.json"))
        .arg("--data-dir")
        .arg(challenger_dir.path())
        .arg("--model")
        .arg(&only_model)
        .args(["--model-source", &devnet.rpc])
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("verdict challenger starts");
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let stderr = child.stderr.take().expect("stderr");
    let lines = std::sync::Arc::clone(&log);
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            lines.lock().expect("log").push(line);
        }
    });
    let _challenger = ChallengerProcess(child);

    let plan = FaultPlan {
        rate: FAULT_RATE,
        mode: FaultMode::Output,
    };
    let sent = send_requests(&devnet, 2, 20, (1, 10), &plan).await;
    assert_eq!(
        sent.iter().filter(|s| s.receipt.output != s.honest).count(),
        1
    );
    let l1 = l1_of(&devnet, dir.path()).await;
    let (_, status) = game_ended(&l1, Duration::from_secs(240)).await;
    assert_eq!(
        status,
        GameStatus::ChallengerWon,
        "the fetching challenger won"
    );

    let log = log.lock().expect("log").join("\n");
    assert!(
        log.contains("model obtained") && log.contains(&devnet.rpc),
        "the challenger says where it got the models:\n{log}"
    );
    let cached = std::fs::read_dir(challenger_dir.path().join("models"))
        .expect("a model cache")
        .count();
    assert!(cached >= 1, "fetched files are cached by id");
}
