//! The derivation against an in-memory L1: valid blocks, a skipped deposit, a wrong fee,
//! a bad signature, a bad state root, and a queue too short.

use std::collections::HashMap;
use std::convert::Infallible;

use verdict_specs::l2::record::InferenceTx;
use verdict_specs::l2::request::{InferenceRequest, SignedRequest};
use verdict_specs::l2::step::apply_trace;
use verdict_specs::l2::withdrawal::SignedWithdrawal;
use verdict_specs::tensor::Tensor;

use super::*;
use verdict_specs::vectors::DevKey as Key;

const DOMAIN: SigningDomain = SigningDomain {
    chain_id: 31337,
    rollup: [0x77; 20],
};
const SEQUENCER: Address = [0x5e; 20];
const MODEL: Hash = [0x42; 32];
const FEE: u128 = 5;
const ORIGIN: u64 = 20;

/// `ModelRegistry.feeAt(model, l1_block)`, in memory.
type FeeAt = Box<dyn Fn(&Hash, u64) -> Option<u128> + Send + Sync>;

/// L1 in memory: a deposit queue and the registry's fees.
struct FakeL1 {
    queue: Vec<Deposit>,
    fee_at: FeeAt,
}

impl L1Inputs for FakeL1 {
    type Error = Infallible;

    async fn deposits(&mut self, from: u64, to: u64) -> Result<Option<Vec<Deposit>>, Infallible> {
        Ok(self
            .queue
            .get(from as usize..to as usize)
            .map(<[Deposit]>::to_vec))
    }

    fn queue_len(&self) -> u64 {
        self.queue.len() as u64
    }

    async fn fees(
        &mut self,
        models: &[Hash],
        l1_origin: u64,
    ) -> Result<HashMap<Hash, Option<u128>>, Infallible> {
        Ok(models
            .iter()
            .map(|m| (*m, (self.fee_at)(m, l1_origin)))
            .collect())
    }
}

fn deposit(index: u64, recipient: Address, amount: u128) -> Deposit {
    Deposit {
        index,
        sender: [0xd0; 20],
        recipient,
        amount,
        l1_block: 3,
    }
}

fn inference(key: &Key, nonce: u64, fee: u128) -> InferenceTx {
    let request = InferenceRequest {
        sender: key.address(),
        nonce,
        model_id: MODEL,
        input: Tensor::from_i8(vec![2], vec![1, -1]).expect("tensor"),
        max_fee: 10,
    };
    let signature = key.sign(&request.signing_hash(&DOMAIN));
    InferenceTx {
        signed: SignedRequest { request, signature },
        output: Tensor::from_i32(vec![1], vec![3]).expect("tensor"),
        fee,
    }
}

fn withdrawal(key: &Key, nonce: u64, amount: u128) -> SignedWithdrawal {
    key.withdrawal(&DOMAIN, nonce, [0xaa; 20], amount)
}

struct Case {
    l1: FakeL1,
    alice: Key,
    bob: Key,
}

fn case() -> Case {
    let (alice, bob) = (Key::new(1), Key::new(2));
    let l1 = FakeL1 {
        queue: vec![
            deposit(0, alice.address(), 100),
            deposit(1, bob.address(), 50),
        ],
        fee_at: Box::new(|model, block| (*model == MODEL && block == ORIGIN).then_some(FEE)),
    };
    Case { l1, alice, bob }
}

const CONTEXT: BatchContext = BatchContext {
    domain: DOMAIN,
    sequencer: SEQUENCER,
    batch_l1_block: 30,
};

/// Block 1 consuming `consumed` deposits with `inferences` and `withdrawals`, its state
/// root what the specs' own `apply_trace` gives over the deposits `credited` (so a test
/// can make the header disagree with L1).
fn block(
    credited: &[Deposit],
    consumed: u64,
    inferences: Vec<InferenceTx>,
    withdrawals: Vec<SignedWithdrawal>,
) -> BlockBody {
    let fee_at = |model: &Hash, block: u64| (*model == MODEL && block == ORIGIN).then_some(FEE);
    let rules = StepRules {
        domain: DOMAIN,
        sequencer: SEQUENCER,
        l1_origin: ORIGIN,
        batch_l1_block: 30,
        fee_at: &fee_at,
    };
    let txs = block_txs(credited, &inferences, &withdrawals);
    let (trace, _) = apply_trace(&mut State::new(), &txs, &rules);
    let header = BlockHeader {
        number: 1,
        parent_hash: BlockHeader::genesis().hash(),
        state_root: *trace.last().expect("S_0 at least"),
        deposits_consumed: consumed,
        record_count: inferences.len() as u32,
        withdrawal_count: withdrawals.len() as u32,
        l1_origin: ORIGIN,
        ..BlockHeader::genesis()
    };
    BlockBody {
        header,
        inferences,
        withdrawals,
    }
}

