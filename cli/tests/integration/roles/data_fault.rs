//! The drain attack of the security review (finding 1), end to end with real processes
//! on the embedded L1: `verdict devnet --faulty-sequencer 1 --fault-mode drain` posts
//! batches whose last header commits to a 100-ether withdrawal to the sequencer that the
//! batch data does not hold. Before this fix such a header could be finalized and the
//! bridge drained; now the devnet's challenger proves the data fault on L1 inside the
//! dispute window, the batch is reverted, the sequencer's bond slashed, and the forged
//! withdrawal can never be claimed, not even after the window.

use std::time::{Duration, Instant};

use alloy::primitives::{B256, U256};
use alloy::providers::Provider;
use verdict_l1::bindings::Rollup;
use verdict_l1::client::{ClientConfig, L1Client};
use verdict_l1::contracts::{VerdictL1, header_to_sol};
use verdict_l1::deploy::Deployment;
use verdict_l1::withdrawals::WithdrawalProof;
use verdict_sequencer::fault::DRAIN_WEI;
use verdict_specs::l2::batch_data;
use verdict_specs::l2::withdrawal::Withdrawal;
use verdict_specs::merkle;

use crate::support::{Devnet, dev_key};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drain_attack_is_reverted_inside_the_window_and_never_pays() {
    let dir = tempfile::tempdir().expect("tempdir");
    let devnet = Devnet::start(
        dir.path(),
        &[
            "--block-time",
            "0.2",
            "--l1-block-time",
            "0.5",
            "--dispute-window",
            "60",
            "--batch-blocks",
            "2",
            "--batch-interval",
            "2",
            "--faulty-sequencer",
            "1",
            "--fault-mode",
            "drain",
        ],
    );
    let deployment =
        Deployment::read(&dir.path().join("deployment.json")).expect("deployment file");
    let client = L1Client::connect(&devnet.l1_rpc, Some(dev_key(3)), ClientConfig::default())
        .await
        .expect("L1");
    let l1 = VerdictL1::new(client, deployment.clone()).expect("binds");
    let bridge_before = l1
        .client()
        .provider()
        .get_balance(deployment.bridge)
        .await
        .expect("balance");

    // The devnet's challenger proves the first drained batch's data fault.
    let deadline = Instant::now() + Duration::from_secs(240);
    let (event, proven_at) = loop {
        let latest = l1.client().block_number().await.expect("L1 head");
        let proven = l1.data_faults_proven(0, latest).await.expect("logs");
        if let Some(first) = proven.into_iter().next() {
            break first;
        }
        assert!(
            Instant::now() < deadline,
            "no data fault was proven in time"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let latest = l1.client().block_number().await.expect("L1 head");
    let (header, tx) = l1
        .posted_batch_logs(deployment.deployed_at_block, latest)
        .await
        .expect("posts")
        .into_iter()
        .find(|(h, _)| B256::from(h.hash()) == event.batchHash)
        .expect("the proven batch was posted");
    assert!(
        proven_at < header.window_end(deployment.dispute_window),
        "proven at L1 block {proven_at}, inside the window ending at {}",
        header.window_end(deployment.dispute_window)
    );
    let current = l1
        .client()
        .read(
            deployment.rollup,
            Rollup::isCurrentCall {
                header: header_to_sol(&header),
            },
        )
        .await
        .expect("isCurrent");
    assert!(!current, "the batch is reverted");
    let burnt = l1
        .client()
        .read(deployment.rollup, Rollup::burntCall {})
        .await
        .expect("burnt");
    assert!(burnt > U256::ZERO, "the sequencer was slashed");

    // The forged withdrawal, with a correct proof under the posted header: refused, now
    // and after the batch's window, because the batch is gone.
    let data = l1.batch_data(tx).await.expect("calldata");
    let frame = batch_data::read_frame(&data).expect("a well framed post");
    let index = event.blockIndex.to::<usize>();
    let block = frame.headers[index];
    let (_, real) =
        batch_data::decode_body(&block, &data[frame.bodies[index].clone()]).unwrap_or_default();
    let claimed = Withdrawal {
        sender: deployment.sequencer.into_array(),
        nonce: u64::MAX,
        recipient: deployment.sequencer.into_array(),
        amount: DRAIN_WEI,
    };
    let mut leaves: Vec<_> = real.iter().map(|w| w.withdrawal.leaf()).collect();
    leaves.push(claimed.leaf());
    assert_eq!(
        merkle::root(&leaves),
        block.withdrawals_root,
        "the header's claim"
    );
    let proof = WithdrawalProof {
        proof: merkle::prove(&leaves, leaves.len() - 1)
            .expect("proof")
            .siblings
            .into_iter()
            .map(B256::from)
            .collect(),
        index: (leaves.len() - 1) as u64,
        block,
        later_headers: frame.headers[index + 1..].to_vec(),
    };
    let refused = l1
        .finalize_withdrawal(&header, &claimed, &proof)
        .await
        .expect_err("a reverted batch pays nothing");
    assert!(
        format!("{refused:?}").contains("UnknownBatch"),
        "{refused:?}"
    );
    let window_end = header.window_end(deployment.dispute_window);
    while l1.client().block_number().await.expect("L1 head") < window_end {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let refused = l1
        .finalize_withdrawal(&header, &claimed, &proof)
        .await
        .expect_err("not after the window either");
    assert!(
        format!("{refused:?}").contains("UnknownBatch"),
        "{refused:?}"
    );
    assert!(
        !l1.withdrawal_claimed(B256::from(claimed.leaf()))
            .await
            .expect("claimed")
    );
    let bridge_after = l1
        .client()
        .provider()
        .get_balance(deployment.bridge)
        .await
        .expect("balance");
    assert!(
        bridge_after >= bridge_before,
        "nothing left the bridge: {bridge_before} then {bridge_after}"
    );
}
