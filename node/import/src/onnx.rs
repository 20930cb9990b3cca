//! Reading an ONNX model into a [`FloatGraph`].
//!
//! Only the nodes the chosen output depends on are read. Each ONNX node maps to one
//! float op, to nothing (Identity, Dropout, float Casts, a trailing Softmax), or is
//! folded into the node before it (a constant Add as a bias, BatchNormalization into
//! the preceding Conv or Gemm). Anything the integer op set cannot express exactly is
//! an error naming the node, the op and the attribute.

use super::error::{ImportError, ImportResult};
use super::float::{FloatGraph, FloatNode, FloatOp};
use onnx_protobuf::attribute_proto::AttributeType;
use onnx_protobuf::tensor_proto::{DataLocation, DataType};
use onnx_protobuf::{AttributeProto, Message, ModelProto, NodeProto, TensorProto};
use protobuf::Enum;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use verdict_specs::Task;
use verdict_specs::model::Window;

mod activations;
mod ml;
mod sequence;
mod shapes;
mod trees;

/// Largest tensor (in elements) the importer accepts, as a guard against hostile files.
const MAX_ELEMENTS: usize = 1 << 28;

/// The ONNX ops the importer reads, for error messages.
const SUPPORTED: &str = "MatMul, Gemm, Conv (1-D and 2-D, dilated), Add, Relu, Sigmoid, Tanh, Exp, Erf, Gelu, \
    HardSigmoid, HardSwish, LeakyRelu, Elu, Softplus, Clip, SiLU (x * Sigmoid(x)), MaxPool, AveragePool, GlobalAveragePool, \
    ReduceMean/ReduceSum/ReduceMax (over per-example axes), Flatten, Reshape, Squeeze/Unsqueeze, \
    Transpose, Slice, Gather of one step and Concat of activations, BatchNormalization and constant \
    Mul/Div/Sub/Add (after Conv/Gemm/MatMul), Mul/Div by a scalar constant, Mul and Sub of two activations, \
    Softmax over any axis, LogSoftmax (before ArgMax or as the output), \
    ArgMax, ai.onnx.ml ArrayFeatureExtractor, Scaler, LinearClassifier, LinearRegressor, \
    TreeEnsembleClassifier, TreeEnsembleRegressor and Normalizer (on class scores), Cast, Identity, Dropout, Constant, and Shape/Gather/Concat on shapes";

/// Reads `bytes` as an ONNX model and maps the part that computes `output` (default:
/// the first graph output) to a [`FloatGraph`]. `feature_count` resolves one unknown
/// non-batch input dimension, if the file leaves one open.
pub fn parse_onnx(
    bytes: &[u8],
    output: Option<&str>,
    feature_count: Option<usize>,
) -> ImportResult<FloatGraph> {
    let model =
        ModelProto::parse_from_bytes(bytes).map_err(|e| ImportError::Protobuf(e.to_string()))?;
    let Some(graph) = model.graph.as_ref() else {
        return Err(ImportError::Structure("the file has no graph".into()));
    };
    let opset = model
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map_or(1, |o| o.version);

    let mut names: HashMap<String, Val> = HashMap::new();
    for init in &graph.initializer {
        names.insert(init.name.clone(), Val::Const(Rc::new(decode_tensor(init)?)));
    }
    let inputs: Vec<_> = graph
        .input
        .iter()
        .filter(|i| !names.contains_key(&i.name))
        .collect();
    let [input] = inputs.as_slice() else {
        let listed: Vec<_> = inputs.iter().map(|i| i.name.as_str()).collect();
        return Err(ImportError::Structure(format!(
            "a Verdict model has exactly one input; this graph has {} ({})",
            listed.len(),
            listed.join(", ")
        )));
    };
    let input_shape = input_shape(input, feature_count)?;
    names.insert(input.name.clone(), Val::Value(0));

    let is_one = |name: &str| matches!(names.get(name), Some(Val::Const(c)) if c.batch_at.is_empty() && c.data == [1.0]);
    let nodes = ml::rewrite_binary_heads(&graph.node, &is_one);

    let output_name = match output {
        Some(name) => name.to_string(),
        None => graph
            .output
            .first()
            .map(|o| o.name.clone())
            .ok_or_else(|| ImportError::Structure("the graph has no outputs".into()))?,
    };
    let producers: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .flat_map(|(i, n)| n.output.iter().map(move |o| (o.as_str(), i)))
        .collect();
    if !producers.contains_key(output_name.as_str()) {
        let listed: Vec<_> = graph.output.iter().map(|o| o.name.as_str()).collect();
        return Err(ImportError::Structure(format!(
            "no node produces '{output_name}'; the graph outputs are: {}",
            listed.join(", ")
        )));
    }
    let needed = needed_nodes(&nodes, &producers, &output_name);
    let mut readers: HashMap<String, usize> = HashMap::new();
    for (i, node) in nodes.iter().enumerate() {
        if needed.contains(&i) {
            for name in node.input.iter().filter(|n| !n.is_empty()) {
                *readers.entry(name.clone()).or_default() += 1;
            }
        }
    }
    *readers.entry(output_name.clone()).or_default() += 1;

    let mut parser = Parser {
        names,
        readers,
        value_names: vec![input.name.clone()],
        softmax: HashSet::new(),
        softmax_outputs: HashMap::new(),
        softmax_nodes: HashMap::new(),
        softmax_notes: HashMap::new(),
        task_hint: None,
        opset,
        graph: FloatGraph {
            input_shape,
            nodes: Vec::new(),
            notes: Vec::new(),
            producer: format!("{} {}", model.producer_name, model.producer_version)
                .trim()
                .to_string(),
            input_affine: None,
            task: Task::Classification,
            output_softmax: None,
        },
    };
    for (i, node) in nodes.iter().enumerate() {
        if needed.contains(&i) {
            parser.node(node, i)?;
        }
    }
    parser.finish(&output_name)
}

/// A name's meaning: a computed value, or a constant known at import.
#[derive(Clone, Debug)]
enum Val {
    Value(usize),
    Const(Rc<Const>),
}

/// A constant tensor, every element widened to `f64` (integers up to 2^53 stay exact).
#[derive(Debug)]
struct Const {
    dims: Vec<usize>,
    data: Vec<f64>,
    /// Positions holding the run-time batch size (unknown at import): a shape computed
    /// by a `Shape` node. Only shape arithmetic and `Reshape` may read such a constant.
    batch_at: Vec<usize>,
}

impl Const {
    fn new(dims: Vec<usize>, data: Vec<f64>) -> Self {
        Self {
            dims,
            data,
            batch_at: Vec::new(),
        }
    }

    /// A 1-D shape constant whose entries at `batch_at` stand for the batch size.
    fn shape(data: Vec<f64>, batch_at: Vec<usize>) -> Self {
        Self {
            dims: vec![data.len()],
            data,
            batch_at,
        }
    }
}

struct Parser {
    names: HashMap<String, Val>,
    /// How many needed nodes read each name (the output once more).
    readers: HashMap<String, usize>,
    /// The ONNX name that produced each value.
    value_names: Vec<String>,
    /// Values that stand for a dropped Softmax's output (they hold its input, the logits).
    softmax: HashSet<usize>,
    /// ONNX names of (pass-throughs of) a Softmax op's output, with the logits value: a
    /// reader other than ArgMax makes the Softmax an integer op (see `materialize_softmax`).
    softmax_outputs: HashMap<String, usize>,
    /// Logits value → the Softmax node computed from it, once one reader needed it.
    softmax_nodes: HashMap<usize, usize>,
    /// Logits value → the note saying its Softmax was dropped (rewritten if it is not).
    softmax_notes: HashMap<usize, usize>,
    /// What the ops read so far say the model is (a regressor or classifier op).
    task_hint: Option<Task>,
    opset: i64,
    graph: FloatGraph,
}

