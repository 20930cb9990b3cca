//! The embedded L1 over JSON-RPC, driven by alloy as a wallet or library would: a real
//! server on a loopback port, HTTP and WebSocket clients.

use crate::devchain_support;

use alloy::consensus::{SignableTransaction, TxEip7702, TxEnvelope, TxLegacy};
use alloy::eips::BlockNumberOrTag;
use alloy::eips::eip2718::Encodable2718;
use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, Bytes, Signature, TxKind, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{Filter, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use devchain_support::*;
use serde_json::{Value, json};
use std::time::Duration;
use verdict_devchain::DevChainConfig;

async fn raw(provider: &DynProvider, method: &'static str, params: Value) -> Value {
    provider
        .raw_request(method.into(), params)
        .await
        .unwrap_or_else(|error| panic!("{method}: {error}"))
}

async fn raw_error(provider: &DynProvider, method: &'static str, params: Value) -> (i64, String) {
    let error = provider
        .raw_request::<_, Value>(method.into(), params)
        .await
        .expect_err(method);
    let (code, message, _) = rpc_error(error);
    (code, message)
}

async fn send_rejected(provider: &DynProvider, raw: &Bytes) -> String {
    let error = provider
        .send_raw_transaction(raw)
        .await
        .expect_err("the transaction is rejected");
    let (code, message, _) = rpc_error(error);
    assert_eq!(code, -32000, "{message}");
    message
}

/// Deploys the test contract from dev account 0; returns its address.
async fn deploy(provider: &DynProvider) -> Address {
    let receipt = provider
        .send_transaction(TransactionRequest::default().with_deploy_code(init_code()))
        .await
        .expect("deploy sent")
        .get_receipt()
        .await
        .expect("deploy mined");
    assert!(receipt.status());
    receipt.contract_address.expect("a contract address")
}

async fn call_store(
    provider: &DynProvider,
    contract: Address,
    x: u64,
) -> alloy::rpc::types::TransactionReceipt {
    provider
        .send_transaction(
            TransactionRequest::default()
                .with_to(contract)
                .with_input(store(x)),
        )
        .await
        .expect("sent")
        .get_receipt()
        .await
        .expect("mined")
}

#[tokio::test]
async fn a_signed_transfer_moves_balances_and_charges_gas() {
    let harness = Harness::in_memory().await;
    let provider = harness.http(0);
    let from = harness.signer(0).address();
    let to = Address::repeat_byte(0x42);
    let before = provider.get_balance(from).await.expect("balance");
    assert_eq!(before, ether(10_000));

    let value = ether(1);
    let receipt = provider
        .send_transaction(TransactionRequest::default().with_to(to).with_value(value))
        .await
        .expect("sent")
        .get_receipt()
        .await
        .expect("mined");
    assert!(receipt.status());
    assert_eq!(receipt.gas_used, 21_000);
    assert_eq!(receipt.from, from);
    assert_eq!(receipt.block_number, Some(1));

    let fee = U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price);
    assert!(fee > U256::ZERO, "gas is charged");
    assert_eq!(provider.get_balance(to).await.expect("balance"), value);
    assert_eq!(
        provider.get_balance(from).await.expect("balance"),
        before - value - fee
    );
    assert_eq!(
        provider.get_transaction_count(from).await.expect("nonce"),
        1
    );

    let genesis = provider
        .get_block_by_number(BlockNumberOrTag::Earliest)
        .await
        .expect("rpc")
        .expect("genesis");
    let block = provider
        .get_block_by_number(BlockNumberOrTag::Latest)
        .full()
        .await
        .expect("rpc")
        .expect("block 1");
    assert_eq!(block.header.inner.number, 1);
    assert_eq!(
        block.header.hash,
        block.header.inner.hash_slow(),
        "a real header hash"
    );
    assert_eq!(genesis.header.hash, genesis.header.inner.hash_slow());
    assert_eq!(block.header.inner.parent_hash, genesis.header.hash);
    assert!(block.header.inner.timestamp > genesis.header.inner.timestamp);
    assert_eq!(Some(block.header.hash), receipt.block_hash);
    let txs = block
        .transactions
        .as_transactions()
        .expect("full transactions");
    assert_eq!(txs.len(), 1);
    assert_eq!(*txs[0].inner.tx_hash(), receipt.transaction_hash);
    // Base fee: 1 gwei at genesis, then EIP-1559 (an empty genesis lowers it by 1/8).
    assert_eq!(genesis.header.inner.base_fee_per_gas, Some(1_000_000_000));
    assert_eq!(block.header.inner.base_fee_per_gas, Some(875_000_000));

    let by_hash = provider
        .get_transaction_by_hash(receipt.transaction_hash)
        .await
        .expect("rpc")
        .expect("the transaction");
    assert_eq!(by_hash.block_number, Some(1));
    assert_eq!(by_hash.inner.signer(), from);
}

