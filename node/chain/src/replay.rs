//! Replaying the stored chain exactly as its writer applied it: the state after any
//! sealed block, recomputed from genesis out of the chain store alone (deposits as L1
//! queued them, inferences at their stored fee, withdrawals). Roll-back ([`crate::rollback`])
//! and the sequencer's state-game defence both stand on it.
//!
//! A writer that credits some deposits wrongly on purpose (the sequencer's fault plan,
//! tests and demos only) stores them as L1 queued them, so the replay recomputes which
//! were credited wrongly. It credits a faulty deposit wrongly only the first time the
//! chain takes it, and after a roll-back it takes again only deposits below the replay
//! mark, so in any block the wrongly credited deposits are the faulty ones from some
//! queue index on: the replay tries those splits against the block's sealed state root.
//! An honest chain (the full node's, a sequencer without faults) passes `None`.

use tracing::warn;
use verdict_specs::Hash;
use verdict_specs::bridge::Deposit;
use verdict_specs::l2::Address;
use verdict_specs::l2::block::BlockHeader;
use verdict_specs::l2::record::InferenceTx;
use verdict_specs::l2::step::{StateTx, block_txs};
use verdict_specs::l2::transition::{State, TransitionError};
use verdict_specs::l2::withdrawal::SignedWithdrawal;

use crate::store::{ChainStore, ChainStoreError};

/// Which deposit queue indexes a writer credits wrongly on purpose (`None`: none).
pub type WrongCredits<'a> = Option<&'a dyn Fn(u64) -> bool>;

/// Why the stored chain cannot be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] ChainStoreError),
    /// A block below the head is not stored.
    #[error("block {0} is not stored")]
    Missing(u64),
    /// A stored transaction does not apply.
    #[error("block {number}, transaction {index}: {error}")]
    Transition {
        /// The block.
        number: u64,
        /// The transaction's position in trace order.
        index: usize,
        /// Why.
        error: TransitionError,
    },
    /// No way of applying the block gives its sealed root.
    #[error("block {0} does not replay to its sealed state root")]
    Mismatch(u64),
}

/// One stored block's transactions.
pub struct StoredBlock {
    /// Its number.
    pub number: u64,
    /// The deposits it consumed, as L1 queued them.
    pub deposits: Vec<Deposit>,
    /// Its inferences.
    pub txs: Vec<InferenceTx>,
    /// Its withdrawals.
    pub withdrawals: Vec<SignedWithdrawal>,
}

impl StoredBlock {
    /// Block `number` as the store holds it (sealed or open).
    pub fn load(store: &ChainStore, number: u64) -> Result<Self, ChainStoreError> {
        Ok(Self {
            number,
            deposits: store.block_deposits(number)?,
            txs: store.txs(number)?,
            withdrawals: store.withdrawals(number)?,
        })
    }

    /// Its transactions in trace order.
    pub fn state_txs(&self) -> Vec<StateTx> {
        block_txs(&self.deposits, &self.txs, &self.withdrawals)
    }
}

/// Which of `deposits` a writer that credits `wrong` ones wrongly credits wrongly when it takes them fresh
/// from queue index `fresh_from` on.
pub fn faulty_deposits(
    wrong: WrongCredits<'_>,
    deposits: &[Deposit],
    fresh_from: u64,
) -> Vec<bool> {
    deposits
        .iter()
        .map(|d| d.index >= fresh_from && wrong.is_some_and(|is_wrong| is_wrong(d.index)))
        .collect()
}

/// What a deposit credits: its amount, or one wei more when `faulty` (and that fits).
pub fn credited(deposit: &Deposit, faulty: bool) -> Deposit {
    let mut credit = *deposit;
    if faulty {
        credit.amount = deposit.amount.saturating_add(1);
    }
    credit
}

/// Applies one transaction the way the builder does: a deposit credits what `faulty`
/// says (an overflowing credit credits nothing, the deposit is still consumed), an
/// inference pays its stored fee, a withdrawal debits its sender. No signature or fee
/// rule is checked: these are the sequencer's own semantics.
pub fn apply_tx(
    state: &mut State,
    tx: &StateTx,
    faulty: bool,
    sequencer: &Address,
) -> Result<(), TransitionError> {
    match tx {
        StateTx::Deposit(d) => {
            if let Err(e) = state.apply_deposit(&credited(d, faulty)) {
                warn!(index = d.index, "deposit not credited: {e}");
            }
            Ok(())
        }
        StateTx::Inference(step) => {
            state.apply_inference(&step.sender, step.nonce, step.fee, step.max_fee, sequencer)
        }
        StateTx::Withdrawal(w) => state.apply_withdrawal(&w.withdrawal),
    }
}

/// Applies `txs` (with the deposits' `faulty` flags, deposits first) to `state`; the
/// roots after each transaction when `trace` is set.
pub fn apply_block(
    state: &mut State,
    number: u64,
    txs: &[StateTx],
    faulty: &[bool],
    sequencer: &Address,
    trace: bool,
) -> Result<Vec<Hash>, ReplayError> {
    let mut roots = Vec::with_capacity(if trace { txs.len() } else { 0 });
    for (index, tx) in txs.iter().enumerate() {
        let wrong = faulty.get(index).copied().unwrap_or(false);
        apply_tx(state, tx, wrong, sequencer).map_err(|error| ReplayError::Transition {
            number,
            index,
            error,
        })?;
        if trace {
            roots.push(state.root());
        }
    }
    Ok(roots)
}

/// Applies sealed block `block` (header `header`) to `state`; returns which of its
/// deposits were credited wrongly (see the module's doc).
pub fn replay_sealed(
    state: &mut State,
    block: &StoredBlock,
    header: &BlockHeader,
    wrong: WrongCredits<'_>,
    sequencer: &Address,
) -> Result<Vec<bool>, ReplayError> {
    let txs = block.state_txs();
    let candidates: Vec<usize> = faulty_deposits(wrong, &block.deposits, 0)
        .iter()
        .enumerate()
        .filter_map(|(i, faulty)| faulty.then_some(i))
        .collect();
    if candidates.is_empty() {
        apply_block(state, block.number, &txs, &[], sequencer, false)?;
        if state.root() != header.state_root {
            return Err(ReplayError::Mismatch(block.number));
        }
        return Ok(vec![false; block.deposits.len()]);
    }
    // The wrongly credited ones are the candidates from some position on: all of them
    // first (a chain never rolled back), none last.
    let mut last_error = ReplayError::Mismatch(block.number);
    for split in 0..=candidates.len() {
        let mut faulty = vec![false; block.deposits.len()];
        for &i in &candidates[split..] {
            faulty[i] = true;
        }
        let mut attempt = state.clone();
        match apply_block(&mut attempt, block.number, &txs, &faulty, sequencer, false) {
            Ok(_) if attempt.root() == header.state_root => {
                *state = attempt;
                return Ok(faulty);
            }
            Ok(_) => {}
            Err(e) => last_error = e,
        }
    }
    Err(last_error)
}

/// The state after sealed block `to`, replayed from genesis.
pub fn replay_chain(
    store: &ChainStore,
    to: u64,
    wrong: WrongCredits<'_>,
    sequencer: &Address,
) -> Result<State, ReplayError> {
    let mut state = State::new();
    for number in 1..=to {
        let header = store.header(number)?.ok_or(ReplayError::Missing(number))?;
        let block = StoredBlock::load(store, number)?;
        replay_sealed(&mut state, &block, &header, wrong, sequencer)?;
    }
    Ok(state)
}
