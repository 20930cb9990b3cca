//! `verdict verify RECORD_HASH`: is this answer backed by L1? Trusts only the L1 endpoint.

use std::path::PathBuf;

use alloy::primitives::{Address, B256};
use anyhow::{Context, Result, bail};
use clap::Args;
use verdict_l1::client::{ClientConfig, L1Client};
use verdict_l1::deploy::Deployment;
use verdict_rpc::VerdictApiClient;
use verdict_rpc::attest::{Verdict, verify_record};

/// Check an answer against L1: is it final, pending (until which L1 block), or reverted?
///
/// Fetches the record and its inclusion proof from the L2 endpoint (any node), recomputes
/// the record hash, the output's commitment and the proof up to the batch's output root,
/// and compares that root with the batch the Rollup contract holds on L1. Nothing the L2
/// endpoint says is believed: if it lies, the answer is reported NOT VERIFIED. Pin the
/// Rollup with --rollup or --deployment; otherwise its address is taken from the L2
/// endpoint, which a lying endpoint could fake (a warning says so). Exit status: 0
/// verified (final or pending), 1 otherwise.
#[derive(Args, Debug)]
pub(crate) struct VerifyArgs {
    /// The record hash (0x…, from the answer's `recordHash`).
    record_hash: B256,
    /// The L2 JSON-RPC endpoint that served the answer (not trusted).
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8645")]
    rpc: String,
    /// The L1 JSON-RPC endpoint (trusted).
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8545")]
    l1_rpc: String,
    /// The Rollup contract's address on L1.
    #[arg(long, value_name = "ADDRESS", conflicts_with = "deployment")]
    rollup: Option<Address>,
    /// A deployment file naming the Rollup (`verdict l1 deploy`, or the devnet's data dir).
    #[arg(long, value_name = "FILE")]
    deployment: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: VerifyArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let verified = runtime.block_on(verify(args))?;
    if !verified {
        std::process::exit(1);
    }
    Ok(())
}

async fn verify(args: VerifyArgs) -> Result<bool> {
    let l2 = jsonrpsee::http_client::HttpClientBuilder::default()
        .request_timeout(std::time::Duration::from_secs(30))
        .build(&args.rpc)
        .with_context(|| format!("L2 endpoint {}", args.rpc))?;
    let l1 = L1Client::connect(&args.l1_rpc, None, ClientConfig::default())
        .await
        .with_context(|| format!("connecting to L1 at {}", args.l1_rpc))?;
    let (rollup, pinned) = match (&args.rollup, &args.deployment) {
        (Some(address), _) => (*address, true),
        (None, Some(path)) => (
            Deployment::read(path)
                .with_context(|| format!("reading {}", path.display()))?
                .rollup,
            true,
        ),
        (None, None) => {
            let info = l2
                .chain_info()
                .await
                .with_context(|| format!("asking {} for its chain info", args.rpc))?;
            (info.rollup, false)
        }
    };
    let code = alloy::providers::Provider::get_code_at(l1.provider(), rollup)
        .await
        .context("reading the Rollup's code")?;
    if code.is_empty() {
        bail!(
            "there is no contract at {rollup} on L1 (chain {})",
            l1.chain_id()
        );
    }
    let (verdict, found) = verify_record(&l2, &l1, rollup, args.record_hash)
        .await
        .context("verifying")?;
    if args.json {
        let output = serde_json::json!({
            "recordHash": args.record_hash,
            "verified": verdict.is_verified(),
            "verdict": verdict,
            "rollup": rollup,
            "rollupPinned": pinned,
            "output": found.as_ref().map(|f| &f.record.output),
        });
        println!("{}", serde_json::to_string_pretty(&output)?);
        return Ok(verdict.is_verified());
    }
    if !pinned {
        eprintln!(
            "warning: the Rollup address {rollup} came from the L2 endpoint; pass --rollup or --deployment to pin it"
        );
    }
    if let Some(found) = &found
        && verdict.is_verified()
    {
        println!("record     {}", args.record_hash);
        println!(
            "output     {}",
            serde_json::to_string(&found.record.output).unwrap_or_default()
        );
    }
    match &verdict {
        Verdict::Final { batch_index } => {
            println!("VERIFIED: final on L1 (batch {batch_index} is finalized)")
        }
        Verdict::Pending {
            batch_index,
            window_end,
            l1_block,
            open_disputes,
        } => {
            println!(
                "VERIFIED, PENDING: in batch {batch_index} on L1; its dispute window ends at L1 block {window_end} (now {l1_block}){}",
                if *open_disputes > 0 {
                    format!("; {open_disputes} dispute game(s) open against it")
                } else {
                    String::new()
                }
            )
        }
        Verdict::Reverted { batch_index } => println!(
            "NOT VERIFIED: batch {batch_index}, which held this record, was reverted on L1 (a lost dispute)"
        ),
        Verdict::NotPosted { block } => println!(
            "NOT VERIFIED YET: the L2 endpoint puts it in block {block}, which is in no batch on L1 yet"
        ),
        Verdict::NotVerified { reason } => {
            println!("NOT VERIFIED: {reason} (the L2 endpoint is not telling the truth)")
        }
    }
    Ok(verdict.is_verified())
}
