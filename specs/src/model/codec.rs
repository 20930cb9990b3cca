//! Canonical binary encoding of graphs. Every field has exactly one encoding, so the
//! graph hash is a function of the graph's meaning. Layout in `specs/model-format.md`.

use super::graph::{FeatureQuant, Graph, InputSpec, Op, Requant, Window};
use crate::encoding::{DecodeError, Reader, Writer};
use crate::tensor::{DType, MAX_RANK, Shape};

/// Version of the graph encoding; bumped on any change to it.
pub const GRAPH_VERSION: u16 = 1;
/// Version 1 followed by the per-feature input quantization. A graph is written as
/// version 2 exactly when it has per-feature quantization, so every graph keeps one
/// encoding (and models without it keep their ids).
pub const GRAPH_VERSION_FEATURES: u16 = 2;
/// Version 2 (the per-feature tail, whose count may be 0) followed by the input's dtype
/// code. Written exactly when the input is not `i8`.
pub const GRAPH_VERSION_INPUT_DTYPE: u16 = 3;

mod opcode {
    pub(super) const MATMUL: u8 = 1;
    pub(super) const CONV2D: u8 = 2;
    pub(super) const REQUANTIZE: u8 = 3;
    pub(super) const RELU: u8 = 4;
    pub(super) const ADD: u8 = 5;
    pub(super) const MAX_POOL2D: u8 = 6;
    pub(super) const AVG_POOL2D: u8 = 7;
    pub(super) const GLOBAL_AVG_POOL: u8 = 8;
    pub(super) const RESHAPE: u8 = 9;
    pub(super) const ARGMAX: u8 = 10;
    pub(super) const LABEL_LOOKUP: u8 = 11;
    pub(super) const TABLE: u8 = 12;
    pub(super) const TREE_ENSEMBLE: u8 = 13;
    pub(super) const REDUCE_SUM: u8 = 14;
    pub(super) const SOFTMAX: u8 = 15;
    pub(super) const MUL: u8 = 16;
    pub(super) const TRANSPOSE: u8 = 17;
    pub(super) const CONCAT: u8 = 18;
    pub(super) const SLICE: u8 = 19;
}

/// The version a graph with this input is written as (one encoding per graph).
fn version_of(input: &InputSpec) -> u16 {
    if input.dtype != DType::I8 {
        GRAPH_VERSION_INPUT_DTYPE
    } else if !input.features.is_empty() {
        GRAPH_VERSION_FEATURES
    } else {
        GRAPH_VERSION
    }
}

/// Canonical bytes of a graph.
pub fn encode_graph(graph: &Graph) -> Vec<u8> {
    let mut w = Writer::new();
    let features = &graph.input.features;
    let version = version_of(&graph.input);
    w.u16(version);
    write_shape(&mut w, &graph.input.shape);
    w.f32(graph.input.scale);
    w.f32(graph.output_scale);
    w.u32(graph.nodes.len() as u32);
    for op in &graph.nodes {
        write_op(&mut w, op);
    }
    if version >= GRAPH_VERSION_FEATURES {
        w.u32(features.len() as u32);
        for f in features {
            w.f32(f.scale);
            w.f32(f.offset);
        }
    }
    if version >= GRAPH_VERSION_INPUT_DTYPE {
        w.u8(graph.input.dtype.code());
    }
    w.finish()
}

fn write_shape(w: &mut Writer, shape: &[u32]) {
    w.u8(shape.len() as u8);
    for &d in shape {
        w.u32(d);
    }
}

fn write_window(w: &mut Writer, window: &Window) {
    window
        .kernel
        .iter()
        .chain(&window.stride)
        .chain(&window.padding)
        .for_each(|&v| w.u32(v));
}

fn write_bias(w: &mut Writer, bias: Option<u32>) {
    match bias {
        Some(id) => {
            w.u8(1);
            w.u32(id);
        }
        None => w.u8(0),
    }
}

