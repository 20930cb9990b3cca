//! The state trace of one block and its one-step proof (specs/state.md §6).
//!
//! A block's transactions are its deposits, then its inferences, then its withdrawals.
//! `S_0` is the parent's state root, `S_k` the root after `k` transactions, `S_n` the
//! block's. A state game bisects over these roots to one transaction `k`; the defender
//! then proves `S_{k+1}` from `S_k` with the transaction (bound to L1: the deposit queue,
//! the records root or the withdrawals root) and the sparse-tree openings of the accounts
//! it touches. [`prove`] builds that witness and [`verify`] is the reference the
//! `StateStepVerifier` contract mirrors.

use crate::bridge::Deposit;
use crate::hash::Hash;
use crate::l2::Address;
use crate::l2::account::Account;
use crate::l2::request::SignatureBytes;
use crate::l2::smt::{self, DEPTH};
use crate::l2::step::{
    DEPOSIT_TX_BYTES, INFERENCE_TX_BYTES, InferenceStep, StateTx, StepError, StepRules,
    WITHDRAWAL_TX_BYTES,
};
use crate::l2::transition::{State, TransitionError};
use crate::l2::withdrawal::{SignedWithdrawal, Withdrawal};
use crate::merkle::{self, MerkleProof};

pub use crate::l2::step::invalid_state;
/// One account's value before its update and its path in the state tree, with zero
/// siblings left out (`present` bit `l` set: the level-`l` sibling is listed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountOpening {
    /// The account.
    pub account: Address,
    /// Its value before the update.
    pub before: Account,
    /// Which of the 160 siblings are non-zero (bit 0 = the leaf's sibling).
    pub present: [u8; 32],
    /// The non-zero siblings, leaf level first.
    pub siblings: Vec<Hash>,
}

impl AccountOpening {
    fn of(state: &mut State, account: Address) -> Self {
        state.root();
        let full = state.tree().prove(&account).siblings;
        let mut present = [0u8; 32];
        let mut siblings = Vec::new();
        for (level, sibling) in full.into_iter().enumerate() {
            if sibling != [0; 32] {
                present[31 - level / 8] |= 1 << (level % 8);
                siblings.push(sibling);
            }
        }
        Self {
            account,
            before: state.account(&account),
            present,
            siblings,
        }
    }

    fn has(&self, level: usize) -> bool {
        self.present[31 - level / 8] >> (level % 8) & 1 == 1
    }

    /// The root `leaf` folds to over this path; `None` when the sibling list does not
    /// match `present`.
    pub fn fold(&self, leaf: Hash) -> Option<Hash> {
        let mut next = self.siblings.iter();
        let mut full = Vec::with_capacity(DEPTH);
        for level in 0..DEPTH {
            full.push(if self.has(level) {
                *next.next()?
            } else {
                [0; 32]
            });
        }
        if next.next().is_some() || self.present[..12] != [0; 12] {
            return None;
        }
        smt::StateProof { siblings: full }.root_from(&self.account, leaf)
    }
}

/// The defender's witness for one step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateStepProof {
    /// The transaction's fields (`tx` of specs/state.md §6).
    pub tx: Vec<u8>,
    /// Its signature (empty for a deposit).
    pub signature: Vec<u8>,
    /// The record's or withdrawal's path to its block root (empty for a deposit).
    pub tx_proof: Vec<Hash>,
    /// The openings, in update order.
    pub accounts: Vec<AccountOpening>,
}

/// Builds the proof of `tx` applied to `state` (the state `S_k`); `tx_proof` is the
/// Merkle path of its record or withdrawal leaf. Fails when the transaction is invalid,
/// for which no proof exists.
pub fn prove(
    state: &State,
    tx: &StateTx,
    tx_proof: Vec<Hash>,
    rules: &StepRules<'_>,
) -> Result<StateStepProof, StepError> {
    tx.apply(&mut state.clone(), rules)?;
    let opened = open_touched(state, tx, &rules.sequencer);
    if let Some(address) = opened.overflow {
        return Err(TransitionError::Overflow { address }.into());
    }
    Ok(StateStepProof {
        tx: tx.tx_bytes(),
        signature: tx.signature(),
        tx_proof,
        accounts: opened.accounts,
    })
}

