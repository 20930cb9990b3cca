//! The burn executor: runs a validated [`Model`] on a batch of inputs, bit-exact with the
//! reference interpreter.
//!
//! Two implementations of one trait, [`Executor`]:
//! - [`ReferenceExecutor`]: `verdict_specs::interpreter::run` per example. The definition;
//!   slow and obviously right.
//! - [`BurnExecutor`]: the same graph on burn tensors, batched, every weight prepared once
//!   at construction. It must agree with the reference bit for bit on every input, batch
//!   size, thread count and backend; `node/executor/tests/integration/executor_*.rs` check that.
//!
//! # Why the fast executor is exact
//!
//! int8 values are carried as `f32`, and every contraction (MatMul, Conv2d) is an `f32`
//! matmul or convolution whose inner dimension is cut into chunks of at most
//! [`CHUNK`] = 1024 products. One int8 x int8 product has `|p| <= 127 * 127 = 16129`; a
//! partial sum of at most 1024 of them has `|s| <= 1024 * 16129 = 16_516_096 < 2^24`. Every
//! integer of magnitude up to 2^24 is exactly representable in `f32`, and an `f32`
//! addition, multiplication or fused multiply-add whose exact result is such an integer
//! returns it exactly. So every intermediate value of a chunk is the exact integer, in
//! *any* summation order, blocking, SIMD width, FMA use or thread split: the kernel's
//! choices (matrixmultiply picks its kernel per CPU at run time) cannot change a bit.
//! Each chunk result is converted to a 64-bit integer tensor (exact) and the chunks and
//! the bias are added in integers. Everything after a contraction (requantization,
//! rounding means, Add) is integer arithmetic in `i64`, which has one answer. See
//! `fast::contract` for the per-op argument and its one fast path.
//!
//! # Threads
//!
//! burn's ndarray kernels are built single-threaded (burn-ndarray without its
//! `multi-threads` feature): at these model sizes, handing every small op to a thread
//! pool cost more than it saved (about 10 µs a hand-off, against 1 to 4 µs for a whole
//! digits layer). Parallelism comes from splitting a batch instead:
//! [`BurnExecutor::with_threads`] gives an executor its own pool, and each batch is cut
//! into contiguous parts of at least [`MIN_EXAMPLES_PER_THREAD`] examples and
//! [`MIN_WORK_PER_PART`] estimated work ([`work_per_example`]) that run on separate
//! threads. Examples never interact, so results cannot depend on the thread
//! count; the property tests check 1 and 2 threads against the reference.

mod error;
mod fast;
mod reference;

pub use error::{ExecError, ExecResult};
pub use fast::{BurnExecutor, MIN_EXAMPLES_PER_THREAD, MIN_WORK_PER_PART, work_per_example};
pub use reference::ReferenceExecutor;

use verdict_specs::Tensor;

/// Largest number of int8 products summed in one `f32` kernel call.
///
/// `CHUNK * 127 * 127 = 16_516_096 < 2^24`, so every partial sum is an exact `f32` integer.
pub const CHUNK: usize = 1024;

/// Runs a model on a batch of independent examples.
pub trait Executor: Send + Sync {
    /// Runs a batch of independent examples; output `i` corresponds to input `i`.
    ///
    /// Every input is checked with `verdict_specs::interpreter::check_input` first; a bad
    /// one fails the whole batch with [`ExecError::BadInput`] naming its index.
    fn run_batch(&self, inputs: &[Tensor]) -> ExecResult<Vec<Tensor>>;

    /// A short name for logs and benchmarks: `"burn"` or `"reference"`.
    fn name(&self) -> &'static str;
}
