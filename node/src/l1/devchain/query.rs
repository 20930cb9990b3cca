//! Reads: which block a tag or id names, calls and gas estimates at a block, the blocks
//! a log filter covers, fee history. Nothing here changes the chain (an estimate applies
//! the pool for a moment and puts the state back).
//!
//! Tags: `latest`, `safe` and `finalized` all name the head (a dev chain has no
//! reorgs to wait out); `earliest` is genesis. `pending` names the head for block and
//! state queries (a call at `pending` runs in the next block's environment), except that
//! `eth_estimateGas` (whose default it is) runs in the next block on top of the pool's
//! ready transactions, and `eth_getTransactionCount(.., "pending")` counts pooled
//! transactions.

use super::block::{BlockParams, MinedBlock};
use super::chain::Chain;
use super::error::CallError;
use super::evm;
use super::state::StateView;
use alloy::eips::{BlockId, BlockNumberOrTag};
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::rpc::types::{FeeHistory, Filter, FilterBlockOption, TransactionRequest};
use std::sync::Arc;

/// Largest block count `eth_feeHistory` answers for, as geth.
const MAX_FEE_HISTORY: u64 = 1024;

/// Why a log query cannot be answered.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RangeError {
    UnknownBlock,
    Reversed { from: u64, to: u64 },
}

impl Chain {
    /// The block number a tag names; `None` past the head.
    pub(crate) fn resolve_tag(&self, tag: BlockNumberOrTag) -> Option<u64> {
        match tag {
            BlockNumberOrTag::Earliest => Some(0),
            BlockNumberOrTag::Number(number) => (number <= self.height()).then_some(number),
            BlockNumberOrTag::Latest
            | BlockNumberOrTag::Pending
            | BlockNumberOrTag::Safe
            | BlockNumberOrTag::Finalized => Some(self.height()),
        }
    }

    /// The block number a block id names; `None` if there is no such block.
    pub(crate) fn resolve_id(&self, id: BlockId) -> Option<u64> {
        match id {
            BlockId::Number(tag) => self.resolve_tag(tag),
            BlockId::Hash(hash) => self.by_hash.get(&hash.block_hash).copied(),
        }
    }

    pub(crate) fn block(&self, number: u64) -> Option<Arc<MinedBlock>> {
        usize::try_from(number)
            .ok()
            .and_then(|index| self.blocks.get(index))
            .cloned()
    }

    pub(crate) fn block_by_hash(&self, hash: &B256) -> Option<Arc<MinedBlock>> {
        self.by_hash
            .get(hash)
            .and_then(|number| self.block(*number))
    }

    /// A mined transaction's block and index.
    pub(crate) fn mined_tx(&self, hash: &B256) -> Option<(Arc<MinedBlock>, usize)> {
        let (number, index) = self.tx_index.get(hash)?;
        Some((self.block(*number)?, *index))
    }

    /// Balance, nonce and code of an account at a block.
    pub(crate) fn account_at(&self, address: &Address, number: u64) -> (U256, u64, Bytes) {
        let view = self.view_at(number);
        let (balance, nonce, _) = view.basic(address).unwrap_or_default();
        (balance, nonce, view.code(address))
    }

    pub(crate) fn storage_at(&self, address: &Address, slot: &U256, number: u64) -> U256 {
        self.view_at(number).storage(address, slot)
    }

    /// `eth_getTransactionCount(.., "pending")`.
    pub(crate) fn pending_nonce(&self, address: &Address) -> u64 {
        self.pool.pending_nonce(address, self.nonce(address))
    }

    /// Block environment and state number for a call at `id` (default latest).
    fn call_target(&self, id: Option<BlockId>) -> Result<(BlockParams, u64), CallError> {
        let number = self
            .resolve_id(id.unwrap_or_default())
            .ok_or(CallError::UnknownBlock)?;
        let header = &self.block(number).ok_or(CallError::UnknownBlock)?.header;
        let params = BlockParams {
            parent_hash: header.parent_hash,
            number: header.number,
            timestamp: header.timestamp,
            gas_limit: header.gas_limit,
            base_fee: header.base_fee_per_gas.unwrap_or_default(),
        };
        Ok((params, number))
    }

    /// `eth_call`, on the latest state (at `pending` too, as geth does: only the
    /// estimate runs the pool first, see [`Self::estimate_gas`]), in the next block's
    /// environment for `pending`.
    pub(crate) fn call(
        &self,
        request: &TransactionRequest,
        id: Option<BlockId>,
    ) -> Result<Bytes, CallError> {
        let (params, number) = if is_pending(id) {
            (self.next_block_params(None), self.height())
        } else {
            self.call_target(id)?
        };
        self.call_on(self.view_at(number), &params, request)
    }

    fn call_on(
        &self,
        view: StateView<'_>,
        params: &BlockParams,
        request: &TransactionRequest,
    ) -> Result<Bytes, CallError> {
        let spec = evm::call_spec(request, self.chain_id, params, |address| {
            view.basic(&address).map(|b| b.0).unwrap_or_default()
        })?;
        evm::call(view, self.chain_id, params, &spec).map(|output| output.output)
    }

