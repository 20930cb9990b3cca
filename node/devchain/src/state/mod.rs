//! The world state: accounts, code and storage, held in memory, with an undo log that
//! answers queries at older blocks and rolls back to snapshots.
//!
//! Every change (a mined block, a genesis allocation, an `anvil_set*` edit) arrives as a
//! list of [`AccountChange`]s: the values after the change, never a delta, so applying
//! the same list twice gives the same state and a replayed journal rebuilds memory
//! exactly. [`WorldState::apply`] returns the [`Undo`] that restores the previous
//! values; the chain keeps these in order, so
//! - a query at block `n` reads the current value unless an undo entry newer than `n`
//!   holds an older one (see [`StateView`]), no copy of the state needed;
//! - `evm_revert` rolls undo entries back, newest first.

use alloy::primitives::{Address, B256, Bytes, KECCAK256_EMPTY, U256, keccak256};
use alloy::trie::{TrieAccount, root::state_root_unhashed, root::storage_root_unhashed};
use revm::bytecode::Bytecode;
use revm::primitives::hardfork::SpecId;
use revm::state::{AccountInfo, EvmState};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

mod view;

pub(crate) use view::StateView;

/// One account. Zero storage values are never stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Account {
    pub(crate) balance: U256,
    pub(crate) nonce: u64,
    /// `KECCAK256_EMPTY` for an account without code.
    pub(crate) code_hash: B256,
    pub(crate) storage: BTreeMap<U256, U256>,
    /// Cached storage trie root; `None` after a storage write.
    storage_root: Option<B256>,
}

impl Account {
    fn empty() -> Self {
        Self {
            code_hash: KECCAK256_EMPTY,
            ..Self::default()
        }
    }

    fn info(&self) -> AccountInfo {
        AccountInfo {
            balance: self.balance,
            nonce: self.nonce,
            code_hash: self.code_hash,
            // revm asks `code_by_hash_ref` when it needs the code.
            code: None,
            ..AccountInfo::default()
        }
    }
}

/// The state of one account after a change. Serialised into the journal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub(crate) enum AccountChange {
    /// The account no longer exists (self-destructed, or touched while empty: EIP-161).
    #[serde(rename_all = "camelCase")]
    Destroyed { address: Address },
    /// The account's fields after the change.
    #[serde(rename_all = "camelCase")]
    Updated {
        address: Address,
        balance: U256,
        nonce: u64,
        /// New code; `None` keeps the current code.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<Bytes>,
        /// Drop all storage before writing `storage` (a fresh deployment).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        clear_storage: bool,
        /// Slots written, with their new values (zero deletes).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        storage: Vec<(U256, U256)>,
    },
}

impl AccountChange {
    fn address(&self) -> Address {
        match self {
            Self::Destroyed { address } | Self::Updated { address, .. } => *address,
        }
    }
}

/// How to restore what one [`WorldState::apply`] changed.
#[derive(Clone, Debug, Default)]
pub(crate) struct Undo {
    entries: Vec<UndoEntry>,
}

#[derive(Clone, Debug)]
enum UndoEntry {
    /// The account did not exist.
    Absent(Address),
    /// The whole previous account, kept when a change destroyed it or cleared its storage.
    Whole(Address, Account),
    /// Previous fields, and the previous values of the slots the change wrote.
    Fields {
        address: Address,
        balance: U256,
        nonce: u64,
        code_hash: B256,
        slots: Vec<(U256, U256)>,
    },
}

impl UndoEntry {
    fn address(&self) -> Address {
        match self {
            Self::Absent(address) | Self::Whole(address, _) => *address,
            Self::Fields { address, .. } => *address,
        }
    }
}

/// An [`Undo`] tagged with the chain height at which its change happened: the change
/// is part of the state at every block `>= height`.
#[derive(Clone, Debug)]
pub(crate) struct HistoryEntry {
    pub(crate) height: u64,
    pub(crate) undo: Undo,
}

/// All accounts and all code ever deployed.
#[derive(Clone, Debug, Default)]
pub(crate) struct WorldState {
    accounts: BTreeMap<Address, Account>,
    /// Code by hash. Never pruned: old code is still needed for queries at old blocks.
    codes: HashMap<B256, Bytecode>,
}

