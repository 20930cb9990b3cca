//! Whole dispute games on the embedded L1 with the real contracts, played through
//! `VerdictL1` by the `verdict_specs::game` strategies:
//! - a sequencer that got one node of a model wrong loses, for every node of every model
//!   of `specs/vectors/models.json` (so every op kind's one-step verification decides a
//!   real game): its batch is reverted and its bond slashed, half to the challenger;
//! - a lying challenger loses its bond to an honest sequencer, whose batch then finalizes;
//! - a party that stops moving loses on the clock.
//!
//! Gas per move and per one-step verification is printed (`--nocapture`) for the figures
//! in the issue notes.

use crate::support;

use std::collections::BTreeMap;

use alloy::primitives::{B256, U256};
use support::{dev_client as client, ether};
use verdict_devchain::{DevChain, DevChainConfig};
use verdict_l1::contracts::{BatchPost, ModelRegistration, VerdictL1};
use verdict_l1::deploy::{DeployParams, deploy};
use verdict_l1::games::game_of;
use verdict_specs::game::{Claims, Move, Party, Status};
use verdict_specs::l2::batch_data::{self, BlockBody};
use verdict_specs::l2::block::BlockHeader;
use verdict_specs::l2::posted::PostedBatch;
use verdict_specs::l2::record::InferenceTx;
use verdict_specs::l2::request::{InferenceRequest, SignedRequest, SigningDomain};
use verdict_specs::model::{Metadata, Op};
use verdict_specs::tensor::TensorData;
use verdict_specs::{Model, Tensor, interpreter, merkle};

const WINDOW: u64 = 200;
const CLOCK: u64 = 10;

/// The three parties on one deployment.
struct Parties {
    sequencer: VerdictL1,
    challenger: VerdictL1,
    domain: SigningDomain,
    /// The L2 chain so far (the last block L1 still holds).
    parent: BlockHeader,
    /// Every header built, by hash.
    known: std::collections::HashMap<[u8; 32], BlockHeader>,
}

async fn setup(url: &str) -> Parties {
    let deployer = client(url, 0).await;
    let sequencer_client = client(url, 1).await;
    let params = DeployParams {
        sequencer: sequencer_client.sender().expect("signer"),
        dispute_window: WINDOW,
        min_bond: ether(1),
        challenger_bond: ether(1) / U256::from(10),
        clock_blocks: CLOCK,
        inclusion_deadline: 64,
    };
    let deployment = deploy(&deployer, &params).await.expect("deploy");
    let sequencer = VerdictL1::new(sequencer_client, deployment.clone()).expect("bind");
    let challenger = VerdictL1::new(client(url, 2).await, deployment.clone()).expect("bind");
    Parties {
        domain: SigningDomain::from(&deployment),
        sequencer,
        challenger,
        parent: BlockHeader::genesis(),
        known: [(BlockHeader::genesis().hash(), BlockHeader::genesis())].into(),
    }
}

impl Parties {
    async fn register(&self, model: &Model, name: &str) {
        let registration = ModelRegistration::of(model, name, U256::from(1));
        if !self
            .sequencer
            .is_registered(B256::from(model.id().id))
            .await
            .expect("read")
        {
            self.sequencer
                .register_model(&registration)
                .await
                .expect("register");
        }
    }

