//! L1 gas of Verdict's contracts, measured in revm with the committed artifacts: a
//! posted batch of 100, 1,000 and 10,000 digits-model records, per record amortized
//! against the calldata cost of the record bytes, and a deposit and a finalize. Under
//! Cancun rules (16 gas per non-zero calldata byte, what the contracts target) and under
//! Prague rules, whose EIP-7623 floor prices data-heavy calldata at 40 gas per non-zero
//! byte (mainnet since May 2025; the reason rollups post data in blobs).
//!
//! `cargo run --release -p verdict-bench --bin l1-gas` prints a table and writes
//! `target/bench/l1-gas.json`. Gas is deterministic: no repetitions needed.
//!
//! The batches are real batch data (specs/batch.md): blocks of signed requests over real
//! test rows, each with the output the reference interpreter gives, packed into blocks of
//! at most 128 KiB of body, headers chained from genesis, so `postBatch` reads and checks
//! the frame exactly as it does for the sequencer. Signatures are not checked on L1, so
//! they are stand-in bytes. The table also gives what DEFLATE would make of the same
//! bytes (the pre-binding format compressed them): the price of posting headers and
//! bodies the contract can open.

use alloy::primitives::{Address, B256, Bytes, U256};
use anyhow::{Context, Result};
use revm::primitives::hardfork::SpecId;
use serde_json::json;
use verdict_bench::{Workload, write_json};
use verdict_devchain::local_evm::DEFAULT_GAS_LIMIT;
use verdict_devchain::local_evm::LocalEvm;
use verdict_l1::bindings::{Bridge, Rollup};
use verdict_l1::contracts::header_to_sol;
use verdict_specs::batch::BatchHeader;
use verdict_specs::hash::keccak;
use verdict_specs::l2::batch_data::{self, BlockBody, MAX_BLOCK_BODY_BYTES};
use verdict_specs::l2::block::{BlockHeader, records_root};
use verdict_specs::l2::record::InferenceTx;
use verdict_specs::l2::request::{InferenceRequest, SignedRequest, SigningDomain};

const SEQUENCER: Address = Address::repeat_byte(0x5e);
const USER: Address = Address::repeat_byte(0x0a);
const WINDOW: u64 = 100;
const SIZES: [usize; 3] = [100, 1_000, 10_000];
const CHAIN_ID: u64 = 1;

/// `count` inferences of real digits test rows through `digits-mlp`, from 64 senders.
fn inferences(workload: &Workload, count: usize) -> Result<Vec<InferenceTx>> {
    let model_id = workload.model.id().id;
    let inputs = workload.int8_inputs(count)?;
    inputs
        .into_iter()
        .enumerate()
        .map(|(n, input)| {
            let output = verdict_specs::interpreter::run(&workload.model, &input)
                .map_err(|e| anyhow::anyhow!("running the model: {e:?}"))?;
            let sender_hash = keccak(&[&(n % 64).to_be_bytes()]);
            let mut sender = [0u8; 20];
            sender.copy_from_slice(&sender_hash[..20]);
            let r = keccak(&[&n.to_le_bytes()]);
            let s = keccak(&[&r]);
            let mut signature = [27u8; 65];
            signature[..32].copy_from_slice(&r);
            signature[32..64].copy_from_slice(&s);
            Ok(InferenceTx {
                signed: SignedRequest {
                    request: InferenceRequest {
                        sender,
                        nonce: (n / 64) as u64,
                        model_id,
                        input,
                        max_fee: 1_000_000,
                    },
                    signature,
                },
                output,
                fee: 1_000,
            })
        })
        .collect()
}

/// `txs` packed into blocks after `parent`, each body as full as 128 KiB allows.
fn blocks(txs: Vec<InferenceTx>, parent: &BlockHeader, domain: &SigningDomain) -> Vec<BlockBody> {
    let mut groups: Vec<Vec<InferenceTx>> = Vec::new();
    let mut body_bytes = 0;
    for tx in txs {
        let mut w = verdict_specs::encoding::Writer::new();
        tx.encode(&mut w);
        let len = w.finish().len();
        if groups.is_empty() || body_bytes + len > MAX_BLOCK_BODY_BYTES {
            groups.push(Vec::new());
            body_bytes = 0;
        }
        body_bytes += len;
        groups.last_mut().expect("pushed above").push(tx);
    }
    let mut previous = *parent;
    groups
        .into_iter()
        .map(|inferences| {
            let header = BlockHeader {
                number: previous.number + 1,
                parent_hash: previous.hash(),
                records_root: records_root(&inferences, domain),
                record_count: inferences.len() as u32,
                ..previous
            };
            previous = header;
            BlockBody {
                header,
                inferences,
                withdrawals: vec![],
            }
        })
        .collect()
}

