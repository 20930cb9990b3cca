//! The Verdict model: an integer graph, its weights, and descriptive metadata.
//!
//! File layout (`.vdm`), all integers big-endian:
//!
//! ```text
//! magic "VERDICTM" | u16 format version | u32 len, graph bytes | u32 count, weight tensors | u32 len, metadata JSON
//! ```
//!
//! `ModelId = keccak(graph_hash || weights_root)` where `graph_hash = keccak(graph bytes)`
//! and `weights_root` is the Merkle root over the weight tensors' commitments (one
//! leaf each, in order). Metadata (names, float scales of intermediate values, notes)
//! helps people read the model and is not part of its identity. See `specs/model-format.md`.

mod codec;
mod graph;
mod validate;

pub use codec::{
    GRAPH_VERSION, GRAPH_VERSION_FEATURES, GRAPH_VERSION_INPUT_DTYPE, decode_graph, encode_graph,
};
pub use graph::{
    FeatureQuant, Graph, InputSpec, Op, Requant, ValueId, ValueType, WeightId, Window,
};
pub use validate::{GraphError, infer_types};

use crate::encoding::{DecodeError, Reader, Writer};
use crate::hash::{Hash, keccak};
use crate::merkle;
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// First bytes of every model file.
pub const MAGIC: &[u8; 8] = b"VERDICTM";
/// Version of the model file layout.
pub const FORMAT_VERSION: u16 = 1;

/// Why model bytes were rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ModelError {
    /// The bytes are malformed.
    #[error("malformed model: {0}")]
    Decode(#[from] DecodeError),
    /// The bytes are well formed but the graph breaks a rule.
    #[error("invalid graph: {0}")]
    Graph(#[from] GraphError),
}

/// Descriptive data; not hashed into the model id.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Metadata {
    /// Human-readable name.
    pub name: String,
    /// Where the model came from (e.g. the ONNX file and importer version).
    pub source: String,
    /// One name per node, e.g. the ONNX node it came from.
    pub node_names: Vec<String>,
    /// One name per weight tensor.
    pub weight_names: Vec<String>,
    /// Float scale of each value (by value id), 0 where a value is not a scaled int8.
    pub value_scales: Vec<f32>,
    /// Notes from the importer (dropped ops, calibration summary).
    pub notes: Vec<String>,
}

/// What a model's output means, read from the graph (so the model id commits to it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// The output is a class: a label or index (the graph ends in ArgMax or LabelLookup),
    /// or `i8` scores whose argmax is the class.
    Classification,
    /// The output is one or more real numbers, `value = output * output_scale`: an `i32`
    /// output (an accumulator kept at full precision), or a single `i8` element.
    Regression,
}

impl Task {
    /// `"classification"` or `"regression"`, as the CLI and the RPC write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Task::Classification => "classification",
            Task::Regression => "regression",
        }
    }
}

/// A validated model.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    graph: Graph,
    weights: Vec<Tensor>,
    types: Vec<ValueType>,
    /// Descriptive metadata.
    pub metadata: Metadata,
}

/// The identity of a model: what a registry and a verifier pin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelId {
    /// `keccak(graph_hash || weights_root)`.
    #[serde(with = "crate::hash::serde_hex")]
    pub id: Hash,
    /// Keccak of the canonical graph bytes.
    #[serde(with = "crate::hash::serde_hex")]
    pub graph_hash: Hash,
    /// Merkle root over the weight commitments.
    #[serde(with = "crate::hash::serde_hex")]
    pub weights_root: Hash,
}

impl Model {
    /// Validates and wraps a graph and its weights.
    pub fn new(graph: Graph, weights: Vec<Tensor>, metadata: Metadata) -> Result<Self, GraphError> {
        let types = infer_types(&graph, &weights)?;
        Ok(Self {
            graph,
            weights,
            types,
            metadata,
        })
    }

