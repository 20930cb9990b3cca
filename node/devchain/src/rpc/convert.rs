//! Mined blocks, transactions, receipts and logs as alloy's RPC types, so what we serve
//! serialises exactly as geth's (field names, hex quantities without leading zeros).

use super::super::block::{MinedBlock, MinedTx};
use super::super::txpool::validation::CheckedTx;
use alloy::consensus::transaction::Recovered;
use alloy::eips::eip4895::Withdrawals;
use alloy::primitives::U256;
use alloy::rpc::types::{Block, BlockTransactions, Header, Log, Transaction, TransactionReceipt};

pub(crate) fn header(block: &MinedBlock) -> Header {
    Header {
        hash: block.hash,
        inner: block.header.clone(),
        total_difficulty: Some(U256::ZERO),
        size: Some(U256::from(block.size)),
    }
}

pub(crate) fn block(block: &MinedBlock, full: bool) -> Block {
    let transactions = if full {
        BlockTransactions::Full(
            (0..block.txs.len())
                .map(|index| transaction(block, index))
                .collect(),
        )
    } else {
        BlockTransactions::Hashes(block.txs.iter().map(MinedTx::hash).collect())
    };
    Block {
        header: header(block),
        uncles: Vec::new(),
        transactions,
        withdrawals: Some(Withdrawals::default()),
    }
}

/// The `index`th transaction of a mined block (`index` must be in range).
pub(crate) fn transaction(block: &MinedBlock, index: usize) -> Transaction {
    let tx = &block.txs[index];
    Transaction {
        inner: Recovered::new_unchecked(tx.envelope.clone(), tx.sender),
        block_hash: Some(block.hash),
        block_number: Some(block.number()),
        transaction_index: Some(index as u64),
        effective_gas_price: Some(tx.effective_gas_price),
        block_timestamp: Some(block.header.timestamp),
    }
}

/// A transaction still in the pool.
pub(crate) fn pending_transaction(tx: &CheckedTx) -> Transaction {
    Transaction {
        inner: Recovered::new_unchecked(tx.envelope.clone(), tx.sender),
        block_hash: None,
        block_number: None,
        transaction_index: None,
        effective_gas_price: None,
        block_timestamp: None,
    }
}

/// The receipt of the `index`th transaction of a mined block.
pub(crate) fn receipt(block: &MinedBlock, index: usize) -> TransactionReceipt {
    let tx = &block.txs[index];
    let mut log_index = tx.first_log_index;
    let inner = tx.receipt.clone().map_logs(|inner| {
        let log = Log {
            inner,
            block_hash: Some(block.hash),
            block_number: Some(block.number()),
            block_timestamp: Some(block.header.timestamp),
            transaction_hash: Some(tx.hash()),
            transaction_index: Some(index as u64),
            log_index: Some(log_index),
            removed: false,
        };
        log_index += 1;
        log
    });
    TransactionReceipt {
        inner,
        transaction_hash: tx.hash(),
        transaction_index: Some(index as u64),
        block_hash: Some(block.hash),
        block_number: Some(block.number()),
        gas_used: tx.gas_used,
        effective_gas_price: tx.effective_gas_price,
        blob_gas_used: None,
        blob_gas_price: None,
        from: tx.sender,
        to: alloy::consensus::Transaction::to(&tx.envelope),
        contract_address: tx.contract_address,
    }
}

/// Every log of a block, with its position, in block order.
pub(crate) fn block_logs(block: &MinedBlock) -> impl Iterator<Item = Log> + '_ {
    block.txs.iter().enumerate().flat_map(move |(index, tx)| {
        tx.receipt
            .logs()
            .iter()
            .enumerate()
            .map(move |(offset, inner)| Log {
                inner: inner.clone(),
                block_hash: Some(block.hash),
                block_number: Some(block.number()),
                block_timestamp: Some(block.header.timestamp),
                transaction_hash: Some(tx.hash()),
                transaction_index: Some(index as u64),
                log_index: Some(tx.first_log_index + offset as u64),
                removed: false,
            })
    })
}