/// EIP-2028 calldata cost: 16 gas per non-zero byte, 4 per zero byte.
fn calldata_gas(bytes: &[u8]) -> u64 {
    bytes.iter().map(|&b| if b == 0 { 4 } else { 16 }).sum()
}

struct Chain {
    evm: LocalEvm,
    bridge: Address,
    rollup: Address,
    domain: SigningDomain,
    /// The last posted block: the next batch continues from it.
    tip: BlockHeader,
}

/// Large enough for a 10,000-record batch; whether a batch fits a real block is reported.
const MEASURE_GAS_LIMIT: u64 = 200_000_000;
/// geth's transaction pool refuses transactions above 128 KiB.
const MEMPOOL_TX_BYTES: usize = 128 * 1024;

fn deploy(spec: SpecId) -> Result<Chain> {
    let mut evm = LocalEvm::with_rules(spec, MEASURE_GAS_LIMIT);
    for account in [SEQUENCER, USER] {
        evm.fund(account, U256::from(10).pow(U256::from(24)));
    }
    let (bridge, _) = evm.deploy(SEQUENCER, Bridge::BYTECODE.to_vec())?;
    let mut code = Rollup::BYTECODE.to_vec();
    code.extend_from_slice(&alloy::sol_types::SolConstructor::abi_encode(
        &Rollup::constructorCall {
            bridge_: bridge,
            sequencer_: SEQUENCER,
            disputeWindow_: WINDOW,
            minBond_: U256::from(1),
            inclusionDeadline_: 1_000_000,
        },
    ));
    let (rollup, _) = evm.deploy(SEQUENCER, code)?;
    evm.send(SEQUENCER, rollup, Rollup::bondCall {}, U256::from(10))?;
    Ok(Chain {
        evm,
        bridge,
        rollup,
        domain: SigningDomain {
            chain_id: CHAIN_ID,
            rollup: rollup.0.0,
        },
        tip: BlockHeader::genesis(),
    })
}

impl Chain {
    /// Posts `blocks` as one batch; returns the gas and the recorded header.
    fn post(&mut self, blocks: &[BlockBody]) -> Result<(u64, BatchHeader)> {
        let data = batch_data::encode(blocks);
        let call = Rollup::postBatchCall {
            depositAccumulator: B256::ZERO,
            data: Bytes::from(data),
        };
        let outcome = self.evm.send(SEQUENCER, self.rollup, call, U256::ZERO)?;
        let log = outcome
            .logs
            .iter()
            .find_map(|l| {
                alloy::sol_types::SolEvent::decode_log(l)
                    .ok()
                    .map(|e: alloy::primitives::Log<Rollup::BatchPosted>| e.data.header)
            })
            .context("no BatchPosted event")?;
        self.tip = blocks.last().context("a batch has blocks")?.header;
        Ok((
            outcome.gas_used,
            verdict_l1::contracts::header_from_sol(&log),
        ))
    }

    /// Posts one block without transactions.
    fn post_empty(&mut self) -> Result<u64> {
        let blocks = batch_data::empty_blocks(&self.tip, 1, self.tip.deposits_consumed);
        Ok(self.post(&blocks)?.0)
    }

    /// The blocks of a batch of `count` records after the tip.
    fn batch(&self, workload: &Workload, count: usize) -> Result<Vec<BlockBody>> {
        Ok(blocks(
            inferences(workload, count)?,
            &self.tip,
            &self.domain,
        ))
    }
}

fn deflated_len(data: &[u8]) -> usize {
    miniz_oxide::deflate::compress_to_vec(data, 9).len()
}