    /// Posts one block holding one inference of `model` on `input` answered with
    /// `output`; returns the posted batch, checked.
    async fn post(&mut self, model: &Model, input: &Tensor, output: &Tensor) -> PostedBatch {
        let bond = self
            .sequencer
            .bond_of(self.sequencer.client().sender().expect("signer"))
            .await
            .expect("bond");
        if bond < ether(1) {
            self.sequencer.bond(ether(1) - bond).await.expect("bond");
        }
        let tx = InferenceTx {
            signed: SignedRequest {
                request: InferenceRequest {
                    sender: [7; 20],
                    nonce: self.parent.number,
                    model_id: model.id().id,
                    input: input.clone(),
                    max_fee: 1,
                },
                signature: [0; 65],
            },
            output: output.clone(),
            fee: 1,
        };
        let record_hash = tx.record(&self.domain).hash();
        let header = BlockHeader {
            number: self.parent.number + 1,
            parent_hash: self.parent.hash(),
            timestamp: self.parent.timestamp + 1,
            records_root: merkle::root(&[record_hash]),
            state_root: [1; 32],
            deposits_consumed: 0,
            withdrawals_root: [0; 32],
            record_count: 1,
            withdrawal_count: 0,
            l1_origin: 0,
        };
        let data = batch_data::encode(&[BlockBody {
            header,
            inferences: vec![tx],
            withdrawals: vec![],
        }]);
        let posted = self
            .sequencer
            .post_batch(&BatchPost {
                deposit_accumulator: B256::ZERO,
                data: data.clone(),
            })
            .await
            .expect("post");
        let batch = PostedBatch::check(
            &posted.header,
            &data,
            &self.domain,
            Some(&self.parent.hash()),
        )
        .expect("the posted batch checks");
        self.parent = header;
        self.known.insert(header.hash(), header);
        batch
    }
}

/// How each party plays.
enum Player<'a> {
    /// Moves from these claims (honest or not).
    Claims(&'a Claims),
    /// Disagrees with everything, names element 0.
    Liar,
    /// Never moves.
    Silent,
}

/// Gas used per kind of move, summed over games.
#[derive(Default)]
struct Gas(BTreeMap<&'static str, Vec<u64>>);

impl Gas {
    fn add(&mut self, kind: &'static str, gas: u64) {
        self.0.entry(kind).or_default().push(gas);
    }
    fn print(&self) {
        for (kind, all) in &self.0 {
            let max = all.iter().max().copied().unwrap_or(0);
            let mean = all.iter().sum::<u64>() / all.len().max(1) as u64;
            eprintln!(
                "gas {kind:<12} moves {:>4}  mean {mean:>8}  max {max:>8}",
                all.len()
            );
        }
    }
}

fn kind(mv: &Move) -> &'static str {
    match mv {
        Move::Start { .. } => "start",
        Move::Choose { .. } => "choose",
        Move::Bisect { .. } => "bisect",
        Move::Reveal { .. } => "reveal",
        Move::NameElement { .. } => "nameElement",
        Move::Prove(_) => "prove",
    }
}

/// Opens a game against the batch's only record and plays it out; returns the final
/// status, the number of L1 transactions (the opening included) and the prove gas.
async fn play(
    parties: &Parties,
    batch: &PostedBatch,
    model: &Model,
    defender: Player<'_>,
    challenger: Player<'_>,
    gas: &mut Gas,
) -> (Status, usize, Option<u64>) {
    let inclusion = batch.inclusion(0, 0, &parties.domain).expect("inclusion");
    let opened = parties
        .challenger
        .open_game(&batch.header, &inclusion)
        .await
        .expect("open");
    gas.add("open", opened.receipt.gas_used);
    let id = opened.id;
    let mut transactions = 1;
    let mut prove_gas = None;
    loop {
        let view = parties.sequencer.game(id).await.expect("game");
        let game = game_of(&view).expect("a known status");
        let Some(mover) = game.mover() else {
            return (game.status, transactions, prove_gas);
        };
        let (player, l1) = match mover {
            Party::Defender => (&defender, &parties.sequencer),
            Party::Challenger => (&challenger, &parties.challenger),
        };
        let mv = match (player, mover) {
            (Player::Claims(claims), Party::Defender) => {
                claims.defend(model, &game).expect("provable")
            }
            (Player::Claims(claims), Party::Challenger) => {
                let revealed = parties.challenger.revealed(id, 0).await.expect("logs");
                claims.challenge(&game, revealed.as_ref())
            }
            (Player::Liar, _) => Some(match game.status {
                Status::AwaitingChoice => Move::Choose { agree: false },
                _ => Move::NameElement { element: 0 },
            }),
            (Player::Silent, _) => None,
        };
        match mv {
            Some(mv) => {
                let receipt = l1.game_move(id, &mv).await.expect("a legal move");
                gas.add(kind(&mv), receipt.gas_used);
                if matches!(mv, Move::Prove(_)) {
                    prove_gas = Some(receipt.gas_used);
                }
                transactions += 1;
            }
            None => {
                // Before the clock runs out, a timeout is refused; after, it ends the game.
                let early = parties.challenger.game_timeout(id).await;
                assert!(early.is_err(), "timeout refused while the clock runs");
                parties
                    .sequencer
                    .client()
                    .dev_mine(CLOCK + 1)
                    .await
                    .expect("mine");
                parties.challenger.game_timeout(id).await.expect("timeout");
                transactions += 1;
            }
        }
    }
}

