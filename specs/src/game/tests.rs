//! Whole games between honest and lying parties on every op kind.

use super::machine::{Game, Move, Party, Setup, Status};
use super::play::Claims;
use crate::model::{Metadata, Model};
use crate::tensor::Tensor;
use crate::vectors::{SplitMix64, model_cases};
use proptest::prelude::*;
use std::sync::OnceLock;

fn models() -> &'static [(Model, Tensor)] {
    static MODELS: OnceLock<Vec<(Model, Tensor)>> = OnceLock::new();
    MODELS.get_or_init(|| {
        model_cases()
            .into_iter()
            .map(|case| {
                let model =
                    Model::new(case.graph, case.weights, Metadata::default()).expect("valid");
                (model, case.input)
            })
            .collect()
    })
}

fn setup(model: &Model, input: &Tensor, output: &Tensor) -> Setup {
    let id = model.id();
    Setup {
        graph_hash: id.graph_hash,
        weights_root: id.weights_root,
        op_count: model.graph().nodes.len() as u64,
        input_root: input.commitment(),
        output_root: output.commitment(),
        clock_blocks: 100,
        opened_at: 1_000,
    }
}

/// One element of `t` changed.
fn perturb(t: &Tensor, rng: &mut SplitMix64) -> Tensor {
    let i = rng.range(0, t.len() as i64 - 1) as usize;
    crate::vectors::with_element_changed(t, i)
}

/// A defender whose claims go wrong from node `from` on.
fn faulty_claims(honest: &Claims, from: usize, rng: &mut SplitMix64) -> Claims {
    let values = honest
        .values()
        .iter()
        .enumerate()
        .map(|(i, v)| if i > from { perturb(v, rng) } else { v.clone() })
        .collect();
    Claims::new(values)
}

enum Challenger<'a> {
    Honest(&'a Claims),
    /// Picks at random.
    Liar(SplitMix64),
    /// Stops moving at its `n`-th move.
    Silent(usize),
}

/// Plays to the end; the defender stops moving at its `defender_stops`-th move if given.
fn play(
    model: &Model,
    game: &mut Game,
    defender: &Claims,
    challenger: &mut Challenger<'_>,
    defender_stops: Option<usize>,
) -> (Status, usize, Option<Party>) {
    let mut now = game.last_move;
    let mut revealed: Option<Tensor> = None;
    let (mut defender_moves, mut challenger_moves) = (0, 0);
    // The opening is the first L1 transaction.
    let mut transactions = 1;
    let mut silent = None;
    while let Some(mover) = game.mover() {
        now += 1;
        let mv = match mover {
            Party::Defender => {
                defender_moves += 1;
                if defender_stops == Some(defender_moves) {
                    None
                } else {
                    let mv = defender
                        .defend(model, game)
                        .expect("provable")
                        .expect("turn");
                    if let Move::Reveal {
                        dtype, shape, data, ..
                    } = &mv
                    {
                        revealed = Some(tensor_from_bytes(*dtype, shape, data));
                    }
                    Some(mv)
                }
            }
            Party::Challenger => {
                challenger_moves += 1;
                match challenger {
                    Challenger::Honest(claims) => claims.challenge(game, revealed.as_ref()),
                    Challenger::Liar(rng) => Some(match game.status {
                        Status::AwaitingChoice => Move::Choose {
                            agree: rng.range(0, 1) == 1,
                        },
                        _ => Move::NameElement {
                            element: rng.range(0, game.revealed_count as i64 - 1) as u64,
                        },
                    }),
                    Challenger::Silent(stop) if *stop == challenger_moves => None,
                    Challenger::Silent(_) => Some(match game.status {
                        Status::AwaitingChoice => Move::Choose { agree: true },
                        _ => Move::NameElement { element: 0 },
                    }),
                }
            }
        };
        match mv {
            Some(mv) => {
                game.apply(mover, mv, now).expect("a legal move");
                transactions += 1;
            }
            None => {
                silent = Some(mover);
                let clock = game.challenger_clock.max(game.defender_clock);
                assert!(game.timeout(now).is_err(), "the clock is still running");
                game.timeout(now + clock + 1).expect("the clock ran out");
            }
        }
    }
    (game.status, transactions, silent)
}

