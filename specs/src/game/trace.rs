//! Inference trace states (`specs/game.md` §1): `S_k` commits to the values computed
//! after `k` nodes, as a full Merkle tree of fixed depth whose missing leaves are zero.

use crate::hash::Hash;
use crate::merkle::{LEAF_DOMAIN, node_hash};
use crate::tensor::Tensor;

/// Depth of the state tree of a model with `op_count` nodes: `ceil(log2(op_count + 1))`.
pub fn state_depth(op_count: usize) -> usize {
    (op_count + 1).next_power_of_two().trailing_zeros() as usize
}

/// The leaf of a value with commitment `commitment`: `keccak(0x00 ‖ commitment)`.
pub fn value_leaf(commitment: &Hash) -> Hash {
    crate::hash::keccak(&[&[LEAF_DOMAIN], commitment])
}

/// Roots of all-zero subtrees: `Z_0 = 0`, `Z_{l+1} = node(Z_l, Z_l)`, for `l < depth`.
pub fn empty_roots(depth: usize) -> Vec<Hash> {
    let mut roots = Vec::with_capacity(depth);
    let mut z = [0u8; 32];
    for _ in 0..depth {
        roots.push(z);
        z = node_hash(&z, &z);
    }
    roots
}

/// The state before any node ran: the input's leaf at index 0, everything else empty.
pub fn initial_state(input_commitment: &Hash, op_count: usize) -> Hash {
    let mut running = value_leaf(input_commitment);
    for z in empty_roots(state_depth(op_count)) {
        running = node_hash(&running, &z);
    }
    running
}

/// Folds `leaf` at `index` up through `siblings` (bottom up).
pub fn root_from(leaf: Hash, index: usize, siblings: &[Hash]) -> Hash {
    siblings
        .iter()
        .enumerate()
        .fold(leaf, |running, (level, s)| {
            if (index >> level) & 1 == 1 {
                node_hash(s, &running)
            } else {
                node_hash(&running, s)
            }
        })
}

/// Every state `S_0 … S_n` of one run, and the proofs a party needs to move.
#[derive(Clone, Debug)]
pub struct Trace {
    depth: usize,
    /// Leaves of the final tree (`2^depth`, zero beyond `n`).
    leaves: Vec<Hash>,
    /// `states[k]` is `S_k`.
    states: Vec<Hash>,
}

impl Trace {
    /// The trace of a run whose values (input first, as the interpreter's `trace` returns
    /// them) are `values`.
    pub fn new(values: &[Tensor]) -> Self {
        Self::from_commitments(&values.iter().map(Tensor::commitment).collect::<Vec<_>>())
    }

    /// The trace from the commitments `c_0 … c_n` of the values.
    pub fn from_commitments(commitments: &[Hash]) -> Self {
        let op_count = commitments.len().saturating_sub(1);
        let depth = state_depth(op_count);
        let mut leaves = vec![[0u8; 32]; 1 << depth];
        let mut states = Vec::with_capacity(commitments.len());
        // Each step changes one leaf; keep the levels so a step costs `depth` hashes.
        let mut levels: Vec<Vec<Hash>> = Vec::with_capacity(depth + 1);
        levels.push(leaves.clone());
        for (l, z) in empty_roots(depth).into_iter().enumerate() {
            let width = 1usize << (depth - l - 1);
            levels.push(vec![node_hash(&z, &z); width]);
        }
        for (k, c) in commitments.iter().enumerate() {
            let leaf = value_leaf(c);
            leaves[k] = leaf;
            levels[0][k] = leaf;
            let mut index = k;
            for l in 0..depth {
                let parent = index / 2;
                let left = levels[l][parent * 2];
                let right = levels[l][parent * 2 + 1];
                levels[l + 1][parent] = node_hash(&left, &right);
                index = parent;
            }
            states.push(levels[depth][0]);
        }
        Self {
            depth,
            leaves,
            states,
        }
    }

    /// The number of nodes `n`.
    pub fn op_count(&self) -> usize {
        self.states.len().saturating_sub(1)
    }

    /// Depth `D` of the state tree.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// `S_k`.
    pub fn state(&self, k: usize) -> Option<Hash> {
        self.states.get(k).copied()
    }

    /// All states.
    pub fn states(&self) -> &[Hash] {
        &self.states
    }

    /// The siblings of leaf `index` in `S_k` (`D` hashes, bottom up).
    pub fn proof(&self, k: usize, index: usize) -> Vec<Hash> {
        let mut level: Vec<Hash> = self
            .leaves
            .iter()
            .enumerate()
            .map(|(i, l)| if i <= k { *l } else { [0u8; 32] })
            .collect();
        let mut siblings = Vec::with_capacity(self.depth);
        let mut position = index;
        for _ in 0..self.depth {
            siblings.push(level[position ^ 1]);
            level = level
                .chunks(2)
                .map(|pair| node_hash(&pair[0], &pair[1]))
                .collect();
            position /= 2;
        }
        siblings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commitments(n: usize) -> Vec<Hash> {
        (0..=n)
            .map(|i| crate::hash::keccak(&[&[i as u8]]))
            .collect()
    }

    #[test]
    fn depth_counts_the_input_leaf() {
        assert_eq!(state_depth(1), 1);
        assert_eq!(state_depth(2), 2);
        assert_eq!(state_depth(3), 2);
        assert_eq!(state_depth(4), 3);
        assert_eq!(state_depth(7), 3);
    }

    #[test]
    fn states_match_proofs_and_the_initial_state() {
        for n in 1..12 {
            let c = commitments(n);
            let trace = Trace::from_commitments(&c);
            assert_eq!(trace.state(0), Some(initial_state(&c[0], n)));
            for k in 0..=n {
                let s = trace.state(k).unwrap();
                for (i, ci) in c.iter().enumerate().take(k + 1) {
                    assert_eq!(root_from(value_leaf(ci), i, &trace.proof(k, i)), s);
                }
                if k < n {
                    // A step changes exactly leaf k + 1: the same siblings lead from zero to
                    // S_k and from the new leaf to S_{k+1}.
                    let siblings = trace.proof(k, k + 1);
                    assert_eq!(root_from([0; 32], k + 1, &siblings), s);
                    assert_eq!(
                        root_from(value_leaf(&c[k + 1]), k + 1, &siblings),
                        trace.state(k + 1).unwrap()
                    );
                }
            }
        }
    }
}