fn measure(spec: SpecId, workload: &Workload) -> Result<serde_json::Value> {
    let mut chain = deploy(spec)?;
    // Warm the head slot, the tip and the bond the way a running rollup has them.
    let first_post_gas = chain.post_empty()?;
    let empty_gas = chain.post_empty()?;
    let mut rows = Vec::new();
    println!("\n{spec:?} rules");
    println!(
        "{:>8} {:>7} {:>12} {:>10} {:>10} {:>12} {:>14} {:>13} {:>12} {:>8}",
        "records",
        "blocks",
        "batch gas",
        "bytes",
        "bytes/rec",
        "gas/record",
        "calldata/rec",
        "overhead/rec",
        "deflate b/rec",
        "fits"
    );
    for count in verdict_bench::sized(&SIZES[..], &SIZES[..1])
        .iter()
        .copied()
    {
        let blocks = chain.batch(workload, count)?;
        let data = batch_data::encode(&blocks);
        let (gas, _) = chain.post(&blocks)?;
        let per_record = gas as f64 / count as f64;
        let calldata_per_record = calldata_gas(&data) as f64 / count as f64;
        let overhead = per_record - calldata_per_record;
        let deflated_per_record = deflated_len(&data) as f64 / count as f64;
        let fits_block = gas <= DEFAULT_GAS_LIMIT;
        let fits_mempool = data.len() + 500 <= MEMPOOL_TX_BYTES;
        let fits = match (fits_block, fits_mempool) {
            (true, true) => "yes",
            (true, false) => ">128KiB",
            _ => ">30Mgas",
        };
        println!(
            "{count:>8} {:>7} {gas:>12} {:>10} {:>10.1} {per_record:>12.1} {calldata_per_record:>14.1} {overhead:>13.1} {deflated_per_record:>12.1} {fits:>8}",
            blocks.len(),
            data.len(),
            data.len() as f64 / count as f64,
        );
        rows.push(json!({
            "records": count,
            "blocks": blocks.len(),
            "batch_bytes": data.len(),
            "bytes_per_record": data.len() as f64 / count as f64,
            "deflate_bytes_per_record": deflated_per_record,
            "batch_gas": gas,
            "gas_per_record": per_record,
            "calldata_gas_per_record": calldata_per_record,
            "overhead_gas_per_record": overhead,
            "goal_met": overhead <= 50.0,
            "fits_30m_gas_block": fits_block,
            "fits_128kib_mempool_limit": fits_mempool,
        }));
    }

    chain.evm.set_block_number(2);
    let deposit_first = chain
        .evm
        .send(
            USER,
            chain.bridge,
            Bridge::depositCall { recipient: USER },
            U256::from(1),
        )?
        .gas_used;
    let deposit = chain
        .evm
        .send(
            USER,
            chain.bridge,
            Bridge::depositCall { recipient: USER },
            U256::from(1),
        )?
        .gas_used;

    let mut fresh = deploy(spec)?;
    let blocks = fresh.batch(workload, 100)?;
    let (_, header) = fresh.post(&blocks)?;
    fresh.evm.set_block_number(header.l1_block + WINDOW);
    let finalize = fresh
        .evm
        .send(
            USER,
            fresh.rollup,
            Rollup::finalizeCall {
                header: header_to_sol(&header),
            },
            U256::ZERO,
        )?
        .gas_used;
    println!("one empty block: {empty_gas} gas (first batch ever: {first_post_gas})");
    println!("deposit: {deposit} gas ({deposit_first} for the first ever)");
    println!("finalize: {finalize} gas");
    Ok(json!({
        "batches": rows,
        "empty_block_batch_gas": empty_gas,
        "first_batch_gas": first_post_gas,
        "deposit_gas_first": deposit_first,
        "deposit_gas": deposit,
        "finalize_gas": finalize,
    }))
}

fn main() -> Result<()> {
    let workload = Workload::load("digits-mlp")?;
    let cancun = measure(SpecId::CANCUN, &workload)?;
    let prague = measure(SpecId::PRAGUE, &workload)?;
    let path = write_json(
        "l1-gas.json",
        &json!({
            "note": "gas in revm with the committed artifacts; real batch data (specs/batch.md, uncompressed, blocks of at most 128 KiB of body); per-record figures are the whole transaction (21000 base included) divided by the records; deflate_bytes_per_record is what DEFLATE (level 9) would make of the same bytes",
            "cancun": cancun,
            "prague": prague,
        }),
    )?;
    println!("\nwrote {}", path.display());
    Ok(())
}