async fn derive(l1: &mut FakeL1, block: &BlockBody, mode: TraceMode) -> (Derived, State) {
    let mut state = State::new();
    let Ok(derived) = derive_block(
        l1,
        &CONTEXT,
        &BlockHeader::genesis(),
        block,
        &mut state,
        mode,
    )
    .await;
    (derived, state)
}

#[tokio::test]
async fn a_valid_block_derives_to_its_state_root_in_both_modes() {
    let Case {
        mut l1, alice, bob, ..
    } = case();
    let queue = l1.queue.clone();
    let body = block(
        &queue,
        2,
        vec![inference(&alice, 0, FEE)],
        vec![withdrawal(&bob, 0, 20)],
    );
    let (full, mut state) = derive(&mut l1, &body, TraceMode::EveryStep).await;
    assert_eq!(full.fault, None);
    assert_eq!(full.deposits, queue);
    assert_eq!(full.txs.len(), 4);
    assert_eq!(full.trace.len(), 5, "S_0 … S_4");
    assert_eq!(full.trace[4], body.header.state_root);
    assert_eq!(state.root(), body.header.state_root);
    assert_eq!(state.account(&alice.address()).balance, 95);
    assert_eq!(state.account(&SEQUENCER).balance, FEE);
    assert_eq!(state.account(&bob.address()).balance, 30);

    let (end, mut end_state) = derive(&mut l1, &body, TraceMode::FinalRoot).await;
    assert_eq!(end.fault, None);
    assert!(end.trace.is_empty(), "no trace asked for");
    assert_eq!(end_state.root(), body.header.state_root);
}

#[tokio::test]
async fn a_skipped_deposit_is_a_wrong_state_root() {
    // The censorship attack: the header counts both deposits consumed, the state credits
    // only bob's.
    let Case { mut l1, .. } = case();
    let skipped = [l1.queue[1]];
    let body = block(&skipped, 2, vec![], vec![]);
    let (derived, _) = derive(&mut l1, &body, TraceMode::FinalRoot).await;
    assert_eq!(derived.fault, Some(BlockFault::StateRoot { number: 1 }));
}

#[tokio::test]
async fn a_fee_other_than_the_registered_one_is_an_invalid_transaction() {
    let Case { mut l1, alice, .. } = case();
    let queue = l1.queue.clone();
    let body = block(&queue, 2, vec![inference(&alice, 0, FEE + 1)], vec![]);
    let (derived, _) = derive(&mut l1, &body, TraceMode::EveryStep).await;
    let (index, _) = derived.invalid().expect("the fee is wrong");
    assert_eq!(index, 2, "after the two deposits");
    assert!(matches!(
        derived.fault,
        Some(BlockFault::InvalidTransaction { number: 1, .. })
    ));
    assert_eq!(derived.trace.len(), 4);
    assert_eq!(derived.trace[3], invalid_state(), "nothing valid after it");
    assert_ne!(derived.trace[2], invalid_state(), "the deposits hold");
}

#[tokio::test]
async fn a_bad_signature_is_found_where_the_specs_find_it() {
    let Case {
        mut l1, alice, bob, ..
    } = case();
    let queue = l1.queue.clone();
    let mut forged = withdrawal(&bob, 0, 20);
    forged.withdrawal.amount = 21; // signed for 20
    let body = block(&queue, 2, vec![inference(&alice, 0, FEE)], vec![forged]);
    let (derived, _) = derive(&mut l1, &body, TraceMode::EveryStep).await;
    assert_eq!(derived.invalid().map(|(k, _)| k), Some(3));
    // The same trace as the definition's.
    let fee_at = |model: &Hash, block: u64| (*model == MODEL && block == ORIGIN).then_some(FEE);
    let rules = StepRules {
        domain: DOMAIN,
        sequencer: SEQUENCER,
        l1_origin: ORIGIN,
        batch_l1_block: 30,
        fee_at: &fee_at,
    };
    let (trace, invalid) = apply_trace(&mut State::new(), &derived.txs, &rules);
    assert_eq!(derived.trace, trace);
    assert_eq!(derived.invalid(), invalid);
}

