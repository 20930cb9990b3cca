//! MatMul and Conv2d: int8 contractions as chunked `f32` kernels.
//!
//! # Exactness
//!
//! An int8 x int8 product has `|p| <= 127 * 127 = 16129` (`MAX_PRODUCT`; -128 never
//! occurs). Any partial sum of at most [`CHUNK`] = 1024 such products has
//! `|s| <= 1024 * 16129 = 16_516_096 < 2^24 = 16_777_216`. Every integer of magnitude at
//! most 2^24 is exactly representable in `f32`, and IEEE arithmetic returns the exact
//! result whenever it is representable, so an `f32` kernel that sums at most 1024 products
//! computes the exact integer whatever its summation order, blocking, SIMD width, use of
//! FMA or split across threads. Hence every inner dimension is split into chunks of at
//! most 1024 products (MatMul: `K`; Conv2d: the `C * kh * kw` taps of its im2col rows), each chunk runs as one `f32` matmul or
//! convolution, each chunk result is converted to `i64` (exact: it is an integer below
//! 2^24), and the chunk sums and the bias are added in `i64`. Validation bounds the total
//! by `i32::MAX`, so nothing overflows.
//!
//! **Fast path.** When there is a single chunk and `K * 16129 + max|bias| < 2^24`, the
//! bias is added in `f32` too (by burn's bias add, or a broadcast add): both operands are
//! exact integers and so is their sum, whose magnitude is below 2^24, so the addition is
//! exact; the result stays in `f32` form (every element an exact integer below 2^24) and is
//! converted to `i64` only by the op that needs integers (Requantize). The property test
//! covers both paths (small biases and K <= 1024 take the fast one; biases near 2^24 and
//! K > 1024 the other).

use super::gather::{Order, Taps, in_parts};
use super::values::{Form, Values};
use crate::CHUNK;
use burn::tensor::{DType, Device, Int, IntDType, Tensor, TensorData};
use std::ops::Range;
use verdict_specs::Tensor as SpecTensor;
use verdict_specs::model::{ValueId, Window};
use verdict_specs::ops::MAX_PRODUCT;

/// `2^24`: integers of smaller magnitude are exact in `f32`.
pub(super) const F32_EXACT: i64 = 1 << 24;

/// One chunk of a weight: the inner-dimension range it covers and its `f32 [len, N]` slice
/// of the transposed weight.
#[derive(Clone, Debug)]
struct Chunk {
    range: Range<usize>,
    weight: Tensor<2>,
}

/// How the contraction accumulates: see the module docs.
#[derive(Clone, Debug)]
enum Accumulate {
    /// One chunk, total below 2^24: bias (`f32 [1, N]`) added in `f32`, result kept as `f32`.
    Float(Option<Tensor<2>>),
    /// Chunk results converted to `i64` and summed there with the bias (`i64 [1, N]`).
    Int(Option<Tensor<2, Int>>),
}

/// Whether a contraction of `inner` products with biases up to `max_bias` may take the fast path.
fn fits_f32(inner: usize, max_bias: i64) -> bool {
    inner <= CHUNK && (inner as i64) * MAX_PRODUCT + max_bias < F32_EXACT
}

pub(super) fn float_tensor<const D: usize>(
    values: Vec<f32>,
    shape: [usize; D],
    device: &Device,
) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values, shape), (device, DType::F32))
}

pub(super) fn int_tensor<const D: usize>(
    values: Vec<i64>,
    shape: [usize; D],
    device: &Device,
) -> Tensor<D, Int> {
    Tensor::from_data(TensorData::new(values, shape), (device, DType::I64))
}

/// Rows `[R, K]` times an int8 weight `[N, K]` (one row per output) transposed, plus an
/// `i32` bias: the exact core of MatMul and Conv2d.
#[derive(Clone, Debug)]
struct Contraction {
    chunks: Vec<Chunk>,
    accumulate: Accumulate,
}

