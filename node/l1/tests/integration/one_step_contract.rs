//! `OneStepVerifier.sol` against the Rust one-step verifier (`verdict_specs::game`), in
//! revm: every case of `specs/vectors/one_step.json`, then thousands of fresh random cases
//! (random weights and inputs over every op kind, random elements, honest and wrong
//! claims, tampered openings). The contract must hold, fail or revert exactly where the
//! Rust reference does. Gas figures by op and dot length are printed (`--nocapture`).

use alloy::primitives::{Address, U256};
use alloy::sol_types::SolValue;
use verdict_devchain::local_evm::{LocalEvm, LocalEvmError};
use verdict_l1::bindings::OneStepVerifier;
use verdict_specs::game::{StepContext, Trace, abi, one_step};
use verdict_specs::model::{Graph, InputSpec, Metadata, Op};
use verdict_specs::tensor::Tensor;
use verdict_specs::vectors::{OneStepCase, SplitMix64, model_cases_seeded, with_element_changed};
use verdict_specs::{Model, interpreter};

const DEPLOYER: Address = Address::repeat_byte(0xde);

fn verifier() -> (LocalEvm, Address) {
    let mut evm = LocalEvm::new();
    evm.fund(DEPLOYER, U256::from(10).pow(U256::from(24)));
    let (address, _) = evm
        .deploy(DEPLOYER, OneStepVerifier::BYTECODE.to_vec())
        .expect("deploys");
    (evm, address)
}

/// `holds`, `fails` or `reverts`, and the gas of the call.
fn on_chain(evm: &mut LocalEvm, at: Address, calldata: Vec<u8>) -> (&'static str, u64) {
    match evm.call_raw(at, calldata) {
        Ok(outcome) => {
            let holds = bool::abi_decode(&outcome.output).expect("a bool");
            (if holds { "holds" } else { "fails" }, outcome.gas_used)
        }
        Err(LocalEvmError::Reverted { .. }) => ("reverts", 0),
        Err(e) => panic!("the verifier did not run: {e}"),
    }
}

fn in_rust(ctx: &StepContext, proof: &one_step::OneStepProof) -> &'static str {
    match one_step::verify(ctx, proof) {
        Ok(true) => "holds",
        Ok(false) => "fails",
        Err(_) => "reverts",
    }
}

#[test]
fn every_vector_gives_the_same_outcome_on_chain() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../specs/vectors/one_step.json"
    ))
    .expect("vectors");
    let cases: Vec<OneStepCase> = serde_json::from_str(&text).expect("schema");
    let (mut evm, at) = verifier();
    for case in &cases {
        let calldata = alloy::hex::decode(case.calldata.trim_start_matches("0x")).expect("hex");
        let (outcome, _) = on_chain(&mut evm, at, calldata);
        assert_eq!(outcome, case.expect, "{}", case.name);
    }
}

