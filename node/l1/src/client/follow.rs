//! Following contract logs block by block, noticing reorgs instead of assuming them away.
//!
//! The follower remembers the hashes of the last blocks of each range it delivered. Before
//! reading further it checks that the newest remembered block is still canonical; if its
//! hash changed (or the chain got shorter), it walks back through the remembered blocks
//! to the newest one still canonical and reports a [`FollowEvent::Reorg`] from the block
//! after it: the consumer undoes what it derived from those blocks and the follower
//! delivers them again as they now are. A range is delivered only if its last blocks link
//! by parent hash and the hash of its last block was the same before and after its logs
//! were read, so a reorg during the read cannot slip a stale log through. The cursor ([`FollowCursor`]) is plain data: persist it
//! and resume after a restart. Transport errors are retried with capped backoff (the
//! client reconnects WebSockets), so a follower survives an endpoint restart.

use super::{L1Client, L1Error, Result, rpc};
use alloy::eips::BlockNumberOrTag;
use alloy::primitives::B256;
use alloy::providers::Provider;
use alloy::rpc::types::{Filter, Log};
use std::collections::VecDeque;
use std::time::Duration;

/// How many block hashes the follower remembers for finding a common ancestor.
const REMEMBERED_BLOCKS: usize = 256;
/// How many of each range's last blocks are remembered (near the head, ranges are short,
/// so every recent block is remembered; deep history is not reorganised).
const TAIL_BLOCKS: u64 = 8;

/// What the follower saw.
#[derive(Clone, Debug, PartialEq)]
pub enum FollowEvent {
    /// The matching logs of blocks `from..=to` (in chain order; possibly none).
    Logs { from: u64, to: u64, logs: Vec<Log> },
    /// Blocks from `from` on, delivered before, are no longer canonical: undo what was
    /// derived from them. Following continues at `from`.
    Reorg { from: u64 },
}

/// Where a follower stands: the next block to read and the hashes it has seen.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FollowCursor {
    /// The first block not delivered yet.
    pub next_block: u64,
    /// `(number, hash)` of recently delivered blocks, oldest first.
    pub recent: Vec<(u64, B256)>,
}

/// Follows the logs matching a filter.
#[derive(Debug)]
pub struct LogFollower {
    client: L1Client,
    filter: Filter,
    next_block: u64,
    recent: VecDeque<(u64, B256)>,
    confirmations: u64,
    max_range: u64,
}

impl LogFollower {
    /// Follows logs matching `filter` (its block range is ignored) from `start_block`.
    pub fn new(client: L1Client, filter: Filter, start_block: u64) -> Self {
        Self::resume(
            client,
            filter,
            FollowCursor {
                next_block: start_block,
                recent: Vec::new(),
            },
        )
    }

    /// Continues from a persisted cursor.
    pub fn resume(client: L1Client, filter: Filter, cursor: FollowCursor) -> Self {
        Self {
            client,
            filter,
            next_block: cursor.next_block,
            recent: cursor.recent.into_iter().collect(),
            confirmations: 0,
            max_range: 1000,
        }
    }

    /// Reads only blocks at least `confirmations` below the head (0: up to the head).
    pub fn with_confirmations(mut self, confirmations: u64) -> Self {
        self.confirmations = confirmations;
        self
    }

    /// Reads at most `blocks` blocks per `eth_getLogs` call (providers cap ranges).
    pub fn with_max_range(mut self, blocks: u64) -> Self {
        self.max_range = blocks.max(1);
        self
    }

    /// The cursor to persist.
    pub fn cursor(&self) -> FollowCursor {
        FollowCursor {
            next_block: self.next_block,
            recent: self.recent.iter().copied().collect(),
        }
    }

