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
