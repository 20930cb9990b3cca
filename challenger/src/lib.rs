//! The challenger role: it will follow batches on L1, sample records with a secret
//! (`keccak(secret, batch root, index) < p * 2^256`), re-execute them on the burn
//! executor and play the bisection game against any wrong one.
//!
//! Nothing lives here yet: the protocol core (`verdict-specs`) and the shared executor
//! (`verdict-node`) come first.
