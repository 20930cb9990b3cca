//! `eth_getLogs`, and the polling filters HTTP clients use to follow a chain
//! (`eth_newFilter`, `eth_newBlockFilter`, `eth_getFilterChanges`, ...).
//!
//! A filter remembers the last block it reported; each poll answers for the blocks
//! mined since. Filters not polled for five minutes are dropped, as in geth. A pending
//! transaction filter is accepted but always reports nothing (the pool is not
//! streamed).

use super::super::block::MinedBlock;
use super::super::query::RangeError;
use super::RpcContext;
use super::convert;
use super::error::server_error;
use alloy::primitives::{B256, U256};
use alloy::rpc::types::{Filter, Log};
use jsonrpsee::RpcModule;
use jsonrpsee::server::RegisterMethodError;
use jsonrpsee::types::ErrorObjectOwned;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

type RpcResult<T> = Result<T, ErrorObjectOwned>;

/// Filters not polled for this long are dropped.
const FILTER_TIMEOUT: Duration = Duration::from_secs(5 * 60);

#[derive(Clone, Debug)]
enum Kind {
    Blocks,
    Logs(Box<Filter>),
    PendingTransactions,
}

#[derive(Debug)]
struct Installed {
    kind: Kind,
    /// The last block whose changes were reported.
    reported: u64,
    polled: Instant,
}

/// The polling filters of one server.
#[derive(Debug, Default)]
pub(crate) struct Filters {
    next_id: u64,
    installed: HashMap<u64, Installed>,
}

impl Filters {
    fn install(&mut self, kind: Kind, head: u64) -> U256 {
        let now = Instant::now();
        self.installed
            .retain(|_, filter| now.duration_since(filter.polled) < FILTER_TIMEOUT);
        self.next_id += 1;
        self.installed.insert(
            self.next_id,
            Installed {
                kind,
                reported: head,
                polled: now,
            },
        );
        U256::from(self.next_id)
    }
}

/// What `eth_getFilterChanges` answers: block hashes, transaction hashes or logs.
#[derive(Clone, Serialize)]
#[serde(untagged)]
enum Changes {
    Hashes(Vec<B256>),
    Logs(Vec<Log>),
}

/// The logs of `blocks` that `filter` matches, in chain order.
pub(crate) fn matching_logs(filter: &Filter, blocks: &[Arc<MinedBlock>]) -> Vec<Log> {
    blocks
        .iter()
        .filter(|block| filter.matches_bloom(block.header.logs_bloom))
        .flat_map(|block| convert::block_logs(block))
        .filter(|log| filter.matches(&log.inner))
        .collect()
}

fn get_logs(ctx: &RpcContext, filter: &Filter) -> RpcResult<Vec<Log>> {
    let blocks = ctx
        .chain
        .lock()
        .filter_blocks(filter)
        .map_err(|error| match error {
            RangeError::UnknownBlock => server_error("unknown block"),
            RangeError::Reversed { from, to } => server_error(format!(
                "invalid block range params: fromBlock {from} is after toBlock {to}"
            )),
        })?;
    Ok(matching_logs(filter, &blocks))
}

fn filter_not_found() -> ErrorObjectOwned {
    server_error("filter not found")
}

fn filter_id(id: U256) -> RpcResult<u64> {
    u64::try_from(id).map_err(|_| filter_not_found())
}

pub(super) fn register(module: &mut RpcModule<RpcContext>) -> Result<(), RegisterMethodError> {
    module.register_blocking_method("eth_getLogs", |params, ctx, _| -> RpcResult<Vec<Log>> {
        let filter: Filter = params.one()?;
        get_logs(&ctx, &filter)
    })?;
    module.register_method("eth_newFilter", |params, ctx, _| -> RpcResult<U256> {
        let filter: Filter = params.one()?;
        let head = ctx.chain.lock().height();
        Ok(ctx.filters().install(Kind::Logs(Box::new(filter)), head))
    })?;
    module.register_method("eth_newBlockFilter", |_, ctx, _| -> RpcResult<U256> {
        let head = ctx.chain.lock().height();
        Ok(ctx.filters().install(Kind::Blocks, head))
    })?;
    module.register_method(
        "eth_newPendingTransactionFilter",
        |_, ctx, _| -> RpcResult<U256> {
            let head = ctx.chain.lock().height();
            Ok(ctx.filters().install(Kind::PendingTransactions, head))
        },
    )?;
    module.register_method("eth_uninstallFilter", |params, ctx, _| -> RpcResult<bool> {
        let id: U256 = params.one()?;
        let Ok(id) = filter_id(id) else {
            return Ok(false);
        };
        Ok(ctx.filters().installed.remove(&id).is_some())
    })?;
    module.register_blocking_method(
        "eth_getFilterChanges",
        |params, ctx, _| -> RpcResult<Changes> {
            let id = filter_id(params.one()?)?;
            let (blocks, kind) = {
                let chain = ctx.chain.lock();
                let head = chain.height();
                let mut filters = ctx.filters();
                let installed = filters
                    .installed
                    .get_mut(&id)
                    .ok_or_else(filter_not_found)?;
                installed.polled = Instant::now();
                // After an evm_revert the head may be below what was reported.
                let from = installed.reported.min(head) + 1;
                installed.reported = head;
                let blocks: Vec<_> = (from..=head).filter_map(|n| chain.block(n)).collect();
                (blocks, installed.kind.clone())
            };
            Ok(match kind {
                Kind::Blocks => Changes::Hashes(blocks.iter().map(|block| block.hash).collect()),
                Kind::PendingTransactions => Changes::Hashes(Vec::new()),
                Kind::Logs(filter) => Changes::Logs(matching_logs(&filter, &blocks)),
            })
        },
    )?;
    module.register_blocking_method(
        "eth_getFilterLogs",
        |params, ctx, _| -> RpcResult<Vec<Log>> {
            let id = filter_id(params.one()?)?;
            let filter = {
                let filters = ctx.filters();
                match &filters
                    .installed
                    .get(&id)
                    .ok_or_else(filter_not_found)?
                    .kind
                {
                    Kind::Logs(filter) => filter.as_ref().clone(),
                    _ => return Err(filter_not_found()),
                }
            };
            get_logs(&ctx, &filter)
        },
    )?;
    Ok(())
}
