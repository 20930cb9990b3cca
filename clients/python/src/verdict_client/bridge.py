"""Where a withdrawal stands, as L1 confirms it, and what claiming it on L1 takes.

A withdrawal is signed on L2 and paid by ``Bridge.finalizeWithdrawal`` once the batch
holding it is final. As for records, the L2 endpoint's answer is recomputed (leaf, Merkle
path, header chain) and compared with the batch L1 holds before anything is believed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional

from .encoding import U64_MAX, U128_MAX, parse_address, parse_hash, parse_quantity
from .errors import EncodingError, ProtocolError
from .l1 import L1
from .proofs import BatchHeader, BlockHeader, ProofError, verify_withdrawal_inclusion
from .signing import Withdrawal

UNKNOWN = "unknown"
WAITING_FOR_BATCH = "waiting_for_batch"
IN_DISPUTE_WINDOW = "in_dispute_window"
READY_TO_CLAIM = "ready_to_claim"
CLAIMED = "claimed"
REVERTED = "reverted"
NOT_VERIFIED = "not_verified"


@dataclass(frozen=True)
class Claim:
    """Everything ``Bridge.finalizeWithdrawal`` takes, checked against L1."""

    batch: BatchHeader
    withdrawal: Withdrawal
    proof: List[bytes]
    index: int
    block_header: bytes
    later_headers: List[bytes]


@dataclass(frozen=True)
class WithdrawalStatus:
    """``status`` is one of the constants above; the other fields where they apply."""

    status: str
    block: Optional[int] = None
    batch_index: Optional[int] = None
    window_end: Optional[int] = None
    l1_block: Optional[int] = None
    reason: Optional[str] = None
    claim: Optional[Claim] = None

    def to_json(self) -> Dict[str, Any]:
        """``{"status": .., <fields that apply>}``."""
        out: Dict[str, Any] = {"status": self.status}
        for name in ("block", "batch_index", "window_end", "l1_block", "reason"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


def withdrawal_of_json(found: Mapping[str, Any]) -> Withdrawal:
    """The withdrawal a ``verdict_getWithdrawal`` answer describes."""
    return Withdrawal(
        sender=parse_address(found["sender"], "sender"),
        nonce=parse_quantity(found["nonce"], "nonce", U64_MAX),
        recipient=parse_address(found["recipient"], "recipient"),
        amount=parse_quantity(found["amount"], "amount", U128_MAX),
    )


def check_withdrawal(found: Optional[Mapping[str, Any]], l1: L1, leaf: bytes) -> WithdrawalStatus:
    """Judges a ``verdict_getWithdrawal`` answer for ``leaf`` against L1."""
    if found is None:
        return WithdrawalStatus(UNKNOWN)
    try:
        withdrawal = withdrawal_of_json(found)
        if withdrawal.leaf() != bytes(leaf):
            return WithdrawalStatus(NOT_VERIFIED, reason="the withdrawal served does not hash to the hash asked for")
        inclusion = found.get("proof")
        if inclusion is None:
            return WithdrawalStatus(
                WAITING_FOR_BATCH, block=parse_quantity(found["blockNumber"], "blockNumber", U64_MAX)
            )
        try:
            tip, block = verify_withdrawal_inclusion(leaf, inclusion)
        except ProofError as e:
            return WithdrawalStatus(NOT_VERIFIED, reason=str(e))
        batch_index = parse_quantity(inclusion["batchIndex"], "batchIndex", U64_MAX)
        proof = [parse_hash(h) for h in inclusion["proof"]]
        index = parse_quantity(inclusion["index"], "index", U64_MAX)
        later = [BlockHeader.from_json(h).encode() for h in inclusion.get("laterHeaders", [])]
    except (KeyError, TypeError, ProtocolError, EncodingError) as e:
        return WithdrawalStatus(NOT_VERIFIED, reason=f"the L2 endpoint's answer is malformed: {e}")

    batch = l1.current_batch(batch_index)
    if batch is None:
        return WithdrawalStatus(REVERTED, batch_index=batch_index)
    if batch.output_root != tip:
        return WithdrawalStatus(NOT_VERIFIED, reason=f"L1's batch {batch_index} has another output root")
    if not batch.first_block <= block.number <= batch.last_block:
        return WithdrawalStatus(NOT_VERIFIED, reason=f"block {block.number} is not in batch {batch_index}")
    claim = Claim(batch, withdrawal, proof, index, block.encode(), later)
    if l1.claimed(leaf):
        return WithdrawalStatus(CLAIMED, batch_index=batch_index, claim=claim)
    if l1.is_finalized(batch_index):
        return WithdrawalStatus(READY_TO_CLAIM, batch_index=batch_index, claim=claim)
    return WithdrawalStatus(
        IN_DISPUTE_WINDOW,
        batch_index=batch_index,
        window_end=batch.window_end(l1.dispute_window()),
        l1_block=l1.block_number(),
        claim=claim,
    )
