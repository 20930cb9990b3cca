//! The roles end to end, as real processes on the embedded L1, in one test binary so
//! their mostly idle waits (L1 blocks, dispute windows) overlap:
//! - [`dispute`]: a faulty sequencer caught, reverted and slashed; a lying challenger
//!   losing; both sides restarted mid-game;
//! - [`full_node`]: `verdict node` rebuilding the chain from L1 alone;
//! - [`verify`]: `verdict verify` against L1, and against a lying L2 endpoint.

#[path = "../support/mod.rs"]
mod support;

mod dispute;
mod full_node;
mod verify;
