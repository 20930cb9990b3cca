//! The burn executor: the graph on burn tensors, batched, weights prepared once.

mod contract;
mod elementwise;
mod gather;
mod index;
mod layout;
mod pool;
mod softmax;
mod tree;
mod values;

use super::reference::check_all;
use super::{ExecError, ExecResult, Executor};
use burn::tensor::{Device, Tensor as BurnTensor};
use contract::{Conv2d, MatMul, float_tensor, int_tensor};
use elementwise::{Add, Broadcast, Mul, Requantize, relu};
use index::{ArgMax, LabelLookup, Table};
use layout::{Concat, Rearrange, SwapBlocks};
use pool::{AvgPool, GlobalAvgPool, MaxPool};
use rayon::prelude::*;
use softmax::Softmax;
use std::sync::Arc;
use tree::{ReduceSum, TreeEnsemble};
use values::{Form, Values};
use verdict_specs::model::{Op, ValueId, ValueType, Window};
use verdict_specs::{DType, Model, Tensor, TensorData, ops};

/// Fewest examples worth a thread of their own: handing a smaller part to another thread
/// costs more than running it here.
pub const MIN_EXAMPLES_PER_THREAD: usize = 8;

/// Least work (in [`work_per_example`] units) a part must hold to be worth a thread:
/// below it, waking a second thread and running every op twice at half the rows costs
/// more than it saves. Measured on 2 cores: the digits MLP (about 6.7k units an example)
/// ran 1.3x to 1.5x slower on two threads at every batch up to 540, the digits CNN
/// (about 0.8M units) 1.6x to 2x faster from batch 64 on.
pub const MIN_WORK_PER_PART: usize = 1 << 21;

/// What one gathered element costs against one multiply-accumulate of a contraction:
/// convolution and pooling windows, tree walks and lookups move data element by element
/// (burn's gather), contractions run as SIMD matrix products.
const GATHER_COST: usize = 32;

/// One prepared node.
#[derive(Clone, Debug)]
enum Step {
    MatMul(MatMul),
    Conv2d(Conv2d),
    Requantize(Requantize),
    Relu(ValueId),
    Add(Add),
    MaxPool(MaxPool),
    AvgPool(AvgPool),
    GlobalAvgPool(GlobalAvgPool),
    /// Reshape: the flat layout does not change.
    Reshape(ValueId),
    ArgMax(ArgMax),
    LabelLookup(LabelLookup),
    Table(Table),
    /// Boxed: its prepared tables make it by far the largest step.
    TreeEnsemble(Box<TreeEnsemble>),
    ReduceSum(ReduceSum),
    Softmax(Softmax),
    Mul(Mul),
    /// Transpose or Slice.
    Rearrange(Rearrange),
    /// A Transpose of two blocks of axes.
    SwapBlocks(SwapBlocks),
    Concat(Concat),
}

impl Step {
    fn run(&self, values: &mut Values<'_>, batch: usize) -> Form {
        match self {
            Step::MatMul(op) => op.run(values, batch),
            Step::Conv2d(op) => op.run(values),
            Step::Requantize(op) => op.run(values),
            Step::Relu(input) => relu(values, *input),
            Step::Add(op) => op.run(values),
            Step::MaxPool(op) => op.run(values),
            Step::AvgPool(op) => op.run(values),
            Step::GlobalAvgPool(op) => op.run(values, batch),
            Step::Reshape(input) => values.any(*input),
            Step::ArgMax(op) => op.run(values, batch),
            Step::LabelLookup(op) => op.run(values, batch),
            Step::Table(op) => op.run(values, batch),
            Step::TreeEnsemble(op) => op.run(values, batch),
            Step::ReduceSum(op) => op.run(values, batch),
            Step::Softmax(op) => op.run(values, batch),
            Step::Mul(op) => op.run(values),
            Step::Rearrange(op) => op.run(values),
            Step::SwapBlocks(op) => op.run(values),
            Step::Concat(op) => op.run(values),
        }
    }
}

/// Runs a model on burn tensors, a whole batch per op, bit-identical to the reference.
///
/// Everything that does not depend on the input is prepared at construction: weights as
/// `f32` tensors in the layout their op needs (already cut into exact chunks), biases,
/// requantization parameters, divisors and argmax ranks as tensors. See the module docs of
/// [`crate`] for why the results are exact and thread-count independent.
#[derive(Clone)]
pub struct BurnExecutor {
    model: Arc<Model>,
    device: Device,
    steps: Vec<Step>,
    /// How often each value is read by the steps (the output once more, by the caller).
    reads: Vec<usize>,
    /// Fewest examples a part of a split batch holds (work and count bounds).
    min_part: usize,
    pool: Option<Arc<rayon::ThreadPool>>,
}

