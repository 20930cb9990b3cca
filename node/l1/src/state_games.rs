//! State games on L1, typed (specs/state.md §6): opening a game against one block's state
//! transition and proving the disputed step. Bisection moves (`choose`, `bisect`),
//! timeouts and credits are the inference game's (`games`).

use super::bindings::game::{DisputeGame, StateStepVerifier};
use super::client::{L1Error, Result};
use super::contracts::{VerdictL1, decode_event};
use super::games::{OpenedGame, header_to_sol_game};
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::rpc::types::TransactionReceipt;
use verdict_specs::batch::BatchHeader;
use verdict_specs::game::state_step::StateStepProof;
use verdict_specs::l2::block::BlockHeader;

pub use super::bindings::game::DisputeGame::StateGameOpened;

impl VerdictL1 {
    /// Opens a state game against block `headers[1]` of `batch`: `headers` runs from the
    /// disputed block's parent to the batch's last block; `previous` is the batch before
    /// (read when the parent is not in `batch`; any header otherwise).
    pub async fn open_state_game(
        &self,
        batch: &BatchHeader,
        previous: &BatchHeader,
        headers: &[BlockHeader],
    ) -> Result<OpenedGame> {
        let call = DisputeGame::openStateCall {
            batch: header_to_sol_game(batch),
            previousBatch: header_to_sol_game(previous),
            headers: headers.iter().map(|h| Bytes::from(h.encode())).collect(),
        };
        let receipt = self
            .client()
            .send(
                self.deployment().dispute_game,
                call,
                self.deployment().challenger_bond,
            )
            .await?;
        let event: StateGameOpened = decode_event(&receipt)?;
        let id = u64::try_from(event.gameId)
            .map_err(|_| L1Error::OutOfRange(format!("game id {}", event.gameId)))?;
        Ok(OpenedGame { id, receipt })
    }

    /// Every `StateGameOpened` event in L1 blocks `from..=to`.
    pub async fn state_games_opened(&self, from: u64, to: u64) -> Result<Vec<StateGameOpened>> {
        self.events(self.deployment().dispute_game, from, to).await
    }

    /// The defender's proof of the disputed step of state game `id`.
    pub async fn prove_state(&self, id: u64, proof: &StateStepProof) -> Result<TransactionReceipt> {
        let call = DisputeGame::proveStateCall {
            gameId: U256::from(id),
            proof: sol_proof(proof),
        };
        self.client()
            .send(self.deployment().dispute_game, call, U256::ZERO)
            .await
    }
}

/// The ABI form of a state step proof.
pub fn sol_proof(proof: &StateStepProof) -> StateStepVerifier::StateStepProof {
    StateStepVerifier::StateStepProof {
        tx: Bytes::from(proof.tx.clone()),
        signature: Bytes::from(proof.signature.clone()),
        txProof: proof.tx_proof.iter().map(|h| B256::from(*h)).collect(),
        accounts: proof
            .accounts
            .iter()
            .map(|o| StateStepVerifier::AccountOpening {
                account: Address::from(o.account),
                balance: o.before.balance,
                nonce: o.before.nonce,
                present: U256::from_be_bytes(o.present),
                siblings: o.siblings.iter().map(|h| B256::from(*h)).collect(),
            })
            .collect(),
    }
}
