//! The dispute game on L1, typed: opening a game, reading one, making any party's move,
//! timeouts, abandoning, collecting credits, and the events agents follow. Agents decide
//! their moves with `verdict_specs::game` (the same rules the contract enforces).

use super::bindings::DisputeGame;
use super::client::{L1Error, Result, rpc};
use super::contracts::{VerdictL1, decode_event};
use alloy::primitives::{B256, Bytes, U256};
use alloy::providers::Provider;
use alloy::rpc::types::{Filter, TransactionReceipt};
use alloy::sol_types::{SolEvent, SolValue};
use verdict_specs::batch::BatchHeader;
use verdict_specs::game::{Game, Move, Setup, Status};
use verdict_specs::l2::posted::RecordInclusion;
use verdict_specs::tensor::{DType, Tensor};

pub use super::bindings::DisputeGame::{DataFaultProven, GameOpened, GameResolved, GameView};

/// A game's id and the receipt of the transaction that opened it.
#[derive(Clone, Debug)]
pub struct OpenedGame {
    pub id: u64,
    pub receipt: TransactionReceipt,
}

impl VerdictL1 {
    /// Opens a game against the record `inclusion` proves in the batch `header`, locking
    /// the deployment's challenger bond.
    pub async fn open_game(
        &self,
        header: &BatchHeader,
        inclusion: &RecordInclusion,
    ) -> Result<OpenedGame> {
        let call = DisputeGame::openCall {
            header: header_to_sol_game(header),
            record: Bytes::from(inclusion.record.clone()),
            inclusion: DisputeGame::RecordInclusion {
                recordProof: inclusion
                    .record_proof
                    .iter()
                    .map(|h| B256::from(*h))
                    .collect(),
                index: U256::from(inclusion.index),
                blockHeader: Bytes::from(inclusion.block_header.clone()),
                laterHeaders: inclusion
                    .later_headers
                    .iter()
                    .map(|h| Bytes::from(h.clone()))
                    .collect(),
            },
        };
        let receipt = self
            .client()
            .send(
                self.deployment().dispute_game,
                call,
                self.deployment().challenger_bond,
            )
            .await?;
        let event: GameOpened = decode_event(&receipt)?;
        Ok(OpenedGame {
            id: u64_of(event.gameId)?,
            receipt,
        })
    }

    /// Reverts the batch `header` with a data fault proof: block `block_index` (its
    /// position in the batch) of `data`, the batch's data, is not backed by its body
    /// (specs/batch.md, "Data faults"). No bond: a proof that fails reverts. Returns the
    /// fault the contract found and the receipt.
    pub async fn prove_data_fault(
        &self,
        header: &BatchHeader,
        data: &[u8],
        block_index: usize,
    ) -> Result<(DataFaultProven, TransactionReceipt)> {
        let call = DisputeGame::proveDataFaultCall {
            header: header_to_sol_game(header),
            data: Bytes::from(data.to_vec()),
            blockIndex: U256::from(block_index),
        };
        let receipt = self
            .client()
            .send(self.deployment().dispute_game, call, U256::ZERO)
            .await?;
        let event: DataFaultProven = decode_event(&receipt)?;
        Ok((event, receipt))
    }

    /// Every data fault proven in L1 blocks `from..=to`, with the L1 block of its proof.
    pub async fn data_faults_proven(
        &self,
        from: u64,
        to: u64,
    ) -> Result<Vec<(DataFaultProven, u64)>> {
        let logs = self
            .logs(
                self.deployment().dispute_game,
                DataFaultProven::SIGNATURE_HASH,
                from,
                to,
            )
            .await?;
        logs.iter()
            .map(|log| {
                let event =
                    log.log_decode::<DataFaultProven>()
                        .map_err(|e| L1Error::Undecodable {
                            what: "a DataFaultProven log".to_string(),
                            message: e.to_string(),
                        })?;
                Ok((event.inner.data, log.block_number.unwrap_or_default()))
            })
            .collect()
    }