impl std::fmt::Debug for BurnExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BurnExecutor")
            .field("model", &self.model.metadata.name)
            .field("device", &self.device)
            .field("steps", &self.steps.len())
            .field(
                "threads",
                &self.pool.as_ref().map(|p| p.current_num_threads()),
            )
            .finish()
    }
}

impl BurnExecutor {
    /// Prepares `model` for `device`. Fails only for a model this executor cannot run
    /// exactly ([`ExecError::Unsupported`]: an average-pool window of more than 132104
    /// taps, whose sum may not be exact in `f32`).
    pub fn new(model: &Model, device: Device) -> ExecResult<Self> {
        let types = model.value_types();
        let weights = model.weights();
        let bounds = value_bounds(model);
        let mut steps = Vec::with_capacity(model.graph().nodes.len());
        for (node, op) in model.graph().nodes.iter().enumerate() {
            let ty = |id: ValueId| &types[id as usize];
            let out = &types[node + 1].shape;
            let step = match op {
                Op::MatMul {
                    input,
                    weight,
                    bias,
                } => Step::MatMul(MatMul::new(
                    *input,
                    &weights[*weight as usize],
                    bias.map(|b| &weights[b as usize]),
                    &device,
                )),
                Op::Conv2d {
                    input,
                    weight,
                    bias,
                    stride,
                    padding,
                } => {
                    let w = &weights[*weight as usize];
                    let window = Window {
                        kernel: [w.shape()[2], w.shape()[3]],
                        stride: *stride,
                        padding: *padding,
                    };
                    Step::Conv2d(Conv2d::new(
                        *input,
                        &ty(*input).shape,
                        out,
                        w,
                        bias.map(|b| &weights[b as usize]),
                        &window,
                        &device,
                    ))
                }
                Op::Requantize {
                    input,
                    axis,
                    params,
                } => Step::Requantize(Requantize::new(
                    *input,
                    &ty(*input).shape,
                    *axis,
                    params,
                    bounds[*input as usize],
                    &device,
                )),
                Op::Relu { input } => Step::Relu(*input),
                Op::Add {
                    a,
                    b,
                    a_multiplier,
                    b_multiplier,
                    shift,
                } => Step::Add(Add::new(*a, *b, *a_multiplier, *b_multiplier, *shift)),
                Op::MaxPool2d { input, window } => Step::MaxPool(MaxPool::new(
                    *input,
                    &ty(*input).shape,
                    out,
                    window,
                    &device,
                )),
                Op::AvgPool2d {
                    input,
                    window,
                    count_include_pad,
                } => Step::AvgPool(AvgPool::new(
                    node,
                    *input,
                    &ty(*input).shape,
                    out,
                    window,
                    *count_include_pad,
                    &device,
                )?),
                Op::GlobalAvgPool { input } => {
                    Step::GlobalAvgPool(GlobalAvgPool::new(*input, &ty(*input).shape))
                }
                Op::Reshape { input, .. } => Step::Reshape(*input),
                Op::ArgMax { input } => Step::ArgMax(ArgMax::new(
                    *input,
                    ty(*input).dtype,
                    &ty(*input).shape,
                    &device,
                )),
                Op::LabelLookup { input, labels } => Step::LabelLookup(LabelLookup::new(
                    *input,
                    &weights[*labels as usize],
                    &device,
                )),
                Op::Table { input, table } => {
                    Step::Table(Table::new(*input, &weights[*table as usize], &device))
                }
                Op::TreeEnsemble {
                    input,
                    nodes,
                    leaves,
                    roots,
                } => Step::TreeEnsemble(Box::new(TreeEnsemble::new(
                    *input,
                    &weights[*nodes as usize],
                    &weights[*leaves as usize],
                    &weights[*roots as usize],
                    &device,
                ))),
                Op::ReduceSum { input, axis } => {
                    Step::ReduceSum(ReduceSum::new(*input, &ty(*input).shape, *axis as usize))
                }
                Op::Softmax { input, table } => Step::Softmax(Softmax::new(
                    *input,
                    &ty(*input).shape,
                    &weights[*table as usize],
                    &device,
                )),
                Op::Mul {
                    a,
                    b,
                    multiplier,
                    shift,
                } => {
                    let (sa, sb) = (&ty(*a).shape, &ty(*b).shape);
                    let broadcast = if sa == sb {
                        Broadcast::Same
                    } else {
                        Broadcast::of(sa, sb).unwrap_or_else(|| {
                            Broadcast::Gather(layout::index_tensor(
                                numel(sa),
                                |j| ops::broadcast_source(j, sa, sb),
                                &device,
                            ))
                        })
                    };
                    Step::Mul(Mul::new(*a, *b, *multiplier, *shift, broadcast))
                }
                Op::Transpose { input, perm } => {
                    let shape = ty(*input).shape.clone();
                    match SwapBlocks::new(*input, &shape, perm) {
                        Some(swap) => Step::SwapBlocks(swap),
                        None => Step::Rearrange(Rearrange::new(
                            *input,
                            numel(&shape),
                            |j| ops::transpose_source(j, &shape, perm),
                            &device,
                        )),
                    }
                }
                Op::Slice { input, start, .. } => {
                    let shape = ty(*input).shape.clone();
                    let out = out.clone();
                    Step::Rearrange(Rearrange::new(
                        *input,
                        numel(&out),
                        |j| ops::slice_source(j, &shape, start, &out),
                        &device,
                    ))
                }
                Op::Concat { a, b, axis } => {
                    let (sa, sb) = (ty(*a).shape.clone(), ty(*b).shape.clone());
                    Step::Concat(Concat::new(
                        *a,
                        *b,
                        numel(&sa),
                        numel(out),
                        |j| ops::concat_source(j, &sa, &sb, *axis as usize),
                        &device,
                    ))
                }
            };
            steps.push(step);
        }
        let mut reads = vec![0usize; types.len()];
        for op in &model.graph().nodes {
            for input in op.inputs() {
                reads[input as usize] += 1;
            }
        }
        *reads.last_mut().expect("a model has at least one value") += 1;
        let min_part = MIN_WORK_PER_PART
            .div_ceil(work_per_example(model).max(1))
            .max(MIN_EXAMPLES_PER_THREAD);
        Ok(Self {
            model: Arc::new(model.clone()),
            device,
            steps,
            reads,
            min_part,
            pool: None,
        })
    }

