//! The chain in RocksDB, as the sequencer and the full node keep it: the layout, and
//! typed reads and write sets over
//! `verdict_store`.
//!
//! | column family | key | value |
//! |---|---|---|
//! | `meta` | `head` | the last sealed header (its encoding) |
//! | `meta` | `deposit_l1_block` | L1 block of the last deposit taken (u64) |
//! | `meta` | `in_flight_batch` | JSON of a batch post sent but not yet recorded |
//! | `meta` | `follow_cursor` | next L1 block a full node reads batches from (u64) |
//! | `meta` | `defender_cursor` | next L1 block the defender reads games from (u64) |
//! | `meta` | `defender_games` | JSON list of the game ids the defender plays |
//! | `meta` | `replay` | inferences a roll-back removed, to execute again (count, encodings) |
//! | `meta` | `replay_deposits` | deposits the removed blocks had consumed (u64) |
//! | `headers` | number (u64 BE) | header encoding |
//! | `block_hashes` | hash | number |
//! | `txs` | number ‖ index (u64 BE ‖ u32 BE) | an inference's batch-data encoding |
//! | `records` | record hash | number ‖ index |
//! | `block_records` | number | the block's record hashes, concatenated |
//! | `deposits` | number | JSON list of the deposits the block consumed |
//! | `accounts` | address | the account as of the last sealed block |
//! | `batches` | index (u64 BE) | JSON [`BatchRecord`] |
//!
//! An answered inference is in `txs` (and `records`) before its answer leaves; the open
//! block is whatever `txs` and `deposits` hold above the sealed head, and a restart
//! replays it. A seal writes the header and the block's changed accounts in one set.

use std::future::Future;
use std::path::Path;

use alloy::primitives::B256;
use serde::{Deserialize, Serialize};
use verdict_rpc::types::Status;
use verdict_specs::Hash;
use verdict_specs::batch::BatchHeader;
use verdict_specs::bridge::Deposit;
use verdict_specs::encoding::{Reader, Writer};
use verdict_specs::l2::Address;
use verdict_specs::l2::account::{ACCOUNT_BYTES, Account};
use verdict_specs::l2::block::BlockHeader;
use verdict_specs::l2::record::InferenceTx;
use verdict_specs::l2::withdrawal::SignedWithdrawal;
use verdict_store::{GroupCommitConfig, GroupCommitter, Store, StoreError, WriteSet};

const META: &str = "meta";
const HEADERS: &str = "headers";
const BLOCK_HASHES: &str = "block_hashes";
const TXS: &str = "txs";
const RECORDS: &str = "records";
const BLOCK_RECORDS: &str = "block_records";
const DEPOSITS: &str = "deposits";
const ACCOUNTS: &str = "accounts";
const BATCHES: &str = "batches";
const WITHDRAWALS: &str = "withdrawals";
const WITHDRAWAL_LEAVES: &str = "withdrawal_leaves";

const COLUMN_FAMILIES: &[&str] = &[
    META,
    HEADERS,
    BLOCK_HASHES,
    TXS,
    RECORDS,
    BLOCK_RECORDS,
    DEPOSITS,
    ACCOUNTS,
    BATCHES,
    WITHDRAWALS,
    WITHDRAWAL_LEAVES,
];

/// A batch the sequencer posted, as it tracks it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRecord {
    /// The header L1 recorded.
    pub header: BatchHeader,
    /// The L1 transaction that posted it.
    pub l1_transaction: B256,
    /// Posted, finalized or reverted.
    pub status: Status,
}

/// A post sent to L1 whose outcome is not recorded yet (see `batcher`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InFlightBatch {
    /// First block of the post.
    pub first_block: u64,
    /// Last block of the post.
    pub last_block: u64,
    /// Its batch data hash.
    #[serde(with = "verdict_specs::hash::serde_hex")]
    pub data_hash: Hash,
}

/// Errors reading the chain back.
#[derive(Debug, thiserror::Error)]
pub enum ChainStoreError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Stored bytes do not decode: the data directory is damaged or from another version.
    #[error("corrupt {what} in the chain database: {reason}")]
    Corrupt {
        /// What was being read.
        what: String,
        /// Why it does not decode.
        reason: String,
    },
}

type Result<T> = std::result::Result<T, ChainStoreError>;

fn corrupt(what: impl Into<String>, reason: impl ToString) -> ChainStoreError {
    ChainStoreError::Corrupt {
        what: what.into(),
        reason: reason.to_string(),
    }
}

