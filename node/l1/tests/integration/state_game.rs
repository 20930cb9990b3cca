//! State-transition fraud proofs on the embedded L1 with the real contracts
//! (specs/state.md §6). A sequencer posts a block whose state root lies in one of four
//! ways — a mis-credited deposit, a skipped deposit, a wrong fee, a forged withdrawal —
//! and a challenger that recomputes the state trace opens a state game, bisects to the
//! bad transaction, and wins: the batch is reverted and the bond slashed. An honest
//! sequencer wins against a lying challenger by proving the step on L1. A deposit left
//! out past the inclusion deadline makes every post fail (forced inclusion).
//!
//! Gas of a deposit, of each kind of state one-step proof and of opening is printed
//! (`--nocapture`) for the issue notes.

use crate::support;

use alloy::primitives::{B256, U256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use support::{DEV_KEYS, dev_client as client, ether};
use verdict_devchain::{DevChain, DevChainConfig};
use verdict_l1::client::signer::load_signer;
use verdict_l1::contracts::{BatchPost, ModelRegistration, VerdictL1};
use verdict_l1::deploy::{DeployParams, deploy};
use verdict_l1::games::game_of;
use verdict_specs::batch::BatchHeader;
use verdict_specs::bridge::{Deposit, queue_accumulator};
use verdict_specs::game::state_step::{leaf_path, prove};
use verdict_specs::game::{Move, Party, Status};
use verdict_specs::l2::batch_data::{self, BlockBody};
use verdict_specs::l2::block::BlockHeader;
use verdict_specs::l2::record::InferenceTx;
use verdict_specs::l2::request::{InferenceRequest, SignedRequest, SigningDomain};
use verdict_specs::l2::step::{StateTx, StepRules, block_txs, state_trace};
use verdict_specs::l2::transition::State;
use verdict_specs::l2::withdrawal::{SignedWithdrawal, Withdrawal, withdrawals_root};
use verdict_specs::model::Metadata;
use verdict_specs::{Hash, Model, Tensor, merkle};

const WINDOW: u64 = 200;
const CLOCK: u64 = 10;
const DEADLINE: u64 = 40;
const FEE: u128 = 1_000;

fn key(i: usize) -> PrivateKeySigner {
    load_signer(DEV_KEYS[i], None).expect("dev key")
}

/// How the sequencer lies in the block it posts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lie {
    Honest,
    /// Credits the second deposit with one wei more.
    MiscreditDeposit,
    /// Counts the second deposit as consumed but credits nothing.
    SkipDeposit,
    /// Charges one wei above the registered fee (within the user's max fee).
    WrongFee,
    /// Debits the user for a withdrawal the user never signed.
    ForgedWithdrawal,
}

struct World {
    sequencer: VerdictL1,
    challenger: VerdictL1,
    domain: SigningDomain,
    model: Model,
    input: Tensor,
    deposits: Vec<Deposit>,
    l1_origin: u64,
}

/// The block a (possibly lying) sequencer builds from the deposits, one inference and
/// one withdrawal of user `key(3)`, with its claimed per-transaction state trace.
struct Built {
    header: BlockHeader,
    body: BlockBody,
    /// What the sequencer claims `S_0 … S_n` are.
    claimed: Vec<Hash>,
    txs: Vec<StateTx>,
}

