//! Mined blocks: sealing executed transactions into a header with correct roots, bloom
//! and hash, and the EIP-1559 base fee of the next block.
//!
//! The header is a real Cancun header (withdrawals root, blob gas fields, parent beacon
//! root present), so `hash_slow` gives the same hash any client would compute from the
//! served fields. Transactions and receipts roots come from
//! `alloy_consensus::proofs`; the state root from [`WorldState::state_root`](super::state::WorldState::state_root).

use alloy::consensus::{
    Block, BlockBody, EMPTY_OMMER_ROOT_HASH, EMPTY_ROOT_HASH, Eip658Value, Header, Receipt,
    ReceiptEnvelope, ReceiptWithBloom, TxEnvelope, proofs,
};
use alloy::eips::eip1559::BaseFeeParams;
use alloy::eips::eip4895::Withdrawals;
use alloy::primitives::{Address, B64, B256, Bloom, Bytes, Log, U256, keccak256};
use alloy::rlp::Encodable;

/// A transaction as revm left it, before it has a place in a block.
#[derive(Clone, Debug)]
pub(crate) struct ExecutedTx {
    pub(crate) envelope: TxEnvelope,
    pub(crate) sender: Address,
    pub(crate) success: bool,
    pub(crate) gas_used: u64,
    pub(crate) logs: Vec<Log>,
    pub(crate) contract_address: Option<Address>,
}

/// A transaction in a mined block, with its receipt.
#[derive(Clone, Debug)]
pub(crate) struct MinedTx {
    pub(crate) envelope: TxEnvelope,
    pub(crate) sender: Address,
    pub(crate) receipt: ReceiptEnvelope<Log>,
    pub(crate) gas_used: u64,
    pub(crate) effective_gas_price: u128,
    pub(crate) contract_address: Option<Address>,
    /// Block-wide index of this transaction's first log.
    pub(crate) first_log_index: u64,
}

impl MinedTx {
    pub(crate) fn hash(&self) -> B256 {
        *self.envelope.tx_hash()
    }
}

/// A sealed block and everything needed to serve it.
#[derive(Clone, Debug)]
pub(crate) struct MinedBlock {
    pub(crate) hash: B256,
    pub(crate) header: Header,
    /// RLP size of the whole block, as `eth_getBlockBy*` reports it.
    pub(crate) size: u64,
    pub(crate) txs: Vec<MinedTx>,
}

impl MinedBlock {
    pub(crate) fn number(&self) -> u64 {
        self.header.number
    }
}

/// The fields of a new block that do not come from its transactions.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BlockParams {
    pub(crate) parent_hash: B256,
    pub(crate) number: u64,
    pub(crate) timestamp: u64,
    pub(crate) gas_limit: u64,
    pub(crate) base_fee: u64,
}

impl BlockParams {
    /// PREVRANDAO / mixHash: derived from the parent so it differs per block yet replays
    /// identically.
    pub(crate) fn prevrandao(&self) -> B256 {
        keccak256(self.parent_hash)
    }
}

/// Seals executed transactions into a block over the post-state `state_root`.
pub(crate) fn seal(params: BlockParams, state_root: B256, executed: Vec<ExecutedTx>) -> MinedBlock {
    let placed = place(executed, params.base_fee);
    let header = Header {
        parent_hash: params.parent_hash,
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        beneficiary: Address::ZERO,
        state_root,
        transactions_root: proofs::calculate_transaction_root(&placed.envelopes),
        receipts_root: proofs::calculate_receipt_root(
            &placed.txs.iter().map(|tx| &tx.receipt).collect::<Vec<_>>(),
        ),
        logs_bloom: placed.logs_bloom,
        difficulty: U256::ZERO,
        number: params.number,
        gas_limit: params.gas_limit,
        gas_used: placed.gas_used,
        timestamp: params.timestamp,
        extra_data: Bytes::new(),
        mix_hash: params.prevrandao(),
        nonce: B64::ZERO,
        base_fee_per_gas: Some(params.base_fee),
        withdrawals_root: Some(EMPTY_ROOT_HASH),
        blob_gas_used: Some(0),
        excess_blob_gas: Some(0),
        parent_beacon_block_root: Some(B256::ZERO),
        requests_hash: None,
        ..Header::default()
    };
    finish(header, placed)
}

