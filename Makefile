# The README's two commands. Each does its own set-up on a fresh machine first:
# scripts/setup.sh installs what is missing from the system (libclang for RocksDB's
# bindings, a C/C++ toolchain, Node.js and npm), and the tests' scripts/contracts.sh
# installs forge, anvil and solc from npm (contracts/package-lock.json).
#
#   make devnet                          the whole system locally (embedded L1, contracts,
#                                        demo models, sequencer, challenger)
#   make test                            every test: the contracts (forge), the client
#                                        libraries (pytest, node), then the Rust
#                                        workspace (cargo test)
#   make devnet ARGS="--dispute-window 20"        arguments for `verdict devnet`
#   make test ARGS="--test integration roles::"   arguments for `cargo test`
#
# Already set up? `cargo run --release -- devnet` and `cargo test` are the same commands
# without the set-up.

.PHONY: setup devnet test contracts clients bench-smoke

setup:
	scripts/setup.sh

devnet: setup
	cargo run --release -- devnet $(ARGS)

contracts: setup
	scripts/contracts.sh

# The client libraries (Python, TypeScript): installed and tested against the shared
# vectors; the Rust end-to-end tests then drive them against a devnet.
clients: setup
	scripts/clients.sh

test: contracts clients
	cargo test $(ARGS)

# Every benchmark binary once, sized to finish in seconds (CI runs it so none rots).
bench-smoke: setup
	scripts/bench-smoke.sh
