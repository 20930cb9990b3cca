//! `verdict devnet`: the whole system on one machine with one command — the embedded L1
//! with the contracts, the demo models registered, a bonded sequencer, and dev accounts
//! funded on L1 and deposited to L2.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::signers::local::PrivateKeySigner;
use anyhow::{Context, Result, bail};
use clap::Args;
use tokio::sync::broadcast::error::RecvError;
use verdict_chain::view::ChainEvent;
use verdict_devchain::{DevAccounts, DevChain, DevChainConfig};
use verdict_devnet::{DEMO_DEPOSIT_ETHER, DEMO_FEE_WEI, Prepared, prepare};
use verdict_l1::client::{ClientConfig, L1Client};
use verdict_l1::deploy::Deployment;
use verdict_sequencer::Sequencer;
use verdict_sequencer::config::SequencerConfig;
use verdict_specs::hash::to_hex;

use crate::process::init_logging;
use verdict_challenger::{Challenger, ChallengerConfig};

/// Run everything locally: L1, contracts, models, sequencer, funded accounts.
///
/// Prints the endpoints, the model ids and the dev keys, then one line per L2 block and
/// per batch. With --data-dir the whole devnet (L1 included) survives restarts; without
/// it everything lives in a temporary directory removed on exit. Try it with
/// `verdict infer --rpc http://127.0.0.1:8645 --model digits-mlp --input FILE`.
#[derive(Args, Debug)]
pub(crate) struct DevnetArgs {
    /// Keep L1, deployment and L2 chain in DIR (reused on the next start).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Port of the L2 JSON-RPC (HTTP and WebSocket; /metrics, /health). 0 picks one.
    #[arg(long, default_value_t = 8645)]
    rpc_port: u16,
    /// Port of the embedded L1's JSON-RPC. 0 picks one.
    #[arg(long, default_value_t = 8545)]
    l1_port: u16,
    /// Longest an L2 block stays open, in seconds (fractions allowed).
    #[arg(long, value_name = "SECS", default_value_t = 1.0)]
    block_time: f64,
    /// Dispute window of each batch, in L1 blocks (a fresh deployment only).
    #[arg(long, value_name = "L1BLOCKS", default_value_t = 20)]
    dispute_window: u64,
    /// Seconds between embedded L1 blocks.
    #[arg(long, value_name = "SECS", default_value_t = 1.0)]
    l1_block_time: f64,
    /// Post a batch once this many L2 blocks wait.
    #[arg(long, default_value_t = 5)]
    batch_blocks: u64,
    /// Post whatever waits after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    batch_interval: u64,
    /// Use this L1 endpoint (e.g. anvil) instead of the embedded chain; its first dev
    /// accounts (the well-known test mnemonic) must be funded.
    #[arg(long, value_name = "URL")]
    l1_rpc: Option<String>,
    /// Interface for both servers.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,
    /// Do not start the honest challenger (dev account 9) that checks every record.
    #[arg(long)]
    no_challenger: bool,
    /// Probability with which the devnet's challenger checks each record.
    #[arg(long, value_name = "P", default_value_t = 1.0)]
    challenger_sample_rate: f64,
    /// DEMO: the sequencer answers this fraction of requests wrongly (e.g. 0.01); watch
    /// the challenger catch a wrong record, win the game on L1, and the batch revert.
    #[arg(long, value_name = "R")]
    faulty_sequencer: Option<f64>,
    /// With --faulty-sequencer: output, intermediate, silent, fee, deposit, withdrawal or
    /// drain (a batch whose header claims 100 ether its data does not hold; see
    /// `verdict sequencer --help`).
    #[arg(long, value_name = "MODE", default_value = "output")]
    fault_mode: verdict_sequencer::fault::FaultMode,
    /// Stop when stdin closes (for supervisors and test harnesses).
    #[arg(long, hide = true)]
    stop_on_stdin_eof: bool,
}

pub(crate) fn run(args: DevnetArgs) -> Result<()> {
    init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(devnet(args))
}

fn seconds(flag: &str, value: f64) -> Result<Duration> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .with_context(|| format!("{flag} {value}: expected a positive number of seconds"))
}

