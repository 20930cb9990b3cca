//! The embedded L1: a small anvil on revm, as a library and behind `verdict l1`, and
//! [`local_evm`], the contracts in an in-process revm for differential tests and gas. The
//! only crate of the node that compiles revm.
//!
//! [`DevChain::open`] builds a chain from a [`DevChainConfig`] (replaying its journal
//! when the data dir already holds one); [`DevChain::serve`] answers Ethereum JSON-RPC
//! (HTTP and WebSocket on one port) for wallets, libraries and our own L1 client. The
//! chain runs spec Cancun with chain id 31337 and anvil's ten funded dev accounts by
//! default; it mines every transaction at once (automine) or a block every
//! `block_time` from a pending pool.
//!
//! # Modules, one job each
//! - [`config`]: what a chain is opened with; [`error`]: what can go wrong.
//! - `state`: accounts, code and storage in memory, with undo entries that answer
//!   queries at older blocks and implement `evm_revert`.
//! - `evm`: revm set up for this chain; transactions and calls in, results out.
//! - `block`: sealing a block (roots, bloom, hash) and the EIP-1559 base fee.
//! - `txpool`: the pending pool and the transaction checks (geth's messages).
//! - `clock`: block timestamps and the dev-method time offset.
//! - `record` and `store`: the journal that makes the chain survive a kill.
//! - `chain`: every change, in the order compute, journal, publish; `query`: reads.
//! - `rpc`: the JSON-RPC server; `handle`: [`DevChain`], what callers hold.
//! - [`local_evm`]: no chain, just the EVM: deploy and call contracts in-process.
//!
//! # Durability
//!
//! With a data dir every change is appended to a journal and fsynced before anyone is
//! told about it: in automine mode `eth_sendRawTransaction` returns the hash only once
//! the block holding it is on disk. Opening replays the journal; a record torn by a kill
//! is cut off. See `store` for the format and the reasons.
//!
//! # Concurrency
//!
//! One mutex guards the chain; every RPC call holds it briefly (mining a block is a
//! revm run and an fsync). The interval miner is a plain thread, so the chain needs no
//! async runtime unless it serves RPC; it stops when the last [`DevChain`] handle drops.

pub mod config;
pub mod error;
pub mod local_evm;

mod block;
mod chain;
mod clock;
mod evm;
mod handle;
mod query;
mod record;
mod rpc;
mod state;
mod store;
mod txpool;

pub use config::{
    DEFAULT_ACCOUNT_BALANCE, DEFAULT_BASE_FEE, DEFAULT_CHAIN_ID, DEFAULT_GAS_LIMIT, DEV_MNEMONIC,
    DevAccounts, DevChainConfig, GenesisAccount,
};
pub use error::{CallError, DevChainError, TxError};
pub use handle::{BlockInfo, DevChain};
pub use rpc::DevChainServer;
