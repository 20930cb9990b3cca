//! The state transition: deposits credit, inferences pay their fee to the sequencer,
//! withdrawals debit (specs/state.md §3).
//!
//! A block applies its deposits first (queue order), then its inferences, then its
//! withdrawals (block order). An inference is valid when its nonce is the sender's next
//! nonce, its fee is at most its `max_fee`, and the sender holds the fee; it moves the
//! fee from the sender to the sequencer and bumps the sender's nonce. A withdrawal is
//! valid when its nonce is the sender's next one, its amount is not zero and the sender
//! holds it; it debits the sender and bumps the nonce. Signatures and the registered fee
//! are checked by the caller, which holds the keys and the L1 view. Nothing else changes
//! state.

use std::collections::{BTreeSet, HashMap};

use crate::bridge::Deposit;
use crate::hash::Hash;

use super::Address;
use super::account::Account;
use super::smt::SparseMerkleTree;
use super::withdrawal::Withdrawal;

/// Why a transaction cannot apply. The state is unchanged when one is returned.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The nonce is not the sender's next one.
    #[error("nonce {got} is not the sender's next nonce {expected}")]
    Nonce {
        /// The account's next nonce.
        expected: u64,
        /// The request's nonce.
        got: u64,
    },
    /// The fee is above the request's `max_fee`.
    #[error("fee {fee} wei is above the request's max fee {max_fee} wei")]
    FeeAboveMax {
        /// The model's fee.
        fee: u128,
        /// The request's limit.
        max_fee: u128,
    },
    /// The sender cannot pay.
    #[error("balance {balance} wei is below the fee {fee} wei")]
    InsufficientBalance {
        /// The sender's balance.
        balance: u128,
        /// The fee.
        fee: u128,
    },
    /// A withdrawal of nothing.
    #[error("a withdrawal must move at least 1 wei")]
    ZeroWithdrawal,
    /// The sender does not hold the amount it withdraws.
    #[error("balance {balance} wei is below the withdrawal of {amount} wei")]
    WithdrawalAboveBalance {
        /// The sender's balance.
        balance: u128,
        /// The amount.
        amount: u128,
    },
    /// A balance would pass 2^128 - 1 wei.
    #[error("balance of 0x{} would overflow", hex::encode(address))]
    Overflow {
        /// The account.
        address: Address,
    },
}

/// The accounts and their tree. Writes mark accounts dirty; [`State::root`] rehashes
/// only those.
#[derive(Clone, Debug, Default)]
pub struct State {
    accounts: HashMap<Address, Account>,
    tree: SparseMerkleTree,
    dirty: BTreeSet<Address>,
}

impl State {
    /// The empty state (root zero).
    pub fn new() -> Self {
        Self::default()
    }

    /// A state holding `accounts` (for loading a stored state).
    pub fn from_accounts(accounts: impl IntoIterator<Item = (Address, Account)>) -> Self {
        let mut state = Self::new();
        for (address, account) in accounts {
            state.put(address, account);
        }
        state
    }

    /// The account at `address` (the zero account when absent).
    pub fn account(&self, address: &Address) -> Account {
        self.accounts.get(address).copied().unwrap_or_default()
    }

    /// Sets an account outright (restoring a saved value; not a protocol step).
    pub fn set_account(&mut self, address: Address, account: Account) {
        self.put(address, account);
    }

    fn put(&mut self, address: Address, account: Account) {
        if account.is_empty() {
            self.accounts.remove(&address);
        } else {
            self.accounts.insert(address, account);
        }
        self.dirty.insert(address);
    }

    /// Every non-empty account.
    pub fn accounts(&self) -> impl Iterator<Item = (&Address, &Account)> {
        self.accounts.iter()
    }

    /// The tree root, after rehashing what changed.
    pub fn root(&mut self) -> Hash {
        for address in std::mem::take(&mut self.dirty) {
            let leaf = self.account(&address).leaf(&address);
            self.tree.update(&address, leaf);
        }
        self.tree.root()
    }

    /// The tree (call [`State::root`] first so it is current).
    pub fn tree(&self) -> &SparseMerkleTree {
        &self.tree
    }

    /// Credits a deposit to its recipient.
    pub fn apply_deposit(&mut self, deposit: &Deposit) -> Result<(), TransitionError> {
        let mut account = self.account(&deposit.recipient);
        account.balance =
            account
                .balance
                .checked_add(deposit.amount)
                .ok_or(TransitionError::Overflow {
                    address: deposit.recipient,
                })?;
        self.put(deposit.recipient, account);
        Ok(())
    }

    /// Checks an inference against the state without applying it.
    pub fn check_inference(
        &self,
        sender: &Address,
        nonce: u64,
        fee: u128,
        max_fee: u128,
    ) -> Result<(), TransitionError> {
        let account = self.account(sender);
        if nonce != account.nonce {
            return Err(TransitionError::Nonce {
                expected: account.nonce,
                got: nonce,
            });
        }
        if fee > max_fee {
            return Err(TransitionError::FeeAboveMax { fee, max_fee });
        }
        if account.balance < fee {
            return Err(TransitionError::InsufficientBalance {
                balance: account.balance,
                fee,
            });
        }
        Ok(())
    }