impl World {
    fn rules(&self, batch_l1_block: u64) -> StepRules<'static> {
        StepRules {
            domain: self.domain,
            sequencer: self.sequencer.deployment().sequencer.into_array(),
            l1_origin: self.l1_origin,
            batch_l1_block,
            fee_at: &|_, _| Some(FEE),
        }
    }

    fn build(&self, lie: Lie) -> Built {
        let user = key(3);
        let sender = user.address().into_array();
        let input = self.input.clone();
        let output = verdict_specs::interpreter::run(&self.model, &input).expect("runs");
        let fee = if lie == Lie::WrongFee { FEE + 1 } else { FEE };
        let request = InferenceRequest {
            sender,
            nonce: 0,
            model_id: self.model.id().id,
            input,
            max_fee: FEE * 2,
        };
        let signature = user
            .sign_hash_sync(&B256::from(request.signing_hash(&self.domain)))
            .expect("signs")
            .as_bytes();
        let inference = InferenceTx {
            signed: SignedRequest { request, signature },
            output,
            fee,
        };
        // The forger pays itself; the user would have paid an address of its own.
        let recipient = if lie == Lie::ForgedWithdrawal {
            self.sequencer.deployment().sequencer.into_array()
        } else {
            [0x77; 20]
        };
        let withdrawal = Withdrawal {
            sender,
            nonce: 1,
            recipient,
            amount: 5_000,
        };
        let signer = if lie == Lie::ForgedWithdrawal {
            key(2)
        } else {
            user
        };
        let withdrawal = SignedWithdrawal {
            withdrawal,
            signature: signer
                .sign_hash_sync(&B256::from(withdrawal.signing_hash(&self.domain)))
                .expect("signs")
                .as_bytes(),
        };
        let txs = block_txs(
            &self.deposits,
            std::slice::from_ref(&inference),
            &[withdrawal],
        );

        // The sequencer's own state trace: the transactions applied as it chose to.
        let sequencer = self.sequencer.deployment().sequencer.into_array();
        let mut state = State::new();
        let mut claimed = vec![state.root()];
        for (k, tx) in txs.iter().enumerate() {
            match (tx, lie, k) {
                (StateTx::Deposit(d), Lie::MiscreditDeposit, 1) => {
                    let mut lied = *d;
                    lied.amount += 1;
                    state.apply_deposit(&lied).expect("credits");
                }
                (StateTx::Deposit(_), Lie::SkipDeposit, 1) => {}
                (StateTx::Deposit(d), ..) => state.apply_deposit(d).expect("credits"),
                (StateTx::Inference(step), ..) => state
                    .apply_inference(&step.sender, step.nonce, step.fee, step.max_fee, &sequencer)
                    .expect("pays"),
                (StateTx::Withdrawal(w), ..) => {
                    state.apply_withdrawal(&w.withdrawal).expect("debits")
                }
            }
            claimed.push(state.root());
        }
        let header = BlockHeader {
            number: 1,
            parent_hash: BlockHeader::genesis().hash(),
            timestamp: 1,
            records_root: merkle::root(&[inference.record(&self.domain).hash()]),
            state_root: *claimed.last().expect("n + 1 states"),
            deposits_consumed: self.deposits.len() as u64,
            withdrawals_root: withdrawals_root(&[withdrawal]),
            record_count: 1,
            withdrawal_count: 1,
            l1_origin: self.l1_origin,
        };
        Built {
            header,
            body: BlockBody {
                header,
                inferences: vec![inference],
                withdrawals: vec![withdrawal],
            },
            claimed,
            txs,
        }
    }

    async fn post(&self, built: &Built) -> BatchHeader {
        let address = self.sequencer.client().sender().expect("signer");
        let bond = self.sequencer.bond_of(address).await.expect("bond");
        if bond < ether(1) {
            self.sequencer.bond(ether(1) - bond).await.expect("bond");
        }
        let data = batch_data::encode(std::slice::from_ref(&built.body));
        self.sequencer
            .post_batch(&BatchPost {
                deposit_accumulator: B256::from(queue_accumulator(&self.deposits)),
                data,
            })
            .await
            .expect("post")
            .header
    }

    /// Plays a state game on block 1 of `batch`; the defender bisects with `defender`
    /// states and proves honestly when it can; the challenger judges midpoints against
    /// `challenger` states (or disagrees with everything when `None`). Returns the result
    /// and the prove gas, if a proof was sent.
    async fn play(
        &self,
        batch: &BatchHeader,
        built: &Built,
        defender: &[Hash],
        challenger: Option<&[Hash]>,
    ) -> (Status, Option<u64>) {
        let opened = self
            .challenger
            .open_state_game(batch, batch, &[BlockHeader::genesis(), built.header])
            .await
            .expect("open");
        eprintln!("gas openState {}", opened.receipt.gas_used);
        let id = opened.id;
        let mut prove_gas = None;
        loop {
            let view = self.sequencer.game(id).await.expect("game");
            let game = game_of(&view).expect("status");
            let Some(mover) = game.mover() else {
                return (game.status, prove_gas);
            };
            match (mover, game.status) {
                (Party::Defender, Status::AwaitingMidpoint) => {
                    let mid = game.mid() as usize;
                    self.sequencer
                        .game_move(
                            id,
                            &Move::Bisect {
                                mid_state: defender[mid],
                            },
                        )
                        .await
                        .expect("bisect");
                }
                (Party::Challenger, Status::AwaitingChoice) => {
                    let mid = game.mid() as usize;
                    let agree = challenger.is_some_and(|c| c[mid] == game.mid_state);
                    self.challenger
                        .game_move(id, &Move::Choose { agree })
                        .await
                        .expect("choose");
                }
                (Party::Defender, Status::AwaitingProof) => {
                    let k = game.lo as usize;
                    match self.step_proof(built, k, batch.l1_block) {
                        Some(proof) => {
                            let receipt = self
                                .sequencer
                                .prove_state(id, &proof)
                                .await
                                .expect("a well-formed proof is accepted");
                            let kind = match built.txs[k] {
                                StateTx::Deposit(_) => "deposit",
                                StateTx::Inference(_) => "inference",
                                StateTx::Withdrawal(_) => "withdrawal",
                            };
                            eprintln!("gas proveState {kind} {}", receipt.gas_used);
                            prove_gas = Some(receipt.gas_used);
                        }
                        None => {
                            // No proof exists for an invalid transaction: the clock runs out.
                            self.sequencer
                                .client()
                                .dev_mine(CLOCK + 1)
                                .await
                                .expect("mine");
                            self.challenger.game_timeout(id).await.expect("timeout");
                        }
                    }
                }
                other => panic!("unexpected position {other:?}"),
            }
        }
    }

    /// The honest proof of step `k` from the honest state before it, if the transaction
    /// is valid.
    fn step_proof(
        &self,
        built: &Built,
        k: usize,
        batch_l1_block: u64,
    ) -> Option<verdict_specs::game::state_step::StateStepProof> {
        let rules = self.rules(batch_l1_block);
        let mut state = State::new();
        for tx in &built.txs[..k] {
            tx.apply(&mut state, &rules).ok()?;
        }
        let tx = &built.txs[k];
        let tx_proof = match tx {
            StateTx::Deposit(_) => Vec::new(),
            StateTx::Inference(_) => {
                leaf_path(&[built.body.inferences[0].record(&self.domain).hash()], 0)
            }
            StateTx::Withdrawal(w) => leaf_path(&[w.withdrawal.leaf()], 0),
        };
        prove(&state, tx, tx_proof, &rules).ok()
    }
}

