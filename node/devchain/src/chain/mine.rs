//! Transactions in, blocks out: `eth_sendRawTransaction` (mined at once in automine
//! mode, pooled otherwise) and mining a block from the pool.

use super::super::block::{self, BlockParams, MinedBlock};
use super::super::clock::unix_now;
use super::super::error::{DevChainError, TxError};
use super::super::evm::{self, Candidate, Outcome};
use super::super::record::{BlockRecord, Record};
use super::super::state::{AccountChange, HistoryEntry};
use super::super::txpool::validation::{self, CheckedTx, SenderState};
use super::{Chain, Submitted};
use alloy::primitives::{Address, B256, KECCAK256_EMPTY, U256};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// A block executed from the pool, not yet committed.
struct PoolBlock {
    executed: Vec<block::ExecutedTx>,
    evm_state: revm::state::EvmState,
    /// Transactions included, in order.
    included: Vec<B256>,
    /// Transactions the EVM refused, with why.
    rejected: Vec<(B256, TxError)>,
}

impl Chain {
    fn sender_state(&self, address: &Address) -> SenderState {
        match self.state.account(address) {
            Some(account) => SenderState {
                nonce: account.nonce,
                balance: account.balance,
                has_code: account.code_hash != KECCAK256_EMPTY,
            },
            None => SenderState {
                nonce: 0,
                balance: U256::ZERO,
                has_code: false,
            },
        }
    }

    /// `eth_sendRawTransaction`: checks the transaction, then mines it (automine) or
    /// pools it. Nothing changes if it is rejected.
    pub(crate) fn submit(&mut self, raw: &[u8]) -> Result<(B256, Submitted), DevChainError> {
        self.ensure_running()?;
        let tx = validation::check_raw(raw, self.chain_id, self.gas_limit)?;
        let hash = tx.hash();
        if self.tx_index.contains_key(&hash) || self.pool.contains(&hash) {
            return Err(TxError::AlreadyKnown.into());
        }
        let base_fee = block::next_base_fee(&self.latest().header);
        let sender = self.sender_state(&tx.sender);
        validation::check_state(&tx, sender, base_fee, !self.automine)?;
        if !self.automine {
            self.pool.insert(tx)?;
            tracing::debug!(%hash, pending = self.pool.len(), "transaction pooled");
            return Ok((hash, Submitted::Pending));
        }
        let block = self.mine_one(tx)?;
        Ok((hash, Submitted::Mined(block)))
    }

    /// Automine: a block holding exactly `tx`, or the EVM's reason to refuse it.
    fn mine_one(&mut self, tx: CheckedTx) -> Result<Arc<MinedBlock>, DevChainError> {
        let params = self.next_block_params(None);
        let mut candidate = Some(Candidate {
            envelope: tx.envelope,
            sender: tx.sender,
        });
        let mut refused = None;
        let (executed, evm_state) =
            evm::execute_block(self.latest_view(), self.chain_id, &params, |previous| {
                if let Some((_, Outcome::Rejected(error))) = previous {
                    refused = Some(error.clone());
                }
                candidate.take()
            })?;
        if let Some(error) = refused {
            return Err(error.into());
        }
        let changes = self.state.changes_from(evm_state);
        self.commit_block(params, executed, changes, false)
    }

    /// Mines one block from the pool (empty in automine mode), at `timestamp` if given.
    pub(crate) fn mine(
        &mut self,
        timestamp: Option<u64>,
    ) -> Result<Arc<MinedBlock>, DevChainError> {
        self.ensure_running()?;
        if let Some(timestamp) = timestamp
            && timestamp <= self.latest().header.timestamp
        {
            return Err(DevChainError::Timestamp {
                asked: timestamp,
                latest: self.latest().header.timestamp,
            });
        }
        let params = self.next_block_params(timestamp);
        let PoolBlock {
            executed,
            evm_state,
            included,
            rejected,
        } = self.execute_pool(&params)?;
        let changes = self.state.changes_from(evm_state);
        let block = self.commit_block(params, executed, changes, timestamp.is_some())?;
        for hash in &included {
            self.pool.remove(hash);
        }
        for (hash, error) in rejected {
            tracing::warn!(%hash, %error, "dropping pooled transaction the EVM refused");
            self.pool.remove(&hash);
        }
        let state = &self.state;
        self.pool
            .prune(|sender| state.account(sender).map_or(0, |account| account.nonce));
        Ok(block)
    }

