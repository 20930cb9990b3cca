//! The reference interpreter: the definition of what a model computes.
//!
//! Every output element is computed by the element functions of [`crate::ops`], in
//! plain loops, one example at a time. It is slow on purpose and easy to check;
//! every faster executor must match it bit for bit.

use crate::model::{Model, Op, Requant, ValueType, Window};
use crate::ops;
use crate::tensor::{DType, Tensor, TensorData};
use thiserror::Error;

/// Why an input was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InputError {
    /// Wrong element type.
    #[error("input must be {expected}, got {actual}")]
    DType {
        /// The model's input dtype.
        expected: DType,
        /// The dtype given.
        actual: DType,
    },
    /// Wrong shape.
    #[error("input shape {actual:?} does not match the model's {expected:?}")]
    Shape {
        /// The model's input shape.
        expected: Vec<u32>,
        /// The shape given.
        actual: Vec<u32>,
    },
    /// A value outside `[-127, 127]` (i8) or `[-(2^31 - 1), 2^31 - 1]` (i32): the most
    /// negative value of the type never occurs, so negation never overflows.
    #[error("input element {index} is {value}, the one value outside the symmetric {dtype} range")]
    Range {
        /// Flat index.
        index: usize,
        /// The value.
        value: i64,
        /// The input's dtype.
        dtype: DType,
    },
}

/// Checks an input tensor against the model's input spec.
pub fn check_input(model: &Model, input: &Tensor) -> Result<(), InputError> {
    let spec = &model.graph().input;
    if input.dtype() != spec.dtype {
        return Err(InputError::DType {
            expected: spec.dtype,
            actual: input.dtype(),
        });
    }
    if input.shape() != spec.shape.as_slice() {
        return Err(InputError::Shape {
            expected: spec.shape.clone(),
            actual: input.shape().to_vec(),
        });
    }
    let most_negative = match input.data() {
        TensorData::I8(v) => v
            .iter()
            .position(|&x| x == i8::MIN)
            .map(|i| (i, i8::MIN.into())),
        TensorData::I32(v) => v
            .iter()
            .position(|&x| x == i32::MIN)
            .map(|i| (i, i32::MIN.into())),
    };
    match most_negative {
        Some((index, value)) => Err(InputError::Range {
            index,
            value,
            dtype: spec.dtype,
        }),
        None => Ok(()),
    }
}

/// Runs the model and returns every value: index 0 the input, index `i + 1` node `i`'s output.
pub fn trace(model: &Model, input: &Tensor) -> Result<Vec<Tensor>, InputError> {
    trace_with(model, input, |_, _| {})
}

/// [`trace`], letting `alter(node, output)` change each node's output before later nodes
/// read it. Fault injection uses it to make a sequencer whose wrong intermediate value
/// flows on to the output; `alter` must keep the output's dtype and shape.
pub fn trace_with(
    model: &Model,
    input: &Tensor,
    mut alter: impl FnMut(usize, &mut Tensor),
) -> Result<Vec<Tensor>, InputError> {
    check_input(model, input)?;
    let mut values: Vec<Tensor> = vec![input.clone()];
    for (node, op) in model.graph().nodes.iter().enumerate() {
        let out_type = &model.value_types()[node + 1];
        let mut out = eval(model, op, &values, out_type);
        alter(node, &mut out);
        values.push(out);
    }
    Ok(values)
}

/// Runs the model and returns its output.
pub fn run(model: &Model, input: &Tensor) -> Result<Tensor, InputError> {
    let mut values = trace(model, input)?;
    Ok(values.pop().expect("a valid graph has at least one node"))
}

fn i8s(t: &Tensor) -> &[i8] {
    t.as_i8().expect("validation fixed this value's type as i8")
}

fn i32s(t: &Tensor) -> &[i32] {
    t.as_i32()
        .expect("validation fixed this value's type as i32")
}

