//! The bridge's L1 side of withdrawals, typed: finding the batch that holds an L2 block,
//! claiming a withdrawal with its inclusion proof once the batch is final
//! (`Bridge.finalizeWithdrawal`, specs/state.md §5), and the fee history challengers
//! check records against (`ModelRegistry.feeAt`).

use super::bindings::bridge::{BatchData as BridgeBatchData, Bridge};
use super::bindings::{ModelRegistry, Rollup};
use super::client::{L1Error, Result};
use super::contracts::{VerdictL1, decode_event};
use alloy::primitives::{B256, Bytes, U256};
use alloy::rpc::types::TransactionReceipt;
use verdict_specs::batch::BatchHeader;
use verdict_specs::l2::block::BlockHeader;
use verdict_specs::l2::withdrawal::Withdrawal;

pub use super::bindings::bridge::Bridge::WithdrawalFinalized;

/// What `finalizeWithdrawal` takes besides the batch: the leaf's path to its block's
/// withdrawals root, its index, and the block's and every later header of the batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WithdrawalProof {
    /// Siblings from the leaf to the withdrawals root.
    pub proof: Vec<B256>,
    /// The leaf's position in the block.
    pub index: u64,
    /// The withdrawal's block.
    pub block: BlockHeader,
    /// The later headers of the batch, in order.
    pub later_headers: Vec<BlockHeader>,
}

impl VerdictL1 {
    /// The batch currently posted at `index`, read from its `BatchPosted` event and checked
    /// against the hash the Rollup stores; `None` when no batch is posted there now.
    pub async fn current_batch(&self, index: u64) -> Result<Option<BatchHeader>> {
        let head = self.head().await?;
        if index >= head.batch_count {
            return Ok(None);
        }
        let stored = self.batch_hash(index).await?;
        let from = self.deployment().deployed_at_block;
        let to = self.client().block_number().await?;
        let logs = self.posted_batch_logs(from, to).await?;
        Ok(logs
            .into_iter()
            .map(|(header, _)| header)
            .rev()
            .find(|h| h.index == index && B256::from(h.hash()) == stored))
    }

    /// Whether the batch at `index` is final.
    pub async fn is_finalized(&self, index: u64) -> Result<bool> {
        self.client()
            .read(self.deployment().rollup, Rollup::isFinalizedCall { index })
            .await
    }

    /// Whether the withdrawal with `leaf` was paid out already.
    pub async fn withdrawal_claimed(&self, leaf: B256) -> Result<bool> {
        self.client()
            .read(self.deployment().bridge, Bridge::claimedCall { leaf })
            .await
    }

    /// Pays a withdrawal of the final batch `batch` on L1 (anyone may send it; the wei
    /// goes to the withdrawal's recipient).
    pub async fn finalize_withdrawal(
        &self,
        batch: &BatchHeader,
        withdrawal: &Withdrawal,
        proof: &WithdrawalProof,
    ) -> Result<(TransactionReceipt, WithdrawalFinalized)> {
        let call = Bridge::finalizeWithdrawalCall {
            batch: header_to_sol_bridge(batch),
            inclusion: Bridge::WithdrawalInclusion {
                proof: proof.proof.clone(),
                index: U256::from(proof.index),
                blockHeader: Bytes::from(proof.block.encode()),
                laterHeaders: proof
                    .later_headers
                    .iter()
                    .map(|h| Bytes::from(h.encode()))
                    .collect(),
            },
            sender: withdrawal.sender.into(),
            nonce: withdrawal.nonce,
            recipient: withdrawal.recipient.into(),
            amount: U256::from(withdrawal.amount),
        };
        let receipt = self
            .client()
            .send(self.deployment().bridge, call, U256::ZERO)
            .await?;
        let event: WithdrawalFinalized = decode_event(&receipt)?;
        Ok((receipt, event))
    }

    /// The L1 block in which deposit `index` was queued.
    pub async fn deposit_block(&self, index: u64) -> Result<u64> {
        self.client()
            .read(
                self.deployment().bridge,
                Bridge::depositBlockCall {
                    index: U256::from(index),
                },
            )
            .await
    }

    /// `ModelRegistry.feeAt`: the fee of `model` in force at `l1_block`, or `None` when it
    /// was not registered then.
    pub async fn fee_at(&self, model: B256, l1_block: u64) -> Result<Option<u128>> {
        let answer = self
            .client()
            .read(
                self.deployment().model_registry,
                ModelRegistry::feeAtCall {
                    modelId: model,
                    l1Block: l1_block,
                },
            )
            .await?;
        if !answer.registered {
            return Ok(None);
        }
        u128::try_from(answer.fee)
            .map(Some)
            .map_err(|_| L1Error::OutOfRange(format!("fee {} above 2^128", answer.fee)))
    }
}

/// The batch header as the bridge's ABI names it.
pub fn header_to_sol_bridge(h: &BatchHeader) -> BridgeBatchData::Header {
    super::contracts::batch_header_as!(BridgeBatchData::Header, h)
}
