//! The integration tests of the `verdict` binary, in one test binary: each file used to
//! link the whole dependency tree on its own. Most tests start `verdict` as real
//! processes; run one group with a filter, e.g.
//! `cargo test -p verdict-cli --test integration roles::bridge`.

mod support;

mod devnet_e2e;
mod l1_command;
mod layout;
mod model_commands;
mod roles;
mod rpc_bad_input;
mod sequencer_kill;
