//! Defending the sequencer's records and blocks in dispute games: every game opened
//! against one of its records is answered from a re-execution of that record (bisection
//! midpoints, the reveal, the one-step proof), every state game against one of its blocks
//! from that block's state trace (`state_defence`), until it ends. The games it follows
//! and how far it has read L1 are kept in the chain database, so a restart resumes them.
//!
//! A sequencer with a fault plan defends the wrong answers it gave the way a cheater
//! would: from its own faulty run (or, in `silent` mode, not at all); a wrong state it
//! defends with its own trace, and loses at the step that has no honest proof.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use verdict_l1::poll::{Ticker, next_range, retry_later};

use crate::fault::{FaultMode, FaultPlan};
use tokio::sync::watch;
use tracing::{info, warn};
use verdict_l1::client::L1Error;
use verdict_l1::contracts::VerdictL1;
use verdict_l1::games::{game_of, mover_timed_out};
use verdict_specs::Tensor;
use verdict_specs::game::{Claims, Party, Status};
use verdict_specs::hash::to_hex;
use verdict_specs::l2::request::SigningDomain;

use crate::state_defence::{STATE_GAME, StateDefence, StateMove};
use verdict_chain::store::{ChainStore, ChainStoreError};
use verdict_models::ModelSet;

/// Most L1 blocks read in one `eth_getLogs`.
const MAX_RANGE: u64 = 2_000;

