//! `requests.json`: what a client library computes before it sends anything, so the
//! Python and TypeScript clients (and any other) can be checked against this crate
//! without a node: float features quantized with a model's input quantization, the
//! input's commitment, the EIP-712 struct hash, digest, typed data and a deterministic
//! signature of inference requests, their record hashes once answered, and signed
//! withdrawals.

use serde::{Deserialize, Serialize};

use super::state::DevKey;
use crate::hash::to_hex;
use crate::l2::record::InferenceTx;
use crate::l2::request::{InferenceRequest, SignedRequest, SigningDomain, typed_data_json};
use crate::model::{FeatureQuant, InputSpec};
use crate::quantize::quantize_input;
use crate::tensor::{DType, Tensor, TensorData};

/// The file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RequestVectors {
    /// The signing domain, as the EIP-712 domain object.
    pub domain: serde_json::Value,
    /// Its separator.
    pub domain_separator: String,
    /// Signed inference requests and their records.
    pub requests: Vec<RequestCase>,
    /// Signed withdrawals.
    pub withdrawals: Vec<WithdrawalCase>,
    /// Float features quantized with a model's input quantization.
    pub quantization: Vec<QuantizationCase>,
}

/// One signed request, answered.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RequestCase {
    /// The signer's private key (a public test key).
    pub key: String,
    pub sender: String,
    pub nonce: u64,
    pub model_id: String,
    /// Wei, decimal.
    pub max_fee: String,
    pub input: Tensor,
    pub input_commitment: String,
    pub struct_hash: String,
    /// The EIP-712 digest, also the request's hash.
    pub request_hash: String,
    /// `r ‖ s ‖ v` (RFC 6979, low `s`, `v` 27 or 28).
    pub signature: String,
    /// The `eth_signTypedData_v4` typed data.
    pub typed_data: serde_json::Value,
    /// An output and the fee charged, and the record they make.
    pub output: Tensor,
    pub fee: String,
    pub record_hash: String,
}

/// One signed withdrawal.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WithdrawalCase {
    pub key: String,
    pub sender: String,
    pub nonce: u64,
    pub recipient: String,
    /// Wei, decimal.
    pub amount: String,
    pub struct_hash: String,
    /// The EIP-712 digest the sender signs.
    pub signing_hash: String,
    /// The leaf `keccak(0x09 ‖ fields)`: the API's `withdrawalHash`, `Bridge.claimed`'s key.
    pub withdrawal_hash: String,
    pub signature: String,
}

/// Features and the input tensor they quantize to.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct QuantizationCase {
    /// The input's quantization as `verdict_getModel` gives it (`inputDtype`,
    /// `inputShape`, `inputScale`, `inputFeatures`).
    pub model: serde_json::Value,
    pub features: Vec<f64>,
    pub tensor: Tensor,
}

fn address_hex(a: &[u8; 20]) -> String {
    alloy_primitives::Address::from(*a).to_checksum(None)
}

fn key_hex(seed: u8) -> String {
    format!("0x{}", hex::encode([seed.max(1); 32]))
}

fn i8_tensor(shape: Vec<u32>, data: Vec<i8>) -> Tensor {
    Tensor::new(shape, TensorData::I8(data)).expect("sizes match")
}

fn i32_tensor(shape: Vec<u32>, data: Vec<i32>) -> Tensor {
    Tensor::new(shape, TensorData::I32(data)).expect("sizes match")
}