fn write_op(w: &mut Writer, op: &Op) {
    match op {
        Op::MatMul {
            input,
            weight,
            bias,
        } => {
            w.u8(opcode::MATMUL);
            w.u32(*input);
            w.u32(*weight);
            write_bias(w, *bias);
        }
        Op::Conv2d {
            input,
            weight,
            bias,
            stride,
            padding,
        } => {
            w.u8(opcode::CONV2D);
            w.u32(*input);
            w.u32(*weight);
            write_bias(w, *bias);
            stride.iter().chain(padding).for_each(|&v| w.u32(v));
        }
        Op::Requantize {
            input,
            axis,
            params,
        } => {
            w.u8(opcode::REQUANTIZE);
            w.u32(*input);
            w.u8(*axis);
            w.u32(params.len() as u32);
            for p in params {
                w.i32(p.multiplier);
                w.u8(p.shift);
            }
        }
        Op::Relu { input } => {
            w.u8(opcode::RELU);
            w.u32(*input);
        }
        Op::Add {
            a,
            b,
            a_multiplier,
            b_multiplier,
            shift,
        } => {
            w.u8(opcode::ADD);
            w.u32(*a);
            w.u32(*b);
            w.i32(*a_multiplier);
            w.i32(*b_multiplier);
            w.u8(*shift);
        }
        Op::MaxPool2d { input, window } => {
            w.u8(opcode::MAX_POOL2D);
            w.u32(*input);
            write_window(w, window);
        }
        Op::AvgPool2d {
            input,
            window,
            count_include_pad,
        } => {
            w.u8(opcode::AVG_POOL2D);
            w.u32(*input);
            write_window(w, window);
            w.u8(u8::from(*count_include_pad));
        }
        Op::GlobalAvgPool { input } => {
            w.u8(opcode::GLOBAL_AVG_POOL);
            w.u32(*input);
        }
        Op::Reshape { input, shape } => {
            w.u8(opcode::RESHAPE);
            w.u32(*input);
            write_shape(w, shape);
        }
        Op::ArgMax { input } => {
            w.u8(opcode::ARGMAX);
            w.u32(*input);
        }
        Op::LabelLookup { input, labels } => {
            w.u8(opcode::LABEL_LOOKUP);
            w.u32(*input);
            w.u32(*labels);
        }
        Op::Table { input, table } => {
            w.u8(opcode::TABLE);
            w.u32(*input);
            w.u32(*table);
        }
        Op::TreeEnsemble {
            input,
            nodes,
            leaves,
            roots,
        } => {
            w.u8(opcode::TREE_ENSEMBLE);
            for id in [input, nodes, leaves, roots] {
                w.u32(*id);
            }
        }
        Op::ReduceSum { input, axis } => {
            w.u8(opcode::REDUCE_SUM);
            w.u32(*input);
            w.u8(*axis);
        }
        Op::Softmax { input, table } => {
            w.u8(opcode::SOFTMAX);
            w.u32(*input);
            w.u32(*table);
        }
        Op::Mul {
            a,
            b,
            multiplier,
            shift,
        } => {
            w.u8(opcode::MUL);
            w.u32(*a);
            w.u32(*b);
            w.i32(*multiplier);
            w.u8(*shift);
        }
        Op::Transpose { input, perm } => {
            w.u8(opcode::TRANSPOSE);
            w.u32(*input);
            w.u8(perm.len() as u8);
            for &p in perm {
                w.u8(p);
            }
        }
        Op::Concat { a, b, axis } => {
            w.u8(opcode::CONCAT);
            w.u32(*a);
            w.u32(*b);
            w.u8(*axis);
        }
        Op::Slice {
            input,
            start,
            shape,
        } => {
            w.u8(opcode::SLICE);
            w.u32(*input);
            w.u8(shape.len() as u8);
            for (&s, &len) in start.iter().zip(shape) {
                w.u32(s);
                w.u32(len);
            }
        }
    }
}

