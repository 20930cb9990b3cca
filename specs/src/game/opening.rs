//! Chunk multiproofs (`specs/game.md` §2): several 32-byte chunks of one tensor opened
//! against its data root with one list of siblings, consumed left to right, level by level.

use crate::hash::Hash;
use crate::merkle::{self, leaf_hash, node_hash};
use crate::tensor::{CHUNK_BYTES, DType, Tensor};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use thiserror::Error;

/// Some chunks of a tensor and the siblings that lead from them to its data root.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkOpening {
    /// Chunk indices, strictly increasing.
    pub indices: Vec<u64>,
    /// The chunks, one per index.
    #[serde(with = "crate::merkle::hash_list")]
    pub chunks: Vec<Hash>,
    /// Siblings in the order verification consumes them.
    #[serde(with = "crate::merkle::hash_list")]
    pub siblings: Vec<Hash>,
}

/// Why an opening does not hold.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum OpeningError {
    /// No chunks, or indices and chunks of different lengths.
    #[error("an opening needs one chunk per index and at least one")]
    Shape,
    /// Indices not strictly increasing, or beyond the tree.
    #[error("chunk indices must be strictly increasing and below 2^depth")]
    Indices,
    /// Too few siblings.
    #[error("the opening runs out of siblings")]
    MissingSibling,
    /// Siblings left over.
    #[error("the opening has siblings left over")]
    ExtraSiblings,
    /// The chunks do not lead to the root.
    #[error("the chunks do not lead to the data root")]
    WrongRoot,
}

/// Number of 32-byte chunks of a tensor of `count` elements of `dtype`.
pub fn chunk_count(dtype: DType, count: usize) -> usize {
    (count * dtype.size()).div_ceil(CHUNK_BYTES)
}

/// Depth of the data tree of `chunks` chunks.
pub fn data_depth(chunks: usize) -> usize {
    merkle::depth(chunks)
}

/// Opens the chunks that hold the elements at `elements` (flat indices) of `tensor`.
pub fn open_elements(tensor: &Tensor, elements: impl IntoIterator<Item = usize>) -> ChunkOpening {
    let size = tensor.dtype().size();
    let wanted: BTreeSet<usize> = elements
        .into_iter()
        .map(|e| e * size / CHUNK_BYTES)
        .collect();
    open_chunks(&tensor.element_bytes(), &wanted)
}

/// Opens the chunks `wanted` of `bytes` (cut into zero-padded 32-byte chunks).
pub fn open_chunks(bytes: &[u8], wanted: &BTreeSet<usize>) -> ChunkOpening {
    let chunks: Vec<Hash> = crate::tensor::chunks(bytes);
    let depth = data_depth(chunks.len());
    // The full levels of the merkle.md tree: odd levels padded with zero.
    let mut levels: Vec<Vec<Hash>> = vec![chunks.iter().map(|c| leaf_hash(c)).collect()];
    for _ in 0..depth {
        let below = levels.last().expect("one level at least");
        let above = below
            .chunks(2)
            .map(|pair| node_hash(&pair[0], pair.get(1).unwrap_or(&merkle::EMPTY_LEAF)))
            .collect();
        levels.push(above);
    }
    let mut layer: Vec<usize> = wanted.iter().copied().collect();
    let mut siblings = Vec::new();
    for level in levels.iter().take(depth) {
        let mut next = Vec::with_capacity(layer.len());
        let mut i = 0;
        while i < layer.len() {
            let x = layer[i];
            if x.is_multiple_of(2) && layer.get(i + 1) == Some(&(x + 1)) {
                i += 2;
            } else {
                siblings.push(*level.get(x ^ 1).unwrap_or(&merkle::EMPTY_LEAF));
                i += 1;
            }
            next.push(x / 2);
        }
        layer = next;
    }
    ChunkOpening {
        indices: wanted.iter().map(|&i| i as u64).collect(),
        chunks: wanted.iter().map(|&i| chunks[i]).collect(),
        siblings,
    }
}

