//! One-step verification (`specs/game.md` §3): recompute one element of node `k`'s output
//! from openings of the agreed state `S_k` and of the registered weights, and compare it
//! with the defender's claim. `contracts/src/OneStepVerifier.sol` mirrors [`verify`];
//! [`prove`] builds the defender's witness.

use super::opening::{ChunkOpening, OpeningError, chunk_count, data_depth, open_elements};
use super::trace::{Trace, root_from, value_leaf};
use crate::encoding::Reader;
use crate::hash::{Hash, keccak};
use crate::interpreter::channel_param;
use crate::merkle::MerkleProof;
use crate::model::{Graph, Model, Op, ValueType, Window, decode_graph, encode_graph};
use crate::ops;
use crate::tensor::{DType, Shape, Tensor, commitment_from_root, element_count};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use thiserror::Error;

/// A tensor's type and data root: what its commitment hashes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorHeader {
    /// Element type.
    pub dtype: DType,
    /// Shape.
    pub shape: Shape,
    /// Merkle root over the element chunks.
    #[serde(with = "crate::hash::serde_hex")]
    pub data_root: Hash,
}

impl TensorHeader {
    /// The header of `tensor`.
    pub fn of(tensor: &Tensor) -> Self {
        Self {
            dtype: tensor.dtype(),
            shape: tensor.shape().to_vec(),
            data_root: tensor.data_root(),
        }
    }

    /// The tensor commitment.
    pub fn commitment(&self) -> Hash {
        commitment_from_root(self.dtype, &self.shape, &self.data_root)
    }

    /// Element count, if the shape is allowed.
    pub fn count(&self) -> Option<usize> {
        element_count(&self.shape)
    }

    fn value_type(&self) -> ValueType {
        ValueType {
            dtype: self.dtype,
            shape: self.shape.clone(),
        }
    }
}

/// One input value or weight, opened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorOpening {
    /// Value id (inputs) or weight id (weights).
    pub id: u32,
    /// Its header.
    pub header: TensorHeader,
    /// Leaf proof: against `S_k` (inputs, `D` siblings) or the weights root (weights).
    #[serde(with = "crate::merkle::hash_list")]
    pub proof: Vec<Hash>,
    /// The chunks the element reads.
    pub chunks: ChunkOpening,
}

/// The defender's witness for one step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OneStepProof {
    /// Canonical graph bytes.
    #[serde(with = "hex_bytes")]
    pub graph: Vec<u8>,
    /// The node's inputs, in [`Op::inputs`] order.
    pub inputs: Vec<TensorOpening>,
    /// The node's weights, in [`Op::weights`] order.
    pub weights: Vec<TensorOpening>,
    /// The claimed output's header.
    pub output: TensorHeader,
    /// The output chunk holding the named element.
    pub output_chunks: ChunkOpening,
}

/// What the verifier knows independently of the defender.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepContext {
    /// The registered graph hash.
    #[serde(with = "crate::hash::serde_hex")]
    pub graph_hash: Hash,
    /// The registered weights root.
    #[serde(with = "crate::hash::serde_hex")]
    pub weights_root: Hash,
    /// The registered node count `n`.
    pub op_count: u64,
    /// The step `k`: node `k` is in dispute, its output is value `k + 1`.
    pub step: u64,
    /// The agreed `S_k`.
    #[serde(with = "crate::hash::serde_hex")]
    pub pre_state: Hash,
    /// Depth `D` of the state tree.
    pub state_depth: u64,
    /// The revealed commitment of the claimed output.
    #[serde(with = "crate::hash::serde_hex")]
    pub output_commitment: Hash,
    /// The element the challenger named.
    pub element: u64,
}

