//! Deploying Verdict's contracts to any endpoint, and the deployment file that tells
//! every other command where they are.

use super::bindings::{
    BatchDataVerifier, Bridge, DisputeGame, ModelRegistry, OneStepVerifier, Rollup,
    StateStepVerifier,
};
use super::client::{L1Client, L1Error};
use alloy::primitives::{Address, U256};
use alloy::sol_types::SolConstructor;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// File format version of [`Deployment`].
pub const DEPLOYMENT_VERSION: u32 = 4;

/// Parameters of a deployment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeployParams {
    /// The address allowed to post batches (its bond must reach `min_bond`).
    pub sequencer: Address,
    /// L1 blocks after a batch's own during which it can be disputed.
    pub dispute_window: u64,
    /// The sequencer's minimum bond, in wei.
    pub min_bond: U256,
    /// What a challenger locks to open a dispute game, in wei.
    pub challenger_bond: U256,
    /// Each party's chess clock in a dispute game, in L1 blocks.
    pub clock_blocks: u64,
    /// L1 blocks within which a queued deposit must be consumed by a posted batch.
    pub inclusion_deadline: u64,
}

/// Where the contracts live and how they were set up; written as JSON by
/// `verdict l1 deploy` and read by the other commands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    /// Format version ([`DEPLOYMENT_VERSION`]).
    pub version: u32,
    /// The L1 chain id the contracts are on.
    pub chain_id: u64,
    /// The account that deployed them (it may set the dispute game, once).
    pub deployer: Address,
    /// The L1 block of the first deployment transaction: followers start here.
    pub deployed_at_block: u64,
    pub bridge: Address,
    pub model_registry: Address,
    pub rollup: Address,
    pub sequencer: Address,
    pub dispute_window: u64,
    /// Wei, as a decimal string.
    #[serde(with = "u256_decimal")]
    pub min_bond: U256,
    /// The one-step verifier the dispute game calls.
    pub one_step_verifier: Address,
    /// The dispute game (set in the Rollup).
    pub dispute_game: Address,
    /// Wei a challenger locks per game, as a decimal string.
    #[serde(with = "u256_decimal")]
    pub challenger_bond: U256,
    /// Each party's chess clock, in L1 blocks.
    pub clock_blocks: u64,
    /// The StateStepVerifier (state-transition one-step proofs).
    pub state_step_verifier: Address,
    /// The BatchDataVerifier (data fault proofs: a block's body must back its header).
    pub batch_data_verifier: Address,
    /// L1 blocks within which a queued deposit must be consumed (forced inclusion).
    pub inclusion_deadline: u64,
}

/// The EIP-712 domain requests and withdrawals on this deployment are signed for: the L1
/// chain and the Rollup.
impl From<&Deployment> for verdict_specs::l2::request::SigningDomain {
    fn from(deployment: &Deployment) -> Self {
        Self {
            chain_id: deployment.chain_id,
            rollup: deployment.rollup.into_array(),
        }
    }
}

/// Errors reading or writing a deployment file.
#[derive(Debug, thiserror::Error)]
pub enum DeploymentFileError {
    #[error("reading deployment file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("deployment file {path} is not valid: {source}")]
    Parse {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "deployment file {path} has version {found}; this build reads version {DEPLOYMENT_VERSION}"
    )]
    Version { path: String, found: u32 },
    #[error("writing deployment file {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl Deployment {
    /// Reads a deployment file.
    pub fn read(path: &Path) -> Result<Self, DeploymentFileError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| DeploymentFileError::Read {
            path: shown.clone(),
            source,
        })?;
        let deployment: Self =
            serde_json::from_str(&text).map_err(|source| DeploymentFileError::Parse {
                path: shown.clone(),
                source,
            })?;
        if deployment.version != DEPLOYMENT_VERSION {
            return Err(DeploymentFileError::Version {
                path: shown,
                found: deployment.version,
            });
        }
        Ok(deployment)
    }

    /// Writes the file atomically (a temporary file renamed into place), so a reader
    /// never sees half of it.
    pub fn write(&self, path: &Path) -> Result<(), DeploymentFileError> {
        let write_error = |source| DeploymentFileError::Write {
            path: path.display().to_string(),
            source,
        };
        let mut text = serde_json::to_string_pretty(self).map_err(|e| write_error(e.into()))?;
        text.push('\n');
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(dir).map_err(write_error)?;
        let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(write_error)?;
        std::io::Write::write_all(&mut temp, text.as_bytes()).map_err(write_error)?;
        temp.as_file().sync_all().map_err(write_error)?;
        temp.persist(path).map_err(|e| write_error(e.error))?;
        Ok(())
    }
}