    /// The game `id` as the contract holds it.
    pub async fn game(&self, id: u64) -> Result<GameView> {
        self.client()
            .read(
                self.deployment().dispute_game,
                DisputeGame::getGameCall {
                    gameId: U256::from(id),
                },
            )
            .await
    }

    /// Makes `mv` in game `id` (the signer must be the party to move).
    pub async fn game_move(&self, id: u64, mv: &Move) -> Result<TransactionReceipt> {
        let game = self.deployment().dispute_game;
        let id = U256::from(id);
        let client = self.client();
        match mv {
            Move::Start {
                final_state,
                final_proof,
                mid_state,
            } => {
                let call = DisputeGame::startCall {
                    gameId: id,
                    finalState: B256::from(*final_state),
                    finalProof: final_proof.iter().map(|h| B256::from(*h)).collect(),
                    midState: B256::from(*mid_state),
                };
                client.send(game, call, U256::ZERO).await
            }
            Move::Choose { agree } => {
                let call = DisputeGame::chooseCall {
                    gameId: id,
                    agree: *agree,
                };
                client.send(game, call, U256::ZERO).await
            }
            Move::Bisect { mid_state } => {
                let call = DisputeGame::bisectCall {
                    gameId: id,
                    midState: B256::from(*mid_state),
                };
                client.send(game, call, U256::ZERO).await
            }
            Move::Reveal {
                dtype,
                shape,
                data,
                siblings,
            } => {
                let data_root = verdict_specs::tensor::data_root_of(data);
                let call = DisputeGame::revealCall {
                    gameId: id,
                    header: super::bindings::game::OneStepVerifier::TensorHeader {
                        dtype: dtype.code(),
                        shape: shape.clone(),
                        dataRoot: B256::from(data_root),
                    },
                    data: Bytes::from(data.clone()),
                    siblings: siblings.iter().map(|h| B256::from(*h)).collect(),
                };
                client.send(game, call, U256::ZERO).await
            }
            Move::NameElement { element } => {
                let call = DisputeGame::nameElementCall {
                    gameId: id,
                    element: U256::from(*element),
                };
                client.send(game, call, U256::ZERO).await
            }
            Move::Prove(proof) => {
                let encoded = verdict_specs::game::abi::encode_proof(proof);
                let proof =
                    <super::bindings::game::OneStepVerifier::OneStepProof as SolValue>::abi_decode(
                        &encoded,
                    )
                    .map_err(|e| L1Error::Undecodable {
                        what: "the one-step proof, re-encoded".to_string(),
                        message: e.to_string(),
                    })?;
                let call = DisputeGame::proveCall { gameId: id, proof };
                client.send(game, call, U256::ZERO).await
            }
        }
    }

    /// Ends game `id` for the party not to move, once the mover's clock has run out.
    pub async fn game_timeout(&self, id: u64) -> Result<TransactionReceipt> {
        let call = DisputeGame::timeoutCall {
            gameId: U256::from(id),
        };
        self.client()
            .send(self.deployment().dispute_game, call, U256::ZERO)
            .await
    }

    /// Ends game `id` whose batch another game reverted.
    pub async fn game_abandon(&self, id: u64) -> Result<TransactionReceipt> {
        let call = DisputeGame::abandonCall {
            gameId: U256::from(id),
        };
        self.client()
            .send(self.deployment().dispute_game, call, U256::ZERO)
            .await
    }

    /// Bonds and rewards the dispute game holds for `account`.
    pub async fn game_credit(&self, account: alloy::primitives::Address) -> Result<U256> {
        self.client()
            .read(
                self.deployment().dispute_game,
                DisputeGame::creditsCall { account },
            )
            .await
    }

    /// Withdraws the signer's dispute-game credits.
    pub async fn withdraw_game_credit(&self) -> Result<TransactionReceipt> {
        self.client()
            .send(
                self.deployment().dispute_game,
                DisputeGame::withdrawCall {},
                U256::ZERO,
            )
            .await
    }