#[test]
fn thousands_of_random_cases_agree_with_the_rust_reference() {
    let (mut evm, at) = verifier();
    let mut rng = SplitMix64::new(0x005e_ed0f_0e57);
    let mut counts = std::collections::BTreeMap::<&'static str, usize>::new();
    let mut total = 0;
    for seed in 0..12u64 {
        for case in model_cases_seeded(0x1000 + seed) {
            let model = Model::new(case.graph, case.weights, Metadata::default()).expect("valid");
            let id = model.id();
            let trace = Trace::new(&case.trace);
            let n = model.graph().nodes.len();
            for step in 0..n {
                let honest = &case.trace[step + 1];
                for _ in 0..6 {
                    let element = rng.range(0, honest.len() as i64 - 1) as usize;
                    let claimed = match rng.range(0, 2) {
                        0 => honest.clone(),
                        _ => with_element_changed(
                            honest,
                            rng.range(0, honest.len() as i64 - 1) as usize,
                        ),
                    };
                    let ctx = StepContext {
                        graph_hash: id.graph_hash,
                        weights_root: id.weights_root,
                        op_count: n as u64,
                        step: step as u64,
                        pre_state: trace.state(step).expect("state"),
                        state_depth: trace.depth() as u64,
                        output_commitment: claimed.commitment(),
                        element: element as u64,
                    };
                    let mut proof = one_step::prove(
                        &model,
                        &case.trace[..=step],
                        &trace,
                        step,
                        element,
                        &claimed,
                    )
                    .expect("provable");
                    // Now and then, a forged opening.
                    if rng.range(0, 9) == 0 {
                        let opening = &mut proof.inputs[0].chunks;
                        let c = rng.range(0, opening.chunks.len() as i64 - 1) as usize;
                        opening.chunks[c][rng.range(0, 31) as usize] ^= 0x40;
                    }
                    let expected = in_rust(&ctx, &proof);
                    let (got, _) = on_chain(&mut evm, at, abi::verify_calldata(&ctx, &proof));
                    assert_eq!(
                        got, expected,
                        "seed {seed} {} node {step} element {element}",
                        case.name
                    );
                    *counts.entry(expected).or_default() += 1;
                    total += 1;
                }
            }
        }
    }
    eprintln!("{total} random cases: {counts:?}");
    assert!(total >= 2_000, "{total}");
    assert_eq!(
        counts.len(),
        3,
        "holds, fails and reverts all covered: {counts:?}"
    );
}

/// One MatMul `x [k] · w [2, k]ᵀ + b`, one 3×3 Conv2d over `c` channels, one Table,
/// Mul (`x · x`) or Softmax (one row) over `[size]`, a tree ensemble of `size` trees of depth 6 (`tree`: one walk) or its
/// ReduceSum (`sum`: one row of `size + 1` values).
fn single_op(op: &str, size: u32, rng: &mut SplitMix64) -> (Model, Tensor) {
    if op == "tree" || op == "sum" {
        return tree_op(op, size, rng);
    }
    let (graph, weights, shape) = match op {
        "table" => (
            vec![Op::Table { input: 0, table: 0 }],
            vec![Tensor::from_i8(vec![256], rng.i8s(256)).expect("table")],
            vec![size],
        ),
        "softmax" => (
            vec![Op::Softmax { input: 0, table: 0 }],
            vec![verdict_specs::vectors::exp_table(1.0 / 16.0)],
            vec![size],
        ),
        "mul" => (
            vec![Op::Mul {
                a: 0,
                b: 0,
                multiplier: 1 << 30,
                shift: 37,
            }],
            vec![],
            vec![size],
        ),
        "matmul" => (
            vec![Op::MatMul {
                input: 0,
                weight: 0,
                bias: Some(1),
            }],
            vec![
                Tensor::from_i8(vec![2, size], rng.i8s(2 * size as usize)).expect("w"),
                Tensor::from_i32(vec![2], vec![5, -5]).expect("b"),
            ],
            vec![size],
        ),
        _ => (
            vec![Op::Conv2d {
                input: 0,
                weight: 0,
                bias: Some(1),
                stride: [1, 1],
                padding: [1, 1, 1, 1],
            }],
            vec![
                Tensor::from_i8(vec![2, size, 3, 3], rng.i8s(2 * 9 * size as usize)).expect("w"),
                Tensor::from_i32(vec![2], vec![5, -5]).expect("b"),
            ],
            vec![size, 8, 8],
        ),
    };
    let count: usize = shape.iter().map(|&d| d as usize).product();
    let model = Model::new(
        Graph {
            input: InputSpec::per_tensor(shape.clone(), 1.0),
            nodes: graph,
            output_scale: 1.0,
        },
        weights,
        Metadata::default(),
    )
    .expect("valid");
    let input = Tensor::from_i8(shape, rng.i8s(count)).expect("input");
    (model, input)
}