async fn devnet(args: DevnetArgs) -> Result<()> {
    let stop_on_stdin_eof = args.stop_on_stdin_eof;
    let temp;
    let base: PathBuf = match &args.data_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            dir.clone()
        }
        None => {
            temp = tempfile::tempdir().context("creating a temporary directory")?;
            temp.path().to_path_buf()
        }
    };
    let keys = DevAccounts::default()
        .derive()
        .context("deriving the dev accounts")?;
    let Some(deployer) = keys.first().cloned() else {
        bail!("no dev accounts");
    };

    let l1_block_time = seconds("--l1-block-time", args.l1_block_time)?;
    let mut embedded = None;
    let l1_url = match &args.l1_rpc {
        Some(url) => url.clone(),
        None => {
            // Automine while the contracts are set up (each set-up transaction is mined
            // the moment it is sent), then a block every --l1-block-time.
            let config = DevChainConfig {
                data_dir: args.data_dir.as_ref().map(|d| d.join("l1")),
                block_time: None,
                ..DevChainConfig::default()
            };
            let chain = DevChain::open(config).context("opening the embedded L1")?;
            let (_, server) = chain
                .serve(SocketAddr::new(args.host, args.l1_port))
                .await
                .context("serving the embedded L1")?;
            let url = server.http_url();
            embedded = Some((chain, server));
            url
        }
    };

    let client = L1Client::connect(&l1_url, Some(deployer.clone()), ClientConfig::default())
        .await
        .with_context(|| format!("connecting to L1 at {l1_url}"))?;
    let recipients: Vec<_> = keys.iter().map(|k| k.address()).collect();
    let Prepared {
        deployment,
        models,
        fresh,
    } = prepare(
        client,
        &base.join("deployment.json"),
        args.dispute_window,
        &recipients,
    )
    .await?;
    if let Some((chain, _)) = &embedded {
        chain
            .start_interval_mining(l1_block_time)
            .context("starting the embedded L1's block timer")?;
    }

    let config = SequencerConfig {
        data_dir: base.join("sequencer"),
        l1_rpc: l1_url.clone(),
        rpc_addr: SocketAddr::new(args.host, args.rpc_port),
        block_time_ms: seconds("--block-time", args.block_time)?.as_millis().max(1) as u64,
        batch_blocks: args.batch_blocks.max(1),
        batch_interval_secs: args.batch_interval,
        l1_poll_ms: 500,
        auto_rebond: true,
        fault_rate: args.faulty_sequencer.unwrap_or(0.0),
        fault_mode: args.fault_mode,
        ..SequencerConfig::default()
    };
    if !(0.0..=1.0).contains(&config.fault_rate) {
        bail!(
            "--faulty-sequencer {}: expected a fraction between 0 and 1",
            config.fault_rate
        );
    }
    if config.fault_rate > 0.0 {
        tracing::warn!(
            rate = config.fault_rate,
            mode = %config.fault_mode,
            "FAULT INJECTION ON: the sequencer answers some requests wrongly"
        );
    }
    let metrics = verdict_rpc::metrics::install().context("installing the metrics recorder")?;
    let sequencer = Sequencer::start(&config, deployment.clone(), deployer, models, Some(metrics))
        .await
        .context("starting the sequencer")?;

    print_banner(
        &sequencer,
        &l1_url,
        &deployment,
        &keys,
        &base,
        args.data_dir.is_some(),
        fresh,
    );
    log_chain(&sequencer);
    let challenger = if args.no_challenger {
        None
    } else {
        let Some(key) = keys.last().cloned() else {
            bail!("no dev account for the challenger");
        };
        let challenger_config = ChallengerConfig {
            l1_rpc: l1_url.clone(),
            data_dir: base.join("challenger"),
            sample_rate: args.challenger_sample_rate,
            l1_poll_ms: 500,
            // Models published to the devnet (`verdict model publish`) are fetched
            // from the sequencer, which serves every registered model it has.
            model_sources: vec![sequencer.rpc.http_url()],
            ..ChallengerConfig::default()
        };
        let challenger = Challenger::start(
            &challenger_config,
            deployment.clone(),
            key,
            crate::challenger::demo_models()?,
        )
        .await
        .context("starting the challenger")?;
        println!(
            "challenger {} checks {}% of the records",
            challenger.address,
            args.challenger_sample_rate * 100.0
        );
        Some(challenger)
    };
    let mut sequencer = crate::sequencer::supervise(sequencer, stop_on_stdin_eof).await?;
    tracing::info!("stopping");
    if let Some(challenger) = challenger {
        challenger.stop().await;
    }
    sequencer.stop().await;
    if let Some((_chain, server)) = embedded {
        server.stop().await;
    }
    Ok(())
}

