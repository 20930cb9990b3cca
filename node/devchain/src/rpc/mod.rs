//! The JSON-RPC server: jsonrpsee, HTTP and WebSocket on one port.
//!
//! Methods are registered by hand on an [`RpcModule`] rather than through the proc
//! macros: Ethereum methods take optional trailing parameters and answer with geth's
//! error codes, and a hand-written registration shows both at a glance.
//! - `eth`: the standard `eth_*`, `net_*` and `web3_*` methods;
//! - `logs`: `eth_getLogs` and the polling filters (`eth_newFilter`, ...);
//! - `dev`: anvil's `evm_*` / `anvil_*` methods, with `hardhat_*` aliases;
//! - `pubsub`: `eth_subscribe` for `newHeads` and `logs` (WebSocket only).

mod convert;
mod dev;
mod error;
mod eth;
mod logs;
mod params;
mod pubsub;

use super::DevChain;
use super::error::DevChainError;
use alloy::primitives::keccak256;
use jsonrpsee::RpcModule;
use jsonrpsee::server::{IdProvider, Server, ServerConfig, ServerHandle};
use jsonrpsee::types::SubscriptionId;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Large `eth_getLogs` answers and full blocks exceed jsonrpsee's 10 MB default.
const MAX_RESPONSE_BYTES: u32 = 100 * 1024 * 1024;

/// What every method handler sees.
pub(crate) struct RpcContext {
    pub(crate) chain: DevChain,
    /// Polling filters of this server (`eth_newFilter` and friends).
    filters: Mutex<logs::Filters>,
}

impl RpcContext {
    fn filters(&self) -> MutexGuard<'_, logs::Filters> {
        self.filters.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running JSON-RPC server. Dropping it stops the server.
#[derive(Debug)]
pub struct DevChainServer {
    handle: ServerHandle,
    addr: SocketAddr,
}

impl DevChainServer {
    /// The address the server is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://host:port`.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `ws://host:port`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Stops the server and waits until it has stopped; it then no longer holds the
    /// chain, so once the caller drops its own handles the data dir can be reopened.
    pub async fn stop(self) {
        // Already stopped is fine.
        let _ = self.handle.stop();
        self.handle.stopped().await;
    }
}

pub(crate) async fn serve(
    chain: DevChain,
    addr: SocketAddr,
) -> Result<(SocketAddr, DevChainServer), DevChainError> {
    let failed = |reason: String| DevChainError::Serve { addr, reason };
    let module = module(chain).map_err(|error| failed(error.to_string()))?;
    let config = ServerConfig::builder()
        .max_response_body_size(MAX_RESPONSE_BYTES)
        .set_id_provider(HexIdProvider::new())
        .build();
    let server = Server::builder()
        .set_config(config)
        .build(addr)
        .await
        .map_err(|error| failed(error.to_string()))?;
    let bound = server
        .local_addr()
        .map_err(|error| failed(error.to_string()))?;
    let handle = server.start(module);
    tracing::info!(addr = %bound, "dev chain JSON-RPC listening (HTTP and WebSocket)");
    Ok((
        bound,
        DevChainServer {
            handle,
            addr: bound,
        },
    ))
}

fn module(
    chain: DevChain,
) -> Result<RpcModule<RpcContext>, jsonrpsee::server::RegisterMethodError> {
    let mut module = RpcModule::new(RpcContext {
        chain,
        filters: Mutex::new(logs::Filters::default()),
    });
    eth::register(&mut module)?;
    logs::register(&mut module)?;
    dev::register(&mut module)?;
    pubsub::register(&mut module)?;
    Ok(module)
}

/// Subscription ids in geth's form: `0x` and 32 hex digits, unpredictable across
/// servers (salted with the start time) and never repeated within one.
#[derive(Debug)]
struct HexIdProvider {
    salt: u128,
    next: AtomicU64,
}

impl HexIdProvider {
    fn new() -> Self {
        let salt = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or_default();
        Self {
            salt,
            next: AtomicU64::new(0),
        }
    }
}

impl IdProvider for HexIdProvider {
    fn next_id(&self) -> SubscriptionId<'static> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut seed = [0u8; 24];
        seed[..16].copy_from_slice(&self.salt.to_be_bytes());
        seed[16..].copy_from_slice(&n.to_be_bytes());
        let digest = keccak256(seed);
        SubscriptionId::Str(format!("0x{}", alloy::hex::encode(&digest[..16])).into())
    }
}
