//! The devnet's wiring: setting up a development rollup on any L1 whose first dev
//! account is funded: deploy (or reuse) the contracts, register the demo models, bond
//! the sequencer, deposit to L2 for the dev accounts. Used by `verdict devnet`, the end-to-end tests and the load
//! benchmark, so all three run the same chain.

use std::path::Path;

use alloy::primitives::utils::parse_ether;
use alloy::primitives::{Address, B256, U256};
use anyhow::{Context, Result, bail};
use verdict_l1::client::L1Client;
use verdict_l1::contracts::{ModelRegistration, VerdictL1};
use verdict_l1::deploy::{DeployParams, Deployment, deploy};
use verdict_specs::Model;

use verdict_models::ModelFile;

/// The demo models, compiled in so the devnet runs from any directory.
pub const DEMO_MODELS: &[(&str, &[u8])] = &[
    (
        "digits-mlp",
        include_bytes!("../../../models/digits/digits-mlp.vdm"),
    ),
    (
        "digits-cnn",
        include_bytes!("../../../models/digits/digits-cnn.vdm"),
    ),
    // A regressor (scikit-learn Ridge behind a StandardScaler, on the diabetes set): its
    // output is a real value kept at i32 precision, its input quantized per feature.
    (
        "diabetes-ridge",
        include_bytes!("../../../models/sklearn/diabetes-ridge.vdm"),
    ),
    // A tree ensemble (scikit-learn GradientBoosting, 100 trees, on breast_cancer): an
    // i32 input with one scale per feature, TreeEnsemble + ReduceSum + ArgMax.
    (
        "breast-cancer-gbt",
        include_bytes!("../../../models/sklearn/breast-cancer-gbt.vdm"),
    ),
    // A forecaster (a TCN from torch.onnx: dilated causal Conv1d, BatchNorm, SiLU,
    // attention pooling over time with the integer Softmax; scripts/timeseries): the
    // next weekly change of Mauna Loa CO2 from the last 32, a real value.
    (
        "co2-tcn",
        include_bytes!("../../../models/timeseries/co2-tcn.vdm"),
    ),
];
/// Fee per inference of the demo models: 1 gwei... times 1,000 (a microether).
pub const DEMO_FEE_WEI: u64 = 1_000_000_000_000;
/// What each dev account gets on L2 at a fresh start.
pub const DEMO_DEPOSIT_ETHER: &str = "100";
/// The sequencer's bond.
pub const DEMO_BOND_ETHER: &str = "10";
/// What a challenger locks per dispute game.
pub const DEMO_CHALLENGER_BOND_ETHER: &str = "0.1";
/// Each party's chess clock in a dispute game, in L1 blocks (a minute at the devnet's
/// one-second blocks; see specs/economics.md for production values).
pub const DEMO_CLOCK_BLOCKS: u64 = 20;
/// Forced-inclusion deadline of the demo deployment, in L1 blocks (about a minute).
pub const DEMO_INCLUSION_DEADLINE: u64 = 64;

/// What [`prepare`] leaves ready.
pub struct Prepared {
    /// The contracts.
    pub deployment: Deployment,
    /// The demo models, registered.
    pub models: Vec<ModelFile>,
    /// Whether the contracts were deployed now (and the deposits made).
    pub fresh: bool,
}

/// Deploys or reuses the contracts recorded in `deployment_file`, registers the demo
/// models, bonds the client's account as sequencer and, on a fresh deployment, deposits
/// [`DEMO_DEPOSIT_ETHER`] to L2 for each of `recipients`.
pub async fn prepare(
    client: L1Client,
    deployment_file: &Path,
    dispute_window: u64,
    recipients: &[Address],
) -> Result<Prepared> {
    let (deployment, fresh) = deployment(&client, deployment_file, dispute_window).await?;
    let sequencer = deployment.sequencer;
    let l1 = VerdictL1::new(client, deployment.clone())?;
    let models = register_models(&l1).await?;
    if l1.bond_of(sequencer).await? < deployment.min_bond {
        l1.bond(parse_ether(DEMO_BOND_ETHER)?)
            .await
            .context("bonding the sequencer")?;
    }
    if fresh {
        let amount = parse_ether(DEMO_DEPOSIT_ETHER)?;
        for recipient in recipients {
            l1.deposit(*recipient, amount)
                .await
                .with_context(|| format!("depositing for {recipient}"))?;
        }
    }
    Ok(Prepared {
        deployment,
        models,
        fresh,
    })
}

/// The deployment in `path` if it is live on this chain; otherwise a fresh one, written there.
pub async fn deployment(
    client: &L1Client,
    path: &Path,
    dispute_window: u64,
) -> Result<(Deployment, bool)> {
    if path.exists() {
        let existing = Deployment::read(path)?;
        let code = alloy::providers::Provider::get_code_at(client.provider(), existing.rollup)
            .await
            .context("checking the deployed Rollup")?;
        if existing.chain_id == client.chain_id() && !code.is_empty() {
            return Ok((existing, false));
        }
        tracing::warn!(
            "{} names contracts this L1 does not have; deploying afresh",
            path.display()
        );
    }
    let Some(sequencer) = client.sender() else {
        bail!("no deployer key");
    };
    let deployed = deploy(
        client,
        &DeployParams {
            sequencer,
            dispute_window,
            min_bond: parse_ether("1")?,
            challenger_bond: parse_ether(DEMO_CHALLENGER_BOND_ETHER)?,
            clock_blocks: DEMO_CLOCK_BLOCKS,
            inclusion_deadline: DEMO_INCLUSION_DEADLINE,
        },
    )
    .await
    .context("deploying the contracts")?;
    deployed.write(path)?;
    Ok((deployed, true))
}

pub async fn register_models(l1: &VerdictL1) -> Result<Vec<ModelFile>> {
    let mut files = Vec::new();
    for (name, bytes) in DEMO_MODELS {
        let model =
            Model::decode(bytes).with_context(|| format!("decoding the built-in {name}"))?;
        let id = B256::from(model.id().id);
        if !l1.is_registered(id).await? {
            l1.register_model(&ModelRegistration::of(
                &model,
                name,
                U256::from(DEMO_FEE_WEI),
            ))
            .await
            .with_context(|| format!("registering {name}"))?;
        }
        files.push(ModelFile {
            path: format!("(built-in) {name}"),
            model,
        });
    }
    Ok(files)
}
