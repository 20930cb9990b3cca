//! The challenger's loop: read new batches from L1, check a sample of each, open a game
//! against a wrong record, and play every open game to its end.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use verdict_l1::poll::{Ticker, next_range, retry_later};

use alloy::primitives::{Address, B256, U256};
use alloy::signers::local::PrivateKeySigner;
use tokio::sync::watch;
use tracing::{error, info, warn};
use verdict_l1::client::{ClientConfig, L1Client, L1Error};
use verdict_l1::contracts::VerdictL1;
use verdict_l1::deploy::Deployment;
use verdict_l1::games::{game_of, mover_timed_out};
use verdict_specs::batch::BatchHeader;
use verdict_specs::game::{Claims, Move, Party, Status};
use verdict_specs::hash::{keccak, to_hex};
use verdict_specs::l2::posted::PostedBatch;
use verdict_specs::l2::request::SigningDomain;
use verdict_specs::{Hash, Model};

use verdict_models::fetch::ModelSources;

use crate::check::{self, Finding, Models};
use crate::config::ChallengerConfig;
use crate::metrics as m;
use crate::state_check::{StateFault, StateFollower};
use crate::store::{ChallengerStore, ChallengerStoreError, GameRecord};

/// Most L1 blocks read in one `eth_getLogs`.
const MAX_RANGE: u64 = 2_000;

