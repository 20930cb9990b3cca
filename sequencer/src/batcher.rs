//! The batcher: posts sealed blocks to `Rollup` as batches, tracks each to `posted`,
//! `finalized` or `reverted`, and finalizes batches whose window has passed.
//!
//! Never twice: before a post is sent its block range and data hash are written down
//! (`in_flight_batch`); on start, and after any failed post, the batcher reconciles with
//! L1 — the contract's `nextBlock` says which blocks are already posted, and the
//! `BatchPosted` events since deployment give the headers it recorded. The contract
//! itself refuses a post whose first block is not `nextBlock`, so even a lost record
//! cannot make the same blocks land twice.
//!
//! Splitting: a batch holds at most `batch_blocks` blocks and at most `max_batch_bytes`
//! of batch data, so it fits one L1 transaction (geth's pool takes up to 128 KiB);
//! when the data is too large the range is halved until it fits (a block alone always
//! fits: the builder caps block bytes).

use std::sync::Arc;
use std::time::{Duration, Instant};
use verdict_l1::poll::{Ticker, retry_later};

use alloy::primitives::B256;
use tokio::sync::watch;
use tracing::{info, warn};
use verdict_l1::client::L1Error;
use verdict_l1::contracts::{BatchPost, VerdictL1};
use verdict_rpc::types::Status;
use verdict_specs::batch::{self, BatchHeader};
use verdict_specs::l2::batch_data::{self, BlockBody};

use verdict_chain::store::{BatchRecord, ChainStore, ChainStoreError, InFlightBatch};
use verdict_chain::view::{BatchView, ChainView};
use verdict_rpc::metrics as m;

/// How batches are cut and posted.
#[derive(Clone, Debug)]
pub struct BatcherConfig {
    /// Post once this many sealed blocks wait.
    pub batch_blocks: u64,
    /// Post whatever waits (at least one block) once this long passed since the last post.
    pub batch_interval: Duration,
    /// Most batch-data bytes in one post.
    pub max_batch_bytes: usize,
    /// How often L1 is polled for status.
    pub poll: Duration,
    /// TESTS AND DEMOS ONLY: batches posted with an unbacked withdrawal (`drain` faults).
    pub faults: Option<crate::fault::FaultPlan>,
}

impl Default for BatcherConfig {
    fn default() -> Self {
        Self {
            batch_blocks: 10,
            batch_interval: Duration::from_secs(30),
            max_batch_bytes: 120 * 1024,
            poll: Duration::from_secs(1),
            faults: None,
        }
    }
}

/// Encodes `bodies` as batch data, dropping blocks from the end (halving) until the data
/// fits `max_bytes`; one block is always kept. The blocks dropped go in the next batch.
pub fn fit(bodies: &mut Vec<BlockBody>, max_bytes: usize) -> Vec<u8> {
    let mut data = batch_data::encode(bodies);
    while data.len() > max_bytes && bodies.len() > 1 {
        bodies.truncate(bodies.len().div_ceil(2));
        data = batch_data::encode(bodies);
    }
    data
}

