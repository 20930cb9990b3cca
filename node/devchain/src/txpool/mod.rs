//! The pending pool of interval mining: transactions waiting for the next block, by
//! sender and nonce.
//!
//! A sender's transactions are mined in nonce order and only without gaps. Between
//! senders the block builder takes the best-paying ready transaction first (effective
//! tip, then arrival). A transaction with a sender and nonce already pending replaces it
//! only if it raises both fee fields by at least 10%, as geth requires. In automine mode
//! the pool stays empty: every transaction is mined on arrival.
//!
//! The pool lives in memory only: after a restart pending transactions are gone, as in
//! anvil; mined blocks are what the journal keeps.

pub(crate) mod validation;

use super::error::TxError;
use alloy::consensus::Transaction;
use alloy::primitives::{Address, B256};
use std::collections::{BTreeMap, HashMap, HashSet};
use validation::CheckedTx;

/// geth's minimum bump for a replacement, in percent.
const REPLACEMENT_BUMP_PERCENT: u128 = 10;

#[derive(Clone, Debug)]
struct PoolTx {
    tx: CheckedTx,
    arrival: u64,
}

/// Pending transactions by sender, then nonce.
#[derive(Clone, Debug, Default)]
pub(crate) struct TxPool {
    by_sender: BTreeMap<Address, BTreeMap<u64, PoolTx>>,
    by_hash: HashMap<B256, (Address, u64)>,
    arrivals: u64,
}

impl TxPool {
    pub(crate) fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// Whether nothing waits in the pool.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn contains(&self, hash: &B256) -> bool {
        self.by_hash.contains_key(hash)
    }

    pub(crate) fn get(&self, hash: &B256) -> Option<&CheckedTx> {
        let (sender, nonce) = self.by_hash.get(hash)?;
        self.by_sender
            .get(sender)
            .and_then(|txs| txs.get(nonce))
            .map(|pooled| &pooled.tx)
    }

    /// Adds a checked transaction, replacing a pending one with the same sender and
    /// nonce if it pays enough more.
    pub(crate) fn insert(&mut self, tx: CheckedTx) -> Result<(), TxError> {
        let hash = tx.hash();
        if self.by_hash.contains_key(&hash) {
            return Err(TxError::AlreadyKnown);
        }
        let nonce = tx.envelope.nonce();
        let sender = tx.sender;
        let txs = self.by_sender.entry(sender).or_default();
        if let Some(old) = txs.get(&nonce) {
            if !pays_replacement(&old.tx, &tx) {
                return Err(TxError::ReplacementUnderpriced);
            }
            self.by_hash.remove(&old.tx.hash());
        }
        self.arrivals += 1;
        txs.insert(
            nonce,
            PoolTx {
                tx,
                arrival: self.arrivals,
            },
        );
        self.by_hash.insert(hash, (sender, nonce));
        Ok(())
    }

    /// The nonce after the sender's run of consecutive pending nonces from `state_nonce`
    /// (`eth_getTransactionCount(.., "pending")`).
    pub(crate) fn pending_nonce(&self, sender: &Address, state_nonce: u64) -> u64 {
        let mut next = state_nonce;
        if let Some(txs) = self.by_sender.get(sender) {
            while txs.contains_key(&next) {
                next += 1;
            }
        }
        next
    }

    /// The best transaction that can go next: for each sender not in `skip`, the one at
    /// the sender's next nonce (`nonce_of`), if it pays at least `base_fee`; the highest
    /// effective tip wins, then the earliest arrival.
    pub(crate) fn best_ready(
        &self,
        nonce_of: impl Fn(&Address) -> u64,
        skip: &HashSet<Address>,
        base_fee: u64,
    ) -> Option<CheckedTx> {
        self.by_sender
            .iter()
            .filter(|(sender, _)| !skip.contains(*sender))
            .filter_map(|(sender, txs)| txs.get(&nonce_of(sender)))
            .filter_map(|pooled| {
                let tip = pooled.tx.envelope.effective_tip_per_gas(base_fee)?;
                Some((tip, pooled))
            })
            .max_by(|(tip_a, a), (tip_b, b)| tip_a.cmp(tip_b).then(b.arrival.cmp(&a.arrival)))
            .map(|(_, pooled)| pooled.tx.clone())
    }

    /// Removes one transaction (mined, or rejected by the EVM).
    pub(crate) fn remove(&mut self, hash: &B256) {
        if let Some((sender, nonce)) = self.by_hash.remove(hash)
            && let Some(txs) = self.by_sender.get_mut(&sender)
        {
            txs.remove(&nonce);
            if txs.is_empty() {
                self.by_sender.remove(&sender);
            }
        }
    }

    /// Drops every transaction whose nonce its sender has already used.
    pub(crate) fn prune(&mut self, nonce_of: impl Fn(&Address) -> u64) {
        let stale: Vec<B256> = self
            .by_sender
            .iter()
            .flat_map(|(sender, txs)| {
                let next = nonce_of(sender);
                txs.range(..next).map(|(_, pooled)| pooled.tx.hash())
            })
            .collect();
        for hash in stale {
            self.remove(&hash);
        }
    }
}

/// Both fee fields must rise by at least [`REPLACEMENT_BUMP_PERCENT`].
fn pays_replacement(old: &CheckedTx, new: &CheckedTx) -> bool {
    let bumped = |old: u128| old.saturating_mul(100 + REPLACEMENT_BUMP_PERCENT) / 100;
    let old_tip = old
        .envelope
        .max_priority_fee_per_gas()
        .unwrap_or(old.envelope.max_fee_per_gas());
    let new_tip = new
        .envelope
        .max_priority_fee_per_gas()
        .unwrap_or(new.envelope.max_fee_per_gas());
    new.envelope.max_fee_per_gas() >= bumped(old.envelope.max_fee_per_gas())
        && new_tip >= bumped(old_tip)
}