/// The witness a party can present for `tx` at `state` whether or not it holds, and the
/// root it would claim after it: the openings of the touched accounts, each just before
/// it changes, with an update that would overflow (or go below zero) left out. For an
/// invalid transaction this is what a dishonest defender has, and the verifier must
/// answer that its claim does not hold (vectors and tests use it).
pub fn witness(
    state: &State,
    tx: &StateTx,
    tx_proof: Vec<Hash>,
    sequencer: &Address,
) -> (StateStepProof, Hash) {
    let opened = open_touched(state, tx, sequencer);
    let proof = StateStepProof {
        tx: tx.tx_bytes(),
        signature: tx.signature(),
        tx_proof,
        accounts: opened.accounts,
    };
    (proof, opened.root)
}

/// The touched accounts opened one at a time, each just before it changes.
struct Opened {
    accounts: Vec<AccountOpening>,
    /// The root after the updates that fit.
    root: Hash,
    /// The first account whose update does not fit (it is left as it was).
    overflow: Option<Address>,
}

fn open_touched(state: &State, tx: &StateTx, sequencer: &Address) -> Opened {
    let mut running = state.clone();
    let mut accounts = Vec::new();
    let mut overflow = None;
    for (i, address) in tx.touched(sequencer).into_iter().enumerate() {
        let opening = AccountOpening::of(&mut running, address);
        let after = tx.updated(i, opening.before).unwrap_or_else(|| {
            overflow.get_or_insert(address);
            opening.before
        });
        running.set_account(address, after);
        accounts.push(opening);
    }
    Opened {
        accounts,
        root: running.root(),
        overflow,
    }
}

/// What L1 holds about the disputed step.
pub struct StepContext<'a> {
    /// The step `k`.
    pub step: u64,
    /// `parent.deposits_consumed`: the queue index of the block's first deposit.
    pub deposits_start: u64,
    /// The block's deposit count `d`.
    pub deposits: u64,
    /// The block's `record_count`.
    pub records: u64,
    /// The block's `records_root`.
    pub records_root: Hash,
    /// The block's `withdrawals_root`.
    pub withdrawals_root: Hash,
    /// `Bridge.accumulatorAt(count)`.
    pub accumulator_at: &'a dyn Fn(u64) -> Hash,
    /// The rules (domain, sequencer, fees).
    pub rules: StepRules<'a>,
}

/// Why a proof is malformed (the contract reverts; the defender may retry).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StateStepError {
    /// `tx` has the wrong length for the step's kind.
    #[error("tx is {got} bytes, a {kind} step takes {expected}")]
    TxLength {
        /// The step kind.
        kind: &'static str,
        /// Bytes given.
        got: usize,
        /// Bytes expected.
        expected: usize,
    },
    /// The transaction is not the block's transaction `k`.
    #[error("the transaction is not bound to L1 at this step")]
    NotBound,
    /// Wrong number of openings or wrong accounts.
    #[error("the openings do not name the accounts the transaction touches")]
    WrongAccounts,
    /// An opening does not fold to the current root.
    #[error("opening {0} does not lead to the current state root")]
    Opening(usize),
    /// The signature is not 65 bytes.
    #[error("the signature is not 65 bytes")]
    SignatureLength,
}

/// Verifies a step: `Ok(true)` when the proof shows `S_k → S_{k+1}`, `Ok(false)` when the
/// transaction is invalid or leads elsewhere, `Err` for a malformed proof.
pub fn verify(
    ctx: &StepContext<'_>,
    pre: &Hash,
    post: &Hash,
    proof: &StateStepProof,
) -> Result<bool, StateStepError> {
    let tx = bind(ctx, proof)?;
    let touched = tx.touched(&ctx.rules.sequencer);
    if proof.accounts.len() != touched.len()
        || proof
            .accounts
            .iter()
            .zip(&touched)
            .any(|(o, a)| o.account != *a)
    {
        return Err(StateStepError::WrongAccounts);
    }
    let mut root = *pre;
    for (i, opening) in proof.accounts.iter().enumerate() {
        if opening.fold(opening.before.leaf(&opening.account)) != Some(root) {
            return Err(StateStepError::Opening(i));
        }
        // The rules read the first touched account (the payer, or the recipient).
        if i == 0 {
            let state = State::from_accounts([(opening.account, opening.before)]);
            if tx.check(&state, &ctx.rules).is_err() {
                return Ok(false);
            }
        }
        let Some(after) = tx.updated(i, opening.before) else {
            return Ok(false);
        };
        root = opening
            .fold(after.leaf(&opening.account))
            .ok_or(StateStepError::Opening(i))?;
    }
    Ok(root == *post)
}