/// Why a batcher step failed (it is retried on the next tick).
#[derive(Debug, thiserror::Error)]
pub enum BatcherError {
    /// L1 failed.
    #[error(transparent)]
    L1(#[from] L1Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] ChainStoreError),
    /// L1 and the local chain disagree.
    #[error("{0}")]
    Mismatch(String),
}

/// The batcher's state.
pub struct Batcher {
    l1: VerdictL1,
    store: ChainStore,
    chain: Arc<ChainView>,
    view: Arc<BatchView>,
    config: BatcherConfig,
    next_block: u64,
    last_post: Instant,
    needs_reconcile: bool,
    /// Set to the first block of a batch L1 reverted: the chain above must be rebuilt
    /// before anything more is posted (see `rollback`).
    reverted: watch::Sender<Option<u64>>,
}

impl Batcher {
    /// A batcher over the stored batches; call [`Batcher::run`].
    pub fn new(
        l1: VerdictL1,
        store: ChainStore,
        chain: Arc<ChainView>,
        config: BatcherConfig,
        reverted: watch::Sender<Option<u64>>,
    ) -> Result<(Self, Arc<BatchView>), ChainStoreError> {
        let batches = store.batches()?;
        let next_block = batches
            .iter()
            .filter(|b| b.status != Status::Reverted)
            .map(|b| b.header.last_block + 1)
            .max()
            .unwrap_or(1);
        let view = Arc::new(BatchView::new(batches, l1.deployment().dispute_window));
        Ok((
            Self {
                l1,
                store,
                chain,
                view: Arc::clone(&view),
                config,
                next_block,
                last_post: Instant::now(),
                needs_reconcile: true,
                reverted,
            },
            view,
        ))
    }

    /// Posts, tracks and finalizes until `stop` turns true.
    pub async fn run(mut self, stop: watch::Receiver<bool>) {
        let mut sealed = self.chain.events.subscribe();
        let mut ticker = Ticker::new(self.config.poll, stop.clone());
        loop {
            let result = self.step(&stop).await;
            if result.is_err() {
                self.needs_reconcile = true;
            }
            retry_later("batcher", result);
            // A sealed block may complete a batch: it wakes the loop at once.
            let sealed_block = async {
                let _ = sealed.recv().await;
            };
            if !ticker.wait_or(sealed_block).await {
                return;
            }
        }
    }

    async fn step(&mut self, stop: &watch::Receiver<bool>) -> Result<(), BatcherError> {
        if self.needs_reconcile {
            self.reconcile().await?;
            self.needs_reconcile = false;
        }
        self.track().await?;
        // Catch up: post as long as whole batches wait (after a restart or a slow L1).
        while !*stop.borrow() && self.post_if_due().await? {}
        self.finalize_if_due().await?;
        Ok(())
    }

    /// Brings the local batch list in line with L1 (after a start or a failed post).
    async fn reconcile(&mut self) -> Result<(), BatcherError> {
        let head = self.l1.head().await?;
        let known = self
            .view
            .read()
            .iter()
            .filter(|b| b.status != Status::Reverted)
            .count() as u64;
        if head.batch_count > known {
            let latest = self.l1.client().block_number().await?;
            let from = self.l1.deployment().deployed_at_block;
            for (header, tx) in self.l1.posted_batch_logs(from, latest).await? {
                if header.index < known || header.index >= head.batch_count {
                    continue;
                }
                if self.l1.batch_hash(header.index).await? != B256::from(header.hash()) {
                    continue; // posted, then reverted: not the current batch at that index
                }
                self.check_output_root(&header)?;
                let record = BatchRecord {
                    header,
                    l1_transaction: tx,
                    status: Status::Posted,
                };
                info!(index = header.index, blocks = %format!("{}..={}", header.first_block, header.last_block), "found a batch posted before the restart");
                self.record(record)?;
            }
        }
        self.store.set_in_flight_batch(None)?;
        self.next_block = head.next_block;
        Ok(())
    }

    fn check_output_root(&self, header: &BatchHeader) -> Result<(), BatcherError> {
        let local = self.store.header(header.last_block)?;
        match local {
            Some(h) if h.hash() == header.output_root => Ok(()),
            _ => Err(BatcherError::Mismatch(format!(
                "batch {} on L1 ends at block {} with output root {}, which this data directory does not hold; \
                 is it another sequencer's data?",
                header.index,
                header.last_block,
                verdict_specs::hash::to_hex(&header.output_root)
            ))),
        }
    }

    fn record(&self, record: BatchRecord) -> Result<(), BatcherError> {
        self.store.put_batch(&record)?;
        self.view.upsert(record);
        Ok(())
    }

