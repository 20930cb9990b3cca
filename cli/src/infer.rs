//! `verdict infer`: sign a request, send it, print the answer and follow its status.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use jsonrpsee::http_client::HttpClientBuilder;
use jsonrpsee::ws_client::WsClientBuilder;
use serde_json::json;
use verdict_devchain::DevAccounts;
use verdict_l1::client::signer::{KEYSTORE_PASSWORD_ENV, load_signer};
use verdict_rpc::VerdictApiClient;
use verdict_rpc::signing::{domain_of, sign_request_json};
use verdict_rpc::types::{ModelJson, Status};
use verdict_specs::Tensor;
use verdict_specs::l2::request::InferenceRequest;

/// When `verdict infer` returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Wait {
    /// As soon as the sequencer answers (the record is durable in its chain).
    Answer,
    /// Once the record's batch is posted on L1.
    Posted,
    /// Once the batch is final on L1 (after its dispute window).
    Final,
}

/// Sign an inference request, send it to a Verdict node, print the output.
///
/// The output comes back as soon as the sequencer has recorded it durably; with --wait
/// the command also follows the record until its batch is posted on L1 or final, printing
/// each status change.
#[derive(Args, Debug)]
pub(crate) struct InferArgs {
    /// The node's JSON-RPC URL (http:// or ws://).
    #[arg(long, default_value = "http://127.0.0.1:8645")]
    rpc: String,
    /// The model: its registered name (e.g. digits-mlp) or its 0x id.
    #[arg(long)]
    model: String,
    /// The input: a JSON tensor {"dtype":"i8","shape":[..],"data":[..]}, or the model's
    /// int8 input values as a JSON array or comma/whitespace-separated text (shaped to the
    /// model's input). `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    input: PathBuf,
    /// Signing key: 0x-hex private key or a keystore file (password from
    /// VERDICT_KEYSTORE_PASSWORD). Default: devnet dev account 1.
    #[arg(long)]
    key: Option<String>,
    /// Also wait until the record's batch is posted or final.
    #[arg(long, value_enum, default_value_t = Wait::Answer)]
    wait: Wait,
    /// Give up waiting after this many seconds.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    /// Largest fee to agree to, in wei (default: the model's fee).
    #[arg(long)]
    max_fee: Option<u128>,
    /// Print one JSON object at the end instead of text.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: InferArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(infer(args))
}

async fn infer(args: InferArgs) -> Result<()> {
    if args.rpc.starts_with("ws://") || args.rpc.starts_with("wss://") {
        let client = WsClientBuilder::default()
            .build(&args.rpc)
            .await
            .with_context(|| format!("connecting to {}", args.rpc))?;
        infer_with(&client, &args).await
    } else {
        let client = HttpClientBuilder::default()
            .build(&args.rpc)
            .with_context(|| format!("connecting to {}", args.rpc))?;
        infer_with(&client, &args).await
    }
}

