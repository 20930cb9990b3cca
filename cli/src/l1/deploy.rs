//! `verdict l1 deploy`: deploys the contracts to any endpoint and writes the deployment
//! file the other commands read.

use alloy::primitives::utils::{format_ether, parse_ether};
use alloy::primitives::{Address, U256};
use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;
use verdict_l1::client::signer::load_signer;
use verdict_l1::client::{ClientConfig, L1Client};
use verdict_l1::deploy::{DeployParams, deploy};

/// Deploy Verdict's contracts (Bridge, ModelRegistry, Rollup) to an L1 endpoint.
///
/// Works against any Ethereum JSON-RPC endpoint: `verdict l1`, anvil, a testnet. The
/// addresses and parameters go to a deployment file (`--out`) that the sequencer,
/// challengers and clients read.
#[derive(Args, Debug)]
pub(crate) struct DeployArgs {
    /// L1 JSON-RPC endpoint: http://, https://, ws:// or wss://.
    #[arg(long, value_name = "URL", env = "VERDICT_L1_RPC")]
    rpc: String,

    /// The deployer's key: a 32-byte hex private key, or the path of an encrypted JSON
    /// keystore (its password from --password-file or $VERDICT_KEYSTORE_PASSWORD).
    #[arg(
        long,
        value_name = "KEY",
        env = "VERDICT_L1_KEY",
        hide_env_values = true
    )]
    key: String,

    /// File whose first line is the keystore's password.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,

    /// The address allowed to post batches. Defaults to the deployer.
    #[arg(long, value_name = "ADDRESS")]
    sequencer: Option<Address>,

    /// L1 blocks after a batch's own during which it can be disputed (300 blocks is
    /// about an hour on Ethereum; production rollups use days).
    #[arg(long, value_name = "BLOCKS", default_value_t = 300)]
    dispute_window: u64,

    /// The sequencer's minimum bond, in ether (decimals allowed).
    #[arg(long, value_name = "ETH", default_value = "1")]
    min_bond: String,

    /// What a challenger locks to open a dispute game, in ether.
    #[arg(long, value_name = "ETH", default_value = "0.1")]
    challenger_bond: String,

    /// Each party's chess clock in a dispute game, in L1 blocks (150 blocks is about 30
    /// minutes on Ethereum; a whole game then ends within two clocks of its opening).
    #[arg(long, value_name = "BLOCKS", default_value_t = 150)]
    clock_blocks: u64,

    /// L1 blocks within which every queued deposit must be consumed by a posted batch
    /// (forced inclusion: the Rollup refuses any post that leaves an older deposit out).
    /// 7200 is about a day on Ethereum.
    #[arg(long, value_name = "BLOCKS", default_value_t = 7200)]
    inclusion_deadline: u64,

    /// Where to write the deployment file.
    #[arg(long, value_name = "FILE", default_value = "deployment.json")]
    out: PathBuf,

    /// Overwrite an existing deployment file.
    #[arg(long)]
    force: bool,

    /// Seconds to wait for each transaction's receipt.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    receipt_timeout: u64,

    /// Print the deployment as JSON on stdout instead of a summary.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: DeployArgs) -> Result<()> {
    crate::process::init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: DeployArgs) -> Result<()> {
    if args.out.exists() && !args.force {
        bail!(
            "{} already exists; pass --force to overwrite it, or --out to write elsewhere",
            args.out.display()
        );
    }
    let min_bond = parse_ether(&args.min_bond)
        .with_context(|| format!("--min-bond {}: expected an amount of ether", args.min_bond))?;
    let challenger_bond = parse_ether(&args.challenger_bond).with_context(|| {
        format!(
            "--challenger-bond {}: expected an amount of ether",
            args.challenger_bond
        )
    })?;
    if args.clock_blocks == 0 {
        bail!("--clock-blocks must be at least 1 block");
    }
    if args.inclusion_deadline == 0 {
        bail!("--inclusion-deadline must be at least 1 block");
    }
    if args.dispute_window == 0 {
        bail!("--dispute-window must be at least 1 block");
    }
    let password = match &args.password_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?
                .lines()
                .next()
                .unwrap_or_default()
                .to_string(),
        ),
        None => None,
    };
    let signer = load_signer(&args.key, password.as_deref()).context("--key")?;
    let config = ClientConfig {
        receipt_timeout: Duration::from_secs(args.receipt_timeout),
        ..ClientConfig::default()
    };
    let client = L1Client::connect(&args.rpc, Some(signer), config).await?;
    let deployer = client.sender().context("the client has a signer")?;
    let balance = client.balance(deployer).await?;
    if balance == U256::ZERO {
        bail!(
            "the deployer {deployer} has no ether on chain {}; fund it first",
            client.chain_id()
        );
    }
    let params = DeployParams {
        sequencer: args.sequencer.unwrap_or(deployer),
        dispute_window: args.dispute_window,
        min_bond,
        challenger_bond,
        clock_blocks: args.clock_blocks,
        inclusion_deadline: args.inclusion_deadline,
    };
    let deployment = deploy(&client, &params).await?;
    deployment.write(&args.out).with_context(|| {
        format!("the contracts are deployed, but the file was not written: {deployment:?}")
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&deployment)?);
    } else {
        println!(
            "Deployed to chain {} from {}",
            deployment.chain_id, deployment.deployer
        );
        println!("  Bridge         {}", deployment.bridge);
        println!("  ModelRegistry  {}", deployment.model_registry);
        println!("  Rollup         {}", deployment.rollup);
        println!("  OneStepVerifier {}", deployment.one_step_verifier);
        println!("  DisputeGame    {}", deployment.dispute_game);
        println!("  sequencer      {}", deployment.sequencer);
        println!(
            "  challenger bond {} ETH, game clock {} L1 blocks per side",
            format_ether(deployment.challenger_bond),
            deployment.clock_blocks
        );
        println!(
            "  deposits must be included within {} L1 blocks",
            deployment.inclusion_deadline
        );
        println!(
            "  dispute window {} L1 blocks, minimum bond {} ETH",
            deployment.dispute_window,
            format_ether(deployment.min_bond)
        );
        println!("Wrote {}", args.out.display());
    }
    Ok(())
}