/// Decodes `tx` for step `k` and checks it is the block's transaction `k` on L1.
fn bind(ctx: &StepContext<'_>, proof: &StateStepProof) -> Result<StateTx, StateStepError> {
    let k = ctx.step;
    let b = &proof.tx;
    let length = |kind, expected| {
        if b.len() == expected {
            Ok(())
        } else {
            Err(StateStepError::TxLength {
                kind,
                got: b.len(),
                expected,
            })
        }
    };
    let signature = || -> Result<SignatureBytes, StateStepError> {
        proof
            .signature
            .as_slice()
            .try_into()
            .map_err(|_| StateStepError::SignatureLength)
    };
    let path = |index: u64| MerkleProof {
        index,
        siblings: proof.tx_proof.clone(),
    };
    if k < ctx.deposits {
        length("deposit", DEPOSIT_TX_BYTES)?;
        let index = ctx.deposits_start + k;
        if b[40..56] != [0u8; 16] {
            return Err(StateStepError::NotBound);
        }
        let deposit = Deposit {
            index,
            sender: b[..20].try_into().expect("20 bytes"),
            recipient: b[20..40].try_into().expect("20 bytes"),
            amount: u128::from_be_bytes(b[56..72].try_into().expect("16 bytes")),
            l1_block: u64::from_be_bytes(b[72..80].try_into().expect("8 bytes")),
        };
        let acc = (ctx.accumulator_at)(index);
        if crate::bridge::accumulate(&acc, &deposit.hash()) != (ctx.accumulator_at)(index + 1) {
            return Err(StateStepError::NotBound);
        }
        Ok(StateTx::Deposit(deposit))
    } else if k < ctx.deposits + ctx.records {
        length("inference", INFERENCE_TX_BYTES)?;
        let step = InferenceStep {
            sender: b[..20].try_into().expect("20 bytes"),
            nonce: u64::from_be_bytes(b[20..28].try_into().expect("8 bytes")),
            model_id: b[28..60].try_into().expect("32 bytes"),
            input_root: b[60..92].try_into().expect("32 bytes"),
            max_fee: u128::from_be_bytes(b[92..108].try_into().expect("16 bytes")),
            output_root: b[108..140].try_into().expect("32 bytes"),
            fee: u128::from_be_bytes(b[140..156].try_into().expect("16 bytes")),
            signature: signature()?,
        };
        let leaf = step.record(&ctx.rules.domain).hash();
        if !path(k - ctx.deposits).verify(leaf, &ctx.records_root) {
            return Err(StateStepError::NotBound);
        }
        Ok(StateTx::Inference(step))
    } else {
        length("withdrawal", WITHDRAWAL_TX_BYTES)?;
        let withdrawal = Withdrawal {
            sender: b[..20].try_into().expect("20 bytes"),
            nonce: u64::from_be_bytes(b[20..28].try_into().expect("8 bytes")),
            recipient: b[28..48].try_into().expect("20 bytes"),
            amount: u128::from_be_bytes(b[48..64].try_into().expect("16 bytes")),
        };
        if !path(k - ctx.deposits - ctx.records).verify(withdrawal.leaf(), &ctx.withdrawals_root) {
            return Err(StateStepError::NotBound);
        }
        Ok(StateTx::Withdrawal(SignedWithdrawal {
            withdrawal,
            signature: signature()?,
        }))
    }
}