/// Why a proof is malformed (the contract reverts with the same cases).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum OneStepError {
    /// A Softmax row's exp entries sum to 0 (a valid model's never do: entry 0 is >= 1).
    #[error("the Softmax row's exp entries sum to 0")]
    SoftmaxSum,
    /// `keccak(graph)` is not the registered graph hash.
    #[error("the graph bytes do not hash to the registered graph hash")]
    GraphHash,
    /// The graph does not decode, or its node count is not `n`.
    #[error("the graph does not decode to {0} nodes")]
    Graph(u64),
    /// The step is not below `n`.
    #[error("step {0} is beyond the graph")]
    Step(u64),
    /// The proof has the wrong number of inputs or weights.
    #[error("node {step} needs {inputs} inputs and {weights} weights")]
    Arity {
        /// The step.
        step: u64,
        /// Inputs the op reads.
        inputs: usize,
        /// Weights the op reads.
        weights: usize,
    },
    /// An opening names another value or weight than the op reads.
    #[error("opening {slot} names id {got}, the op reads {expected}")]
    WrongId {
        /// Position among the openings.
        slot: usize,
        /// Id given.
        got: u32,
        /// Id the op reads.
        expected: u32,
    },
    /// A header's shape is not allowed.
    #[error("a header has a shape that is not allowed")]
    Shape,
    /// A value's leaf proof does not lead to `S_k`.
    #[error("value {0} is not in the agreed state")]
    NotInState(u32),
    /// A weight's leaf proof does not lead to the weights root.
    #[error("weight {0} is not under the registered weights root")]
    NotInWeights(u32),
    /// Chunks do not open against a header's data root.
    #[error("chunks of {what} do not open: {error}")]
    Chunks {
        /// Which tensor.
        what: &'static str,
        /// Why.
        error: OpeningError,
    },
    /// The output header is not the revealed commitment.
    #[error("the output header is not the revealed commitment")]
    OutputCommitment,
    /// The named element is beyond the output.
    #[error("element {0} is beyond the output")]
    Element(u64),
    /// An element the op reads is not in the opened chunks.
    #[error("element {index} of {what} is not opened")]
    Missing {
        /// Which tensor.
        what: &'static str,
        /// Its flat index.
        index: usize,
    },
    /// The opened inputs or weights do not have the types the op takes.
    #[error("the opened operands do not fit node {0}")]
    Operands(u64),
    /// A tree walk points backwards, takes more than `MAX_TREE_DEPTH` comparisons, or
    /// names a row, feature or leaf beyond its tensor (weights no valid model has).
    #[error(
        "a tree walk does not reach a leaf within {} forward steps",
        ops::MAX_TREE_DEPTH
    )]
    TreeWalk,
}

