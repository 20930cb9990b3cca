//! The integration tests of `verdict-l1`, in one test binary: the contracts, run in the
//! embedded chain and the in-process EVM, driven through the typed client (deployment,
//! posting, games, withdrawals, following L1) and by a foreign client (ethers). Linking
//! the dependency tree once instead of once per file saves minutes in CI. Run one group
//! with a filter, e.g. `cargo test --test integration state_game -- --nocapture`.

mod support;

mod contracts_differential;
mod dispute_game;
mod l1_ethers;
mod l1_flow;
mod l1_follow;
mod one_step_contract;
mod state_game;
