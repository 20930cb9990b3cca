//! Turning revert data into a sentence: `Error(string)`, `Panic(uint256)`, or a custom
//! error of one of Verdict's contracts with its arguments.

use crate::bindings::{Bridge, DisputeGame, ModelRegistry, Rollup, StateStepVerifier};
use alloy::sol_types::{Revert, SolError, SolInterface};

/// A readable description of `data`, the revert data of a failed call.
pub fn describe_revert(data: &[u8]) -> String {
    if data.is_empty() {
        return "reverted without a reason".to_string();
    }
    if let Ok(revert) = Revert::abi_decode(data) {
        return format!("reverted: {}", revert.reason);
    }
    if let Ok(panic) = alloy::sol_types::Panic::abi_decode(data) {
        return format!("panicked: {panic:?}");
    }
    if let Ok(error) = Rollup::RollupErrors::abi_decode(data) {
        return format!("Rollup.{error:?}");
    }
    if let Ok(error) = Bridge::BridgeErrors::abi_decode(data) {
        return format!("Bridge.{error:?}");
    }
    if let Ok(error) = ModelRegistry::ModelRegistryErrors::abi_decode(data) {
        return format!("ModelRegistry.{error:?}");
    }
    if let Ok(error) = DisputeGame::DisputeGameErrors::abi_decode(data) {
        return format!("DisputeGame.{error:?}");
    }
    if let Ok(error) = StateStepVerifier::StateStepVerifierErrors::abi_decode(data) {
        return format!("StateStepVerifier.{error:?}");
    }
    format!("reverted with unknown data 0x{}", alloy::hex::encode(data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::U256;

    #[test]
    fn custom_errors_are_named_with_their_arguments() {
        let data = Rollup::WindowOpen {
            index: 3,
            windowEnd: U256::from(120),
        }
        .abi_encode();
        let text = describe_revert(&data);
        assert!(
            text.contains("WindowOpen") && text.contains("120"),
            "{text}"
        );
    }

    #[test]
    fn plain_reasons_and_unknown_data_are_described() {
        let data = Revert::from("nope").abi_encode();
        assert_eq!(describe_revert(&data), "reverted: nope");
        assert!(describe_revert(&[1, 2, 3, 4]).contains("0x01020304"));
        assert_eq!(describe_revert(&[]), "reverted without a reason");
    }
}