/// Checks `proof` against `ctx`: `Ok(true)` when the claimed element and output type hold,
/// `Ok(false)` when they do not, an error when the proof itself is malformed.
pub fn verify(ctx: &StepContext, proof: &OneStepProof) -> Result<bool, OneStepError> {
    if keccak(&[&proof.graph]) != ctx.graph_hash {
        return Err(OneStepError::GraphHash);
    }
    let graph = decode_graph_bytes(&proof.graph).ok_or(OneStepError::Graph(ctx.op_count))?;
    if graph.nodes.len() as u64 != ctx.op_count {
        return Err(OneStepError::Graph(ctx.op_count));
    }
    let op = graph
        .nodes
        .get(ctx.step as usize)
        .filter(|_| ctx.step < ctx.op_count)
        .ok_or(OneStepError::Step(ctx.step))?;
    let (input_ids, weight_ids) = (op.inputs(), op.weights());
    if proof.inputs.len() != input_ids.len() || proof.weights.len() != weight_ids.len() {
        return Err(OneStepError::Arity {
            step: ctx.step,
            inputs: input_ids.len(),
            weights: weight_ids.len(),
        });
    }
    for (slot, (opening, &id)) in proof.inputs.iter().zip(&input_ids).enumerate() {
        check_id(slot, opening.id, id)?;
        let leaf = value_leaf(&opening.header.commitment());
        if opening.proof.len() as u64 != ctx.state_depth
            || root_from(leaf, id as usize, &opening.proof) != ctx.pre_state
        {
            return Err(OneStepError::NotInState(id));
        }
        check_chunks("an input", &opening.header, &opening.chunks)?;
    }
    for (slot, (opening, &id)) in proof.weights.iter().zip(&weight_ids).enumerate() {
        check_id(slot, opening.id, id)?;
        let leaf = value_leaf(&opening.header.commitment());
        let path = MerkleProof {
            index: u64::from(id),
            siblings: opening.proof.clone(),
        };
        if !path.verify(leaf, &ctx.weights_root) {
            return Err(OneStepError::NotInWeights(id));
        }
        check_chunks("a weight", &opening.header, &opening.chunks)?;
    }
    if proof.output.commitment() != ctx.output_commitment {
        return Err(OneStepError::OutputCommitment);
    }
    let count = proof.output.count().ok_or(OneStepError::Shape)?;
    if ctx.element >= count as u64 {
        return Err(OneStepError::Element(ctx.element));
    }
    check_chunks("the output", &proof.output, &proof.output_chunks)?;
    let j = ctx.element as usize;
    let claimed =
        proof
            .output_chunks
            .element(proof.output.dtype, j)
            .ok_or(OneStepError::Missing {
                what: "the output",
                index: j,
            })?;

    let inputs: Vec<ValueType> = proof.inputs.iter().map(|o| o.header.value_type()).collect();
    let weights: Vec<ValueType> = proof
        .weights
        .iter()
        .map(|o| o.header.value_type())
        .collect();
    let expected = expected_type(op, &inputs, &weights).ok_or(OneStepError::Operands(ctx.step))?;
    if expected != proof.output.value_type() {
        return Ok(false);
    }
    let mut source = Opened(proof);
    let recomputed = element(op, &inputs, &weights, &expected, j, &mut source)?;
    Ok(recomputed == claimed)
}

fn decode_graph_bytes(bytes: &[u8]) -> Option<Graph> {
    let mut r = Reader::new(bytes);
    let graph = decode_graph(&mut r).ok()?;
    r.finish().ok()?;
    Some(graph)
}

fn check_id(slot: usize, got: u32, expected: u32) -> Result<(), OneStepError> {
    if got == expected {
        Ok(())
    } else {
        Err(OneStepError::WrongId {
            slot,
            got,
            expected,
        })
    }
}

fn check_chunks(
    what: &'static str,
    header: &TensorHeader,
    chunks: &ChunkOpening,
) -> Result<(), OneStepError> {
    let count = header.count().ok_or(OneStepError::Shape)?;
    let depth = data_depth(chunk_count(header.dtype, count));
    chunks
        .verify(&header.data_root, depth)
        .map_err(|error| OneStepError::Chunks { what, error })
}

/// Where element values come from: opened chunks (verifier) or whole tensors (prover).
trait Elements {
    fn input(&mut self, slot: usize, dtype: DType, index: usize) -> Result<i64, OneStepError>;
    fn weight(&mut self, slot: usize, dtype: DType, index: usize) -> Result<i64, OneStepError>;
}

struct Opened<'a>(&'a OneStepProof);

impl Elements for Opened<'_> {
    fn input(&mut self, slot: usize, dtype: DType, index: usize) -> Result<i64, OneStepError> {
        self.0.inputs[slot]
            .chunks
            .element(dtype, index)
            .ok_or(OneStepError::Missing {
                what: "an input",
                index,
            })
    }
    fn weight(&mut self, slot: usize, dtype: DType, index: usize) -> Result<i64, OneStepError> {
        self.0.weights[slot]
            .chunks
            .element(dtype, index)
            .ok_or(OneStepError::Missing {
                what: "a weight",
                index,
            })
    }
}

/// Whole tensors that remember which elements were read, so the prover opens exactly those.
struct Recorder<'a> {
    inputs: Vec<&'a Tensor>,
    weights: Vec<&'a Tensor>,
    read_inputs: BTreeMap<usize, Vec<usize>>,
    read_weights: BTreeMap<usize, Vec<usize>>,
}

