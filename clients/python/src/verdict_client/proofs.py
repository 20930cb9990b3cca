"""Records, block headers, batch headers and inclusion proofs (specs/l2.md, batch.md).

An answer is worth only what L1 backs. The node serves a record with an inclusion proof:
the record's Merkle path to its block's ``recordsRoot``, the block header and every later
header of the batch. Each piece is recomputed here from its canonical bytes (the
``hash`` fields the node sends are ignored), so the only value left to trust is the
output root at the end, which :mod:`verdict_client.verify` compares with L1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Mapping, Sequence, Tuple

from .encoding import U64_MAX, U128_MAX, keccak, parse_address, parse_hash, parse_quantity, to_hex
from .errors import ProtocolError, VerdictError
from .merkle import MerkleProof

_RECORD = b"\x06"
_BLOCK = b"\x07"
_BATCH_HEADER = b"\x05"


class ProofError(VerdictError):
    """An inclusion proof does not hold."""


def record_hash(
    request_hash: bytes,
    sender: bytes,
    model_id: bytes,
    input_root: bytes,
    output_root: bytes,
    fee: int,
) -> bytes:
    """``keccak(0x06 || request_hash || sender || model_id || input_root || output_root
    || fee(16))``: the record's hash, a leaf of its block's records tree as it is."""
    if not 0 <= fee <= U128_MAX:
        raise ProtocolError(f"fee {fee} does not fit 128 bits")
    return keccak(_RECORD, request_hash, sender, model_id, input_root, output_root, fee.to_bytes(16, "big"))


def record_hash_of_json(record: Mapping[str, Any]) -> bytes:
    """:func:`record_hash` of a record as ``verdict_getInference`` serves it."""
    return record_hash(
        parse_hash(record["requestHash"], "requestHash"),
        parse_address(record["sender"], "sender"),
        parse_hash(record["modelId"], "modelId"),
        parse_hash(record["inputRoot"], "inputRoot"),
        parse_hash(record["outputRoot"], "outputRoot"),
        parse_quantity(record["fee"], "fee", U128_MAX),
    )


@dataclass(frozen=True)
class BlockHeader:
    """An L2 block header (version 2, 169 bytes)."""

    number: int
    parent_hash: bytes
    timestamp: int
    records_root: bytes
    state_root: bytes
    deposits_consumed: int
    withdrawals_root: bytes
    record_count: int
    withdrawal_count: int
    l1_origin: int

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> "BlockHeader":
        """From the API's header object; its ``hash`` field is not read (recompute it)."""
        try:
            return cls(
                number=parse_quantity(value["number"], "number", U64_MAX),
                parent_hash=parse_hash(value["parentHash"], "parentHash"),
                timestamp=parse_quantity(value["timestamp"], "timestamp", U64_MAX),
                records_root=parse_hash(value["recordsRoot"], "recordsRoot"),
                state_root=parse_hash(value["stateRoot"], "stateRoot"),
                deposits_consumed=parse_quantity(value["depositsConsumed"], "depositsConsumed", U64_MAX),
                withdrawals_root=parse_hash(value["withdrawalsRoot"], "withdrawalsRoot"),
                record_count=parse_quantity(value["recordCount"], "recordCount", 0xFFFFFFFF),
                withdrawal_count=parse_quantity(value["withdrawalCount"], "withdrawalCount", 0xFFFFFFFF),
                l1_origin=parse_quantity(value["l1Origin"], "l1Origin", U64_MAX),
            )
        except KeyError as e:
            raise ProtocolError(f"block header without {e}") from None

    def encode(self) -> bytes:
        """The canonical 169 bytes (what ``Bridge.finalizeWithdrawal`` takes)."""
        return b"".join(
            [
                _BLOCK,
                self.number.to_bytes(8, "big"),
                self.parent_hash,
                self.timestamp.to_bytes(8, "big"),
                self.records_root,
                self.state_root,
                self.deposits_consumed.to_bytes(8, "big"),
                self.withdrawals_root,
                self.record_count.to_bytes(4, "big"),
                self.withdrawal_count.to_bytes(4, "big"),
                self.l1_origin.to_bytes(8, "big"),
            ]
        )

    def hash(self) -> bytes:
        """The block hash, ``keccak(encode())``."""
        return keccak(self.encode())


#: The ABI tuple of a batch header, as the Rollup's events and calls carry it.
BATCH_HEADER_ABI = "(uint64,uint64,uint64,bytes32,bytes32,bytes32,uint64,uint64,bytes32,uint64)"
_BATCH_FIELDS = (
    ("index", 8),
    ("first_block", 8),
    ("last_block", 8),
    ("parent_root", 32),
    ("output_root", 32),
    ("data_hash", 32),
    ("deposits_start", 8),
    ("deposits_end", 8),
    ("deposit_accumulator", 32),
    ("l1_block", 8),
)


