//! Benchmark support code (see `benches/`).