#[derive(Debug, thiserror::Error)]
enum DefendError {
    #[error(transparent)]
    L1(#[from] L1Error),
    #[error(transparent)]
    Store(#[from] ChainStoreError),
}

/// The defender's settings and parts.
pub struct Defender {
    /// L1, signing as the sequencer.
    pub l1: VerdictL1,
    /// The chain.
    pub store: ChainStore,
    /// The served models.
    pub models: Arc<ModelSet>,
    /// Signing domain (for record hashes).
    pub domain: SigningDomain,
    /// The fault plan, when faults are on.
    pub faults: Option<FaultPlan>,
    /// How often L1 is polled.
    pub poll: Duration,
}

/// What the defender decided about one game's record, kept while the game runs.
enum Stance {
    Defend(Arc<Claims>, Arc<verdict_models::ServedModel>),
    /// A state game over one of this chain's blocks.
    State(Box<StateDefence>),
    /// A faulty sequencer in silent mode, or a record or block this chain does not hold.
    Silent,
}

impl Defender {
    /// Follows and plays games until `stop`.
    pub async fn run(self, stop: watch::Receiver<bool>) {
        let mut stances: HashMap<u64, Stance> = HashMap::new();
        let mut ticker = Ticker::new(self.poll, stop);
        loop {
            retry_later("defender", self.step(&mut stances).await);
            if !ticker.wait().await {
                return;
            }
        }
    }

    async fn step(&self, stances: &mut HashMap<u64, Stance>) -> Result<(), DefendError> {
        let latest = self.l1.client().block_number().await?;
        let (cursor, mut open) = self.store.defender_state()?;
        let start = self.l1.deployment().deployed_at_block;
        if let Some((cursor, to)) = next_range(cursor, start, latest, MAX_RANGE) {
            for event in self.l1.games_opened(cursor, to).await? {
                let id = u64::try_from(event.gameId).unwrap_or(u64::MAX);
                warn!(
                    game = id,
                    batch = event.batchIndex,
                    record = %to_hex(&event.recordHash.0),
                    challenger = %event.challenger,
                    "a dispute game was opened against a record"
                );
                if !open.contains(&id) {
                    open.push(id);
                }
            }
            for event in self.l1.state_games_opened(cursor, to).await? {
                let id = u64::try_from(event.gameId).unwrap_or(u64::MAX);
                warn!(
                    game = id,
                    batch = event.batchIndex,
                    block = event.blockNumber,
                    steps = %event.steps,
                    challenger = %event.challenger,
                    "a state game was opened against a block"
                );
                if !open.contains(&id) {
                    open.push(id);
                }
            }
            self.store.set_defender_state(to + 1, &open)?;
        }
        let mut still_open = Vec::with_capacity(open.len());
        for id in open.iter().copied() {
            if self.play(id, latest, stances).await? {
                still_open.push(id);
            } else {
                stances.remove(&id);
            }
        }
        if still_open != open {
            self.store.set_defender_state(
                self.store.defender_state()?.0.unwrap_or(latest + 1),
                &still_open,
            )?;
        }
        Ok(())
    }

    /// Moves in game `id` if it is the defender's turn; whether the game still runs.
    async fn play(
        &self,
        id: u64,
        latest: u64,
        stances: &mut HashMap<u64, Stance>,
    ) -> Result<bool, DefendError> {
        let view = self.l1.game(id).await?;
        let Some(game) = game_of(&view) else {
            return Ok(false);
        };
        let is_state = view.kind == STATE_GAME;
        let subject = if is_state { "block" } else { "record" };
        if game.status.is_over() {
            match game.status {
                Status::DefenderWon => info!(game = id, "dispute game won: the {subject} stands"),
                Status::ChallengerWon => {
                    warn!(
                        game = id,
                        batch = view.batchIndex,
                        "dispute game over a {subject} LOST: the batch is reverted and the bond slashed"
                    )
                }
                _ => info!(game = id, "dispute game abandoned"),
            }
            let credit = self
                .l1
                .game_credit(self.l1.client().sender().unwrap_or_default())
                .await?;
            if credit > alloy::primitives::U256::ZERO {
                self.l1.withdraw_game_credit().await?;
                info!(wei = %credit, "challenger bond won, withdrawn");
            }
            return Ok(false);
        }
        match game.mover() {
            Some(Party::Defender) => {
                let stance = match stances.entry(id) {
                    std::collections::hash_map::Entry::Occupied(known) => known.into_mut(),
                    std::collections::hash_map::Entry::Vacant(slot) if is_state => {
                        slot.insert(self.state_stance(id, &view).await?)
                    }
                    std::collections::hash_map::Entry::Vacant(slot) => {
                        slot.insert(self.stance(&view.recordHash.0)?)
                    }
                };
                if let Stance::State(defence) = stance {
                    match defence.next_move(id, &game) {
                        Some(StateMove::Bisect(mv)) => {
                            info!(game = id, status = ?game.status, lo = game.lo, hi = game.hi, "defending the block");
                            self.l1.game_move(id, &mv).await?;
                        }
                        Some(StateMove::Prove(proof)) => {
                            info!(
                                game = id,
                                step = game.lo,
                                "defending the block: proving the step"
                            );
                            self.l1.prove_state(id, &proof).await?;
                        }
                        None => {}
                    }
                    return Ok(true);
                }
                let Stance::Defend(claims, model) = stance else {
                    return Ok(true);
                };
                let mv = match claims.defend(&model.model, &game) {
                    Ok(Some(mv)) => mv,
                    Ok(None) => return Ok(true),
                    Err(e) => {
                        warn!(game = id, "cannot build the one-step proof: {e}");
                        return Ok(true);
                    }
                };
                info!(game = id, status = ?game.status, lo = game.lo, hi = game.hi, "defending");
                self.l1.game_move(id, &mv).await?;
            }
            Some(Party::Challenger) if mover_timed_out(&view, latest + 1) => {
                info!(
                    game = id,
                    "the challenger ran out of time: claiming the game"
                );
                self.l1.game_timeout(id).await?;
            }
            _ => {}
        }
        Ok(true)
    }

    /// How to play the state game `id`.
    async fn state_stance(
        &self,
        id: u64,
        view: &verdict_l1::games::GameView,
    ) -> Result<Stance, DefendError> {
        if self
            .faults
            .is_some_and(|plan| plan.mode == FaultMode::Silent)
        {
            warn!(game = id, "fault injection: not defending");
            return Ok(Stance::Silent);
        }
        let defence = StateDefence::prepare(
            &self.l1,
            &self.store,
            self.domain,
            self.faults.as_ref(),
            id,
            view,
        )
        .await?;
        Ok(defence.map_or(Stance::Silent, |d| Stance::State(Box::new(d))))
    }

    /// How to play the game over the record with `record_hash`.
    fn stance(&self, record_hash: &verdict_specs::Hash) -> Result<Stance, DefendError> {
        let Some((number, index)) = self.store.record_location(record_hash)? else {
            warn!(record = %to_hex(record_hash), "a game over a record this chain does not hold");
            return Ok(Stance::Silent);
        };
        let Some(tx) = self.store.tx(number, index)? else {
            return Ok(Stance::Silent);
        };
        let request = &tx.signed.request;
        let Some(model) = self.models.get(&request.model_id) else {
            warn!(record = %to_hex(record_hash), "a game over a model this sequencer no longer serves");
            return Ok(Stance::Silent);
        };
        let Ok(honest) = Claims::honest(&model.model, &request.input) else {
            return Ok(Stance::Silent);
        };
        if honest.values().last() == Some(&tx.output) {
            return Ok(Stance::Defend(Arc::new(honest), model));
        }
        // The record is wrong: this sequencer injected the fault, and defends it as a
        // cheater would (the fault plan's own run reproduces the wrong output).
        let request_hash = request.signing_hash_with(&self.domain, &request.input.commitment());
        if let Some(plan) = self.faults {
            if plan.mode == FaultMode::Silent {
                warn!(record = %to_hex(record_hash), "fault injection: not defending");
                return Ok(Stance::Silent);
            }
            if let Some(claims) = plan.claims(&model.model, &request.input, &request_hash)
                && claims.values().last() == Some(&tx.output)
            {
                return Ok(Stance::Defend(Arc::new(claims), model));
            }
        }
        let mut values: Vec<Tensor> = honest.values().to_vec();
        if let Some(last) = values.last_mut() {
            *last = tx.output.clone();
        }
        Ok(Stance::Defend(Arc::new(Claims::new(values)), model))
    }
}