#[tokio::test]
async fn a_made_up_state_root_is_caught() {
    let Case { mut l1, .. } = case();
    let queue = l1.queue.clone();
    let mut body = block(&queue, 2, vec![], vec![]);
    body.header.state_root = [0xee; 32];
    let (derived, _) = derive(&mut l1, &body, TraceMode::FinalRoot).await;
    assert_eq!(derived.fault, Some(BlockFault::StateRoot { number: 1 }));
}

#[tokio::test]
async fn deposits_beyond_the_queue_and_backwards_are_faults() {
    let Case { mut l1, .. } = case();
    let queue = l1.queue.clone();
    let body = block(&queue, 3, vec![], vec![]);
    let (derived, _) = derive(&mut l1, &body, TraceMode::FinalRoot).await;
    assert_eq!(
        derived.fault,
        Some(BlockFault::DepositsBeyondQueue {
            number: 1,
            to: 3,
            queue: 2
        })
    );

    let mut parent = BlockHeader::genesis();
    parent.deposits_consumed = 2;
    let body = block(&queue[..1], 1, vec![], vec![]);
    let mut state = State::new();
    let Ok(derived) = derive_block(
        &mut l1,
        &CONTEXT,
        &parent,
        &body,
        &mut state,
        TraceMode::FinalRoot,
    )
    .await;
    assert_eq!(
        derived.fault,
        Some(BlockFault::DepositsBackwards {
            number: 1,
            parent: 2,
            from: 1
        })
    );
}

/// The shared state vectors, derived as L1 would be read: every case's trace, post-state
/// root and rejection are the derivation's too, in both modes.
#[tokio::test]
async fn the_state_vectors_derive_as_recorded() {
    use verdict_specs::hash::to_hex;
    use verdict_specs::l2::account::Account;
    use verdict_specs::l2::batch_data;
    use verdict_specs::vectors::StateVectors;

    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../specs/vectors/state.json");
    let text = std::fs::read_to_string(&path).expect("specs/vectors/state.json");
    let v: StateVectors = serde_json::from_str(&text).expect("schema");
    let context = BatchContext {
        domain: SigningDomain {
            chain_id: v.chain_id,
            rollup: v.rollup,
        },
        sequencer: v.sequencer,
        batch_l1_block: 0,
    };
    let model = v.model.model_id;
    let mut l1 = FakeL1 {
        queue: v.deposits.clone(),
        fee_at: Box::new(move |m, block| verdict_specs::vectors::fee_at(m, &model, block)),
    };
    for case in &v.cases {
        let name = &case.name;
        let data = hex::decode(case.batch_data.trim_start_matches("0x")).expect("hex");
        let blocks = batch_data::decode(&data).expect("decodes");
        let mut parent = BlockHeader::genesis();
        parent.deposits_consumed = case.parent_deposits_consumed;
        let context = BatchContext {
            batch_l1_block: case.batch_l1_block,
            ..context
        };
        for mode in [TraceMode::EveryStep, TraceMode::FinalRoot] {
            let mut state = State::from_accounts(case.pre_state.iter().map(|a| {
                (
                    a.address,
                    Account {
                        balance: a.balance,
                        nonce: a.nonce,
                    },
                )
            }));
            let Ok(derived) =
                derive_block(&mut l1, &context, &parent, &blocks[0], &mut state, mode).await;
            if mode == TraceMode::EveryStep {
                let trace: Vec<String> = derived.trace.iter().map(to_hex).collect();
                assert_eq!(trace, case.states, "{name}: trace");
            }
            match (&derived.fault, &case.rejected) {
                (None, None) => {
                    assert_eq!(Some(to_hex(&state.root())), case.post_root, "{name}")
                }
                (Some(BlockFault::InvalidTransaction { index, error, .. }), Some(expected)) => {
                    assert_eq!(*index, expected.index, "{name}");
                    assert_eq!(error.to_string(), expected.error, "{name}");
                }
                (got, expected) => panic!("{name}: derived {got:?}, recorded {expected:?}"),
            }
        }
    }
}
