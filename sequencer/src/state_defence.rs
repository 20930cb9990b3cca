//! Defending the sequencer's blocks in state games (specs/state.md §6), and replaying the
//! stored chain exactly as the builder applied it.
//!
//! The defender rebuilds the disputed block's trace from its own chain store: the state
//! after the parent by replaying blocks `1..b` (deposits, inferences at their stored fee,
//! withdrawals), then block `b` one transaction at a time with the sequencer's own
//! semantics, so the states it bisects with are the ones it claimed. At `hi = lo + 1` it
//! proves step `lo` under the honest rules; when no proof exists (its own transaction
//! broke a rule) it makes no move and loses on the clock.
//!
//! Replays reproduce injected faults: the fault plan's faulty deposits are the wrong
//! credits [`verdict_chain::replay`] recomputes.

use std::collections::HashMap;

use crate::fault::FaultPlan;
use alloy::primitives::B256;
use tracing::{info, warn};
use verdict_l1::client::L1Error;
use verdict_l1::contracts::VerdictL1;
use verdict_l1::games::GameView;
use verdict_specs::Hash;
use verdict_specs::game::state_step::{StateStepProof, leaf_path, prove};
use verdict_specs::game::{Game, Move, Status};
use verdict_specs::hash::to_hex;
use verdict_specs::l2::Address;
use verdict_specs::l2::block::BlockHeader;
use verdict_specs::l2::request::SigningDomain;
use verdict_specs::l2::step::{StateTx, StepRules};
use verdict_specs::l2::transition::State;

use verdict_chain::replay::{ReplayError, StoredBlock, apply_block, replay_chain, replay_sealed};
use verdict_chain::store::ChainStore;

/// `GameView.kind` of a state game.
pub const STATE_GAME: u8 = 1;

/// The deposits `plan` credits wrongly, as the chain's replay takes them.
pub fn wrong_credits(plan: Option<&FaultPlan>) -> impl Fn(u64) -> bool + '_ {
    move |index| plan.is_some_and(|p| p.is_faulty_deposit(index))
}

/// A sealed block's state trace as this sequencer built it.
pub struct BlockTrace {
    /// The block's header.
    pub header: BlockHeader,
    /// The state after its parent (`S_0`).
    pub parent: State,
    /// Its transactions in trace order.
    pub txs: Vec<StateTx>,
    /// Which of its deposits were credited wrongly (one flag per deposit).
    pub faulty: Vec<bool>,
    /// `S_0 … S_n`.
    pub states: Vec<Hash>,
    /// Its record hashes (the leaves of `records_root`).
    pub record_hashes: Vec<Hash>,
    /// Its withdrawal leaves (the leaves of `withdrawals_root`).
    pub withdrawal_leaves: Vec<Hash>,
}

impl BlockTrace {
    /// Rebuilds block `number`'s trace from the store.
    pub fn rebuild(
        store: &ChainStore,
        number: u64,
        plan: Option<&FaultPlan>,
        sequencer: &Address,
        domain: &SigningDomain,
    ) -> Result<Self, ReplayError> {
        let header = store.header(number)?.ok_or(ReplayError::Missing(number))?;
        let mut parent = replay_chain(
            store,
            number.saturating_sub(1),
            Some(&wrong_credits(plan)),
            sequencer,
        )?;
        let block = StoredBlock::load(store, number)?;
        let faulty = replay_sealed(
            &mut parent.clone(),
            &block,
            &header,
            Some(&wrong_credits(plan)),
            sequencer,
        )?;
        let txs = block.state_txs();
        let mut running = parent.clone();
        let mut states = vec![parent.root()];
        states.extend(apply_block(
            &mut running,
            number,
            &txs,
            &faulty,
            sequencer,
            true,
        )?);
        Ok(Self {
            header,
            parent,
            txs,
            faulty,
            states,
            record_hashes: block
                .txs
                .iter()
                .map(|tx| tx.record(domain).hash())
                .collect(),
            withdrawal_leaves: block
                .withdrawals
                .iter()
                .map(|w| w.withdrawal.leaf())
                .collect(),
        })
    }

