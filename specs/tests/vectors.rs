//! The committed vectors equal a fresh generation, and every case re-verifies from
//! the file alone (decoding the model bytes, re-running the interpreter, re-checking
//! every opening), so the files can be trusted by other implementations.

use std::path::PathBuf;
use verdict_specs::hash::to_hex;
use verdict_specs::vectors::{self, ArithmeticVectors, MerkleCase, ModelCase, TensorCase};
use verdict_specs::{Model, interpreter, merkle, ops};

fn read(name: &str) -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("vectors")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "reading {}: {e} (run `cargo run -p verdict-specs --example write-vectors`)",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("vector files are JSON")
}

#[test]
fn committed_vectors_are_current() {
    for (name, fresh) in vectors::generate() {
        assert!(
            read(name) == fresh,
            "specs/vectors/{name} is stale: run `cargo run -p verdict-specs --example write-vectors`"
        );
    }
}

#[test]
fn merkle_vectors_verify() {
    let cases: Vec<MerkleCase> = serde_json::from_value(read("merkle.json")).expect("schema");
    for case in cases {
        for (leaf, proof) in case.leaves.iter().zip(&case.proofs) {
            let bytes = hex::decode(leaf.trim_start_matches("0x")).expect("hex");
            assert!(proof.verify(merkle::leaf_hash(&bytes), &case.root));
        }
    }
}

#[test]
fn tensor_vectors_verify() {
    let cases: Vec<TensorCase> = serde_json::from_value(read("tensors.json")).expect("schema");
    for case in cases {
        let t = &case.tensor;
        assert_eq!(
            case.element_bytes,
            format!("0x{}", hex::encode(t.element_bytes()))
        );
        assert_eq!(case.commitment, t.commitment());
        for opening in &case.element_openings {
            assert!(opening.verify(t.dtype(), t.shape(), &case.commitment));
        }
        assert!(
            case.row_opening
                .verify(t.dtype(), t.shape(), &case.commitment)
        );
    }
}

#[test]
fn arithmetic_vectors_verify() {
    let v: ArithmeticVectors = serde_json::from_value(read("arithmetic.json")).expect("schema");
    for c in v.requantize {
        let r = verdict_specs::model::Requant {
            multiplier: c.multiplier,
            shift: c.shift,
        };
        assert_eq!(ops::requantize(c.x, r), c.expected, "{c:?}");
    }
    for c in v.add {
        assert_eq!(
            ops::add_element(c.a, c.b, c.a_multiplier, c.b_multiplier, c.shift),
            c.expected
        );
    }
    for [s, n, q] in v.round_div {
        assert_eq!(ops::round_div_half_up(s, n), q);
    }
}

#[test]
fn model_vectors_rerun_from_their_bytes() {
    let cases: Vec<ModelCase> = serde_json::from_value(read("models.json")).expect("schema");
    assert!(cases.len() >= 10);
    for case in cases {
        let bytes = hex::decode(case.model_hex.trim_start_matches("0x")).expect("hex");
        let model = Model::decode(&bytes).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(model.graph(), &case.graph, "{}", case.name);
        assert_eq!(model.weights(), case.weights.as_slice(), "{}", case.name);
        assert_eq!(model.id(), case.model_id, "{}", case.name);
        let trace = interpreter::trace(&model, &case.input).expect("input matches");
        assert_eq!(trace, case.trace, "{}", case.name);
        let commitments: Vec<String> = trace.iter().map(|t| to_hex(&t.commitment())).collect();
        assert_eq!(commitments, case.trace_commitments, "{}", case.name);
    }
}

#[test]
fn deposit_vectors_verify() {
    use verdict_specs::bridge::{EMPTY_QUEUE, accumulate};
    use verdict_specs::vectors::DepositCase;
    let cases: Vec<DepositCase> = serde_json::from_value(read("deposits.json")).expect("schema");
    assert!(!cases.is_empty());
    let mut acc = EMPTY_QUEUE;
    for (i, case) in cases.iter().enumerate() {
        assert_eq!(case.deposit.index, i as u64, "queue order");
        assert_eq!(
            case.encoded,
            format!("0x{}", hex::encode(case.deposit.encode()))
        );
        assert_eq!(case.hash, case.deposit.hash());
        acc = accumulate(&acc, &case.hash);
        assert_eq!(to_hex(&case.accumulator), to_hex(&acc));
    }
}

#[test]
fn batch_vectors_verify() {
    use verdict_specs::batch::data_hash;
    use verdict_specs::vectors::BatchVectors;
    let cases: BatchVectors = serde_json::from_value(read("batches.json")).expect("schema");
    assert!(cases.data.len() >= 5 && cases.headers.len() >= 3);
    for case in &cases.data {
        let bytes = hex::decode(case.data.trim_start_matches("0x")).expect("hex");
        assert_eq!(
            to_hex(&data_hash(&bytes)),
            to_hex(&case.hash),
            "{} bytes",
            bytes.len()
        );
    }
    for case in &cases.headers {
        assert_eq!(
            case.encoded,
            format!("0x{}", hex::encode(case.header.encode()))
        );
        assert_eq!(case.hash, case.header.hash());
    }
}