/// Decodes a graph from untrusted bytes (structure only; see `validate` for meaning).
pub fn decode_graph(r: &mut Reader<'_>) -> Result<Graph, DecodeError> {
    let at = r.offset();
    let version = r.field("version", |r| r.u16())?;
    if !(GRAPH_VERSION..=GRAPH_VERSION_INPUT_DTYPE).contains(&version) {
        return Err(r.error_at(
            at,
            format!(
                "graph version {version}, this build reads {GRAPH_VERSION} to {GRAPH_VERSION_INPUT_DTYPE}"
            ),
        ));
    }
    let shape = r.field("input.shape", read_shape)?;
    let scale = r.field("input.scale", |r| r.f32())?;
    let output_scale = r.field("output_scale", |r| r.f32())?;
    let count = r.field("nodes.count", |r| r.count(5))?;
    let mut nodes = Vec::with_capacity(count);
    for i in 0..count {
        nodes.push(r.field(format!("nodes[{i}]"), read_op)?);
    }
    let mut features = Vec::new();
    if version >= GRAPH_VERSION_FEATURES {
        let at = r.offset();
        let count = r.field("input.features.count", |r| r.count(8))?;
        if count == 0 && version == GRAPH_VERSION_FEATURES {
            return Err(r.error_at(
                at,
                "a version 2 graph has per-feature quantization (write version 1 without it)",
            ));
        }
        for i in 0..count {
            features.push(r.field(format!("input.features[{i}]"), |r| {
                Ok(FeatureQuant {
                    scale: r.f32()?,
                    offset: r.f32()?,
                })
            })?);
        }
    }
    let mut dtype = DType::I8;
    if version == GRAPH_VERSION_INPUT_DTYPE {
        let at = r.offset();
        let code = r.field("input.dtype", |r| r.u8())?;
        dtype = match DType::from_code(code) {
            Some(DType::I8) => {
                return Err(r.error_at(
                    at,
                    "a version 3 graph has a non-i8 input (write version 1 or 2 for i8)",
                ));
            }
            Some(d) => d,
            None => return Err(r.error_at(at, format!("unknown input dtype code {code}"))),
        };
    }
    Ok(Graph {
        input: InputSpec {
            shape,
            dtype,
            scale,
            features,
        },
        nodes,
        output_scale,
    })
}

fn read_shape(r: &mut Reader<'_>) -> Result<Shape, DecodeError> {
    let at = r.offset();
    let rank = r.u8()? as usize;
    if rank == 0 || rank > MAX_RANK {
        return Err(r.error_at(at, format!("rank {rank} is not in 1..={MAX_RANK}")));
    }
    (0..rank).map(|_| r.u32()).collect()
}

fn read_pair(r: &mut Reader<'_>) -> Result<[u32; 2], DecodeError> {
    Ok([r.u32()?, r.u32()?])
}

fn read_quad(r: &mut Reader<'_>) -> Result<[u32; 4], DecodeError> {
    Ok([r.u32()?, r.u32()?, r.u32()?, r.u32()?])
}

fn read_window(r: &mut Reader<'_>) -> Result<Window, DecodeError> {
    Ok(Window {
        kernel: r.field("kernel", read_pair)?,
        stride: r.field("stride", read_pair)?,
        padding: r.field("padding", read_quad)?,
    })
}

fn read_bias(r: &mut Reader<'_>) -> Result<Option<u32>, DecodeError> {
    r.field("bias", |r| {
        if r.bool()? {
            Ok(Some(r.u32()?))
        } else {
            Ok(None)
        }
    })
}