fn tensor_from_bytes(dtype: crate::tensor::DType, shape: &[u32], data: &[u8]) -> Tensor {
    Tensor::from_element_bytes(dtype, shape.to_vec(), data).expect("revealed shape")
}

#[test]
fn an_honest_challenger_wins_against_a_fault_at_every_step_of_every_model() {
    let mut rng = SplitMix64::new(6);
    for (model, input) in models() {
        let honest = Claims::honest(model, input).expect("input fits");
        let n = model.graph().nodes.len();
        for from in 0..n {
            let liar = faulty_claims(&honest, from, &mut rng);
            let mut game = Game::open(setup(model, input, liar.values().last().unwrap()));
            let (status, transactions, _) = play(
                model,
                &mut game,
                &liar,
                &mut Challenger::Honest(&honest),
                None,
            );
            assert_eq!(status, Status::ChallengerWon, "fault at node {from}");
            // The game ends at the first faulty node, so each op kind's one step is tried.
            assert_eq!(game.lo, from as u64);
            let bound = if n == 1 { 5 } else { 2 * ceil_log2(n) + 4 };
            assert!(
                transactions <= bound,
                "{transactions} transactions for {n} nodes"
            );
        }
    }
}

fn ceil_log2(n: usize) -> usize {
    n.next_power_of_two().trailing_zeros() as usize
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn the_honest_party_always_wins(
        which in any::<prop::sample::Index>(),
        seed in any::<u64>(),
        defender_lies in any::<bool>(),
    ) {
        let (model, input) = &models()[which.index(models().len())];
        let honest = Claims::honest(model, input).expect("input fits");
        let mut rng = SplitMix64::new(seed);
        let n = model.graph().nodes.len();
        if defender_lies {
            let from = rng.range(0, n as i64 - 1) as usize;
            let liar = faulty_claims(&honest, from, &mut rng);
            let mut game = Game::open(setup(model, input, liar.values().last().unwrap()));
            let (status, _, _) = play(model, &mut game, &liar, &mut Challenger::Honest(&honest), None);
            prop_assert_eq!(status, Status::ChallengerWon);
        } else {
            let mut game = Game::open(setup(model, input, honest.values().last().unwrap()));
            let (status, _, _) = play(model, &mut game, &honest, &mut Challenger::Liar(rng), None);
            prop_assert_eq!(status, Status::DefenderWon);
        }
    }

    #[test]
    fn a_party_that_stops_moving_loses(
        which in any::<prop::sample::Index>(),
        stop in 1usize..6,
        defender_stops in any::<bool>(),
    ) {
        let (model, input) = &models()[which.index(models().len())];
        let honest = Claims::honest(model, input).expect("input fits");
        let mut game = Game::open(setup(model, input, honest.values().last().unwrap()));
        let (status, _, silent) = if defender_stops {
            play(model, &mut game, &honest, &mut Challenger::Silent(usize::MAX), Some(stop))
        } else {
            play(model, &mut game, &honest, &mut Challenger::Silent(stop), None)
        };
        // The game may end before the party's turn to stop comes; the honest defender
        // then wins on the merits.
        match silent {
            Some(Party::Defender) => prop_assert_eq!(status, Status::ChallengerWon),
            Some(Party::Challenger) | None => prop_assert_eq!(status, Status::DefenderWon),
        }
        if stop == 1 {
            prop_assert!(silent.is_some());
        }
    }
}

#[test]
fn moves_out_of_turn_and_bad_reveals_are_refused() {
    let (model, input) = models()
        .iter()
        .find(|(m, _)| m.graph().nodes.len() >= 2)
        .expect("a model of two nodes or more");
    let honest = Claims::honest(model, input).unwrap();
    let mut game = Game::open(setup(model, input, honest.values().last().unwrap()));
    let now = game.last_move + 1;
    assert!(
        game.apply(Party::Challenger, Move::Choose { agree: true }, now)
            .is_err()
    );
    let start = honest.defend(model, &game).unwrap().unwrap();
    let mut wrong = start.clone();
    if let Move::Start { final_state, .. } = &mut wrong {
        final_state[0] ^= 1;
    }
    assert!(game.apply(Party::Defender, wrong, now).is_err());
    game.apply(Party::Defender, start, now).unwrap();
    assert_eq!(game.mover(), Some(Party::Challenger));
}
