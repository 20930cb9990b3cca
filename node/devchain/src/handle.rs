//! [`DevChain`]: the handle callers hold. It owns the chain behind a mutex, tells
//! subscribers about new blocks, and runs the interval miner.

use super::block::MinedBlock;
use super::chain::{Chain, Submitted};
use super::config::DevChainConfig;
use super::error::DevChainError;
use super::rpc::{self, DevChainServer};
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::signers::local::PrivateKeySigner;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;
use tokio::sync::broadcast;

/// How many mined blocks a slow subscriber may fall behind before it skips some.
const BLOCK_EVENTS: usize = 1024;

/// A handle to a running dev chain; clones share it.
#[derive(Clone)]
pub struct DevChain {
    inner: Arc<Inner>,
}

struct Inner {
    chain: Mutex<Chain>,
    config: DevChainConfig,
    accounts: Vec<PrivateKeySigner>,
    /// Every mined block, in order, for `eth_subscribe`.
    blocks: broadcast::Sender<Arc<MinedBlock>>,
    /// The same, as summaries for library callers.
    block_infos: broadcast::Sender<BlockInfo>,
    /// Dropping this stops the interval miner; `None` while the chain automines.
    stop_miner: Mutex<Option<mpsc::Sender<()>>>,
}

impl std::fmt::Debug for DevChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevChain")
            .field("chain_id", &self.inner.config.chain_id)
            .field("data_dir", &self.inner.config.data_dir)
            .field("block_time", &self.inner.config.block_time)
            .finish_non_exhaustive()
    }
}

/// A block as [`DevChain`] reports it to library callers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockInfo {
    /// Block number.
    pub number: u64,
    /// Block hash.
    pub hash: B256,
    /// Unix seconds.
    pub timestamp: u64,
    /// Number of transactions.
    pub transactions: usize,
    /// Gas used by all of them.
    pub gas_used: u64,
}

impl BlockInfo {
    fn of(block: &MinedBlock) -> Self {
        Self {
            number: block.number(),
            hash: block.hash,
            timestamp: block.header.timestamp,
            transactions: block.txs.len(),
            gas_used: block.header.gas_used,
        }
    }
}

impl DevChain {
    /// Opens a chain: derives the dev accounts, builds genesis, replays the journal in
    /// `config.data_dir` if there is one, and starts the interval miner if
    /// `config.block_time` is set. A data dir serves one chain at a time: opening one
    /// that another chain holds waits up to a second, then fails with
    /// [`DevChainError::Locked`].
    pub fn open(config: DevChainConfig) -> Result<Self, DevChainError> {
        if config.block_time.is_some_and(|period| period.is_zero()) {
            return Err(DevChainError::Config(
                "block time must be positive".to_owned(),
            ));
        }
        let accounts = config.accounts.derive()?;
        let chain = Chain::open(&config, &accounts)?;
        let (blocks, _) = broadcast::channel(BLOCK_EVENTS);
        let (block_infos, _) = broadcast::channel(BLOCK_EVENTS);
        let (stop_miner, stopped) = match config.block_time {
            Some(_) => {
                let (sender, receiver) = mpsc::channel();
                (Some(sender), Some(receiver))
            }
            None => (None, None),
        };
        let inner = Arc::new(Inner {
            chain: Mutex::new(chain),
            config,
            accounts,
            blocks,
            block_infos,
            stop_miner: Mutex::new(stop_miner),
        });
        if let (Some(period), Some(stopped)) = (inner.config.block_time, stopped) {
            spawn_miner(Arc::downgrade(&inner), period, stopped)?;
        }
        Ok(Self { inner })
    }

    /// Switches an automining chain to a block every `period`: from then on transactions
    /// wait in the pool for the next block. The devnet sets its contracts up under
    /// automine (each set-up transaction mined the moment it is sent, so set-up takes no
    /// block times) and then runs on the interval.
    pub fn start_interval_mining(&self, period: Duration) -> Result<(), DevChainError> {
        if period.is_zero() {
            return Err(DevChainError::Config(
                "block time must be positive".to_owned(),
            ));
        }
        let mut stop = self
            .inner
            .stop_miner
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if stop.is_some() {
            return Err(DevChainError::Config(
                "the chain already mines on an interval".to_owned(),
            ));
        }
        let (sender, receiver) = mpsc::channel();
        self.lock().set_automine(false);
        spawn_miner(Arc::downgrade(&self.inner), period, receiver)?;
        *stop = Some(sender);
        Ok(())
    }

    /// Serves JSON-RPC over HTTP and WebSocket on `addr` (port 0 picks a free port).
    /// Returns the bound address and the server handle; the server runs until the
    /// handle is stopped or dropped. Needs a tokio runtime.
    pub async fn serve(
        &self,
        addr: SocketAddr,
    ) -> Result<(SocketAddr, DevChainServer), DevChainError> {
        rpc::serve(self.clone(), addr).await
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.inner.config.chain_id
    }

    /// The configuration the chain was opened with.
    pub fn config(&self) -> &DevChainConfig {
        &self.inner.config
    }

    /// The dev accounts' keys, in derivation order.
    pub fn accounts(&self) -> &[PrivateKeySigner] {
        &self.inner.accounts
    }

    /// The mnemonic the dev accounts come from.
    pub fn mnemonic(&self) -> &str {
        &self.inner.config.accounts.mnemonic
    }

    /// The data dir, if the chain is persistent.
    pub fn data_dir(&self) -> Option<&Path> {
        self.inner.config.data_dir.as_deref()
    }