    /// The graph.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }
    /// The weights, by [`WeightId`].
    pub fn weights(&self) -> &[Tensor] {
        &self.weights
    }
    /// The inferred type of every value, by [`ValueId`].
    pub fn value_types(&self) -> &[ValueType] {
        &self.types
    }
    /// The output's type.
    pub fn output_type(&self) -> &ValueType {
        self.types
            .last()
            .expect("a valid graph has at least one node")
    }
    /// Whether the output is a class index or label (the graph ends in ArgMax or LabelLookup).
    pub fn outputs_label(&self) -> bool {
        matches!(
            self.graph.nodes.last(),
            Some(Op::ArgMax { .. } | Op::LabelLookup { .. })
        )
    }
    /// Whether the model classifies or regresses (see [`Task`] for the rule).
    pub fn task(&self) -> Task {
        let out = self.output_type();
        let single = out.shape.iter().product::<u32>() == 1;
        if !self.outputs_label() && (out.dtype == crate::tensor::DType::I32 || single) {
            Task::Regression
        } else {
            Task::Classification
        }
    }
    /// The real values an output stands for (`output * output_scale`) when the model is a
    /// regressor; `None` for a classifier.
    pub fn output_values(&self, output: &Tensor) -> Option<Vec<f64>> {
        (self.task() == Task::Regression).then(|| {
            let scale = f64::from(self.graph.output_scale);
            (0..output.len())
                .filter_map(|i| output.data().get(i))
                .map(|v| v as f64 * scale)
                .collect()
        })
    }
    /// Total number of weight elements.
    pub fn parameter_count(&self) -> usize {
        self.weights.iter().map(Tensor::len).sum()
    }

    /// The model id and its two parts.
    pub fn id(&self) -> ModelId {
        let graph_hash = keccak(&[&encode_graph(&self.graph)]);
        let leaves: Vec<Hash> = self
            .weights
            .iter()
            .map(|w| merkle::leaf_hash(&w.commitment()))
            .collect();
        let weights_root = merkle::root(&leaves);
        ModelId {
            id: keccak(&[&graph_hash, &weights_root]),
            graph_hash,
            weights_root,
        }
    }

    /// The model file bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.raw(MAGIC);
        w.u16(FORMAT_VERSION);
        w.bytes(&encode_graph(&self.graph));
        w.u32(self.weights.len() as u32);
        for t in &self.weights {
            t.encode(&mut w);
        }
        let meta = serde_json::to_vec(&self.metadata).expect("metadata is plain data");
        w.bytes(&meta);
        w.finish()
    }

    /// Decodes and validates model file bytes. Never panics on any input.
    pub fn decode(bytes: &[u8]) -> Result<Self, ModelError> {
        let mut r = Reader::new(bytes);
        let magic = r.field("magic", |r| r.take(MAGIC.len()))?;
        if magic != MAGIC {
            return Err(r.error_at(0, "not a Verdict model file (bad magic)").into());
        }
        let at = r.offset();
        let version = r.field("format_version", |r| r.u16())?;
        if version != FORMAT_VERSION {
            return Err(r
                .error_at(
                    at,
                    format!("format version {version}, this build reads {FORMAT_VERSION}"),
                )
                .into());
        }
        let graph_at = r.offset() + 4;
        let graph_bytes = r.field("graph", |r| r.bytes())?;
        let mut gr = Reader::new(graph_bytes);
        let graph = gr
            .field("graph", |r| {
                let g = decode_graph(r)?;
                Ok(g)
            })
            .and_then(|g| gr.finish().map(|()| g))
            .map_err(|mut e| {
                e.offset += graph_at;
                e
            })?;
        let count = r.field("weights.count", |r| r.count(6))?;
        let mut weights = Vec::with_capacity(count);
        for i in 0..count {
            weights.push(r.field(format!("weights[{i}]"), Tensor::decode)?);
        }
        let meta_at = r.offset();
        let meta_bytes = r.field("metadata", |r| r.bytes())?;
        let metadata: Metadata = serde_json::from_slice(meta_bytes)
            .map_err(|e| r.error_at(meta_at, format!("metadata is not valid JSON: {e}")))?;
        r.finish()?;
        Ok(Self::new(graph, weights, metadata)?)
    }
}