#[test]
fn one_step_vectors_verify() {
    use verdict_specs::game::{abi, one_step};
    let cases: Vec<vectors::OneStepCase> =
        serde_json::from_value(read("one_step.json")).expect("schema");
    let mut seen = std::collections::BTreeSet::new();
    for case in &cases {
        let got = match one_step::verify(&case.context, &case.proof) {
            Ok(true) => "holds",
            Ok(false) => "fails",
            Err(_) => "reverts",
        };
        assert_eq!(got, case.expect, "{}", case.name);
        assert_eq!(
            case.calldata,
            format!(
                "0x{}",
                hex::encode(abi::verify_calldata(&case.context, &case.proof))
            ),
            "{}",
            case.name
        );
        seen.insert(case.expect.as_str());
    }
    assert_eq!(seen.len(), 3, "every outcome is covered");
}

/// Every batch data case gets the verdict recorded for it: the frame rule it breaks (or
/// what a post derives), and each block's body verdict.
#[test]
fn batch_data_vectors_verify() {
    use verdict_specs::l2::request::SigningDomain;
    use verdict_specs::vectors::{BatchDataVectors, judge};
    let file: BatchDataVectors = serde_json::from_value(read("batch_data.json")).expect("schema");
    let rollup = hex::decode(file.rollup.trim_start_matches("0x")).expect("hex");
    let domain = SigningDomain {
        chain_id: file.chain_id,
        rollup: rollup.try_into().expect("20 bytes"),
    };
    let mut faults = 0;
    for case in &file.cases {
        let data = hex::decode(case.data.trim_start_matches("0x")).expect("hex");
        let (frame_error, derived, bodies) = judge(&data, &case.tip, &domain);
        assert_eq!(frame_error, case.frame_error, "{}", case.name);
        assert_eq!(derived, case.derived, "{}", case.name);
        assert_eq!(bodies, case.bodies, "{}", case.name);
        faults += bodies.iter().filter(|b| *b != "ok").count();
    }
    assert!(file.cases.len() >= 25 && faults >= 10, "enough cases");
}

/// `state.json` from the file alone: each block's batch data decodes to its header, the
/// Rust transition over the queue's deposits and the model's fee history gives the
/// recorded trace, post-state root and rejection, and every verifier check is a call of
/// `StateStepVerifier.verify` on the trace's own states.
#[test]
fn state_vectors_replay_through_the_transition() {
    use verdict_specs::l2::account::Account;
    use verdict_specs::l2::batch_data;
    use verdict_specs::l2::request::SigningDomain;
    use verdict_specs::l2::step::{StepRules, apply_trace, block_txs};
    use verdict_specs::l2::transition::State;
    use verdict_specs::vectors::{StateVectors, fee_at};

    let v: StateVectors = serde_json::from_value(read("state.json")).expect("schema");
    let domain = SigningDomain {
        chain_id: v.chain_id,
        rollup: v.rollup,
    };
    let model = v.model.model_id;
    let fees = |m: &verdict_specs::Hash, block: u64| fee_at(m, &model, block);
    let (mut valid, mut rejected) = (0, 0);
    for case in &v.cases {
        let name = &case.name;
        let mut state = State::from_accounts(case.pre_state.iter().map(|a| {
            (
                a.address,
                Account {
                    balance: a.balance,
                    nonce: a.nonce,
                },
            )
        }));
        assert_eq!(state.root(), case.pre_root, "{name}: pre-state root");
        let data = hex::decode(case.batch_data.trim_start_matches("0x")).expect("hex");
        let blocks = batch_data::decode(&data).expect("the batch data decodes");
        assert_eq!(blocks.len(), 1, "{name}");
        let block = &blocks[0];
        assert_eq!(block.header, case.header, "{name}: header");
        let from = case.parent_deposits_consumed as usize;
        let to = block.header.deposits_consumed as usize;
        let deposits = &v.deposits[from..to];
        let rules = StepRules {
            domain,
            sequencer: v.sequencer,
            l1_origin: block.header.l1_origin,
            batch_l1_block: case.batch_l1_block,
            fee_at: &fees,
        };
        let txs = block_txs(deposits, &block.inferences, &block.withdrawals);
        let (states, invalid) = apply_trace(&mut state, &txs, &rules);
        let states: Vec<String> = states.iter().map(to_hex).collect();
        assert_eq!(states, case.states, "{name}: trace");
        match (&invalid, &case.rejected) {
            (None, None) => {
                assert_eq!(case.post_root, Some(to_hex(&state.root())), "{name}");
                assert_eq!(Some(to_hex(&block.header.state_root)), case.post_root);
                valid += 1;
            }
            (Some((index, error)), Some(expected)) => {
                assert_eq!(*index, expected.index, "{name}: rejected transaction");
                assert_eq!(error.to_string(), expected.error, "{name}: rule");
                assert_eq!(case.post_root, None, "{name}");
                rejected += 1;
            }
            (got, expected) => panic!("{name}: rejection {got:?}, recorded {expected:?}"),
        }
        for check in &case.steps {
            let k = check.step as usize;
            assert_eq!(
                check.pre, case.states[k],
                "{name}: step {k} starts from S_k"
            );
            if check.holds {
                assert_eq!(check.post, case.states[k + 1], "{name}: step {k} holds");
            }
            assert!(
                check.calldata.len() > 10 && !check.calldata[10..].is_empty(),
                "{name}: calldata"
            );
        }
        let honest = case.steps.iter().filter(|c| c.holds).count();
        let steps_before_rule = invalid.as_ref().map_or(txs.len(), |(k, _)| *k);
        assert_eq!(
            honest, steps_before_rule,
            "{name}: one check per valid step"
        );
    }
    assert!(
        valid >= 5 && rejected >= 9,
        "cases read: {valid} valid, {rejected} rejected"
    );
}

