//! The Verdict challenger: follows the batches posted to the `Rollup` on L1, takes each
//! batch's data from its L1 calldata (never from the sequencer), re-executes a secret
//! random sample of its records, and opens and plays a dispute game against a wrong one
//! until it is won. Every decision is logged with the record and the reason.
//!
//! - [`check`]: sampling and re-execution.
//! - [`store`]: the secret, the L1 cursor and the games, in RocksDB.
//! - [`runner`]: the loop that reads L1, opens games and plays them.
//! - [`config`]: the TOML configuration.
//! - [`metrics`]: the Prometheus metric names.

pub mod check;
pub mod config;
pub mod metrics;
pub mod runner;
pub mod state_check;
pub mod store;

pub use config::ChallengerConfig;
pub use runner::{Challenger, StartError};