/// The output of an op that only moves elements: element `j` is input element `source(j)`.
fn gather(x: &Tensor, out: &ValueType, source: impl Fn(usize) -> usize) -> Tensor {
    let count: usize = out.shape.iter().map(|&d| d as usize).product();
    let data = match x.data() {
        TensorData::I8(v) => TensorData::I8((0..count).map(|j| v[source(j)]).collect()),
        TensorData::I32(v) => TensorData::I32((0..count).map(|j| v[source(j)]).collect()),
    };
    tensor(out, data)
}

/// A Concat's elements: element `j` is element `i` of part `p` where `source(j) = (p, i)`.
fn join<T: Copy>(
    a: &[T],
    b: &[T],
    count: usize,
    source: impl Fn(usize) -> (usize, usize),
) -> Vec<T> {
    (0..count)
        .map(|j| match source(j) {
            (0, i) => a[i],
            (_, i) => b[i],
        })
        .collect()
}

fn tensor(ty: &ValueType, data: TensorData) -> Tensor {
    Tensor::new(ty.shape.clone(), data).expect("validation fixed this value's shape")
}

fn eval(model: &Model, op: &Op, values: &[Tensor], out: &ValueType) -> Tensor {
    let value = |id: u32| &values[id as usize];
    let weight = |id: u32| &model.weights()[id as usize];
    match op {
        Op::MatMul {
            input,
            weight: w,
            bias,
        } => {
            let x = value(*input);
            let w = weight(*w);
            let k = *x.shape().last().expect("rank >= 1") as usize;
            let n = w.shape()[0] as usize;
            let bias = bias.map(|b| i32s(weight(b)));
            let rows = x.len() / k;
            let mut data = Vec::with_capacity(rows * n);
            for row in 0..rows {
                let x_row = &i8s(x)[row * k..(row + 1) * k];
                for j in 0..n {
                    let w_row = &i8s(w)[j * k..(j + 1) * k];
                    data.push(ops::dot_element(x_row, w_row, bias.map_or(0, |b| b[j])));
                }
            }
            tensor(out, TensorData::I32(data))
        }
        Op::Conv2d {
            input,
            weight: w,
            bias,
            stride,
            padding,
        } => {
            let x = value(*input);
            let w = weight(*w);
            let [c, h, wd] = [x.shape()[0], x.shape()[1], x.shape()[2]];
            let [o, _, kh, kw] = [w.shape()[0], w.shape()[1], w.shape()[2], w.shape()[3]];
            let [oh, ow] = [out.shape[1], out.shape[2]];
            let window = Window {
                kernel: [kh, kw],
                stride: *stride,
                padding: *padding,
            };
            let bias = bias.map(|b| i32s(weight(b)));
            let (xs, ws) = (i8s(x), i8s(w));
            let mut data = Vec::with_capacity((o * oh * ow) as usize);
            for oc in 0..o {
                for oy in 0..oh {
                    for ox in 0..ow {
                        data.push(conv_element(
                            xs,
                            ws,
                            [c, h, wd],
                            [kh, kw],
                            &window,
                            oc,
                            oy,
                            ox,
                            bias,
                        ));
                    }
                }
            }
            tensor(out, TensorData::I32(data))
        }
        Op::Requantize {
            input,
            axis,
            params,
        } => {
            let x = value(*input);
            let shape = x.shape();
            let inner: usize = shape[*axis as usize + 1..]
                .iter()
                .map(|&d| d as usize)
                .product();
            let channels = shape[*axis as usize] as usize;
            let data = i32s(x)
                .iter()
                .enumerate()
                .map(|(i, &v)| ops::requantize(v, channel_param(params, (i / inner) % channels)))
                .collect();
            tensor(out, TensorData::I8(data))
        }
        Op::Relu { input } => match value(*input).data() {
            TensorData::I8(v) => tensor(out, TensorData::I8(v.iter().map(|&x| x.max(0)).collect())),
            TensorData::I32(v) => {
                tensor(out, TensorData::I32(v.iter().map(|&x| x.max(0)).collect()))
            }
        },
        Op::Add {
            a,
            b,
            a_multiplier,
            b_multiplier,
            shift,
        } => {
            let data = i8s(value(*a))
                .iter()
                .zip(i8s(value(*b)))
                .map(|(&x, &y)| ops::add_element(x, y, *a_multiplier, *b_multiplier, *shift))
                .collect();
            tensor(out, TensorData::I8(data))
        }
        Op::Mul {
            a,
            b,
            multiplier,
            shift,
        } => {
            let (ta, tb) = (value(*a), value(*b));
            let (xs, ys) = (i8s(ta), i8s(tb));
            let data = xs
                .iter()
                .enumerate()
                .map(|(j, &x)| {
                    let y = ys[ops::broadcast_source(j, ta.shape(), tb.shape())];
                    ops::mul_element(x, y, *multiplier, *shift)
                })
                .collect();
            tensor(out, TensorData::I8(data))
        }
        Op::Transpose { input, perm } => {
            let x = value(*input);
            gather(x, out, |j| ops::transpose_source(j, x.shape(), perm))
        }
        Op::Slice { input, start, .. } => {
            let x = value(*input);
            gather(x, out, |j| {
                ops::slice_source(j, x.shape(), start, &out.shape)
            })
        }
        Op::Concat { a, b, axis } => {
            let (ta, tb) = (value(*a), value(*b));
            let count: usize = out.shape.iter().map(|&d| d as usize).product();
            let source = |j| ops::concat_source(j, ta.shape(), tb.shape(), *axis as usize);
            let data = match (ta.data(), tb.data()) {
                (TensorData::I8(xa), TensorData::I8(xb)) => {
                    TensorData::I8(join(xa, xb, count, source))
                }
                (TensorData::I32(xa), TensorData::I32(xb)) => {
                    TensorData::I32(join(xa, xb, count, source))
                }
                _ => unreachable!("validation: both parts have one type"),
            };
            tensor(out, data)
        }
        Op::Softmax { input, table } => {
            let table = i32s(weight(*table));
            let x = value(*input);
            let n = *x.shape().last().expect("rank >= 1") as usize;
            let data = i8s(x)
                .chunks(n)
                .flat_map(|row| ops::softmax_row(row, table).expect("validation keeps S >= 1"))
                .collect();
            tensor(out, TensorData::I8(data))
        }
        Op::MaxPool2d { input, window } => pool(value(*input), window, out, |vals, _| {
            ops::max_pool_element(vals)
        }),
        Op::AvgPool2d {
            input,
            window,
            count_include_pad,
        } => pool(value(*input), window, out, |vals, full| {
            let divisor = if *count_include_pad {
                full
            } else {
                vals.len() as i64
            };
            ops::avg_pool_element(vals, divisor)
        }),
        Op::GlobalAvgPool { input } => {
            let x = value(*input);
            let plane = (x.shape()[1] * x.shape()[2]) as usize;
            let data = i8s(x).chunks(plane).map(ops::global_avg_element).collect();
            tensor(out, TensorData::I8(data))
        }
        Op::Reshape { input, .. } => tensor(out, value(*input).data().clone()),
        Op::ArgMax { input } => {
            let x = value(*input);
            let k = *x.shape().last().expect("rank >= 1") as usize;
            let widened: Vec<i64> = (0..x.len()).filter_map(|i| x.data().get(i)).collect();
            let data = widened
                .chunks(k)
                .map(|row| ops::argmax(row).expect("rows are non-empty") as i32)
                .collect();
            tensor(out, TensorData::I32(data))
        }
        Op::Table { input, table } => {
            let table = i8s(weight(*table));
            let data = i8s(value(*input))
                .iter()
                .map(|&x| ops::table_element(x, table))
                .collect();
            tensor(out, TensorData::I8(data))
        }
        Op::TreeEnsemble {
            input,
            nodes,
            leaves,
            roots,
        } => {
            let x = value(*input);
            let rows = i32s(weight(*nodes));
            let leaf_values = i32s(weight(*leaves));
            let roots = i32s(weight(*roots));
            let targets = out.shape[0] as usize;
            let mut src = WholeTree { rows, x };
            let leaf_of: Vec<usize> = roots
                .iter()
                .map(|&root| {
                    ops::walk_tree(i64::from(root), &mut src).expect("validation bounds every walk")
                })
                .collect();
            let data = (0..targets)
                .flat_map(|j| leaf_of.iter().map(move |&leaf| leaf * targets + j))
                .map(|at| leaf_values[at])
                .collect();
            tensor(out, TensorData::I32(data))
        }
        Op::ReduceSum { input, axis } => {
            let x = value(*input);
            let data = (0..out.shape.iter().map(|&d| d as usize).product())
                .map(|j| {
                    ops::sum_element(
                        ops::reduce_positions(x.shape(), *axis as usize, j)
                            .map(|i| x.data().get(i).expect("positions are in range")),
                    )
                })
                .collect();
            tensor(out, TensorData::I32(data))
        }
        Op::LabelLookup { input, labels } => {
            let table = i32s(weight(*labels));
            let data = i32s(value(*input))
                .iter()
                .map(|&i| table[i as usize])
                .collect();
            tensor(out, TensorData::I32(data))
        }
    }
}

