"""A small synthetic L2 chain and a fake L1 for offline verification tests: real
hashes throughout, built with the library's own encoders (whose bytes the vector tests
pin down)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Dict, List, Optional

from verdict_client import merkle
from verdict_client.encoding import to_hex
from verdict_client.l1 import RollupHead
from verdict_client.proofs import BatchHeader, BlockHeader, record_hash
from verdict_client.signing import Withdrawal
from verdict_client.tensors import Tensor


def header_json(h: BlockHeader) -> Dict[str, Any]:
    return {
        "number": hex(h.number),
        "hash": to_hex(h.hash()),
        "parentHash": to_hex(h.parent_hash),
        "timestamp": hex(h.timestamp),
        "recordsRoot": to_hex(h.records_root),
        "stateRoot": to_hex(h.state_root),
        "depositsConsumed": hex(h.deposits_consumed),
        "withdrawalsRoot": to_hex(h.withdrawals_root),
        "recordCount": hex(h.record_count),
        "withdrawalCount": hex(h.withdrawal_count),
        "l1Origin": hex(h.l1_origin),
    }


class Chain:
    """Blocks 1..3; block 2 holds three records (ours at index 1) and two withdrawals
    (ours at index 0); batch 4 covers blocks 1..3 and was posted at L1 block 100."""

    def __init__(self) -> None:
        self.output = Tensor("i32", [1, 3], [-1022, 4113, 87])
        self.record_fields = dict(
            request_hash=b"\xff" * 32,
            sender=b"\x70" * 20,
            model_id=b"\x6d" * 32,
            input_root=Tensor("i8", [2], [1, -1]).commitment(),
            output_root=self.output.commitment(),
            fee=10**16,
        )
        self.record = record_hash(**self.record_fields)
        records = [b"\x01" * 32, self.record, b"\x03" * 32]
        self.withdrawal = Withdrawal(b"\x70" * 20, 7, b"\x22" * 20, 5 * 10**17)
        withdrawals = [self.withdrawal.leaf(), b"\x05" * 32]
        b1 = BlockHeader(1, b"\xaa" * 32, 1000, merkle.EMPTY, b"\x11" * 32, 0, merkle.EMPTY, 0, 0, 5)
        b2 = BlockHeader(
            2, b1.hash(), 1001, merkle.root_of_hashes(records), b"\x12" * 32, 1,
            merkle.root_of_hashes(withdrawals), 3, 2, 6,
        )
        b3 = BlockHeader(3, b2.hash(), 1002, merkle.EMPTY, b"\x13" * 32, 1, merkle.EMPTY, 0, 0, 6)
        self.blocks = [b1, b2, b3]
        self.record_proof = merkle.prove(records, 1)
        self.withdrawal_proof = merkle.prove(withdrawals, 0)
        self.batch = BatchHeader(4, 1, 3, b"\xaa" * 32, b3.hash(), b"\x44" * 32, 0, 1, b"\x55" * 32, 100)

    def inference(self, **changes: Any) -> Dict[str, Any]:
        """``verdict_getInference``'s answer for our record."""
        f = self.record_fields
        answer = {
            "record": {
                "recordHash": to_hex(self.record),
                "requestHash": to_hex(f["request_hash"]),
                "sender": to_hex(f["sender"]),
                "nonce": "0x7",
                "modelId": to_hex(f["model_id"]),
                "inputRoot": to_hex(f["input_root"]),
                "outputRoot": to_hex(f["output_root"]),
                "output": self.output.to_json(),
                "fee": hex(f["fee"]),
            },
            "blockNumber": "0x2",
            "blockHash": to_hex(self.blocks[1].hash()),
            "index": "0x1",
            "status": "posted",
            "batchIndex": "0x4",
            "proof": {
                "recordProof": [to_hex(s) for s in self.record_proof.siblings],
                "index": "0x1",
                "block": header_json(self.blocks[1]),
                "laterHeaders": [header_json(self.blocks[2])],
                "outputRoot": to_hex(self.blocks[2].hash()),
                "batchIndex": "0x4",
            },
        }
        answer.update(changes)
        return answer

    def withdrawal_answer(self) -> Dict[str, Any]:
        w = self.withdrawal
        return {
            "withdrawalHash": to_hex(w.leaf()),
            "sender": to_hex(w.sender),
            "nonce": hex(w.nonce),
            "recipient": to_hex(w.recipient),
            "amount": hex(w.amount),
            "blockNumber": "0x2",
            "index": "0x0",
            "status": "posted",
            "batchIndex": "0x4",
            "proof": {
                "proof": [to_hex(s) for s in self.withdrawal_proof.siblings],
                "index": "0x0",
                "block": header_json(self.blocks[1]),
                "laterHeaders": [header_json(self.blocks[2])],
                "outputRoot": to_hex(self.blocks[2].hash()),
                "batchIndex": "0x4",
            },
        }


class FakeL1:
    """Duck-types the parts of :class:`verdict_client.l1.L1` the checks read."""

    def __init__(self, chain: Chain, finalized: int = 0, posted: Optional[List[BatchHeader]] = None,
                 current: Optional[BatchHeader] = None, claimed: bool = False) -> None:
        self.posted = [chain.batch] if posted is None else posted
        self.current = chain.batch if current is None else current
        self.finalized = finalized
        self.is_claimed = claimed
        self.head_block = 105

    def posted_batches(self, index: int) -> List[BatchHeader]:
        return [h for h in self.posted if h.index == index]

    def head(self) -> RollupHead:
        return RollupHead(batch_count=5, finalized_count=self.finalized, next_block=4, deposits_consumed=1)

    def batch_hash(self, index: int) -> bytes:
        return self.current.hash() if index == self.current.index else b"\x00" * 32

    def current_batch(self, index: int) -> Optional[BatchHeader]:
        for h in reversed(self.posted):
            if h.index == index and h.hash() == self.batch_hash(index):
                return h
        return None

    def dispute_window(self) -> int:
        return 10

    def block_number(self) -> int:
        return self.head_block

    def open_disputes(self, header_hash: bytes) -> int:
        return 0

    def is_finalized(self, index: int) -> bool:
        return index < self.finalized

    def claimed(self, leaf: bytes) -> bool:
        return self.is_claimed


def other_batch(chain: Chain, **changes: Any) -> BatchHeader:
    return replace(chain.batch, **changes)