#[tokio::test]
async fn contracts_deploy_store_emit_logs_and_revert_like_geth() {
    let harness = Harness::in_memory().await;
    let provider = harness.ws(0).await;
    let contract = deploy(&provider).await;
    assert_eq!(
        provider.get_code_at(contract).await.expect("code"),
        Bytes::from(runtime_code())
    );

    let receipt = call_store(&provider, contract, 42).await;
    assert!(receipt.status());
    let logs = receipt.inner.logs();
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].address(), contract);
    assert_eq!(
        logs[0].topics(),
        &[stored_topic(), B256::from(U256::from(42))]
    );
    assert_eq!(logs[0].data().data, store(42));
    assert_eq!(logs[0].log_index, Some(0));
    assert_eq!(logs[0].transaction_hash, Some(receipt.transaction_hash));
    assert_eq!(
        provider
            .get_storage_at(contract, U256::ZERO)
            .await
            .expect("storage"),
        U256::from(42)
    );

    // eth_call returns the output and changes nothing.
    let output = provider
        .call(
            TransactionRequest::default()
                .with_to(contract)
                .with_input(store(7)),
        )
        .await
        .expect("call");
    assert_eq!(output, store(7));
    assert_eq!(
        provider
            .get_storage_at(contract, U256::ZERO)
            .await
            .expect("storage"),
        U256::from(42)
    );

    // A revert is code 3, "execution reverted: <reason>", the revert bytes as data.
    let reverting = TransactionRequest::default().with_to(contract);
    let expected_data = format!("\"0x{}\"", alloy::hex::encode(empty_revert_data()));
    for error in [
        provider.call(reverting.clone()).await.expect_err("reverts"),
        provider
            .estimate_gas(reverting.clone())
            .await
            .expect_err("reverts"),
    ] {
        let (code, message, data) = rpc_error(error);
        assert_eq!(code, 3);
        assert_eq!(message, "execution reverted: empty");
        assert_eq!(data.as_deref(), Some(expected_data.as_str()));
    }

    // The estimate is enough to succeed.
    let request = TransactionRequest::default()
        .with_to(contract)
        .with_input(store(9));
    let estimate = provider
        .estimate_gas(request.clone())
        .await
        .expect("estimate");
    assert!(estimate >= 21_000);
    let receipt = provider
        .send_transaction(request.with_gas_limit(estimate))
        .await
        .expect("sent")
        .get_receipt()
        .await
        .expect("mined");
    assert!(receipt.status());
    assert!(receipt.gas_used <= estimate);
}

