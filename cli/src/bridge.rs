//! `verdict bridge deposit|withdraw|status|prove`: moving ETH between L1 and L2.
//!
//! A deposit is an L1 transaction to the Bridge; the sequencer must credit it on L2 (in
//! queue order, within the forced-inclusion deadline). A withdrawal is an EIP-712 message
//! signed for L2; once the batch holding it is final on L1, anyone submits its inclusion
//! proof to `Bridge.finalizeWithdrawal`, which pays the recipient once. `status` and
//! `prove` check everything the L2 endpoint says against L1 before believing it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use alloy::primitives::utils::{format_ether, parse_ether};
use alloy::primitives::{Address, B256, U256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use serde::Serialize;
use verdict_devchain::DevAccounts;
use verdict_l1::client::signer::{KEYSTORE_PASSWORD_ENV, load_signer};
use verdict_l1::client::{ClientConfig, L1Client};
use verdict_l1::contracts::VerdictL1;
use verdict_l1::deploy::Deployment;
use verdict_l1::withdrawals::WithdrawalProof;
use verdict_rpc::VerdictApiClient;
use verdict_rpc::signing::domain_of;
use verdict_rpc::types::{SignedWithdrawalJson, WithdrawalJson};
use verdict_specs::l2::withdrawal::{SignedWithdrawal, Withdrawal};
use verdict_specs::merkle::MerkleProof;

/// Move ETH between L1 and L2: deposit, withdraw, follow a withdrawal, claim it on L1.
#[derive(Subcommand, Debug)]
pub(crate) enum BridgeCommand {
    /// Deposit ETH from an L1 account to an L2 account (an L1 transaction to the Bridge).
    Deposit(DepositArgs),
    /// Withdraw ETH from L2 to an L1 address: sign and send a withdrawal to the sequencer.
    Withdraw(WithdrawArgs),
    /// Where a withdrawal stands: waiting for its batch, in the dispute window until L1
    /// block N, ready to claim, or claimed. Everything the L2 endpoint says is checked
    /// against L1.
    Status(StatusArgs),
    /// Claim a withdrawal on L1 once its batch is final: submit its inclusion proof to
    /// `Bridge.finalizeWithdrawal`, which pays the recipient (once). Anyone may send it.
    Prove(ProveArgs),
}

/// Where the two chains are.
#[derive(Args, Debug)]
pub(crate) struct Endpoints {
    /// The L2 JSON-RPC endpoint (sequencer or full node; not trusted for status).
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8645")]
    rpc: String,
    /// The L1 JSON-RPC endpoint.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8545")]
    l1_rpc: String,
    /// The deployment file (`verdict l1 deploy`, or `deployment.json` in the devnet's data
    /// dir). Without it the contract addresses are taken from the L2 endpoint.
    #[arg(long, value_name = "FILE")]
    deployment: Option<PathBuf>,
}

/// The key that signs.
#[derive(Args, Debug)]
pub(crate) struct KeyArg {
    /// Signing key: 0x-hex private key or a keystore file (password from
    /// VERDICT_KEYSTORE_PASSWORD). Default: devnet dev account 1.
    #[arg(long)]
    pub(crate) key: Option<String>,
}

#[derive(Args, Debug)]
pub(crate) struct DepositArgs {
    /// Amount in ETH (decimal, e.g. 0.5).
    #[arg(long, value_name = "ETH")]
    amount: String,
    /// The L2 account credited (default: the signer's own address).
    #[arg(long, value_name = "ADDRESS")]
    to: Option<Address>,
    /// Wait until the sequencer has credited the deposit on L2.
    #[arg(long)]
    wait: bool,
    /// Give up waiting after this many seconds.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    #[command(flatten)]
    key: KeyArg,
    #[command(flatten)]
    endpoints: Endpoints,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub(crate) struct WithdrawArgs {
    /// Amount in ETH (decimal).
    #[arg(long, value_name = "ETH")]
    amount: String,
    /// The L1 address paid (default: the signer's own address).
    #[arg(long, value_name = "ADDRESS")]
    to: Option<Address>,
    #[command(flatten)]
    key: KeyArg,
    /// The L2 JSON-RPC endpoint of the sequencer.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8645")]
    rpc: String,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub(crate) struct StatusArgs {
    /// The withdrawal's hash (`withdrawalHash` from `verdict bridge withdraw`).
    withdrawal: B256,
    #[command(flatten)]
    endpoints: Endpoints,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub(crate) struct ProveArgs {
    /// The withdrawal's hash.
    withdrawal: B256,
    /// Wait until the batch is final, then claim (otherwise a withdrawal that is not
    /// ready is an error that says when it will be).
    #[arg(long)]
    wait: bool,
    /// Give up waiting after this many seconds.
    #[arg(long, default_value_t = 3600)]
    timeout: u64,
    #[command(flatten)]
    key: KeyArg,
    #[command(flatten)]
    endpoints: Endpoints,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(command: BridgeCommand) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        match command {
            BridgeCommand::Deposit(args) => deposit(args).await,
            BridgeCommand::Withdraw(args) => withdraw(args).await,
            BridgeCommand::Status(args) => status(args).await,
            BridgeCommand::Prove(args) => prove(args).await,
        }
    })
}

pub(crate) fn signer(key: &KeyArg) -> Result<PrivateKeySigner> {
    match &key.key {
        Some(key) => load_signer(key, std::env::var(KEYSTORE_PASSWORD_ENV).ok().as_deref())
            .context("loading --key"),
        None => DevAccounts::default()
            .derive()
            .context("deriving the dev accounts")?
            .get(1)
            .cloned()
            .context("no dev account 1"),
    }
}

fn amount_wei(text: &str) -> Result<u128> {
    let wei =
        parse_ether(text).with_context(|| format!("--amount {text:?} is not an ETH amount"))?;
    if wei.is_zero() {
        bail!("--amount must be more than 0");
    }
    u128::try_from(wei).context("--amount is above 2^128 wei")
}

pub(crate) fn l2_client(url: &str) -> Result<HttpClient> {
    HttpClientBuilder::default()
        .request_timeout(Duration::from_secs(30))
        .build(url)
        .with_context(|| format!("L2 endpoint {url}"))
}

/// The L1 contracts, from the deployment file or (unpinned) from the L2 endpoint.
async fn contracts(
    endpoints: &Endpoints,
    signer: Option<PrivateKeySigner>,
    l2: &HttpClient,
) -> Result<VerdictL1> {
    bind_contracts(
        &endpoints.l1_rpc,
        endpoints.deployment.as_deref(),
        Some((&endpoints.rpc, l2)),
        signer,
    )
    .await
}

/// The L1 contracts at `l1_rpc`: those of the `deployment` file, else (unpinned) those
/// the L2 endpoint names.
pub(crate) async fn bind_contracts(
    l1_rpc: &str,
    deployment: Option<&std::path::Path>,
    l2: Option<(&str, &HttpClient)>,
    signer: Option<PrivateKeySigner>,
) -> Result<VerdictL1> {
    let client = L1Client::connect(l1_rpc, signer, ClientConfig::default())
        .await
        .with_context(|| format!("connecting to L1 at {l1_rpc}"))?;
    let deployment = match (deployment, l2) {
        (Some(path), _) => {
            Deployment::read(path).with_context(|| format!("reading {}", path.display()))?
        }
        (None, None) => bail!(
            "no --deployment: pass the deployment file (`verdict l1 deploy`, or deployment.json in the devnet's data dir)"
        ),
        (None, Some((url, l2))) => {
            let info = l2
                .chain_info()
                .await
                .with_context(|| format!("asking {url} for its chain info"))?;
            eprintln!(
                "note: contract addresses come from the L2 endpoint; pass --deployment to pin them"
            );
            Deployment {
                version: verdict_l1::deploy::DEPLOYMENT_VERSION,
                chain_id: info.l1_chain_id.to::<u64>(),
                deployer: Address::ZERO,
                deployed_at_block: 0,
                bridge: info.bridge,
                model_registry: info.model_registry,
                rollup: info.rollup,
                sequencer: info.sequencer,
                dispute_window: info.dispute_window.to::<u64>(),
                min_bond: U256::ZERO,
                one_step_verifier: Address::ZERO,
                dispute_game: Address::ZERO,
                challenger_bond: U256::ZERO,
                clock_blocks: 0,
                state_step_verifier: Address::ZERO,
                batch_data_verifier: Address::ZERO,
                inclusion_deadline: 0,
            }
        }
    };
    VerdictL1::new(client, deployment).context("binding the deployment")
}

async fn deposit(args: DepositArgs) -> Result<()> {
    let signer = signer(&args.key)?;
    let amount = amount_wei(&args.amount)?;
    let to = args.to.unwrap_or(signer.address());
    let l2 = l2_client(&args.endpoints.rpc)?;
    let l1 = contracts(&args.endpoints, Some(signer), &l2).await?;
    let before = if args.wait {
        Some(
            l2.get_account(to)
                .await
                .context("verdict_getAccount")?
                .balance,
        )
    } else {
        None
    };
    let deposit = l1
        .deposit(to, U256::from(amount))
        .await
        .context("sending the deposit to the Bridge")?;
    if !args.json {
        println!(
            "deposited  {} ETH to L2 account {to}",
            format_ether(U256::from(amount))
        );
        println!(
            "queue      index {} (L1 block {})",
            deposit.index, deposit.l1_block
        );
    }
    let mut credited = None;
    if let Some(before) = before {
        let deadline = Instant::now() + Duration::from_secs(args.timeout);
        loop {
            let now = l2
                .get_account(to)
                .await
                .context("verdict_getAccount")?
                .balance;
            if now >= before + U256::from(amount) {
                credited = Some(now);
                break;
            }
            if Instant::now() >= deadline {
                bail!(
                    "timed out after {} s waiting for the L2 credit",
                    args.timeout
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        if !args.json {
            println!(
                "credited   L2 balance is now {} ETH",
                format_ether(credited.unwrap_or_default())
            );
        }
    }
    if args.json {
        let value = serde_json::json!({
            "index": deposit.index,
            "l1Block": deposit.l1_block,
            "recipient": to,
            "amount": amount.to_string(),
            "l2Balance": credited.map(|b| b.to_string()),
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
    }
    Ok(())
}

async fn withdraw(args: WithdrawArgs) -> Result<()> {
    let signer = signer(&args.key)?;
    let amount = amount_wei(&args.amount)?;
    let to = args.to.unwrap_or(signer.address());
    let l2 = l2_client(&args.rpc)?;
    let info = l2.chain_info().await.context("verdict_chainInfo")?;
    let account = l2
        .get_account(signer.address())
        .await
        .context("verdict_getAccount")?;
    let withdrawal = Withdrawal {
        sender: signer.address().into_array(),
        nonce: account.nonce.to::<u64>(),
        recipient: to.into_array(),
        amount,
    };
    let digest = B256::from(withdrawal.signing_hash(&domain_of(&info)));
    let signature = signer.sign_hash_sync(&digest).context("signing")?;
    let signed = SignedWithdrawal {
        withdrawal,
        signature: signature.as_bytes(),
    };
    let receipt = l2
        .send_withdrawal(SignedWithdrawalJson::from_signed(&signed))
        .await
        .map_err(|e| anyhow::anyhow!("the sequencer refused the withdrawal: {e}"))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&receipt)?);
    } else {
        println!(
            "withdrawal {} ETH from L2 {} to L1 {to}",
            format_ether(U256::from(amount)),
            signer.address()
        );
        println!("hash       {}", receipt.withdrawal_hash);
        println!(
            "block      {} (index {})",
            receipt.block_number, receipt.index
        );
        println!(
            "next       once its batch is final: verdict bridge prove {}",
            receipt.withdrawal_hash
        );
    }
    Ok(())
}

/// Where a withdrawal stands, as L1 confirms it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "camelCase")]
enum WithdrawalStatus {
    /// The L2 endpoint does not know it.
    Unknown,
    /// In an L2 block that no batch on L1 holds yet.
    WaitingForBatch { block: u64 },
    /// In a posted batch whose dispute window is open.
    #[serde(rename_all = "camelCase")]
    InDisputeWindow {
        batch_index: u64,
        window_end: u64,
        l1_block: u64,
    },
    /// In a final batch, not claimed yet.
    #[serde(rename_all = "camelCase")]
    ReadyToClaim { batch_index: u64 },
    /// Paid out on L1.
    #[serde(rename_all = "camelCase")]
    Claimed { batch_index: u64 },
    /// The batch that held it was reverted on L1.
    #[serde(rename_all = "camelCase")]
    Reverted { batch_index: u64 },
    /// The L2 endpoint's answer does not hold against L1.
    NotVerified { reason: String },
}

/// What [`check`] found: the status and, when posted, what a claim needs.
struct Checked {
    status: WithdrawalStatus,
    found: Option<WithdrawalJson>,
    claim: Option<(verdict_specs::batch::BatchHeader, WithdrawalProof)>,
}

async fn check(l2: &HttpClient, l1: &VerdictL1, hash: B256) -> Result<Checked> {
    let not_verified = |reason: String| Checked {
        status: WithdrawalStatus::NotVerified { reason },
        found: None,
        claim: None,
    };
    let Some(found) = l2
        .get_withdrawal(hash)
        .await
        .context("verdict_getWithdrawal")?
    else {
        return Ok(Checked {
            status: WithdrawalStatus::Unknown,
            found: None,
            claim: None,
        });
    };
    let withdrawal = Withdrawal {
        sender: found.sender.into_array(),
        nonce: found.nonce.to::<u64>(),
        recipient: found.recipient.into_array(),
        amount: u128::try_from(found.amount).unwrap_or(u128::MAX),
    };
    if B256::from(withdrawal.leaf()) != hash {
        return Ok(not_verified(
            "the withdrawal served does not hash to the hash asked for".into(),
        ));
    }
    let Some(inclusion) = found.proof.clone() else {
        return Ok(Checked {
            status: WithdrawalStatus::WaitingForBatch {
                block: found.block_number.to::<u64>(),
            },
            found: Some(found),
            claim: None,
        });
    };
    let block = inclusion.block.to_header();
    let index = inclusion.index.to::<u64>();
    let path = MerkleProof {
        index,
        siblings: inclusion.proof.iter().map(|h| h.0).collect(),
    };
    if index >= u64::from(block.withdrawal_count) || !path.verify(hash.0, &block.withdrawals_root) {
        return Ok(not_verified(format!(
            "the proof does not put the withdrawal in block {}",
            block.number
        )));
    }
    let later: Vec<_> = inclusion
        .later_headers
        .iter()
        .map(|h| h.to_header())
        .collect();
    let mut tip = block.hash();
    for h in &later {
        if h.parent_hash != tip {
            return Ok(not_verified(format!("header {} does not chain", h.number)));
        }
        tip = h.hash();
    }
    let batch_index = inclusion.batch_index.to::<u64>();
    let Some(batch) = l1.current_batch(batch_index).await? else {
        return Ok(Checked {
            status: WithdrawalStatus::Reverted { batch_index },
            found: Some(found),
            claim: None,
        });
    };
    if batch.output_root != tip {
        // The batch at that index on L1 is another one: ours was reverted, or the
        // endpoint made the proof up.
        return Ok(Checked {
            status: WithdrawalStatus::NotVerified {
                reason: format!("L1's batch {batch_index} has another output root"),
            },
            found: Some(found),
            claim: None,
        });
    }
    let claim = Some((
        batch,
        WithdrawalProof {
            proof: inclusion.proof.clone(),
            index,
            block,
            later_headers: later,
        },
    ));
    let status = if l1.withdrawal_claimed(hash).await? {
        WithdrawalStatus::Claimed { batch_index }
    } else if l1.is_finalized(batch_index).await? {
        WithdrawalStatus::ReadyToClaim { batch_index }
    } else {
        WithdrawalStatus::InDisputeWindow {
            batch_index,
            window_end: batch.window_end(l1.deployment().dispute_window),
            l1_block: l1.client().block_number().await?,
        }
    };
    Ok(Checked {
        status,
        found: Some(found),
        claim,
    })
}

fn describe(status: &WithdrawalStatus) -> String {
    match status {
        WithdrawalStatus::Unknown => {
            "unknown: the L2 endpoint does not know this withdrawal".into()
        }
        WithdrawalStatus::WaitingForBatch { block } => {
            format!("waiting for batch: in L2 block {block}, not posted to L1 yet")
        }
        WithdrawalStatus::InDisputeWindow {
            batch_index,
            window_end,
            l1_block,
        } => format!(
            "in dispute window until L1 block {window_end} (now {l1_block}; batch {batch_index}); then finalize the batch and claim"
        ),
        WithdrawalStatus::ReadyToClaim { batch_index } => {
            format!("ready to claim: batch {batch_index} is final (verdict bridge prove)")
        }
        WithdrawalStatus::Claimed { batch_index } => {
            format!("claimed: paid out on L1 (batch {batch_index})")
        }
        WithdrawalStatus::Reverted { batch_index } => format!(
            "reverted: batch {batch_index}, which held it, was reverted on L1; it is not payable from that batch"
        ),
        WithdrawalStatus::NotVerified { reason } => {
            format!("not verified: {reason} (the L2 endpoint is not telling the truth)")
        }
    }
}

async fn status(args: StatusArgs) -> Result<()> {
    let l2 = l2_client(&args.endpoints.rpc)?;
    let l1 = contracts(&args.endpoints, None, &l2).await?;
    let checked = check(&l2, &l1, args.withdrawal).await?;
    if args.json {
        let value = serde_json::json!({
            "withdrawalHash": args.withdrawal,
            "state": checked.status,
            "withdrawal": checked.found,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        if let Some(w) = &checked.found {
            println!(
                "withdrawal {} ETH from L2 {} to L1 {}",
                format_ether(w.amount),
                w.sender,
                w.recipient
            );
        }
        println!("status     {}", describe(&checked.status));
    }
    Ok(())
}

async fn prove(args: ProveArgs) -> Result<()> {
    let signer = signer(&args.key)?;
    let l2 = l2_client(&args.endpoints.rpc)?;
    let l1 = contracts(&args.endpoints, Some(signer), &l2).await?;
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let mut last = None;
    let (batch, proof, found) = loop {
        let checked = check(&l2, &l1, args.withdrawal).await?;
        if last.as_ref() != Some(&checked.status) && !args.json {
            println!("status     {}", describe(&checked.status));
        }
        match (&checked.status, checked.claim, checked.found) {
            (WithdrawalStatus::ReadyToClaim { .. }, Some((batch, proof)), Some(found)) => {
                break (batch, proof, found);
            }
            (WithdrawalStatus::Claimed { .. }, ..) => bail!("the withdrawal was already claimed"),
            (
                WithdrawalStatus::WaitingForBatch { .. } | WithdrawalStatus::InDisputeWindow { .. },
                ..,
            ) if args.wait => {}
            (status, ..) => bail!("cannot claim yet: {}", describe(status)),
        }
        if Instant::now() >= deadline {
            bail!(
                "timed out after {} s waiting for the batch to be final",
                args.timeout
            );
        }
        last = Some(checked.status);
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let withdrawal = Withdrawal {
        sender: found.sender.into_array(),
        nonce: found.nonce.to::<u64>(),
        recipient: found.recipient.into_array(),
        amount: u128::try_from(found.amount).context("amount above 2^128")?,
    };
    let (receipt, event) = l1
        .finalize_withdrawal(&batch, &withdrawal, &proof)
        .await
        .context("Bridge.finalizeWithdrawal")?;
    if args.json {
        let value = serde_json::json!({
            "withdrawalHash": args.withdrawal,
            "recipient": event.recipient,
            "amount": event.amount.to_string(),
            "l1Transaction": receipt.transaction_hash,
            "gasUsed": receipt.gas_used,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!(
            "claimed    {} ETH paid to {} on L1",
            format_ether(event.amount),
            event.recipient
        );
        println!(
            "l1 tx      {} (gas {})",
            receipt.transaction_hash, receipt.gas_used
        );
    }
    Ok(())
}
