//! Names of the Prometheus metrics the sequencer emits (rendered on `/metrics`).

/// Counter, labels `method`, `outcome` (`ok`, `rejected`, `error`).
pub const REQUESTS: &str = "verdict_requests_total";
/// Histogram of `verdict_sendInference` latency in seconds, admission to durable answer.
pub const REQUEST_SECONDS: &str = "verdict_request_seconds";
/// Counter of records made durable.
pub const RECORDS: &str = "verdict_records_total";
/// Gauge: the last sealed L2 block.
pub const BLOCK_HEIGHT: &str = "verdict_block_height";
/// Gauge: the last L2 block in a posted batch.
pub const BATCH_POSTED_HEIGHT: &str = "verdict_batch_posted_height";
/// Gauge: the number of finalized batches.
pub const BATCH_FINALIZED_HEIGHT: &str = "verdict_batch_finalized_height";
/// Counter of L1 gas the sequencer paid for, label `kind` (`post`, `finalize`).
pub const L1_GAS_SPENT: &str = "verdict_l1_gas_spent_total";
/// Gauge: batch data bytes of the last post (after compression).
pub const BATCH_BYTES: &str = "verdict_batch_bytes";