/// The node indices `output` depends on.
fn needed_nodes(
    nodes: &[NodeProto],
    producers: &HashMap<&str, usize>,
    output: &str,
) -> HashSet<usize> {
    let mut needed = HashSet::new();
    let mut stack = vec![output];
    while let Some(name) = stack.pop() {
        if let Some(&i) = producers.get(name)
            && needed.insert(i)
        {
            stack.extend(
                nodes[i]
                    .input
                    .iter()
                    .map(String::as_str)
                    .filter(|n| !n.is_empty()),
            );
        }
    }
    needed
}

/// The per-example input shape: the ONNX shape without its leading batch axis.
fn input_shape(
    input: &onnx_protobuf::ValueInfoProto,
    feature_count: Option<usize>,
) -> ImportResult<Vec<usize>> {
    let fail = |reason: String| ImportError::Structure(format!("input '{}': {reason}", input.name));
    let tensor = input.type_.tensor_type();
    match DataType::from_i32(tensor.elem_type) {
        Some(DataType::FLOAT | DataType::DOUBLE | DataType::FLOAT16) => {}
        _ => {
            return Err(fail(format!(
                "element type {} is not a float type",
                tensor.elem_type
            )));
        }
    }
    let dims = &tensor.shape.dim;
    if dims.len() < 2 {
        return Err(fail(format!(
            "rank {} input; Verdict expects a leading batch axis and at least one feature axis",
            dims.len()
        )));
    }
    let mut shape: Vec<Option<usize>> = dims[1..]
        .iter()
        .map(|d| (d.has_dim_value() && d.dim_value() > 0).then(|| d.dim_value() as usize))
        .collect();
    let unknown: Vec<usize> = (0..shape.len()).filter(|&i| shape[i].is_none()).collect();
    match (unknown.as_slice(), feature_count) {
        ([], _) => {}
        ([i], Some(features)) => {
            let known: usize = shape.iter().flatten().product();
            if known == 0 || !features.is_multiple_of(known) {
                return Err(fail(format!("{features} features do not fill the shape")));
            }
            shape[*i] = Some(features / known);
        }
        _ => {
            return Err(fail(
                "non-batch dimensions are unknown; the importer needs them fixed in the file"
                    .into(),
            ));
        }
    }
    let shape: Vec<usize> = shape.into_iter().flatten().collect();
    if shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .is_none_or(|n| n > MAX_ELEMENTS)
    {
        return Err(fail(format!("shape {shape:?} is too large")));
    }
    Ok(shape)
}

/// Decodes an initializer or constant into `f64`s.
fn decode_tensor(t: &TensorProto) -> ImportResult<Const> {
    let fail = |reason: String| ImportError::Tensor {
        name: t.name.clone(),
        reason,
    };
    if t.data_location.enum_value() == Ok(DataLocation::EXTERNAL) || !t.external_data.is_empty() {
        return Err(fail(
            "stored as external data; save the model with its weights inside the .onnx file".into(),
        ));
    }
    let mut dims = Vec::with_capacity(t.dims.len());
    let mut count = 1usize;
    for &d in &t.dims {
        let d = usize::try_from(d).map_err(|_| fail(format!("negative dimension {d}")))?;
        count = count
            .checked_mul(d)
            .filter(|&c| c <= MAX_ELEMENTS)
            .ok_or_else(|| fail(format!("shape {:?} is too large", t.dims)))?;
        dims.push(d);
    }
    let raw = &t.raw_data;
    let from_raw = |width: usize, read: &dyn Fn(&[u8]) -> f64| -> ImportResult<Vec<f64>> {
        if raw.len() != count * width {
            return Err(fail(format!(
                "raw data has {} bytes, its shape {:?} needs {}",
                raw.len(),
                t.dims,
                count * width
            )));
        }
        Ok(raw.chunks_exact(width).map(read).collect())
    };
    let le = |b: &[u8]| -> [u8; 8] {
        let mut out = [0u8; 8];
        out[..b.len()].copy_from_slice(b);
        out
    };
    let data: Vec<f64> = match DataType::from_i32(t.data_type) {
        Some(DataType::FLOAT) if !raw.is_empty() => from_raw(4, &|b| {
            f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        })?,
        Some(DataType::FLOAT) => t.float_data.iter().map(|&v| f64::from(v)).collect(),
        Some(DataType::DOUBLE) if !raw.is_empty() => from_raw(8, &|b| f64::from_le_bytes(le(b)))?,
        Some(DataType::DOUBLE) => t.double_data.clone(),
        Some(DataType::INT64) if !raw.is_empty() => {
            from_raw(8, &|b| i64::from_le_bytes(le(b)) as f64)?
        }
        Some(DataType::INT64) => t.int64_data.iter().map(|&v| v as f64).collect(),
        Some(DataType::INT32) if !raw.is_empty() => from_raw(4, &|b| {
            f64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        })?,
        Some(DataType::INT8) if !raw.is_empty() => from_raw(1, &|b| f64::from(b[0] as i8))?,
        Some(DataType::UINT8 | DataType::BOOL) if !raw.is_empty() => {
            from_raw(1, &|b| f64::from(b[0]))?
        }
        Some(DataType::INT16) if !raw.is_empty() => {
            from_raw(2, &|b| f64::from(i16::from_le_bytes([b[0], b[1]])))?
        }
        Some(DataType::UINT16) if !raw.is_empty() => {
            from_raw(2, &|b| f64::from(u16::from_le_bytes([b[0], b[1]])))?
        }
        Some(
            DataType::INT32
            | DataType::INT8
            | DataType::UINT8
            | DataType::BOOL
            | DataType::INT16
            | DataType::UINT16,
        ) => t.int32_data.iter().map(|&v| f64::from(v)).collect(),
        Some(other) => return Err(fail(format!("element type {other:?} is not supported"))),
        None => return Err(fail(format!("unknown element type {}", t.data_type))),
    };
    if data.len() != count {
        return Err(fail(format!(
            "has {} values, its shape {:?} needs {count}",
            data.len(),
            t.dims
        )));
    }
    Ok(Const::new(dims, data))
}

/// A node's attributes, read with type checks.
struct Attrs<'a> {
    node: &'a NodeProto,
    label: &'a str,
}

impl<'a> Attrs<'a> {
    fn get(&self, key: &str, expected: AttributeType) -> ImportResult<Option<&'a AttributeProto>> {
        let Some(attr) = self.node.attribute.iter().find(|a| a.name == key) else {
            return Ok(None);
        };
        match attr.type_.enum_value() {
            Ok(t) if t == expected => Ok(Some(attr)),
            Ok(AttributeType::UNDEFINED) => Ok(Some(attr)),
            other => Err(self.fail(format!(
                "attribute '{key}' has type {other:?}, expected {expected:?}"
            ))),
        }
    }

    fn int(&self, key: &str, default: i64) -> ImportResult<i64> {
        Ok(self.get(key, AttributeType::INT)?.map_or(default, |a| a.i))
    }

    fn ints(&self, key: &str) -> ImportResult<Option<Vec<i64>>> {
        Ok(self.get(key, AttributeType::INTS)?.map(|a| a.ints.clone()))
    }

    fn float(&self, key: &str, default: f32) -> ImportResult<f32> {
        Ok(self
            .get(key, AttributeType::FLOAT)?
            .map_or(default, |a| a.f))
    }

    fn string(&self, key: &str) -> ImportResult<Option<String>> {
        Ok(self
            .get(key, AttributeType::STRING)?
            .map(|a| String::from_utf8_lossy(&a.s).into_owned()))
    }

    fn fail(&self, reason: impl Into<String>) -> ImportError {
        ImportError::unsupported(self.label, &self.node.op_type, reason)
    }

    /// Fails unless `key` is absent or equal to `expected`.
    fn require_int(&self, key: &str, default: i64, expected: i64, why: &str) -> ImportResult<()> {
        let v = self.int(key, default)?;
        if v != expected {
            return Err(self.fail(format!("attribute {key} = {v}: {why}")));
        }
        Ok(())
    }
}

