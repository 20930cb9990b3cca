//! The integration tests of `verdict-devchain`, in one test binary: the embedded L1 over
//! JSON-RPC, driven by alloy as a wallet would, and its journal across restarts and
//! kills. Run one group with a filter, e.g. `cargo test --test integration devchain_rpc`.

mod devchain_support;

mod devchain_persistence;
mod devchain_rpc;