    /// [`BurnExecutor::new`] on burn's ndarray (CPU) backend.
    pub fn ndarray(model: &Model) -> ExecResult<Self> {
        #[allow(deprecated)] // burn 0.22 deprecates the ndarray backend in favour of flex
        let device = Device::ndarray();
        Self::new(model, device)
    }

    /// This executor splitting each batch over `threads` threads of its own, in
    /// contiguous parts of at least [`MIN_EXAMPLES_PER_THREAD`] examples and
    /// [`MIN_WORK_PER_PART`] work each (so a small model runs a small batch on one thread
    /// however many it may use). Examples are independent, so the results do not
    /// depend on it. `threads <= 1`: the calling
    /// thread runs every batch (the default).
    pub fn with_threads(mut self, threads: usize) -> ExecResult<Self> {
        if threads <= 1 {
            self.pool = None;
            return Ok(self);
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("verdict-exec-{i}"))
            .build()
            .map_err(|e| ExecError::Threads(e.to_string()))?;
        self.pool = Some(Arc::new(pool));
        Ok(self)
    }

    /// How many threads a batch of `batch` examples is split over: at most the pool's
    /// size, and parts of at least [`MIN_EXAMPLES_PER_THREAD`] examples and
    /// [`MIN_WORK_PER_PART`] work.
    pub fn parts(&self, batch: usize) -> usize {
        let threads = self.pool.as_ref().map_or(1, |p| p.current_num_threads());
        threads.min(batch / self.min_part).max(1)
    }

    /// The model it runs.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Every value of every example (input first, output last), as
    /// `verdict_specs::interpreter::trace` computes them: what a dispute over one step
    /// needs. Keeps every intermediate value alive, so it costs more memory than
    /// [`Executor::run_batch`].
    pub fn trace_batch(&self, inputs: &[Tensor]) -> ExecResult<Vec<Vec<Tensor>>> {
        let Some(values) = self.execute(inputs, None, None)? else {
            return Ok(Vec::new());
        };
        let mut traces: Vec<Vec<Tensor>> = (0..inputs.len())
            .map(|_| Vec::with_capacity(self.reads.len()))
            .collect();
        let types = self.model.value_types();
        for (form, ty) in values.into_forms().into_iter().zip(types) {
            for (trace, tensor) in traces.iter_mut().zip(split(form, ty, inputs.len())?) {
                trace.push(tensor);
            }
        }
        Ok(traces)
    }