    /// `S_k` as a full state.
    pub fn state_at(&self, k: usize, sequencer: &Address) -> Result<State, ReplayError> {
        let mut state = self.parent.clone();
        let k = k.min(self.txs.len());
        apply_block(
            &mut state,
            self.header.number,
            &self.txs[..k],
            &self.faulty,
            sequencer,
            false,
        )?;
        Ok(state)
    }

    /// The Merkle path of step `k`'s record or withdrawal leaf (empty for a deposit).
    pub fn tx_proof(&self, k: usize) -> Vec<Hash> {
        let d = self.faulty.len();
        let r = self.record_hashes.len();
        match self.txs.get(k) {
            Some(StateTx::Inference(_)) => leaf_path(&self.record_hashes, k - d),
            Some(StateTx::Withdrawal(_)) => leaf_path(&self.withdrawal_leaves, k - d - r),
            _ => Vec::new(),
        }
    }
}

/// What the defender does next in a state game.
pub enum StateMove {
    /// A bisection (or nothing left to say: `None` from [`StateDefence::next_move`]).
    Bisect(Move),
    /// The one-step proof of the disputed step.
    Prove(StateStepProof),
}

/// The defence of one state game: the disputed block's trace and the rules its steps
/// are proved under.
pub struct StateDefence {
    trace: BlockTrace,
    domain: SigningDomain,
    sequencer: Address,
    batch_l1_block: u64,
    /// `feeAt(model, l1_origin)` of every model in the block, read when the game opened.
    fees: HashMap<Hash, Option<u128>>,
    /// Set once the disputed step turned out to have no proof.
    gave_up: bool,
}

impl StateDefence {
    /// Prepares the defence of the state game `view`; `None` (after a warning) when the
    /// game is over a block this sequencer does not hold or whose trace it cannot
    /// rebuild.
    pub async fn prepare(
        l1: &VerdictL1,
        store: &ChainStore,
        domain: SigningDomain,
        plan: Option<&FaultPlan>,
        id: u64,
        view: &GameView,
    ) -> Result<Option<Self>, L1Error> {
        let number = view.blockNumber;
        let sequencer = l1.deployment().sequencer.into_array();
        let batch = match store.batches() {
            Ok(batches) => batches
                .into_iter()
                .map(|b| b.header)
                .find(|h| h.index == view.batchIndex && B256::from(h.hash()) == view.batchHash),
            Err(e) => {
                warn!(
                    game = id,
                    "state game: reading the batches: {e}; not defending"
                );
                return Ok(None);
            }
        };
        let batch = match batch {
            Some(b) => Some(b),
            None => l1
                .current_batch(view.batchIndex)
                .await?
                .filter(|h| B256::from(h.hash()) == view.batchHash),
        };
        let Some(batch) = batch else {
            warn!(
                game = id,
                batch = view.batchIndex,
                "a state game over a batch this sequencer did not post (or no longer holds); not defending"
            );
            return Ok(None);
        };
        let holds_batch =
            matches!(store.header(batch.last_block), Ok(Some(h)) if h.hash() == batch.output_root);
        if !holds_batch || !(batch.first_block..=batch.last_block).contains(&number) {
            warn!(
                game = id,
                block = number,
                batch = batch.index,
                "a state game over a block this chain does not hold; not defending"
            );
            return Ok(None);
        }
        let trace = match BlockTrace::rebuild(store, number, plan, &sequencer, &domain) {
            Ok(t) => t,
            Err(e) => {
                warn!(
                    game = id,
                    block = number,
                    "cannot rebuild the block's state trace: {e}; not defending"
                );
                return Ok(None);
            }
        };
        let steps = u64::try_from(view.opCount).unwrap_or(u64::MAX);
        if steps != trace.txs.len() as u64 {
            warn!(
                game = id,
                block = number,
                steps,
                ours = trace.txs.len(),
                "the state game counts another number of transactions; not defending"
            );
            return Ok(None);
        }
        let mut fees = HashMap::new();
        for tx in &trace.txs {
            if let StateTx::Inference(step) = tx
                && !fees.contains_key(&step.model_id)
            {
                let fee = l1
                    .fee_at(B256::from(step.model_id), trace.header.l1_origin)
                    .await?;
                fees.insert(step.model_id, fee);
            }
        }
        info!(
            game = id,
            block = number,
            steps,
            "defending the block's state transition"
        );
        Ok(Some(Self::new(
            trace,
            domain,
            sequencer,
            batch.l1_block,
            fees,
        )))
    }

