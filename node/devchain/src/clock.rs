//! Block timestamps: wall-clock time plus an offset the dev methods move.
//!
//! A new block's timestamp is `now + offset`, or the one `evm_setNextBlockTimestamp` /
//! `evm_mine(ts)` asked for, and always at least one second after its parent's, so
//! timestamps strictly increase even when many blocks are mined within a second (as in
//! anvil). Mining at an asked-for time moves the offset so the chain carries on from
//! there. The clock is journaled, so a restart keeps the offset.

use serde::{Deserialize, Serialize};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds the chain's time runs ahead of the wall clock, and a pending fixed timestamp.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Clock {
    pub(crate) offset: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) next_timestamp: Option<u64>,
}

/// Wall-clock seconds since the Unix epoch (0 if the system clock is before it).
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default()
}

impl Clock {
    /// The chain's current time (not yet bound to a block).
    pub(crate) fn now(&self, wall: u64) -> u64 {
        wall.saturating_add_signed(self.offset)
    }

    /// The timestamp of the block after one stamped `parent`.
    pub(crate) fn next_block_timestamp(&self, parent: u64, wall: u64) -> u64 {
        self.next_timestamp
            .unwrap_or_else(|| self.now(wall))
            .max(parent.saturating_add(1))
    }

    /// The clock after a block stamped `timestamp` was mined: an asked-for timestamp is
    /// used up and time carries on from it.
    pub(crate) fn after_block(self, timestamp: u64, wall: u64, asked: bool) -> Self {
        if asked || self.next_timestamp.is_some() {
            Self {
                offset: offset_between(wall, timestamp),
                next_timestamp: None,
            }
        } else {
            self
        }
    }

    /// `evm_increaseTime`: moves time forward by `seconds`; returns the new offset.
    pub(crate) fn increase(&mut self, seconds: u64) -> i64 {
        self.offset = self
            .offset
            .saturating_add(i64::try_from(seconds).unwrap_or(i64::MAX));
        self.offset
    }
}

fn offset_between(wall: u64, timestamp: u64) -> i64 {
    let difference = i128::from(timestamp) - i128::from(wall);
    i64::try_from(difference).unwrap_or(if difference < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_increase_and_asked_times_move_the_offset() {
        let mut clock = Clock::default();
        assert_eq!(clock.next_block_timestamp(100, 100), 101);
        assert_eq!(clock.next_block_timestamp(100, 200), 200);
        assert_eq!(clock.increase(60), 60);
        assert_eq!(clock.next_block_timestamp(100, 200), 260);
        clock.next_timestamp = Some(1_000);
        assert_eq!(clock.next_block_timestamp(100, 200), 1_000);
        let after = clock.after_block(1_000, 200, false);
        assert_eq!(after.offset, 800);
        assert_eq!(after.next_timestamp, None);
    }
}
