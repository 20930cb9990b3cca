//! [`StateView`]: the state as of one block, for revm and for state queries.

use super::{Account, HistoryEntry, UndoEntry, WorldState};
use alloy::primitives::{Address, B256, Bytes, KECCAK256_EMPTY, U256};
use revm::DatabaseRef;
use revm::bytecode::Bytecode;
use revm::state::AccountInfo;
use std::convert::Infallible;

/// The state as of one block: the current state, seen through the undo entries of every
/// change made after that block. Implements revm's [`DatabaseRef`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct StateView<'a> {
    state: &'a WorldState,
    /// Undo entries of changes after the viewed block, oldest first.
    newer: &'a [HistoryEntry],
    /// Block hashes by number, for BLOCKHASH.
    block_hashes: &'a [B256],
}

/// What an account looked like in a [`StateView`].
enum Seen<'a> {
    Absent,
    Current(&'a Account),
    Whole(&'a Account),
    Fields(&'a UndoEntry),
}

impl<'a> StateView<'a> {
    pub(crate) fn new(
        state: &'a WorldState,
        newer: &'a [HistoryEntry],
        block_hashes: &'a [B256],
    ) -> Self {
        Self {
            state,
            newer,
            block_hashes,
        }
    }

    /// The first undo entry for `address` after the viewed block holds its value then;
    /// without one, the account has not changed since.
    fn seen(&self, address: &Address) -> Seen<'a> {
        for history in self.newer {
            for entry in &history.undo.entries {
                if entry.address() != *address {
                    continue;
                }
                return match entry {
                    UndoEntry::Absent(_) => Seen::Absent,
                    UndoEntry::Whole(_, account) => Seen::Whole(account),
                    UndoEntry::Fields { .. } => Seen::Fields(entry),
                };
            }
        }
        match self.state.accounts.get(address) {
            Some(account) => Seen::Current(account),
            None => Seen::Absent,
        }
    }

    /// Balance, nonce and code hash of an account at the viewed block.
    pub(crate) fn basic(&self, address: &Address) -> Option<(U256, u64, B256)> {
        match self.seen(address) {
            Seen::Absent => None,
            Seen::Current(a) | Seen::Whole(a) => Some((a.balance, a.nonce, a.code_hash)),
            Seen::Fields(UndoEntry::Fields {
                balance,
                nonce,
                code_hash,
                ..
            }) => Some((*balance, *nonce, *code_hash)),
            Seen::Fields(_) => None,
        }
    }

    /// A storage slot at the viewed block: the first undo entry after the block that
    /// determines the slot wins, else the current value.
    pub(crate) fn storage(&self, address: &Address, slot: &U256) -> U256 {
        for history in self.newer {
            for entry in &history.undo.entries {
                if entry.address() != *address {
                    continue;
                }
                match entry {
                    UndoEntry::Absent(_) => return U256::ZERO,
                    UndoEntry::Whole(_, account) => {
                        return account.storage.get(slot).copied().unwrap_or_default();
                    }
                    UndoEntry::Fields { slots, .. } => {
                        if let Some((_, value)) = slots.iter().find(|(s, _)| s == slot) {
                            return *value;
                        }
                    }
                }
            }
        }
        self.state
            .accounts
            .get(address)
            .and_then(|account| account.storage.get(slot).copied())
            .unwrap_or_default()
    }

    /// Code of an account at the viewed block.
    pub(crate) fn code(&self, address: &Address) -> Bytes {
        match self.basic(address) {
            Some((_, _, hash)) if hash != KECCAK256_EMPTY => self
                .state
                .codes
                .get(&hash)
                .map(|code| code.original_bytes())
                .unwrap_or_default(),
            _ => Bytes::new(),
        }
    }
}

impl DatabaseRef for StateView<'_> {
    type Error = Infallible;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Infallible> {
        Ok(match self.seen(&address) {
            Seen::Absent => None,
            Seen::Current(account) | Seen::Whole(account) => Some(account.info()),
            Seen::Fields(UndoEntry::Fields {
                balance,
                nonce,
                code_hash,
                ..
            }) => Some(AccountInfo {
                balance: *balance,
                nonce: *nonce,
                code_hash: *code_hash,
                code: None,
                ..AccountInfo::default()
            }),
            Seen::Fields(_) => None,
        })
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Infallible> {
        Ok(self
            .state
            .codes
            .get(&code_hash)
            .cloned()
            .unwrap_or_default())
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, Infallible> {
        Ok(self.storage(&address, &index))
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Infallible> {
        Ok(usize::try_from(number)
            .ok()
            .and_then(|n| self.block_hashes.get(n))
            .copied()
            .unwrap_or_default())
    }
}
