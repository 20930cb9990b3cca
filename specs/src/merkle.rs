//! Binary Keccak Merkle trees with domain-separated leaves and nodes.
//!
//! - leaf hash: `keccak(0x00 || leaf bytes)`
//! - node hash: `keccak(0x01 || left || right)`
//! - a level of odd length is completed with the all-zero hash ([`EMPTY_LEAF`]) before
//!   its pairs are hashed (not the same as padding the leaves to a power of two); a tree
//!   of one leaf has that leaf's hash as its root; the root of no leaves is [`EMPTY_LEAF`].
//!
//! A proof of leaf `i` is the list of siblings from the leaf level up; bit `k` of `i`
//! says whether the running hash is the right (1) or left (0) child at level `k`.
//! See `specs/merkle.md`.

use crate::hash::{Hash, keccak};
use serde::{Deserialize, Serialize};

/// Domain byte of a leaf hash.
pub const LEAF_DOMAIN: u8 = 0x00;
/// Domain byte of an inner node hash.
pub const NODE_DOMAIN: u8 = 0x01;
/// Padding for missing leaves, and the root of an empty tree.
pub const EMPTY_LEAF: Hash = [0u8; 32];

/// Hash of one leaf's bytes.
pub fn leaf_hash(bytes: &[u8]) -> Hash {
    keccak(&[&[LEAF_DOMAIN], bytes])
}

/// Hash of an inner node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    keccak(&[&[NODE_DOMAIN], left, right])
}

/// Number of levels above the leaves for `leaf_count` leaves.
pub fn depth(leaf_count: usize) -> usize {
    leaf_count.max(1).next_power_of_two().trailing_zeros() as usize
}

/// Root over already-hashed leaves.
pub fn root(leaf_hashes: &[Hash]) -> Hash {
    if leaf_hashes.is_empty() {
        return EMPTY_LEAF;
    }
    let mut level = leaf_hashes.to_vec();
    while level.len() > 1 {
        level = parent_level(&level);
    }
    level[0]
}

fn parent_level(level: &[Hash]) -> Vec<Hash> {
    level
        .chunks(2)
        .map(|pair| node_hash(&pair[0], pair.get(1).unwrap_or(&EMPTY_LEAF)))
        .collect()
}

/// Proof that leaf `index` is in the tree over `leaf_hashes`; `None` if out of range.
pub fn prove(leaf_hashes: &[Hash], index: usize) -> Option<MerkleProof> {
    if index >= leaf_hashes.len() {
        return None;
    }
    let mut siblings = Vec::with_capacity(depth(leaf_hashes.len()));
    let mut level = leaf_hashes.to_vec();
    let mut position = index;
    while level.len() > 1 {
        siblings.push(*level.get(position ^ 1).unwrap_or(&EMPTY_LEAF));
        level = parent_level(&level);
        position /= 2;
    }
    Some(MerkleProof {
        index: index as u64,
        siblings,
    })
}

/// The siblings of one leaf, bottom up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerkleProof {
    /// Position of the leaf, counted from 0 at the left.
    pub index: u64,
    /// Sibling hashes from the leaf level to just below the root.
    #[serde(with = "hash_list")]
    pub siblings: Vec<Hash>,
}

impl MerkleProof {
    /// The root this proof leads to from `leaf` (an already-hashed leaf).
    pub fn root_from(&self, leaf: Hash) -> Hash {
        let mut running = leaf;
        for (level, sibling) in self.siblings.iter().enumerate() {
            running = if (self.index >> level) & 1 == 1 {
                node_hash(sibling, &running)
            } else {
                node_hash(&running, sibling)
            };
        }
        running
    }

    /// Whether `leaf` sits at `self.index` under `root`. An index with bits above the
    /// proof's depth is rejected, so one leaf cannot be claimed at two positions.
    pub fn verify(&self, leaf: Hash, root: &Hash) -> bool {
        let depth = self.siblings.len();
        let in_range = depth >= 64 || self.index >> depth == 0;
        in_range && self.root_from(leaf) == *root
    }
}

/// Serde for lists of hashes as `0x` hex strings.
pub(crate) mod hash_list {
    use crate::hash::{Hash, from_hex, to_hex};
    use serde::{Deserialize, Deserializer, Serializer, de::Error, ser::SerializeSeq};

    pub(crate) fn serialize<S: Serializer>(list: &[Hash], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(list.len()))?;
        for hash in list {
            seq.serialize_element(&to_hex(hash))?;
        }
        seq.end()
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Hash>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|text| from_hex(text).ok_or_else(|| D::Error::custom(format!("bad hash {text}"))))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(&(i as u64).to_be_bytes()))
            .collect()
    }

    #[test]
    fn small_trees_by_hand() {
        let l = leaves(3);
        assert_eq!(root(&l[..1]), l[0]);
        assert_eq!(root(&l[..2]), node_hash(&l[0], &l[1]));
        assert_eq!(
            root(&l),
            node_hash(&node_hash(&l[0], &l[1]), &node_hash(&l[2], &EMPTY_LEAF))
        );
        assert_eq!(root(&[]), EMPTY_LEAF);
    }

    #[test]
    fn depth_matches_padding() {
        assert_eq!(depth(0), 0);
        assert_eq!(depth(1), 0);
        assert_eq!(depth(2), 1);
        assert_eq!(depth(3), 2);
        assert_eq!(depth(1024), 10);
        assert_eq!(depth(1025), 11);
    }

    #[test]
    fn index_beyond_depth_is_rejected() {
        let l = leaves(4);
        let r = root(&l);
        let mut proof = prove(&l, 1).expect("in range");
        assert!(proof.verify(l[1], &r));
        proof.index += 4;
        assert!(!proof.verify(l[1], &r));
    }

    proptest! {
        #[test]
        fn every_leaf_proves_and_no_other_does(n in 1usize..70, pick in any::<prop::sample::Index>()) {
            let l = leaves(n);
            let r = root(&l);
            let i = pick.index(n);
            let proof = prove(&l, i).expect("in range");
            prop_assert_eq!(proof.siblings.len(), depth(n));
            prop_assert!(proof.verify(l[i], &r));
            let other = leaf_hash(b"not a leaf");
            prop_assert!(!proof.verify(other, &r));
            if n > 1 {
                let mut wrong = proof.clone();
                wrong.index = ((i + 1) % n) as u64;
                prop_assert!(!wrong.verify(l[i], &r) || l[i] == l[(i + 1) % n]);
            }
        }
    }
}
