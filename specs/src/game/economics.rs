//! The economics of sampling and bonds (`specs/economics.md`): the chance that a wrong
//! record escapes every challenger, and the sequencer bond that makes cheating a loss in
//! expectation.
//!
//! Plain `f64` arithmetic on probabilities and amounts (any unit: the bond comes out in
//! the unit of the gain). Sampling rates are clamped to `[0, 1]` as in
//! [`is_sampled`](super::sampling::is_sampled), so a NaN rate samples nothing.

/// The share of a slashed sequencer bond that the Rollup burns (`specs/rollup.md`; the rest
/// is credited to the winning challenger). Only this share is a loss the sequencer cannot
/// win back by challenging itself.
pub const BURNT_SHARE: f64 = 0.5;

/// A sampling rate as [`is_sampled`](super::sampling::is_sampled) reads it: clamped to
/// `[0, 1]`, NaN as 0.
fn rate(p: f64) -> f64 {
    if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) }
}

/// The chance that no challenger samples any of the wrong records of a batch:
/// `(1 − p)^(challengers · wrong_records)`.
///
/// Each of `challengers` challengers samples each record independently with probability
/// `p` (each has its own secret, `specs/game.md` §5), so the `challengers · wrong_records`
/// draws that could catch a wrong record are independent and each misses with
/// probability `1 − p`. With no draws (no challengers, or no wrong records) nothing is
/// caught: the result is 1.
pub fn miss_probability(p: f64, challengers: u32, wrong_records: u32) -> f64 {
    let draws = u64::from(challengers) * u64::from(wrong_records);
    if draws == 0 {
        return 1.0;
    }
    // exp(k · ln(1 − p)) keeps its precision for small p; ln_1p(−1) = −∞ gives 0 at p = 1.
    (draws as f64 * (-rate(p)).ln_1p()).exp()
}

/// The chance that at least one challenger samples a wrong record:
/// `1 − miss_probability(p, challengers, wrong_records)`, computed without cancellation
/// for small `p`.
pub fn catch_probability(p: f64, challengers: u32, wrong_records: u32) -> f64 {
    let draws = u64::from(challengers) * u64::from(wrong_records);
    if draws == 0 {
        return 0.0;
    }
    -(draws as f64 * (-rate(p)).ln_1p()).exp_m1()
}

/// The smallest slash `B` with `(1 − P(miss)) · B ≥ f · G`: a sequencer that gains
/// `gain_per_record` (`G`, its own private value) from each of `wrong_records` (`f`) wrong
/// records, and loses `B` when any of them is caught, loses in expectation whenever its
/// bond is above this.
///
/// `f` counts every wrong record the bond answers for at once, i.e. across all batches not
/// yet final: one slash covers them all. The result is 0 when there is nothing to gain
/// (`f = 0` or `G ≤ 0`) and infinite when nothing is ever caught (`p = 0` or no
/// challengers).
pub fn deterrent_bond(p: f64, challengers: u32, wrong_records: u32, gain_per_record: f64) -> f64 {
    if wrong_records == 0 || gain_per_record <= 0.0 {
        return 0.0;
    }
    let caught = catch_probability(p, challengers, wrong_records);
    if caught == 0.0 {
        return f64::INFINITY;
    }
    f64::from(wrong_records) * gain_per_record / caught
}