impl WorldState {
    pub(crate) fn account(&self, address: &Address) -> Option<&Account> {
        self.accounts.get(address)
    }

    /// Applies `changes` in order and returns how to undo them.
    pub(crate) fn apply(&mut self, changes: &[AccountChange]) -> Undo {
        let mut undo = Undo::default();
        for change in changes {
            undo.entries.push(self.apply_one(change));
        }
        undo
    }

    fn apply_one(&mut self, change: &AccountChange) -> UndoEntry {
        let address = change.address();
        match change {
            AccountChange::Destroyed { .. } => match self.accounts.remove(&address) {
                Some(previous) => UndoEntry::Whole(address, previous),
                None => UndoEntry::Absent(address),
            },
            AccountChange::Updated {
                balance,
                nonce,
                code,
                clear_storage,
                storage,
                ..
            } => {
                let code_hash = code.as_ref().map(|code| self.insert_code(code));
                let previous = self.accounts.get(&address);
                let undo = match previous {
                    None => UndoEntry::Absent(address),
                    Some(previous) if *clear_storage => UndoEntry::Whole(address, previous.clone()),
                    Some(previous) => UndoEntry::Fields {
                        address,
                        balance: previous.balance,
                        nonce: previous.nonce,
                        code_hash: previous.code_hash,
                        slots: storage
                            .iter()
                            .map(|(slot, _)| {
                                (
                                    *slot,
                                    previous.storage.get(slot).copied().unwrap_or_default(),
                                )
                            })
                            .collect(),
                    },
                };
                let account = self.accounts.entry(address).or_insert_with(Account::empty);
                account.balance = *balance;
                account.nonce = *nonce;
                if let Some(code_hash) = code_hash {
                    account.code_hash = code_hash;
                }
                if *clear_storage {
                    account.storage.clear();
                    account.storage_root = None;
                }
                for (slot, value) in storage {
                    write_slot(account, *slot, *value);
                }
                undo
            }
        }
    }

    /// Restores the state from before the `apply` that returned `undo`.
    pub(crate) fn rollback(&mut self, undo: Undo) {
        for entry in undo.entries.into_iter().rev() {
            match entry {
                UndoEntry::Absent(address) => {
                    self.accounts.remove(&address);
                }
                UndoEntry::Whole(address, account) => {
                    self.accounts.insert(address, account);
                }
                UndoEntry::Fields {
                    address,
                    balance,
                    nonce,
                    code_hash,
                    slots,
                } => {
                    let account = self.accounts.entry(address).or_insert_with(Account::empty);
                    account.balance = balance;
                    account.nonce = nonce;
                    account.code_hash = code_hash;
                    for (slot, value) in slots.into_iter().rev() {
                        write_slot(account, slot, value);
                    }
                }
            }
        }
    }

    fn insert_code(&mut self, code: &Bytes) -> B256 {
        if code.is_empty() {
            return KECCAK256_EMPTY;
        }
        let hash = keccak256(code);
        self.codes
            .entry(hash)
            // Legacy analysis for everything: under Cancun no EOF or EIP-7702 code exists,
            // and `new_raw` panics on a malformed 0xEF prefix that `anvil_setCode` could set.
            .or_insert_with(|| Bytecode::new_legacy(code.clone()));
        hash
    }

    /// The Merkle-Patricia state root, as Ethereum defines it. Storage roots are cached
    /// per account, so a block pays only for the accounts whose storage it wrote.
    pub(crate) fn state_root(&mut self) -> B256 {
        for account in self.accounts.values_mut() {
            if account.storage_root.is_none() {
                account.storage_root = Some(storage_root_unhashed(
                    account
                        .storage
                        .iter()
                        .map(|(slot, value)| (B256::from(*slot), *value)),
                ));
            }
        }
        state_root_unhashed(self.accounts.iter().map(|(address, account)| {
            (
                *address,
                TrieAccount {
                    nonce: account.nonce,
                    balance: account.balance,
                    storage_root: account
                        .storage_root
                        .expect("storage roots were filled just above"),
                    code_hash: account.code_hash,
                },
            )
        }))
    }

