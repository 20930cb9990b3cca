//! Following L1 after a lost dispute (or an L1 reorg): the chain above the last
//! surviving batch is gone on L1, so it goes locally too. The state is recomputed by
//! replaying the blocks kept, and the inferences of the removed ones are kept for the
//! sequencer to execute again (honestly) into new blocks: users keep their answers'
//! requests, and a wrong answer comes back right, under a new record. A full node keeps
//! no such list: it takes the blocks L1 posts next.

use tracing::{info, warn};
use verdict_specs::l2::Address;

use crate::replay::{self, ReplayError, WrongCredits};
use crate::store::{ChainStore, ChainStoreError};

/// Why a roll-back could not be done.
#[derive(Debug, thiserror::Error)]
pub enum RollbackError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] ChainStoreError),
    /// The stored chain does not replay to its own state roots.
    #[error("replaying the stored chain: {0}")]
    Inconsistent(String),
}

/// Rolls `store` back to block `to` (the last block L1 still holds), recomputing the
/// state by replaying blocks `1..=to`; returns how many inferences wait to run again.
pub fn roll_back(store: &ChainStore, to: u64, sequencer: &Address) -> Result<usize, RollbackError> {
    roll_back_with(store, to, sequencer, None)
}

/// [`roll_back`] for a writer that credited the `wrong` deposits wrongly on purpose (a
/// sequencer with a fault plan): the replay reproduces the credits it sealed (see
/// [`crate::replay`]).
pub fn roll_back_with(
    store: &ChainStore,
    to: u64,
    sequencer: &Address,
    wrong: WrongCredits<'_>,
) -> Result<usize, RollbackError> {
    let Some(target) = store.header(to)? else {
        return Err(RollbackError::Inconsistent(format!(
            "block {to} is not stored"
        )));
    };
    let mut state = replay::replay_chain(store, to, wrong, sequencer).map_err(|e| match e {
        ReplayError::Store(e) => RollbackError::Store(e),
        other => RollbackError::Inconsistent(other.to_string()),
    })?;
    if state.root() != target.state_root {
        return Err(RollbackError::Inconsistent(format!(
            "the state after block {to} replays to another root"
        )));
    }
    let mut replay = store.replay()?;
    let mut deposits = store.replay_deposits()?.max(target.deposits_consumed);
    let head = store.head()?.map_or(0, |h| h.number);
    // The open block (above the head) too.
    for number in to + 1..=head + 1 {
        replay.extend(store.txs(number)?);
        if let Some(header) = store.header(number)? {
            deposits = deposits.max(header.deposits_consumed);
        }
        if let Some(last) = store.block_deposits(number)?.last() {
            deposits = deposits.max(last.index + 1);
        }
    }
    let accounts: Vec<_> = state.accounts().map(|(a, acc)| (*a, *acc)).collect();
    store.roll_back(&target, &accounts, &replay, deposits)?;
    if replay.is_empty() {
        info!(to, "chain rolled back");
    } else {
        warn!(
            to,
            inferences = replay.len(),
            "chain rolled back; the inferences above it are kept for replay"
        );
    }
    Ok(replay.len())
}