/// The bond whose burnt share alone deters: [`deterrent_bond`] divided by
/// [`BURNT_SHARE`]. A sequencer that sees a game opened against its wrong record can
/// race it with a game of its own, lose that one at once and collect the challenger's
/// half itself; what it surely loses is the burnt half (`specs/economics.md` §5).
pub fn burnt_share_deterrent_bond(
    p: f64,
    challengers: u32,
    wrong_records: u32,
    gain_per_record: f64,
) -> f64 {
    deterrent_bond(p, challengers, wrong_records, gain_per_record) / BURNT_SHARE
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Relative closeness, for values computed independently with exact fractions.
    fn close(actual: f64, expected: f64) -> bool {
        (actual - expected).abs() <= 1e-12 * expected.abs()
    }

    #[test]
    #[allow(clippy::excessive_precision)] // the exact decimal values, as computed
    fn miss_probabilities_match_the_table() {
        // Exact values (Python fractions): (1 − p)^(c·f).
        assert!(close(miss_probability(0.1, 1, 1), 0.9));
        assert!(close(miss_probability(0.1, 3, 1), 0.729));
        assert!(close(miss_probability(0.01, 3, 1), 0.970_299));
        assert!(close(
            miss_probability(0.25, 10, 1),
            0.056_313_514_709_472_656_25
        ));
        assert!(close(
            miss_probability(0.001, 1, 10),
            0.990_044_880_209_748_209_88
        ));
        assert!(close(miss_probability(0.5, 1, 10), 0.000_976_562_5));
        assert_eq!(miss_probability(1.0, 3, 1), 0.0);
        assert_eq!(miss_probability(0.0, 3, 1), 1.0);
    }

    #[test]
    fn only_the_product_of_challengers_and_wrong_records_matters() {
        for p in [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0] {
            assert_eq!(miss_probability(p, 10, 1), miss_probability(p, 1, 10));
            assert_eq!(miss_probability(p, 3, 4), miss_probability(p, 2, 6));
            assert!(close(
                catch_probability(p, 3, 1) + miss_probability(p, 3, 1),
                1.0
            ));
        }
    }

    #[test]
    fn nothing_to_sample_means_nothing_caught() {
        assert_eq!(miss_probability(0.5, 0, 7), 1.0);
        assert_eq!(miss_probability(0.5, 7, 0), 1.0);
        assert_eq!(catch_probability(1.0, 0, 1), 0.0);
        // Rates outside [0, 1] are clamped and NaN samples nothing, as in `is_sampled`.
        assert_eq!(miss_probability(2.0, 1, 1), 0.0);
        assert_eq!(miss_probability(-0.5, 1, 1), 1.0);
        assert_eq!(miss_probability(f64::NAN, 1, 1), 1.0);
        // The exponent cannot overflow.
        assert_eq!(miss_probability(0.5, u32::MAX, u32::MAX), 0.0);
    }

    #[test]
    #[allow(clippy::excessive_precision)] // the exact decimal values, as computed
    fn deterrent_bonds_match_the_table() {
        // G = 0.01 ETH, f = 1, c = 3: 0.01 / (1 − (1 − p)^3), exact values.
        let g = 0.01;
        assert!(close(
            deterrent_bond(0.001, 3, 1, g),
            3.336_668_890_000_370_370
        ));
        assert!(close(
            deterrent_bond(0.01, 3, 1, g),
            0.336_689_000_370_357_900
        ));
        assert!(close(
            deterrent_bond(0.05, 3, 1, g),
            0.070_113_935_144_609_991
        ));
        assert!(close(
            deterrent_bond(0.1, 3, 1, g),
            0.036_900_369_003_690_037
        ));
        assert!(close(
            deterrent_bond(0.25, 3, 1, g),
            0.017_297_297_297_297_297
        ));
        assert!(close(
            deterrent_bond(0.5, 3, 1, g),
            0.011_428_571_428_571_429
        ));
        assert!(close(deterrent_bond(1.0, 3, 1, g), 0.01));
        // Other combinations of §2.
        assert!(close(
            deterrent_bond(0.1, 3, 10, g),
            0.104_426_771_812_054_697
        ));
        assert!(close(
            deterrent_bond(0.01, 10, 1, 1.0),
            10.458_290_117_591_235_230
        ));
        assert!(close(
            deterrent_bond(0.1, 3, 100, g),
            1.000_000_000_000_018_739
        ));
        assert!(close(
            burnt_share_deterrent_bond(0.1, 3, 1, 1.0),
            7.380_073_800_738_007
        ));
    }

    #[test]
    fn deterrent_bond_edges() {
        assert_eq!(deterrent_bond(0.0, 3, 1, 1.0), f64::INFINITY);
        assert_eq!(deterrent_bond(0.5, 0, 1, 1.0), f64::INFINITY);
        assert_eq!(deterrent_bond(0.5, 3, 0, 1.0), 0.0);
        assert_eq!(deterrent_bond(0.5, 3, 1, 0.0), 0.0);
        // Small rates keep their precision: 1 − (1 − p) = p exactly for one draw.
        assert!(close(deterrent_bond(1e-9, 1, 1, 1.0), 1e9));
        // The bond never falls below the total gain, and grows with f.
        for p in [0.001, 0.1, 0.9] {
            let mut last = 0.0;
            for f in 1..50 {
                let b = deterrent_bond(p, 3, f, 1.0);
                assert!(b >= f64::from(f) && b >= last);
                last = b;
            }
        }
    }
}