    /// Checks a withdrawal against the state without applying it.
    pub fn check_withdrawal(&self, withdrawal: &Withdrawal) -> Result<(), TransitionError> {
        let account = self.account(&withdrawal.sender);
        if withdrawal.nonce != account.nonce {
            return Err(TransitionError::Nonce {
                expected: account.nonce,
                got: withdrawal.nonce,
            });
        }
        if withdrawal.amount == 0 {
            return Err(TransitionError::ZeroWithdrawal);
        }
        if account.balance < withdrawal.amount {
            return Err(TransitionError::WithdrawalAboveBalance {
                balance: account.balance,
                amount: withdrawal.amount,
            });
        }
        Ok(())
    }

    /// Applies a withdrawal: the sender is debited and its nonce moves on.
    pub fn apply_withdrawal(&mut self, withdrawal: &Withdrawal) -> Result<(), TransitionError> {
        self.check_withdrawal(withdrawal)?;
        let mut account = self.account(&withdrawal.sender);
        account.balance -= withdrawal.amount;
        account.nonce += 1;
        self.put(withdrawal.sender, account);
        Ok(())
    }

    /// Applies an inference: the sender pays `fee` to `sequencer` and its nonce moves on.
    pub fn apply_inference(
        &mut self,
        sender: &Address,
        nonce: u64,
        fee: u128,
        max_fee: u128,
        sequencer: &Address,
    ) -> Result<(), TransitionError> {
        self.check_inference(sender, nonce, fee, max_fee)?;
        let mut payer = self.account(sender);
        payer.balance -= fee;
        payer.nonce += 1;
        self.put(*sender, payer);
        let mut payee = self.account(sequencer);
        payee.balance = payee
            .balance
            .checked_add(fee)
            .ok_or(TransitionError::Overflow {
                address: *sequencer,
            })?;
        self.put(*sequencer, payee);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: Address = [0xa1; 20];
    const SEQ: Address = [0x5e; 20];

    fn deposit(amount: u128) -> Deposit {
        Deposit {
            index: 0,
            sender: ALICE,
            recipient: ALICE,
            amount,
            l1_block: 1,
        }
    }

    #[test]
    fn an_inference_moves_the_fee_and_the_nonce() {
        let mut state = State::new();
        assert_eq!(state.root(), [0; 32]);
        state.apply_deposit(&deposit(100)).expect("deposit");
        let after_deposit = state.root();
        state
            .apply_inference(&ALICE, 0, 30, 40, &SEQ)
            .expect("pays");
        assert_eq!(
            state.account(&ALICE),
            Account {
                balance: 70,
                nonce: 1
            }
        );
        assert_eq!(state.account(&SEQ).balance, 30);
        assert_ne!(state.root(), after_deposit);
    }

    #[test]
    fn each_rule_refuses_and_leaves_the_state_alone() {
        let mut state = State::new();
        state.apply_deposit(&deposit(10)).expect("deposit");
        let root = state.root();
        assert_eq!(
            state.apply_inference(&ALICE, 1, 5, 5, &SEQ),
            Err(TransitionError::Nonce {
                expected: 0,
                got: 1
            })
        );
        assert_eq!(
            state.apply_inference(&ALICE, 0, 6, 5, &SEQ),
            Err(TransitionError::FeeAboveMax { fee: 6, max_fee: 5 })
        );
        assert_eq!(
            state.apply_inference(&ALICE, 0, 11, 20, &SEQ),
            Err(TransitionError::InsufficientBalance {
                balance: 10,
                fee: 11
            })
        );
        assert_eq!(state.root(), root);
    }

    #[test]
    fn a_withdrawal_debits_once_and_refuses_what_is_not_there() {
        let mut state = State::new();
        state.apply_deposit(&deposit(10)).expect("deposit");
        let w = Withdrawal {
            sender: ALICE,
            nonce: 0,
            recipient: SEQ,
            amount: 4,
        };
        let before = state.root();
        assert_eq!(
            state.apply_withdrawal(&Withdrawal { amount: 11, ..w }),
            Err(TransitionError::WithdrawalAboveBalance {
                balance: 10,
                amount: 11
            })
        );
        assert_eq!(
            state.apply_withdrawal(&Withdrawal { amount: 0, ..w }),
            Err(TransitionError::ZeroWithdrawal)
        );
        assert_eq!(state.root(), before);
        state.apply_withdrawal(&w).expect("applies");
        assert_eq!(
            state.account(&ALICE),
            Account {
                balance: 6,
                nonce: 1
            }
        );
        assert_eq!(
            state.apply_withdrawal(&w),
            Err(TransitionError::Nonce {
                expected: 1,
                got: 0
            }),
            "a signed withdrawal is usable once"
        );
    }

    #[test]
    fn the_root_does_not_depend_on_insertion_order() {
        let mut a = State::from_accounts([
            (
                ALICE,
                Account {
                    balance: 1,
                    nonce: 0,
                },
            ),
            (
                SEQ,
                Account {
                    balance: 2,
                    nonce: 3,
                },
            ),
        ]);
        let mut b = State::from_accounts([
            (
                SEQ,
                Account {
                    balance: 2,
                    nonce: 3,
                },
            ),
            (
                ALICE,
                Account {
                    balance: 1,
                    nonce: 0,
                },
            ),
        ]);
        assert_eq!(a.root(), b.root());
    }
}
