//! How large a value the game can reveal in one L1 transaction (`specs/game.md` §4).
//!
//! At `hi = lo + 1` the defender must `reveal` the whole value `v_hi` in one call. A value
//! too large for one transaction cannot be revealed, so a lying challenger could steer
//! the bisection to it and win on the clock: every record of such a model would be
//! undefendable. Until the reveal descends a chunk tree (issue 18), a sequencer must not
//! serve a model with such a value ([`check_revealable`]).

use crate::model::Model;

/// The most element bytes one `reveal` may carry. Geth's pool takes transactions up to
/// 128 KiB; the call's ABI framing, the tensor header and the state siblings take a
/// few hundred bytes more, so 96 KiB leaves room. Gas: about 16 per byte of calldata
/// plus one Keccak per 32 bytes, some 1.7M for the largest value.
pub const MAX_REVEAL_BYTES: usize = 96 * 1024;

/// A value of a model too large to reveal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "node {node}'s output has {bytes} bytes, more than the {MAX_REVEAL_BYTES} a dispute can reveal in one L1 transaction: its records could not be defended"
)]
pub struct TooLargeToReveal {
    /// The node whose output it is.
    pub node: usize,
    /// Its element bytes.
    pub bytes: usize,
}

/// The largest node output of `model`, in element bytes, and the node producing it.
pub fn largest_value(model: &Model) -> (usize, usize) {
    model
        .value_types()
        .iter()
        .enumerate()
        .skip(1) // value 0 is the input, which is never revealed
        .map(|(value, t)| {
            let count: usize = t.shape.iter().map(|&d| d as usize).product();
            (value - 1, count * t.dtype.size())
        })
        .max_by_key(|&(_, bytes)| bytes)
        .unwrap_or((0, 0))
}

/// Whether every value `model` computes can be revealed in one transaction.
pub fn check_revealable(model: &Model) -> Result<(), TooLargeToReveal> {
    let (node, bytes) = largest_value(model);
    if bytes > MAX_REVEAL_BYTES {
        return Err(TooLargeToReveal { node, bytes });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vectors::model_cases;

    #[test]
    fn the_test_models_are_revealable_and_the_largest_value_is_found() {
        for case in model_cases() {
            let model =
                Model::decode(&hex::decode(case.model_hex.trim_start_matches("0x")).expect("hex"))
                    .expect("model");
            check_revealable(&model).expect("small models");
            let (node, bytes) = largest_value(&model);
            let expected = case.trace[1..]
                .iter()
                .map(|t| t.element_bytes().len())
                .max()
                .unwrap_or(0);
            assert_eq!(bytes, expected, "{}", case.name);
            assert_eq!(case.trace[node + 1].element_bytes().len(), bytes);
        }
    }
}