impl ChunkOpening {
    /// Checks the opening against `data_root` for a tree of `depth` levels.
    pub fn verify(&self, data_root: &Hash, depth: usize) -> Result<(), OpeningError> {
        if self.indices.is_empty() || self.indices.len() != self.chunks.len() {
            return Err(OpeningError::Shape);
        }
        let increasing = self.indices.windows(2).all(|w| w[0] < w[1]);
        let in_tree = depth >= 64 || self.indices.iter().all(|&i| i >> depth == 0);
        if !increasing || !in_tree {
            return Err(OpeningError::Indices);
        }
        let mut layer: Vec<(u64, Hash)> = self
            .indices
            .iter()
            .zip(&self.chunks)
            .map(|(&i, c)| (i, leaf_hash(c)))
            .collect();
        let mut siblings = self.siblings.iter();
        for _ in 0..depth {
            let mut next = Vec::with_capacity(layer.len());
            let mut i = 0;
            while i < layer.len() {
                let (x, h) = layer[i];
                let parent =
                    if x.is_multiple_of(2) && layer.get(i + 1).is_some_and(|n| n.0 == x + 1) {
                        i += 1;
                        node_hash(&h, &layer[i].1)
                    } else {
                        let s = siblings.next().ok_or(OpeningError::MissingSibling)?;
                        if x.is_multiple_of(2) {
                            node_hash(&h, s)
                        } else {
                            node_hash(s, &h)
                        }
                    };
                next.push((x >> 1, parent));
                i += 1;
            }
            layer = next;
        }
        if siblings.next().is_some() {
            return Err(OpeningError::ExtraSiblings);
        }
        match layer.as_slice() {
            [(0, root)] if root == data_root => Ok(()),
            _ => Err(OpeningError::WrongRoot),
        }
    }

    /// The chunk with index `chunk`, if opened.
    pub fn chunk(&self, chunk: u64) -> Option<&Hash> {
        self.indices
            .binary_search(&chunk)
            .ok()
            .map(|p| &self.chunks[p])
    }

    /// Element `index` of a `dtype` tensor, if its chunk is opened.
    pub fn element(&self, dtype: DType, index: usize) -> Option<i64> {
        let chunk = self.chunk((index * dtype.size() / CHUNK_BYTES) as u64)?;
        crate::tensor::element_in_chunk(dtype, chunk, index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tensor(len: usize) -> Tensor {
        Tensor::from_i8(
            vec![len as u32],
            (0..len).map(|i| (i % 251) as i8 % 127).collect(),
        )
        .unwrap()
    }

    proptest! {
        #[test]
        fn any_set_of_chunks_opens_and_nothing_else_does(
            len in 1usize..3000,
            picks in proptest::collection::vec(any::<prop::sample::Index>(), 1..12),
        ) {
            let t = tensor(len);
            let chunks = chunk_count(DType::I8, len);
            let depth = data_depth(chunks);
            let wanted: BTreeSet<usize> = picks.iter().map(|p| p.index(chunks)).collect();
            let opening = open_chunks(&t.element_bytes(), &wanted);
            prop_assert_eq!(opening.verify(&t.data_root(), depth), Ok(()));
            for &c in &wanted {
                for e in (c * 32..(c * 32 + 32).min(len)).step_by(7) {
                    prop_assert_eq!(opening.element(DType::I8, e), t.data().get(e));
                }
            }
            // Any changed chunk, sibling, index or depth is refused.
            let mut bad = opening.clone();
            bad.chunks[0][0] ^= 1;
            prop_assert!(bad.verify(&t.data_root(), depth).is_err());
            if !opening.siblings.is_empty() {
                let mut bad = opening.clone();
                bad.siblings.pop();
                prop_assert!(bad.verify(&t.data_root(), depth).is_err());
            }
            prop_assert!(opening.verify(&t.data_root(), depth + 1).is_err());
        }
    }

    #[test]
    fn a_contiguous_range_needs_few_siblings() {
        let t = tensor(32 * 1024);
        let wanted: BTreeSet<usize> = (100..132).collect();
        let opening = open_chunks(&t.element_bytes(), &wanted);
        assert!(opening.siblings.len() <= 2 * data_depth(1024));
        assert_eq!(opening.verify(&t.data_root(), data_depth(1024)), Ok(()));
    }
}
