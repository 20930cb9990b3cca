//! The whole L1 flow through the alloy client against Foundry's anvil and against the
//! embedded chain: deploy, register a model, bond, post three batches, move time,
//! finalize, deposit, read the queue. The end state (contract reads, code, storage,
//! events) is captured so the chains can be compared field by field.

use crate::support;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use std::time::Duration;
use support::{Anvil, DEV_KEYS};
use verdict_l1::client::signer::load_signer;
use verdict_l1::client::{ClientConfig, L1Client, L1Error};
use verdict_l1::contracts::{BatchPost, ModelRegistration, RollupHead, VerdictL1};
use verdict_l1::deploy::{DeployParams, Deployment, deploy};
use verdict_specs::batch::BatchHeader;
use verdict_specs::l2::batch_data;
use verdict_specs::l2::block::BlockHeader;

const WINDOW: u64 = 5;

fn ether(n: u64) -> U256 {
    U256::from(n) * U256::from(10).pow(U256::from(18))
}

async fn client(url: &str, key: usize) -> L1Client {
    let signer = load_signer(DEV_KEYS[key], None).expect("dev key");
    let config = ClientConfig {
        receipt_timeout: Duration::from_secs(20),
        poll_interval: Duration::from_millis(50),
        ..ClientConfig::default()
    };
    L1Client::connect(url, Some(signer), config)
        .await
        .expect("connect")
}

/// Everything the flow leaves on chain that a client can read.
#[derive(Debug, PartialEq)]
struct FlowState {
    deployment: Deployment,
    head: RollupHead,
    batch_hashes: Vec<B256>,
    headers: Vec<BatchHeader>,
    bond: U256,
    model_id: B256,
    model_name: String,
    deposit_count: u64,
    accumulator: B256,
    deposits: Vec<verdict_specs::bridge::Deposit>,
    code_hashes: Vec<B256>,
    rollup_storage: Vec<B256>,
}

async fn run_flow(url: &str) -> FlowState {
    let deployer = client(url, 0).await;
    let sequencer_client = client(url, 1).await;
    let user = client(url, 2).await;
    let sequencer = sequencer_client.sender().expect("signer");

    let params = DeployParams {
        sequencer,
        dispute_window: WINDOW,
        min_bond: ether(1),
        challenger_bond: U256::from(1),
        clock_blocks: 10,
        inclusion_deadline: 64,
    };
    let deployment = deploy(&deployer, &params).await.expect("deploy");
    let owner = VerdictL1::new(deployer, deployment.clone()).expect("bind");
    let seq = VerdictL1::new(sequencer_client, deployment.clone()).expect("bind");
    let user = VerdictL1::new(user, deployment.clone()).expect("bind");

    let model_bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../models/digits/digits-mlp.vdm"
    ))
    .expect("model file");
    let model = verdict_specs::Model::decode(&model_bytes).expect("model decodes");
    let registration = ModelRegistration::of(&model, "digits-mlp", U256::from(1000));
    let model_id = owner.register_model(&registration).await.expect("register");
    assert_eq!(
        model_id,
        B256::from(model.id().id),
        "the registry computes the specs id"
    );
    let duplicate = owner
        .register_model(&registration)
        .await
        .expect_err("duplicate");
    assert!(duplicate.to_string().contains("ModelExists"), "{duplicate}");

    // Posting without a bond is refused before anything is signed.
    let genesis = BlockHeader::genesis();
    let early = seq
        .post_batch(&post(&genesis, 1, 0, B256::ZERO))
        .await
        .expect_err("no bond yet");
    assert!(matches!(early, L1Error::WouldRevert { .. }), "{early}");
    assert!(early.to_string().contains("BondTooLow"), "{early}");
    seq.bond(ether(2)).await.expect("bond");

    let recipient = Address::repeat_byte(0x42);
    let first = user.deposit(recipient, ether(1)).await.expect("deposit");
    assert_eq!(first.index, 0);
    let acc1 = seq.accumulator_at(1).await.expect("accumulator");

    let mut headers = Vec::new();
    let mut tip = genesis;
    for (i, (first_block, last_block, deposits_end)) in
        [(1, 3, 0), (4, 4, 1), (5, 9, 1)].into_iter().enumerate()
    {
        let acc = if deposits_end == 0 { B256::ZERO } else { acc1 };
        let request = post(&tip, last_block - first_block + 1, deposits_end, acc);
        let blocks = batch_data::decode(&request.data).expect("decodes");
        let posted = seq.post_batch(&request).await.expect("post");
        assert_eq!(posted.header.index, i as u64);
        assert_eq!(
            (posted.header.first_block, posted.header.last_block),
            (first_block, last_block),
            "the block range is read from the data"
        );
        assert_eq!(
            posted.header.parent_root,
            tip.hash(),
            "the parent is the tip"
        );
        tip = blocks.last().expect("blocks").header;
        assert_eq!(
            posted.header.output_root,
            tip.hash(),
            "the output root is the last header's hash"
        );
        assert_eq!(
            posted.header.deposits_end, deposits_end,
            "deposits from the headers"
        );
        assert_eq!(
            posted.header.data_hash,
            verdict_specs::batch::data_hash(&request.data)
        );
        assert_eq!(
            B256::from(posted.header.hash()),
            seq.batch_hash(i as u64).await.expect("hash")
        );
        headers.push(posted.header);
    }

    // Too early: the window is still open.
    let open = seq.finalize(&headers[0]).await.expect_err("window open");
    assert!(open.to_string().contains("WindowOpen"), "{open}");
    seq.client().dev_mine(WINDOW).await.expect("mine");
    for header in &headers {
        user.finalize(header).await.expect("finalize");
    }

    user.deposit(recipient, ether(3))
        .await
        .expect("second deposit");
    let to = user.client().block_number().await.expect("block number");
    let deposits = user
        .deposits(deployment.deployed_at_block, to)
        .await
        .expect("deposits");
    let posted = user
        .posted_batches(deployment.deployed_at_block, to)
        .await
        .expect("batches");
    assert_eq!(posted, headers, "BatchPosted events carry the headers");

    let provider = user.client().provider().clone();
    let mut code_hashes = Vec::new();
    for address in [
        deployment.bridge,
        deployment.model_registry,
        deployment.rollup,
    ] {
        let code = provider.get_code_at(address).await.expect("code");
        code_hashes.push(alloy::primitives::keccak256(&code));
    }
    let mut rollup_storage = Vec::new();
    for slot in 0..8u64 {
        let value = provider
            .get_storage_at(deployment.rollup, U256::from(slot))
            .await
            .expect("storage");
        rollup_storage.push(B256::from(value));
    }
    let model_name = user.model(model_id).await.expect("model").name;
    let mut batch_hashes = Vec::new();
    for i in 0..3 {
        batch_hashes.push(user.batch_hash(i).await.expect("batch hash"));
    }
    FlowState {
        head: user.head().await.expect("head"),
        batch_hashes,
        headers,
        bond: user.bond_of(sequencer).await.expect("bond"),
        model_id,
        model_name,
        deposit_count: user.deposit_count().await.expect("count"),
        accumulator: user.accumulator_at(2).await.expect("accumulator"),
        deposits,
        code_hashes,
        rollup_storage,
        deployment,
    }
}

