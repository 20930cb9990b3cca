"""tensors.json: element bytes, data roots, commitments and openings (specs/tensor.md)."""

import pytest

from conftest import load_vector
from verdict_client import merkle
from verdict_client.encoding import from_hex
from verdict_client.errors import TensorError
from verdict_client.tensors import ELEMENT_SIZE, Tensor, commitment, data_root

CASES = load_vector("tensors.json")


def _id(case):
    t = case["tensor"]
    return f"{t['dtype']}{t['shape']}"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_commitment_and_data_root(case):
    t = Tensor.from_json(case["tensor"])
    assert t.element_bytes() == from_hex(case["element_bytes"])
    assert t.data_root() == from_hex(case["data_root"]) == data_root(t)
    assert t.commitment() == from_hex(case["commitment"]) == commitment(t)
    assert t.to_json() == case["tensor"]


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_element_openings(case):
    t = Tensor.from_json(case["tensor"])
    root = from_hex(case["data_root"])
    size = ELEMENT_SIZE[t.dtype]
    for opening in case["element_openings"]:
        i = opening["index"]
        chunk = from_hex(opening["chunk"])
        proof = merkle.MerkleProof(opening["proof"]["index"], [from_hex(s) for s in opening["proof"]["siblings"]])
        assert proof.index == i * size // 32
        assert len(proof.siblings) == merkle.depth(len(t.chunks()))
        assert proof.verify(merkle.leaf_hash(chunk), root)
        assert t.chunks()[proof.index] == chunk
        assert t.chunk_proof(i) == proof
        offset = (i * size) % 32
        value = int.from_bytes(chunk[offset : offset + size], "big", signed=True)
        assert value == opening["value"] == t.data[i]


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_row_opening(case):
    t = Tensor.from_json(case["tensor"])
    row = case["row_opening"]
    root = from_hex(row["data_root"])
    size = ELEMENT_SIZE[t.dtype]
    start = row["start"]
    assert list(t.data[start : start + len(row["values"])]) == row["values"]
    first_chunk = start * size // 32
    for k, c in enumerate(row["chunks"]):
        proof = merkle.MerkleProof(c["proof"]["index"], [from_hex(s) for s in c["proof"]["siblings"]])
        assert proof.index == first_chunk + k
        assert proof.verify(merkle.leaf_hash(from_hex(c["chunk"])), root)


def test_worked_example():
    t = Tensor("i8", [1], [127])
    assert t.chunks() == [b"\x7f" + bytes(31)]
    assert t.header() == bytes([0, 1, 0, 0, 0, 1])
    assert t.commitment().hex().startswith("f7bc8e58")


def test_shape_is_bound_but_not_the_data_root():
    a = Tensor("i8", [2, 3], [1, 2, 3, 4, 5, 6])
    b = Tensor("i8", [3, 2], [1, 2, 3, 4, 5, 6])
    assert a.data_root() == b.data_root()
    assert a.commitment() != b.commitment()


def test_i32_is_big_endian_twos_complement():
    assert Tensor("i32", [2], [-1, 256]).element_bytes() == bytes.fromhex("ffffffff00000100")
    assert Tensor("i8", [2], [-1, -128]).element_bytes() == bytes.fromhex("ff80")
    assert Tensor("i32", [1], [1]).encode() == bytes.fromhex("01010000000100000001")


@pytest.mark.parametrize(
    "dtype, shape, data, message",
    [
        ("f32", [1], [1], "dtype"),
        ("i8", [], [], "rank"),
        ("i8", [1] * 7, [1], "rank"),
        ("i8", [2, 0], [], "at least 1"),
        ("i8", [2], [1], "holds 2 elements"),
        ("i8", [1], [128], "range"),
        ("i8", [1], [-129], "range"),
        ("i32", [1], [1 << 31], "range"),
        ("i8", [1], [1.0], "not an integer"),
        ("i8", [1], [True], "not an integer"),
        ("i8", [1 << 14, 1 << 13], [], "more than"),
    ],
)
def test_malformed_tensors_are_refused(dtype, shape, data, message):
    with pytest.raises(TensorError, match=message):
        Tensor(dtype, shape, data)


def test_from_json_needs_every_field():
    with pytest.raises(TensorError):
        Tensor.from_json({"dtype": "i8", "shape": [1]})
