//! Secret sampling (`specs/game.md` §5): which records a challenger re-executes.

use crate::hash::{Hash, keccak};

/// Whether record `index` of the batch with output root `batch_root` is sampled at rate
/// `rate` (clamped to `[0, 1]`): `uint256(keccak(secret ‖ batch_root ‖ u64 index)) < rate · 2^256`.
pub fn is_sampled(secret: &Hash, batch_root: &Hash, index: u64, rate: f64) -> bool {
    if rate >= 1.0 {
        return true;
    }
    if rate.is_nan() || rate <= 0.0 {
        return false;
    }
    let draw = keccak(&[secret, batch_root, &index.to_be_bytes()]);
    // Compare the top 64 bits against rate · 2^64; the rest only breaks exact ties, which
    // are below the precision of an f64 rate anyway.
    let top = u64::from_be_bytes(draw[..8].try_into().expect("8 bytes"));
    (top as f64) < rate * 18_446_744_073_709_551_616.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_hold_on_average_and_at_the_ends() {
        let secret = keccak(&[b"secret"]);
        let root = keccak(&[b"root"]);
        let hits = (0..20_000)
            .filter(|&i| is_sampled(&secret, &root, i, 0.1))
            .count();
        assert!((1_700..2_300).contains(&hits), "{hits} of 20000 at p = 0.1");
        assert!((0..100).all(|i| is_sampled(&secret, &root, i, 1.0)));
        assert!((0..100).all(|i| !is_sampled(&secret, &root, i, 0.0)));
    }

    #[test]
    fn another_secret_samples_other_records() {
        let root = keccak(&[b"root"]);
        let a: Vec<bool> = (0..200)
            .map(|i| is_sampled(&keccak(&[b"a"]), &root, i, 0.5))
            .collect();
        let b: Vec<bool> = (0..200)
            .map(|i| is_sampled(&keccak(&[b"b"]), &root, i, 0.5))
            .collect();
        assert_ne!(a, b);
    }
}
