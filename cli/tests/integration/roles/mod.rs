//! The roles end to end, as real processes on the embedded L1; their waits are mostly
//! idle (L1 blocks, dispute windows), so they overlap well when run in parallel:
//! - [`bridge`]: deposit, fees, withdrawal, finality and one claim on L1;
//! - [`dispute`]: a faulty sequencer caught, reverted and slashed; a lying challenger
//!   losing; both sides restarted mid-game;
//! - [`state_dispute`]: wrong state transitions (fee, deposit, withdrawal) caught by
//!   state games;
//! - [`data_fault`]: the drain attack (a header committing to a withdrawal its data lacks)
//!   reverted by a data fault proof, and the forged claim never paid;
//! - [`full_node`]: `verdict node` rebuilding the chain from L1 alone;
//! - [`publish`]: a model brought to the network with `verdict model publish`, served,
//!   fetched by the challenger, final; a lie about it caught;
//! - [`verify`]: `verdict verify` against L1, and against a lying L2 endpoint.

mod bridge;
mod data_fault;
mod dispute;
mod full_node;
mod publish;
mod state_dispute;
mod verify;
