//! The game rules as a pure state machine (`specs/game.md` §4). `DisputeGame.sol`
//! mirrors [`Game::apply`] move by move; the agents use it to know whose turn it is.

use super::one_step::{self, OneStepError, OneStepProof, StepContext};
use super::trace::{initial_state, root_from, state_depth, value_leaf};
use crate::hash::Hash;
use crate::tensor::DType;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Where a game stands. The discriminants are the contract's enum values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The defender must post its final state and the first midpoint.
    AwaitingFinal = 1,
    /// The challenger must agree or disagree with the midpoint.
    AwaitingChoice = 2,
    /// The defender must post the next midpoint.
    AwaitingMidpoint = 3,
    /// The defender must reveal its claimed output of the disputed step.
    AwaitingReveal = 4,
    /// The challenger must name an element of the revealed output.
    AwaitingElement = 5,
    /// The defender must prove the named element.
    AwaitingProof = 6,
    /// Over: the record was wrong (or the defender ran out of time).
    ChallengerWon = 7,
    /// Over: the record stands (or the challenger ran out of time).
    DefenderWon = 8,
    /// Over: the batch was reverted by another game.
    Abandoned = 9,
}

impl Status {
    /// The contract's numeric value.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// From the contract's numeric value (`0`, no game, is `None`).
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => Self::AwaitingFinal,
            2 => Self::AwaitingChoice,
            3 => Self::AwaitingMidpoint,
            4 => Self::AwaitingReveal,
            5 => Self::AwaitingElement,
            6 => Self::AwaitingProof,
            7 => Self::ChallengerWon,
            8 => Self::DefenderWon,
            9 => Self::Abandoned,
            _ => return None,
        })
    }

    /// Who moves, or `None` once the game is over.
    pub fn mover(self) -> Option<Party> {
        match self {
            Self::AwaitingChoice | Self::AwaitingElement => Some(Party::Challenger),
            Self::AwaitingFinal
            | Self::AwaitingMidpoint
            | Self::AwaitingReveal
            | Self::AwaitingProof => Some(Party::Defender),
            Self::ChallengerWon | Self::DefenderWon | Self::Abandoned => None,
        }
    }

    /// Whether the game is over.
    pub fn is_over(self) -> bool {
        self.mover().is_none()
    }
}

/// The two sides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// Opened the game with a bond.
    Challenger,
    /// The sequencer.
    Defender,
}

/// What the game fixes when it opens (from the record and the model registry).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setup {
    /// The model's graph hash.
    #[serde(with = "crate::hash::serde_hex")]
    pub graph_hash: Hash,
    /// The model's weights root.
    #[serde(with = "crate::hash::serde_hex")]
    pub weights_root: Hash,
    /// Nodes `n`.
    pub op_count: u64,
    /// The record's input commitment.
    #[serde(with = "crate::hash::serde_hex")]
    pub input_root: Hash,
    /// The record's output commitment.
    #[serde(with = "crate::hash::serde_hex")]
    pub output_root: Hash,
    /// Each party's clock, in L1 blocks.
    pub clock_blocks: u64,
    /// The L1 block of the opening.
    pub opened_at: u64,
}

/// One move.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Move {
    /// Defender: `S_n` with its proof of leaf `n`, and the first midpoint.
    Start {
        /// `S_n`.
        final_state: Hash,
        /// `D` siblings of leaf `n` in `S_n`.
        final_proof: Vec<Hash>,
        /// `S_mid` (ignored when `n = 1`).
        mid_state: Hash,
    },
    /// Challenger: agree or disagree with the midpoint.
    Choose {
        /// Agree with `S_mid`.
        agree: bool,
    },
    /// Defender: the next midpoint.
    Bisect {
        /// `S_mid`.
        mid_state: Hash,
    },
    /// Defender: the claimed output of the disputed step, in full.
    Reveal {
        /// Its dtype.
        dtype: DType,
        /// Its shape.
        shape: Vec<u32>,
        /// Its element bytes.
        data: Vec<u8>,
        /// Siblings of leaf `hi` (the same in `S_lo` and `S_hi`).
        siblings: Vec<Hash>,
    },
    /// Challenger: the element to check.
    NameElement {
        /// Flat index.
        element: u64,
    },
    /// Defender: the one-step witness.
    Prove(Box<OneStepProof>),
}