fn tx_key(number: u64, index: u32) -> Vec<u8> {
    let mut key = number.to_be_bytes().to_vec();
    key.extend_from_slice(&index.to_be_bytes());
    key
}

fn u64_value(bytes: &[u8], what: &str) -> Result<u64> {
    let array: [u8; 8] = bytes.try_into().map_err(|_| corrupt(what, "not 8 bytes"))?;
    Ok(u64::from_be_bytes(array))
}

/// The chain database and its group committer.
#[derive(Clone)]
pub struct ChainStore {
    store: Store,
    committer: GroupCommitter,
}

impl ChainStore {
    /// Opens (or creates) the chain database in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        let store = Store::open(dir, COLUMN_FAMILIES)?;
        let committer = store.group_committer(GroupCommitConfig::default());
        Ok(Self { store, committer })
    }

    /// Queues `set`; resolves once it is durable.
    pub fn commit(
        &self,
        set: WriteSet,
    ) -> impl Future<Output = std::result::Result<(), StoreError>> + Send + 'static {
        self.committer.commit(set)
    }

    /// Writes `set` durably now (for rare writes off the hot path).
    pub fn write_now(&self, set: WriteSet) -> Result<()> {
        Ok(self.store.write_sync(set)?)
    }

    // ------------------------------------------------------------------ blocks

    /// The last sealed header, writing the genesis first on a fresh database.
    pub fn head_or_genesis(&self) -> Result<BlockHeader> {
        if let Some(head) = self.head()? {
            return Ok(head);
        }
        let genesis = BlockHeader::genesis();
        let mut set = WriteSet::new();
        put_seal(&mut set, &genesis, &[], std::iter::empty());
        self.write_now(set)?;
        Ok(genesis)
    }

    /// The last sealed header, if any block (even the genesis) was sealed.
    pub fn head(&self) -> Result<Option<BlockHeader>> {
        self.store
            .get(META, b"head")?
            .map(|bytes| decode_header(&bytes, "the head"))
            .transpose()
    }

    /// The sealed header at `number`.
    pub fn header(&self, number: u64) -> Result<Option<BlockHeader>> {
        self.store
            .get(HEADERS, &number.to_be_bytes())?
            .map(|bytes| decode_header(&bytes, &format!("header {number}")))
            .transpose()
    }

    /// The number of the sealed block with `hash`.
    pub fn number_by_hash(&self, hash: &Hash) -> Result<Option<u64>> {
        self.store
            .get(BLOCK_HASHES, hash)?
            .map(|bytes| u64_value(&bytes, "a block hash index"))
            .transpose()
    }

    /// Every inference of block `number` (sealed or open), in order.
    pub fn txs(&self, number: u64) -> Result<Vec<InferenceTx>> {
        let prefix = number.to_be_bytes();
        let mut txs = Vec::new();
        for entry in self.store.scan_from(TXS, &tx_key(number, 0)) {
            let (key, value) = entry?;
            if !key.starts_with(&prefix) {
                break;
            }
            txs.push(decode_tx(&value, number, txs.len())?);
        }
        Ok(txs)
    }

    /// Inference `index` of block `number`.
    pub fn tx(&self, number: u64, index: u32) -> Result<Option<InferenceTx>> {
        self.store
            .get(TXS, &tx_key(number, index))?
            .map(|bytes| decode_tx(&bytes, number, index as usize))
            .transpose()
    }

    /// Every withdrawal of block `number` (sealed or open), in order.
    pub fn withdrawals(&self, number: u64) -> Result<Vec<SignedWithdrawal>> {
        let prefix = number.to_be_bytes();
        let mut out = Vec::new();
        for entry in self.store.scan_from(WITHDRAWALS, &tx_key(number, 0)) {
            let (key, value) = entry?;
            if !key.starts_with(&prefix) {
                break;
            }
            let what = || format!("withdrawal {} of block {number}", out.len());
            let mut r = Reader::new(&value);
            let w = SignedWithdrawal::decode(&mut r).map_err(|e| corrupt(what(), e))?;
            r.finish().map_err(|e| corrupt(what(), e))?;
            out.push(w);
        }
        Ok(out)
    }

    /// Where the withdrawal with `leaf` is: block number and index.
    pub fn withdrawal_location(&self, leaf: &Hash) -> Result<Option<(u64, u32)>> {
        let Some(bytes) = self.store.get(WITHDRAWAL_LEAVES, leaf)? else {
            return Ok(None);
        };
        if bytes.len() != 12 {
            return Err(corrupt("a withdrawal index", "not 12 bytes"));
        }
        let number = u64_value(&bytes[..8], "a withdrawal index")?;
        let index = u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        Ok(Some((number, index)))
    }

    /// Where the record with `hash` is: block number and index.
    pub fn record_location(&self, hash: &Hash) -> Result<Option<(u64, u32)>> {
        let Some(bytes) = self.store.get(RECORDS, hash)? else {
            return Ok(None);
        };
        if bytes.len() != 12 {
            return Err(corrupt("a record index", "not 12 bytes"));
        }
        let number = u64_value(&bytes[..8], "a record index")?;
        let index = u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        Ok(Some((number, index)))
    }

    /// The record hashes of sealed block `number`.
    pub fn block_records(&self, number: u64) -> Result<Vec<Hash>> {
        let bytes = self
            .store
            .get(BLOCK_RECORDS, &number.to_be_bytes())?
            .unwrap_or_default();
        if bytes.len() % 32 != 0 {
            return Err(corrupt(
                format!("records of block {number}"),
                "not whole hashes",
            ));
        }
        Ok(bytes
            .chunks_exact(32)
            .map(|c| {
                let mut h = [0u8; 32];
                h.copy_from_slice(c);
                h
            })
            .collect())
    }

    /// The deposits block `number` consumed (sealed or open).
    pub fn block_deposits(&self, number: u64) -> Result<Vec<Deposit>> {
        match self.store.get(DEPOSITS, &number.to_be_bytes())? {
            None => Ok(Vec::new()),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| corrupt(format!("deposits of block {number}"), e)),
        }
    }

    /// The L1 block of the last deposit taken, if any.
    pub fn deposit_l1_block(&self) -> Result<Option<u64>> {
        self.store
            .get(META, b"deposit_l1_block")?
            .map(|b| u64_value(&b, "deposit_l1_block"))
            .transpose()
    }

    /// Every account as of the last sealed block.
    pub fn accounts(&self) -> Result<Vec<(Address, Account)>> {
        let mut out = Vec::new();
        for entry in self.store.scan_from(ACCOUNTS, &[]) {
            let (key, value) = entry?;
            let address: Address = key
                .as_slice()
                .try_into()
                .map_err(|_| corrupt("an account key", "not 20 bytes"))?;
            let bytes: [u8; ACCOUNT_BYTES] = value
                .as_slice()
                .try_into()
                .map_err(|_| corrupt("an account", "wrong length"))?;
            out.push((address, Account::decode(&bytes)));
        }
        Ok(out)
    }

    // ------------------------------------------------------------------ roll-back

    /// Rolls the chain back to block `to` after L1 reverted the batches above it: every
    /// later block (and the open one) is removed, the accounts become `accounts` (the
    /// state after `to`), and the removed inferences are kept in `meta/replay` so the
    /// builder executes them again. One write: a crash leaves either chain, whole.
    pub fn roll_back(
        &self,
        to: &BlockHeader,
        accounts: &[(Address, Account)],
        replay: &[InferenceTx],
        replay_deposits: u64,
    ) -> Result<()> {
        let mut set = WriteSet::new();
        let from = (to.number + 1).to_be_bytes();
        for cf in [HEADERS, BLOCK_RECORDS, DEPOSITS] {
            for entry in self.store.scan_from(cf, &from) {
                set.delete(cf, entry?.0);
            }
        }
        for cf in [TXS, WITHDRAWALS] {
            for entry in self.store.scan_from(cf, &from) {
                set.delete(cf, entry?.0);
            }
        }
        for number in to.number + 1.. {
            let Some(header) = self.header(number)? else {
                break;
            };
            set.delete(BLOCK_HASHES, header.hash().to_vec());
        }
        // Record locations of every removed block, the open one included.
        for entry in self.store.scan_from(RECORDS, &[]) {
            let (hash, location) = entry?;
            if location.len() == 12 && u64_value(&location[..8], "a record location")? > to.number {
                set.delete(RECORDS, hash);
            }
        }
        for entry in self.store.scan_from(WITHDRAWAL_LEAVES, &[]) {
            let (leaf, location) = entry?;
            if location.len() == 12
                && u64_value(&location[..8], "a withdrawal location")? > to.number
            {
                set.delete(WITHDRAWAL_LEAVES, leaf);
            }
        }
        for entry in self.store.scan_from(ACCOUNTS, &[]) {
            set.delete(ACCOUNTS, entry?.0);
        }
        for (address, account) in accounts {
            if !account.is_empty() {
                set.put(ACCOUNTS, address.to_vec(), account.encode().to_vec());
            }
        }
        set.put(META, b"head".to_vec(), to.encode());
        // Deposits consumed above `to` must be read from L1 again.
        set.delete(META, b"deposit_l1_block".to_vec());
        let mut w = Writer::new();
        w.u32(replay.len() as u32);
        for tx in replay {
            tx.encode(&mut w);
        }
        set.put(META, b"replay".to_vec(), w.finish());
        set.put(
            META,
            b"replay_deposits".to_vec(),
            replay_deposits.to_be_bytes().to_vec(),
        );
        self.write_now(set)
    }

    /// How many deposits the removed blocks had consumed: the replay waits for the chain
    /// to take them again (their balances pay for the replayed inferences).
    pub fn replay_deposits(&self) -> Result<u64> {
        self.store
            .get(META, b"replay_deposits")?
            .map(|b| u64_value(&b, "replay_deposits"))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    /// Inferences a roll-back removed that are still to be executed again.
    pub fn replay(&self) -> Result<Vec<InferenceTx>> {
        let Some(bytes) = self.store.get(META, b"replay")? else {
            return Ok(Vec::new());
        };
        let mut r = Reader::new(&bytes);
        let what = |e: verdict_specs::encoding::DecodeError| corrupt("the replay list", e);
        let count = r.u32().map_err(what)?;
        let mut out = Vec::with_capacity(count.min(1 << 16) as usize);
        for _ in 0..count {
            out.push(InferenceTx::decode(&mut r).map_err(what)?);
        }
        Ok(out)
    }

    /// Forgets the replay list once every entry is back in the chain.
    pub fn clear_replay(&self) -> Result<()> {
        let mut set = WriteSet::new();
        set.delete(META, b"replay".to_vec());
        self.write_now(set)
    }

    // ------------------------------------------------------------------ full node

    /// The next L1 block a full node reads batches from.
    pub fn follow_cursor(&self) -> Result<Option<u64>> {
        self.store
            .get(META, b"follow_cursor")?
            .map(|b| u64_value(&b, "follow_cursor"))
            .transpose()
    }

    /// Stores the full node's cursor durably.
    pub fn set_follow_cursor(&self, next_block: u64) -> Result<()> {
        let mut set = WriteSet::new();
        set.put(
            META,
            b"follow_cursor".to_vec(),
            next_block.to_be_bytes().to_vec(),
        );
        self.write_now(set)
    }

    // ------------------------------------------------------------------ games

    /// The defender's L1 cursor (next block to read games from) and the games it plays.
    pub fn defender_state(&self) -> Result<(Option<u64>, Vec<u64>)> {
        let cursor = self
            .store
            .get(META, b"defender_cursor")?
            .map(|b| u64_value(&b, "defender_cursor"))
            .transpose()?;
        let games = match self.store.get(META, b"defender_games")? {
            Some(b) => serde_json::from_slice(&b).map_err(|e| corrupt("defender_games", e))?,
            None => Vec::new(),
        };
        Ok((cursor, games))
    }

    /// Stores the defender's cursor and open games, durably and together.
    pub fn set_defender_state(&self, cursor: u64, games: &[u64]) -> Result<()> {
        let mut set = WriteSet::new();
        set.put(
            META,
            b"defender_cursor".to_vec(),
            cursor.to_be_bytes().to_vec(),
        );
        set.put(META, b"defender_games".to_vec(), json(&games));
        self.write_now(set)
    }

    // ------------------------------------------------------------------ batches

    /// Every batch record, by index.
    pub fn batches(&self) -> Result<Vec<BatchRecord>> {
        let mut out = Vec::new();
        for entry in self.store.scan_from(BATCHES, &[]) {
            let (_, value) = entry?;
            out.push(serde_json::from_slice(&value).map_err(|e| corrupt("a batch record", e))?);
        }
        Ok(out)
    }

    /// Writes a batch record now (durably).
    pub fn put_batch(&self, batch: &BatchRecord) -> Result<()> {
        let mut set = WriteSet::new();
        set.put(
            BATCHES,
            batch.header.index.to_be_bytes().to_vec(),
            json(batch),
        );
        self.write_now(set)
    }

    /// Removes batch records from `index` on (after L1 reverted them, they are
    /// re-posted under the same indices).
    pub fn delete_batches_from(&self, index: u64) -> Result<()> {
        let mut set = WriteSet::new();
        for entry in self.store.scan_from(BATCHES, &index.to_be_bytes()) {
            let (key, _) = entry?;
            set.delete(BATCHES, key);
        }
        if !set.is_empty() {
            self.write_now(set)?;
        }
        Ok(())
    }

    /// The post in flight, if one was sent and not yet recorded.
    pub fn in_flight_batch(&self) -> Result<Option<InFlightBatch>> {
        self.store
            .get(META, b"in_flight_batch")?
            .map(|b| serde_json::from_slice(&b).map_err(|e| corrupt("the in-flight batch", e)))
            .transpose()
    }

    /// Records (or, with `None`, clears) the post in flight, durably.
    pub fn set_in_flight_batch(&self, batch: Option<&InFlightBatch>) -> Result<()> {
        let mut set = WriteSet::new();
        match batch {
            Some(b) => set.put(META, b"in_flight_batch".to_vec(), json(b)),
            None => set.delete(META, b"in_flight_batch".to_vec()),
        }
        self.write_now(set)
    }
}

