"""Is an answer backed by L1? The check ``verdict verify`` makes, trusting only L1.

From the record the L2 endpoint serves: (1) the record must hash to the record hash
asked for, and its output must be what the record commits to; (2) its inclusion proof
must lead, by recomputed hashes, to an output root; (3) L1 must hold that output root in
a ``BatchPosted`` header for that batch index, for a block range that holds the block,
and that header must still be the current batch there. Then it is final (the Rollup
has finalized it) or pending (inside the dispute window). Anything else the endpoint
claims is reported as not verified, with why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Tuple

from .encoding import U64_MAX, parse_hash, parse_quantity, to_hex
from .errors import ProtocolError, TensorError
from .l1 import L1
from .proofs import BatchHeader, ProofError, record_hash_of_json, verify_record_inclusion
from .tensors import Tensor

FINAL = "final"
PENDING = "pending"
REVERTED = "reverted"
NOT_POSTED = "not_posted"
NOT_VERIFIED = "not_verified"


@dataclass(frozen=True)
class Verdict:
    """Where an answer stands on L1. ``status`` is one of ``final``, ``pending``,
    ``reverted``, ``not_posted`` and ``not_verified``; the other fields are set where
    they apply (as in the Rust ``Verdict``)."""

    status: str
    batch_index: Optional[int] = None
    window_end: Optional[int] = None
    l1_block: Optional[int] = None
    open_disputes: Optional[int] = None
    block: Optional[int] = None
    reason: Optional[str] = None

    @property
    def verified(self) -> bool:
        """Whether L1 backs the answer (final, or pending in a current batch)."""
        return self.status in (FINAL, PENDING)

    @property
    def final(self) -> bool:
        """Whether the answer is final on L1."""
        return self.status == FINAL

    def to_json(self) -> Dict[str, Any]:
        """``{"status": .., <fields that apply>}``, the form ``verdict verify --json``
        prints."""
        out: Dict[str, Any] = {"status": self.status}
        for name in ("batch_index", "window_end", "l1_block", "open_disputes", "block", "reason"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    def describe(self) -> str:
        """One line for people."""
        if self.status == FINAL:
            return f"VERIFIED: final on L1 (batch {self.batch_index} is finalized)"
        if self.status == PENDING:
            disputes = f"; {self.open_disputes} dispute game(s) open" if self.open_disputes else ""
            return (
                f"VERIFIED, PENDING: in batch {self.batch_index} on L1; its dispute window ends at "
                f"L1 block {self.window_end} (now {self.l1_block}){disputes}"
            )
        if self.status == REVERTED:
            return f"NOT VERIFIED: batch {self.batch_index}, which held this record, was reverted on L1"
        if self.status == NOT_POSTED:
            return f"NOT VERIFIED YET: the L2 endpoint puts it in block {self.block}, in no batch on L1 yet"
        return f"NOT VERIFIED: {self.reason}"


def _not_verified(reason: str) -> Verdict:
    return Verdict(NOT_VERIFIED, reason=reason)


def check_inference(found: Mapping[str, Any], l1: L1, record: bytes) -> Verdict:
    """Judges ``found`` (a ``verdict_getInference`` answer for record hash ``record``)
    against the Rollup ``l1`` is bound to."""
    try:
        r = found["record"]
        if record_hash_of_json(r) != bytes(record):
            return _not_verified("the record served does not hash to the record hash asked for")
        if Tensor.from_json(r["output"]).commitment() != parse_hash(r["outputRoot"]):
            return _not_verified("the output served is not the output the record commits to")
        proof = found.get("proof")
        if proof is None:
            return Verdict(NOT_POSTED, block=parse_quantity(found["blockNumber"], "blockNumber", U64_MAX))
        try:
            output_root, block = verify_record_inclusion(record, proof)
        except ProofError as e:
            return _not_verified(f"the inclusion proof is false: {e}")
        index = parse_quantity(proof["batchIndex"], "batchIndex", U64_MAX)
    except (KeyError, TypeError, ProtocolError, TensorError, ValueError) as e:
        return _not_verified(f"the L2 endpoint's answer is malformed: {e}")

    header, current = _batch_on_l1(l1, index, output_root)
    if header is None:
        return _not_verified(f"L1 never held output root {to_hex(output_root)} for batch {index}")
    if not header.first_block <= block.number <= header.last_block:
        return _not_verified(
            f"block {block.number} is not in batch {index} (blocks {header.first_block}..={header.last_block})"
        )
    if not current:
        return Verdict(REVERTED, batch_index=index)
    if index < l1.head().finalized_count:
        return Verdict(FINAL, batch_index=index)
    window = l1.dispute_window()
    return Verdict(
        PENDING,
        batch_index=index,
        window_end=header.window_end(window),
        l1_block=l1.block_number(),
        open_disputes=l1.open_disputes(header.hash()),
    )


def _batch_on_l1(l1: L1, index: int, output_root: bytes) -> Tuple[Optional[BatchHeader], bool]:
    """The header posted at ``index`` with ``output_root`` and whether it is still the
    current batch there; (None, False) if L1 never held it."""
    posted = l1.posted_batches(index)
    head = l1.head()
    current_hash = l1.batch_hash(index) if index < head.batch_count else None
    found: Optional[BatchHeader] = None
    for header in posted:
        if header.index != index or header.output_root != bytes(output_root):
            continue
        if current_hash is not None and header.hash() == current_hash:
            return header, True
        found = header
    return found, False
