//! Layer 1: everything that talks to, or stands in for, the Ethereum chain the rollup
//! settles on.
//!
//! - [`devchain`]: the embedded L1, a small anvil on revm, used by `verdict l1` and by
//!   `verdict devnet` when no external endpoint is given (DESIGN.md §6).

pub mod devchain;