impl Parser {
    fn node(&mut self, node: &NodeProto, index: usize) -> ImportResult<()> {
        let label = if !node.name.is_empty() {
            node.name.clone()
        } else {
            node.output
                .first()
                .cloned()
                .unwrap_or_else(|| format!("#{index}"))
        };
        let attrs = Attrs {
            node,
            label: &label,
        };
        let Some(out) = node.output.first().filter(|o| !o.is_empty()).cloned() else {
            return Err(attrs.fail("the node has no output"));
        };
        // Extra outputs (MaxPool indices, Dropout masks, BatchNormalization statistics)
        // have no integer counterpart; they must not be used.
        let several_outputs = node.domain == "ai.onnx.ml"
            && matches!(
                node.op_type.as_str(),
                "LinearClassifier" | "TreeEnsembleClassifier"
            );
        for extra in node.output.iter().skip(1).filter(|o| !o.is_empty()) {
            if !several_outputs && self.readers.get(extra).copied().unwrap_or(0) > 0 {
                return Err(attrs.fail(format!(
                    "its output '{extra}' is used, which is not supported"
                )));
            }
        }
        let passes_through = matches!(
            node.op_type.as_str(),
            "ArgMax" | "Identity" | "Dropout" | "Cast"
        );
        if (node.domain.is_empty() || node.domain == "ai.onnx") && !passes_through {
            for name in node.input.iter().filter(|n| !n.is_empty()) {
                self.materialize_softmax(name, &label);
            }
        }
        if passes_through
            && node.op_type != "ArgMax"
            && let Some(&logits) = node.input.first().and_then(|n| self.softmax_outputs.get(n))
        {
            self.softmax_outputs.insert(out.clone(), logits);
        }
        let ctx = NodeCtx { attrs, out: &out };
        match (node.domain.as_str(), node.op_type.as_str()) {
            ("" | "ai.onnx", op) => self.standard(op, &ctx),
            ("ai.onnx.ml", "ArrayFeatureExtractor") => self.array_feature_extractor(&ctx),
            ("ai.onnx.ml", "Scaler") => self.scaler(&ctx),
            ("ai.onnx.ml", "LinearClassifier") => self.linear_classifier(&ctx),
            ("ai.onnx.ml", "LinearRegressor") => self.linear_regressor(&ctx),
            ("ai.onnx.ml", "Normalizer") => self.normalizer(&ctx),
            ("ai.onnx.ml", "TreeEnsembleClassifier") => self.tree_ensemble(&ctx, true),
            ("ai.onnx.ml", "TreeEnsembleRegressor") => self.tree_ensemble(&ctx, false),
            ("verdict", ml::BINARY_HEAD) => self.binary_head(&ctx),
            (domain, op) => Err(ctx.attrs.fail(format!(
                "op '{domain}:{op}' is not supported; supported ops: {SUPPORTED}"
            ))),
        }
    }

    fn standard(&mut self, op: &str, ctx: &NodeCtx<'_>) -> ImportResult<()> {
        match op {
            "Constant" => self.constant(ctx),
            "Identity" | "Dropout" => {
                let v = self.input(ctx, 0)?;
                self.alias(ctx, v);
                Ok(())
            }
            "Cast" => self.cast(ctx),
            "MatMul" => self.matmul(ctx),
            "Gemm" => self.gemm(ctx),
            "Conv" => self.conv(ctx),
            "Add" => self.add(ctx),
            "Relu" => {
                let input = self.value_input(ctx, 0)?;
                self.push(
                    ctx,
                    FloatOp::Relu { input },
                    self.graph.shape(input).to_vec(),
                );
                Ok(())
            }
            "MaxPool" | "AveragePool" => self.pool(op, ctx),
            "GlobalAveragePool" => {
                let input = self.value_input(ctx, 0)?;
                let shape = self.chw(ctx, input)?;
                self.push(ctx, FloatOp::GlobalAvgPool { input }, vec![shape[0], 1, 1]);
                Ok(())
            }
            "Flatten" => self.flatten(ctx),
            "Reshape" => self.reshape(ctx),
            "BatchNormalization" => self.batch_norm(ctx),
            "Softmax" | "LogSoftmax" => self.softmax(op, ctx),
            "ArgMax" => self.argmax(ctx),
            "Shape" => self.shape_of(ctx),
            "Gather" if matches!(self.input(ctx, 0)?, Val::Value(_)) => self.gather_step(ctx),
            "Gather" => self.gather(ctx),
            "Concat" if self.reads_a_value(ctx)? => self.concat_values(ctx),
            "Concat" => self.concat(ctx),
            "Transpose" => self.transpose(ctx),
            "Slice" => self.slice(ctx),
            "ReduceMean" if !self.is_spatial_mean(ctx)? => self.reduce(op, ctx),
            "ReduceSum" | "ReduceMax" => self.reduce(op, ctx),
            "Unsqueeze" | "Squeeze" => self.squeeze(op, ctx),
            "ReduceMean" => self.reduce_mean(ctx),
            "Mul" if self.silu(ctx)? => Ok(()),
            "Sub" | "Mul" | "Div" => self.affine(op, ctx),
            "Sigmoid" | "Tanh" | "Exp" | "Erf" | "Gelu" | "HardSigmoid" | "HardSwish"
            | "LeakyRelu" | "Elu" | "Softplus" | "Clip" => self.activation(op, ctx),
            other => Err(ctx.attrs.fail(format!(
                "op '{other}' is not supported; supported ops: {SUPPORTED}"
            ))),
        }
    }

    // --- inputs and outputs -------------------------------------------------------------

    /// When `name` is a dropped Softmax's output and `reader` needs the probabilities
    /// themselves (attention pooling, a product, a sum), computes the Softmax after all:
    /// one integer Softmax node per logits value, however many names and readers.
    fn materialize_softmax(&mut self, name: &str, reader: &str) {
        let Some(logits) = self.softmax_outputs.remove(name) else {
            return;
        };
        let id = match self.softmax_nodes.get(&logits) {
            Some(&id) => id,
            None => {
                self.graph.nodes.push(FloatNode {
                    name: format!("{name}#softmax"),
                    op: FloatOp::Softmax { input: logits },
                    shape: self.graph.shape(logits).to_vec(),
                });
                let id = self.graph.nodes.len();
                self.value_names.push(name.to_string());
                self.softmax_nodes.insert(logits, id);
                let note = format!(
                    "Softmax '{name}' kept as the integer Softmax: '{reader}' reads the probabilities"
                );
                match self.softmax_notes.get(&logits) {
                    Some(&i) => self.graph.notes[i] = note,
                    None => self.graph.notes.push(note),
                }
                id
            }
        };
        self.names.insert(name.to_string(), Val::Value(id));
    }

