//! anvil's dev methods (`evm_*`, `anvil_*`), with the `hardhat_*` names as aliases, and
//! anvil's answers: `evm_mine` returns `"0x0"`, `evm_increaseTime` the total offset as a
//! JSON number, `anvil_setStorageAt` `true`, the other setters `null`.

use super::RpcContext;
use super::error::{chain_error, invalid_params};
use super::params::{MineParam, Quantity};
use alloy::primitives::{Address, B256, Bytes, U256};
use jsonrpsee::RpcModule;
use jsonrpsee::server::RegisterMethodError;
use jsonrpsee::types::ErrorObjectOwned;

type RpcResult<T> = Result<T, ErrorObjectOwned>;

/// Most blocks one `anvil_mine` / `evm_mine` call may mine, so one request cannot hold
/// the chain for minutes.
const MAX_BLOCKS_PER_CALL: u64 = 100_000;

pub(super) fn register(module: &mut RpcModule<RpcContext>) -> Result<(), RegisterMethodError> {
    module.register_blocking_method("evm_mine", |params, ctx, _| -> RpcResult<&'static str> {
        let param: Option<MineParam> = params.sequence().optional_next()?;
        let (timestamp, blocks) = match param {
            None => (None, 1),
            Some(MineParam::Timestamp(timestamp)) => (Some(timestamp.0), 1),
            Some(MineParam::Options { timestamp, blocks }) => {
                (timestamp.map(|t| t.0), blocks.map_or(1, |b| b.0))
            }
        };
        mine_blocks(&ctx, blocks, timestamp, None)?;
        Ok("0x0")
    })?;
    module.register_blocking_method("anvil_mine", |params, ctx, _| -> RpcResult<()> {
        let mut params = params.sequence();
        let blocks: Option<Quantity> = params.optional_next()?;
        let interval: Option<Quantity> = params.optional_next()?;
        mine_blocks(&ctx, blocks.map_or(1, |b| b.0), None, interval.map(|i| i.0))
    })?;
    module.register_method("evm_increaseTime", |params, ctx, _| -> RpcResult<i64> {
        let seconds: Quantity = params.one()?;
        ctx.chain.increase_time(seconds.0).map_err(chain_error)
    })?;
    module.register_method(
        "evm_setNextBlockTimestamp",
        |params, ctx, _| -> RpcResult<()> {
            let timestamp: Quantity = params.one()?;
            ctx.chain
                .set_next_block_timestamp(timestamp.0)
                .map_err(chain_error)
        },
    )?;
    module.register_method("anvil_setBalance", |params, ctx, _| -> RpcResult<()> {
        let mut params = params.sequence();
        let address: Address = params.next()?;
        let balance: U256 = params.next()?;
        ctx.chain.set_balance(address, balance).map_err(chain_error)
    })?;
    module.register_method("anvil_setNonce", |params, ctx, _| -> RpcResult<()> {
        let mut params = params.sequence();
        let address: Address = params.next()?;
        let nonce: Quantity = params.next()?;
        ctx.chain.set_nonce(address, nonce.0).map_err(chain_error)
    })?;
    module.register_method("anvil_setCode", |params, ctx, _| -> RpcResult<()> {
        let mut params = params.sequence();
        let address: Address = params.next()?;
        let code: Bytes = params.next()?;
        ctx.chain.set_code(address, code).map_err(chain_error)
    })?;
    module.register_method("anvil_setStorageAt", |params, ctx, _| -> RpcResult<bool> {
        let mut params = params.sequence();
        let address: Address = params.next()?;
        let slot: U256 = params.next()?;
        let value: B256 = params.next()?;
        ctx.chain
            .set_storage_at(address, slot, U256::from_be_bytes(value.0))
            .map(|()| true)
            .map_err(chain_error)
    })?;
    module.register_method("evm_snapshot", |_, ctx, _| -> RpcResult<U256> {
        ctx.chain.snapshot().map(U256::from).map_err(chain_error)
    })?;
    module.register_method("evm_revert", |params, ctx, _| -> RpcResult<bool> {
        let id: U256 = params.one()?;
        let Ok(id) = u64::try_from(id) else {
            return Ok(false);
        };
        ctx.chain.revert(id).map_err(chain_error)
    })?;

    for (alias, method) in [
        ("hardhat_mine", "anvil_mine"),
        ("hardhat_setBalance", "anvil_setBalance"),
        ("hardhat_setNonce", "anvil_setNonce"),
        ("hardhat_setCode", "anvil_setCode"),
        ("hardhat_setStorageAt", "anvil_setStorageAt"),
        ("anvil_increaseTime", "evm_increaseTime"),
        ("anvil_setNextBlockTimestamp", "evm_setNextBlockTimestamp"),
        ("anvil_snapshot", "evm_snapshot"),
        ("anvil_revert", "evm_revert"),
    ] {
        module.register_alias(alias, method)?;
    }
    Ok(())
}

/// Mines `count` blocks: the first at `timestamp` (or the clock's time), the next ones
/// `interval` seconds apart if given (else by the clock).
fn mine_blocks(
    ctx: &RpcContext,
    count: u64,
    timestamp: Option<u64>,
    interval: Option<u64>,
) -> RpcResult<()> {
    if count > MAX_BLOCKS_PER_CALL {
        return Err(invalid_params(format!(
            "at most {MAX_BLOCKS_PER_CALL} blocks per call, asked for {count}"
        )));
    }
    let mut next = timestamp;
    for _ in 0..count {
        let block = ctx.chain.mine_at(next).map_err(chain_error)?;
        next = interval.map(|seconds| block.timestamp.saturating_add(seconds.max(1)));
    }
    Ok(())
}