/// Why a move is refused (the contract reverts).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum GameError {
    /// The game is over.
    #[error("the game is over")]
    Over,
    /// Not this party's turn, or not this kind of move now.
    #[error("{0:?} cannot make this move now")]
    NotYourMove(Party),
    /// The mover's clock ran out.
    #[error("the mover's clock has run out")]
    ClockExpired,
    /// `timeout` before the mover's clock ran out.
    #[error("the mover still has time")]
    ClockRunning,
    /// The final state does not hold the record's output at leaf `n`.
    #[error("the final state does not hold the record's output")]
    BadFinalState,
    /// The reveal does not match the disputed states.
    #[error("the revealed value does not match the disputed step")]
    BadReveal,
    /// The named element is beyond the revealed output.
    #[error("element {0} is beyond the revealed output")]
    ElementOutOfRange(u64),
    /// The one-step proof is malformed.
    #[error("malformed one-step proof: {0}")]
    Proof(#[from] OneStepError),
}

/// A game in progress or over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Game {
    /// What the opening fixed.
    pub setup: Setup,
    /// Where it stands.
    pub status: Status,
    /// Agreed step.
    pub lo: u64,
    /// Disputed step.
    pub hi: u64,
    /// `S_lo`.
    #[serde(with = "crate::hash::serde_hex")]
    pub lo_state: Hash,
    /// `S_hi` (zero until the defender starts).
    #[serde(with = "crate::hash::serde_hex")]
    pub hi_state: Hash,
    /// The midpoint state awaiting a choice.
    #[serde(with = "crate::hash::serde_hex")]
    pub mid_state: Hash,
    /// The revealed output's commitment.
    #[serde(with = "crate::hash::serde_hex")]
    pub output_commitment: Hash,
    /// The revealed output's element count.
    pub revealed_count: u64,
    /// The named element.
    pub element: u64,
    /// Blocks left on the challenger's clock.
    pub challenger_clock: u64,
    /// Blocks left on the defender's clock.
    pub defender_clock: u64,
    /// L1 block of the last move (or the opening).
    pub last_move: u64,
}

impl Game {
    /// A game just opened: the defender is to start.
    pub fn open(setup: Setup) -> Self {
        Self {
            lo: 0,
            hi: setup.op_count,
            lo_state: initial_state(&setup.input_root, setup.op_count as usize),
            hi_state: [0; 32],
            mid_state: [0; 32],
            output_commitment: [0; 32],
            revealed_count: 0,
            element: 0,
            challenger_clock: setup.clock_blocks,
            defender_clock: setup.clock_blocks,
            last_move: setup.opened_at,
            status: Status::AwaitingFinal,
            setup,
        }
    }

    /// The midpoint of the current range.
    pub fn mid(&self) -> u64 {
        self.lo + (self.hi - self.lo) / 2
    }

    /// Depth of the state tree.
    pub fn depth(&self) -> usize {
        state_depth(self.setup.op_count as usize)
    }

    /// Who is to move.
    pub fn mover(&self) -> Option<Party> {
        self.status.mover()
    }

    /// The winner, once over (`None` while running or when abandoned).
    pub fn winner(&self) -> Option<Party> {
        match self.status {
            Status::ChallengerWon => Some(Party::Challenger),
            Status::DefenderWon => Some(Party::Defender),
            _ => None,
        }
    }

    fn clock_mut(&mut self, party: Party) -> &mut u64 {
        match party {
            Party::Challenger => &mut self.challenger_clock,
            Party::Defender => &mut self.defender_clock,
        }
    }

    /// Applies `mv` by `by` at L1 block `now`.
    pub fn apply(&mut self, by: Party, mv: Move, now: u64) -> Result<(), GameError> {
        let mover = self.mover().ok_or(GameError::Over)?;
        if mover != by {
            return Err(GameError::NotYourMove(by));
        }
        let elapsed = now.saturating_sub(self.last_move);
        if elapsed > *self.clock_mut(by) {
            return Err(GameError::ClockExpired);
        }
        let next = self.next_status(by, mv)?;
        *self.clock_mut(by) -= elapsed;
        self.last_move = now;
        self.status = next;
        Ok(())
    }