    /// Waits for the next event, polling at the client's interval and retrying transport
    /// errors with capped backoff. Only a reorg deeper than the follower remembers is
    /// returned as an error.
    pub async fn next(&mut self) -> Result<FollowEvent> {
        let poll = self.client.config().poll_interval;
        let mut backoff = self.client.config().initial_backoff;
        loop {
            match self.poll().await {
                Ok(Some(event)) => return Ok(event),
                Ok(None) => tokio::time::sleep(poll).await,
                Err(error @ L1Error::DeepReorg { .. }) => return Err(error),
                Err(error) => {
                    tracing::warn!(%error, "following L1 logs; retrying in {backoff:?}");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    /// One step: a reorg if one happened, else the next range of logs if a block is
    /// ready, else `None`.
    pub async fn poll(&mut self) -> Result<Option<FollowEvent>> {
        if let Some(reorg) = self.check_reorg().await? {
            return Ok(Some(reorg));
        }
        let head = self.client.block_number().await?;
        let ready = match head.checked_sub(self.confirmations) {
            Some(ready) if ready >= self.next_block => ready,
            _ => return Ok(None),
        };
        let from = self.next_block;
        let to = ready.min(from.saturating_add(self.max_range - 1));
        let Some(tail) = self
            .linked_tail(from.max(to.saturating_sub(TAIL_BLOCKS - 1)), to)
            .await?
        else {
            // The chain moved while the headers were read; try again.
            return Ok(None);
        };
        let before = tail.last().map(|&(_, hash)| hash).unwrap_or_default();
        let filter = self.filter.clone().from_block(from).to_block(to);
        let logs = self
            .client
            .provider()
            .get_logs(&filter)
            .await
            .map_err(rpc("eth_getLogs"))?;
        let after = self.block_hash(to).await?;
        let consistent = after == Some(before)
            && logs.iter().all(|log| {
                log.block_number.is_some_and(|n| (from..=to).contains(&n))
                    && (log.block_number != Some(to) || log.block_hash == Some(before))
            });
        if !consistent {
            // The chain moved under the read; the next poll sees the reorg, if any.
            return Ok(None);
        }
        self.recent.extend(tail);
        while self.recent.len() > REMEMBERED_BLOCKS {
            self.recent.pop_front();
        }
        self.next_block = to + 1;
        Ok(Some(FollowEvent::Logs { from, to, logs }))
    }

    async fn check_reorg(&mut self) -> Result<Option<FollowEvent>> {
        let Some(&(number, hash)) = self.recent.back() else {
            return Ok(None);
        };
        if self.block_hash(number).await? == Some(hash) {
            return Ok(None);
        }
        while let Some(&(number, hash)) = self.recent.back() {
            if self.block_hash(number).await? == Some(hash) {
                let from = number + 1;
                self.next_block = from;
                return Ok(Some(FollowEvent::Reorg { from }));
            }
            self.recent.pop_back();
        }
        Err(L1Error::DeepReorg {
            remembered: REMEMBERED_BLOCKS,
            last: number,
        })
    }

    /// `(number, hash)` of blocks `first..=last`, or `None` if they do not link by parent
    /// hash (a reorg happened while reading) or are not there yet.
    async fn linked_tail(&self, first: u64, last: u64) -> Result<Option<Vec<(u64, B256)>>> {
        let mut tail: Vec<(u64, B256)> = Vec::new();
        for number in first..=last {
            let Some(block) = self.block(number).await? else {
                return Ok(None);
            };
            if let Some(&(_, parent)) = tail.last()
                && block.header.parent_hash != parent
            {
                return Ok(None);
            }
            tail.push((number, block.header.hash));
        }
        Ok(Some(tail))
    }

    async fn block(&self, number: u64) -> Result<Option<alloy::rpc::types::Block>> {
        self.client
            .provider()
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .await
            .map_err(rpc("eth_getBlockByNumber"))
    }

    async fn block_hash(&self, number: u64) -> Result<Option<B256>> {
        Ok(self.block(number).await?.map(|b| b.header.hash))
    }
}
