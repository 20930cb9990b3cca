//! The sequencer role: it will hold the mempool of signed inference requests, block
//! building on the burn executor, durable records in RocksDB, batch posting to L1 and
//! the defence of dispute games.
//!
//! Nothing lives here yet: the protocol core (`verdict-specs`) and the shared executor
//! (`verdict-node`) come first.
