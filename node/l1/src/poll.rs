//! The one loop every follower of L1 runs (the sequencer's batcher, deposit follower and
//! defender, the challenger, the full node): a step now, then again every poll interval
//! (sooner when woken), until told to stop ([`Ticker`]). A step that fails (an L1
//! hiccup, a busy disk) is logged and tried again on the next tick ([`retry_later`]):
//! followers never give up on a transient failure, and every step resumes from its own
//! durable cursor ([`next_range`]).

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tracing::warn;

/// The waiting half of a follower's loop: one poll interval at a time, cut short by a
/// wake-up, until the follower is told to stop. A follower runs
///
/// ```ignore
/// let mut ticker = Ticker::new(poll, stop);
/// loop {
///     retry_later("defender", self.step().await);
///     if !ticker.wait().await {
///         return;
///     }
/// }
/// ```
pub struct Ticker {
    poll: Duration,
    stop: watch::Receiver<bool>,
}

impl Ticker {
    /// Ticks every `poll` until `stop` turns true (or its sender is gone).
    pub fn new(poll: Duration, stop: watch::Receiver<bool>) -> Self {
        Self { poll, stop }
    }

    /// Waits one poll interval; `false` once the follower must stop.
    pub async fn wait(&mut self) -> bool {
        self.wait_or(std::future::pending()).await
    }

    /// Waits one poll interval or until `wake` resolves, whichever is first (the batcher
    /// wakes on a sealed block); `false` once the follower must stop.
    pub async fn wait_or(&mut self, wake: impl Future<Output = ()>) -> bool {
        tokio::select! {
            _ = self.stop.changed() => return false,
            _ = tokio::time::sleep(self.poll) => {}
            _ = wake => {}
        }
        !*self.stop.borrow()
    }
}

/// A failed step of a follower is logged (`"{what}: {error}; retrying"`) and tried again
/// on the next tick.
pub fn retry_later<E: Display>(what: &str, result: Result<(), E>) {
    if let Err(e) = result {
        warn!("{what}: {e}; retrying");
    }
}

/// The L1 block range a cursor-driven follower reads next: from `cursor` (or `start`,
/// where nothing was read yet) up to `latest`, at most `max_range` blocks (an
/// `eth_getLogs` limit); `None` when it is past `latest`.
pub fn next_range(
    cursor: Option<u64>,
    start: u64,
    latest: u64,
    max_range: u64,
) -> Option<(u64, u64)> {
    let from = cursor.unwrap_or(start);
    (from <= latest).then(|| (from, latest.min(from + max_range.max(1) - 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_start_at_the_cursor_and_stop_at_latest_or_the_limit() {
        assert_eq!(next_range(None, 5, 4, 100), None);
        assert_eq!(next_range(None, 5, 5, 100), Some((5, 5)));
        assert_eq!(next_range(Some(10), 5, 500, 100), Some((10, 109)));
        assert_eq!(next_range(Some(10), 5, 50, 100), Some((10, 50)));
        assert_eq!(next_range(Some(51), 5, 50, 100), None);
    }

    #[tokio::test]
    async fn a_ticker_ticks_until_stopped() {
        let (stop_tx, stop) = watch::channel(false);
        let mut ticker = Ticker::new(Duration::from_millis(1), stop);
        let mut ticks = 0;
        while ticker.wait().await {
            ticks += 1;
            if ticks == 3 {
                let _ = stop_tx.send(true);
            }
        }
        assert_eq!(ticks, 3);
    }

    #[tokio::test]
    async fn a_wake_cuts_the_interval_short_and_a_dropped_sender_stops() {
        let (stop_tx, stop) = watch::channel(false);
        let mut ticker = Ticker::new(Duration::from_secs(3600), stop);
        let woke = tokio::time::timeout(Duration::from_secs(5), ticker.wait_or(async {}))
            .await
            .expect("the wake ends the wait");
        assert!(woke);
        drop(stop_tx);
        assert!(!ticker.wait().await, "no sender: stop");
    }
}
