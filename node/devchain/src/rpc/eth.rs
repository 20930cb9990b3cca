//! The standard methods: `eth_*`, `net_*`, `web3_*`.
//!
//! Methods that execute or write (`eth_sendRawTransaction`, `eth_call`,
//! `eth_estimateGas`) run on jsonrpsee's blocking pool: they run revm and, for a send,
//! wait for an fsync.

use super::super::block::next_base_fee;
use super::super::chain::Chain;
use super::RpcContext;
use super::convert;
use super::error::{call_error, chain_error, header_not_found, invalid_params};
use super::params::Quantity;
use alloy::eips::{BlockId, BlockNumberOrTag};
use alloy::primitives::{Address, B256, Bytes, U64, U256};
use alloy::rpc::types::{Block, FeeHistory, Transaction, TransactionReceipt, TransactionRequest};
use jsonrpsee::RpcModule;
use jsonrpsee::server::RegisterMethodError;
use jsonrpsee::types::ErrorObjectOwned;

type RpcResult<T> = Result<T, ErrorObjectOwned>;

/// The block a state read (`eth_getBalance`, `eth_getCode`, …) names; latest by default.
fn state_block(chain: &Chain, block: Option<BlockId>) -> RpcResult<u64> {
    chain
        .resolve_id(block.unwrap_or_default())
        .ok_or_else(header_not_found)
}

/// The priority fee we suggest: 1 gwei, anvil's default. The chain itself accepts any.
const SUGGESTED_PRIORITY_FEE: u128 = 1_000_000_000;

