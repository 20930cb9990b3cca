//! Fault injection for tests and demos: a sequencer that answers some requests wrongly
//! and defends its wrong answers, so challengers and the dispute game can be seen to work.
//!
//! Which requests are faulty is a pure function of the request hash
//! (`keccak("verdict-fault" ‖ request_hash) < rate · 2^256`), so the builder that writes a
//! wrong record and the defender that later plays its game agree without sharing state,
//! also across restarts.

use std::str::FromStr;

use verdict_specs::game::Claims;
use verdict_specs::tensor::{Tensor, TensorData};
use verdict_specs::{Hash, Model, hash::keccak};

/// What a faulty sequencer gets wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultMode {
    /// The final output is wrong; every intermediate value is right.
    Output,
    /// One intermediate value is wrong and flows on to the output (the dispute then ends
    /// at that node, so every op kind's one-step verification is exercised).
    Intermediate,
    /// The output is wrong and the sequencer makes no move in its games (it loses on the
    /// clock).
    Silent,
}

impl FromStr for FaultMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "output" => Ok(Self::Output),
            "intermediate" => Ok(Self::Intermediate),
            "silent" => Ok(Self::Silent),
            other => Err(format!(
                "unknown fault mode {other:?}; expected output, intermediate or silent"
            )),
        }
    }
}

impl std::fmt::Display for FaultMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Output => "output",
            Self::Intermediate => "intermediate",
            Self::Silent => "silent",
        })
    }
}

/// Which requests a faulty sequencer gets wrong, and how.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FaultPlan {
    /// Fraction of requests answered wrongly, in `[0, 1]`.
    pub rate: f64,
    /// What goes wrong.
    pub mode: FaultMode,
}

impl FaultPlan {
    /// Whether the request with `request_hash` is answered wrongly.
    pub fn is_faulty(&self, request_hash: &Hash) -> bool {
        let draw = keccak(&[b"verdict-fault", request_hash]);
        let top = u64::from_be_bytes(draw[..8].try_into().expect("8 bytes"));
        self.rate >= 1.0 || (top as f64) < self.rate * 18_446_744_073_709_551_616.0
    }

    /// The values a faulty sequencer claims for this request (input first, its wrong
    /// output last); `None` when `input` does not fit the model.
    pub fn claims(&self, model: &Model, input: &Tensor, request_hash: &Hash) -> Option<Claims> {
        let n = model.graph().nodes.len();
        let seed = keccak(&[b"verdict-fault-at", request_hash]);
        let pick = |i: usize, modulo: usize| seed[i] as usize % modulo.max(1);
        let honest = verdict_specs::interpreter::trace(model, input).ok()?;
        let mut values = match self.mode {
            FaultMode::Output | FaultMode::Silent => honest.clone(),
            FaultMode::Intermediate => {
                // Any node but the last when there are two or more.
                let node = if n > 1 { pick(0, n - 1) } else { 0 };
                verdict_specs::interpreter::trace_with(model, input, |i, out| {
                    if i == node {
                        *out = scrambled(model, i, out, seed[1]);
                    }
                })
                .ok()?
            }
        };
        // A fault masked by later nodes (an ArgMax that still picks the same class) would
        // leave a correct record: make the output wrong too, so there is something to
        // dispute. The game still ends at the first wrong node.
        let last = values.len() - 1;
        if values[last] == honest[last] {
            values[last] = scrambled(model, n - 1, &values[last], seed[2]);
        }
        Some(Claims::new(values))
    }
}

/// Node `node`'s output `t` with every element moved, staying in the range later nodes
/// accept (int8 values in [-127, 127], class indices below the class count).
fn scrambled(model: &Model, node: usize, t: &Tensor, salt: u8) -> Tensor {
    let shift = i64::from(salt % 100) + 1;
    if let Some(verdict_specs::model::Op::ArgMax { input }) = model.graph().nodes.get(node) {
        let classes = model.value_types()[*input as usize]
            .shape
            .last()
            .copied()
            .unwrap_or(1)
            .max(2) as i64;
        let shift = shift % (classes - 1) + 1;
        if let TensorData::I32(v) = t.data() {
            let moved = v
                .iter()
                .map(|&x| ((i64::from(x) + shift) % classes) as i32)
                .collect();
            return Tensor::new(t.shape().to_vec(), TensorData::I32(moved)).expect("same shape");
        }
    }
    let data = match t.data() {
        TensorData::I8(v) => TensorData::I8(
            v.iter()
                .map(|&x| (((i64::from(x) + 127 + shift) % 255) - 127) as i8)
                .collect(),
        ),
        TensorData::I32(v) => {
            TensorData::I32(v.iter().map(|&x| x.wrapping_add(shift as i32)).collect())
        }
    };
    Tensor::new(t.shape().to_vec(), data).expect("same shape")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_modes() {
        let plan = FaultPlan {
            rate: 0.25,
            mode: FaultMode::Output,
        };
        let hits = (0u32..4000)
            .filter(|i| plan.is_faulty(&keccak(&[&i.to_be_bytes()])))
            .count();
        assert!((850..1150).contains(&hits), "{hits}");
        assert_eq!("silent".parse(), Ok(FaultMode::Silent));
        assert!("loud".parse::<FaultMode>().is_err());
    }

    #[test]
    fn every_mode_gives_a_wrong_output_of_the_right_type() {
        for case in verdict_specs::vectors::model_cases() {
            let model = Model::new(case.graph, case.weights, Default::default()).unwrap();
            let honest = verdict_specs::interpreter::run(&model, &case.input).unwrap();
            for mode in [
                FaultMode::Output,
                FaultMode::Intermediate,
                FaultMode::Silent,
            ] {
                let plan = FaultPlan { rate: 1.0, mode };
                let claims = plan.claims(&model, &case.input, &[7; 32]).unwrap();
                let wrong = claims.values().last().unwrap();
                assert_ne!(wrong, &honest, "{} {mode}", case.name);
                assert_eq!(wrong.shape(), honest.shape());
                assert_eq!(wrong.dtype(), honest.dtype());
            }
        }
    }
}