/// Deploys `Bridge`, `ModelRegistry`, `Rollup`, `OneStepVerifier` and `DisputeGame` from
/// the client's signer, in that order, names the game in the Rollup, and returns where
/// they are. Each step waits for its receipt.
pub async fn deploy(client: &L1Client, params: &DeployParams) -> Result<Deployment, L1Error> {
    let deployer = client.sender().ok_or(L1Error::NoSigner)?;
    let (bridge, receipt) = client.deploy("Bridge", Bridge::BYTECODE.to_vec()).await?;
    let deployed_at_block = receipt.block_number.unwrap_or_default();
    tracing::info!(%bridge, block = deployed_at_block, gas = receipt.gas_used, "deployed Bridge");
    let (model_registry, receipt) = client
        .deploy("ModelRegistry", ModelRegistry::BYTECODE.to_vec())
        .await?;
    tracing::info!(%model_registry, gas = receipt.gas_used, "deployed ModelRegistry");
    let constructor = Rollup::constructorCall {
        bridge_: bridge,
        sequencer_: params.sequencer,
        disputeWindow_: params.dispute_window,
        minBond_: params.min_bond,
        inclusionDeadline_: params.inclusion_deadline,
    };
    let mut code = Rollup::BYTECODE.to_vec();
    code.extend_from_slice(&constructor.abi_encode());
    let (rollup, receipt) = client.deploy("Rollup", code).await?;
    tracing::info!(%rollup, gas = receipt.gas_used, "deployed Rollup");
    client
        .send(
            bridge,
            Bridge::setRollupCall { rollup_: rollup },
            U256::ZERO,
        )
        .await?;
    let (one_step_verifier, receipt) = client
        .deploy("OneStepVerifier", OneStepVerifier::BYTECODE.to_vec())
        .await?;
    tracing::info!(%one_step_verifier, gas = receipt.gas_used, "deployed OneStepVerifier");
    let constructor = StateStepVerifier::constructorCall {
        rollup_: rollup,
        registry_: model_registry,
    };
    let mut code = StateStepVerifier::BYTECODE.to_vec();
    code.extend_from_slice(&constructor.abi_encode());
    let (state_step_verifier, receipt) = client.deploy("StateStepVerifier", code).await?;
    tracing::info!(%state_step_verifier, gas = receipt.gas_used, "deployed StateStepVerifier");
    let constructor = BatchDataVerifier::constructorCall { rollup_: rollup };
    let mut code = BatchDataVerifier::BYTECODE.to_vec();
    code.extend_from_slice(&constructor.abi_encode());
    let (batch_data_verifier, receipt) = client.deploy("BatchDataVerifier", code).await?;
    tracing::info!(%batch_data_verifier, gas = receipt.gas_used, "deployed BatchDataVerifier");
    let constructor = DisputeGame::constructorCall {
        rollup_: rollup,
        registry_: model_registry,
        verifier_: one_step_verifier,
        stateVerifier_: state_step_verifier,
        dataVerifier_: batch_data_verifier,
        challengerBond_: params.challenger_bond,
        clockBlocks_: params.clock_blocks,
    };
    let mut code = DisputeGame::BYTECODE.to_vec();
    code.extend_from_slice(&constructor.abi_encode());
    let (dispute_game, receipt) = client.deploy("DisputeGame", code).await?;
    tracing::info!(%dispute_game, gas = receipt.gas_used, "deployed DisputeGame");
    client
        .send(
            rollup,
            Rollup::setDisputeGameCall { game: dispute_game },
            U256::ZERO,
        )
        .await?;
    Ok(Deployment {
        version: DEPLOYMENT_VERSION,
        chain_id: client.chain_id(),
        deployer,
        deployed_at_block,
        bridge,
        model_registry,
        rollup,
        sequencer: params.sequencer,
        dispute_window: params.dispute_window,
        min_bond: params.min_bond,
        one_step_verifier,
        dispute_game,
        challenger_bond: params.challenger_bond,
        clock_blocks: params.clock_blocks,
        state_step_verifier,
        batch_data_verifier,
        inclusion_deadline: params.inclusion_deadline,
    })
}

mod u256_decimal {
    use alloy::primitives::U256;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(v: &U256, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<U256, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Deployment {
        Deployment {
            version: DEPLOYMENT_VERSION,
            chain_id: 31337,
            deployer: Address::repeat_byte(1),
            deployed_at_block: 1,
            bridge: Address::repeat_byte(2),
            model_registry: Address::repeat_byte(3),
            rollup: Address::repeat_byte(4),
            sequencer: Address::repeat_byte(5),
            dispute_window: 100,
            min_bond: U256::from(10).pow(U256::from(18)),
            one_step_verifier: Address::repeat_byte(6),
            dispute_game: Address::repeat_byte(7),
            challenger_bond: U256::from(10).pow(U256::from(17)),
            clock_blocks: 20,
            state_step_verifier: Address::repeat_byte(8),
            batch_data_verifier: Address::repeat_byte(9),
            inclusion_deadline: 64,
        }
    }

    #[test]
    fn a_deployment_file_round_trips() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nested/deployment.json");
        sample().write(&path).expect("write");
        assert_eq!(Deployment::read(&path).expect("read"), sample());
        let text = std::fs::read_to_string(&path).expect("text");
        assert!(
            text.contains("\"min_bond\": \"1000000000000000000\""),
            "{text}"
        );
    }

    #[test]
    fn bad_files_are_explained() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = Deployment::read(&dir.path().join("none.json")).expect_err("missing");
        assert!(missing.to_string().contains("none.json"));
        let path = dir.path().join("bad.json");
        std::fs::write(&path, "{").expect("write");
        assert!(matches!(
            Deployment::read(&path),
            Err(DeploymentFileError::Parse { .. })
        ));
        let mut future = serde_json::to_value(sample()).expect("json");
        future["version"] = 99.into();
        std::fs::write(&path, future.to_string()).expect("write");
        assert!(matches!(
            Deployment::read(&path),
            Err(DeploymentFileError::Version { found: 99, .. })
        ));
    }
}