    /// `eth_estimateGas`. By default, and at `pending`, against the state the transaction
    /// will meet: the pool's ready transactions applied first, in the next block
    /// ([`Chain::with_pending`]); a transaction sent behind others then gets the gas it
    /// needs behind them.
    pub(crate) fn estimate_gas(
        &mut self,
        request: &TransactionRequest,
        id: Option<BlockId>,
    ) -> Result<u64, CallError> {
        if id.is_none() || is_pending(id) {
            return self
                .with_pending(|chain, params| {
                    chain.estimate_on(chain.latest_view(), params, request)
                })
                .map_err(|e| CallError::Pending(e.to_string()))?;
        }
        let (params, number) = self.call_target(id)?;
        self.estimate_on(self.view_at(number), &params, request)
    }

    fn estimate_on(
        &self,
        view: StateView<'_>,
        params: &BlockParams,
        request: &TransactionRequest,
    ) -> Result<u64, CallError> {
        let spec = evm::call_spec(request, self.chain_id, params, |address| {
            view.basic(&address).map(|b| b.0).unwrap_or_default()
        })?;
        evm::estimate_gas(view, self.chain_id, params, &spec)
    }

    /// The blocks a log filter covers, oldest first.
    pub(crate) fn filter_blocks(
        &self,
        filter: &Filter,
    ) -> Result<Vec<Arc<MinedBlock>>, RangeError> {
        match &filter.block_option {
            FilterBlockOption::AtBlockHash(hash) => self
                .block_by_hash(hash)
                .map(|block| vec![block])
                .ok_or(RangeError::UnknownBlock),
            FilterBlockOption::Range {
                from_block,
                to_block,
            } => {
                let resolve = |tag: Option<BlockNumberOrTag>| match tag {
                    // A range past the head is empty rather than an error, as in geth.
                    Some(BlockNumberOrTag::Number(number)) => number,
                    Some(tag) => self.resolve_tag(tag).unwrap_or(self.height()),
                    None => self.height(),
                };
                let from = resolve(*from_block);
                let to = resolve(*to_block).min(self.height());
                if from > resolve(*to_block) {
                    return Err(RangeError::Reversed {
                        from,
                        to: resolve(*to_block),
                    });
                }
                Ok((from..=to)
                    .filter_map(|number| self.block(number))
                    .collect())
            }
        }
    }

    /// `eth_feeHistory`: base fees (one more than blocks: the next block's), gas used
    /// ratios, and per block the effective tips at each percentile, weighted by gas
    /// used as geth does.
    pub(crate) fn fee_history(
        &self,
        block_count: u64,
        newest: BlockNumberOrTag,
        percentiles: &[f64],
    ) -> Option<FeeHistory> {
        let newest = self.resolve_tag(newest)?;
        let count = block_count.min(MAX_FEE_HISTORY).min(newest + 1);
        let oldest = newest + 1 - count;
        let mut history = FeeHistory {
            oldest_block: oldest,
            ..FeeHistory::default()
        };
        for number in oldest..=newest {
            let block = self.block(number)?;
            let base_fee = block.header.base_fee_per_gas.unwrap_or_default();
            history.base_fee_per_gas.push(u128::from(base_fee));
            history.base_fee_per_blob_gas.push(1);
            history.blob_gas_used_ratio.push(0.0);
            history.gas_used_ratio.push(if block.header.gas_limit == 0 {
                0.0
            } else {
                block.header.gas_used as f64 / block.header.gas_limit as f64
            });
            if !percentiles.is_empty() {
                history.reward.get_or_insert_with(Vec::new).push(rewards(
                    &block,
                    base_fee,
                    percentiles,
                ));
            }
        }
        let after = match self.block(newest + 1) {
            Some(block) => block.header.base_fee_per_gas.unwrap_or_default(),
            None => super::block::next_base_fee(&self.block(newest)?.header),
        };
        history.base_fee_per_gas.push(u128::from(after));
        history.base_fee_per_blob_gas.push(1);
        Some(history)
    }
}

/// Effective tips at `percentiles` of the block's gas, geth's algorithm: sort by tip,
/// walk cumulative gas used.
fn rewards(block: &MinedBlock, base_fee: u64, percentiles: &[f64]) -> Vec<u128> {
    if block.txs.is_empty() {
        return vec![0; percentiles.len()];
    }
    let mut tips: Vec<(u128, u64)> = block
        .txs
        .iter()
        .map(|tx| {
            let tip = alloy::consensus::Transaction::effective_tip_per_gas(&tx.envelope, base_fee)
                .unwrap_or_default();
            (tip, tx.gas_used)
        })
        .collect();
    tips.sort_unstable();
    let total: u64 = tips.iter().map(|(_, gas)| *gas).sum();
    let mut rewards = Vec::with_capacity(percentiles.len());
    let mut index = 0;
    let mut cumulative = tips[0].1;
    for percentile in percentiles {
        let threshold = (total as f64 * percentile / 100.0) as u64;
        while cumulative < threshold && index + 1 < tips.len() {
            index += 1;
            cumulative += tips[index].1;
        }
        rewards.push(tips[index].0);
    }
    rewards
}

/// Whether `id` names the pending block.
fn is_pending(id: Option<BlockId>) -> bool {
    matches!(id, Some(BlockId::Number(BlockNumberOrTag::Pending)))
}