fn perturb(t: &Tensor, salt: u64) -> Tensor {
    let data = match t.data() {
        TensorData::I8(v) => TensorData::I8(
            v.iter()
                .map(|&x| ((i64::from(x) + 127 + 1 + (salt % 50) as i64) % 255 - 127) as i8)
                .collect(),
        ),
        TensorData::I32(v) => TensorData::I32(v.iter().map(|&x| x.wrapping_add(1)).collect()),
    };
    Tensor::new(t.shape().to_vec(), data).expect("same shape")
}

/// A run of `model` whose node `k` is wrong (and whose output is wrong).
fn faulty_at(model: &Model, input: &Tensor, k: usize) -> Claims {
    let mut values = interpreter::trace_with(model, input, |i, out| {
        if i == k && !matches!(model.graph().nodes[i], Op::ArgMax { .. }) {
            *out = perturb(out, i as u64);
        }
    })
    .expect("input fits");
    // An ArgMax output is an index later nodes read; change it within range.
    if let Op::ArgMax { .. } = model.graph().nodes[k] {
        values = interpreter::trace_with(model, input, |i, out| {
            if i == k {
                let TensorData::I32(v) = out.data() else {
                    return;
                };
                let classes = match &model.graph().nodes[k] {
                    Op::ArgMax { input } => *model.value_types()[*input as usize]
                        .shape
                        .last()
                        .expect("rank"),
                    _ => unreachable!(),
                } as i32;
                let moved = v.iter().map(|&x| (x + 1) % classes.max(2)).collect();
                *out = Tensor::new(out.shape().to_vec(), TensorData::I32(moved)).expect("shape");
            }
        })
        .expect("input fits");
    }
    let honest = interpreter::run(model, input).expect("input fits");
    let last = values.len() - 1;
    if values[last] == honest {
        values[last] = perturb(&values[last], 99);
    }
    Claims::new(values)
}

/// The first test row of `data/{set}/test.csv`, quantized for `model`.
fn first_test_row(model: &Model, set: &str) -> Tensor {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/").to_string() + set + "/test.csv";
    let text = std::fs::read_to_string(&path).expect("test rows");
    let row: Vec<f64> = text
        .lines()
        .next()
        .expect("a row")
        .split(',')
        .map(|v| v.trim().parse().expect("a number"))
        .collect();
    // The last column is the label or target.
    verdict_specs::quantize::quantize_input(&model.graph().input, &row[..row.len() - 1])
        .expect("quantizes")
}