async fn infer_with<C: VerdictApiClient + Sync>(client: &C, args: &InferArgs) -> Result<()> {
    let signer = match &args.key {
        Some(key) => load_signer(key, std::env::var(KEYSTORE_PASSWORD_ENV).ok().as_deref())
            .context("loading --key")?,
        None => DevAccounts::default()
            .derive()
            .context("deriving the dev accounts")?
            .get(1)
            .cloned()
            .context("no dev account 1")?,
    };
    let info = client.chain_info().await.context("verdict_chainInfo")?;
    let model = client
        .get_model(args.model.clone())
        .await
        .context("verdict_getModel")?
        .with_context(|| {
            format!(
                "the node serves no model {:?}; see verdict_models",
                args.model
            )
        })?;
    let input = read_input(&args.input, &model)?;
    let account = client
        .get_account(signer.address())
        .await
        .context("verdict_getAccount")?;
    let max_fee = match args.max_fee {
        Some(fee) => fee,
        None => u128::try_from(model.fee_per_inference)
            .context("the model's fee does not fit 128 bits")?,
    };
    let request = InferenceRequest {
        sender: signer.address().into_array(),
        nonce: account.nonce.to::<u64>(),
        model_id: model.id.0,
        input,
        max_fee,
    };
    let signed = sign_request_json(&signer, request, &domain_of(&info)).context("signing")?;
    let receipt = client
        .send_inference(signed)
        .await
        .map_err(|e| refused("verdict_sendInference", e))?;
    if !args.json {
        println!("output       {}", tensor_text(&receipt.output));
        if let Some(class) = argmax(&receipt.output) {
            println!("class        {class}");
        }
        println!("record       {}", receipt.record_hash);
        println!(
            "block        {} (index {})",
            receipt.block_number, receipt.index
        );
        println!("fee          {} wei", receipt.fee);
    }
    let mut status = Status::Pending;
    let mut batch = None;
    if args.wait != Wait::Answer {
        if !args.json {
            println!("status       pending");
        }
        let deadline = Instant::now() + Duration::from_secs(args.timeout);
        loop {
            let found = client
                .get_inference(receipt.record_hash)
                .await
                .context("verdict_getInference")?;
            if let Some(found) = found
                && found.status != status
            {
                status = found.status;
                batch = found.batch_index;
                if !args.json {
                    match found.batch_index {
                        Some(b) => println!("status       {} (batch {b})", name(status)),
                        None => println!("status       {}", name(status)),
                    }
                }
            }
            if status == Status::Reverted {
                bail!("the record's batch was reverted on L1");
            }
            let done = match args.wait {
                Wait::Posted => matches!(status, Status::Posted | Status::Finalized),
                Wait::Final => status == Status::Finalized,
                Wait::Answer => true,
            };
            if done {
                break;
            }
            if Instant::now() >= deadline {
                bail!(
                    "timed out after {} s waiting for status {:?}",
                    args.timeout,
                    args.wait
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    if args.json {
        let value = json!({
            "record_hash": receipt.record_hash,
            "request_hash": receipt.request_hash,
            "output": receipt.output,
            "class": argmax(&receipt.output),
            "block": receipt.block_number.to::<u64>(),
            "index": receipt.index.to::<u64>(),
            "fee": receipt.fee.to_string(),
            "model": model.name,
            "status": name(status),
            "batch": batch.map(|b| b.to::<u64>()),
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
    }
    Ok(())
}

/// A JSON-RPC error as a sentence: the node's message and its stable code.
fn refused(method: &str, e: jsonrpsee::core::ClientError) -> anyhow::Error {
    match e {
        jsonrpsee::core::ClientError::Call(obj) => {
            anyhow::anyhow!("{method} refused (code {}): {}", obj.code(), obj.message())
        }
        other => anyhow::anyhow!("{method}: {other}"),
    }
}

fn name(status: Status) -> &'static str {
    match status {
        Status::Pending => "pending",
        Status::Posted => "posted",
        Status::Finalized => "finalized",
        Status::Reverted => "reverted",
    }
}

/// Reads an input file in any of the accepted forms.
fn read_input(path: &Path, model: &ModelJson) -> Result<Tensor> {
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading stdin")?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
    };
    parse_input(&text, &model.input_shape).with_context(|| format!("input {}", path.display()))
}

fn parse_input(text: &str, shape: &[u32]) -> Result<Tensor> {
    let trimmed = text.trim();
    if trimmed.starts_with('{') {
        return serde_json::from_str(trimmed)
            .context("not a JSON tensor {\"dtype\",\"shape\",\"data\"}");
    }
    let values: Vec<i64> = if trimmed.starts_with('[') {
        serde_json::from_str(trimmed).context("not a JSON array of integers")?
    } else {
        trimmed
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|t| !t.is_empty())
            .map(|t| {
                t.parse::<i64>()
                    .with_context(|| format!("{t:?} is not an integer"))
            })
            .collect::<Result<_>>()?
    };
    let expected: usize = shape.iter().map(|&d| d as usize).product();
    if values.len() != expected {
        bail!(
            "{} values given, the model's input {:?} holds {expected}",
            values.len(),
            shape
        );
    }
    let data = values
        .iter()
        .map(|&v| i8::try_from(v).map_err(|_| anyhow::anyhow!("{v} is not an int8 value")))
        .collect::<Result<Vec<i8>>>()?;
    Tensor::from_i8(shape.to_vec(), data).context("shaping the input")
}

fn tensor_text(t: &Tensor) -> String {
    let values: Vec<String> = (0..t.len())
        .filter_map(|i| t.data().get(i))
        .map(|v| v.to_string())
        .collect();
    format!(
        "{}[{}] {}",
        t.dtype().name(),
        shape_text(t.shape()),
        format_args!("[{}]", values.join(", "))
    )
}

fn shape_text(shape: &[u32]) -> String {
    shape
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join("x")
}

fn argmax(t: &Tensor) -> Option<usize> {
    if t.len() <= 1 {
        return None;
    }
    (0..t.len())
        .filter_map(|i| t.data().get(i).map(|v| (i, v)))
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_parse_in_every_form() {
        let t = parse_input("1, 2\n3 -4", &[2, 2]).expect("text");
        assert_eq!(t.as_i8(), Some(&[1i8, 2, 3, -4][..]));
        let t = parse_input("[1,2,3,4]", &[4]).expect("array");
        assert_eq!(t.shape(), &[4]);
        let t = parse_input(r#"{"dtype":"i8","shape":[1],"data":[5]}"#, &[9]).expect("tensor");
        assert_eq!(
            t.shape(),
            &[1],
            "a JSON tensor keeps its own shape; the node checks it"
        );
        assert!(parse_input("1 2 3", &[4]).is_err());
        assert!(parse_input("1 2 300 4", &[4]).is_err());
        assert!(parse_input("1 x", &[2]).is_err());
    }

    #[test]
    fn argmax_takes_the_first_maximum() {
        let t = Tensor::from_i32(vec![4], vec![1, 7, 7, 0]).expect("tensor");
        assert_eq!(argmax(&t), Some(1));
    }
}