    /// The defence of `trace`'s block posted at L1 block `batch_l1_block`, with the fees
    /// `feeAt(model, l1_origin)` of its models.
    pub fn new(
        trace: BlockTrace,
        domain: SigningDomain,
        sequencer: Address,
        batch_l1_block: u64,
        fees: HashMap<Hash, Option<u128>>,
    ) -> Self {
        Self {
            trace,
            domain,
            sequencer,
            batch_l1_block,
            fees,
            gave_up: false,
        }
    }

    /// The defender's move in `game`, if it has one.
    pub fn next_move(&mut self, id: u64, game: &Game) -> Option<StateMove> {
        let states = &self.trace.states;
        match game.status {
            Status::AwaitingMidpoint => {
                let mid = usize::try_from(game.mid()).ok()?;
                let lo = usize::try_from(game.lo).ok()?;
                if states.get(lo) != Some(&game.lo_state) {
                    warn!(game = id, lo, "the agreed state is not this sequencer's");
                }
                let mid_state = *states.get(mid)?;
                Some(StateMove::Bisect(Move::Bisect { mid_state }))
            }
            Status::AwaitingProof if !self.gave_up => {
                let k = usize::try_from(game.lo).ok()?;
                let tx = self.trace.txs.get(k)?;
                let state = match self.trace.state_at(k, &self.sequencer) {
                    Ok(s) => s,
                    Err(e) => {
                        warn!(
                            game = id,
                            step = k,
                            "cannot rebuild the state before the step: {e}"
                        );
                        self.gave_up = true;
                        return None;
                    }
                };
                let fees = &self.fees;
                let fee_at = |model: &Hash, _: u64| fees.get(model).copied().flatten();
                let rules = StepRules {
                    domain: self.domain,
                    sequencer: self.sequencer,
                    l1_origin: self.trace.header.l1_origin,
                    batch_l1_block: self.batch_l1_block,
                    fee_at: &fee_at,
                };
                match prove(&state, tx, self.trace.tx_proof(k), &rules) {
                    Ok(proof) => {
                        let mut after = state;
                        let holds = tx.apply(&mut after, &rules).is_ok()
                            && states.get(k + 1) == Some(&after.root());
                        if !holds {
                            warn!(
                                game = id,
                                step = k,
                                claimed = %to_hex(&states[k + 1]),
                                "the step's honest result is not the claimed state: the proof loses the game"
                            );
                        }
                        Some(StateMove::Prove(proof))
                    }
                    Err(e) => {
                        warn!(
                            game = id,
                            step = k,
                            "no proof of the disputed step exists ({e}): the game will be lost on the clock"
                        );
                        self.gave_up = true;
                        None
                    }
                }
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::{FaultMode, forged_withdrawal};
    use alloy::signers::SignerSync;
    use alloy::signers::local::PrivateKeySigner;
    use verdict_chain::replay::{credited, faulty_deposits};
    use verdict_specs::bridge::Deposit;
    use verdict_specs::game::Setup;
    use verdict_specs::game::state_step::{StepContext, verify};
    use verdict_specs::l2::record::InferenceTx;
    use verdict_specs::l2::request::{InferenceRequest, SignedRequest};
    use verdict_specs::l2::withdrawal::SignedWithdrawal;
    use verdict_specs::l2::withdrawal::{Withdrawal, withdrawals_root};
    use verdict_specs::merkle;
    use verdict_specs::tensor::{Tensor, TensorData};
    use verdict_store::WriteSet;

    const FEE: u128 = 100;
    const MODEL: Hash = [0x4d; 32];
    const SEQUENCER: Address = [0x5e; 20];
    const DOMAIN: SigningDomain = SigningDomain {
        chain_id: 31337,
        rollup: [0x70; 20],
    };

    fn deposit(index: u64, recipient: Address, amount: u128) -> Deposit {
        Deposit {
            index,
            sender: [0xd0; 20],
            recipient,
            amount,
            l1_block: 7,
        }
    }

    fn user() -> PrivateKeySigner {
        PrivateKeySigner::from_bytes(&B256::repeat_byte(0x11)).unwrap()
    }

    fn inference(nonce: u64, fee: u128) -> InferenceTx {
        let key = user();
        let request = InferenceRequest {
            sender: key.address().into_array(),
            nonce,
            model_id: MODEL,
            input: Tensor::new(vec![2], TensorData::I8(vec![1, 2])).unwrap(),
            max_fee: FEE * 2,
        };
        let signature = key
            .sign_hash_sync(&B256::from(request.signing_hash(&DOMAIN)))
            .unwrap()
            .as_bytes();
        InferenceTx {
            signed: SignedRequest { request, signature },
            output: Tensor::new(vec![1], TensorData::I32(vec![nonce as i32])).unwrap(),
            fee,
        }
    }

    fn withdrawal(nonce: u64) -> SignedWithdrawal {
        let key = user();
        let withdrawal = Withdrawal {
            sender: key.address().into_array(),
            nonce,
            recipient: [0x77; 20],
            amount: 5,
        };
        let signature = key
            .sign_hash_sync(&B256::from(withdrawal.signing_hash(&DOMAIN)))
            .unwrap()
            .as_bytes();
        SignedWithdrawal {
            withdrawal,
            signature,
        }
    }

    /// Seals `block` onto `state` the way the builder does (deposits credited per
    /// `faulty`) and writes it to `store`; returns its header.
    fn seal(
        store: &ChainStore,
        state: &mut State,
        parent: &BlockHeader,
        block: &StoredBlock,
        faulty: &[bool],
    ) -> BlockHeader {
        let txs = block.state_txs();
        apply_block(state, block.number, &txs, faulty, &SEQUENCER, false).unwrap();
        let records: Vec<Hash> = block.txs.iter().map(|t| t.record(&DOMAIN).hash()).collect();
        let header = BlockHeader {
            number: block.number,
            parent_hash: parent.hash(),
            timestamp: parent.timestamp + 1,
            records_root: merkle::root(&records),
            state_root: state.root(),
            deposits_consumed: parent.deposits_consumed + block.deposits.len() as u64,
            withdrawals_root: withdrawals_root(&block.withdrawals),
            record_count: block.txs.len() as u32,
            withdrawal_count: block.withdrawals.len() as u32,
            l1_origin: 3,
        };
        let mut set = WriteSet::new();
        verdict_chain::store::put_deposits(&mut set, block.number, &block.deposits);
        for (i, (tx, hash)) in block.txs.iter().zip(&records).enumerate() {
            verdict_chain::store::put_tx(&mut set, block.number, i as u32, tx, hash);
        }
        for (i, w) in block.withdrawals.iter().enumerate() {
            verdict_chain::store::put_withdrawal(&mut set, block.number, i as u32, w);
        }
        let changed: Vec<(Address, verdict_specs::l2::account::Account)> =
            state.accounts().map(|(a, acc)| (*a, *acc)).collect();
        verdict_chain::store::put_seal(
            &mut set,
            &header,
            &records,
            changed.iter().map(|(a, acc)| (a, *acc)),
        );
        store.write_now(set).unwrap();
        header
    }

    fn rules<'a>(fee_at: &'a dyn Fn(&Hash, u64) -> Option<u128>) -> StepRules<'a> {
        StepRules {
            domain: DOMAIN,
            sequencer: SEQUENCER,
            l1_origin: 3,
            batch_l1_block: 9,
            fee_at,
        }
    }

    /// A chain of three blocks with one fault each (a deposit credited 1 wei more, a fee
    /// 1 wei above the registered one, a forged withdrawal) replays to its sealed roots,
    /// its traces end at them, honest steps prove and verify, and the faulty steps have
    /// no proof that holds.
    #[test]
    fn a_faulty_stored_chain_replays_to_its_sealed_roots() {
        let dir = tempfile::tempdir().unwrap();
        let store = ChainStore::open(dir.path()).unwrap();
        let plan = FaultPlan {
            rate: 1.0,
            mode: FaultMode::Deposit,
        };
        let sender = user().address().into_array();
        let blocks = [
            StoredBlock {
                number: 1,
                deposits: vec![deposit(0, sender, 1_000), deposit(1, [0x22; 20], 50)],
                txs: vec![inference(0, FEE)],
                withdrawals: vec![withdrawal(1)],
            },
            StoredBlock {
                number: 2,
                deposits: Vec::new(),
                txs: vec![inference(2, FEE), inference(3, FEE + 1)],
                withdrawals: Vec::new(),
            },
            StoredBlock {
                number: 3,
                deposits: vec![deposit(2, sender, 10)],
                txs: vec![inference(4, FEE)],
                withdrawals: vec![forged_withdrawal(&DOMAIN, sender, 5, SEQUENCER)],
            },
        ];
        // Deposit 0 was taken again after a roll-back (credited right), 1 and 2 fresh.
        let flags = [vec![false, true], Vec::new(), vec![true]];
        let mut state = State::new();
        let mut headers = vec![BlockHeader::genesis()];
        for (block, faulty) in blocks.iter().zip(&flags) {
            let parent = *headers.last().unwrap();
            headers.push(seal(&store, &mut state, &parent, block, faulty));
        }
        for to in 0..=3u64 {
            let mut replayed =
                replay_chain(&store, to, Some(&wrong_credits(Some(&plan))), &SEQUENCER).unwrap();
            assert_eq!(replayed.root(), headers[to as usize].state_root, "to {to}");
        }
        assert!(matches!(
            replay_chain(&store, 3, None, &SEQUENCER),
            Err(ReplayError::Mismatch(1))
        ));

        let fee_at = |model: &Hash, _: u64| (*model == MODEL).then_some(FEE);
        let rules = rules(&fee_at);
        for number in 1..=3u64 {
            let trace =
                BlockTrace::rebuild(&store, number, Some(&plan), &SEQUENCER, &DOMAIN).unwrap();
            assert_eq!(trace.states[0], headers[number as usize - 1].state_root);
            assert_eq!(
                trace.states.last(),
                Some(&headers[number as usize].state_root)
            );
            assert_eq!(trace.faulty, flags[number as usize - 1]);
            for k in 0..trace.txs.len() {
                let before = trace.state_at(k, &SEQUENCER).unwrap();
                let tx = &trace.txs[k];
                let mut honest = before.clone();
                let holds =
                    tx.apply(&mut honest, &rules).is_ok() && honest.root() == trace.states[k + 1];
                // The faults: block 1's second deposit, block 2's second inference, block 3's
                // deposit and withdrawal.
                let faulty = matches!((number, k), (1, 1) | (2, 1) | (3, 0) | (3, 2));
                assert_eq!(holds, !faulty, "block {number} step {k}");
                let Ok(proof) = prove(&before, tx, trace.tx_proof(k), &rules) else {
                    assert!(faulty, "block {number} step {k} has a proof");
                    continue;
                };
                let parent = &headers[number as usize - 1];
                let deposits = trace.faulty.len() as u64;
                let accumulator_at = |q: u64| {
                    let all: Vec<Deposit> =
                        blocks.iter().flat_map(|b| b.deposits.clone()).collect();
                    verdict_specs::bridge::queue_accumulator(&all[..q as usize])
                };
                let context = StepContext {
                    step: k as u64,
                    deposits_start: parent.deposits_consumed,
                    deposits,
                    records: trace.record_hashes.len() as u64,
                    records_root: trace.header.records_root,
                    withdrawals_root: trace.header.withdrawals_root,
                    accumulator_at: &accumulator_at,
                    rules,
                };
                let verdict = verify(&context, &trace.states[k], &trace.states[k + 1], &proof);
                assert_eq!(verdict.ok(), Some(!faulty), "block {number} step {k}");
            }
        }

        // The defence: bisects with its states, proves an honest step, gives up on a fee.
        let trace = BlockTrace::rebuild(&store, 2, Some(&plan), &SEQUENCER, &DOMAIN).unwrap();
        let states = trace.states.clone();
        let mut defence = StateDefence::new(
            trace,
            DOMAIN,
            SEQUENCER,
            9,
            HashMap::from([(MODEL, Some(FEE))]),
        );
        let mut game = Game::open(Setup {
            graph_hash: [0; 32],
            weights_root: [0; 32],
            op_count: 2,
            input_root: [0; 32],
            output_root: [0; 32],
            clock_blocks: 10,
            opened_at: 0,
        });
        game.status = Status::AwaitingMidpoint;
        game.lo = 0;
        game.hi = 2;
        game.lo_state = states[0];
        match defence.next_move(1, &game) {
            Some(StateMove::Bisect(Move::Bisect { mid_state })) => assert_eq!(mid_state, states[1]),
            _ => panic!("a bisection"),
        }
        game.status = Status::AwaitingProof;
        game.hi = 1;
        assert!(matches!(
            defence.next_move(1, &game),
            Some(StateMove::Prove(_))
        ));
        game.lo = 1;
        game.hi = 2;
        assert!(
            defence.next_move(1, &game).is_none(),
            "no proof of a wrong fee"
        );
        assert!(defence.next_move(1, &game).is_none());
    }

    #[test]
    fn a_sealed_block_replays_with_its_wrong_credits() {
        let plan = FaultPlan {
            rate: 1.0,
            mode: FaultMode::Deposit,
        };
        let block = StoredBlock {
            number: 1,
            deposits: vec![
                deposit(0, [1; 20], 10),
                deposit(1, [2; 20], 20),
                deposit(2, [1; 20], 30),
            ],
            txs: Vec::new(),
            withdrawals: Vec::new(),
        };
        // Taken fresh from each queue index (those below were taken again after a
        // roll-back).
        for fresh_from in [0, 1, 2, 3] {
            let flags = faulty_deposits(
                Some(&wrong_credits(Some(&plan))),
                &block.deposits,
                fresh_from,
            );
            let mut sealed = State::new();
            for (d, f) in block.deposits.iter().zip(&flags) {
                sealed.apply_deposit(&credited(d, *f)).unwrap();
            }
            let header = BlockHeader {
                number: 1,
                state_root: sealed.root(),
                ..BlockHeader::genesis()
            };
            let mut state = State::new();
            let found = replay_sealed(
                &mut state,
                &block,
                &header,
                Some(&wrong_credits(Some(&plan))),
                &SEQUENCER,
            )
            .unwrap();
            assert_eq!(found, flags, "fresh from {fresh_from}");
            assert_eq!(state.root(), header.state_root);
        }
    }
}