/// Trees of the full depth over 30 wide features (a tabular model's shape).
fn tree_op(op: &str, trees: u32, rng: &mut SplitMix64) -> (Model, Tensor) {
    use verdict_specs::DType;
    use verdict_specs::vectors::{EnsembleShape, features_near_thresholds, random_ensemble};
    let features = 30;
    let [nodes, leaves, roots] = random_ensemble(
        rng,
        EnsembleShape {
            features,
            trees: trees as usize,
            targets: 1,
            max_depth: 6,
            threshold_bound: 1 << 30,
            leaf_bound: 1 << 20,
        },
    );
    let mut graph = vec![Op::TreeEnsemble {
        input: 0,
        nodes: 0,
        leaves: 1,
        roots: 2,
    }];
    if op == "sum" {
        graph.push(Op::ReduceSum { input: 1, axis: 1 });
    }
    let x = features_near_thresholds(rng, &nodes, features, i64::from(i32::MAX));
    let model = Model::new(
        Graph {
            input: InputSpec {
                dtype: DType::I32,
                ..InputSpec::per_tensor(vec![features as u32], 1.0)
            },
            nodes: graph,
            output_scale: 1.0,
        },
        vec![nodes, leaves, roots],
        Metadata::default(),
    )
    .expect("valid");
    let input = Tensor::from_i32(
        vec![features as u32],
        x.into_iter().map(|v| v as i32).collect(),
    )
    .expect("input");
    (model, input)
}

#[test]
fn gas_of_one_step_by_op_and_size() {
    let (mut evm, at) = verifier();
    let mut rng = SplitMix64::new(7);
    let mut rows = Vec::new();
    for (op, size) in [
        ("matmul", 64),
        ("matmul", 256),
        ("matmul", 1024),
        ("matmul", 4096),
        ("conv3x3", 16),
        ("conv3x3", 64),
        ("table", 128),
        ("mul", 128),
        ("softmax", 10),
        ("softmax", 128),
        ("softmax", 512),
        ("tree", 100),
        ("tree", 500),
        ("sum", 100),
        ("sum", 1000),
    ] {
        let (model, input) = single_op(op, size, &mut rng);
        let values = interpreter::trace(&model, &input).expect("runs");
        // The node in dispute: the last (the sum reads the trees' output).
        let step = model.graph().nodes.len() - 1;
        let trace = Trace::new(&values);
        let id = model.id();
        // The second output of the MatMul; an interior output of the conv (row 4,
        // column 4 of channel 0), whose window is all in bounds.
        let element = match op {
            "matmul" => 1,
            "table" | "mul" => 77,
            "softmax" => 3,
            // The deepest-numbered tree: its walk is as deep as any.
            "tree" => size as usize - 2,
            "sum" => 0,
            _ => 4 * 8 + 4,
        };
        let ctx = StepContext {
            graph_hash: id.graph_hash,
            weights_root: id.weights_root,
            op_count: model.graph().nodes.len() as u64,
            step: step as u64,
            pre_state: trace.state(step).expect("state"),
            state_depth: trace.depth() as u64,
            output_commitment: values[step + 1].commitment(),
            element: element as u64,
        };
        let proof = one_step::prove(
            &model,
            &values[..=step],
            &trace,
            step,
            element,
            &values[step + 1],
        )
        .expect("provable");
        let calldata = abi::verify_calldata(&ctx, &proof);
        let bytes = calldata.len();
        let (outcome, gas) = on_chain(&mut evm, at, calldata);
        assert_eq!(
            in_rust(&ctx, &proof),
            "holds",
            "{op} {size}: {:?}",
            one_step::verify(&ctx, &proof)
        );
        assert_eq!(outcome, "holds", "{op} {size}");
        rows.push((op, size, bytes, gas));
    }
    eprintln!("one-step verification, whole transaction (21k base and calldata included):");
    for (op, size, bytes, gas) in &rows {
        eprintln!("  {op:<8} {size:>5}  calldata {bytes:>6} B  gas {gas:>8}");
    }
    let dot_1024 = rows
        .iter()
        .find(|r| r.0 == "matmul" && r.1 == 1024)
        .map(|r| r.3)
        .expect("measured");
    assert!(dot_1024 > 21_000, "a real transaction's gas");
}
