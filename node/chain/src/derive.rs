//! One derivation: what a posted block does to the L2 state, from its body, its parent
//! and L1 alone (specs/state.md §3).
//!
//! The block's deposits are queue entries `parent.deposits_consumed ..
//! header.deposits_consumed` of the bridge; its inferences pay the fee registered at the
//! block's `l1_origin`; the transactions apply in trace order (deposits, inferences,
//! withdrawals) with every rule checked; the state root after the last one must be the
//! header's. [`derive_block`] runs that over a small trait for the L1 inputs
//! ([`L1Inputs`]), so the full node, the challenger's state check and the tests (with an
//! in-memory L1) run the same code.

use std::collections::HashMap;
use std::future::Future;

use verdict_specs::Hash;
use verdict_specs::bridge::Deposit;
use verdict_specs::l2::Address;
use verdict_specs::l2::batch_data::BlockBody;
use verdict_specs::l2::block::BlockHeader;
use verdict_specs::l2::request::SigningDomain;
use verdict_specs::l2::step::{StateTx, StepError, StepRules, block_txs, invalid_state};
use verdict_specs::l2::transition::State;

/// What the derivation reads from L1. Both answers are final once on L1, so an
/// implementation may cache them for good.
pub trait L1Inputs {
    /// Why L1 could not be read (not a fault of the block).
    type Error;

    /// Queue entries `from..to` of the bridge's deposit queue, or `None` when L1 holds
    /// fewer (or `from > to`).
    fn deposits(
        &mut self,
        from: u64,
        to: u64,
    ) -> impl Future<Output = Result<Option<Vec<Deposit>>, Self::Error>> + Send;

    /// How many queue entries L1 is known to hold (for the message of a block that
    /// consumes more).
    fn queue_len(&self) -> u64;

    /// `ModelRegistry.feeAt(model, l1_origin)` of each model (`None`: not registered then).
    fn fees(
        &mut self,
        models: &[Hash],
        l1_origin: u64,
    ) -> impl Future<Output = Result<HashMap<Hash, Option<u128>>, Self::Error>> + Send;
}

/// Whether to keep the state root after every transaction: the challenger needs the
/// trace to play a state game; the full node needs only the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceMode {
    /// Only the final root is computed.
    FinalRoot,
    /// `S_0 … S_n`, with [`invalid_state`] after an invalid transaction, as the game
    /// compares them.
    EveryStep,
}

/// Why a block does not follow from its parent and L1.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BlockFault {
    /// It consumes fewer deposits than its parent had.
    #[error("block {number} consumes deposits backwards ({from} after {parent})")]
    DepositsBackwards {
        /// The block.
        number: u64,
        /// Its parent's count.
        parent: u64,
        /// Its own count.
        from: u64,
    },
    /// It consumes deposits L1 does not hold.
    #[error("block {number} consumes deposits up to {to}; the queue holds {queue}")]
    DepositsBeyondQueue {
        /// The block.
        number: u64,
        /// Its count.
        to: u64,
        /// The queue's length on L1.
        queue: u64,
    },
    /// A transaction breaks a rule (signature, fee, nonce, balance).
    #[error("block {number} transaction {index}: {error}")]
    InvalidTransaction {
        /// The block.
        number: u64,
        /// The transaction's position in trace order.
        index: usize,
        /// The rule it breaks.
        error: StepError,
    },
    /// Every transaction holds but the state root is not the header's.
    #[error("block {number}'s state root does not follow from its transactions")]
    StateRoot {
        /// The block.
        number: u64,
    },
}

/// A derived block.
#[derive(Clone, Debug)]
pub struct Derived {
    /// The deposits it consumed, in queue order.
    pub deposits: Vec<Deposit>,
    /// Its transactions in trace order.
    pub txs: Vec<StateTx>,
    /// The roots `S_0 … S_n` ([`TraceMode::EveryStep`]), else empty.
    pub trace: Vec<Hash>,
    /// Why the block does not hold, or `None` when it does.
    pub fault: Option<BlockFault>,
}

impl Derived {
    /// The first invalid transaction and its rule, when that is the fault.
    pub fn invalid(&self) -> Option<(usize, StepError)> {
        match &self.fault {
            Some(BlockFault::InvalidTransaction { index, error, .. }) => {
                Some((*index, error.clone()))
            }
            _ => None,
        }
    }
}