/// Why the challenger cannot start or go on.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// L1 failed.
    #[error("L1: {0}")]
    L1(#[from] L1Error),
    /// The store failed.
    #[error("challenger database: {0}")]
    Store(#[from] ChallengerStoreError),
    /// A model cannot be executed.
    #[error("model {name}: {message}")]
    Model { name: String, message: String },
    /// The configuration is not usable.
    #[error("{0}")]
    Config(String),
}

/// A running challenger.
pub struct Challenger {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    /// The challenger's L1 address.
    pub address: Address,
}

impl Challenger {
    /// Connects to L1, opens the database and starts the loop.
    pub async fn start(
        config: &ChallengerConfig,
        deployment: Deployment,
        signer: PrivateKeySigner,
        models: Vec<Model>,
    ) -> Result<Self, StartError> {
        config
            .validate()
            .map_err(|e| StartError::Config(e.to_string()))?;
        let address = signer.address();
        let client =
            L1Client::connect(&config.l1_rpc, Some(signer), ClientConfig::default()).await?;
        let l1 = VerdictL1::new(client, deployment.clone())?;
        let store = ChallengerStore::open(&config.data_dir)?;
        let secret = store.secret(|| keccak(&[&PrivateKeySigner::random().to_bytes().0]))?;
        let mut known = Models::default();
        for model in models {
            let name = model.metadata.name.clone();
            known.insert(model).map_err(|e| StartError::Model {
                name,
                message: e.to_string(),
            })?;
        }
        if known.is_empty() {
            warn!("no models given: every record will be skipped");
        }
        let domain = SigningDomain::from(&deployment);
        let games = store.games()?;
        let open = games.iter().filter(|g| !g.over).count();
        metrics::gauge!(m::GAMES_OPEN).set(open as f64);
        info!(
            %address,
            sample_rate = config.sample_rate,
            models = known.len(),
            games_to_resume = open,
            lie = config.lie,
            "challenger running"
        );
        let state = StateFollower::new(
            domain,
            deployment.sequencer.into_array(),
            deployment.deployed_at_block,
        );
        let runner = Runner {
            state,
            l1,
            store,
            models: known,
            domain,
            secret,
            address,
            sample_rate: config.sample_rate,
            lie: config.lie,
            games,
            claims: HashMap::new(),
            sources: ModelSources::new(
                config.model_sources.clone(),
                config.data_dir.join("models"),
                MAX_MODEL_BYTES,
                MODEL_RETRY,
            ),
        };
        let (stop, stop_rx) = watch::channel(false);
        let poll = Duration::from_millis(config.l1_poll_ms);
        let task = tokio::spawn(runner.run(poll, stop_rx));
        Ok(Self {
            stop,
            task,
            address,
        })
    }

    /// Stops the loop (after the step in progress) and waits for it.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

struct Runner {
    /// The L2 state as of each checked batch (every block's transition is checked).
    state: StateFollower,
    l1: VerdictL1,
    store: ChallengerStore,
    models: Models,
    domain: SigningDomain,
    secret: Hash,
    address: Address,
    sample_rate: f64,
    lie: bool,
    games: Vec<GameRecord>,
    /// The honest run of each game's record, computed once per process.
    claims: HashMap<u64, Arc<Claims>>,
    /// Where files of models this challenger lacks are fetched from, and cached.
    sources: ModelSources,
}

/// How long a model no source gave waits before it is asked for again.
const MODEL_RETRY: Duration = Duration::from_secs(30);
/// The largest model file taken from a source.
const MAX_MODEL_BYTES: u64 = 1 << 30;

#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error(transparent)]
    L1(#[from] L1Error),
    #[error(transparent)]
    Store(#[from] ChallengerStoreError),
    #[error("{0}")]
    Other(String),
}

impl Runner {
    /// Makes sure every model the batch's records name is loaded: from the cache in the
    /// data dir, else from the configured sources (checked against the id, then cached).
    /// A model nobody can give is said loudly (log and metric): its records go unchecked.
    async fn obtain_models(&mut self, batch: &PostedBatch) {
        let mut missing: Vec<Hash> = batch
            .records(&self.domain)
            .map(|(_, _, record)| record.model_id)
            .filter(|id| self.models.get(id).is_none())
            .collect();
        missing.sort_unstable();
        missing.dedup();
        for id in missing {
            match self.sources.obtain(id).await {
                Ok(Some(obtained)) => {
                    if let Some(e) = obtained.cache_error {
                        warn!(error = %e, "a fetched model could not be cached; it is used all the same");
                    }
                    if obtained.fetched {
                        metrics::counter!(m::MODELS_FETCHED_TOTAL, "source" => obtained.source.clone())
                            .increment(1);
                    }
                    self.add_model(obtained.model, &obtained.source);
                }
                Ok(None) => {}
                Err(e) => warn!(
                    model = %to_hex(&id),
                    error = %e,
                    "a posted record names a model this challenger cannot obtain: its records are not checked"
                ),
            }
        }
        metrics::gauge!(m::MODELS_UNOBTAINABLE).set(self.sources.unobtainable() as f64);
    }

    fn add_model(&mut self, model: Model, source: &str) {
        let id = model.id().id;
        match self.models.insert(model) {
            Ok(()) => {
                info!(model = %to_hex(&id), source, "model obtained; its records are checked from now on");
            }
            Err(e) => warn!(model = %to_hex(&id), error = %e, "an obtained model cannot be run"),
        }
    }

    async fn run(mut self, poll: Duration, stop: watch::Receiver<bool>) {
        let mut ticker = Ticker::new(poll, stop);
        loop {
            retry_later("challenger", self.step().await);
            if !ticker.wait().await {
                return;
            }
        }
    }

    async fn step(&mut self) -> Result<(), StepError> {
        let latest = self.l1.client().block_number().await?;
        let start = self.l1.deployment().deployed_at_block;
        if let Some((cursor, to)) = next_range(self.store.cursor()?, start, latest, MAX_RANGE) {
            for (header, tx) in self.l1.posted_batch_logs(cursor, to).await? {
                self.check_posted(&header, tx, latest).await?;
            }
            self.store.set_cursor(to + 1)?;
            metrics::gauge!(m::L1_CURSOR).set(to as f64);
        }
        self.play(latest).await
    }

    /// Reads one posted batch from its calldata, checks a sample, and opens a game
    /// against the first wrong record.
    async fn check_posted(
        &mut self,
        header: &BatchHeader,
        tx: B256,
        latest: u64,
    ) -> Result<(), StepError> {
        let index = header.index;
        if self.l1.batch_hash(index).await? != B256::from(header.hash()) {
            info!(batch = index, "skipping a batch L1 has reverted since");
            return Ok(());
        }
        let window_end = header.window_end(self.l1.deployment().dispute_window);
        if latest + 1 >= window_end {
            warn!(
                batch = index,
                window_end, "batch read after its dispute window: not checked"
            );
            metrics::counter!(m::RECORDS_SKIPPED_TOTAL, m::LABEL_REASON => "window_closed")
                .increment(1);
            return Ok(());
        }
        let data = self.l1.batch_data(tx).await?;
        metrics::counter!(m::BATCHES_TOTAL).increment(1);
        let batch = match PostedBatch::check(header, &data, &self.domain, None) {
            Ok(batch) => Arc::new(batch),
            Err(e) => {
                error!(batch = index, "posted batch data is invalid: {e}");
                metrics::counter!(m::INVALID_BATCHES_TOTAL).increment(1);
                match e.provable_block() {
                    // A block whose body does not back its header: the data alone
                    // proves it on L1 (no game, no bond), and the batch is reverted.
                    Some(block) => self.prove_data_fault(header, &data, block).await?,
                    // The rollup derives the rest of the header from the data itself,
                    // so this means the L1 endpoint or the deployment is not Verdict's.
                    None => error!(
                        batch = index,
                        "this cannot be proven on L1: is the deployment file for this rollup?"
                    ),
                }
                return Ok(());
            }
        };
        // Every block's state transition, before any record is sampled: one won game
        // reverts the batch, and a state game is the cheaper one.
        self.state.forget_from(index);
        if self.catch_up(index, latest).await? {
            match self.state.parent_of(header) {
                Some(parent) => {
                    if let Some(fault) = self.state.check(&self.l1, &batch, parent, latest).await? {
                        self.open_state_game(&batch, fault, latest).await?;
                        return Ok(());
                    }
                }
                None => warn!(
                    batch = index,
                    "the state before this batch is unknown: its transitions are not checked"
                ),
            }
        }
        self.obtain_models(&batch).await;
        let (models, domain, secret, rate) = (
            self.models.clone(),
            self.domain,
            self.secret,
            self.sample_rate,
        );
        let checked = Arc::clone(&batch);
        let findings = tokio::task::spawn_blocking(move || {
            check::check_batch(&checked, &domain, &models, &secret, rate)
        })
        .await
        .map_err(|e| StepError::Other(format!("re-execution task: {e}")))?
        .map_err(|e| StepError::Other(format!("re-execution: {e}")))?;
        metrics::counter!(m::RECORDS_CHECKED_TOTAL).increment(findings.checked as u64);
        metrics::counter!(m::RECORDS_SKIPPED_TOTAL, m::LABEL_REASON => "unknown_model")
            .increment(findings.unknown_model as u64);
        metrics::counter!(m::MISMATCHES_TOTAL).increment(findings.wrong.len() as u64);
        info!(
            batch = index,
            blocks = %format!("{}..={}", header.first_block, header.last_block),
            checked = findings.checked,
            wrong = findings.wrong.len(),
            unknown_model = findings.unknown_model,
            "batch checked"
        );
        for wrong in &findings.wrong {
            warn!(
                batch = index,
                record = %to_hex(&wrong.record_hash),
                claimed_output = %to_hex(&wrong.claimed_output_root),
                correct_output = %to_hex(&wrong.correct_output.commitment()),
                "wrong record: its output is not what the model gives"
            );
        }
        // One won game reverts the whole batch: dispute its first wrong record.
        let target = match (findings.wrong.first(), self.lie) {
            (Some(wrong), _) => Some((wrong.clone(), false)),
            (None, true) => findings.right.first().map(|&(block, i)| {
                let tx = &batch.blocks[block].inferences[i];
                let record = tx.record(&self.domain);
                (
                    Finding {
                        block,
                        index: i,
                        record_hash: record.hash(),
                        model_id: record.model_id,
                        input: tx.signed.request.input.clone(),
                        claimed_output_root: record.output_root,
                        correct_output: tx.output.clone(),
                    },
                    true,
                )
            }),
            (None, false) => None,
        };
        if let Some((finding, lie)) = target {
            self.open_game(&batch, &finding, lie, latest).await?;
        }
        Ok(())
    }

    /// Makes sure the state after batch `index - 1` is known, replaying the current
    /// batches before it from L1 (after a restart); false when that is impossible.
    async fn catch_up(&mut self, index: u64, latest: u64) -> Result<bool, StepError> {
        if index == 0 || self.state.parent_of_index(index).is_some() {
            return Ok(true);
        }
        info!(
            batch = index,
            "rebuilding the L2 state from the batches before this one"
        );
        let from = self.l1.deployment().deployed_at_block;
        let mut current: Vec<(BatchHeader, B256)> = Vec::new();
        for (header, tx) in self.l1.posted_batch_logs(from, latest).await? {
            if header.index < index
                && self.l1.batch_hash(header.index).await? == B256::from(header.hash())
            {
                current.retain(|(h, _)| h.index != header.index);
                current.push((header, tx));
            }
        }
        current.sort_by_key(|(h, _)| h.index);
        for (header, tx) in current {
            let Some(parent) = self.state.parent_of(&header) else {
                return Ok(false);
            };
            let data = self.l1.batch_data(tx).await?;
            let Ok(batch) = PostedBatch::check(&header, &data, &self.domain, None) else {
                return Ok(false);
            };
            if self
                .state
                .check(&self.l1, &batch, parent, latest)
                .await?
                .is_some()
            {
                return Ok(false);
            }
        }
        Ok(self.state.parent_of_index(index).is_some())
    }

    /// Reverts the batch `header` with a data fault proof of its block `block` (position in
    /// the batch). Another challenger may have done it first: that is not an error.
    async fn prove_data_fault(
        &mut self,
        header: &BatchHeader,
        data: &[u8],
        block: usize,
    ) -> Result<(), StepError> {
        match self.l1.prove_data_fault(header, data, block).await {
            Ok((event, receipt)) => {
                warn!(
                    batch = header.index,
                    block = header.first_block + block as u64,
                    fault = ?event.fault,
                    gas = receipt.gas_used,
                    "data fault proven: the batch is reverted and the sequencer slashed"
                );
                metrics::counter!(m::DATA_FAULTS_PROVEN_TOTAL).increment(1);
                metrics::counter!(m::L1_GAS_SPENT_TOTAL).increment(receipt.gas_used);
                Ok(())
            }
            Err(e) if self.l1.batch_hash(header.index).await? != B256::from(header.hash()) => {
                info!(
                    batch = header.index,
                    "the batch was reverted before this proof landed: {e}"
                );
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Opens (or adopts, after a restart) a state game against the faulty block.
    async fn open_state_game(
        &mut self,
        batch: &PostedBatch,
        fault: StateFault,
        latest: u64,
    ) -> Result<(), StepError> {
        let block = batch.blocks[fault.block].header;
        warn!(
            batch = batch.header.index,
            block = block.number,
            invalid = ?fault.invalid.as_ref().map(|(k, e)| format!("transaction {k}: {e}")),
            claimed = %to_hex(&block.state_root),
            correct = %to_hex(fault.trace.last().unwrap_or(&[0; 32])),
            "wrong state transition: the block's state root does not follow from its transactions"
        );
        let from = batch.header.l1_block;
        let existing = self
            .l1
            .state_games_opened(from, latest)
            .await?
            .into_iter()
            .find(|e| {
                e.challenger == self.address
                    && e.batchIndex == batch.header.index
                    && e.blockNumber == block.number
            });
        let (id, opened_at) = match existing {
            Some(event) => (
                u64::try_from(event.gameId)
                    .map_err(|_| StepError::Other("a game id beyond 64 bits".into()))?,
                from,
            ),
            None => {
                let previous = if fault.block == 0 && batch.header.index > 0 {
                    self.l1
                        .current_batch(batch.header.index - 1)
                        .await?
                        .ok_or_else(|| StepError::Other("the batch before is gone".into()))?
                } else {
                    batch.header
                };
                let mut headers = vec![fault.parent];
                headers.extend(batch.blocks[fault.block..].iter().map(|b| b.header));
                let opened = self
                    .l1
                    .open_state_game(&batch.header, &previous, &headers)
                    .await?;
                metrics::counter!(m::L1_GAS_SPENT_TOTAL).increment(opened.receipt.gas_used);
                metrics::counter!(m::GAMES_OPENED_TOTAL).increment(1);
                (opened.id, opened.receipt.block_number.unwrap_or(latest))
            }
        };
        info!(
            game = id,
            batch = batch.header.index,
            block = block.number,
            "state game opened"
        );
        let record = GameRecord {
            id,
            batch_index: batch.header.index,
            record_hash: block.hash(),
            model_id: [0; 32],
            input: verdict_specs::Tensor::from_i8(vec![1], vec![0])
                .map_err(|e| StepError::Other(e.to_string()))?,
            lie: false,
            opened_at,
            over: false,
            state_trace: Some(fault.trace),
        };
        self.store.put_game(&record)?;
        self.games.push(record);
        self.update_gauges();
        Ok(())
    }

    async fn open_game(
        &mut self,
        batch: &PostedBatch,
        finding: &Finding,
        lie: bool,
        latest: u64,
    ) -> Result<(), StepError> {
        // A game this challenger opened before a crash is adopted, not opened twice.
        let from = batch.header.l1_block;
        let existing = self
            .l1
            .games_opened(from, latest)
            .await?
            .into_iter()
            .find(|e| e.challenger == self.address && e.recordHash.0 == finding.record_hash);
        let (id, opened_at) = match existing {
            Some(event) => (
                u64::try_from(event.gameId)
                    .map_err(|_| StepError::Other("a game id beyond 64 bits".into()))?,
                from,
            ),
            None => {
                let inclusion = batch
                    .inclusion(finding.block, finding.index, &self.domain)
                    .ok_or_else(|| StepError::Other("the record is not in its batch".into()))?;
                let opened = self.l1.open_game(&batch.header, &inclusion).await?;
                metrics::counter!(m::L1_GAS_SPENT_TOTAL).increment(opened.receipt.gas_used);
                metrics::counter!(m::GAMES_OPENED_TOTAL).increment(1);
                (opened.id, opened.receipt.block_number.unwrap_or(latest))
            }
        };
        info!(
            game = id,
            batch = batch.header.index,
            record = %to_hex(&finding.record_hash),
            lie,
            "dispute game opened"
        );
        let record = GameRecord {
            id,
            batch_index: batch.header.index,
            record_hash: finding.record_hash,
            model_id: finding.model_id,
            input: finding.input.clone(),
            lie,
            opened_at,
            over: false,
            state_trace: None,
        };
        self.store.put_game(&record)?;
        self.games.push(record);
        self.update_gauges();
        Ok(())
    }

    fn update_gauges(&self) {
        let open = self.games.iter().filter(|g| !g.over).count();
        metrics::gauge!(m::GAMES_OPEN).set(open as f64);
        let bond: f64 = self
            .l1
            .deployment()
            .challenger_bond
            .to_string()
            .parse()
            .unwrap_or(0.0);
        metrics::gauge!(m::BONDS_AT_STAKE_WEI).set(bond * open as f64);
    }

    /// Moves in every game where it is the challenger's turn, claims timeouts, and notes
    /// the games that ended.
    async fn play(&mut self, latest: u64) -> Result<(), StepError> {
        let mut changed = false;
        for i in 0..self.games.len() {
            if self.games[i].over {
                continue;
            }
            let record = self.games[i].clone();
            let view = self.l1.game(record.id).await?;
            let Some(game) = game_of(&view) else {
                continue;
            };
            if game.status.is_over() {
                self.ended(&record, game.status).await?;
                self.games[i].over = true;
                self.store.put_game(&self.games[i])?;
                changed = true;
                continue;
            }
            if self.l1.batch_hash(record.batch_index).await? != view.batchHash {
                let receipt = self.l1.game_abandon(record.id).await?;
                metrics::counter!(m::L1_GAS_SPENT_TOTAL).increment(receipt.gas_used);
                info!(
                    game = record.id,
                    "batch reverted by another game: abandoned"
                );
                continue;
            }
            match game.mover() {
                Some(Party::Challenger) => {
                    let mv = self.decide(&record, &game).await?;
                    if let Some(mv) = mv {
                        info!(game = record.id, status = ?game.status, lo = game.lo, hi = game.hi, "move: {}", describe(&mv));
                        let receipt = self.l1.game_move(record.id, &mv).await?;
                        metrics::counter!(m::L1_GAS_SPENT_TOTAL).increment(receipt.gas_used);
                    }
                }
                Some(Party::Defender) if mover_timed_out(&view, latest + 1) => {
                    info!(game = record.id, status = ?game.status, "the sequencer ran out of time: claiming the game");
                    let receipt = self.l1.game_timeout(record.id).await?;
                    metrics::counter!(m::L1_GAS_SPENT_TOTAL).increment(receipt.gas_used);
                }
                _ => {}
            }
        }
        if changed {
            self.update_gauges();
        }
        Ok(())
    }

    async fn decide(
        &mut self,
        record: &GameRecord,
        game: &verdict_specs::game::Game,
    ) -> Result<Option<Move>, StepError> {
        if let Some(trace) = &record.state_trace {
            // A state game: agree exactly with the midpoints the honest trace holds.
            return Ok(match game.status {
                Status::AwaitingChoice => Some(Move::Choose {
                    agree: trace.get(game.mid() as usize) == Some(&game.mid_state),
                }),
                _ => None,
            });
        }
        if record.lie {
            // A lying challenger disputes everything; the honest defender still wins.
            return Ok(Some(match game.status {
                Status::AwaitingChoice => Move::Choose { agree: false },
                _ => Move::NameElement { element: 0 },
            }));
        }
        let claims = match self.claims.get(&record.id) {
            Some(c) => Arc::clone(c),
            None => {
                let known = self.models.get(&record.model_id).ok_or_else(|| {
                    StepError::Other(format!(
                        "game {}: model {} is not loaded",
                        record.id,
                        to_hex(&record.model_id)
                    ))
                })?;
                let claims = Arc::new(
                    Claims::honest(&known.model, &record.input)
                        .map_err(|e| StepError::Other(format!("game {}: {e}", record.id)))?,
                );
                self.claims.insert(record.id, Arc::clone(&claims));
                claims
            }
        };
        let revealed = if game.status == Status::AwaitingElement {
            self.l1.revealed(record.id, record.opened_at).await?
        } else {
            None
        };
        Ok(claims.challenge(game, revealed.as_ref()))
    }

    async fn ended(&mut self, record: &GameRecord, status: Status) -> Result<(), StepError> {
        let outcome = match status {
            Status::ChallengerWon => "won",
            Status::DefenderWon => "lost",
            _ => "abandoned",
        };
        metrics::counter!(m::GAMES_ENDED_TOTAL, m::LABEL_OUTCOME => outcome).increment(1);
        info!(
            game = record.id,
            batch = record.batch_index,
            outcome,
            "dispute game over"
        );
        self.claims.remove(&record.id);
        let credit = self.l1.game_credit(self.address).await?;
        if credit > U256::ZERO {
            let receipt = self.l1.withdraw_game_credit().await?;
            metrics::counter!(m::L1_GAS_SPENT_TOTAL).increment(receipt.gas_used);
            info!(wei = %credit, "bond withdrawn from the dispute game");
        }
        let reward = self.l1.rollup_credit(self.address).await?;
        if reward > U256::ZERO {
            let receipt = self.l1.withdraw_rollup_credit().await?;
            metrics::counter!(m::L1_GAS_SPENT_TOTAL).increment(receipt.gas_used);
            info!(wei = %reward, "slashing reward withdrawn from the rollup");
        }
        Ok(())
    }
}

fn describe(mv: &Move) -> String {
    match mv {
        Move::Start { .. } => "start".into(),
        Move::Choose { agree } => {
            if *agree {
                "agree with the midpoint".into()
            } else {
                "disagree with the midpoint".into()
            }
        }
        Move::Bisect { .. } => "bisect".into(),
        Move::Reveal { .. } => "reveal".into(),
        Move::NameElement { element } => format!("dispute element {element}"),
        Move::Prove(_) => "prove".into(),
    }
}
