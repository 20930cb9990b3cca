//! The integration tests of `verdict-executor`, in one test binary: the burn executor
//! against the reference interpreter on the spec vectors, random models and inputs, edge
//! values and bad inputs. Run one group with a filter, e.g.
//! `cargo test --test integration executor_props`.

mod executor_bad_input;
mod executor_edges;
mod executor_props;
mod executor_vectors;