fn print_banner(
    sequencer: &Sequencer,
    l1_url: &str,
    deployment: &Deployment,
    keys: &[PrivateKeySigner],
    base: &Path,
    persistent: bool,
    fresh: bool,
) {
    println!("verdict devnet");
    println!();
    println!("L2 RPC     {}", sequencer.rpc.http_url());
    println!("WebSocket  {}", sequencer.rpc.ws_url());
    println!(
        "Metrics    {}/metrics",
        sequencer.rpc.http_url().trim_end_matches('/')
    );
    println!("L1 RPC     {l1_url}");
    println!("Chain id   {} (L1)", deployment.chain_id);
    println!("Rollup     {}", deployment.rollup);
    println!("Bridge     {}", deployment.bridge);
    println!("Registry   {}", deployment.model_registry);
    println!("Window     {} L1 blocks", deployment.dispute_window);
    println!(
        "Data dir   {}{}",
        base.display(),
        if persistent { "" } else { " (temporary)" }
    );
    println!();
    println!("Models (fee {DEMO_FEE_WEI} wei per inference)");
    for m in sequencer.models.all() {
        let shape: Vec<String> = m
            .model
            .graph()
            .input
            .shape
            .iter()
            .map(u32::to_string)
            .collect();
        println!(
            "  {:<12} {}  input i8[{}]",
            m.name,
            to_hex(&m.id),
            shape.join("x")
        );
    }
    println!();
    println!(
        "Dev accounts ({} on L2 each{}; public test keys, never use them for real funds)",
        DEMO_DEPOSIT_ETHER,
        if fresh { ", deposited now" } else { "" }
    );
    for (i, key) in keys.iter().enumerate() {
        let role = match i {
            0 => "  (sequencer)",
            _ if i + 1 == keys.len() => "  (challenger)",
            _ => "",
        };
        println!("  ({i}) {}  key {}{role}", key.address(), key.to_bytes());
    }
    println!();
    println!(
        "Try: verdict infer --rpc {} --model digits-mlp --input FILE",
        sequencer.rpc.http_url()
    );
    println!("Ctrl-C stops the devnet.");
    println!();
}

/// Prints one line per sealed block and per batch event, until the sequencer stops.
pub(crate) fn log_chain(sequencer: &Sequencer) {
    // `println!` panics when stdout is gone (a closed pipe); the log is not worth dying for.
    macro_rules! println {
        ($($arg:tt)*) => {{
            use std::io::Write as _;
            let _ = writeln!(std::io::stdout(), $($arg)*);
        }};
    }
    let mut blocks = sequencer.chain().events.subscribe();
    let mut posted = sequencer.batches().posted_events.subscribe();
    let mut finalized = sequencer.batches().finalized_events.subscribe();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                event = blocks.recv() => match event {
                    Ok(ChainEvent::Sealed { header, records, deposits }) => println!(
                        "block {:>6}  records {records:>4}  deposits {deposits:>3}  hash {}  state {}",
                        header.number,
                        short(&header.hash()),
                        short(&header.state_root)
                    ),
                    Err(RecvError::Lagged(n)) => println!("({n} blocks not shown)"),
                    Err(RecvError::Closed) => return,
                },
                event = posted.recv() => match event {
                    Ok(b) => println!(
                        "batch {:>6}  {:<9} blocks {}..={}  L1 block {}  output {}",
                        b.header.index,
                        format!("{:?}", b.status).to_lowercase(),
                        b.header.first_block,
                        b.header.last_block,
                        b.header.l1_block,
                        short(&b.header.output_root)
                    ),
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return,
                },
                event = finalized.recv() => match event {
                    Ok(b) => println!(
                        "batch {:>6}  finalized blocks {}..={}",
                        b.header.index, b.header.first_block, b.header.last_block
                    ),
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return,
                },
            }
        }
    });
}

fn short(hash: &[u8; 32]) -> String {
    let hex = to_hex(hash);
    format!("{}…{}", &hex[..10], &hex[hex.len() - 4..])
}