pub(super) fn register(module: &mut RpcModule<RpcContext>) -> Result<(), RegisterMethodError> {
    module.register_method("web3_clientVersion", |_, _, _| -> RpcResult<&str> {
        Ok(concat!("verdict-l1/", env!("CARGO_PKG_VERSION")))
    })?;
    module.register_method("net_version", |_, ctx, _| -> RpcResult<String> {
        Ok(ctx.chain.chain_id().to_string())
    })?;
    module.register_method("net_listening", |_, _, _| -> RpcResult<bool> { Ok(true) })?;
    module.register_method("eth_syncing", |_, _, _| -> RpcResult<bool> { Ok(false) })?;
    module.register_method("eth_mining", |_, _, _| -> RpcResult<bool> { Ok(true) })?;
    module.register_method("eth_coinbase", |_, _, _| -> RpcResult<Address> {
        Ok(Address::ZERO)
    })?;
    module.register_method("eth_chainId", |_, ctx, _| -> RpcResult<U64> {
        Ok(U64::from(ctx.chain.chain_id()))
    })?;
    module.register_method("eth_accounts", |_, ctx, _| -> RpcResult<Vec<Address>> {
        Ok(ctx
            .chain
            .accounts()
            .iter()
            .map(|signer| signer.address())
            .collect())
    })?;
    module.register_method("eth_blockNumber", |_, ctx, _| -> RpcResult<U64> {
        Ok(U64::from(ctx.chain.lock().height()))
    })?;
    module.register_method("eth_gasPrice", |_, ctx, _| -> RpcResult<U256> {
        let chain = ctx.chain.lock();
        let base_fee = next_base_fee(&chain.latest().header);
        Ok(U256::from(u128::from(base_fee) + SUGGESTED_PRIORITY_FEE))
    })?;
    module.register_method("eth_maxPriorityFeePerGas", |_, _, _| -> RpcResult<U256> {
        Ok(U256::from(SUGGESTED_PRIORITY_FEE))
    })?;
    module.register_method(
        "eth_feeHistory",
        |params, ctx, _| -> RpcResult<FeeHistory> {
            let mut params = params.sequence();
            let count: Quantity = params.next()?;
            let newest: BlockNumberOrTag = params.next()?;
            let percentiles: Option<Vec<f64>> = params.optional_next()?;
            let percentiles = percentiles.unwrap_or_default();
            let ordered = percentiles.windows(2).all(|pair| pair[0] <= pair[1]);
            if !ordered || percentiles.iter().any(|p| !(0.0..=100.0).contains(p)) {
                return Err(invalid_params(
                    "reward percentiles must be increasing values between 0 and 100",
                ));
            }
            ctx.chain
                .lock()
                .fee_history(count.0, newest, &percentiles)
                .ok_or_else(header_not_found)
        },
    )?;

    module.register_method("eth_getBalance", |params, ctx, _| -> RpcResult<U256> {
        let mut params = params.sequence();
        let address: Address = params.next()?;
        let block: Option<BlockId> = params.optional_next()?;
        let chain = ctx.chain.lock();
        let number = state_block(&chain, block)?;
        Ok(chain.account_at(&address, number).0)
    })?;
    module.register_method("eth_getCode", |params, ctx, _| -> RpcResult<Bytes> {
        let mut params = params.sequence();
        let address: Address = params.next()?;
        let block: Option<BlockId> = params.optional_next()?;
        let chain = ctx.chain.lock();
        let number = state_block(&chain, block)?;
        Ok(chain.account_at(&address, number).2)
    })?;
    module.register_method("eth_getStorageAt", |params, ctx, _| -> RpcResult<B256> {
        let mut params = params.sequence();
        let address: Address = params.next()?;
        let slot: U256 = params.next()?;
        let block: Option<BlockId> = params.optional_next()?;
        let chain = ctx.chain.lock();
        let number = state_block(&chain, block)?;
        Ok(B256::from(chain.storage_at(&address, &slot, number)))
    })?;
    module.register_method(
        "eth_getTransactionCount",
        |params, ctx, _| -> RpcResult<U64> {
            let mut params = params.sequence();
            let address: Address = params.next()?;
            let block: Option<BlockId> = params.optional_next()?;
            let chain = ctx.chain.lock();
            if let Some(BlockId::Number(BlockNumberOrTag::Pending)) = block {
                return Ok(U64::from(chain.pending_nonce(&address)));
            }
            let number = state_block(&chain, block)?;
            Ok(U64::from(chain.account_at(&address, number).1))
        },
    )?;

    module.register_method(
        "eth_getBlockByNumber",
        |params, ctx, _| -> RpcResult<Option<Block>> {
            let mut params = params.sequence();
            let tag: BlockNumberOrTag = params.next()?;
            let full: Option<bool> = params.optional_next()?;
            let block = {
                let chain = ctx.chain.lock();
                chain
                    .resolve_tag(tag)
                    .and_then(|number| chain.block(number))
            };
            Ok(block.map(|block| convert::block(&block, full.unwrap_or(false))))
        },
    )?;
    module.register_method(
        "eth_getBlockByHash",
        |params, ctx, _| -> RpcResult<Option<Block>> {
            let mut params = params.sequence();
            let hash: B256 = params.next()?;
            let full: Option<bool> = params.optional_next()?;
            let block = ctx.chain.lock().block_by_hash(&hash);
            Ok(block.map(|block| convert::block(&block, full.unwrap_or(false))))
        },
    )?;
    module.register_method(
        "eth_getBlockTransactionCountByNumber",
        |params, ctx, _| -> RpcResult<Option<U64>> {
            let tag: BlockNumberOrTag = params.one()?;
            let chain = ctx.chain.lock();
            Ok(chain
                .resolve_tag(tag)
                .and_then(|number| chain.block(number))
                .map(|block| U64::from(block.txs.len())))
        },
    )?;
    module.register_method(
        "eth_getBlockTransactionCountByHash",
        |params, ctx, _| -> RpcResult<Option<U64>> {
            let hash: B256 = params.one()?;
            Ok(ctx
                .chain
                .lock()
                .block_by_hash(&hash)
                .map(|block| U64::from(block.txs.len())))
        },
    )?;
    module.register_method(
        "eth_getBlockReceipts",
        |params, ctx, _| -> RpcResult<Option<Vec<TransactionReceipt>>> {
            let id: BlockId = params.one()?;
            let block = {
                let chain = ctx.chain.lock();
                chain.resolve_id(id).and_then(|number| chain.block(number))
            };
            Ok(block.map(|block| {
                (0..block.txs.len())
                    .map(|index| convert::receipt(&block, index))
                    .collect()
            }))
        },
    )?;

    module.register_method(
        "eth_getTransactionByHash",
        |params, ctx, _| -> RpcResult<Option<Transaction>> {
            let hash: B256 = params.one()?;
            let chain = ctx.chain.lock();
            if let Some((block, index)) = chain.mined_tx(&hash) {
                drop(chain);
                return Ok(Some(convert::transaction(&block, index)));
            }
            Ok(chain.pool.get(&hash).map(convert::pending_transaction))
        },
    )?;
    module.register_method(
        "eth_getTransactionByBlockNumberAndIndex",
        |params, ctx, _| -> RpcResult<Option<Transaction>> {
            let mut params = params.sequence();
            let tag: BlockNumberOrTag = params.next()?;
            let index: Quantity = params.next()?;
            let chain = ctx.chain.lock();
            let block = chain
                .resolve_tag(tag)
                .and_then(|number| chain.block(number));
            Ok(block.and_then(|block| transaction_at(&block, index)))
        },
    )?;
    module.register_method(
        "eth_getTransactionByBlockHashAndIndex",
        |params, ctx, _| -> RpcResult<Option<Transaction>> {
            let mut params = params.sequence();
            let hash: B256 = params.next()?;
            let index: Quantity = params.next()?;
            let block = ctx.chain.lock().block_by_hash(&hash);
            Ok(block.and_then(|block| transaction_at(&block, index)))
        },
    )?;
    module.register_method(
        "eth_getTransactionReceipt",
        |params, ctx, _| -> RpcResult<Option<TransactionReceipt>> {
            let hash: B256 = params.one()?;
            let mined = ctx.chain.lock().mined_tx(&hash);
            Ok(mined.map(|(block, index)| convert::receipt(&block, index)))
        },
    )?;

    module.register_blocking_method(
        "eth_sendRawTransaction",
        |params, ctx, _| -> RpcResult<B256> {
            let raw: Bytes = params.one()?;
            ctx.chain.send_raw_transaction(&raw).map_err(chain_error)
        },
    )?;
    module.register_blocking_method("eth_call", |params, ctx, _| -> RpcResult<Bytes> {
        let mut params = params.sequence();
        let request: TransactionRequest = params.next()?;
        let block: Option<BlockId> = params.optional_next()?;
        ctx.chain.lock().call(&request, block).map_err(call_error)
    })?;
    module.register_blocking_method("eth_estimateGas", |params, ctx, _| -> RpcResult<U64> {
        let mut params = params.sequence();
        let request: TransactionRequest = params.next()?;
        let block: Option<BlockId> = params.optional_next()?;
        ctx.chain
            .lock()
            .estimate_gas(&request, block)
            .map(U64::from)
            .map_err(call_error)
    })?;
    Ok(())
}

fn transaction_at(block: &super::super::block::MinedBlock, index: Quantity) -> Option<Transaction> {
    let index = usize::try_from(index.0).ok()?;
    (index < block.txs.len()).then(|| convert::transaction(block, index))
}
