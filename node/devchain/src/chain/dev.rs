//! What the dev methods change directly: accounts (`anvil_set*`), the clock
//! (`evm_increaseTime`, `evm_setNextBlockTimestamp`) and snapshots (`evm_snapshot`,
//! `evm_revert`). Each is journaled before it takes effect, like a block.

use super::super::clock::Clock;
use super::super::error::DevChainError;
use super::super::record::Record;
use super::super::state::{AccountChange, HistoryEntry};
use super::{Chain, Snapshot};
use alloy::primitives::{Address, Bytes, U256};

impl Chain {
    /// `anvil_setBalance` and friends: writes accounts directly, journaled first.
    pub(crate) fn edit(&mut self, changes: Vec<AccountChange>) -> Result<(), DevChainError> {
        self.ensure_running()?;
        self.append(&Record::Edit {
            changes: changes.clone(),
        })?;
        self.apply_edit(&changes);
        let state = &self.state;
        self.pool
            .prune(|sender| state.account(sender).map_or(0, |account| account.nonce));
        Ok(())
    }

    pub(super) fn apply_edit(&mut self, changes: &[AccountChange]) {
        let undo = self.state.apply(changes);
        self.history.push(HistoryEntry {
            height: self.height(),
            undo,
        });
    }

    /// The change that sets one account's fields, keeping what `edit` does not name.
    pub(crate) fn account_edit(
        &self,
        address: Address,
        balance: Option<U256>,
        nonce: Option<u64>,
        code: Option<Bytes>,
        slot: Option<(U256, U256)>,
    ) -> AccountChange {
        let current = self.state.account(&address);
        AccountChange::Updated {
            address,
            balance: balance.unwrap_or_else(|| current.map_or(U256::ZERO, |a| a.balance)),
            nonce: nonce.unwrap_or_else(|| current.map_or(0, |a| a.nonce)),
            code,
            clear_storage: false,
            storage: slot.into_iter().collect(),
        }
    }

    /// Replaces the clock (`evm_increaseTime`, `evm_setNextBlockTimestamp`), journaled.
    pub(crate) fn set_clock(&mut self, clock: Clock) -> Result<(), DevChainError> {
        self.ensure_running()?;
        self.append(&Record::Clock(clock))?;
        self.clock = clock;
        Ok(())
    }

    /// `evm_snapshot`.
    pub(crate) fn snapshot(&mut self) -> Result<u64, DevChainError> {
        self.ensure_running()?;
        let id = self.next_snapshot_id;
        self.append(&Record::Snapshot { id })?;
        self.take_snapshot(id);
        Ok(id)
    }

    pub(super) fn take_snapshot(&mut self, id: u64) {
        self.snapshots.insert(
            id,
            Snapshot {
                height: self.height(),
                history_len: self.history.len(),
                clock: self.clock,
            },
        );
        self.next_snapshot_id = self.next_snapshot_id.max(id + 1);
    }

    /// `evm_revert`: back to snapshot `id` (blocks after it are dropped, state rolled
    /// back); it and later snapshots are used up. `false` for an unknown id.
    pub(crate) fn revert(&mut self, id: u64) -> Result<bool, DevChainError> {
        self.ensure_running()?;
        if !self.snapshots.contains_key(&id) {
            return Ok(false);
        }
        self.append(&Record::Revert { id })?;
        Ok(self.revert_to(id))
    }

    pub(super) fn revert_to(&mut self, id: u64) -> bool {
        let Some(snapshot) = self.snapshots.get(&id).copied() else {
            return false;
        };
        self.snapshots.retain(|kept, _| *kept < id);
        while self.history.len() > snapshot.history_len {
            if let Some(entry) = self.history.pop() {
                self.state.rollback(entry.undo);
            }
        }
        while self.height() > snapshot.height {
            if let Some(block) = self.blocks.pop() {
                self.block_hashes.pop();
                self.by_hash.remove(&block.hash);
                for tx in &block.txs {
                    self.tx_index.remove(&tx.hash());
                }
            }
        }
        self.clock = snapshot.clock;
        let state = &self.state;
        self.pool
            .prune(|sender| state.account(sender).map_or(0, |account| account.nonce));
        tracing::info!(
            snapshot = id,
            height = self.height(),
            "reverted to snapshot"
        );
        true
    }
}