impl Elements for Recorder<'_> {
    fn input(&mut self, slot: usize, _: DType, index: usize) -> Result<i64, OneStepError> {
        self.read_inputs.entry(slot).or_default().push(index);
        self.inputs[slot]
            .data()
            .get(index)
            .ok_or(OneStepError::Missing {
                what: "an input",
                index,
            })
    }
    fn weight(&mut self, slot: usize, _: DType, index: usize) -> Result<i64, OneStepError> {
        self.read_weights.entry(slot).or_default().push(index);
        self.weights[slot]
            .data()
            .get(index)
            .ok_or(OneStepError::Missing {
                what: "a weight",
                index,
            })
    }
}

/// The output type of `op` on operands of these types, as validation infers it; `None`
/// when the operands do not fit the op.
pub fn expected_type(op: &Op, inputs: &[ValueType], weights: &[ValueType]) -> Option<ValueType> {
    let ty = |dtype, shape: Vec<u32>| Some(ValueType { dtype, shape });
    let x = inputs.first()?;
    let is = |t: &ValueType, d: DType| t.dtype == d;
    let bias_fits = |n: u32| match weights.get(1) {
        None => true,
        Some(b) => is(b, DType::I32) && b.shape == [n],
    };
    match op {
        Op::MatMul { .. } => {
            let w = weights.first()?;
            let k = *x.shape.last()?;
            if !is(x, DType::I8) || !is(w, DType::I8) || w.shape.len() != 2 || w.shape[1] != k {
                return None;
            }
            let n = w.shape[0];
            if !bias_fits(n) {
                return None;
            }
            let mut shape = x.shape.clone();
            *shape.last_mut()? = n;
            ty(DType::I32, shape)
        }
        Op::Conv2d {
            stride, padding, ..
        } => {
            let w = weights.first()?;
            if !is(x, DType::I8) || !is(w, DType::I8) || x.shape.len() != 3 || w.shape.len() != 4 {
                return None;
            }
            if w.shape[1] != x.shape[0] || !bias_fits(w.shape[0]) {
                return None;
            }
            let window = Window {
                kernel: [w.shape[2], w.shape[3]],
                stride: *stride,
                padding: *padding,
            };
            let [oh, ow] = window.output_size(x.shape[1], x.shape[2])?;
            ty(DType::I32, vec![w.shape[0], oh, ow])
        }
        Op::Requantize { axis, params, .. } => {
            let channels = *x.shape.get(*axis as usize)?;
            let fits = params.len() == 1 || params.len() == channels as usize;
            (is(x, DType::I32) && fits).then(|| ValueType {
                dtype: DType::I8,
                shape: x.shape.clone(),
            })
        }
        Op::Relu { .. } => Some(x.clone()),
        Op::Softmax { .. } => {
            let table = weights.first()?;
            (is(x, DType::I8)
                && is(table, DType::I32)
                && table.shape == [ops::SOFTMAX_TABLE_LEN]
                && !x.shape.is_empty())
            .then(|| x.clone())
        }
        Op::Mul { .. } => {
            let b = inputs.get(1)?;
            (is(x, DType::I8) && is(b, DType::I8) && ops::broadcasts_to(&b.shape, &x.shape))
                .then(|| x.clone())
        }
        Op::Transpose { perm, .. } => ops::is_permutation(perm, x.shape.len()).then(|| ValueType {
            dtype: x.dtype,
            shape: ops::transposed_shape(&x.shape, perm),
        }),
        Op::Concat { axis, .. } => {
            let b = inputs.get(1)?;
            let shape = ops::concat_shape(&x.shape, &b.shape, *axis as usize)?;
            element_count(&shape)?;
            (b.dtype == x.dtype).then_some(ValueType {
                dtype: x.dtype,
                shape,
            })
        }
        Op::Slice { start, shape, .. } => {
            ops::slice_fits(&x.shape, start, shape).then(|| ValueType {
                dtype: x.dtype,
                shape: shape.clone(),
            })
        }
        Op::Add { .. } => {
            let b = inputs.get(1)?;
            (is(x, DType::I8) && is(b, DType::I8) && x.shape == b.shape).then(|| x.clone())
        }
        Op::MaxPool2d { window, .. } | Op::AvgPool2d { window, .. } => {
            if !is(x, DType::I8) || x.shape.len() != 3 {
                return None;
            }
            let [oh, ow] = window.output_size(x.shape[1], x.shape[2])?;
            ty(DType::I8, vec![x.shape[0], oh, ow])
        }
        Op::GlobalAvgPool { .. } => (is(x, DType::I8) && x.shape.len() == 3).then(|| ValueType {
            dtype: DType::I8,
            shape: vec![x.shape[0], 1, 1],
        }),
        Op::Reshape { shape, .. } => {
            let same =
                element_count(shape).is_some() && element_count(shape) == element_count(&x.shape);
            same.then(|| ValueType {
                dtype: x.dtype,
                shape: shape.clone(),
            })
        }
        Op::ArgMax { .. } => {
            let mut shape = x.shape.clone();
            *shape.last_mut()? = 1;
            ty(DType::I32, shape)
        }
        Op::LabelLookup { .. } => {
            let labels = weights.first()?;
            (is(x, DType::I32) && is(labels, DType::I32) && labels.shape.len() == 1)
                .then(|| x.clone())
        }
        Op::Table { .. } => {
            let table = weights.first()?;
            (is(x, DType::I8) && is(table, DType::I8) && table.shape == [ops::TABLE_LEN])
                .then(|| x.clone())
        }
        Op::TreeEnsemble { .. } => {
            let [nodes, leaves, roots] = weights else {
                return None;
            };
            let fits = [nodes, leaves, roots].iter().all(|w| is(w, DType::I32))
                && nodes.shape.len() == 2
                && nodes.shape[1] as usize == ops::TREE_NODE_WIDTH
                && leaves.shape.len() == 2
                && roots.shape.len() == 1;
            fits.then(|| ValueType {
                dtype: DType::I32,
                shape: vec![leaves.shape[1], roots.shape[0]],
            })
        }
        Op::ReduceSum { axis, .. } => {
            let mut shape = x.shape.clone();
            *shape.get_mut(*axis as usize)? = 1;
            ty(DType::I32, shape)
        }
    }
}