    /// Follows L1's finalized count and notices reverts.
    async fn track(&mut self) -> Result<(), BatcherError> {
        let head = self.l1.head().await?;
        let changes: Vec<BatchRecord> = self
            .view
            .read()
            .iter()
            .filter_map(|b| {
                let status = if b.header.index >= head.batch_count {
                    Status::Reverted
                } else if b.header.index < head.finalized_count {
                    Status::Finalized
                } else {
                    Status::Posted
                };
                (status != b.status && b.status != Status::Reverted).then(|| BatchRecord {
                    status,
                    ..b.clone()
                })
            })
            .collect();
        for change in changes {
            if change.status == Status::Reverted {
                warn!(index = change.header.index, "batch reverted on L1");
                self.next_block = self.next_block.min(change.header.first_block);
                let first = change.header.first_block;
                self.reverted
                    .send_modify(|r| *r = Some(r.map_or(first, |known| known.min(first))));
            } else if change.status == Status::Finalized {
                info!(index = change.header.index, "batch final");
                metrics::gauge!(m::BATCH_FINALIZED_HEIGHT).set(change.header.last_block as f64);
            }
            self.record(change)?;
        }
        Ok(())
    }

    /// Posts one batch if one is due; whether it did.
    async fn post_if_due(&mut self) -> Result<bool, BatcherError> {
        if self.reverted.borrow().is_some() {
            // The blocks above the reverted batch are lost; nothing is posted until the
            // chain is rolled back and rebuilt.
            return Ok(false);
        }
        let sealed = self.chain.sealed().number;
        if sealed < self.next_block {
            return Ok(false);
        }
        let waiting = sealed - self.next_block + 1;
        if waiting < self.config.batch_blocks
            && self.last_post.elapsed() < self.config.batch_interval
        {
            return Ok(false);
        }
        let first = self.next_block;
        let mut last = first + waiting.min(self.config.batch_blocks) - 1;
        let mut bodies = Vec::new();
        for number in first..=last {
            // Only blocks whose seal is durable are in `headers`.
            let Some(header) = self.store.header(number)? else {
                last = number.saturating_sub(1);
                break;
            };
            bodies.push(BlockBody {
                header,
                inferences: self.store.txs(number)?,
                withdrawals: self.store.withdrawals(number)?,
            });
        }
        if bodies.is_empty() || last < first {
            return Ok(false);
        }
        let mut data = fit(&mut bodies, self.config.max_batch_bytes);
        if let (Some(plan), Some(to)) = (self.config.faults, self.l1.client().sender())
            && plan.drains(first)
            && let Some(last_body) = bodies.last_mut()
        {
            let claimed = crate::fault::drain(
                &mut last_body.header,
                &last_body.withdrawals,
                to.into_array(),
            );
            warn!(
                block = last_body.header.number,
                wei = claimed.amount,
                "fault injection: posting a header that commits to a withdrawal its body lacks (drain)"
            );
            data = batch_data::encode(&bodies);
        }
        let last_header = bodies[bodies.len() - 1].header;
        last = last_header.number;
        // What the Rollup derives from the data's headers (the block range, the output
        // root, the deposits consumed): the post carries no claim of its own.
        let deposits_end = last_header.deposits_consumed;
        let deposit_accumulator = self.l1.accumulator_at(deposits_end).await?;
        self.store.set_in_flight_batch(Some(&InFlightBatch {
            first_block: first,
            last_block: last,
            data_hash: batch::data_hash(&data),
        }))?;
        let bytes = data.len();
        let posted = self
            .l1
            .post_batch(&BatchPost {
                deposit_accumulator,
                data,
            })
            .await?;
        let gas = posted.receipt.gas_used;
        metrics::counter!(m::L1_GAS_SPENT_TOTAL, m::LABEL_KIND => m::KIND_POST).increment(gas);
        metrics::gauge!(m::BATCH_POSTED_HEIGHT).set(last as f64);
        info!(
            index = posted.header.index,
            blocks = %format!("{first}..={last}"),
            bytes,
            gas,
            l1_block = posted.header.l1_block,
            "batch posted"
        );
        self.record(BatchRecord {
            header: posted.header,
            l1_transaction: posted.receipt.transaction_hash,
            status: Status::Posted,
        })?;
        self.store.set_in_flight_batch(None)?;
        self.next_block = last + 1;
        self.last_post = Instant::now();
        Ok(true)
    }