/// A post of `count` empty blocks after `tip`, having consumed `deposits_end` deposits.
fn post(tip: &BlockHeader, count: u64, deposits_end: u64, acc: B256) -> BatchPost {
    BatchPost {
        deposit_accumulator: acc,
        data: batch_data::encode(&batch_data::empty_blocks(tip, count, deposits_end)),
    }
}

fn check_end_state(state: &FlowState) {
    assert_eq!(
        state.head,
        RollupHead {
            batch_count: 3,
            finalized_count: 3,
            next_block: 10,
            deposits_consumed: 1
        }
    );
    assert_eq!(state.bond, ether(2));
    assert_eq!(state.model_name, "digits-mlp");
    assert_eq!(state.deposit_count, 2);
    assert_eq!(state.deposits.len(), 2);
    assert_eq!(
        state.accumulator,
        B256::from(verdict_specs::bridge::queue_accumulator(&state.deposits))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flow_runs_against_anvil_over_http_and_websocket() {
    let anvil = Anvil::start();
    let state = run_flow(&anvil.http_url()).await;
    check_end_state(&state);

    // The same flow over WebSocket on a fresh anvil ends in the same state.
    let anvil_ws = Anvil::start();
    let over_ws = run_flow(&anvil_ws.ws_url()).await;
    assert_eq!(over_ws, state);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_chain_ends_in_the_same_state_as_anvil() {
    use verdict_devchain::{DevChain, DevChainConfig};
    let anvil = Anvil::start();
    let on_anvil = run_flow(&anvil.http_url()).await;

    let chain = DevChain::open(DevChainConfig::default()).expect("embedded chain");
    let (_, server) = chain
        .serve("127.0.0.1:0".parse().expect("address"))
        .await
        .expect("serve");
    let on_embedded = run_flow(&server.http_url()).await;
    check_end_state(&on_embedded);
    assert_eq!(on_embedded, on_anvil, "same contract state on both chains");

    // And over WebSocket, on a fresh embedded chain.
    let chain_ws = DevChain::open(DevChainConfig::default()).expect("embedded chain");
    let (_, server_ws) = chain_ws
        .serve("127.0.0.1:0".parse().expect("address"))
        .await
        .expect("serve");
    assert_eq!(run_flow(&server_ws.ws_url()).await, on_anvil);
}
