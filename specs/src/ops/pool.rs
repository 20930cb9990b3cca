//! Pooling windows over `[C, H, W]`.

use super::{I8_MAX, I8_MIN};
use crate::model::Window;

/// `floor(sum / n + 1/2)` for `n > 0`, exactly: `floor((2 * sum + n) / (2 * n))`.
pub fn round_div_half_up(sum: i64, n: i64) -> i64 {
    (2 * sum + n).div_euclid(2 * n)
}

/// The in-bounds `(row, col)` positions of output `(oy, ox)`'s window over an `h` x `w`
/// plane, row-major, and the full window size including padded positions.
pub fn window_positions(
    window: &Window,
    h: u32,
    w: u32,
    oy: u32,
    ox: u32,
) -> (Vec<(u32, u32)>, i64) {
    let [kh, kw] = window.kernel;
    let [sh, sw] = window.stride;
    let [pt, pl, _, _] = window.padding;
    let mut positions = Vec::with_capacity((kh * kw) as usize);
    for ky in 0..kh {
        for kx in 0..kw {
            let y = i64::from(oy) * i64::from(sh) + i64::from(ky) - i64::from(pt);
            let x = i64::from(ox) * i64::from(sw) + i64::from(kx) - i64::from(pl);
            if (0..i64::from(h)).contains(&y) && (0..i64::from(w)).contains(&x) {
                positions.push((y as u32, x as u32));
            }
        }
    }
    (positions, i64::from(kh) * i64::from(kw))
}

/// Max over the in-bounds values of one window (validation guarantees there is one).
pub fn max_pool_element(values: &[i8]) -> i8 {
    values.iter().copied().max().unwrap_or(I8_MIN as i8)
}

/// Rounded mean of one window: the sum over in-bounds values divided by `divisor`
/// (the full window size, or the in-bounds count), rounded half up.
pub fn avg_pool_element(values: &[i8], divisor: i64) -> i8 {
    let sum: i64 = values.iter().map(|&v| i64::from(v)).sum();
    round_div_half_up(sum, divisor).clamp(I8_MIN, I8_MAX) as i8
}

/// Rounded mean of one whole `H x W` plane.
pub fn global_avg_element(plane: &[i8]) -> i8 {
    avg_pool_element(plane, plane.len() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_rounds_half_up() {
        assert_eq!(round_div_half_up(3, 2), 2); // 1.5
        assert_eq!(round_div_half_up(-3, 2), -1); // -1.5
        assert_eq!(round_div_half_up(-5, 4), -1); // -1.25
        assert_eq!(round_div_half_up(-7, 4), -2); // -1.75
        assert_eq!(round_div_half_up(10, 4), 3); // 2.5
        assert_eq!(avg_pool_element(&[127, 127, 126, 127], 4), 127);
        assert_eq!(avg_pool_element(&[-127, -127, -127, -127], 4), -127);
    }

    #[test]
    fn windows_skip_padding() {
        let win = Window {
            kernel: [3, 3],
            stride: [1, 1],
            padding: [1, 1, 1, 1],
        };
        let (corner, full) = window_positions(&win, 4, 4, 0, 0);
        assert_eq!(corner, vec![(0, 0), (0, 1), (1, 0), (1, 1)]);
        assert_eq!(full, 9);
    }
}
