"""state.json and batches.json: real blocks with signed requests, outputs, withdrawals.

Until requests.json exists these are the shared vectors that exercise record hashes,
request digests under a deployment's domain, signature recovery, block header bytes and
batch header hashes; the block bodies are decoded here from the batch data
(specs/batch.md, l2.md)."""

import pytest

from conftest import load_vector
from verdict_client import merkle
from verdict_client.encoding import from_hex
from verdict_client.proofs import BatchHeader, BlockHeader, record_hash
from verdict_client.signing import Domain, InferenceRequest, Withdrawal, recover
from verdict_client.tensors import Tensor

STATE = load_vector("state.json")
BATCHES = load_vector("batches.json")
DOMAIN = Domain(STATE["chain_id"], from_hex(STATE["rollup"]))


class Reader:
    def __init__(self, data):
        self.data, self.at = data, 0

    def take(self, n):
        out = self.data[self.at : self.at + n]
        assert len(out) == n, "truncated"
        self.at += n
        return out

    def uint(self, n):
        return int.from_bytes(self.take(n), "big")

    def tensor(self):
        dtype = {0: "i8", 1: "i32"}[self.uint(1)]
        shape = [self.uint(4) for _ in range(self.uint(1))]
        count = 1
        for d in shape:
            count *= d
        size = 1 if dtype == "i8" else 4
        raw = self.take(count * size)
        data = [int.from_bytes(raw[i : i + size], "big", signed=True) for i in range(0, len(raw), size)]
        return Tensor(dtype, shape, data)


def decode_block(batch_data):
    r = Reader(batch_data)
    assert r.uint(1) == 3
    assert r.uint(4) == 1  # every case is one block
    header_bytes = r.take(169)
    end = r.uint(4)
    body = Reader(batch_data[r.at : end])
    return header_bytes, body


def header_of(case):
    h = case["header"]
    return BlockHeader(
        number=h["number"],
        parent_hash=from_hex(h["parent_hash"]),
        timestamp=h["timestamp"],
        records_root=from_hex(h["records_root"]),
        state_root=from_hex(h["state_root"]),
        deposits_consumed=h["deposits_consumed"],
        withdrawals_root=from_hex(h["withdrawals_root"]),
        record_count=h["record_count"],
        withdrawal_count=h["withdrawal_count"],
        l1_origin=h["l1_origin"],
    )


CASES = STATE["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_block_header_bytes(case):
    header_bytes, _ = decode_block(from_hex(case["batch_data"]))
    assert header_of(case).encode() == header_bytes


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_records_and_withdrawals_roots(case):
    header = header_of(case)
    _, body = decode_block(from_hex(case["batch_data"]))
    records = []
    for _ in range(header.record_count):
        sender, nonce, model_id, max_fee = body.take(20), body.uint(8), body.take(32), body.uint(16)
        req = InferenceRequest(sender=sender, nonce=nonce, model_id=model_id, input=body.tensor(), max_fee=max_fee)
        signature = body.take(65)
        output = body.tensor()
        fee = body.uint(16)
        digest = req.signing_hash(DOMAIN)
        signer = recover(digest, signature)
        if "another key" in case["name"]:
            assert signer != sender
            assert "0x" + signer.hex() in case["rejected"]["error"]
        else:
            assert signer == sender
        records.append(record_hash(digest, sender, model_id, req.input_commitment(), output.commitment(), fee))
    leaves = []
    for _ in range(header.withdrawal_count):
        w = Withdrawal(sender=body.take(20), nonce=body.uint(8), recipient=body.take(20), amount=body.uint(16))
        assert recover(w.signing_hash(DOMAIN), body.take(65)) == w.sender
        leaves.append(w.leaf())
    assert body.at == len(body.data), "the body has bytes left over"
    assert merkle.root_of_hashes(records) == header.records_root
    assert merkle.root_of_hashes(leaves) == header.withdrawals_root


@pytest.mark.parametrize("case", BATCHES["headers"], ids=lambda c: c["hash"][:10])
def test_batch_headers(case):
    h = case["header"]
    header = BatchHeader(
        index=h["index"],
        first_block=h["first_block"],
        last_block=h["last_block"],
        parent_root=from_hex(h["parent_root"]),
        output_root=from_hex(h["output_root"]),
        data_hash=from_hex(h["data_hash"]),
        deposits_start=h["deposits_start"],
        deposits_end=h["deposits_end"],
        deposit_accumulator=from_hex(h["deposit_accumulator"]),
        l1_block=h["l1_block"],
    )
    assert header.encode() == from_hex(case["encoded"])
    assert header.hash() == from_hex(case["hash"])
    # The ABI words of the tuple decode back to the same header.
    words = b"".join(v if isinstance(v, bytes) else v.to_bytes(32, "big") for v in header.as_tuple())
    assert BatchHeader.from_words(words) == header
