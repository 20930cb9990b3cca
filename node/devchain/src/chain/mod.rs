//! The chain itself: state, blocks, pool, clock and journal, and every operation that
//! changes them. Reads live in [`query`](super::query).
//!
//! Each change follows one order: compute everything (execute, diff, seal), write the
//! journal record, then make it visible. If the journal write fails, the state changes
//! already applied for the state root are rolled back and the chain halts, so memory
//! never holds what disk does not.
//!
//! - this file: the chain's parts, opening (genesis and journal replay), accessors;
//! - `mine`: transactions in, blocks out (automine and the pool);
//! - `dev`: what the dev methods change directly: accounts, clock, snapshots.

mod dev;
mod mine;

use super::block::{self, BlockParams, MinedBlock};
use super::clock::{Clock, unix_now};
use super::config::DevChainConfig;
use super::error::DevChainError;
use super::record::Record;
use super::state::{AccountChange, HistoryEntry, StateView, WorldState};
use super::store::Journal;
use super::txpool::TxPool;
use alloy::primitives::{Address, B256, U256};
use alloy::signers::local::PrivateKeySigner;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// What `evm_snapshot` remembers: enough to roll back, not a copy of the state.
#[derive(Clone, Copy, Debug)]
struct Snapshot {
    height: u64,
    history_len: usize,
    clock: Clock,
}

/// The whole chain. Not thread-safe by itself: [`DevChain`](super::DevChain) wraps it
/// in a mutex.
#[derive(Debug)]
pub(crate) struct Chain {
    pub(crate) chain_id: u64,
    pub(crate) gas_limit: u64,
    automine: bool,
    pub(crate) state: WorldState,
    /// Undo entries of every change after genesis, oldest first.
    pub(crate) history: Vec<HistoryEntry>,
    /// Blocks by number; never empty (genesis).
    pub(crate) blocks: Vec<Arc<MinedBlock>>,
    pub(crate) block_hashes: Vec<B256>,
    pub(crate) by_hash: HashMap<B256, u64>,
    /// Mined transactions: block number and index.
    pub(crate) tx_index: HashMap<B256, (u64, usize)>,
    pub(crate) pool: TxPool,
    pub(crate) clock: Clock,
    snapshots: BTreeMap<u64, Snapshot>,
    next_snapshot_id: u64,
    journal: Option<Journal>,
    halted: Option<String>,
}

/// What happened to a submitted transaction.
#[derive(Debug)]
pub(crate) enum Submitted {
    /// Automine: mined into this block.
    Mined(Arc<MinedBlock>),
    /// Interval mining: waiting in the pool.
    Pending,
}

impl Chain {
    /// Turns automine on (each accepted transaction mined at once) or off (transactions
    /// wait in the pool for the next mined block).
    pub(crate) fn set_automine(&mut self, on: bool) {
        self.automine = on;
    }

    /// Builds genesis from the configuration, then replays the journal if there is one.
    pub(crate) fn open(
        config: &DevChainConfig,
        accounts: &[PrivateKeySigner],
    ) -> Result<Self, DevChainError> {
        if config.gas_limit < 21_000 {
            return Err(DevChainError::Config(format!(
                "block gas limit {} is below the cost of a transfer",
                config.gas_limit
            )));
        }
        let mut state = WorldState::default();
        state.apply(&genesis_changes(config, accounts));
        let genesis_root = state.state_root();
        let mut chain = Self {
            chain_id: config.chain_id,
            gas_limit: config.gas_limit,
            automine: config.block_time.is_none(),
            state,
            history: Vec::new(),
            blocks: Vec::new(),
            block_hashes: Vec::new(),
            by_hash: HashMap::new(),
            tx_index: HashMap::new(),
            pool: TxPool::default(),
            clock: Clock::default(),
            snapshots: BTreeMap::new(),
            next_snapshot_id: 1,
            journal: None,
            halted: None,
        };
        let Some(dir) = &config.data_dir else {
            let genesis =
                block::genesis(genesis_root, unix_now(), config.gas_limit, config.base_fee);
            chain.push_block(genesis);
            return Ok(chain);
        };
        let (journal, records) = Journal::open(dir)?;
        let path = journal.path().to_path_buf();
        let mut records = records.into_iter();
        match records.next() {
            None => {
                let genesis =
                    block::genesis(genesis_root, unix_now(), config.gas_limit, config.base_fee);
                chain.journal = Some(journal);
                chain.append(&Record::Genesis {
                    chain_id: config.chain_id,
                    header: genesis.header.clone(),
                })?;
                chain.push_block(genesis);
            }
            Some(Record::Genesis { chain_id, header }) => {
                if chain_id != config.chain_id || header.state_root != genesis_root {
                    return Err(DevChainError::GenesisMismatch {
                        path: dir.clone(),
                        found_chain_id: chain_id,
                        found_root: header.state_root,
                        chain_id: config.chain_id,
                        root: genesis_root,
                    });
                }
                chain.push_block(block::restore(header, Vec::new()));
                for (index, record) in records.enumerate() {
                    let index = index as u64 + 1;
                    chain
                        .replay(record)
                        .map_err(|reason| DevChainError::Corrupt {
                            path: path.clone(),
                            index,
                            offset: 0,
                            reason,
                        })?;
                }
                chain.journal = Some(journal);
                tracing::info!(
                    path = %path.display(),
                    height = chain.height(),
                    "dev chain restored from its journal"
                );
            }
            Some(_) => {
                return Err(DevChainError::Corrupt {
                    path,
                    index: 0,
                    offset: 0,
                    reason: "the first record is not the genesis record".to_owned(),
                });
            }
        }
        Ok(chain)
    }

