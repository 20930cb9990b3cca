//! Typed bindings of Verdict's L1 contracts, generated at compile time by alloy's `sol!`
//! from the artifacts `scripts/contract-artifacts.sh` writes to `node/artifacts/` (ABI and
//! bytecode, checked against the Solidity sources in CI).
//!
//! Each module (`Rollup`, `Bridge`, `ModelRegistry`) holds the calls, events, errors and
//! structs of its contract, `BYTECODE` for deployment, and an instance type for calls
//! through a provider.

#![allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]

use alloy::sol;

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    Rollup,
    "artifacts/Rollup.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    Bridge,
    "artifacts/Bridge.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    ModelRegistry,
    "artifacts/ModelRegistry.json"
);
