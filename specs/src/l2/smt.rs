//! The state tree: a Keccak sparse Merkle tree of depth 160, one leaf per address.
//!
//! The path of an address is its bits, most significant first (bit 0 of byte 0 picks the
//! child under the root). Empty subtrees hash to zero at every height, and an inner node
//! is `node_hash(left, right)` (domain 0x01) unless both children are zero, in which case
//! it is zero. So the empty tree's root is zero and a verifier needs no table of default
//! hashes; a non-empty subtree cannot hash to zero without a Keccak preimage of zero.
//!
//! The tree keeps only non-zero nodes. An update rehashes the 160 nodes on one path;
//! callers batch updates ([`SparseMerkleTree::update_many`]) and read the root once.

use std::collections::HashMap;

use crate::hash::Hash;
use crate::merkle::node_hash;

use super::Address;

/// Levels between a leaf and the root.
pub const DEPTH: usize = 160;

const ZERO: Hash = [0u8; 32];

/// Parent of two children under the zero-collapsing rule.
pub fn parent(left: &Hash, right: &Hash) -> Hash {
    if *left == ZERO && *right == ZERO {
        ZERO
    } else {
        node_hash(left, right)
    }
}

/// Bit `i` (0 = most significant) of an address: 1 means "right child".
fn bit(address: &Address, i: usize) -> bool {
    (address[i / 8] >> (7 - i % 8)) & 1 == 1
}

/// The first `len` bits of `address`, the rest zeroed: a node's key at height `DEPTH - len`.
fn prefix(address: &Address, len: usize) -> Address {
    let mut out = [0u8; 20];
    let full = len / 8;
    out[..full].copy_from_slice(&address[..full]);
    if !len.is_multiple_of(8) {
        out[full] = address[full] & (0xffu8 << (8 - len % 8));
    }
    out
}

/// The tree: non-zero nodes keyed by (prefix length, prefix).
#[derive(Clone, Debug, Default)]
pub struct SparseMerkleTree {
    nodes: HashMap<(u8, Address), Hash>,
}

impl SparseMerkleTree {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    fn node(&self, len: usize, key: &Address) -> Hash {
        self.nodes.get(&(len as u8, *key)).copied().unwrap_or(ZERO)
    }

    fn set(&mut self, len: usize, key: Address, hash: Hash) {
        if hash == ZERO {
            self.nodes.remove(&(len as u8, key));
        } else {
            self.nodes.insert((len as u8, key), hash);
        }
    }

    /// The root (zero for the empty tree).
    pub fn root(&self) -> Hash {
        self.node(0, &[0u8; 20])
    }

    /// Sets the leaf of `address` (zero removes it) and rehashes its path.
    pub fn update(&mut self, address: &Address, leaf: Hash) {
        self.set(DEPTH, *address, leaf);
        let mut running = leaf;
        for len in (0..DEPTH).rev() {
            let sibling_key = {
                let mut k = prefix(address, len + 1);
                k[len / 8] ^= 1 << (7 - len % 8);
                k
            };
            let sibling = self.node(len + 1, &sibling_key);
            running = if bit(address, len) {
                parent(&sibling, &running)
            } else {
                parent(&running, &sibling)
            };
            self.set(len, prefix(address, len), running);
        }
    }

    /// Sets several leaves.
    pub fn update_many<'a>(&mut self, leaves: impl IntoIterator<Item = (&'a Address, Hash)>) {
        for (address, leaf) in leaves {
            self.update(address, leaf);
        }
    }

    /// The 160 siblings of `address`'s path, from the leaf level up.
    pub fn prove(&self, address: &Address) -> StateProof {
        let siblings = (0..DEPTH)
            .rev()
            .map(|len| {
                let mut k = prefix(address, len + 1);
                k[len / 8] ^= 1 << (7 - len % 8);
                self.node(len + 1, &k)
            })
            .collect();
        StateProof { siblings }
    }
}

/// Siblings of one leaf's path, leaf level first.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StateProof {
    /// `DEPTH` sibling hashes (most are zero).
    pub siblings: Vec<Hash>,
}

impl StateProof {
    /// The root that `leaf` at `address` leads to, or `None` for a proof of the wrong length.
    pub fn root_from(&self, address: &Address, leaf: Hash) -> Option<Hash> {
        if self.siblings.len() != DEPTH {
            return None;
        }
        let mut running = leaf;
        for (step, sibling) in self.siblings.iter().enumerate() {
            let len = DEPTH - 1 - step;
            running = if bit(address, len) {
                parent(sibling, &running)
            } else {
                parent(&running, sibling)
            };
        }
        Some(running)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::keccak;
    use proptest::prelude::*;

    /// The definition, computed top-down from the set of leaves.
    fn reference_root(leaves: &[(Address, Hash)], len: usize, key: Address) -> Hash {
        let under: Vec<_> = leaves
            .iter()
            .filter(|(a, _)| prefix(a, len) == key)
            .copied()
            .collect();
        if under.is_empty() {
            return ZERO;
        }
        if len == DEPTH {
            return under[0].1;
        }
        let left = key;
        let mut right = key;
        right[len / 8] |= 1 << (7 - len % 8);
        parent(
            &reference_root(&under, len + 1, left),
            &reference_root(&under, len + 1, right),
        )
    }

    #[test]
    fn the_empty_tree_is_zero() {
        assert_eq!(SparseMerkleTree::new().root(), ZERO);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn incremental_root_equals_the_definition_and_proofs_verify(
            seeds in proptest::collection::vec((any::<u8>(), any::<u8>()), 1..12),
        ) {
            let mut tree = SparseMerkleTree::new();
            let mut leaves: Vec<(Address, Hash)> = Vec::new();
            for (a, v) in &seeds {
                // Few distinct addresses, so updates overwrite and delete too.
                let mut address = [0u8; 20];
                address[0] = a % 5 * 51;
                address[19] = *a;
                let leaf = if v % 4 == 0 { ZERO } else { keccak(&[&[*v]]) };
                tree.update(&address, leaf);
                leaves.retain(|(x, _)| *x != address);
                if leaf != ZERO {
                    leaves.push((address, leaf));
                }
            }
            prop_assert_eq!(tree.root(), reference_root(&leaves, 0, [0u8; 20]));
            for (address, leaf) in &leaves {
                prop_assert_eq!(tree.prove(address).root_from(address, *leaf), Some(tree.root()));
            }
            let absent = [0xee; 20];
            if !leaves.iter().any(|(a, _)| *a == absent) {
                prop_assert_eq!(tree.prove(&absent).root_from(&absent, ZERO), Some(tree.root()));
            }
        }
    }
}
