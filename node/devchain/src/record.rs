//! What the journal holds: one [`Record`] per event that changes the chain, in order.
//!
//! A mined block is stored with its raw transactions, their receipts' parts and the
//! block's state changes, so replay applies the changes instead of re-executing: a
//! replayed chain is the chain that was served, even if a later revm would execute
//! something differently. Records are JSON (serde) inside a binary frame (see
//! [`store`](super::store)): easy to inspect, and versioned by their field names.

use super::block::{self, ExecutedTx, MinedBlock};
use super::clock::Clock;
use super::state::AccountChange;
use alloy::consensus::{Header, TxEnvelope};
use alloy::eips::eip2718::{Decodable2718, Encodable2718};
use alloy::primitives::{Address, Bytes, Log};
use serde::{Deserialize, Serialize};

/// One journal entry.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub(crate) enum Record {
    /// Always the first record: identifies the chain the file belongs to.
    #[serde(rename_all = "camelCase")]
    Genesis { chain_id: u64, header: Header },
    /// A mined block.
    Block(BlockRecord),
    /// `anvil_set*`: accounts written directly.
    #[serde(rename_all = "camelCase")]
    Edit { changes: Vec<AccountChange> },
    /// `evm_increaseTime` / `evm_setNextBlockTimestamp`.
    Clock(Clock),
    /// `evm_snapshot` returned `id`.
    Snapshot { id: u64 },
    /// `evm_revert` to snapshot `id` succeeded.
    Revert { id: u64 },
}

/// A mined block as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BlockRecord {
    pub(crate) header: Header,
    pub(crate) txs: Vec<TxRecord>,
    pub(crate) changes: Vec<AccountChange>,
    /// The clock after this block (consuming a `setNextBlockTimestamp` moves it).
    pub(crate) clock: Clock,
}

/// A transaction of a stored block: its EIP-2718 bytes and what its receipt needs.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TxRecord {
    pub(crate) raw: Bytes,
    pub(crate) sender: Address,
    pub(crate) success: bool,
    pub(crate) gas_used: u64,
    pub(crate) logs: Vec<Log>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) contract_address: Option<Address>,
}

impl BlockRecord {
    pub(crate) fn new(block: &MinedBlock, changes: Vec<AccountChange>, clock: Clock) -> Self {
        Self {
            header: block.header.clone(),
            txs: block
                .txs
                .iter()
                .map(|tx| TxRecord {
                    raw: tx.envelope.encoded_2718().into(),
                    sender: tx.sender,
                    success: tx.receipt.status(),
                    gas_used: tx.gas_used,
                    logs: tx.receipt.logs().to_vec(),
                    contract_address: tx.contract_address,
                })
                .collect(),
            changes,
            clock,
        }
    }

    /// Rebuilds the served block; an error names the transaction that does not decode.
    pub(crate) fn to_block(&self) -> Result<MinedBlock, String> {
        let executed = self
            .txs
            .iter()
            .enumerate()
            .map(|(index, tx)| {
                let envelope = TxEnvelope::decode_2718(&mut tx.raw.as_ref())
                    .map_err(|error| format!("transaction {index}: {error}"))?;
                Ok(ExecutedTx {
                    envelope,
                    sender: tx.sender,
                    success: tx.success,
                    gas_used: tx.gas_used,
                    logs: tx.logs.clone(),
                    contract_address: tx.contract_address,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(block::restore(self.header.clone(), executed))
    }
}
