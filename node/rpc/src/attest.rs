//! Client-side verification of an answer, trusting only L1: fetch a record and its
//! inclusion proof from any L2 endpoint, recompute everything that can be recomputed
//! (the record hash, the output's commitment, the proof up to the batch's output root),
//! and compare with what the `Rollup` contract holds. The L2 endpoint is never believed:
//! when what it says does not hold, the answer is reported as not verified, with why.

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use serde::Serialize;

use crate::VerdictApiClient;
use crate::types::InferenceJson;
use crate::verify::verify_inclusion;
use verdict_l1::bindings::Rollup;
use verdict_l1::client::{L1Client, L1Error};
use verdict_l1::contracts::header_from_sol;
use verdict_specs::batch::BatchHeader;
use verdict_specs::l2::record::InferenceRecord;

/// Where a verified answer stands on L1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Verdict {
    /// In a batch L1 has finalized: the answer is final.
    Final {
        /// The batch.
        batch_index: u64,
    },
    /// In a batch L1 holds, inside its dispute window: it may still be disputed.
    Pending {
        /// The batch.
        batch_index: u64,
        /// The L1 block from which it can be finalized.
        window_end: u64,
        /// L1's head now.
        l1_block: u64,
        /// Dispute games open against the batch.
        open_disputes: u64,
    },
    /// The batch that held it was reverted on L1 (a lost dispute).
    Reverted {
        /// The batch index it had.
        batch_index: u64,
    },
    /// The record exists on L2 but is in no batch on L1 yet: nothing to verify against.
    NotPosted {
        /// The L2 block the endpoint says it is in.
        block: u64,
    },
    /// What the L2 endpoint said does not hold.
    NotVerified {
        /// Why.
        reason: String,
    },
}

impl Verdict {
    /// Whether the answer is backed by L1 (final or pending in a current batch).
    pub fn is_verified(&self) -> bool {
        matches!(self, Self::Final { .. } | Self::Pending { .. })
    }
}

/// Why verification could not be carried out (as opposed to an answer that fails it).
#[derive(Debug, thiserror::Error)]
pub enum AttestError {
    /// L1 could not be read.
    #[error(transparent)]
    L1(#[from] L1Error),
    /// The L2 endpoint could not be reached or answered with an error.
    #[error("the L2 endpoint: {0}")]
    L2(String),
}

fn not_verified(reason: impl Into<String>) -> Verdict {
    Verdict::NotVerified {
        reason: reason.into(),
    }
}

/// Verifies the record `record_hash` as `l2` serves it against the `Rollup` at `rollup`
/// on `l1`.
pub async fn verify_record<C: VerdictApiClient + Sync>(
    l2: &C,
    l1: &L1Client,
    rollup: Address,
    record_hash: B256,
) -> Result<(Verdict, Option<InferenceJson>), AttestError> {
    let found = l2
        .get_inference(record_hash)
        .await
        .map_err(|e| AttestError::L2(e.to_string()))?;
    let Some(found) = found else {
        return Ok((
            not_verified("the L2 endpoint does not know this record"),
            None,
        ));
    };
    let verdict = check(&found, l1, rollup, record_hash).await?;
    Ok((verdict, Some(found)))
}

async fn check(
    found: &InferenceJson,
    l1: &L1Client,
    rollup: Address,
    record_hash: B256,
) -> Result<Verdict, AttestError> {
    let r = &found.record;
    // 1. The record is what its hash says, and the output is what the record commits to.
    let fee = u128::try_from(r.fee).unwrap_or(u128::MAX);
    let record = InferenceRecord {
        request_hash: r.request_hash.0,
        sender: r.sender.into_array(),
        model_id: r.model_id.0,
        input_root: r.input_root.0,
        output_root: r.output_root.0,
        fee,
    };
    if B256::from(record.hash()) != record_hash {
        return Ok(not_verified(
            "the record served does not hash to the record hash asked for",
        ));
    }
    if B256::from(r.output.commitment()) != r.output_root {
        return Ok(not_verified(
            "the output served is not the output the record commits to",
        ));
    }
    // 2. The proof leads to an output root.
    let Some(proof) = &found.proof else {
        return Ok(Verdict::NotPosted {
            block: found.block_number.to::<u64>(),
        });
    };
    let output_root = match verify_inclusion(&record_hash.0, proof) {
        Ok(root) => root,
        Err(e) => return Ok(not_verified(format!("the inclusion proof is false: {e}"))),
    };
    // 3. L1 holds that output root for that batch, for a range holding the block.
    let index = proof.batch_index.to::<u64>();
    let block = proof.block.to_header().number;
    let Some((header, current)) = batch_on_l1(l1, rollup, index, &output_root).await? else {
        return Ok(not_verified(format!(
            "L1 never held output root {} for batch {index}",
            B256::from(output_root)
        )));
    };
    if block < header.first_block || block > header.last_block {
        return Ok(not_verified(format!(
            "block {block} is not in batch {index} (blocks {}..={})",
            header.first_block, header.last_block
        )));
    }
    if !current {
        return Ok(Verdict::Reverted { batch_index: index });
    }
    let head = l1.read(rollup, Rollup::headCall {}).await?;
    if index < head.finalizedCount {
        return Ok(Verdict::Final { batch_index: index });
    }
    let window = l1.read(rollup, Rollup::disputeWindowCall {}).await?;
    let open = l1
        .read(
            rollup,
            Rollup::openDisputesCall {
                headerHash: B256::from(header.hash()),
            },
        )
        .await?;
    Ok(Verdict::Pending {
        batch_index: index,
        window_end: header.window_end(window),
        l1_block: l1.block_number().await?,
        open_disputes: u64::try_from(open).unwrap_or(u64::MAX),
    })
}

/// The batch `index` posted with `output_root`, and whether it is still the current batch
/// at that index; `None` if L1 never held it.
async fn batch_on_l1(
    l1: &L1Client,
    rollup: Address,
    index: u64,
    output_root: &[u8; 32],
) -> Result<Option<(BatchHeader, bool)>, AttestError> {
    let filter = Filter::new()
        .address(rollup)
        .event_signature(Rollup::BatchPosted::SIGNATURE_HASH)
        .topic1(B256::from(U256::from(index)))
        .from_block(0);
    let logs = l1
        .provider()
        .get_logs(&filter)
        .await
        .map_err(|source| L1Error::Rpc {
            method: "eth_getLogs",
            source,
        })?;
    let current = l1
        .read(
            rollup,
            Rollup::batchHashesCall {
                index: U256::from(index),
            },
        )
        .await?;
    let head = l1.read(rollup, Rollup::headCall {}).await?;
    let mut found = None;
    for log in logs {
        let Ok(event) = log.log_decode::<Rollup::BatchPosted>() else {
            continue;
        };
        let header = header_from_sol(&event.inner.data.header);
        if header.index != index || header.output_root != *output_root {
            continue;
        }
        let is_current = index < head.batchCount && B256::from(header.hash()) == current;
        if is_current {
            return Ok(Some((header, true)));
        }
        found = Some((header, false));
    }
    Ok(found)
}
