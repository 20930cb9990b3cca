//! Serving the `verdict` API: one port for JSON-RPC over HTTP and WebSocket, `rpc.discover`,
//! `GET /metrics`, `GET /health`, and CORS for browsers.
//!
//! The caller builds the methods (`VerdictApiServer::into_rpc` of its implementation, merged
//! with anything else it serves) and picks the metrics backend; [`serve`] adds
//! `rpc.discover`, applies the limits of [`RpcServerConfig`] and starts listening. The limits
//! and the answers jsonrpsee gives when they are hit are listed in `docs/rpc.md`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, LazyLock};

use jsonrpsee::RpcModule;
use jsonrpsee::server::{
    BatchRequestConfig, Methods, RegisterMethodError, ServerBuilder, ServerConfig, ServerHandle,
};

use super::http::HttpRoutesLayer;

/// Renders the current metrics in the Prometheus text format; the RPC server answers
/// `GET /metrics` with it. Cheap to clone; [`crate::metrics::install`] makes one.
pub type MetricsRender = Arc<dyn Fn() -> String + Send + Sync>;

/// The name of the OpenRPC discovery method.
pub const DISCOVER_METHOD: &str = "rpc.discover";

/// The OpenRPC document of the API (`specs/openrpc.json`), as served by `rpc.discover`.
pub const OPENRPC_JSON: &str = include_str!("../../../specs/openrpc.json");

/// [`OPENRPC_JSON`], parsed.
pub fn openrpc_document() -> &'static serde_json::Value {
    static DOCUMENT: LazyLock<serde_json::Value> = LazyLock::new(|| {
        serde_json::from_str(OPENRPC_JSON).expect(
            "specs/openrpc.json is valid JSON (checked by node/rpc/tests/integration/rpc_server.rs)",
        )
    });
    &DOCUMENT
}

/// Where the RPC server listens and the limits it enforces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcServerConfig {
    /// The address for HTTP and WebSocket alike (port 0 picks a free port).
    pub addr: SocketAddr,
    /// Largest request body (HTTP) or message (WebSocket), in bytes.
    pub max_request_bytes: u32,
    /// Largest response, in bytes; a larger answer becomes an error.
    pub max_response_bytes: u32,
    /// Most connections at once: HTTP requests in flight plus open WebSockets.
    pub max_connections: u32,
    /// Most calls in one JSON-RPC batch.
    pub max_batch_calls: u32,
    /// Most subscriptions one WebSocket connection may hold.
    pub max_subscriptions_per_connection: u32,
}

impl RpcServerConfig {
    /// The default port.
    pub const DEFAULT_PORT: u16 = 8645;
}

impl Default for RpcServerConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), Self::DEFAULT_PORT),
            max_request_bytes: 1 << 20,
            max_response_bytes: 16 << 20,
            max_connections: 512,
            max_batch_calls: 100,
            max_subscriptions_per_connection: 64,
        }
    }
}

/// Why the server did not start.
#[derive(Debug, thiserror::Error)]
pub enum RpcServerError {
    /// The address could not be bound (in use, not local, no permission).
    #[error("binding the RPC server to {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The socket error.
        source: std::io::Error,
    },
    /// The methods given already hold a method the server registers itself.
    #[error("registering {DISCOVER_METHOD}: {0}")]
    Register(#[from] RegisterMethodError),
}

/// A running RPC server; dropping it (or [`RpcServer::stop`]) stops it.
#[derive(Debug)]
pub struct RpcServer {
    /// The address it listens on (the real port when the config asked for port 0).
    pub local_addr: SocketAddr,
    handle: ServerHandle,
}

impl RpcServer {
    /// Asks the server to stop taking connections and close the open ones; returns at once.
    /// Stopping a stopped server does nothing.
    pub fn stop(&self) {
        // The only error is "already stopped", which is what the caller wants.
        let _ = self.handle.stop();
    }

    /// Waits until the server has stopped (after [`RpcServer::stop`]).
    pub async fn stopped(self) {
        self.handle.stopped().await
    }

    /// The URL for JSON-RPC over HTTP, e.g. `http://127.0.0.1:8645`.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.reachable_addr())
    }

    /// The URL for JSON-RPC over WebSocket, e.g. `ws://127.0.0.1:8645`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.reachable_addr())
    }

    /// `local_addr`, with a wildcard IP (listening on every interface) replaced by loopback,
    /// so the URLs can be dialled.
    fn reachable_addr(&self) -> SocketAddr {
        let ip = match self.local_addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        SocketAddr::new(ip, self.local_addr.port())
    }
}

/// Starts serving `methods` plus `rpc.discover` on `config.addr`, with `GET /metrics`
/// answered by `metrics` (404 when `None`) and `GET /health` by `ok`. Must be called inside
/// a tokio runtime; the server runs on it until stopped or dropped.
pub async fn serve(
    config: &RpcServerConfig,
    methods: impl Into<Methods>,
    metrics: Option<MetricsRender>,
) -> Result<RpcServer, RpcServerError> {
    let mut methods: Methods = methods.into();
    let mut discover = RpcModule::new(());
    discover.register_method(DISCOVER_METHOD, |_, _, _| openrpc_document().clone())?;
    methods.merge(discover)?;

    let server_config = ServerConfig::builder()
        .max_request_body_size(config.max_request_bytes)
        .max_response_body_size(config.max_response_bytes)
        .max_connections(config.max_connections)
        .max_subscriptions_per_connection(config.max_subscriptions_per_connection)
        .set_batch_request_config(BatchRequestConfig::Limit(config.max_batch_calls))
        .build();
    let bind_error = |source| RpcServerError::Bind {
        addr: config.addr,
        source,
    };
    let server = ServerBuilder::with_config(server_config)
        .set_http_middleware(tower::ServiceBuilder::new().layer(HttpRoutesLayer::new(metrics)))
        .build(config.addr)
        .await
        .map_err(bind_error)?;
    let local_addr = server.local_addr().map_err(bind_error)?;
    let handle = server.start(methods);
    tracing::info!(%local_addr, "RPC server listening (HTTP and WebSocket)");
    Ok(RpcServer { local_addr, handle })
}
