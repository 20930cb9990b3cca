//! Follows the bridge's deposit queue on L1 and hands new deposits to the builder, in
//! queue order. Deposits are read `confirmations` blocks behind the L1 head, so a shallow
//! L1 reorg does not change what the chain credits (a deeper one makes the next post fail
//! its accumulator check, loudly).

use std::sync::mpsc::Sender;
use std::time::Duration;

use tokio::sync::watch;
use tracing::debug;
use verdict_l1::contracts::VerdictL1;
use verdict_l1::poll::{Ticker, retry_later};

use crate::builder::BuilderMsg;

/// Most L1 blocks read in one `eth_getLogs`.
const MAX_RANGE: u64 = 5_000;

/// The follower's settings.
#[derive(Clone, Debug)]
pub struct DepositConfig {
    /// L1 blocks a deposit must be under before it is credited.
    pub confirmations: u64,
    /// How often L1 is polled.
    pub poll: Duration,
}

impl Default for DepositConfig {
    fn default() -> Self {
        Self {
            confirmations: 0,
            poll: Duration::from_secs(1),
        }
    }
}

/// Polls L1 from `from_block` for deposits with index `next_index` on, until `stop`.
pub async fn follow(
    l1: VerdictL1,
    config: DepositConfig,
    mut from_block: u64,
    mut next_index: u64,
    builder: Sender<BuilderMsg>,
    stop: watch::Receiver<bool>,
) {
    let mut ticker = Ticker::new(config.poll, stop);
    loop {
        match poll_once(&l1, &config, from_block, next_index).await {
            Ok((deposits, scanned_to)) => {
                if let Some(last) = deposits.last() {
                    next_index = last.index + 1;
                    debug!(count = deposits.len(), next_index, "deposits from L1");
                    if builder.send(BuilderMsg::Deposits(deposits)).is_err() {
                        return;
                    }
                }
                if let Some(to) = scanned_to {
                    from_block = to + 1;
                }
            }
            Err(e) => retry_later("reading deposits from L1", Err(e)),
        }
        if !ticker.wait().await {
            return;
        }
    }
}

async fn poll_once(
    l1: &VerdictL1,
    config: &DepositConfig,
    from_block: u64,
    next_index: u64,
) -> Result<(Vec<verdict_specs::bridge::Deposit>, Option<u64>), verdict_l1::client::L1Error> {
    let latest = l1.client().block_number().await?;
    let Some(safe) = latest.checked_sub(config.confirmations) else {
        return Ok((Vec::new(), None));
    };
    if safe < from_block {
        return Ok((Vec::new(), None));
    }
    let to = safe.min(from_block + MAX_RANGE - 1);
    let mut deposits = l1.deposits(from_block, to).await?;
    deposits.retain(|d| d.index >= next_index);
    // The queue is contiguous; anything else means a log is missing from the endpoint.
    for (offset, d) in deposits.iter().enumerate() {
        if d.index != next_index + offset as u64 {
            return Err(verdict_l1::client::L1Error::Inconsistent(format!(
                "deposit {} follows deposit {} in the logs",
                d.index,
                next_index + offset as u64 - 1
            )));
        }
    }
    Ok((deposits, Some(to)))
}
