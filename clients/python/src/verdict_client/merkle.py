"""The Merkle tree of specs/merkle.md, used by tensor data roots, records roots and
withdrawals roots.

Leaves hash as ``keccak(0x00 || leaf)``, nodes as ``keccak(0x01 || left || right)``; a
level of odd length is completed with 32 zero bytes (``EMPTY``) before pairing, so the
tree is *not* padded to a power of two. A client needs this to recompute a tensor's
commitment and to check inclusion proofs without trusting the node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Sequence

from .encoding import keccak

#: The hash of a missing subtree (and the root of an empty tree).
EMPTY = bytes(32)

_LEAF = b"\x00"
_NODE = b"\x01"


def leaf_hash(leaf: bytes) -> bytes:
    """``keccak(0x00 || leaf)``."""
    return keccak(_LEAF, bytes(leaf))


def node_hash(left: bytes, right: bytes) -> bytes:
    """``keccak(0x01 || left || right)``."""
    return keccak(_NODE, bytes(left), bytes(right))


def depth(leaf_count: int) -> int:
    """``ceil(log2(n))``, 0 for one leaf (or none): the length of every proof."""
    n = max(1, leaf_count)
    return (n - 1).bit_length()


def _parent_level(level: Sequence[bytes]) -> List[bytes]:
    return [
        node_hash(level[i], level[i + 1] if i + 1 < len(level) else EMPTY)
        for i in range(0, len(level), 2)
    ]


def root_of_hashes(hashes: Sequence[bytes]) -> bytes:
    """The root over leaves that are already hashed (record hashes and withdrawal leaves
    are tree leaves as they are)."""
    if not hashes:
        return EMPTY
    level = [bytes(h) for h in hashes]
    while len(level) > 1:
        level = _parent_level(level)
    return level[0]


def root(leaves: Sequence[bytes]) -> bytes:
    """The root over raw leaf bytes (each hashed with :func:`leaf_hash` first)."""
    return root_of_hashes([leaf_hash(leaf) for leaf in leaves])


@dataclass(frozen=True)
class MerkleProof:
    """Leaf ``index``'s sibling hashes from the leaf level upward."""

    index: int
    siblings: List[bytes] = field(default_factory=list)

    def root_from(self, leaf: bytes) -> bytes:
        """The root these siblings lead to from the (hashed) ``leaf``."""
        running = bytes(leaf)
        for level, sibling in enumerate(self.siblings):
            if (self.index >> level) & 1:
                running = node_hash(sibling, running)
            else:
                running = node_hash(running, sibling)
        return running

    def verify(self, leaf: bytes, expected_root: bytes) -> bool:
        """Whether the hashed ``leaf`` sits at ``index`` under ``expected_root``. An index
        with bits above the proof's depth is refused, so one leaf cannot be claimed at
        two positions."""
        if self.index < 0 or self.index >> len(self.siblings):
            return False
        return self.root_from(leaf) == bytes(expected_root)


def prove(hashes: Sequence[bytes], index: int) -> MerkleProof:
    """The proof of leaf ``index`` in the tree over the (hashed) leaves ``hashes``."""
    if not 0 <= index < len(hashes):
        raise IndexError(f"leaf {index} is not in a tree of {len(hashes)} leaves")
    siblings: List[bytes] = []
    level = [bytes(h) for h in hashes]
    position = index
    while len(level) > 1:
        sibling = position ^ 1
        siblings.append(level[sibling] if sibling < len(level) else EMPTY)
        level = _parent_level(level)
        position >>= 1
    return MerkleProof(index=index, siblings=siblings)
