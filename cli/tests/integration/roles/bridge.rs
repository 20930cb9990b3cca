//! `verdict bridge`: deposit on L1 → credited on L2 → inference fees → withdrawal → the
//! batch final on L1 → `finalizeWithdrawal` pays once. A claim before finality and a
//! second claim are refused by the Bridge itself, not only by the CLI. A second
//! withdrawal is claimed by a client this project did not write (ethers v6, from npm).

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use alloy::primitives::utils::parse_ether;
use alloy::primitives::{Address, B256, U256};
use verdict_l1::client::{ClientConfig, L1Client};
use verdict_l1::contracts::VerdictL1;
use verdict_l1::deploy::Deployment;
use verdict_l1::withdrawals::WithdrawalProof;
use verdict_rpc::VerdictApiClient;
use verdict_specs::l2::withdrawal::Withdrawal;

use crate::support::{Devnet, dev_key, input_for, signed};

fn bridge(devnet: &Devnet, deployment: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_verdict"))
        .arg("bridge")
        .args(args)
        .args(["--rpc", &devnet.rpc])
        .args(["--l1-rpc", &devnet.l1_rpc])
        .arg("--deployment")
        .arg(deployment)
        .output()
        .expect("verdict bridge runs")
}

fn json_of(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn key_hex(i: usize) -> String {
    format!("0x{}", alloy::hex::encode(dev_key(i).to_bytes()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawal_is_paid_once_after_finality_and_never_before() {
    let dir = tempfile::tempdir().expect("tempdir");
    let devnet = Devnet::start(
        dir.path(),
        &[
            "--block-time",
            "0.2",
            "--l1-block-time",
            "0.5",
            "--dispute-window",
            "12",
            "--batch-blocks",
            "1",
            "--batch-interval",
            "1",
            "--no-challenger",
        ],
    );
    let deployment_path = dir.path().join("deployment.json");
    let client = devnet.client();
    let info = client.chain_info().await.expect("chainInfo");
    let user = dev_key(4);
    let key = key_hex(4);

    // 1. Deposit 1 ETH on L1 and see it credited on L2.
    let before = client.get_account(user.address()).await.expect("account");
    let out = bridge(
        &devnet,
        &deployment_path,
        &[
            "deposit", "--amount", "1", "--key", &key, "--wait", "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deposited = json_of(&out);
    let one = parse_ether("1").expect("1 ETH");
    let credited: U256 = deposited["l2Balance"]
        .as_str()
        .expect("a balance")
        .parse()
        .expect("decimal");
    assert!(credited >= before.balance + one, "{deposited}");

    // 2. Pay for an inference from that account.
    let models = client.models().await.expect("models");
    let model = &models[0];
    let nonce = client
        .get_account(user.address())
        .await
        .expect("account")
        .nonce
        .to::<u64>();
    client
        .send_inference(signed(&info, &user, model, input_for(model, 9), nonce))
        .await
        .expect("answered");
    let paid = client.get_account(user.address()).await.expect("account");
    assert_eq!(paid.balance, credited - model.fee_per_inference);

    // 3. Withdraw 0.25 ETH to a fresh L1 address.
    let recipient = Address::repeat_byte(0x5a);
    let amount = parse_ether("0.25").expect("amount");
    let out = bridge_without_l1(
        &devnet,
        &[
            "withdraw",
            "--amount",
            "0.25",
            "--to",
            &recipient.to_string(),
            "--key",
            &key,
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let receipt = json_of(&out);
    let hash: B256 = receipt["withdrawalHash"]
        .as_str()
        .expect("hash")
        .parse()
        .expect("hex");
    let after = client.get_account(user.address()).await.expect("account");
    assert_eq!(
        after.balance,
        paid.balance - amount,
        "debited on L2 at once"
    );
    assert_eq!(
        after.nonce.to::<u64>(),
        nonce + 2,
        "the withdrawal used a nonce"
    );
    // A second one, for the ethers client to claim.
    let other = Address::repeat_byte(0x6b);
    let out = bridge_without_l1(
        &devnet,
        &[
            "withdraw",
            "--amount",
            "0.125",
            "--to",
            &other.to_string(),
            "--key",
            &key,
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let second: B256 = json_of(&out)["withdrawalHash"]
        .as_str()
        .expect("hash")
        .parse()
        .expect("hex");

    // 4. Once posted, a claim before finality is refused by the Bridge.
    let l1 = L1Client::connect(&devnet.l1_rpc, Some(dev_key(7)), ClientConfig::default())
        .await
        .expect("L1");
    let deployment = Deployment::read(&deployment_path).expect("deployment");
    let l1 = VerdictL1::new(l1, deployment).expect("bound");
    let deadline = Instant::now() + Duration::from_secs(60);
    let found = loop {
        let found = client
            .get_withdrawal(hash)
            .await
            .expect("getWithdrawal")
            .expect("known");
        if found.proof.is_some() {
            break found;
        }
        assert!(Instant::now() < deadline, "never posted: {found:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let inclusion = found.proof.clone().expect("proof");
    let batch = l1
        .current_batch(inclusion.batch_index.to::<u64>())
        .await
        .expect("L1")
        .expect("the batch is on L1");
    let withdrawal = Withdrawal {
        sender: user.address().into_array(),
        nonce: nonce + 1,
        recipient: recipient.into_array(),
        amount: amount.to::<u128>(),
    };
    let proof = WithdrawalProof {
        proof: inclusion.proof.clone(),
        index: inclusion.index.to::<u64>(),
        block: inclusion.block.to_header(),
        later_headers: inclusion
            .later_headers
            .iter()
            .map(|h| h.to_header())
            .collect(),
    };
    if !l1.is_finalized(batch.index).await.expect("L1") {
        let early = l1
            .finalize_withdrawal(&batch, &withdrawal, &proof)
            .await
            .expect_err("a claim before finality is refused");
        assert!(format!("{early:?}").contains("NotFinal"), "{early:?}");
    }

    // 5. `status` walks to ready-to-claim; `prove` pays exactly the amount to the recipient.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen = Vec::new();
    loop {
        let out = bridge(
            &devnet,
            &deployment_path,
            &["status", &hash.to_string(), "--json"],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let state = json_of(&out)["state"]["status"]
            .as_str()
            .expect("a status")
            .to_string();
        if seen.last() != Some(&state) {
            seen.push(state.clone());
        }
        if state == "readyToClaim" {
            break;
        }
        assert!(
            ["waitingForBatch", "inDisputeWindow"].contains(&state.as_str()),
            "{seen:?}"
        );
        assert!(Instant::now() < deadline, "never final: {seen:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(seen.contains(&"inDisputeWindow".to_string()), "{seen:?}");
    let out = bridge(
        &devnet,
        &deployment_path,
        &["prove", &hash.to_string(), "--key", &key_hex(5), "--json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let claimed = json_of(&out);
    eprintln!(
        "gas finalizeWithdrawal (transaction) {}",
        claimed["gasUsed"]
    );
    assert_eq!(claimed["amount"], amount.to_string());
    assert_eq!(
        l1.client().balance(recipient).await.expect("balance"),
        amount,
        "the recipient got exactly the amount"
    );

    // 6. Paid once: the CLI says so, and the Bridge refuses a second claim outright.
    let again = bridge(
        &devnet,
        &deployment_path,
        &["prove", &hash.to_string(), "--key", &key_hex(5)],
    );
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already claimed"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let twice = l1
        .finalize_withdrawal(&batch, &withdrawal, &proof)
        .await
        .expect_err("a second claim is refused");
    assert!(format!("{twice:?}").contains("AlreadyClaimed"), "{twice:?}");
    let out = bridge(
        &devnet,
        &deployment_path,
        &["status", &hash.to_string(), "--json"],
    );
    assert_eq!(json_of(&out)["state"]["status"], "claimed");
    assert_eq!(
        l1.client().balance(recipient).await.expect("balance"),
        amount
    );

    // 7. ethers claims the second withdrawal from the same public data.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let out = bridge(
            &devnet,
            &deployment_path,
            &["status", &second.to_string(), "--json"],
        );
        if json_of(&out)["state"]["status"] == "readyToClaim" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the second withdrawal never became final"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let dir = ethers_dir();
    let deployment = Deployment::read(&deployment_path).expect("deployment");
    let args = [
        "claim.mjs".to_string(),
        devnet.l1_rpc.clone(),
        key_hex(6),
        deployment.rollup.to_string(),
        deployment.bridge.to_string(),
        devnet.rpc.clone(),
        second.to_string(),
    ];
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("node runs")
    })
    .await
    .expect("joined");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "ethers claim failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    let eighth = parse_ether("0.125").expect("amount");
    assert_eq!(seen["status"], 1, "{seen}");
    assert_eq!(seen["amount"], eighth.to_string(), "{seen}");
    assert_eq!(seen["received"], eighth.to_string(), "{seen}");
    assert_eq!(seen["claimed"], true, "{seen}");
    let out = bridge(
        &devnet,
        &deployment_path,
        &["status", &second.to_string(), "--json"],
    );
    assert_eq!(json_of(&out)["state"]["status"], "claimed");
}

/// The ethers v6 client of `node/l1/tests/clients/ethers`, installed from npm when missing.
fn ethers_dir() -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../node/l1/tests/clients/ethers");
    if !dir.join("node_modules/ethers").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .status()
            .expect("npm is needed to install ethers (scripts/setup.sh installs it)");
        assert!(status.success(), "npm ci in {} failed", dir.display());
    }
    dir
}

fn bridge_without_l1(devnet: &Devnet, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_verdict"))
        .arg("bridge")
        .args(args)
        .args(["--rpc", &devnet.rpc])
        .output()
        .expect("verdict bridge runs")
}