    /// Turns what revm reports after executing transactions into [`AccountChange`]s
    /// against this (pre-execution) state, sorted by address.
    pub(crate) fn changes_from(&self, evm_state: EvmState) -> Vec<AccountChange> {
        let mut changes = Vec::new();
        for (address, account) in evm_state {
            if !account.is_touched() {
                continue;
            }
            let existing = self.accounts.get(&address);
            if account.is_selfdestructed() || account.state_clear_aware_is_empty(SpecId::CANCUN) {
                if existing.is_some() {
                    changes.push(AccountChange::Destroyed { address });
                }
                continue;
            }
            let existing_code_hash = existing.map_or(KECCAK256_EMPTY, |a| a.code_hash);
            let code = (account.info.code_hash != existing_code_hash).then(|| {
                account
                    .info
                    .code
                    .as_ref()
                    .map(|code| code.original_bytes())
                    .unwrap_or_default()
            });
            // Compare with the state before the block, not with revm's `is_changed`:
            // revm re-baselines a slot's original value at each transaction, so a slot
            // written by one transaction and only read by a later one in the same block
            // no longer counts as changed.
            let before = |slot: &U256| {
                existing
                    .and_then(|a| a.storage.get(slot).copied())
                    .unwrap_or_default()
            };
            let mut storage: Vec<(U256, U256)> = account
                .storage
                .iter()
                .filter(|(key, slot)| {
                    if account.is_created() {
                        !slot.present_value.is_zero()
                    } else {
                        slot.present_value != before(key)
                    }
                })
                .map(|(key, slot)| (*key, slot.present_value))
                .collect();
            storage.sort_unstable();
            changes.push(AccountChange::Updated {
                address,
                balance: account.info.balance,
                nonce: account.info.nonce,
                code,
                clear_storage: account.is_created(),
                storage,
            });
        }
        changes.sort_by_key(AccountChange::address);
        changes
    }
}

fn write_slot(account: &mut Account, slot: U256, value: U256) {
    if value.is_zero() {
        account.storage.remove(&slot);
    } else {
        account.storage.insert(slot, value);
    }
    account.storage_root = None;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(address: Address, balance: u64, slots: &[(u64, u64)]) -> AccountChange {
        AccountChange::Updated {
            address,
            balance: U256::from(balance),
            nonce: 0,
            code: None,
            clear_storage: false,
            storage: slots
                .iter()
                .map(|(k, v)| (U256::from(*k), U256::from(*v)))
                .collect(),
        }
    }

    #[test]
    fn views_see_values_as_of_their_block_and_rollback_restores() {
        let a = Address::repeat_byte(1);
        let mut state = WorldState::default();
        state.apply(&[set(a, 10, &[(1, 5)])]);
        let before = state.clone().state_root();
        let mut history = vec![HistoryEntry {
            height: 1,
            undo: state.apply(&[set(a, 20, &[(1, 6), (2, 7)])]),
        }];
        history.push(HistoryEntry {
            height: 2,
            undo: state.apply(&[AccountChange::Destroyed { address: a }]),
        });

        let latest = StateView::new(&state, &[], &[]);
        assert_eq!(latest.basic(&a), None);
        let at1 = StateView::new(&state, &history[1..], &[]);
        assert_eq!(at1.basic(&a).map(|b| b.0), Some(U256::from(20)));
        assert_eq!(at1.storage(&a, &U256::from(2)), U256::from(7));
        let at0 = StateView::new(&state, &history, &[]);
        assert_eq!(at0.basic(&a).map(|b| b.0), Some(U256::from(10)));
        assert_eq!(at0.storage(&a, &U256::from(1)), U256::from(5));
        assert_eq!(at0.storage(&a, &U256::from(2)), U256::ZERO);

        for entry in history.into_iter().rev() {
            state.rollback(entry.undo);
        }
        assert_eq!(state.state_root(), before);
    }

    #[test]
    fn empty_state_root_is_the_empty_trie() {
        assert_eq!(
            WorldState::default().state_root(),
            alloy::consensus::EMPTY_ROOT_HASH
        );
    }
}
