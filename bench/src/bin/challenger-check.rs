//! Challenger re-execution throughput against the sequencer's production rate, on the
//! same batches, in one process and one thread each:
//!
//! 1. **sequencer** (the bare production loop of `sequencer-load`): signed requests
//!    through `admission::admit` (signature recovery included) and batched execution;
//! 2. **challenger** at each sample rate: a posted batch's data decoded and checked
//!    against its header (`PostedBatch::check`), the sampled records re-executed and
//!    compared (`verdict_challenger::check::check_batch`).
//!
//! Prints records/s and the ratio challenger/sequencer (how many sequencers one
//! challenger keeps up with), and writes `target/bench/challenger-check.json`.
//!
//! `cargo run --release -p verdict-bench --bin challenger-check [-- --records N]`

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use verdict_challenger::check::{Models, check_batch};
use verdict_devnet::DEMO_MODELS;
use verdict_executor::BurnExecutor;
use verdict_models::{ModelSet, ServedModel};
use verdict_rpc::signing::sign_request_json;
use verdict_sequencer::admission::admit;
use verdict_specs::batch::{BatchHeader, data_hash};
use verdict_specs::l2::batch_data::{self, BlockBody};
use verdict_specs::l2::block::BlockHeader;
use verdict_specs::l2::posted::PostedBatch;
use verdict_specs::l2::record::InferenceTx;
use verdict_specs::l2::request::{InferenceRequest, SigningDomain};
use verdict_specs::vectors::SplitMix64;
use verdict_specs::{Model, Tensor, merkle};

#[derive(Parser)]
struct Args {
    /// Records in the batch.
    #[arg(long, default_value_t = 4096)]
    records: usize,
    /// Records per block.
    #[arg(long, default_value_t = 256)]
    block_records: usize,
}

/// Requests per executor batch (as the sequencer's builder steps).
const BATCH: usize = 64;

fn main() -> Result<()> {
    let mut args = Args::parse();
    if verdict_bench::smoke() {
        args.records = args.records.min(256);
        args.block_records = args.block_records.min(64);
    }
    let domain = SigningDomain {
        chain_id: 31337,
        rollup: [0x42; 20],
    };
    let served = ModelSet::default();
    let mut models = Models::default();
    let mut loaded = Vec::new();
    for (name, bytes) in DEMO_MODELS {
        let model = Model::decode(bytes).with_context(|| format!("decoding {name}"))?;
        served.insert(ServedModel::new(
            model.clone(),
            (*name).to_string(),
            1,
            BurnExecutor::ndarray(&model)?,
        ));
        models.insert(model.clone())?;
        loaded.push(model);
    }

    // Signed requests, each model's share contiguous in runs of BATCH (as the builder
    // groups them).
    let key = alloy::signers::local::PrivateKeySigner::random();
    let mut rng = SplitMix64::new(1);
    let mut requests = Vec::with_capacity(args.records);
    for i in 0..args.records {
        let model = &loaded[(i / BATCH) % loaded.len()];
        let shape = model.graph().input.shape.clone();
        let count = shape.iter().map(|&d| d as usize).product();
        let values = rng.i8s(count);
        // A tree model's i32 features: the int8 pattern spread over +-2^30.
        let input = match model.graph().input.dtype {
            verdict_specs::DType::I8 => Tensor::from_i8(shape, values)?,
            verdict_specs::DType::I32 => {
                Tensor::from_i32(shape, values.iter().map(|&v| i32::from(v) << 23).collect())?
            }
        };
        let request = InferenceRequest {
            sender: key.address().into_array(),
            nonce: i as u64,
            model_id: model.id().id,
            input,
            max_fee: 1,
        };
        requests.push(sign_request_json(&key, request, &domain)?);
    }

    // 1. The sequencer's production loop.
    let started = Instant::now();
    let mut txs = Vec::with_capacity(args.records);
    for chunk in requests.chunks(BATCH) {
        let admitted = chunk
            .iter()
            .map(|r| admit(r, &served, &domain))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("admission: {e:?}"))?;
        let inputs: Vec<Tensor> = admitted
            .iter()
            .map(|a| a.signed.request.input.clone())
            .collect();
        let outputs = admitted[0].model.run(&inputs)?;
        for (a, output) in admitted.into_iter().zip(outputs) {
            txs.push(InferenceTx {
                signed: a.signed,
                output,
                fee: 1,
            });
        }
    }
    let sequencer_s = started.elapsed().as_secs_f64();
    let sequencer_rate = args.records as f64 / sequencer_s;

    // The batch as posted.
    let mut blocks = Vec::new();
    let mut parent = BlockHeader::genesis();
    for chunk in txs.chunks(args.block_records) {
        let hashes: Vec<_> = chunk.iter().map(|t| t.record(&domain).hash()).collect();
        let header = BlockHeader {
            number: parent.number + 1,
            parent_hash: parent.hash(),
            timestamp: parent.timestamp + 1,
            records_root: merkle::root(&hashes),
            state_root: [1; 32],
            deposits_consumed: 0,
            withdrawals_root: [0; 32],
            record_count: chunk.len() as u32,
            withdrawal_count: 0,
            l1_origin: 0,
        };
        blocks.push(BlockBody {
            header,
            inferences: chunk.to_vec(),
            withdrawals: vec![],
        });
        parent = header;
    }
    let data = batch_data::encode(&blocks);
    let header = BatchHeader {
        index: 0,
        first_block: 1,
        last_block: parent.number,
        parent_root: BlockHeader::genesis().hash(),
        output_root: parent.hash(),
        data_hash: data_hash(&data),
        deposits_start: 0,
        deposits_end: 0,
        deposit_accumulator: [0; 32],
        l1_block: 1,
    };

    // 2. The challenger at each rate.
    let secret = [7u8; 32];
    let mut rows = Vec::new();
    println!(
        "sequencer production (admit incl. signature recovery + execute, batch {BATCH}, one thread): {sequencer_rate:.0} records/s"
    );
    println!("challenger (decode + check the batch + re-execute the sample, one thread):");
    for rate in [1.0, 0.5, 0.1, 0.01] {
        let started = Instant::now();
        let batch = Arc::new(PostedBatch::check(&header, &data, &domain, None)?);
        let findings = check_batch(&batch, &domain, &models, &secret, rate)?;
        let seconds = started.elapsed().as_secs_f64();
        anyhow::ensure!(
            findings.wrong.is_empty(),
            "an honest batch has wrong records"
        );
        let covered = args.records as f64 / seconds;
        let checked = findings.checked as f64 / seconds;
        println!(
            "  p = {rate:<5} checked {:>5} of {}  {covered:>9.0} batch records/s  {checked:>8.0} re-executions/s  x{:.1} the sequencer",
            findings.checked,
            args.records,
            covered / sequencer_rate
        );
        rows.push(serde_json::json!({
            "sample_rate": rate,
            "checked": findings.checked,
            "batch_records_per_s": covered,
            "reexecutions_per_s": checked,
            "ratio_to_sequencer": covered / sequencer_rate,
        }));
    }
    let path = verdict_bench::write_json(
        "challenger-check.json",
        &serde_json::json!({
            "records": args.records,
            "batch_bytes": data.len(),
            "sequencer_records_per_s": sequencer_rate,
            "challenger": rows,
        }),
    )?;
    println!("wrote {}", path.display());
    Ok(())
}