    async fn finalize_if_due(&mut self) -> Result<(), BatcherError> {
        let next = self
            .view
            .read()
            .iter()
            .find(|b| b.status == Status::Posted)
            .cloned();
        let Some(batch) = next else { return Ok(()) };
        let window_end = batch.header.window_end(self.l1.deployment().dispute_window);
        let latest = self.l1.client().block_number().await?;
        // The finalize transaction lands in block `latest + 1` at the earliest.
        if latest + 1 < window_end {
            return Ok(());
        }
        let receipt = self.l1.finalize(&batch.header).await?;
        metrics::counter!(m::L1_GAS_SPENT_TOTAL, m::LABEL_KIND => m::KIND_FINALIZE)
            .increment(receipt.gas_used);
        self.record(BatchRecord {
            status: Status::Finalized,
            ..batch
        })?;
        metrics::gauge!(m::BATCH_FINALIZED_HEIGHT).set(batch.header.last_block as f64);
        info!(index = batch.header.index, "batch finalized");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use verdict_specs::Tensor;
    use verdict_specs::l2::block::BlockHeader;
    use verdict_specs::l2::record::InferenceTx;
    use verdict_specs::l2::request::{InferenceRequest, SignedRequest};

    fn body(number: u64, inferences: usize) -> BlockBody {
        let tx = |i: usize| InferenceTx {
            signed: SignedRequest {
                request: InferenceRequest {
                    sender: [number as u8; 20],
                    nonce: i as u64,
                    model_id: [7; 32],
                    // Incompressible-ish input, so sizes are predictable.
                    input: Tensor::from_i8(
                        vec![64],
                        (0..64)
                            .map(|k| ((k * 37 + i * 11 + number as usize * 5) % 251) as u8 as i8)
                            .map(|v| v.max(-127))
                            .collect(),
                    )
                    .expect("tensor"),
                    max_fee: 1,
                },
                signature: [i as u8; 65],
            },
            output: Tensor::from_i32(vec![1], vec![i as i32]).expect("tensor"),
            fee: 1,
        };
        BlockBody {
            header: BlockHeader {
                number,
                record_count: inferences as u32,
                ..BlockHeader::genesis()
            },
            inferences: (0..inferences).map(tx).collect(),
            withdrawals: vec![],
        }
    }

    #[test]
    fn a_batch_too_large_for_one_post_is_split_and_every_part_decodes() {
        let all: Vec<BlockBody> = (1..=8).map(|n| body(n, 20)).collect();
        let whole = batch_data::encode(&all).len();
        let limit = whole / 3;
        let mut rest = all.clone();
        let mut posted = Vec::new();
        while !rest.is_empty() {
            let mut part = rest.clone();
            let data = fit(&mut part, limit);
            assert!(
                data.len() <= limit || part.len() == 1,
                "{} > {limit}",
                data.len()
            );
            let decoded = batch_data::decode(&data).expect("decodes");
            assert_eq!(decoded, part);
            rest.drain(..part.len());
            posted.extend(decoded);
        }
        assert_eq!(posted, all, "the parts together are the chain, in order");
    }

    #[test]
    fn one_block_is_always_kept_even_when_it_alone_is_over_the_limit() {
        let mut bodies = vec![body(1, 50), body(2, 50)];
        let data = fit(&mut bodies, 10);
        assert_eq!(bodies.len(), 1);
        assert!(data.len() > 10);
    }
}
