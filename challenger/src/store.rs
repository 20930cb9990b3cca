//! The challenger's own database (RocksDB): its sampling secret, how far it has read L1,
//! and the games it plays. L1 stays the source of truth for every game's position; the
//! store keeps what L1 does not hold (the disputed record's input, the secret) and makes
//! a restart resume instead of starting over.
//!
//! | column family | key | value |
//! |---|---|---|
//! | `meta` | `secret` | 32 random bytes, made on first start |
//! | `meta` | `cursor` | the next L1 block to read batches from (u64 BE) |
//! | `games` | game id (u64 BE) | JSON [`GameRecord`] |

use std::path::Path;

use serde::{Deserialize, Serialize};
use verdict_specs::{Hash, Tensor};
use verdict_store::{Store, StoreError, WriteSet};

const META: &str = "meta";
const GAMES: &str = "games";

/// What the challenger keeps about one of its games.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GameRecord {
    /// The game's id on L1.
    pub id: u64,
    /// The disputed batch.
    pub batch_index: u64,
    /// The disputed record's hash.
    #[serde(with = "verdict_specs::hash::serde_hex")]
    pub record_hash: Hash,
    /// Its model.
    #[serde(with = "verdict_specs::hash::serde_hex")]
    pub model_id: Hash,
    /// Its input, from the batch data.
    pub input: Tensor,
    /// Opened by `--lie` against a record the challenger found right.
    pub lie: bool,
    /// L1 block of the opening (events are read from here).
    pub opened_at: u64,
    /// Over (the last status read from L1 was final).
    pub over: bool,
    /// A state game (specs/state.md §6): the honest trace `S_0 … S_n` of the disputed
    /// block, which midpoints are judged against. `record_hash` then holds the block's
    /// hash and `model_id`/`input` are unused.
    #[serde(default)]
    pub state_trace: Option<Vec<Hash>>,
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum ChallengerStoreError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Stored bytes do not decode.
    #[error("corrupt {0} in the challenger database")]
    Corrupt(&'static str),
}

type Result<T> = std::result::Result<T, ChallengerStoreError>;

/// The challenger database.
#[derive(Clone)]
pub struct ChallengerStore {
    store: Store,
}

impl ChallengerStore {
    /// Opens (or creates) the database in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        Ok(Self {
            store: Store::open(dir, &[META, GAMES])?,
        })
    }

    /// The sampling secret, made from `fresh` (random bytes) and stored on first use.
    pub fn secret(&self, fresh: impl FnOnce() -> Hash) -> Result<Hash> {
        if let Some(bytes) = self.store.get(META, b"secret")? {
            return bytes
                .as_slice()
                .try_into()
                .map_err(|_| ChallengerStoreError::Corrupt("secret"));
        }
        let secret = fresh();
        let mut set = WriteSet::new();
        set.put(META, b"secret".to_vec(), secret.to_vec());
        self.store.write_sync(set)?;
        Ok(secret)
    }

    /// The next L1 block to read, if any was stored.
    pub fn cursor(&self) -> Result<Option<u64>> {
        self.store
            .get(META, b"cursor")?
            .map(|b| {
                b.as_slice()
                    .try_into()
                    .map(u64::from_be_bytes)
                    .map_err(|_| ChallengerStoreError::Corrupt("cursor"))
            })
            .transpose()
    }

    /// Stores the cursor durably.
    pub fn set_cursor(&self, next_block: u64) -> Result<()> {
        let mut set = WriteSet::new();
        set.put(META, b"cursor".to_vec(), next_block.to_be_bytes().to_vec());
        self.store.write_sync(set)?;
        Ok(())
    }

    /// Stores (or updates) a game durably.
    pub fn put_game(&self, game: &GameRecord) -> Result<()> {
        let mut set = WriteSet::new();
        let json = serde_json::to_vec(game).map_err(|_| ChallengerStoreError::Corrupt("game"))?;
        set.put(GAMES, game.id.to_be_bytes().to_vec(), json);
        self.store.write_sync(set)?;
        Ok(())
    }

    /// Every stored game, by id.
    pub fn games(&self) -> Result<Vec<GameRecord>> {
        let mut out = Vec::new();
        for entry in self.store.scan_from(GAMES, &[]) {
            let (_, value) = entry?;
            out.push(
                serde_json::from_slice(&value)
                    .map_err(|_| ChallengerStoreError::Corrupt("game"))?,
            );
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_cursor_and_games_survive_a_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let game = GameRecord {
            id: 7,
            batch_index: 2,
            record_hash: [1; 32],
            model_id: [2; 32],
            input: Tensor::from_i8(vec![2], vec![1, -1]).expect("tensor"),
            lie: false,
            opened_at: 40,
            over: false,
            state_trace: Some(vec![[3; 32], [4; 32]]),
        };
        {
            let store = ChallengerStore::open(dir.path()).expect("open");
            assert_eq!(store.secret(|| [9; 32]).expect("secret"), [9; 32]);
            store.set_cursor(41).expect("cursor");
            store.put_game(&game).expect("game");
        }
        let store = ChallengerStore::open(dir.path()).expect("reopen");
        assert_eq!(store.secret(|| [0; 32]).expect("secret"), [9; 32]);
        assert_eq!(store.cursor().expect("cursor"), Some(41));
        assert_eq!(store.games().expect("games"), vec![game]);
    }
}
