//! Requantization: the one rule that turns a wide integer into int8.
//!
//! `y = clamp((x * M + 2^(s-1)) >> s, -127, 127)` in 64-bit integers, where `>>` is an
//! arithmetic (flooring) shift. This is `floor(x * M / 2^s + 1/2)`: the real product
//! `x * M / 2^s` rounded half up, then saturated. With `|x| < 2^31`, `0 <= M < 2^31`
//! and `1 <= s <= 62` nothing overflows: `|x * M| < 2^62` and `2^(s-1) <= 2^61`.

use super::saturate_i8;
use crate::model::Requant;

/// Requantizes one accumulator.
pub fn requantize(x: i32, r: Requant) -> i8 {
    let scaled = i64::from(x) * i64::from(r.multiplier) + (1i64 << (r.shift - 1));
    saturate_i8(scaled >> r.shift)
}

/// One element of `Add`: `clamp((a * Ma + b * Mb + 2^(s-1)) >> s, -127, 127)`.
/// `|a * Ma + b * Mb| <= 2 * 127 * 2^31 < 2^40`, far from overflow.
pub fn add_element(a: i8, b: i8, a_multiplier: i32, b_multiplier: i32, shift: u8) -> i8 {
    let sum = i64::from(a) * i64::from(a_multiplier)
        + i64::from(b) * i64::from(b_multiplier)
        + (1i64 << (shift - 1));
    saturate_i8(sum >> shift)
}

/// One `Mul` output: `clamp((a * b * multiplier + 2^(shift-1)) >> shift, -127, 127)`.
/// `|a * b * multiplier| <= 127^2 * (2^31 - 1) < 2^45`, so the i64 sum cannot overflow.
pub fn mul_element(a: i8, b: i8, multiplier: i32, shift: u8) -> i8 {
    let product = i64::from(a) * i64::from(b) * i64::from(multiplier);
    saturate_i8((product + (1i64 << (shift - 1))) >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HALF: Requant = Requant {
        multiplier: 1 << 30,
        shift: 31,
    };

    #[test]
    fn rounds_half_up() {
        // x * 0.5: 3 -> 1.5 -> 2, -3 -> -1.5 -> -1, 1 -> 0.5 -> 1, -1 -> -0.5 -> 0.
        assert_eq!(requantize(3, HALF), 2);
        assert_eq!(requantize(-3, HALF), -1);
        assert_eq!(requantize(1, HALF), 1);
        assert_eq!(requantize(-1, HALF), 0);
        assert_eq!(requantize(0, HALF), 0);
    }

    #[test]
    fn mul_of_two_activations() {
        // a = 100 at 1/64, b = -50 at 1/32, y at 1/8: 1.5625 * -1.5625 = -2.441 = -19.53 steps -> -20.
        // multiplier = (1/64 * 1/32 * 8) * 2^31 = 2^23.
        assert_eq!(mul_element(100, -50, 1 << 23, 31), -20);
        assert_eq!(mul_element(127, 127, 1 << 30, 30), 127);
        assert_eq!(mul_element(127, -127, 1 << 30, 30), -127);
        assert_eq!(mul_element(3, 5, -(1 << 30), 31), -7); // -7.5 rounds up
    }

    #[test]
    fn subtraction_is_a_negative_multiplier() {
        // 0.5 * a - 0.5 * b
        assert_eq!(add_element(10, 3, 1 << 30, -(1 << 30), 31), 4); // 3.5 -> 4
        assert_eq!(add_element(3, 10, 1 << 30, -(1 << 30), 31), -3); // -3.5 -> -3
    }

    #[test]
    fn saturates_symmetrically() {
        let one = Requant {
            multiplier: 1 << 30,
            shift: 30,
        };
        assert_eq!(requantize(1000, one), 127);
        assert_eq!(requantize(-1000, one), -127);
        assert_eq!(
            requantize(
                i32::MIN,
                Requant {
                    multiplier: i32::MAX,
                    shift: 1
                }
            ),
            -127
        );
        assert_eq!(
            requantize(
                i32::MAX,
                Requant {
                    multiplier: i32::MAX,
                    shift: 62
                }
            ),
            1
        );
    }

    #[test]
    fn matches_exact_rational_rounding() {
        for x in -2000i32..2000 {
            for (m, s) in [
                (1_518_500_250i32, 38u8),
                (1 << 30, 31),
                (7, 3),
                (i32::MAX, 40),
            ] {
                let exact = (i128::from(x) * i128::from(m)) as f64 / 2f64.powi(i32::from(s));
                let expected = (exact + 0.5).floor().clamp(-127.0, 127.0) as i8;
                // f64 is exact here: |x * m| < 2^42 < 2^53.
                assert_eq!(
                    requantize(
                        x,
                        Requant {
                            multiplier: m,
                            shift: s
                        }
                    ),
                    expected,
                    "x={x} m={m} s={s}"
                );
            }
        }
    }

    #[test]
    fn add_uses_the_same_rounding() {
        // 0.5 * a + 0.25 * b with a = 3, b = -2: 1.5 - 0.5 = 1.0 -> 1; a = 1, b = 0: 0.5 -> 1.
        assert_eq!(add_element(3, -2, 1 << 30, 1 << 29, 31), 1);
        assert_eq!(add_element(1, 0, 1 << 30, 1 << 29, 31), 1);
        assert_eq!(add_element(127, 127, 1 << 30, 1 << 30, 30), 127);
    }
}