#[tokio::test]
async fn get_logs_filters_by_address_topics_and_blocks() {
    let harness = Harness::in_memory().await;
    let provider = harness.http(0);
    let a = deploy(&provider).await; // block 1
    for x in [1, 2, 3] {
        call_store(&provider, a, x).await; // blocks 2, 3, 4
    }
    let b = deploy(&provider).await; // block 5
    call_store(&provider, b, 2).await; // block 6
    let value = |x: u64| B256::from(U256::from(x));
    let values = |logs: &[alloy::rpc::types::Log]| -> Vec<(Address, u64)> {
        logs.iter()
            .map(|log| {
                let x = U256::from_be_bytes(log.topics()[1].0);
                (log.address(), x.to::<u64>())
            })
            .collect()
    };

    let everything = Filter::new().from_block(0);
    let logs = provider.get_logs(&everything).await.expect("logs");
    assert_eq!(values(&logs), vec![(a, 1), (a, 2), (a, 3), (b, 2)]);
    assert_eq!(logs[0].block_number, Some(2));
    assert_eq!(logs[3].block_number, Some(6));

    let only_a = Filter::new().from_block(0).address(a);
    assert_eq!(
        values(&provider.get_logs(&only_a).await.expect("logs")).len(),
        3
    );
    let both = Filter::new().from_block(0).address(vec![a, b]);
    assert_eq!(
        values(&provider.get_logs(&both).await.expect("logs")).len(),
        4
    );

    let one_or_three = Filter::new()
        .from_block(0)
        .event_signature(stored_topic())
        .topic1(vec![value(1), value(3)]);
    assert_eq!(
        values(&provider.get_logs(&one_or_three).await.expect("logs")),
        vec![(a, 1), (a, 3)]
    );
    // A null first topic is a wildcard.
    let twos = Filter::new().from_block(0).topic1(value(2));
    assert_eq!(
        values(&provider.get_logs(&twos).await.expect("logs")),
        vec![(a, 2), (b, 2)]
    );
    let wrong_event = Filter::new()
        .from_block(0)
        .event_signature(B256::repeat_byte(1));
    assert!(
        provider
            .get_logs(&wrong_event)
            .await
            .expect("logs")
            .is_empty()
    );

    let block_three = Filter::new().from_block(3).to_block(3);
    assert_eq!(
        values(&provider.get_logs(&block_three).await.expect("logs")),
        vec![(a, 2)]
    );
    let hash_four = provider
        .get_block_by_number(4.into())
        .await
        .expect("rpc")
        .expect("block 4")
        .header
        .hash;
    let at_hash = Filter::new().at_block_hash(hash_four);
    assert_eq!(
        values(&provider.get_logs(&at_hash).await.expect("logs")),
        vec![(a, 3)]
    );
    // Without fromBlock the range is the latest block only.
    assert_eq!(
        values(&provider.get_logs(&Filter::new()).await.expect("logs")),
        vec![(b, 2)]
    );

    let (code, message) = raw_error(
        &provider,
        "eth_getLogs",
        json!([{ "fromBlock": "0x5", "toBlock": "0x2" }]),
    )
    .await;
    assert_eq!(code, -32000);
    assert!(message.contains("invalid block range"), "{message}");
    let (code, _) = raw_error(
        &provider,
        "eth_getLogs",
        json!([{ "blockHash": B256::repeat_byte(9) }]),
    )
    .await;
    assert_eq!(code, -32000);

    // Polling filters see only what is new.
    let id: U256 = raw(&provider, "eth_newFilter", json!([{ "address": a }]))
        .await
        .as_str()
        .expect("hex id")
        .parse()
        .expect("U256");
    call_store(&provider, a, 8).await;
    let changes = raw(&provider, "eth_getFilterChanges", json!([id])).await;
    assert_eq!(changes.as_array().expect("logs").len(), 1);
    let changes = raw(&provider, "eth_getFilterChanges", json!([id])).await;
    assert!(changes.as_array().expect("logs").is_empty());
    assert_eq!(
        raw(&provider, "eth_uninstallFilter", json!([id])).await,
        json!(true)
    );
}