/// Rebuilds a block from a journal record: the header is taken as written (its hash is
/// recomputed), receipts are rebuilt from their stored parts.
pub(crate) fn restore(header: Header, executed: Vec<ExecutedTx>) -> MinedBlock {
    let placed = place(executed, header.base_fee_per_gas.unwrap_or_default());
    finish(header, placed)
}

/// Transactions with their receipts, in block order.
struct Placed {
    txs: Vec<MinedTx>,
    envelopes: Vec<TxEnvelope>,
    logs_bloom: Bloom,
    gas_used: u64,
}

/// Gives each executed transaction its receipt: cumulative gas, bloom, log indices.
fn place(executed: Vec<ExecutedTx>, base_fee: u64) -> Placed {
    let mut gas_used = 0u64;
    let mut next_log_index = 0u64;
    let mut logs_bloom = Bloom::ZERO;
    let mut txs = Vec::with_capacity(executed.len());
    for tx in executed {
        gas_used = gas_used.saturating_add(tx.gas_used);
        let receipt = Receipt {
            status: Eip658Value::Eip658(tx.success),
            cumulative_gas_used: gas_used,
            logs: tx.logs,
        };
        let with_bloom = ReceiptWithBloom::from(receipt);
        logs_bloom |= with_bloom.logs_bloom;
        let log_count = with_bloom.receipt.logs.len() as u64;
        let effective_gas_price =
            alloy::consensus::Transaction::effective_gas_price(&tx.envelope, Some(base_fee));
        txs.push(MinedTx {
            receipt: ReceiptEnvelope::from_typed(tx.envelope.tx_type(), with_bloom),
            envelope: tx.envelope,
            sender: tx.sender,
            gas_used: tx.gas_used,
            effective_gas_price,
            contract_address: tx.contract_address,
            first_log_index: next_log_index,
        });
        next_log_index += log_count;
    }
    let envelopes = txs.iter().map(|tx| tx.envelope.clone()).collect();
    Placed {
        txs,
        envelopes,
        logs_bloom,
        gas_used,
    }
}

fn finish(header: Header, placed: Placed) -> MinedBlock {
    let hash = header.hash_slow();
    let block = Block {
        header,
        body: BlockBody {
            transactions: placed.envelopes,
            ommers: Vec::new(),
            withdrawals: Some(Withdrawals::default()),
        },
    };
    let size = block.length() as u64;
    MinedBlock {
        hash,
        header: block.header,
        size,
        txs: placed.txs,
    }
}

/// The genesis block over `state_root`.
pub(crate) fn genesis(
    state_root: B256,
    timestamp: u64,
    gas_limit: u64,
    base_fee: u64,
) -> MinedBlock {
    let params = BlockParams {
        parent_hash: B256::ZERO,
        number: 0,
        timestamp,
        gas_limit,
        base_fee,
    };
    seal(params, state_root, Vec::new())
}

/// The base fee of the block after `parent`, by EIP-1559 with Ethereum's parameters
/// (change at most 1/8 per block towards a target of half the gas limit).
pub(crate) fn next_base_fee(parent: &Header) -> u64 {
    let base_fee = parent.base_fee_per_gas.unwrap_or_default();
    BaseFeeParams::ethereum().next_block_base_fee(parent.gas_used, parent.gas_limit, base_fee)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesis_hash_is_the_header_hash_and_roots_are_empty() {
        let block = genesis(EMPTY_ROOT_HASH, 1_700_000_000, 30_000_000, 1_000_000_000);
        assert_eq!(block.hash, block.header.hash_slow());
        assert_eq!(block.header.transactions_root, EMPTY_ROOT_HASH);
        assert_eq!(block.header.receipts_root, EMPTY_ROOT_HASH);
    }

    #[test]
    fn base_fee_falls_an_eighth_on_an_empty_block_and_holds_at_target() {
        let mut header = genesis(EMPTY_ROOT_HASH, 1, 30_000_000, 1_000_000_000).header;
        assert_eq!(next_base_fee(&header), 875_000_000);
        header.gas_used = 15_000_000;
        assert_eq!(next_base_fee(&header), 1_000_000_000);
    }
}