    /// The latest block.
    pub fn latest_block(&self) -> BlockInfo {
        BlockInfo::of(self.lock().latest())
    }

    /// Submits a signed EIP-2718 transaction. In automine mode it returns once the block
    /// holding it is mined (and durable); otherwise once it is pooled.
    pub fn send_raw_transaction(&self, raw: &[u8]) -> Result<B256, DevChainError> {
        let mut chain = self.lock();
        let (hash, submitted) = chain.submit(raw)?;
        if let Submitted::Mined(block) = submitted {
            self.publish(block);
        }
        drop(chain);
        Ok(hash)
    }

    /// Mines one block now (from the pool in interval mode, empty in automine mode).
    pub fn mine(&self) -> Result<BlockInfo, DevChainError> {
        self.mine_at(None)
    }

    /// Mines one block, stamped `timestamp` if given (it must follow the latest block).
    pub fn mine_at(&self, timestamp: Option<u64>) -> Result<BlockInfo, DevChainError> {
        let mut chain = self.lock();
        let block = chain.mine(timestamp)?;
        let info = BlockInfo::of(&block);
        // Published under the lock, so subscribers see blocks in order.
        self.publish(block);
        drop(chain);
        Ok(info)
    }

    /// `anvil_setBalance`.
    pub fn set_balance(&self, address: Address, balance: U256) -> Result<(), DevChainError> {
        let mut chain = self.lock();
        let change = chain.account_edit(address, Some(balance), None, None, None);
        chain.edit(vec![change])
    }

    /// `anvil_setNonce`.
    pub fn set_nonce(&self, address: Address, nonce: u64) -> Result<(), DevChainError> {
        let mut chain = self.lock();
        let change = chain.account_edit(address, None, Some(nonce), None, None);
        chain.edit(vec![change])
    }

    /// `anvil_setCode` (empty code removes it).
    pub fn set_code(&self, address: Address, code: Bytes) -> Result<(), DevChainError> {
        let mut chain = self.lock();
        let change = chain.account_edit(address, None, None, Some(code), None);
        chain.edit(vec![change])
    }

    /// `anvil_setStorageAt`.
    pub fn set_storage_at(
        &self,
        address: Address,
        slot: U256,
        value: U256,
    ) -> Result<(), DevChainError> {
        let mut chain = self.lock();
        let change = chain.account_edit(address, None, None, None, Some((slot, value)));
        chain.edit(vec![change])
    }

    /// `evm_increaseTime`: moves the chain's clock forward; returns the total offset
    /// from the wall clock, in seconds.
    pub fn increase_time(&self, seconds: u64) -> Result<i64, DevChainError> {
        let mut chain = self.lock();
        let mut clock = chain.clock;
        let offset = clock.increase(seconds);
        chain.set_clock(clock)?;
        Ok(offset)
    }

    /// `evm_setNextBlockTimestamp`: the next block gets exactly `timestamp`, which must
    /// be after the latest block's.
    pub fn set_next_block_timestamp(&self, timestamp: u64) -> Result<(), DevChainError> {
        let mut chain = self.lock();
        let latest = chain.latest().header.timestamp;
        if timestamp <= latest {
            return Err(DevChainError::Timestamp {
                asked: timestamp,
                latest,
            });
        }
        let mut clock = chain.clock;
        clock.next_timestamp = Some(timestamp);
        chain.set_clock(clock)
    }

    /// `evm_snapshot`: remembers the current chain; returns the id for [`Self::revert`].
    pub fn snapshot(&self) -> Result<u64, DevChainError> {
        self.lock().snapshot()
    }

    /// `evm_revert`: returns to snapshot `id`, dropping the blocks mined since and
    /// undoing every change. The snapshot and any taken after it are used up. `false`
    /// if there is no such snapshot.
    pub fn revert(&self, id: u64) -> Result<bool, DevChainError> {
        self.lock().revert(id)
    }

    /// A receiver of every block mined from now on.
    pub fn subscribe_blocks(&self) -> broadcast::Receiver<BlockInfo> {
        self.inner.block_infos.subscribe()
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Chain> {
        // Every change is computed before it is applied, so a panic while the lock was
        // held cannot have left a half-applied change behind.
        self.inner
            .chain
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Tells subscribers about a new block.
    fn publish(&self, block: Arc<MinedBlock>) {
        // No receivers is fine.
        let _ = self.inner.block_infos.send(BlockInfo::of(&block));
        let _ = self.inner.blocks.send(block);
    }

    pub(super) fn block_events(&self) -> broadcast::Receiver<Arc<MinedBlock>> {
        self.inner.blocks.subscribe()
    }
}

/// Mines a block every `period` until `stop` is dropped or the chain is gone.
fn spawn_miner(
    chain: Weak<Inner>,
    period: Duration,
    stop: mpsc::Receiver<()>,
) -> Result<(), DevChainError> {
    std::thread::Builder::new()
        .name("devchain-miner".to_owned())
        .spawn(move || {
            loop {
                match stop.recv_timeout(period) {
                    Err(RecvTimeoutError::Timeout) => {}
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                }
                let Some(inner) = chain.upgrade() else {
                    return;
                };
                let chain = DevChain { inner };
                if let Err(error) = chain.mine() {
                    tracing::error!(%error, "interval mining failed");
                }
            }
        })
        .map(|_| ())
        .map_err(DevChainError::Miner)
}