    fn input(&self, ctx: &NodeCtx<'_>, i: usize) -> ImportResult<Val> {
        let name = ctx
            .attrs
            .node
            .input
            .get(i)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ctx.attrs.fail(format!("input {i} is missing")))?;
        let val = self.names.get(name).cloned().ok_or_else(|| {
            ctx.attrs.fail(format!(
                "input '{name}' is not produced by any earlier node, initializer or input"
            ))
        })?;
        if let Val::Value(id) = val {
            let passes_through = matches!(
                ctx.attrs.node.op_type.as_str(),
                "ArgMax" | "Identity" | "Dropout" | "Cast"
            );
            if self.softmax.contains(&id) && !passes_through && self.value_names[id] != *name {
                return Err(ctx.attrs.fail(format!(
                    "reads the Softmax output '{name}'; the int8 model drops Softmax, so only an \
                     ArgMax (or the graph output) may read it"
                )));
            }
        }
        Ok(val)
    }

    /// Whether any input of the node is an activation (not a constant).
    fn reads_a_value(&self, ctx: &NodeCtx<'_>) -> ImportResult<bool> {
        for i in 0..ctx.attrs.node.input.len() {
            if let Some(Val::Value(_)) = self.optional_input(ctx, i)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// A ReduceMean over both spatial axes of `[C, H, W]`: global average pooling.
    fn is_spatial_mean(&self, ctx: &NodeCtx<'_>) -> ImportResult<bool> {
        let Val::Value(id) = self.input(ctx, 0)? else {
            return Ok(false);
        };
        if self.graph.shape(id).len() != 3 {
            return Ok(false);
        }
        let mut axes: Vec<i64> = self
            .axes(ctx)?
            .unwrap_or_default()
            .iter()
            .map(|&x| if x < 0 { x + 4 } else { x })
            .collect();
        axes.sort_unstable();
        Ok(axes == [2, 3])
    }

    fn optional_input(&self, ctx: &NodeCtx<'_>, i: usize) -> ImportResult<Option<Val>> {
        match ctx.attrs.node.input.get(i) {
            Some(name) if !name.is_empty() => self.input(ctx, i).map(Some),
            _ => Ok(None),
        }
    }

    fn value_input(&self, ctx: &NodeCtx<'_>, i: usize) -> ImportResult<usize> {
        match self.input(ctx, i)? {
            Val::Value(id) => {
                if self.is_integer(id) {
                    return Err(ctx.attrs.fail(format!(
                        "input {i} holds class indices or labels, not activations"
                    )));
                }
                Ok(id)
            }
            Val::Const(_) => Err(ctx.attrs.fail(format!(
                "input {i} is a constant; only computed activations are supported there"
            ))),
        }
    }

    fn const_input(&self, ctx: &NodeCtx<'_>, i: usize) -> ImportResult<Rc<Const>> {
        match self.input(ctx, i)? {
            Val::Const(c) if !c.batch_at.is_empty() => Err(ctx.attrs.fail(format!(
                "input {i} depends on the batch size, which only a Reshape target may"
            ))),
            Val::Const(c) => Ok(c),
            Val::Value(_) => Err(ctx.attrs.fail(format!(
                "input {i} is computed at run time; it must be a constant (initializer)"
            ))),
        }
    }

    fn is_integer(&self, id: usize) -> bool {
        id > 0 && self.graph.nodes[id - 1].op.is_integer()
    }

    /// Pushes an internal float node (no ONNX name of its own) and returns its value.
    fn push_internal(
        &mut self,
        ctx: &NodeCtx<'_>,
        tag: &str,
        op: FloatOp,
        shape: Vec<usize>,
    ) -> usize {
        self.graph.nodes.push(FloatNode {
            name: format!("{}#{tag}", ctx.attrs.label),
            op,
            shape,
        });
        self.value_names.push(format!("{}#{tag}", ctx.out));
        self.graph.nodes.len()
    }

    fn push(&mut self, ctx: &NodeCtx<'_>, op: FloatOp, shape: Vec<usize>) {
        self.push_named(ctx.out, ctx.attrs.label, op, shape);
    }

    /// Pushes a node producing the ONNX name `out`, labelled `label` in errors and notes.
    fn push_named(&mut self, out: &str, label: &str, op: FloatOp, shape: Vec<usize>) {
        self.graph.nodes.push(FloatNode {
            name: label.to_string(),
            op,
            shape,
        });
        let id = self.graph.nodes.len();
        self.value_names.push(out.to_string());
        self.names.insert(out.to_string(), Val::Value(id));
    }

    /// Names the node's output as the (rewritten) producer `id`: the fold consumed the
    /// producer's only reader, so later folds may rewrite it again.
    fn fold_into(&mut self, ctx: &NodeCtx<'_>, id: usize) {
        self.value_names[id] = ctx.out.to_string();
        self.alias(ctx, Val::Value(id));
    }

    fn alias(&mut self, ctx: &NodeCtx<'_>, val: Val) {
        self.names.insert(ctx.out.to_string(), val);
    }

    /// When the node may rewrite the producer of its input `i` (value `id`) in place,
    /// that is when the input is a Dense or Conv output nothing else reads: the
    /// producer's output channels and whether it is a Conv.
    fn fold_target(&self, ctx: &NodeCtx<'_>, id: usize, i: usize) -> Option<(usize, bool)> {
        let name = &ctx.attrs.node.input[i];
        if id == 0 || self.value_names[id] != *name || self.readers.get(name).copied() != Some(1) {
            return None;
        }
        match &self.graph.nodes[id - 1].op {
            FloatOp::Dense { outputs, .. } => Some((*outputs, false)),
            FloatOp::Conv { dims, .. } => Some((dims[0], true)),
            _ => None,
        }
    }

    /// Rewrites Dense or Conv `id` (a [`Parser::fold_target`]) so that output channel `ch`
    /// becomes `(y + before[ch]) * scale[ch] + after[ch]` (every vector has one entry per
    /// channel), then names the node's output
    /// after it: how a constant Add, Sub, Mul, Div or a BatchNormalization is folded.
    fn fold_affine(
        &mut self,
        ctx: &NodeCtx<'_>,
        id: usize,
        fold: ChannelAffine,
    ) -> ImportResult<()> {
        if let Some((ch, s)) = fold
            .scale
            .iter()
            .flatten()
            .enumerate()
            .find(|(_, s)| !s.is_finite())
        {
            return Err(ctx
                .attrs
                .fail(format!("channel {ch}: the folded scale {s} is not finite")));
        }
        let (FloatOp::Dense {
            weight,
            bias,
            outputs: channels,
            ..
        }
        | FloatOp::Conv {
            weight,
            bias,
            dims: [channels, ..],
            ..
        }) = &mut self.graph.nodes[id - 1].op
        else {
            unreachable!("fold_target checked the op")
        };
        let channels = *channels;
        let per_channel = weight.len() / channels;
        if fold.before.is_some() || fold.after.is_some() {
            bias.get_or_insert_with(|| vec![0.0; channels]);
        }
        for ch in 0..channels {
            if let Some(b) = bias.as_mut() {
                let mut v = b[ch];
                if let Some(before) = &fold.before {
                    v += before[ch];
                }
                if let Some(scale) = &fold.scale {
                    v *= scale[ch];
                }
                if let Some(after) = &fold.after {
                    v += after[ch];
                }
                b[ch] = v;
            }
            if let Some(scale) = &fold.scale {
                for w in &mut weight[ch * per_channel..(ch + 1) * per_channel] {
                    *w *= scale[ch];
                }
            }
        }
        self.fold_into(ctx, id);
        Ok(())
    }

    fn chw(&self, ctx: &NodeCtx<'_>, id: usize) -> ImportResult<[usize; 3]> {
        match *self.graph.shape(id) {
            [c, h, w] => Ok([c, h, w]),
            ref other => Err(ctx.attrs.fail(format!(
                "input has per-example shape {other:?}; expected [C, H, W] (NCHW with a batch axis)"
            ))),
        }
    }

    // --- ops ----------------------------------------------------------------------------

    fn constant(&mut self, ctx: &NodeCtx<'_>) -> ImportResult<()> {
        let a = &ctx.attrs;
        let value = if let Some(t) = a.get("value", AttributeType::TENSOR)? {
            let tensor =
                t.t.as_ref()
                    .ok_or_else(|| a.fail("attribute 'value' holds no tensor"))?;
            decode_tensor(tensor)?
        } else if let Some(f) = a.get("value_float", AttributeType::FLOAT)? {
            Const::new(vec![], vec![f64::from(f.f)])
        } else if let Some(f) = a.get("value_floats", AttributeType::FLOATS)? {
            Const::new(
                vec![f.floats.len()],
                f.floats.iter().map(|&v| f64::from(v)).collect(),
            )
        } else if let Some(i) = a.get("value_int", AttributeType::INT)? {
            Const::new(vec![], vec![i.i as f64])
        } else if let Some(i) = a.get("value_ints", AttributeType::INTS)? {
            Const::new(
                vec![i.ints.len()],
                i.ints.iter().map(|&v| v as f64).collect(),
            )
        } else {
            return Err(
                a.fail("no supported value attribute (value, value_float(s), value_int(s))")
            );
        };
        self.alias(ctx, Val::Const(Rc::new(value)));
        Ok(())
    }

    fn cast(&mut self, ctx: &NodeCtx<'_>) -> ImportResult<()> {
        let to = ctx.attrs.int("to", 0)?;
        let input = self.input(ctx, 0)?;
        let to_float = matches!(
            DataType::from_i32(to as i32),
            Some(DataType::FLOAT | DataType::DOUBLE | DataType::FLOAT16 | DataType::BFLOAT16)
        );
        match input {
            Val::Value(id) if !to_float && !self.is_integer(id) => Err(ctx.attrs.fail(format!(
                "casts activations to integer type {to}, which truncates; not supported"
            ))),
            other => {
                self.alias(ctx, other);
                Ok(())
            }
        }
    }

    fn matmul(&mut self, ctx: &NodeCtx<'_>) -> ImportResult<()> {
        let input = self.value_input(ctx, 0)?;
        let b = self.const_input(ctx, 1)?;
        let &[inner, outputs] = b.dims.as_slice() else {
            return Err(ctx.attrs.fail(format!(
                "weight shape {:?}; only a 2-D constant [K, N] right operand is supported",
                b.dims
            )));
        };
        let shape = self.graph.shape(input).to_vec();
        if shape.last() != Some(&inner) {
            return Err(ctx.attrs.fail(format!(
                "input shape {shape:?} does not end in the weight's K = {inner}"
            )));
        }
        // Store as [N, K]: one row per output, as the Verdict MatMul reads it.
        let mut weight = vec![0.0; inner * outputs];
        for k in 0..inner {
            for n in 0..outputs {
                weight[n * inner + k] = b.data[k * outputs + n];
            }
        }
        let mut out_shape = shape;
        *out_shape.last_mut().expect("checked non-empty") = outputs;
        self.push(
            ctx,
            FloatOp::Dense {
                input,
                weight,
                outputs,
                inner,
                bias: None,
            },
            out_shape,
        );
        Ok(())
    }

    fn gemm(&mut self, ctx: &NodeCtx<'_>) -> ImportResult<()> {
        let a = &ctx.attrs;
        a.require_int(
            "transA",
            0,
            0,
            "a transposed activation operand is not supported",
        )?;
        let input = self.value_input(ctx, 0)?;
        let b = self.const_input(ctx, 1)?;
        let trans_b = a.int("transB", 0)? != 0;
        let alpha = f64::from(a.float("alpha", 1.0)?);
        let beta = f64::from(a.float("beta", 1.0)?);
        let &[d0, d1] = b.dims.as_slice() else {
            return Err(a.fail(format!("weight shape {:?} must be 2-D", b.dims)));
        };
        let (inner, outputs) = if trans_b { (d1, d0) } else { (d0, d1) };
        let shape = self.graph.shape(input).to_vec();
        if shape != [inner] {
            return Err(a.fail(format!(
                "input per-example shape {shape:?} must be [{inner}] (Gemm takes [batch, K])"
            )));
        }
        let mut weight = vec![0.0; inner * outputs];
        for n in 0..outputs {
            for k in 0..inner {
                let w = if trans_b {
                    b.data[n * inner + k]
                } else {
                    b.data[k * outputs + n]
                };
                weight[n * inner + k] = alpha * w;
            }
        }
        let bias = match self.optional_input(ctx, 2)? {
            None => None,
            Some(Val::Value(_)) => {
                return Err(a.fail("input C is computed at run time; it must be a constant"));
            }
            Some(Val::Const(c)) if !c.batch_at.is_empty() => {
                return Err(a.fail("C depends on the batch size"));
            }
            Some(Val::Const(c)) => Some(
                broadcast_channel(&c, outputs, false)
                    .ok_or_else(|| {
                        a.fail(format!(
                            "C of shape {:?} does not broadcast to [{outputs}]",
                            c.dims
                        ))
                    })?
                    .into_iter()
                    .map(|v| beta * v)
                    .collect(),
            ),
        };
        self.push(
            ctx,
            FloatOp::Dense {
                input,
                weight,
                outputs,
                inner,
                bias,
            },
            vec![outputs],
        );
        Ok(())
    }

    fn conv(&mut self, ctx: &NodeCtx<'_>) -> ImportResult<()> {
        let a = &ctx.attrs;
        let input = self.value_input(ctx, 0)?;
        let weight = self.const_input(ctx, 1)?;
        // A 1-D conv over `[C, T]` is the 2-D one over `[C, 1, T]` with a `1 x k` kernel.
        let (one_d, [c, h, w], [o, wc, kh, kw]) =
            match (self.graph.shape(input), weight.dims.as_slice()) {
                (&[c, h, w], &[o, wc, kh, kw]) => (false, [c, h, w], [o, wc, kh, kw]),
                (&[c, t], &[o, wc, k]) => (true, [c, 1, t], [o, wc, 1, k]),
                (shape, dims) => {
                    return Err(a.fail(format!(
                        "weight shape {dims:?} over an input of per-example shape {shape:?}; \
                         1-D ([O, C, k] over [C, T]) and 2-D ([O, C, kh, kw] over [C, H, W]) \
                         convolutions are supported"
                    )));
                }
            };
        a.require_int(
            "group",
            1,
            1,
            "grouped and depthwise convolutions are not in the op set",
        )?;
        if wc != c {
            return Err(a.fail(format!("weight has {wc} input channels, the input has {c}")));
        }
        let kernel_shape: Vec<i64> = if one_d {
            vec![kw as i64]
        } else {
            vec![kh as i64, kw as i64]
        };
        if let Some(k) = a.ints("kernel_shape")?
            && k != kernel_shape
        {
            return Err(a.fail(format!(
                "kernel_shape {k:?} disagrees with the weight's {kernel_shape:?}"
            )));
        }
        // Dilation as a kernel with zeros between the taps: the same sums, exactly.
        let [dh, dw] = match geometry_ints(a, "dilations", one_d)?.as_deref() {
            None => [1, 1],
            Some(&[dh, dw]) if dh >= 1 && dw >= 1 => [dh as usize, dw as usize],
            Some(other) => {
                return Err(a.fail(format!(
                    "dilations {other:?}; positive dilations are required"
                )));
            }
        };
        let (ekh, ekw) = ((kh - 1) * dh + 1, (kw - 1) * dw + 1);
        let weights = if (dh, dw) == (1, 1) {
            weight.data.clone()
        } else {
            let mut dilated = vec![0.0; o * c * ekh * ekw];
            for oc in 0..o * c {
                for y in 0..kh {
                    for x in 0..kw {
                        dilated[(oc * ekh + y * dh) * ekw + x * dw] =
                            weight.data[(oc * kh + y) * kw + x];
                    }
                }
            }
            self.graph.notes.push(format!(
                "{}: dilation {:?} as a {ekh}x{ekw} kernel with zeros between the taps",
                a.label,
                if one_d { vec![dw] } else { vec![dh, dw] }
            ));
            dilated
        };
        let window = window(a, [ekh, ekw], [h, w], one_d)?;
        let bias = match self.optional_input(ctx, 2)? {
            None => None,
            Some(Val::Value(_)) => {
                return Err(a.fail("the bias is computed at run time; it must be a constant"));
            }
            Some(Val::Const(b)) if b.data.len() == o && b.batch_at.is_empty() => {
                Some(b.data.clone())
            }
            Some(Val::Const(b)) => {
                return Err(a.fail(format!("bias shape {:?} must be [{o}]", b.dims)));
            }
        };
        let [oh, ow] = super::float::out_size(&window, h, w);
        self.push(
            ctx,
            FloatOp::Conv {
                input,
                weight: weights,
                dims: [o, c, ekh, ekw],
                bias,
                window,
            },
            if one_d { vec![o, ow] } else { vec![o, oh, ow] },
        );
        Ok(())
    }

    fn add(&mut self, ctx: &NodeCtx<'_>) -> ImportResult<()> {
        let (x, y) = (self.input(ctx, 0)?, self.input(ctx, 1)?);
        let (id, constant, slot) = match (x, y) {
            (Val::Value(_), Val::Value(_)) => {
                let (a, b) = (self.value_input(ctx, 0)?, self.value_input(ctx, 1)?);
                let (sa, sb) = (self.graph.shape(a).to_vec(), self.graph.shape(b).to_vec());
                if sa != sb {
                    return Err(ctx.attrs.fail(format!(
                        "operands of shapes {sa:?} and {sb:?}; broadcasting between activations is not supported"
                    )));
                }
                self.push(ctx, FloatOp::Add { a, b }, sa);
                return Ok(());
            }
            (Val::Value(id), Val::Const(c)) if c.batch_at.is_empty() => (id, c, 0),
            (Val::Const(c), Val::Value(id)) if c.batch_at.is_empty() => (id, c, 1),
            (Val::Value(_), Val::Const(_)) | (Val::Const(_), Val::Value(_)) => {
                return Err(ctx
                    .attrs
                    .fail("adds a constant that depends on the batch size"));
            }
            (Val::Const(_), Val::Const(_)) => {
                return Err(ctx
                    .attrs
                    .fail("adds two constants; constant folding is not supported"));
            }
        };
        self.add_bias(ctx, id, slot, &constant)
    }

    /// Folds a constant added to a Dense or Conv output into its bias.
    fn add_bias(
        &mut self,
        ctx: &NodeCtx<'_>,
        id: usize,
        slot: usize,
        c: &Const,
    ) -> ImportResult<()> {
        let Some((channels, is_conv)) = self.fold_target(ctx, id, slot) else {
            return Err(ctx.attrs.fail(
                "adds a constant to a value that is not a MatMul/Gemm/Conv output read only by this Add; \
                 only such bias additions are supported",
            ));
        };
        let values = broadcast_channel(c, channels, is_conv).ok_or_else(|| {
            ctx.attrs.fail(format!(
                "constant of shape {:?} is not a per-channel bias for {channels} channels",
                c.dims
            ))
        })?;
        let fold = ChannelAffine {
            before: Some(values),
            ..ChannelAffine::default()
        };
        self.fold_affine(ctx, id, fold)
    }

    fn batch_norm(&mut self, ctx: &NodeCtx<'_>) -> ImportResult<()> {
        let a = &ctx.attrs;
        let Val::Value(id) = self.input(ctx, 0)? else {
            return Err(a.fail("input 0 is a constant"));
        };
        // A Dense output's channels are its last axis; BatchNormalization's are axis 1.
        let target = self
            .fold_target(ctx, id, 0)
            .filter(|&(_, is_conv)| is_conv || self.graph.shape(id).len() == 1);
        let Some((channels, _)) = target else {
            return Err(a.fail(
                "only a BatchNormalization right after a Conv or Gemm, reading its output alone, is supported \
                 (it is folded into that op's weights)",
            ));
        };
        let epsilon = f64::from(a.float("epsilon", 1e-5)?);
        let params: Vec<Rc<Const>> = (1..5)
            .map(|i| self.const_input(ctx, i))
            .collect::<ImportResult<_>>()?;
        if params.iter().any(|p| p.data.len() != channels) {
            return Err(a.fail(format!(
                "scale, bias, mean and variance must each have {channels} values"
            )));
        }
        let [gamma, beta, mean, var] = [0, 1, 2, 3].map(|i| &params[i].data);
        // y' = (y - mean) * gamma / sqrt(var + eps) + beta
        let fold = ChannelAffine {
            before: Some(mean.iter().map(|m| -m).collect()),
            scale: Some(
                gamma
                    .iter()
                    .zip(var)
                    .map(|(g, v)| g / (v + epsilon).sqrt())
                    .collect(),
            ),
            after: Some(beta.clone()),
        };
        self.fold_affine(ctx, id, fold)?;
        self.graph.notes.push(format!(
            "BatchNormalization '{}' folded into the op before it",
            a.label
        ));
        Ok(())
    }

    fn pool(&mut self, op: &str, ctx: &NodeCtx<'_>) -> ImportResult<()> {
        let a = &ctx.attrs;
        let input = self.value_input(ctx, 0)?;
        let [c, h, w] = self.chw(ctx, input)?;
        a.require_int(
            "ceil_mode",
            0,
            0,
            "only floor output sizes (ceil_mode = 0) are supported",
        )?;
        let kernel = match a.ints("kernel_shape")?.as_deref() {
            Some(&[kh, kw]) if kh > 0 && kw > 0 => [kh as usize, kw as usize],
            other => {
                return Err(a.fail(format!("kernel_shape {other:?}; a 2-D kernel is required")));
            }
        };
        if let Some(d) = a.ints("dilations")?
            && d.iter().any(|&v| v != 1)
        {
            return Err(a.fail(format!("dilations {d:?}; only 1 is supported")));
        }
        let window = window(a, kernel, [h, w], false)?;
        if window
            .padding
            .iter()
            .zip([0, 1, 0, 1])
            .any(|(&p, i)| p >= window.kernel[i])
        {
            return Err(a.fail(format!(
                "pads {:?} not smaller than the kernel {:?}: some windows would hold only padding",
                window.padding, window.kernel
            )));
        }
        let [oh, ow] = super::float::out_size(&window, h, w);
        let op = if op == "MaxPool" {
            FloatOp::MaxPool { input, window }
        } else {
            FloatOp::AvgPool {
                input,
                window,
                count_include_pad: a.int("count_include_pad", 0)? != 0,
            }
        };
        self.push(ctx, op, vec![c, oh, ow]);
        Ok(())
    }

    fn flatten(&mut self, ctx: &NodeCtx<'_>) -> ImportResult<()> {
        let input = self.value_input(ctx, 0)?;
        let shape = self.graph.shape(input).to_vec();
        let rank = shape.len() as i64 + 1;
        let axis = ctx.attrs.int("axis", 1)?;
        let axis = if axis < 0 { axis + rank } else { axis };
        if axis != 1 {
            return Err(ctx.attrs.fail(format!(
                "axis {axis}: only Flatten at axis 1 (keep the batch axis, flatten the rest) is supported"
            )));
        }
        self.reshape_to(ctx, input, vec![shape.iter().product()]);
        Ok(())
    }

    fn reshape(&mut self, ctx: &NodeCtx<'_>) -> ImportResult<()> {
        let a = &ctx.attrs;
        let val = self.input(ctx, 0)?;
        // A target computed by Shape arithmetic may hold the batch size (unknown here) as
        // its first entry: that keeps the batch axis, as a 0 (copy) would.
        let mut batch_first = false;
        let target: Vec<i64> = match self.optional_input(ctx, 1)? {
            Some(Val::Const(c)) => {
                match c.batch_at.as_slice() {
                    [] => {}
                    [0] => batch_first = true,
                    _ => {
                        return Err(a.fail(
                            "the target shape uses the batch size inside the per-example shape",
                        ));
                    }
                }
                c.data.iter().map(|&v| v as i64).collect()
            }
            Some(Val::Value(_)) => {
                return Err(
                    a.fail("the target shape is computed at run time; it must be a constant")
                );
            }
            None => a.ints("shape")?.ok_or_else(|| a.fail("no target shape"))?,
        };
        let Val::Value(input) = val else {
            return Err(a.fail("reshapes a constant; constant folding is not supported"));
        };
        let shape = self.graph.shape(input).to_vec();
        let count: usize = shape.iter().product();
        if target == [-1] {
            // [batch, 1] -> [batch]: the class-label path of classifier exports.
            if count == 1 {
                self.alias(ctx, Val::Value(input));
                return Ok(());
            }
            return Err(a.fail(format!(
                "shape [-1] would merge the batch axis into the {count} features"
            )));
        }
        let allow_zero = a.int("allowzero", 0)? != 0;
        let Some((&first, rest)) = target.split_first() else {
            return Err(a.fail("an empty target shape drops the batch axis"));
        };
        if !batch_first && (first < -1 || (first == 0 && allow_zero)) {
            return Err(a.fail(format!(
                "target shape {target:?} does not keep the batch axis first"
            )));
        }
        let mut resolved = Vec::with_capacity(rest.len());
        let mut infer = None;
        for (i, &d) in rest.iter().enumerate() {
            match d {
                0 if !allow_zero => resolved.push(*shape.get(i).ok_or_else(|| {
                    a.fail(format!("0 at axis {} has no input axis to copy", i + 1))
                })?),
                -1 if infer.is_none() && first != -1 => {
                    infer = Some(i);
                    resolved.push(1);
                }
                d if d > 0 => resolved.push(d as usize),
                _ => {
                    return Err(a.fail(format!("target shape {target:?} is ambiguous per example")));
                }
            }
        }
        let known: usize = resolved.iter().product();
        if let Some(i) = infer {
            if known == 0 || !count.is_multiple_of(known) {
                return Err(a.fail(format!("cannot reshape {shape:?} to {target:?}")));
            }
            resolved[i] = count / known;
        }
        if resolved.iter().product::<usize>() != count {
            return Err(a.fail(format!(
                "cannot reshape per-example {shape:?} to {target:?}"
            )));
        }
        self.reshape_to(ctx, input, resolved);
        Ok(())
    }

    fn reshape_to(&mut self, ctx: &NodeCtx<'_>, input: usize, shape: Vec<usize>) {
        if self.graph.shape(input) == shape.as_slice() {
            self.alias(ctx, Val::Value(input));
        } else {
            self.push(ctx, FloatOp::Reshape { input }, shape);
        }
    }

    fn softmax(&mut self, op: &str, ctx: &NodeCtx<'_>) -> ImportResult<()> {
        let input = self.value_input(ctx, 0)?;
        let rank = self.graph.shape(input).len() as i64 + 1;
        let default = if self.opset >= 13 { -1 } else { 1 };
        let axis = ctx.attrs.int("axis", default)?;
        let axis = if axis < 0 { axis + rank } else { axis };
        if axis != rank - 1 {
            if op != "Softmax" || axis < 1 || axis >= rank {
                return Err(ctx.attrs.fail(format!(
                    "axis {axis}: only a {op} over the last axis is supported"
                )));
            }
            return self.softmax_along(ctx, input, axis as usize - 1);
        }
        // Softmax is strictly increasing in each score, so the argmax, and with it the
        // class, is unchanged without it; the int8 model outputs the scores. A reader that
        // needs the probabilities brings it back (`materialize_softmax`).
        self.softmax.insert(input);
        if op == "Softmax" {
            self.softmax_outputs.insert(ctx.out.to_string(), input);
            self.softmax_notes.insert(input, self.graph.notes.len());
        }
        self.graph.notes.push(format!(
            "{op} '{}' dropped: the int8 model outputs its input scores (the class is unchanged)",
            ctx.attrs.label
        ));
        self.alias(ctx, Val::Value(input));
        Ok(())
    }

    /// A Softmax over per-example axis `axis` (not the last): the axis moved last (a
    /// Reshape when every later dimension is 1, else a Transpose swapping it with the
    /// last), the integer Softmax, and back. Before opset 13 the Softmax covers every
    /// axis from `axis` on, flattened.
    fn softmax_along(&mut self, ctx: &NodeCtx<'_>, input: usize, axis: usize) -> ImportResult<()> {
        let shape = self.graph.shape(input).to_vec();
        let last = shape.len() - 1;
        let (moved, forward, back) = if self.opset < 13 {
            let mut flat = shape[..axis].to_vec();
            flat.push(shape[axis..].iter().product());
            (flat, FloatOp::Reshape { input }, None)
        } else if shape[axis + 1..].iter().all(|&d| d == 1) {
            let mut moved: Vec<usize> = shape
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != axis)
                .map(|(_, &d)| d)
                .collect();
            moved.push(shape[axis]);
            (moved, FloatOp::Reshape { input }, None)
        } else {
            let mut perm: Vec<u8> = (0..shape.len() as u8).collect();
            perm.swap(axis, last);
            let moved = perm.iter().map(|&p| shape[p as usize]).collect();
            (
                moved,
                FloatOp::Transpose {
                    input,
                    perm: perm.clone(),
                },
                Some(perm),
            )
        };
        let moved_id = self.push_internal(ctx, "moved", forward, moved.clone());
        let soft = self.push_internal(ctx, "softmax", FloatOp::Softmax { input: moved_id }, moved);
        let back = match back {
            Some(perm) => FloatOp::Transpose { input: soft, perm },
            None => FloatOp::Reshape { input: soft },
        };
        self.push(ctx, back, shape);
        self.graph.notes.push(format!(
            "Softmax '{}' over axis {}: the integer Softmax with the axis moved last",
            ctx.attrs.label,
            axis + 1
        ));
        Ok(())
    }

    fn argmax(&mut self, ctx: &NodeCtx<'_>) -> ImportResult<()> {
        let a = &ctx.attrs;
        let input = self.value_input(ctx, 0)?;
        let shape = self.graph.shape(input).to_vec();
        let rank = shape.len() as i64 + 1;
        let axis = a.int("axis", 0)?;
        let axis = if axis < 0 { axis + rank } else { axis };
        if axis != rank - 1 {
            return Err(a.fail(format!(
                "axis {axis}: only the last axis ({}) is supported",
                rank - 1
            )));
        }
        a.require_int(
            "select_last_index",
            0,
            0,
            "ties must go to the lowest index",
        )?;
        if a.int("keepdims", 1)? == 0 {
            self.graph.notes.push(format!(
                "ArgMax '{}' has keepdims = 0; the int8 model keeps a last axis of 1",
                a.label
            ));
        }
        let mut out = shape;
        *out.last_mut().expect("rank >= 1") = 1;
        self.push(ctx, FloatOp::ArgMax { input }, out);
        Ok(())
    }

    fn array_feature_extractor(&mut self, ctx: &NodeCtx<'_>) -> ImportResult<()> {
        let a = &ctx.attrs;
        let classes = self.const_input(ctx, 0)?;
        let Val::Value(input) = self.input(ctx, 1)? else {
            return Err(a.fail("the indices are constant"));
        };
        let Some(FloatOp::ArgMax { input: scores }) =
            input.checked_sub(1).map(|i| &self.graph.nodes[i].op)
        else {
            return Err(a.fail("only a lookup of class labels by an ArgMax output is supported"));
        };
        let n = self.graph.shape(*scores).last().copied().unwrap_or(0);
        if classes.data.len() != n {
            return Err(a.fail(format!(
                "{} class labels for {n} scores",
                classes.data.len()
            )));
        }
        if classes.data.iter().enumerate().all(|(i, &c)| c == i as f64) {
            self.graph.notes.push(format!(
                "label lookup '{}' dropped: its labels are the class indices",
                a.label
            ));
            self.alias(ctx, Val::Value(input));
            return Ok(());
        }
        let labels = classes
            .data
            .iter()
            .map(|&c| {
                (c.fract() == 0.0 && c >= f64::from(i32::MIN) && c <= f64::from(i32::MAX))
                    .then_some(c as i32)
                    .ok_or_else(|| a.fail(format!("class label {c} is not a 32-bit integer")))
            })
            .collect::<ImportResult<Vec<i32>>>()?;
        self.push(ctx, FloatOp::LabelLookup { input, labels }, vec![1]);
        Ok(())
    }

    fn finish(mut self, output: &str) -> ImportResult<FloatGraph> {
        let Some(Val::Value(id)) = self.names.get(output).cloned() else {
            return Err(ImportError::Structure(format!(
                "output '{output}' is a constant"
            )));
        };
        if id == 0 || self.graph.nodes.is_empty() {
            return Err(ImportError::Structure(format!(
                "output '{output}' is the model input itself"
            )));
        }
        if id != self.graph.nodes.len() {
            return Err(ImportError::Structure(format!(
                "output '{output}' is not the last value computed; it cannot be imported alone"
            )));
        }
        self.graph.output_softmax = self
            .softmax_outputs
            .get(output)
            .and_then(|logits| self.softmax_notes.get(logits))
            .copied();
        let scores = self.softmax.contains(&id) || self.graph.output_softmax.is_some();
        if scores {
            self.graph.notes.push(format!(
                "output '{output}' holds the scores before Softmax (or the classifier's transform)"
            ));
        }
        let single = self.graph.shape(id).iter().product::<usize>() == 1;
        self.graph.task = if self.graph.outputs_class() || scores {
            Task::Classification
        } else {
            match self.task_hint {
                Some(task) => task,
                None if single => Task::Regression,
                None => Task::Classification,
            }
        };
        Ok(self.graph)
    }
}

