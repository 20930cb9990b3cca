//! The Verdict protocol as code.
//!
//! This crate is the definition every other part is checked against: tensors and
//! their Keccak Merkle commitments, the canonical model format and model id, the
//! integer semantics of every op, and the reference interpreter that runs them.
//! It is pure: no I/O, no async, no threads, no floats in anything that is
//! committed or proven (floats appear only in the client-side input quantization
//! and in descriptive scales). Invalid input is an error value, never a panic.
//!
//! Prose for each module lives beside the crate in `specs/*.md`; shared test vectors
//! in `specs/vectors/`.

pub mod batch;
pub mod bridge;
pub mod encoding;
pub mod game;
pub mod hash;
pub mod interpreter;
pub mod l2;
pub mod merkle;
pub mod model;
pub mod ops;
pub mod outputs;
pub mod quantize;
pub mod tensor;
pub mod vectors;

pub use hash::{Hash, keccak};
pub use model::{Graph, Model, ModelError, ModelId, Op, Task};
pub use tensor::{DType, Tensor, TensorData};