impl Contraction {
    fn new(weight: &SpecTensor, bias: Option<&SpecTensor>, device: &Device) -> Self {
        let w = weight
            .as_i8()
            .expect("validation fixed the weight type as i8");
        let n = weight.shape()[0] as usize;
        let k = w.len() / n;
        let chunks = (0..k)
            .step_by(CHUNK)
            .map(|start| {
                let range = start..(start + CHUNK).min(k);
                let mut data = Vec::with_capacity(range.len() * n);
                for kk in range.clone() {
                    data.extend((0..n).map(|j| f32::from(w[j * k + kk])));
                }
                let weight = float_tensor(data, [range.len(), n], device);
                Chunk { range, weight }
            })
            .collect();
        let bias = bias.map(|b| b.as_i32().expect("validation fixed the bias type as i32"));
        let max_bias = bias.map_or(0, |b| {
            b.iter().map(|&v| i64::from(v).abs()).max().unwrap_or(0)
        });
        let accumulate = if fits_f32(k, max_bias) {
            Accumulate::Float(
                bias.map(|b| float_tensor(b.iter().map(|&v| v as f32).collect(), [1, n], device)),
            )
        } else {
            Accumulate::Int(
                bias.map(|b| int_tensor(b.iter().map(|&v| i64::from(v)).collect(), [1, n], device)),
            )
        };
        Self { chunks, accumulate }
    }

    /// Whether results come as `f32` ([`Contraction::float`]) or `i64` ([`Contraction::int`]).
    fn is_float(&self) -> bool {
        matches!(self.accumulate, Accumulate::Float(_))
    }

    /// `[R, K]` to `[R, N]` on the fast path: one exact `f32` matmul and bias add.
    fn float(&self, rows: Tensor<2>) -> Tensor<2> {
        let Accumulate::Float(bias) = &self.accumulate else {
            unreachable!("callers check is_float")
        };
        let y = rows.matmul(self.chunks[0].weight.clone());
        match bias {
            Some(b) => y.add(b.clone()),
            None => y,
        }
    }

    /// `[R, K]` to `[R, N]` with chunk sums and the bias added in `i64`.
    fn int(&self, rows: Tensor<2>) -> Tensor<2, Int> {
        let Accumulate::Int(bias) = &self.accumulate else {
            unreachable!("callers check is_float")
        };
        let single = self.chunks.len() == 1;
        let acc = self
            .chunks
            .iter()
            .map(|c| {
                let part = if single {
                    rows.clone()
                } else {
                    rows.clone().slice_dim(1, c.range.clone())
                };
                part.matmul(c.weight.clone()).cast(IntDType::I64)
            })
            .reduce(|acc, part| acc.add(part))
            .expect("a contraction has at least one chunk");
        match bias {
            Some(b) => acc.add(b.clone()),
            None => acc,
        }
    }
}

/// `i8 [.., K]` times `weight i8 [N, K]` transposed, plus `bias i32 [N]`.
#[derive(Clone, Debug)]
pub(super) struct MatMul {
    input: ValueId,
    k: usize,
    n: usize,
    contraction: Contraction,
}

impl MatMul {
    pub(super) fn new(
        input: ValueId,
        weight: &SpecTensor,
        bias: Option<&SpecTensor>,
        device: &Device,
    ) -> Self {
        Self {
            input,
            k: weight.shape()[1] as usize,
            n: weight.shape()[0] as usize,
            contraction: Contraction::new(weight, bias, device),
        }
    }

    pub(super) fn run(&self, values: &mut Values<'_>, batch: usize) -> Form {
        let x = values.float(self.input);
        let rows = x.dims()[1] / self.k * batch;
        let x = x.reshape([rows, self.k]);
        let out_shape = [batch, rows / batch * self.n];
        if self.contraction.is_float() {
            Form::Float(self.contraction.float(x).reshape(out_shape))
        } else {
            Form::Int(self.contraction.int(x).reshape(out_shape))
        }
    }
}

