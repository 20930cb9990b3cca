//! The dispute game over inference traces (`specs/game.md`): trace states, chunk
//! openings, one-step verification, the game's rules, how parties play, and sampling.

pub mod abi;
pub mod economics;
pub mod machine;
pub mod one_step;
pub mod opening;
pub mod play;
pub mod reveal;
pub mod sampling;
pub mod state_step;
pub mod trace;

#[cfg(test)]
mod tests;

pub use machine::{Game, GameError, Move, Party, Setup, Status};
pub use one_step::{OneStepError, OneStepProof, StepContext, TensorHeader, TensorOpening};
pub use opening::ChunkOpening;
pub use play::Claims;
pub use reveal::{MAX_REVEAL_BYTES, TooLargeToReveal, check_revealable};
pub use trace::Trace;
