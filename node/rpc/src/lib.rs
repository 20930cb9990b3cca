//! The JSON-RPC API every Verdict node serves (namespace `verdict`), its metrics, and what a
//! client needs to check an answer against L1 ([`attest`]).
//!
//! - [`types`]: the JSON shapes, with Ethereum's hex conventions (quantities as `0x`-hex
//!   without leading zeros, hashes and addresses as `0x`-hex of fixed length).
//! - [`api`]: the method list as a jsonrpsee trait; the sequencer (and later the full
//!   node) implement `VerdictApiServer`, clients use `VerdictApiClient`.
//! - [`error`]: the stable error codes (documented in `docs/rpc.md`).
//! - [`server`]: serving it (HTTP and WebSocket on one port, limits, `rpc.discover`), with
//!   [`http`]: `GET /metrics`, `GET /health` and CORS on the same port.
//!
//! - [`metrics`]: the Prometheus registry behind `GET /metrics`.
//! - [`attest`]: checking an answer's inclusion against a batch posted on L1.
//!
//! The OpenRPC document describing all of it is `specs/openrpc.json`, served by
//! `rpc.discover`.

pub mod api;
pub mod attest;
pub mod error;
pub mod http;
pub mod metrics;
pub mod server;
pub mod signing;
pub mod types;
pub mod verify;

pub use api::{VerdictApiClient, VerdictApiServer};
pub use error::{ErrorCode, RpcError};
pub use server::{MetricsRender, RpcServer, RpcServerConfig, RpcServerError, serve};