    /// Checks a move and updates the positions; returns the next status.
    fn next_status(&mut self, by: Party, mv: Move) -> Result<Status, GameError> {
        let depth = self.depth();
        match (self.status, mv) {
            (
                Status::AwaitingFinal,
                Move::Start {
                    final_state,
                    final_proof,
                    mid_state,
                },
            ) => {
                let n = self.setup.op_count as usize;
                let leaf = value_leaf(&self.setup.output_root);
                if final_proof.len() != depth || root_from(leaf, n, &final_proof) != final_state {
                    return Err(GameError::BadFinalState);
                }
                self.hi_state = final_state;
                Ok(if self.hi - self.lo == 1 {
                    Status::AwaitingReveal
                } else {
                    self.mid_state = mid_state;
                    Status::AwaitingChoice
                })
            }
            (Status::AwaitingChoice, Move::Choose { agree }) => {
                let mid = self.mid();
                if agree {
                    self.lo = mid;
                    self.lo_state = self.mid_state;
                } else {
                    self.hi = mid;
                    self.hi_state = self.mid_state;
                }
                Ok(if self.hi - self.lo == 1 {
                    Status::AwaitingReveal
                } else {
                    Status::AwaitingMidpoint
                })
            }
            (Status::AwaitingMidpoint, Move::Bisect { mid_state }) => {
                self.mid_state = mid_state;
                Ok(Status::AwaitingChoice)
            }
            (
                Status::AwaitingReveal,
                Move::Reveal {
                    dtype,
                    shape,
                    data,
                    siblings,
                },
            ) => {
                let commitment = one_step::revealed_commitment(dtype, &shape, &data)
                    .ok_or(GameError::BadReveal)?;
                let index = self.hi as usize;
                let fits = siblings.len() == depth
                    && root_from([0; 32], index, &siblings) == self.lo_state
                    && root_from(value_leaf(&commitment), index, &siblings) == self.hi_state;
                if !fits {
                    return Err(GameError::BadReveal);
                }
                self.output_commitment = commitment;
                self.revealed_count = (data.len() / dtype.size()) as u64;
                Ok(Status::AwaitingElement)
            }
            (Status::AwaitingElement, Move::NameElement { element }) => {
                if element >= self.revealed_count {
                    return Err(GameError::ElementOutOfRange(element));
                }
                self.element = element;
                Ok(Status::AwaitingProof)
            }
            (Status::AwaitingProof, Move::Prove(proof)) => {
                let holds = one_step::verify(&self.step_context(), &proof)?;
                Ok(if holds {
                    Status::DefenderWon
                } else {
                    Status::ChallengerWon
                })
            }
            _ => Err(GameError::NotYourMove(by)),
        }
    }

    /// The verifier's inputs at the current position.
    pub fn step_context(&self) -> StepContext {
        StepContext {
            graph_hash: self.setup.graph_hash,
            weights_root: self.setup.weights_root,
            op_count: self.setup.op_count,
            step: self.lo,
            pre_state: self.lo_state,
            state_depth: self.depth() as u64,
            output_commitment: self.output_commitment,
            element: self.element,
        }
    }

    /// Ends the game for the party not to move, once the mover's clock has run out at `now`.
    pub fn timeout(&mut self, now: u64) -> Result<Party, GameError> {
        let mover = self.mover().ok_or(GameError::Over)?;
        let left = match mover {
            Party::Challenger => self.challenger_clock,
            Party::Defender => self.defender_clock,
        };
        if now.saturating_sub(self.last_move) <= left {
            return Err(GameError::ClockRunning);
        }
        let (status, winner) = match mover {
            Party::Challenger => (Status::DefenderWon, Party::Defender),
            Party::Defender => (Status::ChallengerWon, Party::Challenger),
        };
        self.status = status;
        Ok(winner)
    }

    /// Ends a running game whose batch is gone.
    pub fn abandon(&mut self) -> Result<(), GameError> {
        if self.status.is_over() {
            return Err(GameError::Over);
        }
        self.status = Status::Abandoned;
        Ok(())
    }
}
