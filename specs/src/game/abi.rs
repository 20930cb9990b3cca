//! The Solidity ABI of the one-step witness (`OneStepVerifier.sol`), so vectors can carry
//! the exact calldata and agents can send it.

#![allow(missing_docs)]

use super::one_step::{OneStepProof, StepContext, TensorHeader, TensorOpening};
use super::opening::ChunkOpening;
use alloy_sol_types::SolCall;
use alloy_sol_types::private::{Bytes, FixedBytes, U256};

alloy_sol_types::sol! {
    struct SolTensorHeader { uint8 dtype; uint32[] shape; bytes32 dataRoot; }
    struct SolChunkOpening { uint256[] indices; bytes32[] chunks; bytes32[] siblings; }
    struct SolTensorOpening { uint32 id; SolTensorHeader header; bytes32[] proof; SolChunkOpening chunks; }
    struct SolOneStepProof {
        bytes graph;
        SolTensorOpening[] inputs;
        SolTensorOpening[] weights;
        SolTensorHeader output;
        SolChunkOpening outputChunks;
    }
    function verify(
        bytes32 graphHash,
        bytes32 weightsRoot,
        uint256 opCount,
        uint256 step,
        bytes32 preState,
        uint256 stateDepth,
        bytes32 outputCommitment,
        uint256 element,
        SolOneStepProof proof
    ) external view returns (bool claimHolds);
}

fn hashes(list: &[[u8; 32]]) -> Vec<FixedBytes<32>> {
    list.iter().map(|h| FixedBytes(*h)).collect()
}

impl From<&TensorHeader> for SolTensorHeader {
    fn from(h: &TensorHeader) -> Self {
        Self {
            dtype: h.dtype.code(),
            shape: h.shape.clone(),
            dataRoot: FixedBytes(h.data_root),
        }
    }
}

impl From<&ChunkOpening> for SolChunkOpening {
    fn from(o: &ChunkOpening) -> Self {
        Self {
            indices: o.indices.iter().map(|&i| U256::from(i)).collect(),
            chunks: hashes(&o.chunks),
            siblings: hashes(&o.siblings),
        }
    }
}

impl From<&TensorOpening> for SolTensorOpening {
    fn from(o: &TensorOpening) -> Self {
        Self {
            id: o.id,
            header: (&o.header).into(),
            proof: hashes(&o.proof),
            chunks: (&o.chunks).into(),
        }
    }
}

impl From<&OneStepProof> for SolOneStepProof {
    fn from(p: &OneStepProof) -> Self {
        Self {
            graph: Bytes::from(p.graph.clone()),
            inputs: p.inputs.iter().map(Into::into).collect(),
            weights: p.weights.iter().map(Into::into).collect(),
            output: (&p.output).into(),
            outputChunks: (&p.output_chunks).into(),
        }
    }
}

/// The ABI encoding of the proof struct alone (as `DisputeGame.prove` takes it).
pub fn encode_proof(proof: &OneStepProof) -> Vec<u8> {
    use alloy_sol_types::SolValue;
    SolOneStepProof::from(proof).abi_encode()
}

/// Calldata of `OneStepVerifier.verify(ctx…, proof)`.
pub fn verify_calldata(ctx: &StepContext, proof: &OneStepProof) -> Vec<u8> {
    verifyCall {
        graphHash: FixedBytes(ctx.graph_hash),
        weightsRoot: FixedBytes(ctx.weights_root),
        opCount: U256::from(ctx.op_count),
        step: U256::from(ctx.step),
        preState: FixedBytes(ctx.pre_state),
        stateDepth: U256::from(ctx.state_depth),
        outputCommitment: FixedBytes(ctx.output_commitment),
        element: U256::from(ctx.element),
        proof: proof.into(),
    }
    .abi_encode()
}

/// The ABI of `StateStepVerifier.verify` (state games, specs/state.md §6).
pub mod state {
    #![allow(missing_docs)]

    use alloy_sol_types::SolCall;
    use alloy_sol_types::private::{Address, Bytes, FixedBytes, U256};

    use crate::game::state_step::StateStepProof;

    alloy_sol_types::sol! {
        struct SolAccountOpening { address account; uint128 balance; uint64 nonce; uint256 present; bytes32[] siblings; }
        struct SolStateStepProof { bytes tx; bytes signature; bytes32[] txProof; SolAccountOpening[] accounts; }
        struct SolStepContext {
            uint64 depositsBefore;
            uint64 deposits;
            uint32 records;
            uint32 withdrawals;
            uint64 l1Origin;
            uint64 batchL1Block;
            bytes32 recordsRoot;
            bytes32 withdrawalsRoot;
        }
        function verify(SolStepContext ctx, uint64 step, bytes32 pre, bytes32 post, SolStateStepProof proof)
            external view returns (bool claimHolds);
    }

    /// What every step of a block's state game is checked against (the contract's
    /// `StepContext`, read from the block's header and its parent's).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct BlockStepContext {
        /// The parent's `deposits_consumed`.
        pub deposits_before: u64,
        /// Deposits the block consumes.
        pub deposits: u64,
        /// The block's `record_count`.
        pub records: u32,
        /// The block's `withdrawal_count`.
        pub withdrawals: u32,
        /// The block's `l1_origin`.
        pub l1_origin: u64,
        /// The L1 block of the batch that posted it.
        pub batch_l1_block: u64,
        /// The block's `records_root`.
        pub records_root: [u8; 32],
        /// The block's `withdrawals_root`.
        pub withdrawals_root: [u8; 32],
    }

    impl From<&StateStepProof> for SolStateStepProof {
        fn from(p: &StateStepProof) -> Self {
            Self {
                tx: Bytes::from(p.tx.clone()),
                signature: Bytes::from(p.signature.clone()),
                txProof: p.tx_proof.iter().map(|h| FixedBytes(*h)).collect(),
                accounts: p
                    .accounts
                    .iter()
                    .map(|o| SolAccountOpening {
                        account: Address::from(o.account),
                        balance: o.before.balance,
                        nonce: o.before.nonce,
                        present: U256::from_be_bytes(o.present),
                        siblings: o.siblings.iter().map(|h| FixedBytes(*h)).collect(),
                    })
                    .collect(),
            }
        }
    }

    /// Calldata of `StateStepVerifier.verify(ctx, step, pre, post, proof)`.
    pub fn verify_calldata(
        ctx: &BlockStepContext,
        step: u64,
        pre: &[u8; 32],
        post: &[u8; 32],
        proof: &StateStepProof,
    ) -> Vec<u8> {
        verifyCall {
            ctx: SolStepContext {
                depositsBefore: ctx.deposits_before,
                deposits: ctx.deposits,
                records: ctx.records,
                withdrawals: ctx.withdrawals,
                l1Origin: ctx.l1_origin,
                batchL1Block: ctx.batch_l1_block,
                recordsRoot: FixedBytes(ctx.records_root),
                withdrawalsRoot: FixedBytes(ctx.withdrawals_root),
            },
            step,
            pre: FixedBytes(*pre),
            post: FixedBytes(*post),
            proof: proof.into(),
        }
        .abi_encode()
    }
}
