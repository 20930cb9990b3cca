//! The Solidity encodings and hashes against `verdict-specs`, through revm: the batch
//! data hash, batch header hash, deposit hash and queue accumulator, and Merkle roots,
//! on random inputs (proptest) and on every case of the shared JSON vectors.

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::sol;
use proptest::prelude::*;
use verdict_devchain::local_evm::LocalEvm;
use verdict_l1::bindings::{Bridge, Rollup};
use verdict_l1::contracts::header_to_sol;
use verdict_specs::batch::{self, BatchHeader};
use verdict_specs::bridge::{self, Deposit};
use verdict_specs::merkle;

sol!(
    #[sol(rpc)]
    MerkleHarness,
    "artifacts/MerkleHarness.json"
);

const DEPLOYER: Address = Address::repeat_byte(0xde);

struct Contracts {
    evm: LocalEvm,
    bridge: Address,
    rollup: Address,
    merkle: Address,
}

fn deploy() -> Contracts {
    let mut evm = LocalEvm::new();
    evm.fund(DEPLOYER, U256::from(10).pow(U256::from(24)));
    let (bridge, _) = evm
        .deploy(DEPLOYER, Bridge::BYTECODE.to_vec())
        .expect("bridge");
    let mut code = Rollup::BYTECODE.to_vec();
    code.extend_from_slice(&alloy::sol_types::SolConstructor::abi_encode(
        &Rollup::constructorCall {
            bridge_: bridge,
            sequencer_: DEPLOYER,
            disputeWindow_: 10,
            minBond_: U256::from(1),
            inclusionDeadline_: 1_000_000,
        },
    ));
    let (rollup, _) = evm.deploy(DEPLOYER, code).expect("rollup");
    let (merkle, _) = evm
        .deploy(DEPLOYER, MerkleHarness::BYTECODE.to_vec())
        .expect("merkle harness");
    Contracts {
        evm,
        bridge,
        rollup,
        merkle,
    }
}

fn solidity_data_hash(c: &mut Contracts, data: &[u8]) -> [u8; 32] {
    let call = Rollup::dataHashCall {
        data: Bytes::copy_from_slice(data),
    };
    c.evm.call(c.rollup, call).expect("dataHash").0
}

fn solidity_header_hash(c: &mut Contracts, header: &BatchHeader) -> [u8; 32] {
    let call = Rollup::headerHashCall {
        header: header_to_sol(header),
    };
    c.evm.call(c.rollup, call).expect("headerHash").0
}

fn solidity_deposit_hash(c: &mut Contracts, d: &Deposit) -> [u8; 32] {
    let call = Bridge::depositHashCall {
        index: d.index,
        sender: Address::from(d.sender),
        recipient: Address::from(d.recipient),
        amount: U256::from(d.amount),
        l1Block: d.l1_block,
    };
    c.evm.call(c.bridge, call).expect("depositHash").0
}

fn solidity_merkle_root(c: &mut Contracts, leaves: &[Vec<u8>]) -> [u8; 32] {
    let call = MerkleHarness::rootCall {
        leaves: leaves.iter().map(|l| Bytes::copy_from_slice(l)).collect(),
    };
    c.evm.call(c.merkle, call).expect("root").0
}

fn header_strategy() -> impl Strategy<Value = BatchHeader> {
    (
        any::<[u64; 6]>(),
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
    )
        .prop_map(
            |(n, parent_root, output_root, data_hash, acc)| BatchHeader {
                index: n[0],
                first_block: n[1],
                last_block: n[2],
                parent_root,
                output_root,
                data_hash,
                deposits_start: n[3],
                deposits_end: n[4],
                deposit_accumulator: acc,
                l1_block: n[5],
            },
        )
}

fn deposit_strategy() -> impl Strategy<Value = Deposit> {
    (
        any::<u64>(),
        any::<[u8; 20]>(),
        any::<[u8; 20]>(),
        any::<u128>(),
        any::<u64>(),
    )
        .prop_map(|(index, sender, recipient, amount, l1_block)| Deposit {
            index,
            sender,
            recipient,
            amount,
            l1_block,
        })
}