/// Every node of every demo model the devnet serves decides a game, each one-step
/// verification within 500k gas and each game within 2·⌈log2 n⌉ + 4 transactions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_of_the_demo_models_is_disputable_within_500k_gas() {
    let chain = DevChain::open(DevChainConfig::default()).expect("embedded chain");
    let (_, server) = chain
        .serve("127.0.0.1:0".parse().expect("address"))
        .await
        .expect("serve");
    let mut parties = setup(&server.http_url()).await;
    let mut gas = Gas::default();
    for (file, set) in [
        ("digits/digits-mlp.vdm", "digits"),
        ("digits/digits-cnn.vdm", "digits"),
        ("sklearn/diabetes-ridge.vdm", "diabetes"),
        ("sklearn/breast-cancer-gbt.vdm", "breast-cancer"),
        ("timeseries/co2-tcn.vdm", "co2"),
    ] {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/").to_string() + file;
        let model = Model::decode(&std::fs::read(&path).expect("model file")).expect("decodes");
        parties.register(&model, &model.metadata.name).await;
        let input = first_test_row(&model, set);
        let honest = Claims::honest(&model, &input).expect("input fits");
        let n = model.graph().nodes.len();
        let ceil_log2 = n.next_power_of_two().trailing_zeros() as usize;
        let bound = if n == 1 { 5 } else { 2 * ceil_log2 + 4 };
        let (mut most_gas, mut most_at, mut most_transactions) = (0, "", 0);
        for k in 0..n {
            let liar = faulty_at(&model, &input, k);
            let wrong_output = liar.values().last().expect("output").clone();
            let batch = parties.post(&model, &input, &wrong_output).await;
            let (status, transactions, prove_gas) = play(
                &parties,
                &batch,
                &model,
                Player::Claims(&liar),
                Player::Claims(&honest),
                &mut gas,
            )
            .await;
            let op = model.graph().nodes[k].name();
            assert_eq!(status, Status::ChallengerWon, "{file} node {k} ({op})");
            assert!(
                transactions <= bound,
                "{file}: {transactions} transactions, n = {n}"
            );
            let prove = prove_gas.expect("decided by a one-step proof");
            assert!(
                prove <= 500_000,
                "{file} node {k} ({op}): prove gas {prove}"
            );
            if prove > most_gas {
                (most_gas, most_at) = (prove, op);
            }
            most_transactions = most_transactions.max(transactions);
            parties.rewind(&batch);
        }
        eprintln!(
            "{file:<32} {n:>3} nodes: most prove gas {most_gas} (a {most_at}), at most {most_transactions} transactions a game"
        );
    }
    gas.print();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_op_kind_decides_a_game_and_every_liar_loses() {
    let chain = DevChain::open(DevChainConfig::default()).expect("embedded chain");
    let (_, server) = chain
        .serve("127.0.0.1:0".parse().expect("address"))
        .await
        .expect("serve");
    let mut parties = setup(&server.http_url()).await;
    let sequencer_address = parties.sequencer.client().sender().expect("signer");
    let challenger_address = parties.challenger.client().sender().expect("signer");
    let mut gas = Gas::default();
    let mut decided_by: BTreeMap<&'static str, usize> = BTreeMap::new();

    for (c, case) in verdict_specs::vectors::model_cases()
        .into_iter()
        .enumerate()
    {
        let model = Model::new(case.graph, case.weights, Metadata::default()).expect("valid");
        parties.register(&model, &format!("case-{c}")).await;
        let honest = Claims::honest(&model, &case.input).expect("input fits");
        let n = model.graph().nodes.len();
        for k in 0..n {
            let liar = faulty_at(&model, &case.input, k);
            let wrong_output = liar.values().last().expect("output").clone();
            let batch = parties.post(&model, &case.input, &wrong_output).await;
            let before = parties.sequencer.head().await.expect("head");
            let reward_before = parties
                .challenger
                .rollup_credit(challenger_address)
                .await
                .expect("credit");
            let (status, transactions, prove_gas) = play(
                &parties,
                &batch,
                &model,
                Player::Claims(&liar),
                Player::Claims(&honest),
                &mut gas,
            )
            .await;
            assert_eq!(status, Status::ChallengerWon, "{} node {k}", case.name);
            let ceil_log2 = n.next_power_of_two().trailing_zeros() as usize;
            let bound = if n == 1 { 5 } else { 2 * ceil_log2 + 4 };
            assert!(
                transactions <= bound,
                "{transactions} transactions, n = {n}"
            );
            let op = model.graph().nodes[k].name();
            *decided_by.entry(op).or_default() += 1;
            if let Some(g) = prove_gas {
                eprintln!("{:<40} node {k} {op:<14} prove gas {g}", case.name);
            }
            // The batch is gone, the bond slashed, half of it to the challenger.
            let after = parties.sequencer.head().await.expect("head");
            assert_eq!(after.batch_count, before.batch_count - 1);
            assert_eq!(after.next_block, batch.header.first_block);
            assert_eq!(
                parties
                    .sequencer
                    .bond_of(sequencer_address)
                    .await
                    .expect("bond"),
                U256::ZERO
            );
            let reward = parties
                .challenger
                .rollup_credit(challenger_address)
                .await
                .expect("credit");
            assert_eq!(reward - reward_before, ether(1) / U256::from(2));
            // The L2 chain goes on from the last block L1 holds.
            parties.rewind(&batch);
        }
    }
    for op in [
        "MatMul",
        "Conv2d",
        "Requantize",
        "Relu",
        "Add",
        "MaxPool2d",
        "AvgPool2d",
        "GlobalAvgPool",
        "Reshape",
        "ArgMax",
        "LabelLookup",
        "Table",
        "TreeEnsemble",
        "ReduceSum",
        "Softmax",
        "Mul",
        "Transpose",
        "Slice",
        "Concat",
    ] {
        assert!(decided_by.contains_key(op), "no game was decided at a {op}");
    }
    // The challenger collects its bonds back.
    assert!(
        parties
            .challenger
            .game_credit(challenger_address)
            .await
            .expect("credit")
            > U256::ZERO
    );
    parties
        .challenger
        .withdraw_game_credit()
        .await
        .expect("withdraw");

    // A lying challenger against an honest sequencer loses its bond, and the batch
    // finalizes once the window has passed.
    let case = &verdict_specs::vectors::model_cases()[1];
    let model = Model::new(
        case.graph.clone(),
        case.weights.clone(),
        Metadata::default(),
    )
    .expect("valid");
    let honest = Claims::honest(&model, &case.input).expect("fits");
    let batch = parties
        .post(&model, &case.input, honest.values().last().expect("output"))
        .await;
    let credit_before = parties
        .sequencer
        .game_credit(sequencer_address)
        .await
        .expect("credit");
    let (status, _, _) = play(
        &parties,
        &batch,
        &model,
        Player::Claims(&honest),
        Player::Liar,
        &mut gas,
    )
    .await;
    assert_eq!(status, Status::DefenderWon);
    let credit = parties
        .sequencer
        .game_credit(sequencer_address)
        .await
        .expect("credit");
    assert_eq!(credit - credit_before, ether(1) / U256::from(10));
    parties
        .sequencer
        .client()
        .dev_mine(WINDOW + 1)
        .await
        .expect("mine");
    parties
        .sequencer
        .finalize(&batch.header)
        .await
        .expect("the batch finalizes after the game and the window");

    // A sequencer that stops defending loses on the clock; so does a silent challenger.
    let liar = faulty_at(&model, &case.input, 0);
    let batch = parties
        .post(&model, &case.input, liar.values().last().expect("output"))
        .await;
    let (status, _, _) = play(
        &parties,
        &batch,
        &model,
        Player::Silent,
        Player::Claims(&honest),
        &mut gas,
    )
    .await;
    assert_eq!(status, Status::ChallengerWon);
    parties.rewind(&batch);
    let batch = parties
        .post(&model, &case.input, honest.values().last().expect("output"))
        .await;
    let (status, _, _) = play(
        &parties,
        &batch,
        &model,
        Player::Claims(&honest),
        Player::Silent,
        &mut gas,
    )
    .await;
    assert_eq!(status, Status::DefenderWon);
    gas.print();
    server.stop().await;
}

impl Parties {
    /// After L1 reverted `batch`, the chain goes on from the block before it.
    fn rewind(&mut self, batch: &PostedBatch) {
        let parent_hash = batch.blocks[0].header.parent_hash;
        self.parent = self
            .known
            .get(&parent_hash)
            .copied()
            .expect("the parent was built here");
    }
}
