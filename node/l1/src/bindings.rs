//! Typed bindings of Verdict's L1 contracts, generated at compile time by alloy's `sol!`
//! from the artifacts `scripts/contract-artifacts.sh` writes to `node/l1/artifacts/` (ABI and
//! bytecode, checked against the Solidity sources in CI).
//!
//! Each module (`Rollup`, `Bridge`, `ModelRegistry`, `OneStepVerifier`, `StateStepVerifier`,
//! `BatchDataVerifier`, `DisputeGame`) holds the calls, events, errors and
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

/// `Bridge` in a module of its own: its ABI names `BatchData.Header` (withdrawal claims).
pub mod bridge {
    #![allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        Bridge,
        "artifacts/Bridge.json"
    );
}
pub use bridge::Bridge;

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    ModelRegistry,
    "artifacts/ModelRegistry.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    OneStepVerifier,
    "artifacts/OneStepVerifier.json"
);

/// `DisputeGame` in a module of its own: its ABI names the structs of `BatchData` and
/// `OneStepVerifier`, which `sol!` generates again as sibling modules.
pub mod game {
    #![allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        DisputeGame,
        "artifacts/DisputeGame.json"
    );
}
pub use game::DisputeGame;

/// `StateStepVerifier` in a module of its own (its ABI names `BatchData.Header`).
pub mod state_step {
    #![allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        StateStepVerifier,
        "artifacts/StateStepVerifier.json"
    );
}
pub use state_step::StateStepVerifier;

/// `BatchDataVerifier` in a module of its own (its ABI names `BatchData.Header`).
pub mod data_verifier {
    #![allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        BatchDataVerifier,
        "artifacts/BatchDataVerifier.json"
    );
}
pub use data_verifier::BatchDataVerifier;
