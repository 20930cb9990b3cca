//! The JSON-RPC API every Verdict node serves (namespace `verdict`).
//!
//! - [`types`]: the JSON shapes, with Ethereum's hex conventions (quantities as `0x`-hex
//!   without leading zeros, hashes and addresses as `0x`-hex of fixed length).
//! - [`api`]: the method list as a jsonrpsee trait; the sequencer (and later the full
//!   node) implement `VerdictApiServer`, clients use `VerdictApiClient`.
//! - [`error`]: the stable error codes (documented in `docs/rpc.md`).
//! - [`server`]: serving it (HTTP and WebSocket on one port, limits, `rpc.discover`), with
//!   [`http`]: `GET /metrics`, `GET /health` and CORS on the same port.
//!
//! The OpenRPC document describing all of it is `specs/openrpc.json`, served by
//! `rpc.discover`.

pub mod api;
pub mod error;
pub mod http;
pub mod server;
pub mod signing;
pub mod types;
pub mod verify;

pub use api::{VerdictApiClient, VerdictApiServer};
pub use error::{ErrorCode, RpcError};
pub use server::{MetricsRender, RpcServer, RpcServerConfig, RpcServerError, serve};
