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
//! The batch data is a stand-in until the sequencer defines its format: each record is
//! what a batch must carry for a challenger to re-execute it: the signed request
//! (sender, nonce, model id, the int8 input of a real test row, max fee, signature) and
//! the output the model gives for it (computed by the reference interpreter), plus the
//! fee, with no compression (compression only lowers the calldata cost).

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use anyhow::{Context, Result};
use revm::primitives::hardfork::SpecId;
use serde_json::json;
use verdict_bench::{Workload, write_json};
use verdict_node::l1::bindings::{Bridge, Rollup};
use verdict_node::l1::contracts::header_to_sol;
use verdict_node::l1::local_evm::DEFAULT_GAS_LIMIT;
use verdict_node::l1::local_evm::LocalEvm;
use verdict_specs::batch::BatchHeader;

const SEQUENCER: Address = Address::repeat_byte(0x5e);
const USER: Address = Address::repeat_byte(0x0a);
const WINDOW: u64 = 100;
const SIZES: [usize; 3] = [100, 1_000, 10_000];

/// The bytes of `count` records of real digits test rows through `digits-mlp`.
fn batch_data(workload: &Workload, count: usize) -> Result<Vec<u8>> {
    let model_id = workload.model.id().id;
    let inputs = workload.int8_inputs(count)?;
    let mut data = Vec::new();
    for (nonce, input) in inputs.iter().enumerate() {
        let output = verdict_specs::interpreter::run(&workload.model, input)
            .map_err(|e| anyhow::anyhow!("running the model: {e:?}"))?;
        let sender = keccak256((nonce % 64).to_be_bytes());
        data.extend_from_slice(&sender[..20]); // sender
        data.extend_from_slice(&(nonce as u64 / 64).to_be_bytes()); // nonce
        data.extend_from_slice(&model_id); // model id
        data.extend_from_slice(&input.element_bytes()); // input, int8
        data.extend_from_slice(&1_000_000u128.to_be_bytes()); // max fee
        let signature = keccak256(nonce.to_le_bytes());
        data.extend_from_slice(&signature.0); // r
        data.extend_from_slice(&keccak256(signature).0); // s
        data.push(27); // v
        data.extend_from_slice(&output.element_bytes()); // output
        data.extend_from_slice(&1_000u128.to_be_bytes()); // fee
    }
    Ok(data)
}

/// EIP-2028 calldata cost: 16 gas per non-zero byte, 4 per zero byte.
fn calldata_gas(bytes: &[u8]) -> u64 {
    bytes.iter().map(|&b| if b == 0 { 4 } else { 16 }).sum()
}

struct Chain {
    evm: LocalEvm,
    bridge: Address,
    rollup: Address,
    next_block: u64,
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
        next_block: 1,
    })
}

impl Chain {
    /// Posts `data` as one batch of one L2 block; returns the gas and the header.
    fn post(&mut self, data: &[u8]) -> Result<(u64, BatchHeader)> {
        let call = Rollup::postBatchCall {
            firstBlock: self.next_block,
            lastBlock: self.next_block,
            outputRoot: keccak256(self.next_block.to_be_bytes()),
            depositsEnd: 0,
            depositAccumulator: B256::ZERO,
            data: Bytes::copy_from_slice(data),
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
        self.next_block += 1;
        Ok((
            outcome.gas_used,
            verdict_node::l1::contracts::header_from_sol(&log),
        ))
    }
}

fn measure(spec: SpecId, workload: &Workload) -> Result<serde_json::Value> {
    let mut chain = deploy(spec)?;
    // Warm the head slot and the bond the way a running rollup has them.
    let (first_post_gas, _) = chain.post(b"warm-up")?;
    let (empty_gas, _) = chain.post(&[])?;
    let mut rows = Vec::new();
    println!("\n{spec:?} rules");
    println!(
        "{:>8} {:>12} {:>10} {:>12} {:>14} {:>13} {:>8}",
        "records", "batch gas", "bytes", "gas/record", "calldata/rec", "overhead/rec", "fits"
    );
    for count in SIZES {
        let data = batch_data(workload, count)?;
        let (gas, _) = chain.post(&data)?;
        let per_record = gas as f64 / count as f64;
        let calldata_per_record = calldata_gas(&data) as f64 / count as f64;
        let overhead = per_record - calldata_per_record;
        let fits_block = gas <= DEFAULT_GAS_LIMIT;
        let fits_mempool = data.len() + 500 <= MEMPOOL_TX_BYTES;
        let fits = match (fits_block, fits_mempool) {
            (true, true) => "yes",
            (true, false) => ">128KiB",
            _ => ">30Mgas",
        };
        println!(
            "{count:>8} {gas:>12} {:>10} {per_record:>12.1} {calldata_per_record:>14.1} {overhead:>13.1} {fits:>8}",
            data.len()
        );
        rows.push(json!({
            "records": count,
            "batch_bytes": data.len(),
            "bytes_per_record": data.len() / count,
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
    let (_, header) = fresh.post(&batch_data(workload, 100)?)?;
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
    println!("empty batch: {empty_gas} gas (first batch ever: {first_post_gas})");
    println!("deposit: {deposit} gas ({deposit_first} for the first ever)");
    println!("finalize: {finalize} gas");
    Ok(json!({
        "batches": rows,
        "empty_batch_gas": empty_gas,
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
            "note": "gas in revm with the committed artifacts; per-record figures are the whole transaction (21000 base included) divided by the records; batch data uncompressed",
            "cancun": cancun,
            "prague": prague,
        }),
    )?;
    println!("\nwrote {}", path.display());
    Ok(())
}
