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
use verdict_specs::l2::request::InferenceRequest;
use verdict_specs::model::{FeatureQuant, InputSpec};
use verdict_specs::quantize::quantize_input;
use verdict_specs::{DType, Tensor, TensorData};

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
    /// The input: the example's float features as a JSON array of numbers (the format
    /// `verdict model run --input` reads) or comma/whitespace-separated text, in the
    /// model's input order; they are quantized with the model's input quantization as the
    /// node describes it (verdict_getModel: inputScale, or inputFeatures per feature).
    /// A JSON tensor {"dtype":"i8","shape":[..],"data":[..]} is sent as it is. `-` reads
    /// stdin.
    #[arg(long, value_name = "FILE")]
    input: PathBuf,
    /// Read the array or text of --input as the integer tensor itself (integers in
    /// [-127, 127] for an i8 input, [-(2^31 - 1), 2^31 - 1] for an i32 one, shaped to the
    /// model's input), not as float features.
    #[arg(long)]
    raw: bool,
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
    let input = read_input(&args.input, &model, args.raw)?;
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
    // A regressor's real values; a classifier's class.
    let value = output_values(&model, &receipt.output);
    let class = value.is_none().then(|| class_of(&receipt.output)).flatten();
    if !args.json {
        println!("output       {}", tensor_text(&receipt.output));
        match &value {
            Some(values) => {
                let shown: Vec<String> = values.iter().map(|v| format!("{v:.6}")).collect();
                println!("value        [{}]", shown.join(", "));
            }
            None => {
                if let Some(class) = class {
                    println!("class        {class}");
                }
            }
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
            "task": model.task,
            "class": class,
            "value": value,
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
/// A regressor's dequantized output (`output * outputScale`); `None` for a classifier.
fn output_values(model: &ModelJson, output: &Tensor) -> Option<Vec<f64>> {
    (model.task == "regression").then(|| {
        (0..output.len())
            .filter_map(|i| output.data().get(i))
            .map(|v| v as f64 * f64::from(model.output_scale))
            .collect()
    })
}

fn read_input(path: &Path, model: &ModelJson, raw: bool) -> Result<Tensor> {
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading stdin")?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
    };
    parse_input(&text, &input_spec(model)?, raw)
        .with_context(|| format!("input {}", path.display()))
}

/// The model's input quantization, as `verdict_getModel` describes it.
fn input_spec(model: &ModelJson) -> Result<InputSpec> {
    let dtype = match model.input_dtype.as_str() {
        "i8" => DType::I8,
        "i32" => DType::I32,
        other => {
            bail!("the node describes an input of dtype {other:?}, which this build does not know")
        }
    };
    Ok(InputSpec {
        shape: model.input_shape.clone(),
        dtype,
        scale: model.input_scale,
        features: model
            .input_features
            .iter()
            .flatten()
            .map(|f| FeatureQuant {
                scale: f.scale,
                offset: f.offset,
            })
            .collect(),
    })
}

fn parse_input(text: &str, spec: &InputSpec, raw: bool) -> Result<Tensor> {
    let trimmed = text.trim();
    if trimmed.starts_with('{') {
        return serde_json::from_str(trimmed)
            .context("not a JSON tensor {\"dtype\",\"shape\",\"data\"}");
    }
    let values: Vec<f64> = if trimmed.starts_with('[') {
        serde_json::from_str(trimmed).context("not a JSON array of numbers")?
    } else {
        trimmed
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|t| !t.is_empty())
            .map(|t| {
                t.parse::<f64>()
                    .with_context(|| format!("{t:?} is not a number"))
            })
            .collect::<Result<_>>()?
    };
    let shape = &spec.shape;
    if !raw {
        return quantize_input(spec, &values).context("quantizing the features");
    }
    let expected: usize = shape.iter().map(|&d| d as usize).product();
    if values.len() != expected {
        bail!(
            "{} values given, the model's input {:?} holds {expected}",
            values.len(),
            shape
        );
    }
    let max = verdict_specs::quantize::input_max(spec.dtype) as f64;
    let ints = values
        .iter()
        .map(|&v| {
            (v.fract() == 0.0 && (-max..=max).contains(&v))
                .then_some(v as i64)
                .ok_or_else(|| {
                    anyhow::anyhow!("{v} is not an {} value in [{}, {max}]", spec.dtype, -max)
                })
        })
        .collect::<Result<Vec<i64>>>()?;
    let data = match spec.dtype {
        DType::I8 => TensorData::I8(ints.iter().map(|&v| v as i8).collect()),
        DType::I32 => TensorData::I32(ints.iter().map(|&v| v as i32).collect()),
    };
    Tensor::new(shape.to_vec(), data).context("shaping the input")
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

/// A classifier's class: the output itself when it is one label or index (a graph ending
/// in ArgMax or LabelLookup), else the index of the largest score.
fn class_of(t: &Tensor) -> Option<i64> {
    if t.len() == 1 {
        return t.data().get(0);
    }
    argmax(t).map(|i| i as i64)
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

    fn spec(shape: &[u32]) -> InputSpec {
        InputSpec::per_tensor(shape.to_vec(), 0.5)
    }

    #[test]
    fn raw_inputs_parse_in_every_form() {
        let t = parse_input("1, 2\n3 -4", &spec(&[2, 2]), true).expect("text");
        assert_eq!(t.as_i8(), Some(&[1i8, 2, 3, -4][..]));
        let t = parse_input("[1,2,3,4]", &spec(&[4]), true).expect("array");
        assert_eq!(t.shape(), &[4]);
        let t = parse_input(
            r#"{"dtype":"i8","shape":[1],"data":[5]}"#,
            &spec(&[9]),
            false,
        )
        .expect("tensor");
        assert_eq!(
            t.shape(),
            &[1],
            "a JSON tensor keeps its own shape; the node checks it"
        );
        assert!(parse_input("1 2 3", &spec(&[4]), true).is_err());
        assert!(parse_input("1 2 300 4", &spec(&[4]), true).is_err());
        assert!(parse_input("1 2 0.5 4", &spec(&[4]), true).is_err());
        assert!(parse_input("1 x", &spec(&[2]), true).is_err());
        let wide = InputSpec {
            dtype: DType::I32,
            ..spec(&[2])
        };
        let t = parse_input("[2147483647, -300]", &wide, true).expect("i32");
        assert_eq!(t.as_i32(), Some(&[i32::MAX, -300][..]));
        assert!(parse_input("[2147483648, 0]", &wide, true).is_err());
        // Float features of a wide input quantize to i32.
        let t = parse_input("[0.25, 1e12]", &wide, false).expect("floats");
        assert_eq!(t.as_i32(), Some(&[1, i32::MAX][..]));
    }

    #[test]
    fn float_features_are_quantized_with_the_models_scales() {
        // scale 0.5: 0.25 -> 1 (half up), -0.25 -> 0, 1000 -> 127.
        let t = parse_input("[0.25, -0.25, 1000]", &spec(&[3]), false).expect("floats");
        assert_eq!(t.as_i8(), Some(&[1i8, 0, 127][..]));
        let per_feature = InputSpec {
            features: vec![
                FeatureQuant {
                    scale: 2.0,
                    offset: 10.0,
                },
                FeatureQuant {
                    scale: 0.1,
                    offset: 0.0,
                },
            ],
            ..spec(&[2])
        };
        let t = parse_input("14 -0.3", &per_feature, false).expect("per feature");
        assert_eq!(t.as_i8(), Some(&[2i8, -3][..]));
        assert!(parse_input("[1, 2]", &spec(&[3]), false).is_err());
    }

    #[test]
    fn argmax_takes_the_first_maximum() {
        let t = Tensor::from_i32(vec![4], vec![1, 7, 7, 0]).expect("tensor");
        assert_eq!(argmax(&t), Some(1));
    }
}