    /// Runs a batch on the calling thread.
    fn run_serial(&self, inputs: &[Tensor]) -> ExecResult<Vec<Tensor>> {
        let Some(values) = self.execute(inputs, Some(&self.reads), None)? else {
            return Ok(Vec::new());
        };
        split(values.into_last(), self.model.output_type(), inputs.len())
    }

    /// Runs every step on the batch; `None` for an empty batch.
    fn execute<'a>(
        &self,
        inputs: &[Tensor],
        reads: Option<&'a [usize]>,
        mut timings: Option<&mut Vec<std::time::Duration>>,
    ) -> ExecResult<Option<Values<'a>>> {
        check_all(&self.model, inputs)?;
        if inputs.is_empty() {
            return Ok(None);
        }
        let batch = inputs.len();
        let numel = inputs[0].len();
        let mut values = Values::new(reads);
        // check_input fixed every input's dtype as the model's.
        values.push(match self.model.graph().input.dtype {
            DType::I8 => {
                let mut data = Vec::with_capacity(batch * numel);
                for input in inputs {
                    let values = input.as_i8().expect("an i8 input");
                    data.extend(values.iter().map(|&v| f32::from(v)));
                }
                Form::Float(float_tensor(data, [batch, numel], &self.device))
            }
            DType::I32 => {
                let mut data = Vec::with_capacity(batch * numel);
                for input in inputs {
                    let values = input.as_i32().expect("an i32 input");
                    data.extend(values.iter().map(|&v| i64::from(v)));
                }
                Form::Int(int_tensor(data, [batch, numel], &self.device))
            }
        });
        for step in &self.steps {
            let start = timings.is_some().then(std::time::Instant::now);
            let out = step.run(&mut values, batch);
            values.push(out);
            if let (Some(timings), Some(start)) = (timings.as_deref_mut(), start) {
                timings.push(start.elapsed());
            }
        }
        Ok(Some(values))
    }

    /// Runs one batch and returns each node's op and wall time, to find where the time
    /// goes (`verdict-bench`'s `profile-steps`). Meaningful on eager backends such as
    /// NdArray; an asynchronous backend would only show the time to queue each op.
    pub fn profile(
        &self,
        inputs: &[Tensor],
    ) -> ExecResult<Vec<(&'static str, std::time::Duration)>> {
        let mut timings = Vec::with_capacity(self.steps.len());
        self.execute(inputs, Some(&self.reads), Some(&mut timings))?;
        Ok(self
            .model
            .graph()
            .nodes
            .iter()
            .map(|op| op.name())
            .zip(timings)
            .collect())
    }
}

impl Executor for BurnExecutor {
    fn run_batch(&self, inputs: &[Tensor]) -> ExecResult<Vec<Tensor>> {
        let Some(pool) = &self.pool else {
            return self.run_serial(inputs);
        };
        let parts = self.parts(inputs.len());
        if parts <= 1 {
            return self.run_serial(inputs);
        }
        // Check the whole batch first, so a bad input is named by its index in the batch.
        check_all(&self.model, inputs)?;
        let size = inputs.len().div_ceil(parts);
        let results: Vec<ExecResult<Vec<Tensor>>> = pool.install(|| {
            inputs
                .par_chunks(size)
                .map(|part| self.run_serial(part))
                .collect()
        });
        let mut outputs = Vec::with_capacity(inputs.len());
        for part in results {
            outputs.extend(part?);
        }
        Ok(outputs)
    }

    fn name(&self) -> &'static str {
        "burn"
    }
}

/// A cost estimate of one example: contractions by their multiply-accumulates, windows,
/// walks and lookups by their gathered elements (× `GATHER_COST`), every other op by its
/// output elements.
pub fn work_per_example(model: &Model) -> usize {
    let types = model.value_types();
    let elements = |id: usize| {
        types[id]
            .shape
            .iter()
            .map(|&d| d as usize)
            .product::<usize>()
    };
    let weights = model.weights();
    model
        .graph()
        .nodes
        .iter()
        .enumerate()
        .map(|(node, op)| {
            let out = elements(node + 1);
            match op {
                Op::MatMul { weight, .. } => out * weights[*weight as usize].shape()[1] as usize,
                Op::Conv2d { weight, .. } => {
                    let w = &weights[*weight as usize];
                    out * (w.len() / w.shape()[0] as usize) * GATHER_COST
                }
                Op::MaxPool2d { window, .. } | Op::AvgPool2d { window, .. } => {
                    out * (window.kernel[0] * window.kernel[1]) as usize * GATHER_COST
                }
                Op::GlobalAvgPool { input } => elements(*input as usize),
                Op::TreeEnsemble { .. } => out * ops_per_walk() * GATHER_COST,
                Op::Table { .. } | Op::LabelLookup { .. } => out * GATHER_COST,
                Op::Softmax { .. } => out * 4 * GATHER_COST,
                _ => out,
            }
        })
        .sum()
}