/// A per-channel affine map folded into a Dense or Conv: `(y + before) * scale + after`.
#[derive(Debug, Default)]
struct ChannelAffine {
    before: Option<Vec<f64>>,
    scale: Option<Vec<f64>>,
    after: Option<Vec<f64>>,
}

/// A node being translated and its (first) output name.
struct NodeCtx<'a> {
    attrs: Attrs<'a>,
    out: &'a str,
}

/// An attribute of window geometry as its 2-D form: a 1-D op's `[v]` is `[1, v]`, its
/// pads `[left, right]` are `[0, left, 0, right]`.
fn geometry_ints(a: &Attrs<'_>, key: &str, one_d: bool) -> ImportResult<Option<Vec<i64>>> {
    Ok(match (a.ints(key)?, one_d) {
        (Some(v), true) if key == "pads" && v.len() == 2 => Some(vec![0, v[0], 0, v[1]]),
        (Some(v), true) if key != "pads" && v.len() == 1 => Some(vec![1, v[0]]),
        (v, _) => v,
    })
}

/// Window geometry from `strides`, `pads` and `auto_pad` (dilations are the caller's:
/// a convolution dilates its kernel, a pool refuses them).
fn window(
    a: &Attrs<'_>,
    [kh, kw]: [usize; 2],
    [h, w]: [usize; 2],
    one_d: bool,
) -> ImportResult<Window> {
    if h == 0 || w == 0 || kh == 0 || kw == 0 {
        return Err(a.fail(format!("a {kh}x{kw} window over a {h}x{w} input is empty")));
    }
    let strides = match geometry_ints(a, "strides", one_d)?.as_deref() {
        None => [1, 1],
        Some(&[sh, sw]) if sh > 0 && sw > 0 => [sh as usize, sw as usize],
        Some(other) => {
            return Err(a.fail(format!(
                "strides {other:?}; two positive strides are required"
            )));
        }
    };
    let auto_pad = a.string("auto_pad")?.unwrap_or_default();
    let padding = match auto_pad.as_str() {
        "" | "NOTSET" => match geometry_ints(a, "pads", one_d)?.as_deref() {
            None => [0; 4],
            Some(&[t, l, b, r]) if [t, l, b, r].iter().all(|&p| p >= 0) => {
                [t, l, b, r].map(|p| p as usize)
            }
            Some(other) => {
                return Err(a.fail(format!(
                    "pads {other:?}; four non-negative pads are required"
                )));
            }
        },
        "VALID" => [0; 4],
        "SAME_UPPER" | "SAME_LOWER" => {
            // The output keeps ceil(size / stride) positions; pad what that needs.
            let total = |size: usize, k: usize, s: usize| {
                ((size.div_ceil(s) - 1) * s + k).saturating_sub(size)
            };
            let (th, tw) = (total(h, kh, strides[0]), total(w, kw, strides[1]));
            let (small_h, small_w) = (th / 2, tw / 2);
            if auto_pad == "SAME_UPPER" {
                [small_h, small_w, th - small_h, tw - small_w]
            } else {
                [th - small_h, tw - small_w, small_h, small_w]
            }
        }
        other => return Err(a.fail(format!("auto_pad '{other}' is not supported"))),
    };
    let to_u32 =
        |v: usize| u32::try_from(v).map_err(|_| a.fail(format!("window size {v} is too large")));
    let window = Window {
        kernel: [to_u32(kh)?, to_u32(kw)?],
        stride: [to_u32(strides[0])?, to_u32(strides[1])?],
        padding: [
            to_u32(padding[0])?,
            to_u32(padding[1])?,
            to_u32(padding[2])?,
            to_u32(padding[3])?,
        ],
    };
    if window.output_size(h as u32, w as u32).is_none() {
        return Err(a.fail(format!(
            "the {kh}x{kw} window does not fit the {h}x{w} input"
        )));
    }
    Ok(window)
}

/// A constant that broadcasts to one value per channel: one value, or `channels` values
/// laid along the channel axis (`[.., N]` for dense, `[.., O, 1, 1]` for conv).
fn broadcast_channel(c: &Const, channels: usize, conv: bool) -> Option<Vec<f64>> {
    if c.data.len() == 1 {
        return Some(vec![c.data[0]; channels]);
    }
    if c.data.len() != channels {
        return None;
    }
    let dims: Vec<usize> = c.dims.iter().copied().skip_while(|&d| d == 1).collect();
    let ok = if conv {
        dims == [channels, 1, 1]
    } else {
        dims == [channels]
    };
    ok.then(|| c.data.clone())
}
