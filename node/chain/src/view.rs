//! The chain's live views that readers share with its writer: the sealed head and the
//! live account state ([`ChainView`], written by the sequencer's builder or the full
//! node's apply loop) and the batches with their status ([`BatchView`], written by the
//! batcher or the full node's follower).

use std::sync::RwLock;
use std::sync::atomic::AtomicBool;

use alloy::primitives::{B256, U64};
use tokio::sync::broadcast;
use verdict_rpc::types::{BatchJson, Status};
use verdict_specs::l2::Address;
use verdict_specs::l2::account::Account;
use verdict_specs::l2::block::BlockHeader;
use verdict_specs::l2::transition::State;

use crate::store::BatchRecord;

/// What the chain announces.
#[derive(Clone, Debug)]
pub enum ChainEvent {
    /// A block was sealed and is durable.
    Sealed {
        /// Its header.
        header: BlockHeader,
        /// Records in it.
        records: usize,
        /// Deposits it consumed.
        deposits: usize,
    },
}

/// The part of the chain's state the RPC reads.
pub struct ChainView {
    /// The last sealed (and durable) header.
    pub sealed: RwLock<BlockHeader>,
    /// The live account state (includes the open block).
    pub state: RwLock<State>,
    /// Set once a write failed: the writer takes nothing more.
    pub failed: AtomicBool,
    /// Announcements of sealed blocks.
    pub events: broadcast::Sender<ChainEvent>,
}

impl ChainView {
    /// The last sealed header.
    pub fn sealed(&self) -> BlockHeader {
        *self.sealed.read().unwrap_or_else(|p| p.into_inner())
    }

    /// An account in the live state.
    pub fn account(&self, address: &Address) -> Account {
        self.state
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .account(address)
    }
}

/// The batches as the RPC sees them.
pub struct BatchView {
    batches: RwLock<Vec<BatchRecord>>,
    /// Posted and reverted batches.
    pub posted_events: broadcast::Sender<BatchRecord>,
    /// Finalized batches.
    pub finalized_events: broadcast::Sender<BatchRecord>,
    dispute_window: u64,
}

impl BatchView {
    /// A view over `batches` (as stored) for a chain with `dispute_window`.
    pub fn new(batches: Vec<BatchRecord>, dispute_window: u64) -> Self {
        Self {
            batches: RwLock::new(batches),
            posted_events: broadcast::channel(256).0,
            finalized_events: broadcast::channel(256).0,
            dispute_window,
        }
    }

    /// The batch at `index` (the current one: a reverted index may be reused).
    pub fn get(&self, index: u64) -> Option<BatchRecord> {
        self.read()
            .iter()
            .rev()
            .find(|b| b.header.index == index)
            .cloned()
    }

    /// The live batch holding block `number`, if it was posted.
    pub fn containing(&self, number: u64) -> Option<BatchRecord> {
        self.read()
            .iter()
            .rev()
            .find(|b| {
                b.status != Status::Reverted
                    && b.header.first_block <= number
                    && number <= b.header.last_block
            })
            .cloned()
    }

    /// The status of block `number`.
    pub fn block_status(&self, number: u64) -> Status {
        self.containing(number)
            .map(|b| b.status)
            .unwrap_or(Status::Pending)
    }

    /// JSON of a batch record.
    pub fn to_json(&self, b: &BatchRecord) -> BatchJson {
        let h = &b.header;
        BatchJson {
            index: U64::from(h.index),
            first_block: U64::from(h.first_block),
            last_block: U64::from(h.last_block),
            output_root: B256::from(h.output_root),
            data_hash: B256::from(h.data_hash),
            l1_transaction: b.l1_transaction,
            l1_block: U64::from(h.l1_block),
            window_end: U64::from(h.window_end(self.dispute_window)),
            status: b.status,
        }
    }

    /// Puts `record` in the view (replacing the one at its index) and announces it.
    pub fn upsert(&self, record: BatchRecord) {
        {
            let mut all = self.write();
            all.retain(|b| b.header.index != record.header.index);
            all.push(record.clone());
            all.sort_by_key(|b| b.header.index);
        }
        if record.status == Status::Finalized {
            let _ = self.finalized_events.send(record);
        } else {
            let _ = self.posted_events.send(record);
        }
    }

    /// Every batch in the view, by index.
    pub fn all(&self) -> Vec<BatchRecord> {
        self.read().clone()
    }

    /// The batches under a read lock, by index (a scan without a copy).
    pub fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<BatchRecord>> {
        self.batches.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<BatchRecord>> {
        self.batches.write().unwrap_or_else(|p| p.into_inner())
    }
}
