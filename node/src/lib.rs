//! What every running Verdict role shares.
//!
//! - [`executor`]: the fast, bit-exact executor on burn tensors (and the reference
//!   interpreter behind the same trait), batched and thread-count independent.
//! - [`import`]: ONNX import and int8 quantization with calibration.
//! - [`dataset`]: the labelled-CSV format every command reads, and [`classify`]: the
//!   class an output stands for.
//! - [`l1`]: the L1 side: contract bindings, the alloy client, deployment and the embedded
//!   development chain.
//!
//! Storage, the L1 client, the embedded devnet and the RPC API join here later.
//! Everything here must agree bit for bit with `verdict-specs`; it never defines
//! protocol semantics of its own.

pub mod attest;
pub mod classify;
pub mod dataset;
pub mod executor;
pub mod fault;
pub mod import;
pub mod l1;
pub mod metrics;
pub mod rpc;
pub mod store;
