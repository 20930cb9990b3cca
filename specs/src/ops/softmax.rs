//! Integer Softmax over the last axis: an exp table read at `max − x`, an exact sum and
//! one rounded division (specs/ops.md, "Softmax").

/// Entries of a Softmax exp table: one per distance `max − x` in `0..=254` (int8 inputs
/// are in `[-127, 127]`), padded to the `Table` length; entry 255 is never read.
pub const SOFTMAX_TABLE_LEN: u32 = 256;

/// Largest exp-table entry, the fixed-point `1.0` the importer uses for `exp(0)`:
/// with it, `254 · e + S < 2^63` for any row length a shape can have (`< 2^32`).
pub const SOFTMAX_EXP_MAX: i64 = 1 << 24;

/// The output value that stands for probability 1: outputs are `round(127 · p)`.
pub const SOFTMAX_ONE: i64 = 127;

/// Where input `x` of a row whose maximum is `max` reads the exp table.
pub fn softmax_index(max: i64, x: i64) -> usize {
    (max - x) as usize
}

/// One Softmax output: `floor((254 · e_i + S) / (2 · S))`, i.e. `127 · e_i / S` rounded
/// half up, where `e_i` is the element's exp-table entry and `S` the row's sum of entries.
/// Validation keeps `0 ≤ e_i ≤ S` and `S ≥ 1` (entry 0, the maximum's, is at least 1), so
/// the result is in `[0, 127]`; `None` only for a row sum of zero, which validation rules out.
pub fn softmax_element(exp: i64, row_sum: i64) -> Option<i8> {
    if row_sum <= 0 {
        return None;
    }
    let y = (2 * SOFTMAX_ONE * exp + row_sum).div_euclid(2 * row_sum);
    Some(y.clamp(0, SOFTMAX_ONE) as i8)
}

/// A whole row: the maximum, every element's table entry, the sum, then each element.
pub fn softmax_row(row: &[i8], table: &[i32]) -> Option<Vec<i8>> {
    let max = i64::from(*row.iter().max()?);
    let exps: Vec<i64> = row
        .iter()
        .map(|&x| i64::from(table[softmax_index(max, i64::from(x))]))
        .collect();
    let sum: i64 = exps.iter().sum();
    exps.iter().map(|&e| softmax_element(e, sum)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table the specs example uses: `exp(-d/16)` in units of 2^24.
    fn table() -> Vec<i32> {
        (0..SOFTMAX_TABLE_LEN)
            .map(|d| ((-(f64::from(d)) / 16.0).exp() * SOFTMAX_EXP_MAX as f64).round() as i32)
            .collect()
    }

    #[test]
    fn the_specs_worked_example() {
        // x = [16, 0, -16] at scale 1/16 is [1, 0, -1]: softmax [0.665, 0.245, 0.090].
        let t = table();
        assert_eq!(t[0], 16_777_216);
        assert_eq!(t[16], 6_171_993);
        assert_eq!(t[32], 2_270_549);
        assert_eq!(softmax_row(&[16, 0, -16], &t), Some(vec![84, 31, 11]));
    }

    #[test]
    fn a_uniform_row_and_a_certain_one() {
        let t = table();
        assert_eq!(softmax_row(&[5; 4], &t), Some(vec![32; 4])); // 127/4 = 31.75
        assert_eq!(softmax_row(&[127, -127], &t), Some(vec![127, 0]));
        assert_eq!(softmax_row(&[-3], &t), Some(vec![127]));
    }

    #[test]
    fn halves_round_up() {
        // e = 1, S = 254: 127/254 = 0.5 → 1; e = 1, S = 255: 0.498 → 0.
        assert_eq!(softmax_element(1, 254), Some(1));
        assert_eq!(softmax_element(1, 255), Some(0));
        assert_eq!(softmax_element(0, 0), None);
    }
}
