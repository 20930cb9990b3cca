//! Layer 1: everything that talks to, or stands in for, the Ethereum chain the rollup
//! settles on.
//!
//! - [`bindings`]: the contracts' ABI and bytecode, from `node/artifacts/`.
//! - [`client`]: the one L1 client every role uses, over HTTP or WebSocket.
//! - [`contracts`]: Verdict's operations on L1, typed.
//! - [`deploy`]: deploying the contracts and the deployment file other commands read.
//! - [`devchain`]: the embedded L1, a small anvil on revm, used by `verdict l1` and by
//!   `verdict devnet` when no external endpoint is given (DESIGN.md §6).
//! - [`local_evm`]: the contracts in an in-process revm, for differential tests and gas.
//! - [`withdrawals`]: claiming withdrawals on L1, and the fee history records pay.

pub mod bindings;
pub mod client;
pub mod contracts;
pub mod deploy;
pub mod devchain;
pub mod games;
pub mod local_evm;
pub mod state_games;
pub mod state_inputs;
pub mod withdrawals;
