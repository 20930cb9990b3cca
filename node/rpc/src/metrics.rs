//! Prometheus metrics: the names every role records under, and the process-wide recorder.
//!
//! Code records through the [`metrics`] facade (`metrics::counter!(REQUESTS_TOTAL, ..)`);
//! [`install`] puts a Prometheus recorder behind the facade once per process and returns a
//! [`MetricsRender`] that the RPC server answers `GET /metrics` with. No listener of its own:
//! metrics share the RPC port (`docs/rpc.md`).
//!
//! Names follow Prometheus conventions: `_total` for counters, base units (`_seconds`) for
//! histograms. The names and labels are part of the operator interface: dashboards and
//! alerts rely on them, so a rename is a breaking change.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics::Unit;
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

use crate::server::MetricsRender;

/// Counter of JSON-RPC requests handled, labelled [`LABEL_METHOD`] (`sendInference`, ..)
/// and [`LABEL_OUTCOME`] (`ok` or the error code, e.g. `1002`).
pub const REQUESTS_TOTAL: &str = "verdict_requests_total";
/// Histogram of request handling time, in seconds (buckets [`REQUEST_SECONDS_BUCKETS`]).
pub const REQUEST_SECONDS: &str = "verdict_request_seconds";
/// Gauge: the latest sealed L2 block's number.
pub const BLOCK_HEIGHT: &str = "verdict_block_height";
/// Gauge: the last L2 block covered by a batch posted to L1.
pub const BATCH_POSTED_HEIGHT: &str = "verdict_batch_posted_height";
/// Gauge: the last L2 block covered by a batch L1 has finalized.
pub const BATCH_FINALIZED_HEIGHT: &str = "verdict_batch_finalized_height";
/// Counter of L1 gas spent by this node, labelled [`LABEL_KIND`] (`post`, `finalize`, `bond`).
pub const L1_GAS_SPENT_TOTAL: &str = "verdict_l1_gas_spent_total";
/// Counter of records (executed inferences) committed to blocks.
pub const RECORDS_TOTAL: &str = "verdict_records_total";

/// Label: the RPC method, without the `verdict_` prefix.
pub const LABEL_METHOD: &str = "method";
/// Label: `ok`, or the numeric error code.
pub const LABEL_OUTCOME: &str = "outcome";
/// Label of [`L1_GAS_SPENT_TOTAL`]: what the gas paid for.
pub const LABEL_KIND: &str = "kind";
/// [`LABEL_KIND`] value: posting a batch.
pub const KIND_POST: &str = "post";
/// [`LABEL_KIND`] value: finalizing a batch.
pub const KIND_FINALIZE: &str = "finalize";
/// [`LABEL_KIND`] value: posting or topping up the sequencer's bond.
pub const KIND_BOND: &str = "bond";

/// Bucket upper bounds of [`REQUEST_SECONDS`]: 0.1 ms to 1 s, about three per decade
/// (a cached read answers in well under a millisecond; an inference in milliseconds).
pub const REQUEST_SECONDS_BUCKETS: [f64; 13] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];

/// How often histogram samples are folded into their buckets between scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Why the recorder could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The exporter rejected its configuration (empty buckets).
    #[error("configuring the Prometheus recorder: {0}")]
    Build(#[source] BuildError),
    /// A recorder that is not ours is already the process's global recorder.
    #[error("another metrics recorder is already installed in this process: {0}")]
    OtherRecorder(#[source] BuildError),
    /// The upkeep thread could not be started.
    #[error("starting the metrics upkeep thread: {0}")]
    Upkeep(#[source] std::io::Error),
}

/// The recorder this module installed, if any (the global recorder cannot be read back).
static INSTALLED: Mutex<Option<PrometheusHandle>> = Mutex::new(None);

/// Installs the Prometheus recorder as the process's `metrics` recorder (the first call) and
/// returns a renderer of the current values. Later calls return a renderer of the same
/// recorder, so several nodes in one process (tests) share it.
///
/// Fails only if some other recorder was installed first.
pub fn install() -> Result<MetricsRender, MetricsError> {
    // A poisoned lock only means another thread panicked mid-install; the Option is intact.
    let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    let handle = match installed.as_ref() {
        Some(handle) => handle.clone(),
        None => {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(REQUEST_SECONDS.to_owned()),
                    &REQUEST_SECONDS_BUCKETS,
                )
                .map_err(MetricsError::Build)?
                .install_recorder()
                .map_err(MetricsError::OtherRecorder)?;
            describe();
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_INTERVAL);
                        upkeep.run_upkeep();
                    }
                })
                .map_err(MetricsError::Upkeep)?;
            installed.insert(handle).clone()
        }
    };
    Ok(Arc::new(move || handle.render()))
}

/// The `# HELP` lines (a metric appears in the output once it has been recorded).
fn describe() {
    metrics::describe_counter!(
        REQUESTS_TOTAL,
        Unit::Count,
        "JSON-RPC requests handled, by method and outcome (ok or the error code)"
    );
    metrics::describe_histogram!(
        REQUEST_SECONDS,
        Unit::Seconds,
        "Time to handle a JSON-RPC request"
    );
    metrics::describe_gauge!(
        BLOCK_HEIGHT,
        Unit::Count,
        "Number of the latest sealed L2 block"
    );
    metrics::describe_gauge!(
        BATCH_POSTED_HEIGHT,
        Unit::Count,
        "Last L2 block covered by a batch posted to L1"
    );
    metrics::describe_gauge!(
        BATCH_FINALIZED_HEIGHT,
        Unit::Count,
        "Last L2 block covered by a batch finalized on L1"
    );
    metrics::describe_counter!(
        L1_GAS_SPENT_TOTAL,
        Unit::Count,
        "L1 gas paid by this node, by kind (post, finalize, bond)"
    );
    metrics::describe_counter!(
        RECORDS_TOTAL,
        Unit::Count,
        "Records (executed inferences) committed to L2 blocks"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_twice_shares_one_recorder() {
        let first = install().expect("no other recorder in this test binary");
        let second = install().expect("the second install returns the first recorder");
        metrics::counter!(RECORDS_TOTAL).increment(3);
        metrics::counter!(L1_GAS_SPENT_TOTAL, LABEL_KIND => KIND_POST).increment(21_000);
        metrics::histogram!(REQUEST_SECONDS, LABEL_METHOD => "models").record(0.0003);
        for text in [first(), second()] {
            assert!(
                text.contains("# TYPE verdict_records_total counter"),
                "{text}"
            );
            assert!(text.contains("verdict_records_total 3"), "{text}");
            assert!(
                text.contains("verdict_l1_gas_spent_total{kind=\"post\"} 21000"),
                "{text}"
            );
            // A histogram (buckets), not a summary.
            assert!(
                text.contains("verdict_request_seconds_bucket{method=\"models\",le=\"0.0005\"} 1"),
                "{text}"
            );
        }
    }
}
