//! The L2 chain as anyone rebuilds it from L1 alone.
//!
//! - [`derive`]: one derivation of a block's transactions, state trace and faults from its
//!   body, its parent's state and what L1 says (the deposit queue, the registered fees),
//!   by the complete rules of `specs/state.md` §3. The full node and the challenger's
//!   state check both run it.
//! - [`source`]: those L1 inputs read from a real L1 ([`source::L1Source`]), cached.
//!
//! The chain store layout, roll-back and replay join here from the sequencer (issue 15).

pub mod derive;
pub mod source;

pub use derive::{BatchContext, BlockFault, Derived, L1Inputs, TraceMode, derive_block};