/// Element `j` of `op`'s output (of type `out`), reading operands from `src`.
fn element(
    op: &Op,
    inputs: &[ValueType],
    weights: &[ValueType],
    out: &ValueType,
    j: usize,
    src: &mut impl Elements,
) -> Result<i64, OneStepError> {
    let x = &inputs[0];
    match op {
        Op::MatMul { bias, .. } => {
            let k = *x.shape.last().unwrap_or(&1) as usize;
            let n = weights[0].shape[0] as usize;
            let (row, col) = (j / n, j % n);
            let mut sum = match bias {
                Some(_) => src.weight(1, DType::I32, col)?,
                None => 0,
            };
            for i in 0..k {
                sum += src.input(0, DType::I8, row * k + i)?
                    * src.weight(0, DType::I8, col * k + i)?;
            }
            Ok(i64::from(sum as i32))
        }
        Op::Conv2d {
            bias,
            stride,
            padding,
            ..
        } => {
            let [c, h, w] = [x.shape[0], x.shape[1], x.shape[2]];
            let ws = &weights[0].shape;
            let [kh, kw] = [ws[2], ws[3]];
            let [oh, ow] = [out.shape[1], out.shape[2]];
            let plane = (oh * ow) as usize;
            let (oc, oy, ox) = (
                (j / plane) as u32,
                ((j % plane) as u32) / ow,
                ((j % plane) as u32) % ow,
            );
            let window = Window {
                kernel: [kh, kw],
                stride: *stride,
                padding: *padding,
            };
            let (positions, _) = ops::window_positions(&window, h, w, oy, ox);
            let mut sum = match bias {
                Some(_) => src.weight(1, DType::I32, oc as usize)?,
                None => 0,
            };
            for ic in 0..c {
                for &(y, xx) in &positions {
                    let ky = y + padding[0] - oy * stride[0];
                    let kx = xx + padding[1] - ox * stride[1];
                    let xv = src.input(0, DType::I8, ((ic * h + y) * w + xx) as usize)?;
                    let wv =
                        src.weight(0, DType::I8, (((oc * c + ic) * kh + ky) * kw + kx) as usize)?;
                    sum += xv * wv;
                }
            }
            Ok(i64::from(sum as i32))
        }
        Op::Requantize { axis, params, .. } => {
            let inner: usize = x.shape[*axis as usize + 1..]
                .iter()
                .map(|&d| d as usize)
                .product();
            let channels = x.shape[*axis as usize] as usize;
            let v = src.input(0, DType::I32, j)? as i32;
            Ok(i64::from(ops::requantize(
                v,
                channel_param(params, (j / inner) % channels),
            )))
        }
        Op::Relu { .. } => Ok(ops::relu(src.input(0, x.dtype, j)?)),
        Op::Add {
            a_multiplier,
            b_multiplier,
            shift,
            ..
        } => {
            let a = src.input(0, DType::I8, j)? as i8;
            let b = src.input(1, DType::I8, j)? as i8;
            Ok(i64::from(ops::add_element(
                a,
                b,
                *a_multiplier,
                *b_multiplier,
                *shift,
            )))
        }
        Op::MaxPool2d { window, .. } | Op::AvgPool2d { window, .. } => {
            let [h, w] = [x.shape[1], x.shape[2]];
            let [oh, ow] = [out.shape[1], out.shape[2]];
            let plane = (oh * ow) as usize;
            let (ch, oy, ox) = (
                (j / plane) as u32,
                ((j % plane) as u32) / ow,
                ((j % plane) as u32) % ow,
            );
            let (positions, full) = ops::window_positions(window, h, w, oy, ox);
            let mut values = Vec::with_capacity(positions.len());
            for &(y, xx) in &positions {
                values.push(src.input(0, DType::I8, ((ch * h + y) * w + xx) as usize)? as i8);
            }
            Ok(i64::from(match op {
                Op::AvgPool2d {
                    count_include_pad, ..
                } => {
                    let divisor = if *count_include_pad {
                        full
                    } else {
                        values.len() as i64
                    };
                    ops::avg_pool_element(&values, divisor)
                }
                _ => ops::max_pool_element(&values),
            }))
        }
        Op::GlobalAvgPool { .. } => {
            let plane = (x.shape[1] * x.shape[2]) as usize;
            let mut values = Vec::with_capacity(plane);
            for i in 0..plane {
                values.push(src.input(0, DType::I8, j * plane + i)? as i8);
            }
            Ok(i64::from(ops::global_avg_element(&values)))
        }
        Op::Reshape { .. } => src.input(0, x.dtype, j),
        Op::ArgMax { .. } => {
            let len = *x.shape.last().unwrap_or(&1) as usize;
            let mut row = Vec::with_capacity(len);
            for i in 0..len {
                row.push(src.input(0, x.dtype, j * len + i)?);
            }
            Ok(ops::argmax(&row).unwrap_or(0) as i64)
        }
        Op::Table { .. } => {
            let x = src.input(0, DType::I8, j)?;
            src.weight(0, DType::I8, ops::table_index(x))
        }
        Op::Mul {
            multiplier, shift, ..
        } => {
            let at = ops::broadcast_source(j, &x.shape, &inputs[1].shape);
            let (a, b) = (src.input(0, DType::I8, j)?, src.input(1, DType::I8, at)?);
            Ok(i64::from(ops::mul_element(
                a as i8,
                b as i8,
                *multiplier,
                *shift,
            )))
        }
        Op::Transpose { perm, .. } => {
            src.input(0, x.dtype, ops::transpose_source(j, &x.shape, perm))
        }
        Op::Slice { start, .. } => src.input(
            0,
            x.dtype,
            ops::slice_source(j, &x.shape, start, &out.shape),
        ),
        Op::Concat { axis, .. } => {
            match ops::concat_source(j, &x.shape, &inputs[1].shape, *axis as usize) {
                (0, i) => src.input(0, x.dtype, i),
                (_, i) => src.input(1, x.dtype, i),
            }
        }
        Op::Softmax { .. } => {
            // The whole row: its maximum, every element's exp entry, their sum.
            let n = *x.shape.last().unwrap_or(&1) as usize;
            let (row, at) = (j / n, j % n);
            let mut values = Vec::with_capacity(n);
            for i in 0..n {
                values.push(src.input(0, DType::I8, row * n + i)?);
            }
            let max = values.iter().copied().max().unwrap_or(0);
            let (mut sum, mut mine) = (0i64, 0i64);
            for (i, &v) in values.iter().enumerate() {
                let e = src.weight(0, DType::I32, ops::softmax_index(max, v))?;
                sum += e;
                if i == at {
                    mine = e;
                }
            }
            ops::softmax_element(mine, sum)
                .map(i64::from)
                .ok_or(OneStepError::SoftmaxSum)
        }
        Op::TreeEnsemble { .. } => {
            let trees = weights[2].shape[0] as usize;
            let [leaf_count, targets] =
                [weights[1].shape[0] as usize, weights[1].shape[1] as usize];
            let (target, tree) = (j / trees, j % trees);
            let root = src.weight(2, DType::I32, tree)?;
            let mut reads = TreeReads {
                src: &mut *src,
                dtype: x.dtype,
                // Bounds checked here, not by the openings: a chunk's padding opens too.
                rows: weights[0].shape[0] as usize,
                features: element_count(&x.shape).unwrap_or(0),
            };
            let leaf = match ops::walk_tree(root, &mut reads) {
                Ok(leaf) if leaf < leaf_count => leaf,
                Ok(_) => return Err(OneStepError::TreeWalk),
                Err(ops::WalkError::Read(e)) => return Err(e),
                Err(_) => return Err(OneStepError::TreeWalk),
            };
            src.weight(1, DType::I32, leaf * targets + target)
        }
        Op::ReduceSum { axis, .. } => {
            let positions: Vec<usize> =
                ops::reduce_positions(&x.shape, *axis as usize, j).collect();
            let mut values = Vec::with_capacity(positions.len());
            for i in positions {
                values.push(src.input(0, x.dtype, i)?);
            }
            Ok(i64::from(ops::sum_element(values)))
        }
        Op::LabelLookup { .. } => {
            let class = src.input(0, DType::I32, j)?;
            let labels = weights[0].shape[0] as i64;
            if !(0..labels).contains(&class) {
                return Err(OneStepError::Operands(0));
            }
            src.weight(0, DType::I32, class as usize)
        }
    }
}

