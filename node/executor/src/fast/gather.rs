//! Window taps as one gather: the im2col layout behind Conv2d, MaxPool2d and AvgPool2d.
//!
//! A window op reads, for each output position, `kh * kw` input positions (per channel),
//! some of them padding. Every tap's position in the example's flat input is fixed by the
//! geometry alone, so it is computed once, at construction, as an index list into the flat
//! input with one extra slot appended for padding. At run time one `gather` collects every
//! tap of every window of every example; the op is then a matmul (Conv2d) or a reduction
//! over the last axis (pools). burn's direct convolution and pooling kernels were 3 to 5
//! times slower on the digits CNN (ndarray backend, one thread).

use super::contract::{float_tensor, int_tensor};
use burn::tensor::{Device, Int, Tensor};
use verdict_specs::model::Window;

/// Most gathered elements held at once (64 MiB of `f32`); larger batches are gathered in parts.
const MAX_GATHERED: usize = 1 << 24;

/// Precomputed tap positions for one window geometry.
#[derive(Clone, Debug)]
pub(super) struct Taps {
    /// Positions into `[C * H * W + 1]` (the last slot is padding), in output order, `[1, taps]`.
    index: Tensor<2, Int>,
    /// Taps per example.
    len: usize,
    /// Flat input length per example (`C * H * W`); the padding slot is `input_len`.
    input_len: usize,
}

/// Output and tap order of a gather.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Order {
    /// `(oy, ox, c, i, j)`: one im2col row per output position, `C * kh * kw` taps.
    Im2col,
    /// `(i, j, c, oy, ox)`: tap-major, one block of `C * OH * OW` per tap, so a pool
    /// reduces `kh * kw` whole blocks element-wise (fast) rather than many short rows.
    TapMajor,
}

impl Taps {
    /// `kept[i * kw + j]` says whether kernel position `(i, j)` is gathered at all
    /// (`None`: every position); a convolution leaves out positions whose weights are all
    /// zero (a dilated kernel's holes), which add nothing to any sum.
    pub(super) fn new(
        [c, h, w]: [usize; 3],
        [oh, ow]: [usize; 2],
        window: &Window,
        order: Order,
        kept: Option<&[bool]>,
        device: &Device,
    ) -> Self {
        let [kh, kw] = window.kernel.map(|k| k as usize);
        let [sh, sw] = window.stride.map(|s| s as usize);
        let [pt, pl, _, _] = window.padding.map(|p| p as usize);
        let pad = (c * h * w) as i64;
        // The input position of tap (i, j) of output (oy, ox) in channel `ch`, or the pad slot.
        let tap = |ch: usize, oy: usize, ox: usize, i: usize, j: usize| -> i64 {
            let (y, x) = ((oy * sh + i).checked_sub(pt), (ox * sw + j).checked_sub(pl));
            match (y, x) {
                (Some(y), Some(x)) if y < h && x < w => ((ch * h + y) * w + x) as i64,
                _ => pad,
            }
        };
        let mut index = Vec::with_capacity(c * oh * ow * kh * kw);
        match order {
            Order::Im2col => {
                for oy in 0..oh {
                    for ox in 0..ow {
                        for ch in 0..c {
                            for i in 0..kh {
                                for j in 0..kw {
                                    if kept.is_none_or(|k| k[i * kw + j]) {
                                        index.push(tap(ch, oy, ox, i, j));
                                    }
                                }
                            }
                        }
                    }
                }
            }
            Order::TapMajor => {
                for i in 0..kh {
                    for j in 0..kw {
                        for ch in 0..c {
                            for oy in 0..oh {
                                for ox in 0..ow {
                                    index.push(tap(ch, oy, ox, i, j));
                                }
                            }
                        }
                    }
                }
            }
        }
        let len = index.len();
        Self {
            index: int_tensor(index, [1, len], device),
            len,
            input_len: c * h * w,
        }
    }

    /// Examples gathered at once, so that no gather holds more than [`MAX_GATHERED`] elements.
    pub(super) fn part_size(&self) -> usize {
        (MAX_GATHERED / self.len.max(1)).max(1)
    }

    /// Every tap of `x` (`[B, C * H * W]`, `f32`), padding read as `pad`: `[B, taps]`.
    pub(super) fn gather(&self, x: Tensor<2>, pad: f32) -> Tensor<2> {
        let [batch, n] = x.dims();
        debug_assert_eq!(n, self.input_len);
        let pad_column = float_tensor(vec![pad; batch], [batch, 1], &x.device());
        // `gather` reads element by element; `select` (one view per index) was 20x slower.
        let index = self.index.clone().expand([batch, self.len]);
        Tensor::cat(vec![x, pad_column], 1).gather(1, index)
    }
}

/// Runs `f` on parts of the batch of at most `part` examples and joins the results
/// along the batch axis (one part, without copies, in the common case).
pub(super) fn in_parts<K: burn::tensor::kind::Basic>(
    x: Tensor<2>,
    part: usize,
    mut f: impl FnMut(Tensor<2>) -> Tensor<2, K>,
) -> Tensor<2, K> {
    let batch = x.dims()[0];
    if batch <= part {
        return f(x);
    }
    let parts = (0..batch)
        .step_by(part)
        .map(|start| f(x.clone().slice_dim(0, start..(start + part).min(batch))))
        .collect();
    Tensor::cat(parts, 0)
}