    /// Slashing rewards the Rollup holds for `account`.
    pub async fn rollup_credit(&self, account: alloy::primitives::Address) -> Result<U256> {
        self.client()
            .read(
                self.deployment().rollup,
                super::bindings::Rollup::creditsCall { account },
            )
            .await
    }

    /// Withdraws the signer's slashing rewards from the Rollup.
    pub async fn withdraw_rollup_credit(&self) -> Result<TransactionReceipt> {
        self.client()
            .send(
                self.deployment().rollup,
                super::bindings::Rollup::withdrawCreditCall {},
                U256::ZERO,
            )
            .await
    }

    /// Every `GameOpened` event in L1 blocks `from..=to`.
    pub async fn games_opened(&self, from: u64, to: u64) -> Result<Vec<GameOpened>> {
        self.events(self.deployment().dispute_game, from, to).await
    }

    /// The value revealed in game `id` (its last `Revealed` event since `from`), if any.
    pub async fn revealed(&self, id: u64, from: u64) -> Result<Option<Tensor>> {
        let filter = Filter::new()
            .address(self.deployment().dispute_game)
            .event_signature(DisputeGame::Revealed::SIGNATURE_HASH)
            .topic1(B256::from(U256::from(id)))
            .from_block(from);
        let logs = self
            .client()
            .provider()
            .get_logs(&filter)
            .await
            .map_err(rpc("eth_getLogs"))?;
        let Some(log) = logs.last() else {
            return Ok(None);
        };
        let event = log
            .log_decode::<DisputeGame::Revealed>()
            .map_err(|e| L1Error::Undecodable {
                what: "a Revealed log".to_string(),
                message: e.to_string(),
            })?
            .inner
            .data;
        Ok(tensor_from_reveal(event.dtype, &event.shape, &event.data))
    }
}

/// The game's position as `verdict_specs::game` sees it (enough for deciding moves; the
/// model's hashes are not in the view and are left zero).
pub fn game_of(view: &GameView) -> Option<Game> {
    let status = Status::from_code(view.status)?;
    let n = u64_of(view.opCount).ok()?;
    let mut game = Game::open(Setup {
        graph_hash: [0; 32],
        weights_root: [0; 32],
        op_count: n,
        input_root: [0; 32],
        output_root: view.recordOutput.0,
        clock_blocks: 0,
        opened_at: 0,
    });
    game.status = status;
    game.lo = u64_of(view.lo).ok()?;
    game.hi = u64_of(view.hi).ok()?;
    game.lo_state = view.stateLo.0;
    game.hi_state = view.stateHi.0;
    game.mid_state = view.midState.0;
    game.output_commitment = view.outputCommitment.0;
    game.revealed_count = u64_of(view.elementCount).ok()?;
    game.element = u64_of(view.element).ok()?;
    game.challenger_clock = u64_of(view.challengerClock).ok()?;
    game.defender_clock = u64_of(view.defenderClock).ok()?;
    game.last_move = u64_of(view.lastMove).ok()?;
    Some(game)
}

/// Whether the mover of `view` has run out of time at L1 block `now`.
pub fn mover_timed_out(view: &GameView, now: u64) -> bool {
    let Some(game) = game_of(view) else {
        return false;
    };
    let left = match game.mover() {
        Some(verdict_specs::game::Party::Challenger) => game.challenger_clock,
        Some(verdict_specs::game::Party::Defender) => game.defender_clock,
        None => return false,
    };
    now.saturating_sub(game.last_move) > left
}

fn tensor_from_reveal(dtype: u8, shape: &[u32], data: &[u8]) -> Option<Tensor> {
    Tensor::from_element_bytes(DType::from_code(dtype)?, shape.to_vec(), data).ok()
}

fn u64_of(v: U256) -> Result<u64> {
    u64::try_from(v).map_err(|_| L1Error::OutOfRange(format!("{v} does not fit 64 bits")))
}

pub(super) fn header_to_sol_game(h: &BatchHeader) -> super::bindings::game::BatchData::Header {
    super::contracts::batch_header_as!(super::bindings::game::BatchData::Header, h)
}