/// A tree walk over whole, validated tensors.
struct WholeTree<'a> {
    rows: &'a [i32],
    x: &'a Tensor,
}

impl ops::TreeSource for WholeTree<'_> {
    type Error = std::convert::Infallible;
    fn node(&mut self, i: usize) -> Result<ops::TreeNode, Self::Error> {
        Ok(ops::TreeNode::row(self.rows, i).expect("validation bounds every row"))
    }
    fn feature(&mut self, f: usize) -> Result<i64, Self::Error> {
        Ok(self.x.data().get(f).expect("validation bounds features"))
    }
}

/// The requantization parameters of channel `c` (one shared entry, or one per channel).
pub fn channel_param(params: &[Requant], c: usize) -> Requant {
    if params.len() == 1 {
        params[0]
    } else {
        params[c]
    }
}

/// One Conv2d output element `(oc, oy, ox)`: bias plus the dot product of the filter with
/// the in-bounds part of its window (padded positions are zero and contribute nothing).
#[allow(clippy::too_many_arguments)]
pub fn conv_element(
    x: &[i8],
    w: &[i8],
    [c, h, wd]: [u32; 3],
    [kh, kw]: [u32; 2],
    window: &Window,
    oc: u32,
    oy: u32,
    ox: u32,
    bias: Option<&[i32]>,
) -> i32 {
    let (positions, _) = crate::ops::window_positions(window, h, wd, oy, ox);
    let [_, pl] = [window.padding[0], window.padding[1]];
    let mut sum = i64::from(bias.map_or(0, |b| b[oc as usize]));
    for ic in 0..c {
        for &(y, xx) in &positions {
            let ky = y + window.padding[0] - oy * window.stride[0];
            let kx = xx + pl - ox * window.stride[1];
            let xv = x[((ic * h + y) * wd + xx) as usize];
            let wv = w[(((oc * c + ic) * kh + ky) * kw + kx) as usize];
            sum += i64::from(xv) * i64::from(wv);
        }
    }
    sum as i32
}

fn pool(
    x: &Tensor,
    window: &Window,
    out: &ValueType,
    element: impl Fn(&[i8], i64) -> i8,
) -> Tensor {
    let [c, h, w] = [x.shape()[0], x.shape()[1], x.shape()[2]];
    let [oh, ow] = [out.shape[1], out.shape[2]];
    let xs = i8s(x);
    let mut data = Vec::with_capacity((c * oh * ow) as usize);
    let mut vals = Vec::new();
    for ch in 0..c {
        for oy in 0..oh {
            for ox in 0..ow {
                let (positions, full) = ops::window_positions(window, h, w, oy, ox);
                vals.clear();
                vals.extend(
                    positions
                        .iter()
                        .map(|&(y, xx)| xs[((ch * h + y) * w + xx) as usize]),
                );
                data.push(element(&vals, full));
            }
        }
    }
    tensor(out, TensorData::I8(data))
}
