"""merkle.json: roots and proofs of 1 to 9 leaves (specs/merkle.md)."""

import pytest

from conftest import load_vector
from verdict_client import merkle
from verdict_client.encoding import from_hex, keccak

CASES = load_vector("merkle.json")


@pytest.mark.parametrize("case", CASES, ids=[f"{len(c['leaves'])}-leaves" for c in CASES])
def test_root_and_every_proof(case):
    leaves = [from_hex(x) for x in case["leaves"]]
    expected_root = from_hex(case["root"])
    assert merkle.root(leaves) == expected_root
    hashes = [merkle.leaf_hash(x) for x in leaves]
    for i, p in enumerate(case["proofs"]):
        proof = merkle.MerkleProof(p["index"], [from_hex(s) for s in p["siblings"]])
        assert proof.index == i
        assert len(proof.siblings) == merkle.depth(len(leaves))
        assert proof.verify(hashes[i], expected_root)
        # The proof this library builds is the vector's.
        assert merkle.prove(hashes, i) == proof
        # Another leaf, or the right leaf at another index, does not verify.
        assert not proof.verify(keccak(b"other"), expected_root)
        if proof.siblings:
            moved = merkle.MerkleProof(i ^ 1, proof.siblings)
            assert not moved.verify(hashes[i], expected_root)


def test_worked_example():
    h0 = keccak(b"\x00\x00")
    h1 = keccak(b"\x00\x01\x01")
    assert merkle.root([b"\x00", b"\x01\x01"]) == keccak(b"\x01", h0, h1)
    assert merkle.root([b"\x00", b"\x01\x01"]).hex() == "87d96eb6c4489fdd7c7118eb7efc7da79f0d94d032cc18ea8cd14fd5e983bec7"


def test_empty_and_single():
    assert merkle.root([]) == merkle.EMPTY
    assert merkle.root_of_hashes([b"\x11" * 32]) == b"\x11" * 32
    assert merkle.depth(0) == 0 and merkle.depth(1) == 0 and merkle.depth(2) == 1
    assert merkle.depth(3) == 2 and merkle.depth(4) == 2 and merkle.depth(5) == 3


def test_an_index_beyond_the_depth_is_refused():
    hashes = [merkle.leaf_hash(bytes([i])) for i in range(4)]
    good = merkle.prove(hashes, 1)
    root = merkle.root_of_hashes(hashes)
    assert good.verify(hashes[1], root)
    # Index 5 has the same low bits as 1: it folds to the same root but must be refused.
    assert not merkle.MerkleProof(5, good.siblings).verify(hashes[1], root)
    assert not merkle.MerkleProof(-1, good.siblings).verify(hashes[1], root)


def test_prove_out_of_range():
    with pytest.raises(IndexError):
        merkle.prove([merkle.EMPTY], 1)