#[tokio::test]
async fn bad_transactions_are_refused_with_geth_messages_and_change_nothing() {
    let harness = Harness::in_memory().await;
    let provider = harness.http(0);
    let signer = harness.signer(1);
    let first = sign_1559(&signer, transfer(0));
    let _mined = provider
        .send_raw_transaction(&first)
        .await
        .expect("a good transaction");
    let height = provider.get_block_number().await.expect("height");
    let balance = provider
        .get_balance(signer.address())
        .await
        .expect("balance");

    assert_eq!(
        send_rejected(&provider, &first).await,
        "transaction already known"
    );
    let again = sign_1559(
        &signer,
        alloy::consensus::TxEip1559 {
            value: U256::from(2),
            ..transfer(0)
        },
    );
    assert_eq!(
        send_rejected(&provider, &again).await,
        "nonce too low: next nonce 1, tx nonce 0"
    );
    assert_eq!(
        send_rejected(&provider, &sign_1559(&signer, transfer(5))).await,
        "nonce too high: next nonce 1, tx nonce 5"
    );
    let pauper = PrivateKeySigner::random();
    let message = send_rejected(&provider, &sign_1559(&pauper, transfer(0))).await;
    assert!(
        message.starts_with("insufficient funds for gas * price + value: balance 0, tx cost "),
        "{message}"
    );
    let low_gas = alloy::consensus::TxEip1559 {
        gas_limit: 20_000,
        ..transfer(1)
    };
    assert_eq!(
        send_rejected(&provider, &sign_1559(&signer, low_gas)).await,
        "intrinsic gas too low: have 20000, want 21000"
    );
    let cheap = alloy::consensus::TxEip1559 {
        max_fee_per_gas: 1,
        max_priority_fee_per_gas: 0,
        ..transfer(1)
    };
    let message = send_rejected(&provider, &sign_1559(&signer, cheap)).await;
    assert!(
        message.starts_with("max fee per gas less than block base fee"),
        "{message}"
    );
    let other_chain = alloy::consensus::TxEip1559 {
        chain_id: 1,
        ..transfer(1)
    };
    let message = send_rejected(&provider, &sign_1559(&signer, other_chain)).await;
    assert!(message.starts_with("invalid chain id"), "{message}");
    let huge = alloy::consensus::TxEip1559 {
        gas_limit: 30_000_001,
        ..transfer(1)
    };
    assert_eq!(
        send_rejected(&provider, &sign_1559(&signer, huge)).await,
        "exceeds block gas limit"
    );
    let unsigned = TxLegacy {
        chain_id: Some(CHAIN_ID),
        nonce: 1,
        gas_price: 10 * GWEI,
        gas_limit: 21_000,
        to: TxKind::Call(Address::repeat_byte(1)),
        ..TxLegacy::default()
    };
    let forged =
        TxEnvelope::from(unsigned.into_signed(Signature::new(U256::ZERO, U256::from(1), false)))
            .encoded_2718();
    assert_eq!(
        send_rejected(&provider, &forged.into()).await,
        "invalid sender"
    );
    let mut set_code = TxEip7702 {
        chain_id: CHAIN_ID,
        nonce: 1,
        gas_limit: 50_000,
        max_fee_per_gas: 10 * GWEI,
        to: Address::repeat_byte(1),
        ..TxEip7702::default()
    };
    let signature =
        alloy::network::TxSignerSync::sign_transaction_sync(&signer, &mut set_code).expect("signs");
    let set_code = TxEnvelope::from(set_code.into_signed(signature)).encoded_2718();
    assert_eq!(
        send_rejected(&provider, &set_code.into()).await,
        "transaction type not supported"
    );
    let message = send_rejected(&provider, &Bytes::from(vec![0x02, 0xc1, 0x80])).await;
    assert!(message.starts_with("rlp:"), "{message}");
    let (code, _) = raw_error(&provider, "eth_sendRawTransaction", json!(["0xzz"])).await;
    assert_eq!(code, -32602);

    // A legacy transaction works too.
    let legacy = TxLegacy {
        chain_id: Some(CHAIN_ID),
        nonce: 1,
        gas_price: 10 * GWEI,
        gas_limit: 21_000,
        to: TxKind::Call(Address::repeat_byte(1)),
        value: U256::from(1),
        ..TxLegacy::default()
    };
    let hash = provider
        .send_raw_transaction(&sign_legacy(&signer, legacy))
        .await
        .expect("legacy accepted")
        .get_receipt()
        .await
        .expect("mined")
        .transaction_hash;

    // Only the two good transactions left a trace.
    assert_eq!(
        provider.get_block_number().await.expect("height"),
        height + 1
    );
    let receipt = provider
        .get_transaction_receipt(hash)
        .await
        .expect("rpc")
        .expect("receipt");
    let spent =
        U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price) + U256::from(1);
    assert_eq!(
        provider
            .get_balance(signer.address())
            .await
            .expect("balance"),
        balance - spent
    );
    assert_eq!(
        provider
            .get_transaction_count(signer.address())
            .await
            .expect("nonce"),
        2
    );
}

#[tokio::test]
async fn interval_mining_pools_future_nonces_and_replacements() {
    let harness = Harness::start(DevChainConfig {
        // Long enough that only evm_mine mines during the test.
        block_time: Some(Duration::from_secs(3600)),
        ..DevChainConfig::default()
    })
    .await;
    let provider = harness.http(0);
    let signer = harness.signer(2);
    let sender = signer.address();

    let second = sign_1559(&signer, transfer(1));
    let second_hash = *provider
        .send_raw_transaction(&second)
        .await
        .expect("a future nonce is pooled")
        .tx_hash();
    let pending = |provider: DynProvider| async move {
        provider
            .get_transaction_count(sender)
            .pending()
            .await
            .expect("nonce")
    };
    assert_eq!(pending(provider.clone()).await, 0, "a gap is not pending");
    let first = sign_1559(&signer, transfer(0));
    let _pooled = provider.send_raw_transaction(&first).await.expect("pooled");
    assert_eq!(pending(provider.clone()).await, 2);
    assert_eq!(
        provider.get_transaction_count(sender).await.expect("nonce"),
        0
    );
    assert!(
        provider
            .get_transaction_receipt(second_hash)
            .await
            .expect("rpc")
            .is_none(),
        "no receipt while pending"
    );
    let pooled = provider
        .get_transaction_by_hash(second_hash)
        .await
        .expect("rpc")
        .expect("pending transaction");
    assert_eq!(pooled.block_hash, None);

    assert_eq!(
        send_rejected(&provider, &first).await,
        "transaction already known"
    );
    let same_price = sign_1559(
        &signer,
        alloy::consensus::TxEip1559 {
            value: U256::from(5),
            ..transfer(0)
        },
    );
    assert_eq!(
        send_rejected(&provider, &same_price).await,
        "replacement transaction underpriced"
    );
    let bumped = sign_1559(
        &signer,
        alloy::consensus::TxEip1559 {
            value: U256::from(5),
            max_fee_per_gas: 20 * GWEI,
            max_priority_fee_per_gas: 2 * GWEI,
            ..transfer(0)
        },
    );
    let bumped_hash = *provider
        .send_raw_transaction(&bumped)
        .await
        .expect("a 10% bump replaces")
        .tx_hash();

    assert_eq!(raw(&provider, "evm_mine", json!([])).await, json!("0x0"));
    let block = provider
        .get_block_by_number(BlockNumberOrTag::Latest)
        .await
        .expect("rpc")
        .expect("block");
    let hashes: Vec<B256> = block.transactions.hashes().collect();
    assert_eq!(hashes, vec![bumped_hash, second_hash], "nonce order");
    assert_eq!(
        provider.get_transaction_count(sender).await.expect("nonce"),
        2
    );
    assert!(
        provider
            .get_transaction_receipt(second_hash)
            .await
            .expect("rpc")
            .is_some()
    );
}