async fn world(url: &str) -> World {
    let deployer = client(url, 0).await;
    let sequencer_client = client(url, 1).await;
    let params = DeployParams {
        sequencer: sequencer_client.sender().expect("signer"),
        dispute_window: WINDOW,
        min_bond: ether(1),
        challenger_bond: ether(1) / U256::from(10),
        clock_blocks: CLOCK,
        inclusion_deadline: DEADLINE,
    };
    let deployment = deploy(&deployer, &params).await.expect("deploy");
    let sequencer = VerdictL1::new(sequencer_client, deployment.clone()).expect("bind");
    let challenger = VerdictL1::new(client(url, 2).await, deployment.clone()).expect("bind");
    let user = VerdictL1::new(client(url, 3).await, deployment.clone()).expect("bind");
    let case = &verdict_specs::vectors::model_cases()[1];
    let model = Model::new(
        case.graph.clone(),
        case.weights.clone(),
        Metadata::default(),
    )
    .expect("valid");
    let input = case.input.clone();
    sequencer
        .register_model(&ModelRegistration::of(
            &model,
            "state-game",
            U256::from(FEE),
        ))
        .await
        .expect("register");
    let recipient = user.client().sender().expect("signer");
    let mut deposits = Vec::new();
    for amount in [ether(1), ether(2)] {
        deposits.push(user.deposit(recipient, amount).await.expect("deposit"));
    }
    let l1_origin = sequencer.client().block_number().await.expect("block");
    World {
        domain: SigningDomain::from(&deployment),
        sequencer,
        challenger,
        model,
        input,
        deposits,
        l1_origin,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_state_fault_loses_its_game_and_an_honest_block_wins() {
    let chain = DevChain::open(DevChainConfig::default()).expect("embedded chain");
    let (_, server) = chain
        .serve("127.0.0.1:0".parse().expect("address"))
        .await
        .expect("serve");
    let world = world(&server.http_url()).await;
    let honest = world.build(Lie::Honest);
    let rules_states = |batch: &BatchHeader, built: &Built| {
        let (states, invalid) =
            state_trace(&State::new(), &built.txs, &world.rules(batch.l1_block));
        (states, invalid)
    };

    for lie in [
        Lie::MiscreditDeposit,
        Lie::SkipDeposit,
        Lie::WrongFee,
        Lie::ForgedWithdrawal,
    ] {
        let built = world.build(lie);
        if lie != Lie::ForgedWithdrawal {
            // (A forged withdrawal debits like a signed one: only its signature is wrong.)
            assert_ne!(built.header.state_root, honest.header.state_root, "{lie:?}");
        }
        let batch = world.post(&built).await;
        // The challenger's view: the trace it recomputes from L1 data.
        let (truth, invalid) = rules_states(&batch, &built);
        if matches!(lie, Lie::WrongFee | Lie::ForgedWithdrawal) {
            assert!(invalid.is_some(), "{lie:?} is an invalid transaction");
        }
        assert_ne!(truth.last(), Some(&built.header.state_root), "{lie:?}");
        let (status, _) = world
            .play(&batch, &built, &built.claimed, Some(&truth))
            .await;
        assert_eq!(status, Status::ChallengerWon, "{lie:?}");
        assert!(
            world
                .sequencer
                .current_batch(batch.index)
                .await
                .expect("L1")
                .is_none(),
            "{lie:?}: the batch is reverted"
        );
    }

    // Forced inclusion: with the queue's deposits due, a post that leaves them out fails.
    world
        .sequencer
        .client()
        .dev_mine(DEADLINE)
        .await
        .expect("mine");
    world
        .sequencer
        .bond(ether(1))
        .await
        .expect("re-bond after the slashings");
    let mut skipping = world.build(Lie::Honest);
    skipping.header.deposits_consumed = 0;
    skipping.body.header.deposits_consumed = 0;
    let refused = world
        .sequencer
        .post_batch(&BatchPost {
            deposit_accumulator: B256::ZERO,
            data: batch_data::encode(std::slice::from_ref(&skipping.body)),
        })
        .await
        .expect_err("a post leaving an overdue deposit out is refused");
    assert!(
        format!("{refused:?}").contains("DepositOverdue"),
        "{refused:?}"
    );

    // An honest block: a challenger that agrees up to the inference (step 2) and
    // disagrees after it loses when the sequencer proves that step on L1.
    let batch = world.post(&honest).await;
    let mut liar = honest.claimed.clone();
    for s in liar.iter_mut().skip(3) {
        *s = [0xee; 32];
    }
    let (status, gas) = world
        .play(&batch, &honest, &honest.claimed, Some(&liar))
        .await;
    assert_eq!(status, Status::DefenderWon);
    assert!(gas.is_some(), "the defender proved the inference step");
    assert!(
        world
            .sequencer
            .current_batch(batch.index)
            .await
            .expect("L1")
            .is_some(),
        "the honest batch stays"
    );
}
