//! Log following against anvil: logs arrive in order, and a reorg (anvil's
//! `evm_snapshot`/`evm_revert`, then a different block at the same height) is reported
//! so the consumer can undo, then the new logs are delivered.

use crate::support;

use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use std::time::Duration;
use support::{Anvil, DEV_KEYS};
use verdict_l1::bindings::Bridge;
use verdict_l1::client::follow::{FollowEvent, LogFollower};
use verdict_l1::client::signer::load_signer;
use verdict_l1::client::{ClientConfig, L1Client};
use verdict_l1::contracts::VerdictL1;
use verdict_l1::deploy::{DeployParams, deploy};

/// The consumer: deposits (block, amount) it believes in.
#[derive(Default)]
struct Seen(Vec<(u64, U256)>);

impl Seen {
    fn apply(&mut self, event: FollowEvent) -> bool {
        match event {
            FollowEvent::Logs { logs, .. } => {
                for log in logs {
                    // The bridge also logs its one-time `RollupSet` at deployment.
                    let Ok(event) = log.log_decode::<Bridge::DepositQueued>() else {
                        continue;
                    };
                    self.0
                        .push((log.block_number.expect("mined"), event.inner.data.amount));
                }
                false
            }
            FollowEvent::Reorg { from } => {
                self.0.retain(|&(block, _)| block < from);
                true
            }
        }
    }
}

async fn drain(follower: &mut LogFollower, seen: &mut Seen) -> bool {
    let mut reorged = false;
    while let Some(event) = follower.poll().await.expect("poll") {
        reorged |= seen.apply(event);
    }
    reorged
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorg_is_reported_and_the_new_logs_follow() {
    let anvil = Anvil::start();
    let config = ClientConfig {
        poll_interval: Duration::from_millis(50),
        receipt_timeout: Duration::from_secs(20),
        ..ClientConfig::default()
    };
    let signer = load_signer(DEV_KEYS[0], None).expect("key");
    let client = L1Client::connect(&anvil.ws_url(), Some(signer), config)
        .await
        .expect("connect");
    let params = DeployParams {
        sequencer: client.sender().expect("signer"),
        dispute_window: 5,
        min_bond: U256::from(1),
        challenger_bond: U256::from(1),
        clock_blocks: 10,
        inclusion_deadline: 64,
    };
    let deployment = deploy(&client, &params).await.expect("deploy");
    let l1 = VerdictL1::new(client.clone(), deployment.clone()).expect("bind");
    let mut follower = LogFollower::new(
        client.clone(),
        Filter::new().address(deployment.bridge),
        deployment.deployed_at_block,
    );
    let mut seen = Seen::default();
    let to = Address::repeat_byte(7);

    l1.deposit(to, U256::from(1)).await.expect("deposit 1");
    assert!(!drain(&mut follower, &mut seen).await);
    let snapshot: U256 = client
        .provider()
        .raw_request("evm_snapshot".into(), ())
        .await
        .expect("snapshot");
    l1.deposit(to, U256::from(2)).await.expect("deposit 2");
    l1.deposit(to, U256::from(3)).await.expect("deposit 3");
    assert!(!drain(&mut follower, &mut seen).await);
    assert_eq!(
        seen.0.iter().map(|d| d.1).collect::<Vec<_>>(),
        [1, 2, 3].map(U256::from)
    );

    // Drop the last two blocks and build a different chain of the same height and more.
    let reverted: bool = client
        .provider()
        .raw_request("evm_revert".into(), (snapshot,))
        .await
        .expect("revert");
    assert!(reverted);
    l1.deposit(to, U256::from(5)).await.expect("deposit 5");
    client.dev_mine(2).await.expect("mine");

    assert!(
        drain(&mut follower, &mut seen).await,
        "the reorg was reported"
    );
    assert_eq!(
        seen.0.iter().map(|d| d.1).collect::<Vec<_>>(),
        [1, 5].map(U256::from)
    );

    // A follower resumed from the persisted cursor carries on without repeating.
    let mut resumed = LogFollower::resume(
        client.clone(),
        Filter::new().address(deployment.bridge),
        follower.cursor(),
    );
    l1.deposit(to, U256::from(8)).await.expect("deposit 8");
    assert!(!drain(&mut resumed, &mut seen).await);
    assert_eq!(
        seen.0.iter().map(|d| d.1).collect::<Vec<_>>(),
        [1, 5, 8].map(U256::from)
    );
}