/// The fixed context of a batch's blocks.
#[derive(Clone, Copy, Debug)]
pub struct BatchContext {
    /// The rollup's signing domain.
    pub domain: SigningDomain,
    /// The sequencer, paid every fee.
    pub sequencer: Address,
    /// The L1 block of the batch that posted the blocks.
    pub batch_l1_block: u64,
}

/// Applies `block` to `state` (the state after `parent`). On success `state` is the
/// state after the block; after a fault it may be half-applied (the caller discards it).
/// `Err` only when L1 could not be read.
pub async fn derive_block<I: L1Inputs>(
    inputs: &mut I,
    context: &BatchContext,
    parent: &BlockHeader,
    block: &BlockBody,
    state: &mut State,
    mode: TraceMode,
) -> Result<Derived, I::Error> {
    let header = &block.header;
    let number = header.number;
    let (from, to) = (parent.deposits_consumed, header.deposits_consumed);
    let mut derived = Derived {
        deposits: Vec::new(),
        txs: Vec::new(),
        trace: Vec::new(),
        fault: None,
    };
    if to < from {
        derived.fault = Some(BlockFault::DepositsBackwards {
            number,
            parent: from,
            from: to,
        });
        return Ok(derived);
    }
    let Some(deposits) = inputs.deposits(from, to).await? else {
        derived.fault = Some(BlockFault::DepositsBeyondQueue {
            number,
            to,
            queue: inputs.queue_len(),
        });
        return Ok(derived);
    };
    let models: Vec<Hash> = block
        .inferences
        .iter()
        .map(|tx| tx.signed.request.model_id)
        .collect();
    let fees = inputs.fees(&models, header.l1_origin).await?;
    let fee_at = |model: &Hash, _: u64| fees.get(model).copied().flatten();
    let rules = StepRules {
        domain: context.domain,
        sequencer: context.sequencer,
        l1_origin: header.l1_origin,
        batch_l1_block: context.batch_l1_block,
        fee_at: &fee_at,
    };
    let txs = block_txs(&deposits, &block.inferences, &block.withdrawals);
    let (trace, invalid) = apply_block(state, &txs, &rules, mode);
    derived.fault = match invalid {
        Some((index, error)) => Some(BlockFault::InvalidTransaction {
            number,
            index,
            error,
        }),
        None if state.root() != header.state_root => Some(BlockFault::StateRoot { number }),
        None => None,
    };
    derived.deposits = deposits;
    derived.txs = txs;
    derived.trace = trace;
    Ok(derived)
}

/// Applies `txs` in order with every rule, the signatures checked first in parallel (the
/// costly part); stops at the first invalid one. Gives the trace in
/// [`TraceMode::EveryStep`] exactly as `apply_trace` in `specs` defines it.
fn apply_block(
    state: &mut State,
    txs: &[StateTx],
    rules: &StepRules<'_>,
    mode: TraceMode,
) -> (Vec<Hash>, Option<(usize, StepError)>) {
    let every_step = mode == TraceMode::EveryStep;
    let mut trace = Vec::new();
    if every_step {
        trace.reserve(txs.len() + 1);
        trace.push(state.root());
    }
    let bad_signature = first_bad_signature(txs, &rules.domain);
    let checked = bad_signature.as_ref().map_or(txs.len(), |(k, _)| *k);
    let mut invalid = None;
    for (k, tx) in txs[..checked].iter().enumerate() {
        if let Err(error) = tx.apply_verified(state, rules) {
            invalid = Some((k, error));
            break;
        }
        if every_step {
            trace.push(state.root());
        }
    }
    let invalid = invalid.or(bad_signature);
    if every_step && invalid.is_some() {
        trace.resize(txs.len() + 1, invalid_state());
    }
    (trace, invalid)
}

/// The first transaction whose signature does not hold, checked on every core.
fn first_bad_signature(txs: &[StateTx], domain: &SigningDomain) -> Option<(usize, StepError)> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = txs.len().div_ceil(threads).max(64);
    std::thread::scope(|scope| {
        let workers: Vec<_> = txs
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                scope.spawn(move || {
                    part.iter().enumerate().find_map(|(i, tx)| {
                        tx.check_signature(domain).err().map(|e| (c * chunk + i, e))
                    })
                })
            })
            .collect();
        workers
            .into_iter()
            .filter_map(|w| w.join().ok().flatten())
            .min_by_key(|(k, _)| *k)
    })
}

#[cfg(test)]
mod tests;