/// Gathers per tree level (feature, threshold, children, the feature value) times a
/// typical depth: a rough cost of one walk.
fn ops_per_walk() -> usize {
    6 * 6
}

/// The largest magnitude each value can hold, from the op that computes it (validation
/// guarantees every one fits `i32`).
fn value_bounds(model: &Model) -> Vec<i64> {
    use verdict_specs::ops::{I8_MAX, MAX_ACCUMULATOR, MAX_PRODUCT};
    let weights = model.weights();
    let max_abs = |w: Option<u32>| {
        w.and_then(|w| weights[w as usize].as_i32()).map_or(0, |b| {
            b.iter().map(|&v| i64::from(v).abs()).max().unwrap_or(0)
        })
    };
    let mut bounds = vec![verdict_specs::quantize::input_max(
        model.graph().input.dtype,
    )];
    for op in &model.graph().nodes {
        let bound = match op {
            Op::MatMul { weight, bias, .. } | Op::Conv2d { weight, bias, .. } => {
                let w = &weights[*weight as usize];
                let inner = (w.len() / w.shape()[0] as usize) as i64;
                (inner * MAX_PRODUCT + max_abs(*bias)).min(MAX_ACCUMULATOR)
            }
            Op::Relu { input }
            | Op::Reshape { input, .. }
            | Op::Transpose { input, .. }
            | Op::Slice { input, .. } => bounds[*input as usize],
            Op::Concat { a, b, .. } => bounds[*a as usize].max(bounds[*b as usize]),
            Op::ArgMax { input } => i64::from(
                *model.value_types()[*input as usize]
                    .shape
                    .last()
                    .unwrap_or(&1),
            ),
            Op::LabelLookup { labels, .. } => max_abs(Some(*labels)),
            Op::TreeEnsemble { leaves, .. } => max_abs(Some(*leaves)),
            Op::ReduceSum { input, axis } => {
                let len = model.value_types()[*input as usize].shape[*axis as usize];
                (i64::from(len) * bounds[*input as usize]).min(verdict_specs::ops::SUM_MAX)
            }
            Op::Requantize { .. }
            | Op::Table { .. }
            | Op::Softmax { .. }
            | Op::Mul { .. }
            | Op::Add { .. }
            | Op::MaxPool2d { .. }
            | Op::AvgPool2d { .. }
            | Op::GlobalAvgPool { .. } => I8_MAX,
        };
        bounds.push(bound);
    }
    bounds
}

/// Elements of one example of a value of `shape`.
fn numel(shape: &[u32]) -> usize {
    shape.iter().map(|&d| d as usize).product()
}

/// Reads a `[B, numel]` value back into one tensor per example.
fn split(form: Form, ty: &ValueType, batch: usize) -> ExecResult<Vec<Tensor>> {
    let backend = |e: &dyn std::fmt::Display| ExecError::Backend(e.to_string());
    let elements: Vec<i64> = match form {
        Form::Float(t) => read(t)?
            .try_into_vec::<f32>()
            .map_err(|e| backend(&format_args!("{e:?}")))?
            .into_iter()
            .map(|v| v as i64)
            .collect(),
        Form::Int(t) => read(t)?
            .try_into_vec::<i64>()
            .map_err(|e| backend(&format_args!("{e:?}")))?,
    };
    if elements.is_empty() || !elements.len().is_multiple_of(batch) {
        return Err(backend(&format_args!(
            "{} elements do not split into {batch} examples",
            elements.len()
        )));
    }
    elements
        .chunks(elements.len() / batch)
        .map(|example| {
            let data = match ty.dtype {
                DType::I8 => TensorData::I8(example.iter().map(|&v| v as i8).collect()),
                DType::I32 => TensorData::I32(example.iter().map(|&v| v as i32).collect()),
            };
            Tensor::new(ty.shape.clone(), data).map_err(|e| backend(&e))
        })
        .collect()
}

fn read<const D: usize, K: burn::tensor::kind::Basic>(
    t: BurnTensor<D, K>,
) -> ExecResult<burn::tensor::TensorData> {
    t.try_into_data()
        .map_err(|e| ExecError::Backend(format!("{e:?}")))
}