fn json(value: &impl Serialize) -> Vec<u8> {
    // Serializing these plain structs to JSON cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

fn decode_header(bytes: &[u8], what: &str) -> Result<BlockHeader> {
    let mut r = Reader::new(bytes);
    let header = BlockHeader::decode(&mut r).map_err(|e| corrupt(what, e))?;
    r.finish().map_err(|e| corrupt(what, e))?;
    Ok(header)
}

fn decode_tx(bytes: &[u8], number: u64, index: usize) -> Result<InferenceTx> {
    let what = || format!("inference {index} of block {number}");
    let mut r = Reader::new(bytes);
    let tx = InferenceTx::decode(&mut r).map_err(|e| corrupt(what(), e))?;
    r.finish().map_err(|e| corrupt(what(), e))?;
    Ok(tx)
}

/// Puts one answered inference (and its record index) into `set`; returns the length of
/// its batch-data encoding, which the builder counts against the block's byte limit.
pub fn put_tx(
    set: &mut WriteSet,
    number: u64,
    index: u32,
    tx: &InferenceTx,
    record_hash: &Hash,
) -> usize {
    let mut w = Writer::new();
    tx.encode(&mut w);
    let bytes = w.finish();
    let len = bytes.len();
    set.put(TXS, tx_key(number, index), bytes);
    set.put(RECORDS, record_hash.to_vec(), tx_key(number, index));
    len
}

/// Puts one accepted withdrawal (and its leaf index) into `set`.
pub fn put_withdrawal(set: &mut WriteSet, number: u64, index: u32, withdrawal: &SignedWithdrawal) {
    let mut w = Writer::new();
    withdrawal.encode(&mut w);
    set.put(WITHDRAWALS, tx_key(number, index), w.finish());
    set.put(
        WITHDRAWAL_LEAVES,
        withdrawal.withdrawal.leaf().to_vec(),
        tx_key(number, index),
    );
}

/// Puts the deposits a newly opened block consumes into `set`.
pub fn put_deposits(set: &mut WriteSet, number: u64, deposits: &[Deposit]) {
    set.put(DEPOSITS, number.to_be_bytes().to_vec(), json(&deposits));
    if let Some(last) = deposits.last() {
        set.put(
            META,
            b"deposit_l1_block".to_vec(),
            last.l1_block.to_be_bytes().to_vec(),
        );
    }
}

/// Puts a seal into `set`: the header, its indexes, and the accounts the block changed.
pub fn put_seal<'a>(
    set: &mut WriteSet,
    header: &BlockHeader,
    record_hashes: &[Hash],
    changed: impl IntoIterator<Item = (&'a Address, Account)>,
) {
    let encoded = header.encode();
    let number = header.number.to_be_bytes().to_vec();
    set.put(HEADERS, number.clone(), encoded.clone());
    set.put(BLOCK_HASHES, header.hash().to_vec(), number.clone());
    set.put(BLOCK_RECORDS, number, record_hashes.concat());
    set.put(META, b"head".to_vec(), encoded);
    for (address, account) in changed {
        if account.is_empty() {
            set.delete(ACCOUNTS, address.to_vec());
        } else {
            set.put(ACCOUNTS, address.to_vec(), account.encode().to_vec());
        }
    }
}

/// Puts a batch record into `set` (a full node writes it with the batch's blocks).
pub fn put_batch_record(set: &mut WriteSet, batch: &BatchRecord) {
    set.put(
        BATCHES,
        batch.header.index.to_be_bytes().to_vec(),
        json(batch),
    );
}
