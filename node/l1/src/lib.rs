//! The L1 side of every role: contract bindings, the alloy client, Verdict's typed
//! operations on the contracts, deployment, and the dispute and state games as L1 sees
//! them. (The embedded chain that stands in for Ethereum is `verdict-devchain`.)
//!
//! - [`bindings`]: the contracts' ABI and bytecode, from `node/l1/artifacts/`.
//! - [`client`]: the one L1 client every role uses, over HTTP or WebSocket.
//! - [`contracts`]: Verdict's operations on L1, typed.
//! - [`deploy`]: deploying the contracts and the deployment file other commands read.
//! - [`games`], [`state_games`]: record and state dispute games, read and played.
//! - [`poll`]: the one poll loop every follower of L1 runs.
//! - [`state_inputs`]: the L1 inputs of the state transition (deposit queue, fees).
//! - [`withdrawals`]: claiming withdrawals on L1, and the fee history records pay.

pub mod bindings;
pub mod client;
pub mod contracts;
pub mod deploy;
pub mod games;
pub mod poll;
pub mod state_games;
pub mod state_inputs;
pub mod withdrawals;
