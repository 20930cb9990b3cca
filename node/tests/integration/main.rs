//! The integration tests of `verdict-node`, in one test binary: linking the dependency
//! tree (burn, revm, alloy, RocksDB) once instead of once per file saves minutes and
//! gigabytes in CI. Run one group with a filter, e.g.
//! `cargo test -p verdict-node --test integration state_game -- --nocapture`.

mod devchain_support;
mod support;

mod contracts_differential;
mod devchain_persistence;
mod devchain_rpc;
mod dispute_game;
mod executor_bad_input;
mod executor_edges;
mod executor_props;
mod executor_vectors;
mod import_digits;
mod import_errors;
mod l1_ethers;
mod l1_flow;
mod l1_follow;
mod one_step_contract;
mod rpc_server;
mod state_game;
mod store_group_commit;