/// `requests.json` from the file alone: each request's commitment, struct hash, digest
/// and record re-derived, its signature recovering to its sender, its typed data the
/// one the domain and fields give; each withdrawal likewise; each quantization case
/// re-quantized from the model JSON as a client reads it (scales parsed, then narrowed
/// to `f32`).
#[test]
fn request_vectors_verify() {
    use verdict_specs::l2::record::InferenceTx;
    use verdict_specs::l2::request::{
        InferenceRequest, SignedRequest, SigningDomain, typed_data_json,
    };
    use verdict_specs::l2::signature::recover_signer;
    use verdict_specs::l2::withdrawal::Withdrawal;
    use verdict_specs::model::{FeatureQuant, InputSpec};
    use verdict_specs::tensor::DType;

    let file: vectors::RequestVectors =
        serde_json::from_value(read("requests.json")).expect("schema");
    let address = |text: &str| -> [u8; 20] {
        let bytes = hex::decode(text.trim_start_matches("0x")).expect("hex");
        bytes.try_into().expect("20 bytes")
    };
    let hash = |text: &str| verdict_specs::hash::from_hex(text).expect("a hash");
    let signature = |text: &str| -> [u8; 65] {
        let bytes = hex::decode(text.trim_start_matches("0x")).expect("hex");
        bytes.try_into().expect("65 bytes")
    };
    let domain = SigningDomain {
        chain_id: file.domain["chainId"].as_u64().expect("chainId"),
        rollup: address(file.domain["verifyingContract"].as_str().expect("address")),
    };
    assert_eq!(to_hex(&domain.separator()), file.domain_separator);
    assert!(file.requests.len() >= 3 && file.withdrawals.len() >= 2);
    for case in &file.requests {
        let request = InferenceRequest {
            sender: address(&case.sender),
            nonce: case.nonce,
            model_id: hash(&case.model_id),
            input: case.input.clone(),
            max_fee: case.max_fee.parse().expect("wei"),
        };
        let commitment = request.input.commitment();
        assert_eq!(to_hex(&commitment), case.input_commitment);
        assert_eq!(
            to_hex(&request.struct_hash_with(&commitment)),
            case.struct_hash
        );
        let digest = request.signing_hash(&domain);
        assert_eq!(to_hex(&digest), case.request_hash);
        let sig = signature(&case.signature);
        assert_eq!(recover_signer(&sig, &digest).ok(), Some(request.sender));
        assert_eq!(typed_data_json(&request, &domain), case.typed_data);
        let tx = InferenceTx {
            signed: SignedRequest {
                request,
                signature: sig,
            },
            output: case.output.clone(),
            fee: case.fee.parse().expect("wei"),
        };
        assert_eq!(to_hex(&tx.record(&domain).hash()), case.record_hash);
    }
    for case in &file.withdrawals {
        let withdrawal = Withdrawal {
            sender: address(&case.sender),
            nonce: case.nonce,
            recipient: address(&case.recipient),
            amount: case.amount.parse().expect("wei"),
        };
        assert_eq!(to_hex(&withdrawal.struct_hash()), case.struct_hash);
        let digest = withdrawal.signing_hash(&domain);
        assert_eq!(to_hex(&digest), case.signing_hash);
        assert_eq!(to_hex(&withdrawal.leaf()), case.withdrawal_hash);
        assert_eq!(
            recover_signer(&signature(&case.signature), &digest).ok(),
            Some(withdrawal.sender)
        );
    }
    for case in &file.quantization {
        let m = &case.model;
        let narrow = |v: &serde_json::Value| v.as_f64().expect("a number") as f32;
        let spec = InputSpec {
            shape: serde_json::from_value(m["inputShape"].clone()).expect("shape"),
            dtype: match m["inputDtype"].as_str() {
                Some("i32") => DType::I32,
                _ => DType::I8,
            },
            scale: narrow(&m["inputScale"]),
            features: m["inputFeatures"]
                .as_array()
                .map_or_else(Vec::new, |features| {
                    features
                        .iter()
                        .map(|f| FeatureQuant {
                            scale: narrow(&f["scale"]),
                            offset: narrow(&f["offset"]),
                        })
                        .collect()
                }),
        };
        let tensor = verdict_specs::quantize::quantize_input(&spec, &case.features).expect("valid");
        assert_eq!(tensor, case.tensor, "{m}");
    }
}