    /// Applies one journal record during opening.
    fn replay(&mut self, record: Record) -> Result<(), String> {
        match record {
            Record::Genesis { .. } => Err("a second genesis record".to_owned()),
            Record::Block(record) => {
                let block = record.to_block()?;
                if block.header.parent_hash != self.latest().hash
                    || block.number() != self.height() + 1
                {
                    return Err(format!(
                        "block {} does not extend block {}",
                        block.number(),
                        self.height()
                    ));
                }
                let undo = self.state.apply(&record.changes);
                self.history.push(HistoryEntry {
                    height: block.number(),
                    undo,
                });
                self.clock = record.clock;
                self.push_block(block);
                Ok(())
            }
            Record::Edit { changes } => {
                self.apply_edit(&changes);
                Ok(())
            }
            Record::Clock(clock) => {
                self.clock = clock;
                Ok(())
            }
            Record::Snapshot { id } => {
                self.take_snapshot(id);
                Ok(())
            }
            Record::Revert { id } => {
                if self.revert_to(id) {
                    Ok(())
                } else {
                    Err(format!("revert to unknown snapshot {id}"))
                }
            }
        }
    }

    pub(crate) fn height(&self) -> u64 {
        self.blocks.len() as u64 - 1
    }

    pub(crate) fn latest(&self) -> &Arc<MinedBlock> {
        self.blocks
            .last()
            .expect("the chain always holds its genesis block")
    }

    /// The state as of block `number` (must exist).
    pub(crate) fn view_at(&self, number: u64) -> StateView<'_> {
        let first_newer = self.history.partition_point(|entry| entry.height <= number);
        StateView::new(
            &self.state,
            &self.history[first_newer..],
            &self.block_hashes,
        )
    }

    /// The state the next block starts from.
    pub(crate) fn latest_view(&self) -> StateView<'_> {
        StateView::new(&self.state, &[], &self.block_hashes)
    }

    /// Parameters of the block that would be mined next (timestamp from `timestamp`, or
    /// the clock).
    pub(crate) fn next_block_params(&self, timestamp: Option<u64>) -> BlockParams {
        let parent = self.latest();
        BlockParams {
            parent_hash: parent.hash,
            number: parent.number() + 1,
            timestamp: timestamp.unwrap_or_else(|| {
                self.clock
                    .next_block_timestamp(parent.header.timestamp, unix_now())
            }),
            gas_limit: self.gas_limit,
            base_fee: block::next_base_fee(&parent.header),
        }
    }

    pub(crate) fn nonce(&self, address: &Address) -> u64 {
        self.state
            .account(address)
            .map_or(0, |account| account.nonce)
    }

    fn push_block(&mut self, block: MinedBlock) -> Arc<MinedBlock> {
        let number = block.number();
        for (index, tx) in block.txs.iter().enumerate() {
            self.tx_index.insert(tx.hash(), (number, index));
        }
        self.by_hash.insert(block.hash, number);
        self.block_hashes.push(block.hash);
        let block = Arc::new(block);
        self.blocks.push(Arc::clone(&block));
        block
    }

    fn ensure_running(&self) -> Result<(), DevChainError> {
        match &self.halted {
            Some(reason) => Err(DevChainError::Halted(reason.clone())),
            None => Ok(()),
        }
    }

    /// Journals `record` (if the chain has a data dir); a failure halts the chain.
    fn append(&mut self, record: &Record) -> Result<(), DevChainError> {
        let Some(journal) = &mut self.journal else {
            return Ok(());
        };
        journal.append(record).inspect_err(|error| {
            tracing::error!(%error, "journal write failed; the dev chain stops accepting changes");
            self.halted = Some(error.to_string());
        })
    }
}

/// Genesis allocations: the dev accounts, then `genesis_alloc` (which wins).
fn genesis_changes(config: &DevChainConfig, accounts: &[PrivateKeySigner]) -> Vec<AccountChange> {
    let mut alloc: BTreeMap<Address, AccountChange> = accounts
        .iter()
        .map(|signer| {
            let address = signer.address();
            let change = AccountChange::Updated {
                address,
                balance: config.accounts.balance,
                nonce: 0,
                code: None,
                clear_storage: false,
                storage: Vec::new(),
            };
            (address, change)
        })
        .collect();
    for (address, account) in &config.genesis_alloc {
        alloc.insert(
            *address,
            AccountChange::Updated {
                address: *address,
                balance: account.balance,
                nonce: account.nonce,
                code: (!account.code.is_empty()).then(|| account.code.clone()),
                clear_storage: false,
                storage: account
                    .storage
                    .iter()
                    .map(|(slot, value)| {
                        (U256::from_be_bytes(slot.0), U256::from_be_bytes(value.0))
                    })
                    .collect(),
            },
        );
    }
    alloc.into_values().collect()
}