/// The Merkle path of leaf `index` of `leaves` (for a proof's `tx_proof`).
pub fn leaf_path(leaves: &[Hash], index: usize) -> Vec<Hash> {
    merkle::prove(leaves, index)
        .map(|p| p.siblings)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::l2::record::InferenceTx;
    use crate::l2::request::InferenceRequest;
    use crate::l2::request::SignedRequest;
    use crate::l2::request::SigningDomain;
    use crate::l2::step::*;
    use crate::tensor::Tensor;

    const DOMAIN: SigningDomain = SigningDomain {
        chain_id: 31337,
        rollup: [0x77; 20],
    };
    const FEE: u128 = 5;

    use crate::vectors::DevKey as Key;

    fn fee_at(_model: &Hash, block: u64) -> Option<u128> {
        (block >= 10).then_some(FEE)
    }

    fn rules(sequencer: Address) -> StepRules<'static> {
        StepRules {
            domain: DOMAIN,
            sequencer,
            l1_origin: 20,
            batch_l1_block: 30,
            fee_at: &fee_at,
        }
    }

    fn inference(key: &Key, nonce: u64, fee: u128) -> InferenceTx {
        let request = InferenceRequest {
            sender: key.address(),
            nonce,
            model_id: [0x42; 32],
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

    fn deposit(index: u64, recipient: Address, amount: u128) -> Deposit {
        Deposit {
            index,
            sender: [0xd0; 20],
            recipient,
            amount,
            l1_block: 3,
        }
    }

    /// A block and everything L1 knows about it.
    struct Fixture {
        sequencer: Address,
        deposits: Vec<Deposit>,
        inferences: Vec<InferenceTx>,
        withdrawals: Vec<SignedWithdrawal>,
        parent: State,
    }

    impl Fixture {
        /// Alice and Bob deposit, pay for inferences (Bob is also the sequencer, so his
        /// inference pays himself), and withdraw.
        fn new() -> Self {
            let alice = Key::new(1);
            let bob = Key::new(2);
            let mut parent = State::new();
            parent
                .apply_deposit(&deposit(0, alice.address(), 50))
                .expect("deposit");
            Fixture {
                sequencer: bob.address(),
                deposits: vec![
                    deposit(1, alice.address(), 7),
                    deposit(2, bob.address(), 20),
                ],
                inferences: vec![
                    inference(&alice, 0, FEE),
                    inference(&bob, 0, FEE),
                    inference(&alice, 1, FEE),
                ],
                withdrawals: vec![withdrawal(&alice, 2, 30), withdrawal(&bob, 1, 1)],
                parent,
            }
        }

        fn txs(&self) -> Vec<StateTx> {
            block_txs(&self.deposits, &self.inferences, &self.withdrawals)
        }

        fn accumulators(&self) -> Vec<Hash> {
            let mut all = vec![deposit(0, Key::new(1).address(), 50)];
            all.extend(self.deposits.iter().copied());
            let mut acc = vec![[0u8; 32]];
            for d in &all {
                let next = crate::bridge::accumulate(acc.last().expect("one"), &d.hash());
                acc.push(next);
            }
            acc
        }

        fn record_leaves(&self) -> Vec<Hash> {
            self.inferences
                .iter()
                .map(|tx| tx.record(&DOMAIN).hash())
                .collect()
        }

        fn withdrawal_leaves(&self) -> Vec<Hash> {
            self.withdrawals
                .iter()
                .map(|w| w.withdrawal.leaf())
                .collect()
        }

        fn tx_proof(&self, k: usize) -> Vec<Hash> {
            let (d, r) = (self.deposits.len(), self.inferences.len());
            if k < d {
                Vec::new()
            } else if k < d + r {
                leaf_path(&self.record_leaves(), k - d)
            } else {
                leaf_path(&self.withdrawal_leaves(), k - d - r)
            }
        }

        /// Proves and verifies step `k` from `pre` (the state before it) against `post`.
        fn check(&self, k: usize, pre: &State, post: &Hash) -> Result<bool, StateStepError> {
            let tx = self.txs()[k];
            let rules = rules(self.sequencer);
            let proof = prove(pre, &tx, self.tx_proof(k), &rules).expect("a valid tx");
            let acc = self.accumulators();
            let accumulator_at = move |n: u64| acc[n as usize];
            let ctx = StepContext {
                step: k as u64,
                deposits_start: 1,
                deposits: self.deposits.len() as u64,
                records: self.inferences.len() as u64,
                records_root: merkle::root(&self.record_leaves()),
                withdrawals_root: merkle::root(&self.withdrawal_leaves()),
                accumulator_at: &accumulator_at,
                rules,
            };
            let mut pre = pre.clone();
            verify(&ctx, &pre.root(), post, &proof)
        }
    }

    #[test]
    fn every_step_of_an_honest_block_proves_and_a_wrong_post_state_fails() {
        let f = Fixture::new();
        let rules = rules(f.sequencer);
        let txs = f.txs();
        let (states, invalid) = state_trace(&f.parent, &txs, &rules);
        assert_eq!(invalid, None);
        assert_eq!(states.len(), txs.len() + 1);
        let mut state = f.parent.clone();
        for (k, tx) in txs.iter().enumerate() {
            assert_eq!(f.check(k, &state, &states[k + 1]), Ok(true), "step {k}");
            assert_eq!(f.check(k, &state, &states[k]), Ok(false), "step {k}");
            tx.apply(&mut state, &rules).expect("valid");
        }
    }

    #[test]
    fn invalid_transactions_stop_the_trace_and_cannot_be_proven() {
        let f = Fixture::new();
        let alice = Key::new(1);
        let cases: Vec<(&str, StateTx)> = vec![
            (
                "wrong fee",
                StateTx::Inference(InferenceStep::of(&inference(&alice, 0, FEE + 1))),
            ),
            ("replayed nonce", {
                let mut w = withdrawal(&alice, 0, 1);
                w.withdrawal.nonce = 5;
                StateTx::Withdrawal(w)
            }),
            ("forged withdrawal", {
                let mut w = withdrawal(&Key::new(3), 0, 10);
                w.withdrawal.sender = alice.address();
                StateTx::Withdrawal(w)
            }),
            ("overdrawn", StateTx::Withdrawal(withdrawal(&alice, 0, 51))),
        ];
        let rules = rules(f.sequencer);
        for (name, tx) in cases {
            let (states, invalid) = state_trace(&f.parent, &[tx], &rules);
            assert_eq!(invalid.map(|(k, _)| k), Some(0), "{name}");
            assert_eq!(states[1], invalid_state(), "{name}");
            assert!(prove(&f.parent, &tx, Vec::new(), &rules).is_err(), "{name}");
        }
    }

    #[test]
    fn a_proof_for_another_transaction_or_account_is_malformed() {
        let f = Fixture::new();
        let rules = rules(f.sequencer);
        let txs = f.txs();
        let acc = f.accumulators();
        let accumulator_at = move |n: u64| acc[n as usize];
        let ctx = |k: u64| StepContext {
            step: k,
            deposits_start: 1,
            deposits: 2,
            records: 3,
            records_root: merkle::root(&f.record_leaves()),
            withdrawals_root: merkle::root(&f.withdrawal_leaves()),
            accumulator_at: &accumulator_at,
            rules,
        };
        let mut pre = f.parent.clone();
        let root = pre.root();
        // Deposit 1 at step 0 binds; at step 1 (queue index 2) it does not.
        let proof = prove(&f.parent, &txs[0], Vec::new(), &rules).expect("valid");
        assert!(verify(&ctx(0), &root, &[0; 32], &proof).is_ok());
        assert_eq!(
            verify(&ctx(1), &root, &[0; 32], &proof),
            Err(StateStepError::NotBound)
        );
        let mut wrong = proof.clone();
        wrong.accounts[0].account = [9; 20];
        assert_eq!(
            verify(&ctx(0), &root, &[0; 32], &wrong),
            Err(StateStepError::WrongAccounts)
        );
        let mut wrong = proof.clone();
        wrong.accounts[0].before.balance += 1;
        assert_eq!(
            verify(&ctx(0), &root, &[0; 32], &wrong),
            Err(StateStepError::Opening(0))
        );
        let mut wrong = proof;
        wrong.tx.pop();
        assert!(matches!(
            verify(&ctx(0), &root, &[0; 32], &wrong),
            Err(StateStepError::TxLength { .. })
        ));
    }
}