/// A tree walk reading `nodes` (weight 0) and the features (input 0) from `src`; a row
/// or feature index beyond the tensor is a malformed walk.
struct TreeReads<'a, S> {
    src: &'a mut S,
    dtype: DType,
    rows: usize,
    features: usize,
}

impl<S: Elements> ops::TreeSource for TreeReads<'_, S> {
    type Error = OneStepError;
    fn node(&mut self, i: usize) -> Result<ops::TreeNode, OneStepError> {
        if i >= self.rows {
            return Err(OneStepError::TreeWalk);
        }
        let mut row = [0i64; 4];
        for (c, v) in row.iter_mut().enumerate() {
            *v = self
                .src
                .weight(0, DType::I32, i * ops::TREE_NODE_WIDTH + c)?;
        }
        let [feature, threshold, if_true, if_false] = row;
        Ok(ops::TreeNode {
            feature,
            threshold,
            if_true,
            if_false,
        })
    }
    fn feature(&mut self, f: usize) -> Result<i64, OneStepError> {
        if f >= self.features {
            return Err(OneStepError::TreeWalk);
        }
        self.src.input(0, self.dtype, f)
    }
}

/// The defender's witness that node `step`'s output element `element` is what `claimed`
/// says, given the values `values[0..=step]` of the agreed state (`trace` is the
/// defender's own trace, which agrees with `values` up to `step`).
pub fn prove(
    model: &Model,
    values: &[Tensor],
    trace: &Trace,
    step: usize,
    element_index: usize,
    claimed: &Tensor,
) -> Result<OneStepProof, OneStepError> {
    let op = model
        .graph()
        .nodes
        .get(step)
        .ok_or(OneStepError::Step(step as u64))?;
    let input_ids = op.inputs();
    let weight_ids = op.weights();
    let inputs: Vec<&Tensor> = input_ids.iter().map(|&i| &values[i as usize]).collect();
    let weights: Vec<&Tensor> = weight_ids
        .iter()
        .map(|&i| &model.weights()[i as usize])
        .collect();
    let input_types: Vec<ValueType> = inputs.iter().map(|t| type_of(t)).collect();
    let weight_types: Vec<ValueType> = weights.iter().map(|t| type_of(t)).collect();
    let mut recorder = Recorder {
        inputs: inputs.clone(),
        weights: weights.clone(),
        read_inputs: BTreeMap::new(),
        read_weights: BTreeMap::new(),
    };
    let out = expected_type(op, &input_types, &weight_types)
        .ok_or(OneStepError::Operands(step as u64))?;
    if element_index < element_count(&out.shape).unwrap_or(0) {
        element(
            op,
            &input_types,
            &weight_types,
            &out,
            element_index,
            &mut recorder,
        )?;
    }
    let weight_leaves: Vec<Hash> = model
        .weights()
        .iter()
        .map(|w| value_leaf(&w.commitment()))
        .collect();
    let opening = |t: &Tensor, read: Option<&Vec<usize>>| {
        // An op that reads nothing of an operand (none do today) still opens chunk 0.
        let read = read.cloned().unwrap_or_else(|| vec![0]);
        open_elements(t, read)
    };
    Ok(OneStepProof {
        graph: encode_graph(model.graph()),
        inputs: input_ids
            .iter()
            .enumerate()
            .map(|(slot, &id)| TensorOpening {
                id,
                header: TensorHeader::of(inputs[slot]),
                proof: trace.proof(step, id as usize),
                chunks: opening(inputs[slot], recorder.read_inputs.get(&slot)),
            })
            .collect(),
        weights: weight_ids
            .iter()
            .enumerate()
            .map(|(slot, &id)| TensorOpening {
                id,
                header: TensorHeader::of(weights[slot]),
                proof: crate::merkle::prove(&weight_leaves, id as usize)
                    .map(|p| p.siblings)
                    .unwrap_or_default(),
                chunks: opening(weights[slot], recorder.read_weights.get(&slot)),
            })
            .collect(),
        output: TensorHeader::of(claimed),
        output_chunks: open_elements(
            claimed,
            [element_index.min(claimed.len().saturating_sub(1))],
        ),
    })
}

fn type_of(t: &Tensor) -> ValueType {
    ValueType {
        dtype: t.dtype(),
        shape: t.shape().to_vec(),
    }
}

/// The commitment a reveal of `header` with element bytes `data` establishes, if `data`
/// is exactly the elements of that shape and matches the data root.
pub fn revealed_commitment(dtype: DType, shape: &[u32], data: &[u8]) -> Option<Hash> {
    let count = element_count(shape)?;
    if data.len() != count * dtype.size() {
        return None;
    }
    Some(commitment_from_root(
        dtype,
        shape,
        &crate::tensor::data_root_of(data),
    ))
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(bytes)))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        hex::decode(text.trim_start_matches("0x")).map_err(D::Error::custom)
    }
}