/// The kernel positions `(i, j)` whose weights are not all zero (over every output and
/// input channel) and the weight with only those, `[O, C * kept]`; `None` and the weight
/// itself when every position counts. A dilated convolution arrives with zeros between
/// its taps (the importer's exact rewrite): leaving them out of im2col and the product
/// changes no sum, only the work.
fn without_zero_taps(weight: &SpecTensor) -> (Option<Vec<bool>>, SpecTensor) {
    let w = weight
        .as_i8()
        .expect("validation fixed the weight type as i8");
    let s = weight.shape();
    let (o, c, kh, kw) = (s[0] as usize, s[1] as usize, s[2] as usize, s[3] as usize);
    let positions = kh * kw;
    let kept: Vec<bool> = (0..positions)
        .map(|p| (0..o * c).any(|oc| w[oc * positions + p] != 0))
        .collect();
    let count = kept.iter().filter(|&&k| k).count();
    if count == positions || count == 0 {
        return (None, weight.clone());
    }
    let data: Vec<i8> = (0..o * c)
        .flat_map(|oc| {
            let kept = &kept;
            (0..positions)
                .filter(move |&p| kept[p])
                .map(move |p| w[oc * positions + p])
        })
        .collect();
    let pruned = SpecTensor::from_i8(vec![o as u32, (c * count) as u32], data)
        .expect("a smaller weight of the same type");
    (Some(kept), pruned)
}

/// `i8 [C, H, W]` with `weight i8 [O, C, kh, kw]` and `bias i32 [O]`, zero padding:
/// the taps gathered im2col-style (see [`super::gather`]), then the contraction of
/// `[B * OH * OW, C * kh * kw]` rows by the weight as `[O, C * kh * kw]`, as MatMul does.
#[derive(Clone, Debug)]
pub(super) struct Conv2d {
    input: ValueId,
    /// Output `[O, OH, OW]`.
    out: [usize; 3],
    /// Taps per output position, `C * kh * kw`.
    k: usize,
    taps: Taps,
    contraction: Contraction,
}

impl Conv2d {
    pub(super) fn new(
        input: ValueId,
        in_shape: &[u32],
        out_shape: &[u32],
        weight: &SpecTensor,
        bias: Option<&SpecTensor>,
        window: &Window,
        device: &Device,
    ) -> Self {
        let dims = |s: &[u32]| [s[0] as usize, s[1] as usize, s[2] as usize];
        let out = dims(out_shape);
        let (kept, weight) = without_zero_taps(weight);
        Self {
            input,
            out,
            // One output channel's weights, `[C, kh, kw]` flattened (the kept positions
            // only), are one row.
            k: weight.len() / out[0],
            taps: Taps::new(
                dims(in_shape),
                [out[1], out[2]],
                window,
                Order::Im2col,
                kept.as_deref(),
                device,
            ),
            contraction: Contraction::new(&weight, bias, device),
        }
    }

    pub(super) fn run(&self, values: &mut Values<'_>) -> Form {
        let x = values.float(self.input);
        let part = self.taps.part_size();
        if self.contraction.is_float() {
            Form::Float(in_parts(x, part, |x| {
                self.to_channels_first(self.contraction.float(self.im2col(x)))
            }))
        } else {
            Form::Int(in_parts(x, part, |x| {
                self.to_channels_first(self.contraction.int(self.im2col(x)))
            }))
        }
    }

    /// `[B, C * H * W]` to `[B * OH * OW, C * kh * kw]`.
    fn im2col(&self, x: Tensor<2>) -> Tensor<2> {
        let batch = x.dims()[0];
        let [_, oh, ow] = self.out;
        self.taps.gather(x, 0.0).reshape([batch * oh * ow, self.k])
    }

    /// `[B * OH * OW, O]` to the value layout `[B, O * OH * OW]`.
    fn to_channels_first<K: burn::tensor::kind::Basic>(&self, y: Tensor<2, K>) -> Tensor<2, K> {
        let [o, oh, ow] = self.out;
        let batch = y.dims()[0] / (oh * ow);
        y.reshape([batch, oh * ow, o])
            .swap_dims(1, 2)
            .reshape([batch, o * oh * ow])
    }
}