#[tokio::test]
async fn a_block_of_several_transactions_keeps_every_write_and_numbers_logs_blockwide() {
    let harness = Harness::start(DevChainConfig {
        block_time: Some(Duration::from_secs(3600)),
        ..DevChainConfig::default()
    })
    .await;
    let provider = harness.http(0);
    let signer = harness.signer(3);
    let deploy = alloy::consensus::TxEip1559 {
        gas_limit: 1_000_000,
        to: TxKind::Create,
        value: U256::ZERO,
        input: init_code(),
        ..transfer(0)
    };
    let _pooled = provider
        .send_raw_transaction(&sign_1559(&signer, deploy))
        .await
        .expect("pooled");
    raw(&provider, "evm_mine", json!([])).await;
    let contract = signer.address().create(0);
    assert_eq!(
        provider.get_code_at(contract).await.expect("code"),
        Bytes::from(runtime_code())
    );

    // The same value twice, then a transfer from someone else, all in one block.
    let mut hashes = Vec::new();
    for nonce in [1, 2] {
        let tx = alloy::consensus::TxEip1559 {
            gas_limit: 100_000,
            to: TxKind::Call(contract),
            value: U256::ZERO,
            input: store(5),
            ..transfer(nonce)
        };
        let pending = provider
            .send_raw_transaction(&sign_1559(&signer, tx))
            .await
            .expect("pooled");
        hashes.push(*pending.tx_hash());
    }
    let other = sign_1559(&harness.signer(4), transfer(0));
    let pending = provider.send_raw_transaction(&other).await.expect("pooled");
    hashes.push(*pending.tx_hash());
    raw(&provider, "evm_mine", json!([])).await;

    assert_eq!(
        provider
            .get_storage_at(contract, U256::ZERO)
            .await
            .expect("slot"),
        U256::from(5),
        "a write followed by a same-value write in one block is kept"
    );
    let mut cumulative = 0;
    let mut log_indices = Vec::new();
    for hash in &hashes {
        let receipt = provider
            .get_transaction_receipt(*hash)
            .await
            .expect("rpc")
            .expect("mined");
        assert_eq!(receipt.block_number, Some(2));
        let now = receipt.inner.cumulative_gas_used();
        assert_eq!(now, cumulative + receipt.gas_used);
        cumulative = now;
        log_indices.extend(receipt.inner.logs().iter().map(|log| log.log_index));
    }
    assert_eq!(log_indices, vec![Some(0), Some(1)]);
    let block = provider
        .get_block_by_number(2.into())
        .await
        .expect("rpc")
        .expect("block 2");
    assert_eq!(block.header.inner.gas_used, cumulative);
    assert_eq!(block.transactions.len(), 3);
}

