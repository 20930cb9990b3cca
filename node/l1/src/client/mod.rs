//! The L1 client: one code path for every Ethereum JSON-RPC endpoint (a real node,
//! anvil, the embedded chain), over HTTP or WebSocket, on alloy.
//!
//! - connection: `http(s)://` and `ws(s)://` URLs alike; transient transport errors
//!   (rate limits, 5xx, dropped connections) are retried with backoff; WebSockets
//!   reconnect.
//! - transactions: nonce, gas limit and EIP-1559 fees are filled by alloy from the
//!   endpoint; a transaction that would revert is refused before it is signed, with the
//!   contract's error decoded; receipts are awaited with a bounded timeout and a receipt
//!   with a failed status is an error.
//! - [`follow`]: log following that notices reorgs.

pub mod follow;
mod revert;
pub mod signer;

pub use revert::describe_revert;

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, Bytes, TxHash, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::client::{ClientBuilder, ConnectionConfig};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use alloy::transports::layers::RetryBackoffLayer;
use alloy::transports::{RpcError, TransportErrorKind};
use std::sync::Arc;
use std::time::Duration;

/// Errors of the L1 client.
#[derive(Debug, thiserror::Error)]
pub enum L1Error {
    /// The endpoint could not be reached or answered with a transport-level failure.
    #[error("L1 endpoint {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: RpcError<TransportErrorKind>,
    },
    /// A JSON-RPC call failed.
    #[error("L1 call {method} failed: {source}")]
    Rpc {
        method: &'static str,
        #[source]
        source: RpcError<TransportErrorKind>,
    },
    /// The transaction would revert (found when estimating its gas, before signing).
    #[error("{call} would revert: {reason}")]
    WouldRevert { call: String, reason: String },
    /// The transaction was mined but reverted.
    #[error("{call} reverted on L1 (transaction {tx_hash}, block {block:?})")]
    Reverted {
        call: String,
        tx_hash: TxHash,
        block: Option<u64>,
    },
    /// No receipt within the configured timeout; the transaction may still be mined.
    #[error("no receipt for {call} (transaction {tx_hash}) within {timeout:?}")]
    ReceiptTimeout {
        call: String,
        tx_hash: TxHash,
        timeout: Duration,
    },
    /// Waiting for the receipt failed for another reason.
    #[error("waiting for the receipt of {call}: {message}")]
    Receipt { call: String, message: String },
    /// A transaction was requested from a client without a signer.
    #[error("this L1 client has no signing key; pass --key")]
    NoSigner,
    /// The signing key could not be loaded.
    #[error("signing key: {0}")]
    Key(String),
    /// The endpoint is on another chain than the deployment.
    #[error("the deployment is on chain {deployment}, the endpoint {url} is chain {endpoint}")]
    WrongChain {
        deployment: u64,
        url: String,
        endpoint: u64,
    },
    /// Data from L1 (a log, a return value, calldata) does not decode as the ABI says.
    #[error("undecodable L1 data: {what}: {message}")]
    Undecodable { what: String, message: String },
    /// A number from L1 does not fit the type Verdict gives it.
    #[error("L1 value out of range: {0}")]
    OutOfRange(String),
    /// L1 lacks something it must hold (a transaction, an event, a contract address).
    #[error("missing on L1: {0}")]
    Missing(String),
    /// L1's answers do not fit together (a gap in a contiguous queue, a short read).
    #[error("inconsistent L1 answers: {0}")]
    Inconsistent(String),
    /// L1 reorganised deeper than a log follower remembers; it cannot recover alone.
    #[error(
        "L1 reorganised deeper than the {remembered} blocks this follower remembers (last delivered block {last}); restart following from an older block"
    )]
    DeepReorg { remembered: usize, last: u64 },
}

/// A `Result` with an [`L1Error`].
pub type Result<T, E = L1Error> = std::result::Result<T, E>;

/// How the client talks to its endpoint.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// How long to wait for a transaction's receipt before giving up.
    pub receipt_timeout: Duration,
    /// Retries of a request that failed transiently (rate limit, 5xx, lost connection).
    pub max_retries: u32,
    /// First backoff between retries; it grows with each retry.
    pub initial_backoff: Duration,
    /// How often the client polls for receipts and new blocks.
    pub poll_interval: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            receipt_timeout: Duration::from_secs(120),
            max_retries: 8,
            initial_backoff: Duration::from_millis(250),
            poll_interval: Duration::from_millis(500),
        }
    }
}

