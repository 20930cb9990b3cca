//! How a party decides its moves. A party holds its **claims**: the values it says the
//! model computes (the honest trace, or a faulty one) and their trace states. The
//! defender answers from its claims; the challenger compares the defender's moves with
//! its own honest claims. The sequencer's defender and the challenger crate both play
//! through these functions, and the property tests below play liars against them.

use super::machine::{Game, Move, Status};
use super::one_step::{self, OneStepError};
use super::trace::Trace;
use crate::hash::Hash;
use crate::model::Model;
use crate::tensor::Tensor;

/// A party's claimed run of one record: every value (input first) and the trace states.
#[derive(Clone, Debug)]
pub struct Claims {
    values: Vec<Tensor>,
    trace: Trace,
}

impl Claims {
    /// Claims from a list of values (input first, output last).
    pub fn new(values: Vec<Tensor>) -> Self {
        let trace = Trace::new(&values);
        Self { values, trace }
    }

    /// The honest claims: the reference interpreter's trace of `model` on `input`.
    pub fn honest(model: &Model, input: &Tensor) -> Result<Self, crate::interpreter::InputError> {
        Ok(Self::new(crate::interpreter::trace(model, input)?))
    }

    /// The values.
    pub fn values(&self) -> &[Tensor] {
        &self.values
    }

    /// The trace states.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// `S_k`.
    pub fn state(&self, k: u64) -> Hash {
        self.trace.state(k as usize).unwrap_or([0; 32])
    }

    /// The defender's move in `game`'s current position, or `None` when it is not the
    /// defender's turn. `model` is the registered model (for the one-step witness).
    pub fn defend(&self, model: &Model, game: &Game) -> Result<Option<Move>, OneStepError> {
        Ok(Some(match game.status {
            Status::AwaitingFinal => {
                let n = game.setup.op_count;
                Move::Start {
                    final_state: self.state(n),
                    final_proof: self.trace.proof(n as usize, n as usize),
                    mid_state: self.state(game.mid()),
                }
            }
            Status::AwaitingMidpoint => Move::Bisect {
                mid_state: self.state(game.mid()),
            },
            Status::AwaitingReveal => {
                let value = &self.values[game.hi as usize];
                Move::Reveal {
                    dtype: value.dtype(),
                    shape: value.shape().to_vec(),
                    data: value.element_bytes(),
                    siblings: self.trace.proof(game.lo as usize, game.hi as usize),
                }
            }
            Status::AwaitingProof => {
                let step = game.lo as usize;
                let proof = one_step::prove(
                    model,
                    &self.values[..=step],
                    &self.trace,
                    step,
                    game.element as usize,
                    &self.values[step + 1],
                )?;
                Move::Prove(Box::new(proof))
            }
            _ => return Ok(None),
        }))
    }

    /// The honest challenger's move in `game`'s current position, given the defender's
    /// revealed value (needed in `AwaitingElement`), or `None` when it is not the
    /// challenger's turn.
    pub fn challenge(&self, game: &Game, revealed: Option<&Tensor>) -> Option<Move> {
        match game.status {
            Status::AwaitingChoice => Some(Move::Choose {
                agree: game.mid_state == self.state(game.mid()),
            }),
            Status::AwaitingElement => Some(Move::NameElement {
                element: revealed
                    .map_or(0, |r| differing_element(r, &self.values[game.hi as usize])),
            }),
            _ => None,
        }
    }
}

/// The first element where `claimed` differs from `honest`; 0 when their types differ
/// (the verifier then rejects the claim's type whatever the element) or when they are
/// equal (nothing to win).
pub fn differing_element(claimed: &Tensor, honest: &Tensor) -> u64 {
    if claimed.dtype() != honest.dtype() || claimed.shape() != honest.shape() {
        return 0;
    }
    (0..claimed.len())
        .find(|&i| claimed.data().get(i) != honest.data().get(i))
        .unwrap_or(0) as u64
}

/// Whether `record_output` (a commitment) is what the honest run gives.
pub fn output_is_wrong(honest: &Claims, record_output: &Hash) -> bool {
    honest.values.last().map(Tensor::commitment).as_ref() != Some(record_output)
}
