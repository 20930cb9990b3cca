//! The embedded L1 with a data dir: everything reported survives closing and reopening,
//! a torn journal tail is cut off, and a journal from another chain is refused.

use crate::devchain_support;

use alloy::eips::BlockNumberOrTag;
use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use alloy::rpc::types::{Filter, TransactionRequest};
use devchain_support::*;
use std::path::Path;
use verdict_devchain::{DevChain, DevChainConfig, DevChainError};

fn config(dir: &Path) -> DevChainConfig {
    DevChainConfig {
        data_dir: Some(dir.to_path_buf()),
        ..DevChainConfig::default()
    }
}

fn journal(dir: &Path) -> std::path::PathBuf {
    dir.join("journal.vdl")
}

#[tokio::test]
async fn a_reopened_chain_keeps_blocks_state_receipts_and_logs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let to = Address::repeat_byte(0x55);
    let (contract, transfer_hash, store_hash, height, head_hash, sender_balance) = {
        let harness = Harness::start(config(dir.path())).await;
        let provider = harness.http(0);
        let transfer = provider
            .send_transaction(
                TransactionRequest::default()
                    .with_to(to)
                    .with_value(ether(3)),
            )
            .await
            .expect("sent")
            .get_receipt()
            .await
            .expect("mined");
        let deployed = provider
            .send_transaction(TransactionRequest::default().with_deploy_code(init_code()))
            .await
            .expect("sent")
            .get_receipt()
            .await
            .expect("mined");
        let contract = deployed.contract_address.expect("contract");
        let stored = provider
            .send_transaction(
                TransactionRequest::default()
                    .with_to(contract)
                    .with_input(store(99)),
            )
            .await
            .expect("sent")
            .get_receipt()
            .await
            .expect("mined");
        assert!(stored.status());
        let head = provider
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .expect("rpc")
            .expect("head");
        let balance = provider
            .get_balance(harness.signer(0).address())
            .await
            .expect("balance");
        drop(provider);
        harness.stop().await;
        (
            contract,
            transfer.transaction_hash,
            stored.transaction_hash,
            head.header.inner.number,
            head.header.hash,
            balance,
        )
    };

    let harness = Harness::start(config(dir.path())).await;
    let provider = harness.http(0);
    assert_eq!(provider.get_block_number().await.expect("height"), height);
    let head = provider
        .get_block_by_number(BlockNumberOrTag::Latest)
        .await
        .expect("rpc")
        .expect("head");
    assert_eq!(head.header.hash, head_hash, "the same blocks");
    assert_eq!(provider.get_balance(to).await.expect("balance"), ether(3));
    assert_eq!(
        provider
            .get_balance(harness.signer(0).address())
            .await
            .expect("balance"),
        sender_balance
    );
    assert_eq!(
        provider.get_code_at(contract).await.expect("code"),
        alloy::primitives::Bytes::from(runtime_code())
    );
    assert_eq!(
        provider
            .get_storage_at(contract, U256::ZERO)
            .await
            .expect("slot"),
        U256::from(99)
    );
    for hash in [transfer_hash, store_hash] {
        let receipt = provider
            .get_transaction_receipt(hash)
            .await
            .expect("rpc")
            .expect("the receipt survives");
        assert!(receipt.status());
    }
    let logs = provider
        .get_logs(&Filter::new().from_block(0).address(contract))
        .await
        .expect("logs");
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].transaction_hash, Some(store_hash));
    // The nonce carries on, and so does the chain.
    assert_eq!(
        provider
            .get_transaction_count(harness.signer(0).address())
            .await
            .expect("nonce"),
        3
    );
    let next = provider
        .send_transaction(
            TransactionRequest::default()
                .with_to(to)
                .with_value(ether(1)),
        )
        .await
        .expect("sent")
        .get_receipt()
        .await
        .expect("mined");
    assert_eq!(next.block_number, Some(height + 1));
    let block = provider
        .get_block_by_number(BlockNumberOrTag::Latest)
        .await
        .expect("rpc")
        .expect("block");
    assert_eq!(block.header.inner.parent_hash, head_hash);
}

#[test]
fn a_torn_journal_tail_is_dropped_and_the_rest_kept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let signer;
    {
        let chain = DevChain::open(config(dir.path())).expect("opens");
        signer = chain.accounts()[0].clone();
        for nonce in 0..3 {
            chain
                .send_raw_transaction(&sign_1559(&signer, transfer(nonce)))
                .expect("mined");
        }
        assert_eq!(chain.latest_block().number, 3);
    }
    // A kill in the middle of writing block 3's record.
    let bytes = std::fs::read(journal(dir.path())).expect("read");
    std::fs::write(journal(dir.path()), &bytes[..bytes.len() - 17]).expect("write");
    let chain = DevChain::open(config(dir.path())).expect("reopens after a torn write");
    assert_eq!(
        chain.latest_block().number,
        2,
        "only the torn block is lost"
    );
    // The lost transaction can be sent again; the journal is clean after the cut.
    chain
        .send_raw_transaction(&sign_1559(&signer, transfer(2)))
        .expect("mined again");
    drop(chain);

    // Garbage after the last whole record (a kill mid-frame-header) is dropped too.
    let mut bytes = std::fs::read(journal(dir.path())).expect("read");
    bytes.extend_from_slice(&[0xff, 0x00, 0x13]);
    std::fs::write(journal(dir.path()), &bytes).expect("write");
    let chain = DevChain::open(config(dir.path())).expect("reopens");
    assert_eq!(chain.latest_block().number, 3);
    assert_eq!(
        std::fs::read(journal(dir.path())).expect("read").len(),
        bytes.len() - 3,
        "the tail was truncated"
    );
}

#[test]
fn snapshots_reverts_edits_and_clock_replay() {
    let dir = tempfile::tempdir().expect("temp dir");
    let who = Address::repeat_byte(0x11);
    let (height, hash, timestamp) = {
        let chain = DevChain::open(config(dir.path())).expect("opens");
        chain.set_balance(who, U256::from(5)).expect("edit");
        let id = chain.snapshot().expect("snapshot");
        chain.mine().expect("mine");
        chain.set_balance(who, U256::from(6)).expect("edit");
        assert!(chain.revert(id).expect("revert"));
        chain.increase_time(10_000).expect("time");
        let block = chain.mine().expect("mine");
        (block.number, block.hash, block.timestamp)
    };
    let chain = DevChain::open(config(dir.path())).expect("reopens");
    let latest = chain.latest_block();
    assert_eq!((latest.number, latest.hash), (height, hash));
    assert_eq!(height, 1);
    let next = chain.mine().expect("mine");
    assert!(next.timestamp > timestamp);
    assert!(
        next.timestamp >= verdict_now() + 9_000,
        "the time offset survives the restart"
    );
}

fn verdict_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

#[test]
fn a_journal_of_another_chain_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    drop(DevChain::open(config(dir.path())).expect("opens"));
    let other = DevChainConfig {
        chain_id: 1337,
        ..config(dir.path())
    };
    match DevChain::open(other) {
        Err(DevChainError::GenesisMismatch {
            found_chain_id,
            chain_id,
            ..
        }) => assert_eq!((found_chain_id, chain_id), (31337, 1337)),
        other => panic!("expected a genesis mismatch, got {other:?}"),
    }
}