/// The vectors; the domain is chain 31337 with a fixed Rollup address.
pub fn request_cases() -> RequestVectors {
    let domain = SigningDomain {
        chain_id: 31337,
        rollup: [0x9f; 20],
    };
    let typed = typed_data_json(
        &InferenceRequest {
            sender: [0; 20],
            nonce: 0,
            model_id: [0; 32],
            input: i8_tensor(vec![1], vec![0]),
            max_fee: 0,
        },
        &domain,
    );
    let requests = [
        // (key seed, nonce, model byte, input, max fee, output, fee)
        (
            1u8,
            0u64,
            0x11u8,
            i8_tensor(vec![3], vec![1, -2, 3]),
            1000u128,
            i32_tensor(vec![1], vec![23353]),
            1000u128,
        ),
        (
            2,
            7,
            0x22,
            i8_tensor(
                vec![1, 8, 5],
                (0..40).map(|i| ((i * 37) % 255 - 127) as i8).collect(),
            ),
            1_000_000_000_000,
            i8_tensor(vec![10], vec![-127, 0, 5, 127, 3, 2, 1, 0, -1, -2]),
            1_000_000_000_000,
        ),
        (
            3,
            u64::MAX,
            0xee,
            i32_tensor(vec![2], vec![i32::MAX, -i32::MAX]),
            u128::MAX,
            i32_tensor(vec![1], vec![1]),
            0,
        ),
    ]
    .into_iter()
    .map(|(seed, nonce, model, input, max_fee, output, fee)| {
        let key = DevKey::new(seed);
        let request = InferenceRequest {
            sender: key.address(),
            nonce,
            model_id: [model; 32],
            input,
            max_fee,
        };
        let commitment = request.input.commitment();
        let digest = request.signing_hash(&domain);
        let signature = key.sign(&digest);
        let tx = InferenceTx {
            signed: SignedRequest {
                request: request.clone(),
                signature,
            },
            output: output.clone(),
            fee,
        };
        RequestCase {
            key: key_hex(seed),
            sender: address_hex(&request.sender),
            nonce,
            model_id: to_hex(&request.model_id),
            max_fee: max_fee.to_string(),
            input_commitment: to_hex(&commitment),
            struct_hash: to_hex(&request.struct_hash_with(&commitment)),
            request_hash: to_hex(&digest),
            signature: format!("0x{}", hex::encode(signature)),
            typed_data: typed_data_json(&request, &domain),
            record_hash: to_hex(&tx.record(&domain).hash()),
            input: request.input,
            output,
            fee: fee.to_string(),
        }
    })
    .collect();
    let withdrawals = [
        (1u8, 0u64, [0x70; 20], 1u128),
        (4, 12, [0xab; 20], u128::MAX),
    ]
    .into_iter()
    .map(|(seed, nonce, recipient, amount)| {
        let key = DevKey::new(seed);
        let signed = key.withdrawal(&domain, nonce, recipient, amount);
        WithdrawalCase {
            key: key_hex(seed),
            sender: address_hex(&key.address()),
            nonce,
            recipient: address_hex(&recipient),
            amount: amount.to_string(),
            struct_hash: to_hex(&signed.withdrawal.struct_hash()),
            signing_hash: to_hex(&signed.withdrawal.signing_hash(&domain)),
            withdrawal_hash: to_hex(&signed.withdrawal.leaf()),
            signature: format!("0x{}", hex::encode(signed.signature)),
        }
    })
    .collect();
    RequestVectors {
        domain: typed["domain"].clone(),
        domain_separator: to_hex(&domain.separator()),
        requests,
        withdrawals,
        quantization: quantization_cases(),
    }
}

fn quantization_cases() -> Vec<QuantizationCase> {
    let per_feature = |scales: &[(f32, f32)]| -> Vec<FeatureQuant> {
        scales
            .iter()
            .map(|&(scale, offset)| FeatureQuant { scale, offset })
            .collect()
    };
    let specs = [
        // Halves round up (-0.5 -> 0), large values saturate, an f32 scale with no
        // short decimal (a client must widen the f32, not the printed decimal).
        (
            InputSpec::per_tensor(vec![8], 0.5),
            vec![0.25, -0.25, 0.75, -0.75, 1000.0, -1000.0, 0.0, 63.4],
        ),
        (
            InputSpec::per_tensor(vec![2, 3], 0.011_729_415),
            vec![
                0.005_864_707_287_400_961,
                -0.005_864_707_287_400_961,
                1.0,
                -1.489_635_7,
                0.1,
                1e-9,
            ],
        ),
        (
            InputSpec {
                features: per_feature(&[(0.5, 10.0), (100.0, 0.0), (0.003_921_569, -0.5)]),
                ..InputSpec::per_tensor(vec![3], 1.0)
            },
            vec![10.25, 1000.0, 0.0],
        ),
        (
            InputSpec {
                dtype: DType::I32,
                features: per_feature(&[(1e-6, 0.0), (0.25, 3.5)]),
                ..InputSpec::per_tensor(vec![2], 1.0)
            },
            vec![0.123_456_7, -1e300],
        ),
    ];
    specs
        .into_iter()
        .map(|(spec, features)| {
            let tensor = quantize_input(&spec, &features).expect("valid features");
            // As a node writes an f32: its shortest decimal (0.011729415), which a
            // client must narrow to f32 again before widening it.
            let wire = |v: f32| v.to_string().parse::<f64>().unwrap_or(f64::from(v));
            let model = serde_json::json!({
                "inputDtype": spec.dtype.name(),
                "inputShape": spec.shape,
                "inputScale": wire(spec.scale),
                "inputFeatures": (!spec.features.is_empty()).then(|| spec
                    .features
                    .iter()
                    .map(|f| serde_json::json!({"scale": wire(f.scale), "offset": wire(f.offset)}))
                    .collect::<Vec<_>>()),
            });
            QuantizationCase {
                model,
                features,
                tensor,
            }
        })
        .collect()
}