fn read_op(r: &mut Reader<'_>) -> Result<Op, DecodeError> {
    let at = r.offset();
    let code = r.field("opcode", |r| r.u8())?;
    let input = |r: &mut Reader<'_>| r.field("input", |r| r.u32());
    Ok(match code {
        opcode::MATMUL => Op::MatMul {
            input: input(r)?,
            weight: r.field("weight", |r| r.u32())?,
            bias: read_bias(r)?,
        },
        opcode::CONV2D => Op::Conv2d {
            input: input(r)?,
            weight: r.field("weight", |r| r.u32())?,
            bias: read_bias(r)?,
            stride: r.field("stride", read_pair)?,
            padding: r.field("padding", read_quad)?,
        },
        opcode::REQUANTIZE => {
            let input = input(r)?;
            let axis = r.field("axis", |r| r.u8())?;
            let count = r.field("params.count", |r| r.count(5))?;
            let params = (0..count)
                .map(|i| {
                    r.field(format!("params[{i}]"), |r| {
                        Ok(Requant {
                            multiplier: r.i32()?,
                            shift: r.u8()?,
                        })
                    })
                })
                .collect::<Result<_, _>>()?;
            Op::Requantize {
                input,
                axis,
                params,
            }
        }
        opcode::RELU => Op::Relu { input: input(r)? },
        opcode::ADD => Op::Add {
            a: r.field("a", |r| r.u32())?,
            b: r.field("b", |r| r.u32())?,
            a_multiplier: r.field("a_multiplier", |r| r.i32())?,
            b_multiplier: r.field("b_multiplier", |r| r.i32())?,
            shift: r.field("shift", |r| r.u8())?,
        },
        opcode::MAX_POOL2D => Op::MaxPool2d {
            input: input(r)?,
            window: read_window(r)?,
        },
        opcode::AVG_POOL2D => Op::AvgPool2d {
            input: input(r)?,
            window: read_window(r)?,
            count_include_pad: r.field("count_include_pad", |r| r.bool())?,
        },
        opcode::GLOBAL_AVG_POOL => Op::GlobalAvgPool { input: input(r)? },
        opcode::RESHAPE => Op::Reshape {
            input: input(r)?,
            shape: r.field("shape", read_shape)?,
        },
        opcode::ARGMAX => Op::ArgMax { input: input(r)? },
        opcode::LABEL_LOOKUP => Op::LabelLookup {
            input: input(r)?,
            labels: r.field("labels", |r| r.u32())?,
        },
        opcode::TABLE => Op::Table {
            input: input(r)?,
            table: r.field("table", |r| r.u32())?,
        },
        opcode::TREE_ENSEMBLE => Op::TreeEnsemble {
            input: input(r)?,
            nodes: r.field("nodes", |r| r.u32())?,
            leaves: r.field("leaves", |r| r.u32())?,
            roots: r.field("roots", |r| r.u32())?,
        },
        opcode::REDUCE_SUM => Op::ReduceSum {
            input: input(r)?,
            axis: r.field("axis", |r| r.u8())?,
        },
        opcode::SOFTMAX => Op::Softmax {
            input: input(r)?,
            table: r.field("table", |r| r.u32())?,
        },
        opcode::MUL => Op::Mul {
            a: r.field("a", |r| r.u32())?,
            b: r.field("b", |r| r.u32())?,
            multiplier: r.field("multiplier", |r| r.i32())?,
            shift: r.field("shift", |r| r.u8())?,
        },
        opcode::TRANSPOSE => {
            let input = input(r)?;
            let rank = r.field("rank", |r| r.u8())?;
            let mut perm = Vec::with_capacity(rank as usize);
            for _ in 0..rank {
                perm.push(r.field("perm", |r| r.u8())?);
            }
            Op::Transpose { input, perm }
        }
        opcode::CONCAT => Op::Concat {
            a: r.field("a", |r| r.u32())?,
            b: r.field("b", |r| r.u32())?,
            axis: r.field("axis", |r| r.u8())?,
        },
        opcode::SLICE => {
            let input = input(r)?;
            let rank = r.field("rank", |r| r.u8())?;
            let (mut start, mut shape) = (Vec::new(), Vec::new());
            for _ in 0..rank {
                start.push(r.field("start", |r| r.u32())?);
                shape.push(r.field("length", |r| r.u32())?);
            }
            Op::Slice {
                input,
                start,
                shape,
            }
        }
        other => return Err(r.error_at(at, format!("unknown opcode {other}"))),
    })
}