/// Lengths cluster around chunk boundaries, where an off-by-one would hide.
fn data_strategy() -> impl Strategy<Value = Vec<u8>> {
    let chunk = batch::DATA_CHUNK_BYTES;
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        (0usize..4, 0usize..3).prop_flat_map(move |(chunks, side)| {
            let len = (chunks * chunk + side).saturating_sub(1);
            proptest::collection::vec(any::<u8>(), len..=len + 1)
        }),
        proptest::collection::vec(any::<u8>(), 0..3 * chunk),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn batch_data_hash_matches(data in data_strategy()) {
        let mut c = deploy();
        prop_assert_eq!(solidity_data_hash(&mut c, &data), batch::data_hash(&data));
    }

    #[test]
    fn batch_header_hash_matches(header in header_strategy()) {
        let mut c = deploy();
        prop_assert_eq!(solidity_header_hash(&mut c, &header), header.hash());
    }

    #[test]
    fn deposit_hash_matches(deposit in deposit_strategy()) {
        let mut c = deploy();
        prop_assert_eq!(solidity_deposit_hash(&mut c, &deposit), deposit.hash());
    }

    #[test]
    fn merkle_root_matches(leaves in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..70), 0..40)) {
        let mut c = deploy();
        let hashes: Vec<_> = leaves.iter().map(|l| merkle::leaf_hash(l)).collect();
        prop_assert_eq!(solidity_merkle_root(&mut c, &leaves), merkle::root(&hashes));
    }
}

/// Deposits made through `Bridge.deposit` build the accumulator `verdict-specs` computes
/// from the same records.
#[test]
fn deposits_through_the_bridge_accumulate_as_specified() {
    let mut c = deploy();
    let mut expected = Vec::new();
    for (i, amount) in [1u128, 7, u64::MAX as u128, 1 << 100]
        .into_iter()
        .enumerate()
    {
        let sender = Address::repeat_byte(0x10 + i as u8);
        let recipient = Address::repeat_byte(0x20 + i as u8);
        c.evm.fund(sender, U256::from(amount) * U256::from(2));
        c.evm.set_block_number(100 + i as u64);
        c.evm
            .send(
                sender,
                c.bridge,
                Bridge::depositCall { recipient },
                U256::from(amount),
            )
            .expect("deposit");
        expected.push(Deposit {
            index: i as u64,
            sender: sender.into_array(),
            recipient: recipient.into_array(),
            amount,
            l1_block: 100 + i as u64,
        });
        let acc = c
            .evm
            .call(
                c.bridge,
                Bridge::accumulatorAtCall {
                    count: U256::from(i + 1),
                },
            )
            .expect("accumulatorAt");
        assert_eq!(
            acc,
            B256::from(bridge::queue_accumulator(&expected)),
            "after deposit {i}"
        );
    }
}

fn vectors(name: &str) -> serde_json::Value {
    let path = format!("{}/../../specs/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("vector JSON")
}

#[test]
fn every_shared_vector_matches_in_the_evm() {
    let mut c = deploy();
    let batches: verdict_specs::vectors::BatchVectors =
        serde_json::from_value(vectors("batches.json")).expect("batches.json");
    for case in &batches.data {
        let data = alloy::hex::decode(&case.data).expect("hex");
        assert_eq!(
            solidity_data_hash(&mut c, &data),
            case.hash,
            "{} bytes",
            data.len()
        );
    }
    for case in &batches.headers {
        assert_eq!(solidity_header_hash(&mut c, &case.header), case.hash);
    }
    let deposits: Vec<verdict_specs::vectors::DepositCase> =
        serde_json::from_value(vectors("deposits.json")).expect("deposits.json");
    for case in &deposits {
        assert_eq!(solidity_deposit_hash(&mut c, &case.deposit), case.hash);
    }
    let merkle: Vec<verdict_specs::vectors::MerkleCase> =
        serde_json::from_value(vectors("merkle.json")).expect("merkle.json");
    for case in &merkle {
        let leaves: Vec<Vec<u8>> = case
            .leaves
            .iter()
            .map(|l| alloy::hex::decode(l).expect("hex"))
            .collect();
        assert_eq!(solidity_merkle_root(&mut c, &leaves), case.root);
    }
    assert!(!batches.data.is_empty() && !deposits.is_empty() && !merkle.is_empty());
}
