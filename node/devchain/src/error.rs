//! The dev chain's errors, one enum per kind of failure.
//!
//! [`TxError`] messages copy geth's wording (and anvil's, which copies geth), because
//! libraries and scripts match on those strings: "nonce too low", "insufficient funds
//! for gas * price + value", and so on. The RPC layer turns each into code -32000.

use alloy::primitives::{Address, B256, Bytes, U256};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Opening, persisting or serving the chain failed.
#[derive(Debug, thiserror::Error)]
pub enum DevChainError {
    /// The configuration cannot describe a chain.
    #[error("invalid dev chain configuration: {0}")]
    Config(String),
    /// A dev account could not be derived from the mnemonic.
    #[error("deriving dev account {index} from the mnemonic: {source}")]
    Accounts {
        /// Derivation index `i` of `m/44'/60'/0'/0/i`.
        index: u32,
        /// Why.
        #[source]
        source: alloy::signers::local::LocalSignerError,
    },
    /// Reading or writing the block journal failed.
    #[error("journal {}: {source}", path.display())]
    Io {
        /// The journal file or data dir.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A journal record passed its checksum but cannot be replayed: the file was written
    /// by an incompatible version, or edited by hand.
    #[error("journal {}: record {index} at byte {offset}: {reason}", path.display())]
    Corrupt {
        /// The journal file.
        path: PathBuf,
        /// Record number, from 0.
        index: u64,
        /// Byte offset of the record's frame.
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// Another chain (another process, or one still open in this one) uses the journal.
    #[error("journal {} is in use by another dev chain", path.display())]
    Locked {
        /// The journal file.
        path: PathBuf,
    },
    /// The data dir holds a different chain than the configuration describes.
    #[error(
        "data dir {} holds chain id {found_chain_id} with genesis state root {found_root}, \
         but the configuration gives chain id {chain_id} with genesis state root {root}; \
         use another --data-dir or the original settings",
        path.display()
    )]
    GenesisMismatch {
        /// The data dir.
        path: PathBuf,
        /// Chain id in the journal.
        found_chain_id: u64,
        /// Genesis state root in the journal.
        found_root: B256,
        /// Chain id the configuration asks for.
        chain_id: u64,
        /// Genesis state root the configuration gives.
        root: B256,
    },
    /// An earlier journal write failed; the chain refuses further changes so memory never
    /// runs ahead of disk.
    #[error("the chain stopped accepting changes after a journal write failed: {0}")]
    Halted(String),
    /// The EVM failed in a way that is not the transaction's fault (a bug).
    #[error("EVM failure in block {block}: {reason}")]
    Evm {
        /// Number of the block being built.
        block: u64,
        /// revm's message.
        reason: String,
    },
    /// A transaction was refused; nothing changed.
    #[error(transparent)]
    Rejected(#[from] TxError),
    /// A dev method asked for a block timestamp that is not after the latest block's.
    #[error("timestamp {asked} is not after the latest block's timestamp {latest}")]
    Timestamp {
        /// The timestamp asked for.
        asked: u64,
        /// The latest block's timestamp.
        latest: u64,
    },
    /// The interval miner thread could not start.
    #[error("starting the interval miner thread: {0}")]
    Miner(#[source] std::io::Error),
    /// The JSON-RPC server could not start.
    #[error("starting the JSON-RPC server on {addr}: {reason}")]
    Serve {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        reason: String,
    },
}

/// A transaction was rejected; nothing changed. Messages follow geth.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// The bytes are not an EIP-2718 transaction.
    #[error("rlp: {0}")]
    Decode(String),
    /// EIP-4844 and EIP-7702 transactions are not accepted (no blobs, spec Cancun).
    #[error("transaction type not supported")]
    UnsupportedType,
    /// The signature does not recover to an address (or has a high `s`).
    #[error("invalid sender")]
    InvalidSender,
    /// Signed for another chain.
    #[error("invalid chain id for signer: have {have} want {want}")]
    ChainId {
        /// The transaction's chain id.
        have: u64,
        /// This chain's id.
        want: u64,
    },
    /// The sender has already used this nonce.
    #[error("nonce too low: next nonce {next}, tx nonce {tx}")]
    NonceTooLow {
        /// The sender's next nonce.
        next: u64,
        /// The transaction's nonce.
        tx: u64,
    },
    /// A nonce gap, refused in automine mode (the pool holds future nonces otherwise).
    #[error("nonce too high: next nonce {next}, tx nonce {tx}")]
    NonceTooHigh {
        /// The sender's next nonce.
        next: u64,
        /// The transaction's nonce.
        tx: u64,
    },
    /// The sender cannot pay `gas_limit * max_fee + value`.
    #[error("insufficient funds for gas * price + value: balance {balance}, tx cost {cost}")]
    InsufficientFunds {
        /// Sender balance.
        balance: U256,
        /// `gas_limit * max_fee_per_gas + value`.
        cost: U256,
    },
    /// The gas limit does not cover the intrinsic cost.
    #[error("intrinsic gas too low: have {have}, want {want}")]
    IntrinsicGas {
        /// The transaction's gas limit.
        have: u64,
        /// The intrinsic gas.
        want: u64,
    },
    /// `max_fee_per_gas` (or the legacy gas price) is below the next block's base fee.
    #[error(
        "max fee per gas less than block base fee: address {sender}, maxFeePerGas: {max_fee}, baseFee: {base_fee}"
    )]
    FeeCapTooLow {
        /// The sender.
        sender: Address,
        /// The transaction's fee cap.
        max_fee: u128,
        /// The next block's base fee.
        base_fee: u64,
    },
    /// `max_priority_fee_per_gas > max_fee_per_gas`.
    #[error(
        "max priority fee per gas higher than max fee per gas: maxPriorityFeePerGas: {tip}, maxFeePerGas: {max_fee}"
    )]
    TipAboveFeeCap {
        /// Priority fee.
        tip: u128,
        /// Fee cap.
        max_fee: u128,
    },
    /// The same transaction is already pending or mined.
    #[error("transaction already known")]
    AlreadyKnown,
    /// A pending transaction with this sender and nonce pays as much or more.
    #[error("replacement transaction underpriced")]
    ReplacementUnderpriced,
    /// The gas limit exceeds the block gas limit.
    #[error("exceeds block gas limit")]
    GasLimit,
    /// Init code above EIP-3860's limit.
    #[error("max initcode size exceeded: code size {size}, limit {limit}")]
    InitCodeTooLarge {
        /// Init code length.
        size: usize,
        /// 49152 bytes.
        limit: usize,
    },
    /// The sender has code (EIP-3607).
    #[error("sender not an eoa: address {0}")]
    SenderNotEoa(Address),
    /// revm rejected the transaction for a reason the pool did not check first.
    #[error("invalid transaction: {0}")]
    Evm(String),
}

/// `eth_call` / `eth_estimateGas` did not return normally.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// REVERT: geth answers code 3 with the revert bytes as `data`.
    #[error("execution reverted{}", reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default())]
    Reverted {
        /// The decoded `Error(string)` reason, if it is one.
        reason: Option<String>,
        /// Raw revert data.
        output: Bytes,
    },
    /// The EVM halted (out of gas, invalid opcode, ...).
    #[error("{0}")]
    Halted(String),
    /// The call could not start (fees, nonce, balance).
    #[error(transparent)]
    Invalid(#[from] TxError),
    /// No gas limit up to the cap lets the call succeed.
    #[error("gas required exceeds allowance ({0})")]
    GasRequiredExceedsAllowance(u64),
    /// The block asked for does not exist.
    #[error("header not found")]
    UnknownBlock,
    /// Request fields contradict each other (e.g. gasPrice with maxFeePerGas).
    #[error("{0}")]
    BadRequest(String),
    /// The pool's transactions could not be executed to give the pending state.
    #[error("executing the pending block: {0}")]
    Pending(String),
}
