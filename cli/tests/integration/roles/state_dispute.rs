//! State-transition fraud proofs end to end (specs/state.md §6), with real processes on
//! the embedded L1: `verdict devnet --faulty-sequencer 1 --fault-mode fee|deposit|
//! withdrawal` gets a block's state transition wrong (a fee above the registered one, a
//! mis-credited deposit, a withdrawal its sender never signed); the devnet's challenger
//! recomputes every block's transition from L1 alone, opens a state game against the
//! block, and wins it: the batch is reverted and the sequencer's bond slashed. For the
//! fee case the challenger is not the devnet's but one running inside `verdict node
//! --challenge-key` (a full node that disputes what it finds).

use std::time::{Duration, Instant};

use alloy::primitives::U256;
use verdict_l1::bindings::Rollup;
use verdict_l1::client::{ClientConfig, L1Client};
use verdict_l1::contracts::VerdictL1;
use verdict_l1::deploy::Deployment;
use verdict_l1::games::game_of;
use verdict_rpc::VerdictApiClient;
use verdict_specs::game::Status as GameStatus;

use verdict_rpc::signing::{domain_of, sign_request_json};
use verdict_specs::l2::request::InferenceRequest;

use crate::support::{Devnet, dev_key, input_for};

/// A `verdict node --challenge-key` process, killed when dropped.
struct NodeWithChallenger(std::process::Child);

impl Drop for NodeWithChallenger {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn caught(mode: &'static str, in_node: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut args = vec![
        "--block-time",
        "0.2",
        "--l1-block-time",
        "0.5",
        "--dispute-window",
        "80",
        "--batch-blocks",
        "4",
        "--batch-interval",
        "2",
        "--faulty-sequencer",
        "1",
        "--fault-mode",
        mode,
    ];
    if in_node {
        args.push("--no-challenger");
    }
    let devnet = Devnet::start(dir.path(), &args);
    let _node = in_node.then(|| {
        let key = format!("0x{}", alloy::hex::encode(dev_key(8).to_bytes()));
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_verdict"))
            .args([
                "node",
                "--stop-on-stdin-eof",
                "--rpc-port",
                "0",
                "--poll-ms",
                "200",
            ])
            .args([
                "--l1-rpc",
                &devnet.l1_rpc,
                "--challenge-key",
                &key,
                "--deployment",
            ])
            .arg(dir.path().join("deployment.json"))
            .arg("--data-dir")
            .arg(dir.path().join("node"))
            .env(
                "RUST_LOG",
                std::env::var("VERDICT_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("verdict node starts");
        NodeWithChallenger(child)
    });
    let client = devnet.client();
    if mode != "deposit" {
        // One paid request: the fault rides on it.
        let info = client.chain_info().await.expect("chainInfo");
        let models = client.models().await.expect("models");
        let model = &models[0];
        let user = dev_key(2);
        let nonce = client
            .get_account(user.address())
            .await
            .expect("account")
            .nonce
            .to::<u64>();
        // A max fee above the fee, so the faulty sequencer can overcharge within it.
        let request = InferenceRequest {
            sender: user.address().into_array(),
            nonce,
            model_id: model.id.0,
            input: input_for(model, 3),
            max_fee: model.fee_per_inference.to::<u128>() * 2,
        };
        let signed = sign_request_json(&user, request, &domain_of(&info)).expect("signs");
        client.send_inference(signed).await.expect("answered");
    }
    let deployment =
        Deployment::read(&dir.path().join("deployment.json")).expect("deployment file");
    let l1 = VerdictL1::new(
        L1Client::connect(&devnet.l1_rpc, None, ClientConfig::default())
            .await
            .expect("L1"),
        deployment,
    )
    .expect("binds");

    // A state game is opened and the challenger wins it.
    let deadline = Instant::now() + Duration::from_secs(240);
    let status = 'wait: loop {
        let latest = l1.client().block_number().await.expect("L1 head");
        for event in l1.state_games_opened(0, latest).await.expect("logs") {
            let view = l1.game(event.gameId.to::<u64>()).await.expect("game");
            let game = game_of(&view).expect("status");
            if game.status.is_over() {
                break 'wait game.status;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{mode}: no state game ended in time"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(status, GameStatus::ChallengerWon, "{mode}");
    let burnt = l1
        .client()
        .read(l1.deployment().rollup, Rollup::burntCall {})
        .await
        .expect("burnt");
    assert!(burnt > U256::ZERO, "{mode}: the sequencer was slashed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_fee_is_caught_by_a_full_node_running_a_challenger() {
    caught("fee", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_miscredited_deposit_is_caught_by_a_state_game() {
    caught("deposit", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_withdrawal_is_caught_by_a_state_game() {
    caught("withdrawal", false).await;
}