#[tokio::test]
async fn the_interval_miner_mines_on_its_own() {
    let harness = Harness::start(DevChainConfig {
        block_time: Some(Duration::from_millis(100)),
        ..DevChainConfig::default()
    })
    .await;
    let provider = harness.http(0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while provider.get_block_number().await.expect("height") < 3 {
        assert!(tokio::time::Instant::now() < deadline, "no blocks mined");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let receipt = provider
        .send_transaction(
            TransactionRequest::default()
                .with_to(Address::repeat_byte(3))
                .with_value(U256::from(1)),
        )
        .await
        .expect("sent")
        .get_receipt()
        .await
        .expect("mined by the interval miner");
    assert!(receipt.status());
}

#[tokio::test]
async fn dev_methods_move_blocks_time_and_state() {
    let harness = Harness::in_memory().await;
    let provider = harness.http(0);
    let latest = |provider: DynProvider| async move {
        provider
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .expect("rpc")
            .expect("block")
            .header
            .inner
    };

    raw(&provider, "evm_mine", json!([])).await;
    let one = latest(provider.clone()).await;
    assert_eq!(one.number, 1);

    let offset = raw(&provider, "evm_increaseTime", json!([3600])).await;
    assert!(offset.as_i64().expect("a number") >= 3600);
    raw(&provider, "evm_mine", json!([])).await;
    let two = latest(provider.clone()).await;
    // Block 1 may already run a second ahead of the wall clock (timestamps strictly
    // increase), so the gap is at least the offset less that second.
    assert!(
        two.timestamp + 1 >= one.timestamp + 3600,
        "{} {}",
        one.timestamp,
        two.timestamp
    );

    let at = two.timestamp + 1000;
    assert_eq!(
        raw(&provider, "evm_setNextBlockTimestamp", json!([at])).await,
        Value::Null
    );
    raw(&provider, "evm_mine", json!([])).await;
    assert_eq!(latest(provider.clone()).await.timestamp, at);
    let (code, message) = raw_error(&provider, "evm_setNextBlockTimestamp", json!([at])).await;
    assert_eq!(code, -32000, "{message}");

    raw(&provider, "evm_mine", json!([format!("0x{:x}", at + 50)])).await;
    assert_eq!(latest(provider.clone()).await.timestamp, at + 50);

    raw(&provider, "anvil_mine", json!(["0x5", "0xa"])).await;
    let nine = latest(provider.clone()).await;
    assert_eq!(nine.number, 9);
    let eight = provider
        .get_block_by_number(8.into())
        .await
        .expect("rpc")
        .expect("block 8")
        .header
        .inner;
    assert_eq!(nine.timestamp, eight.timestamp + 10);

    let who = Address::repeat_byte(0x99);
    raw(&provider, "anvil_setBalance", json!([who, "0x7b"])).await;
    assert_eq!(
        provider.get_balance(who).await.expect("balance"),
        U256::from(123)
    );
    assert_eq!(
        provider
            .get_balance(who)
            .number(8)
            .await
            .expect("balance at block 8"),
        U256::ZERO,
        "older blocks keep their state"
    );
    raw(
        &provider,
        "anvil_setCode",
        json!([who, Bytes::from(runtime_code())]),
    )
    .await;
    let output = provider
        .call(
            TransactionRequest::default()
                .with_to(who)
                .with_input(store(5)),
        )
        .await
        .expect("call the installed code");
    assert_eq!(output, store(5));
    // A call may come from an account with code, as in geth.
    let from_contract = provider
        .call(
            TransactionRequest::default()
                .with_from(who)
                .with_to(who)
                .with_input(store(6)),
        )
        .await
        .expect("a call from a contract");
    assert_eq!(from_contract, store(6));
    assert_eq!(
        raw(
            &provider,
            "anvil_setStorageAt",
            json!([who, "0x0", B256::from(U256::from(77))])
        )
        .await,
        json!(true)
    );
    assert_eq!(
        provider
            .get_storage_at(who, U256::ZERO)
            .await
            .expect("slot"),
        U256::from(77)
    );
    // Slots may also come as 32-byte words (ethers does that); the answer is one.
    assert_eq!(
        raw(
            &provider,
            "eth_getStorageAt",
            json!([who, B256::ZERO, "latest"])
        )
        .await,
        json!(B256::from(U256::from(77)))
    );

    // Snapshots undo blocks, transactions and edits.
    let id = raw(&provider, "evm_snapshot", json!([])).await;
    let from = harness.signer(0).address();
    let before = provider.get_balance(from).await.expect("balance");
    let receipt = provider
        .send_transaction(
            TransactionRequest::default()
                .with_to(Address::repeat_byte(0x98))
                .with_value(ether(1)),
        )
        .await
        .expect("sent")
        .get_receipt()
        .await
        .expect("mined");
    raw(
        &provider,
        "anvil_setStorageAt",
        json!([who, "0x0", B256::ZERO]),
    )
    .await;
    raw(&provider, "anvil_mine", json!(["0x2"])).await;
    assert_eq!(provider.get_block_number().await.expect("height"), 12);

    assert_eq!(
        raw(&provider, "evm_revert", json!([id.clone()])).await,
        json!(true)
    );
    assert_eq!(provider.get_block_number().await.expect("height"), 9);
    assert_eq!(provider.get_balance(from).await.expect("balance"), before);
    assert_eq!(
        provider.get_balance(who).await.expect("balance"),
        U256::from(123)
    );
    assert_eq!(
        provider
            .get_storage_at(who, U256::ZERO)
            .await
            .expect("slot"),
        U256::from(77)
    );
    assert!(
        provider
            .get_transaction_receipt(receipt.transaction_hash)
            .await
            .expect("rpc")
            .is_none()
    );
    assert_eq!(
        raw(&provider, "evm_revert", json!([id])).await,
        json!(false)
    );
    // The chain carries on from the snapshot.
    raw(&provider, "hardhat_mine", json!([])).await;
    let ten = latest(provider.clone()).await;
    assert_eq!(ten.number, 10);
    assert_eq!(ten.parent_hash, nine.hash_slow());
}

#[tokio::test]
async fn websocket_subscriptions_deliver_heads_and_logs() {
    let harness = Harness::in_memory().await;
    let provider = harness.ws(0).await;
    let contract = deploy(&provider).await;

    let mut heads = provider.subscribe_blocks().await.expect("newHeads");
    let mut logs = provider
        .subscribe_logs(&Filter::new().address(contract))
        .await
        .expect("logs");
    let receipt = call_store(&provider, contract, 11).await;

    let head = tokio::time::timeout(Duration::from_secs(5), heads.recv())
        .await
        .expect("a head in time")
        .expect("a head");
    assert_eq!(Some(head.hash), receipt.block_hash);
    assert_eq!(head.inner.number, 2);
    let log = tokio::time::timeout(Duration::from_secs(5), logs.recv())
        .await
        .expect("a log in time")
        .expect("a log");
    assert_eq!(log.address(), contract);
    assert_eq!(log.transaction_hash, Some(receipt.transaction_hash));
    assert_eq!(log.topics()[1], B256::from(U256::from(11)));
}

#[tokio::test]
async fn standard_methods_answer_in_ethereum_conventions() {
    let harness = Harness::in_memory().await;
    let provider = harness.http(0);
    assert_eq!(
        raw(&provider, "eth_chainId", json!([])).await,
        json!("0x7a69")
    );
    assert_eq!(
        raw(&provider, "eth_blockNumber", json!([])).await,
        json!("0x0")
    );
    assert_eq!(
        raw(&provider, "net_version", json!([])).await,
        json!("31337")
    );
    assert_eq!(
        raw(&provider, "net_listening", json!([])).await,
        json!(true)
    );
    assert_eq!(raw(&provider, "eth_syncing", json!([])).await, json!(false));
    let version = raw(&provider, "web3_clientVersion", json!([])).await;
    assert!(
        version
            .as_str()
            .expect("a string")
            .starts_with("verdict-l1/")
    );
    let accounts = provider.get_accounts().await.expect("accounts");
    assert_eq!(accounts.len(), 10);
    assert_eq!(
        accounts[0],
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
            .parse::<Address>()
            .expect("address")
    );
    assert!(provider.get_gas_price().await.expect("gas price") > 0);
    assert_eq!(
        provider
            .get_max_priority_fee_per_gas()
            .await
            .expect("priority fee"),
        1_000_000_000
    );

    raw(&provider, "anvil_mine", json!(["0x3"])).await;
    let history = provider
        .get_fee_history(2, BlockNumberOrTag::Latest, &[25.0, 75.0])
        .await
        .expect("fee history");
    assert_eq!(history.oldest_block, 2);
    assert_eq!(history.base_fee_per_gas.len(), 3);
    assert_eq!(history.gas_used_ratio.len(), 2);
    assert_eq!(history.reward.as_ref().map(Vec::len), Some(2));

    // Unknown blocks: null for block queries, "header not found" for state queries.
    assert_eq!(
        raw(&provider, "eth_getBlockByNumber", json!(["0x99", false])).await,
        Value::Null
    );
    let (code, message) =
        raw_error(&provider, "eth_getBalance", json!([Address::ZERO, "0x99"])).await;
    assert_eq!((code, message.as_str()), (-32000, "header not found"));
    // Malformed parameters and unknown methods.
    let (code, _) = raw_error(&provider, "eth_getBalance", json!(["0xnothex"])).await;
    assert_eq!(code, -32602);
    let (code, _) = raw_error(&provider, "eth_noSuchMethod", json!([])).await;
    assert_eq!(code, -32601);
    let (code, _) = raw_error(
        &provider,
        "eth_call",
        json!([{ "gasPrice": "0x1", "maxFeePerGas": "0x1" }]),
    )
    .await;
    assert_eq!(code, -32602);
}

/// What web3.py's and alloy's default flow does from eight wallets at once: each
/// estimates a `Bridge.deposit`, then sends it with that estimate as its gas limit, and
/// all eight land in one block. A deposit's cost depends on its place in the queue (the
/// Bridge packs four deposit blocks into one storage word, so one deposit in four writes
/// a fresh slot and costs about 17k more), so an estimate made against the latest block
/// alone is short for some of them. Estimated against the pending state, each gets what
/// it needs behind the ones already sent. (An estimate cannot see a transaction that is
/// not sent yet, on any node: each wallet's estimate-and-send is one turn here, as in
/// a client that sends from one account, like `L1Client`.)
#[tokio::test]
async fn eight_concurrent_deposits_from_eight_senders_all_succeed() {
    let harness = Harness::start(DevChainConfig {
        // Only evm_mine mines: the eight wait in the pool and share one block.
        block_time: Some(Duration::from_secs(3600)),
        ..DevChainConfig::default()
    })
    .await;
    let deployer = harness.http(0);
    let pending_deploy = deployer
        .send_transaction(
            TransactionRequest::default()
                .with_deploy_code(verdict_l1::bindings::Bridge::BYTECODE.clone()),
        )
        .await
        .expect("deploy sent");
    raw(&deployer, "evm_mine", json!([])).await;
    let bridge = pending_deploy
        .get_receipt()
        .await
        .expect("deploy mined")
        .contract_address
        .expect("the bridge");

    // One deposit first, so each round starts at a queue position whose word is
    // already written (cheap): estimated against the latest block alone, the fourth and
    // eighth of a round would then run out of gas.
    let first = deployer
        .send_transaction(
            TransactionRequest::default()
                .with_to(bridge)
                .with_value(U256::from(1))
                .with_input(alloy::sol_types::SolCall::abi_encode(
                    &verdict_l1::bindings::Bridge::depositCall {
                        recipient: harness.signer(0).address(),
                    },
                )),
        )
        .await
        .expect("first deposit sent");
    raw(&deployer, "evm_mine", json!([])).await;
    assert!(first.get_receipt().await.expect("mined").status());

    let turn = std::sync::Arc::new(tokio::sync::Mutex::new(()));
    let mut estimates = Vec::new();
    for round in 0..3 {
        let mut sends = tokio::task::JoinSet::new();
        for i in 1..=8 {
            let provider = harness.http(i);
            let recipient = harness.signer(i).address();
            let turn = std::sync::Arc::clone(&turn);
            sends.spawn(async move {
                let call = verdict_l1::bindings::Bridge::depositCall { recipient };
                let request = TransactionRequest::default()
                    .with_to(bridge)
                    .with_value(U256::from(1_000 + i))
                    .with_input(alloy::sol_types::SolCall::abi_encode(&call));
                let _turn = turn.lock().await;
                let gas = provider
                    .estimate_gas(request.clone())
                    .await
                    .expect("estimate");
                let sent = provider
                    .send_transaction(request.with_gas_limit(gas))
                    .await
                    .expect("sent");
                (i, gas, sent)
            });
        }
        let pending = sends.join_all().await;
        raw(&deployer, "evm_mine", json!([])).await;
        let mut blocks = std::collections::BTreeSet::new();
        for (i, gas, tx) in pending {
            let receipt = tx.get_receipt().await.expect("mined");
            assert!(
                receipt.status(),
                "round {round}: sender {i}'s deposit reverted with {} of {gas} gas used",
                receipt.gas_used
            );
            blocks.insert(receipt.block_number);
            estimates.push(gas);
        }
        assert_eq!(blocks.len(), 1, "round {round}: the eight share one block");
    }
    let (low, high) = (
        estimates.iter().min().expect("estimates"),
        estimates.iter().max().expect("estimates"),
    );
    assert!(
        high - low > 10_000,
        "the estimates follow the queue position: {low} to {high}"
    );
    let count = deployer
        .call(TransactionRequest::default().with_to(bridge).with_input(
            alloy::sol_types::SolCall::abi_encode(
                &verdict_l1::bindings::Bridge::depositCountCall {},
            ),
        ))
        .await
        .expect("depositCount");
    assert_eq!(U256::from_be_slice(&count), U256::from(25));
}