@dataclass(frozen=True)
class BatchHeader:
    """What L1 records of a posted batch (specs/batch.md): the Rollup stores
    ``keccak`` of its 177 canonical bytes; the whole header is in ``BatchPosted``."""

    index: int
    first_block: int
    last_block: int
    parent_root: bytes
    output_root: bytes
    data_hash: bytes
    deposits_start: int
    deposits_end: int
    deposit_accumulator: bytes
    l1_block: int

    @classmethod
    def from_words(cls, data: bytes) -> "BatchHeader":
        """From the ABI encoding of the header tuple (ten static words)."""
        if len(data) < 320:
            raise ProtocolError(f"a batch header is 320 ABI bytes, got {len(data)}")
        values: List[Any] = []
        for i, (_, size) in enumerate(_BATCH_FIELDS):
            w = data[32 * i : 32 * (i + 1)]
            if size == 32:
                values.append(bytes(w))
            else:
                if any(w[: 32 - size]):
                    raise ProtocolError("a batch header field does not fit its type")
                values.append(int.from_bytes(w, "big"))
        return cls(*values)

    def as_tuple(self) -> Tuple[Any, ...]:
        """The ABI tuple, in field order (for contract calls)."""
        return tuple(getattr(self, name) for name, _ in _BATCH_FIELDS)

    def encode(self) -> bytes:
        """``0x05`` then every field big-endian (177 bytes)."""
        out = [_BATCH_HEADER]
        for name, size in _BATCH_FIELDS:
            v = getattr(self, name)
            out.append(v if size == 32 else v.to_bytes(size, "big"))
        return b"".join(out)

    def hash(self) -> bytes:
        """``keccak(encode())``: the word the Rollup stores for the batch."""
        return keccak(self.encode())

    def window_end(self, dispute_window: int) -> int:
        """The first L1 block at which the batch may be finalized."""
        return min(self.l1_block + dispute_window, U64_MAX)


def _proof_siblings(values: Sequence[Any]) -> List[bytes]:
    return [parse_hash(v, "proof sibling") for v in values]


def verify_chain(block: BlockHeader, later: Sequence[Mapping[str, Any]], output_root: bytes) -> bytes:
    """Checks that the later headers chain from ``block`` (each names the previous hash
    as parent, numbers consecutive) and end at ``output_root``; returns that root."""
    tip = block.hash()
    number = block.number
    for value in later:
        header = BlockHeader.from_json(value)
        if header.parent_hash != tip or header.number != number + 1:
            raise ProofError(f"header {header.number} does not follow the previous header")
        tip = header.hash()
        number = header.number
    if tip != bytes(output_root):
        raise ProofError(f"the headers end at hash {to_hex(tip)}, not the output root {to_hex(output_root)}")
    return tip


def verify_record_inclusion(record: bytes, proof: Mapping[str, Any]) -> Tuple[bytes, BlockHeader]:
    """Checks a record's inclusion proof (``verdict_getInference``'s ``proof``) for the
    record hash ``record``; returns the output root it leads to and the record's block.
    The caller must still compare that root with L1's."""
    try:
        block = BlockHeader.from_json(proof["block"])
        path = MerkleProof(
            parse_quantity(proof["index"], "index", U64_MAX), _proof_siblings(proof["recordProof"])
        )
        output_root = parse_hash(proof["outputRoot"], "outputRoot")
        later = proof.get("laterHeaders", [])
    except KeyError as e:
        raise ProtocolError(f"inclusion proof without {e}") from None
    if not path.verify(record, block.records_root):
        raise ProofError(f"the record is not in block {block.number} at index {path.index}")
    return verify_chain(block, later, output_root), block


def verify_withdrawal_inclusion(leaf: bytes, proof: Mapping[str, Any]) -> Tuple[bytes, BlockHeader]:
    """As :func:`verify_record_inclusion`, for a withdrawal leaf under its block's
    ``withdrawalsRoot`` (``verdict_getWithdrawal``'s ``proof``)."""
    try:
        block = BlockHeader.from_json(proof["block"])
        path = MerkleProof(parse_quantity(proof["index"], "index", U64_MAX), _proof_siblings(proof["proof"]))
        output_root = parse_hash(proof["outputRoot"], "outputRoot")
        later = proof.get("laterHeaders", [])
    except KeyError as e:
        raise ProtocolError(f"withdrawal proof without {e}") from None
    if path.index >= block.withdrawal_count or not path.verify(leaf, block.withdrawals_root):
        raise ProofError(f"the proof does not put the withdrawal in block {block.number}")
    return verify_chain(block, later, output_root), block