    /// Executes the pool's best ready transactions, in the order `mine` takes them, as the
    /// block `params`, without changing anything.
    fn execute_pool(&self, params: &BlockParams) -> Result<PoolBlock, DevChainError> {
        let mut next_nonce: HashMap<Address, u64> = HashMap::new();
        let mut skip: HashSet<Address> = HashSet::new();
        let mut included: Vec<B256> = Vec::new();
        let mut rejected: Vec<(B256, TxError)> = Vec::new();
        let pool = &self.pool;
        let state = &self.state;
        let (executed, evm_state) =
            evm::execute_block(self.latest_view(), self.chain_id, params, |previous| {
                if let Some((candidate, outcome)) = previous {
                    let hash = *candidate.envelope.tx_hash();
                    match outcome {
                        Outcome::Included => {
                            let nonce = next_nonce.entry(candidate.sender).or_insert_with(|| {
                                state.account(&candidate.sender).map_or(0, |a| a.nonce)
                            });
                            *nonce += 1;
                            included.push(hash);
                        }
                        Outcome::Rejected(error) => {
                            skip.insert(candidate.sender);
                            rejected.push((hash, error.clone()));
                        }
                        Outcome::DoesNotFit => {
                            skip.insert(candidate.sender);
                        }
                    }
                }
                let nonce_of = |sender: &Address| {
                    next_nonce
                        .get(sender)
                        .copied()
                        .unwrap_or_else(|| state.account(sender).map_or(0, |account| account.nonce))
                };
                pool.best_ready(nonce_of, &skip, params.base_fee)
                    .map(|tx| Candidate {
                        envelope: tx.envelope,
                        sender: tx.sender,
                    })
            })?;
        Ok(PoolBlock {
            executed,
            evm_state,
            included,
            rejected,
        })
    }

    /// Runs `f` on the *pending* state, the one a transaction sent now meets: the latest
    /// block with the pool's ready transactions applied as the next block would apply
    /// them, and that next block's parameters. This is what `eth_estimateGas` (by default)
    /// and calls at `pending` see, as on anvil: estimated against the latest block alone,
    /// a transaction sent behind others in the pool can find storage they changed and run
    /// out of gas (one `Bridge.deposit` in four writes a fresh slot). The state is put
    /// back before this returns; nothing is journaled.
    pub(crate) fn with_pending<R>(
        &mut self,
        f: impl FnOnce(&Self, &BlockParams) -> R,
    ) -> Result<R, DevChainError> {
        let params = self.next_block_params(None);
        if self.pool.is_empty() {
            return Ok(f(self, &params));
        }
        let pending = self.execute_pool(&params)?;
        let changes = self.state.changes_from(pending.evm_state);
        let undo = self.state.apply(&changes);
        let result = f(self, &params);
        self.state.rollback(undo);
        Ok(result)
    }

    /// Applies a block's changes, seals it over the new state root, journals it, and
    /// makes it visible.
    fn commit_block(
        &mut self,
        params: BlockParams,
        executed: Vec<block::ExecutedTx>,
        changes: Vec<AccountChange>,
        asked_timestamp: bool,
    ) -> Result<Arc<MinedBlock>, DevChainError> {
        let undo = self.state.apply(&changes);
        let state_root = self.state.state_root();
        let block = block::seal(params, state_root, executed);
        let clock = self
            .clock
            .after_block(params.timestamp, unix_now(), asked_timestamp);
        let record = Record::Block(BlockRecord::new(&block, changes, clock));
        if let Err(error) = self.append(&record) {
            self.state.rollback(undo);
            return Err(error);
        }
        self.clock = clock;
        self.history.push(HistoryEntry {
            height: block.number(),
            undo,
        });
        tracing::info!(
            number = block.number(),
            hash = %block.hash,
            txs = block.txs.len(),
            gas_used = block.header.gas_used,
            timestamp = block.header.timestamp,
            "mined block"
        );
        Ok(self.push_block(block))
    }
}