/// A connected L1 client, optionally able to sign. Cheap to clone.
#[derive(Clone, Debug)]
pub struct L1Client {
    provider: DynProvider,
    url: String,
    chain_id: u64,
    sender: Option<Address>,
    config: ClientConfig,
    send_lock: Arc<tokio::sync::Mutex<()>>,
}

impl L1Client {
    /// Connects to `url` (`http://`, `https://`, `ws://` or `wss://`) and reads its chain
    /// id. With a signer, transactions are signed locally and sent raw.
    pub async fn connect(
        url: &str,
        signer: Option<PrivateKeySigner>,
        config: ClientConfig,
    ) -> Result<Self> {
        let connect_error = |source| L1Error::Connect {
            url: url.to_string(),
            source,
        };
        let retry = RetryBackoffLayer::new_with_policy(
            config.max_retries,
            config.initial_backoff.as_millis() as u64,
            u64::MAX,
            alloy::transports::layers::OrRetryPolicyFn::new(
                alloy::transports::layers::RateLimitRetryPolicy::default(),
                is_transient,
            ),
        );
        let connection = ConnectionConfig::new()
            .with_max_retries(config.max_retries)
            .with_retry_interval(config.initial_backoff);
        let client = ClientBuilder::default()
            .layer(retry)
            .connect_with_config(url, connection)
            .await
            .map_err(connect_error)?;
        client.set_poll_interval(config.poll_interval);
        let sender = signer.as_ref().map(|s| s.address());
        // Nonces come from the endpoint's pending count at each send (not a local cache),
        // so a reorg, a dropped transaction or another process using the key never leaves
        // the client stuck on a nonce gap; `send_lock` keeps this process's own sends from
        // racing for one nonce.
        let builder = ProviderBuilder::default()
            .with_gas_estimation()
            .with_simple_nonce_management()
            .fetch_chain_id();
        let provider = match signer {
            Some(signer) => builder
                .wallet(EthereumWallet::from(signer))
                .connect_client(client)
                .erased(),
            None => builder.connect_client(client).erased(),
        };
        let chain_id = provider.get_chain_id().await.map_err(connect_error)?;
        Ok(Self {
            provider,
            url: url.to_string(),
            chain_id,
            sender,
            config,
            send_lock: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    /// The provider underneath, for reads this type does not wrap.
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// The endpoint URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The endpoint's chain id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The signer's address, when the client can sign.
    pub fn sender(&self) -> Option<Address> {
        self.sender
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The latest block number.
    pub async fn block_number(&self) -> Result<u64> {
        self.provider
            .get_block_number()
            .await
            .map_err(rpc("eth_blockNumber"))
    }

    /// The balance of `address` at the latest block.
    pub async fn balance(&self, address: Address) -> Result<U256> {
        self.provider
            .get_balance(address)
            .await
            .map_err(rpc("eth_getBalance"))
    }

    /// Calls `call` on `to` without a transaction (at the latest block).
    pub async fn read<C: SolCall>(&self, to: Address, call: C) -> Result<C::Return> {
        let request = TransactionRequest::default()
            .with_to(to)
            .with_input(Bytes::from(call.abi_encode()));
        // At `latest`, not alloy's default `pending`: a role acts on what L1 has mined,
        // and a node that executes its pool for `pending` (anvil, the embedded chain's
        // estimates) would otherwise show effects no block (and no log) holds yet.
        let output = self
            .provider
            .call(request)
            .block(alloy::eips::BlockId::latest())
            .await
            .map_err(revert_or_rpc(C::SIGNATURE, "eth_call"))?;
        C::abi_decode_returns(&output).map_err(|e| L1Error::Undecodable {
            what: format!("the return value of {}", C::SIGNATURE),
            message: e.to_string(),
        })
    }

    /// Sends `call` to `to` with `value` wei, waits for its receipt, and returns it. A
    /// call that would revert is refused before signing, with the decoded reason.
    pub async fn send<C: SolCall>(
        &self,
        to: Address,
        call: C,
        value: U256,
    ) -> Result<TransactionReceipt> {
        let request = TransactionRequest::default()
            .with_to(to)
            .with_input(Bytes::from(call.abi_encode()))
            .with_value(value);
        self.transact(C::SIGNATURE.to_string(), request).await
    }

    /// Deploys `creation_code` (bytecode followed by ABI-encoded constructor arguments)
    /// and returns the new contract's address and the receipt.
    pub async fn deploy(
        &self,
        name: &str,
        creation_code: Vec<u8>,
    ) -> Result<(Address, TransactionReceipt)> {
        let request = TransactionRequest::default().with_deploy_code(Bytes::from(creation_code));
        let receipt = self.transact(format!("deploy {name}"), request).await?;
        let address = receipt.contract_address.ok_or_else(|| {
            L1Error::Missing(format!(
                "the contract address in the receipt deploying {name}"
            ))
        })?;
        Ok((address, receipt))
    }

    /// Sends a plain transfer of `value` wei to `to`.
    pub async fn transfer(&self, to: Address, value: U256) -> Result<TransactionReceipt> {
        let request = TransactionRequest::default().with_to(to).with_value(value);
        self.transact(format!("transfer to {to}"), request).await
    }

    async fn transact(
        &self,
        call: String,
        request: TransactionRequest,
    ) -> Result<TransactionReceipt> {
        let from = self.sender.ok_or(L1Error::NoSigner)?;
        let request = request.with_from(from);
        let sending = self.send_lock.lock().await;
        let pending = self
            .provider
            .send_transaction(request)
            .await
            .map_err(revert_or_rpc(&call, "eth_sendRawTransaction"))?;
        drop(sending);
        let tx_hash = *pending.tx_hash();
        let receipt = self.wait_for_receipt(&call, tx_hash).await?;
        if !receipt.status() {
            return Err(L1Error::Reverted {
                call,
                tx_hash,
                block: receipt.block_number,
            });
        }
        Ok(receipt)
    }

    /// Polls for the receipt of `tx_hash` until the configured timeout. (alloy's block
    /// watcher is not used: it skips block numbers it has seen, so after an L1 reorg it
    /// would never see a transaction mined at a height it already passed.)
    async fn wait_for_receipt(&self, call: &str, tx_hash: TxHash) -> Result<TransactionReceipt> {
        let timeout = self.config.receipt_timeout;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let receipt = self
                .provider
                .get_transaction_receipt(tx_hash)
                .await
                .map_err(|e| L1Error::Receipt {
                    call: call.to_string(),
                    message: e.to_string(),
                })?;
            if let Some(receipt) = receipt {
                return Ok(receipt);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(L1Error::ReceiptTimeout {
                    call: call.to_string(),
                    tx_hash,
                    timeout,
                });
            }
            tokio::time::sleep(self.config.poll_interval).await;
        }
    }

    /// Mines `blocks` blocks on a development chain (anvil or the embedded chain), with
    /// `evm_mine`; for tests and demos that move the dispute window along.
    pub async fn dev_mine(&self, blocks: u64) -> Result<()> {
        for _ in 0..blocks {
            let _: serde_json::Value = self
                .provider
                .raw_request("evm_mine".into(), ())
                .await
                .map_err(rpc("evm_mine"))?;
        }
        Ok(())
    }
}

/// Maps an RPC error to [`L1Error::WouldRevert`] when the endpoint says the call reverts
/// (with revert data, decoded, or only a message saying so), else to [`L1Error::Rpc`].
fn revert_or_rpc(
    call: &str,
    method: &'static str,
) -> impl FnOnce(RpcError<TransportErrorKind>) -> L1Error {
    let call = call.to_string();
    move |source| {
        let reason = source
            .as_error_resp()
            .and_then(|resp| match resp.as_revert_data() {
                Some(data) => Some(describe_revert(&data)),
                None if resp.message.contains("revert") => Some(resp.message.to_string()),
                None => None,
            });
        match reason {
            Some(reason) => L1Error::WouldRevert { call, reason },
            None => L1Error::Rpc { method, source },
        }
    }
}

/// Maps an RPC error to [`L1Error::Rpc`] for `method`.
pub(crate) fn rpc(method: &'static str) -> impl FnOnce(RpcError<TransportErrorKind>) -> L1Error {
    move |source| L1Error::Rpc { method, source }
}

/// Transport failures worth retrying besides rate limits: a dropped or refused
/// connection and server-side 5xx answers.
fn is_transient(error: &RpcError<TransportErrorKind>) -> bool {
    match error {
        RpcError::Transport(kind) => match kind {
            TransportErrorKind::BackendGone | TransportErrorKind::PubsubUnavailable => true,
            TransportErrorKind::HttpError(http) => http.status >= 500,
            TransportErrorKind::Custom(inner) => {
                let text = inner.to_string().to_lowercase();
                text.contains("connect") || text.contains("timed out") || text.contains("reset")
            }
            _ => false,
        },
        _ => false,
    }
}
