"""``VerdictClient``: the API as Python calls, with the checks a careful client makes.

The node is a sequencer the user does not have to trust. So the client computes the
input commitment and the EIP-712 digest itself, checks that the receipt is for the
digest it signed and that the record hash follows from it, checks a prepared request's
typed data before signing it, and verifies answers against L1 (:meth:`verify`), where
only L1 is believed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from .bridge import CLAIMED, READY_TO_CLAIM, WAITING_FOR_BATCH, IN_DISPUTE_WINDOW, WithdrawalStatus, check_withdrawal
from .encoding import (
    U64_MAX,
    U128_MAX,
    checksum,
    parse_address,
    parse_hash,
    parse_quantity,
    quantity,
    to_hex,
)
from .errors import (
    L1Error,
    MismatchError,
    NotFoundError,
    ProtocolError,
    RecordReverted,
    TransportError,
    WaitTimeout,
)
from .l1 import L1, ClaimReceipt, DepositReceipt
from .proofs import record_hash
from .quantize import InputSpec, f32, quantize
from .rpc import JsonRpc
from .signing import (
    Domain,
    InferenceRequest,
    KeyLike,
    Withdrawal,
    as_account,
    sign_request,
    sign_typed_data,
    sign_withdrawal,
    typed_data_digest,
)
from .tensors import Tensor
from .verify import Verdict, check_inference

#: The statuses a record goes through, in order (``reverted`` ends it instead).
_STATUS_ORDER = {"pending": 0, "posted": 1, "finalized": 2}
_STATUS_ALIASES = {"final": "finalized", "finalized": "finalized", "posted": "posted", "pending": "pending"}

Features = Union[Sequence[float], Tensor]


@dataclass(frozen=True)
class InferenceReceipt:
    """A node's answer to a signed request, checked against what was signed."""

    record_hash: str
    request_hash: str
    input_commitment: str
    output: Tensor
    input: Tensor
    block_number: int
    index: int
    fee: int
    max_fee: int
    nonce: int
    sender: str
    model_id: str
    model_name: Optional[str]

    def to_json(self) -> Dict[str, Any]:
        """Plain JSON (wei as decimal strings, which JSON numbers cannot always hold)."""
        return {
            "record_hash": self.record_hash,
            "request_hash": self.request_hash,
            "input_commitment": self.input_commitment,
            "output": self.output.to_json(),
            "input": self.input.to_json(),
            "block": self.block_number,
            "index": self.index,
            "fee": str(self.fee),
            "max_fee": str(self.max_fee),
            "nonce": self.nonce,
            "sender": self.sender,
            "model_id": self.model_id,
            "model": self.model_name,
        }


class VerdictClient:
    """A client of one Verdict node (``rpc_url``) and, for verification and the bridge,
    one L1 endpoint (``l1_rpc_url``).

    ``rollup`` (and ``bridge``) pin the L1 contracts; without them their addresses are
    taken from the node's ``verdict_chainInfo``, which a lying node could fake
    (:attr:`rollup_pinned` says which)."""

    def __init__(
        self,
        rpc_url: str,
        l1_rpc_url: Optional[str] = None,
        *,
        rollup: Optional[str] = None,
        bridge: Optional[str] = None,
        timeout: float = 30.0,
    ) -> None:
        self.rpc = JsonRpc(rpc_url, timeout=timeout)
        self.l1_rpc_url = l1_rpc_url
        self._rollup = checksum(rollup) if rollup else None
        self._bridge = checksum(bridge) if bridge else None
        self.rollup_pinned = rollup is not None
        self._timeout = timeout
        self._chain_info: Optional[Dict[str, Any]] = None
        self._l1: Optional[L1] = None

    # -- plain calls ------------------------------------------------------------------

    def call(self, method: str, *params: Any) -> Any:
        """Any ``verdict_*`` method, by position."""
        return self.rpc.call(method, params)

    def chain_info(self, refresh: bool = False) -> Dict[str, Any]:
        """``verdict_chainInfo`` (cached: it does not change for a deployment)."""
        if self._chain_info is None or refresh:
            info = self.call("verdict_chainInfo")
            if not isinstance(info, dict):
                raise ProtocolError(f"verdict_chainInfo answered {info!r}")
            self._chain_info = info
        return self._chain_info

    def domain(self) -> Domain:
        """The EIP-712 domain of this deployment (L1 chain id, Rollup)."""
        info = self.chain_info()
        if self._rollup is not None:
            return Domain(parse_quantity(info["l1ChainId"]), parse_address(self._rollup))
        return Domain.from_chain_info(info)

    def get_model(self, name_or_id: str) -> Optional[Dict[str, Any]]:
        """``verdict_getModel``: the model, or None when the node serves no such model."""
        return self.call("verdict_getModel", name_or_id)

    def model(self, name_or_id: str) -> Dict[str, Any]:
        """:meth:`get_model`, raising :class:`NotFoundError` for an unknown model."""
        found = self.get_model(name_or_id)
        if found is None:
            raise NotFoundError(f"the node serves no model {name_or_id!r}; see verdict_models")
        return found

    def models(self) -> List[Dict[str, Any]]:
        """``verdict_models``: every model the node serves."""
        return list(self.call("verdict_models"))

    def account(self, address: str) -> Dict[str, int]:
        """``verdict_getAccount``: ``{"balance": wei, "nonce": next nonce}``."""
        found = self.call("verdict_getAccount", to_hex(parse_address(address)))
        return {
            "balance": parse_quantity(found["balance"], "balance"),
            "nonce": parse_quantity(found["nonce"], "nonce", U64_MAX),
        }

    def block_number(self) -> int:
        """``verdict_blockNumber``: the latest sealed L2 block."""
        return parse_quantity(self.call("verdict_blockNumber"), "block number", U64_MAX)

    def get_inference(self, record_hash: str) -> Optional[Dict[str, Any]]:
        """``verdict_getInference``: the record, its status and (once posted) its
        inclusion proof; None for an unknown hash."""
        return self.call("verdict_getInference", to_hex(parse_hash(record_hash, "record hash")))

    def get_withdrawal(self, withdrawal_hash: str) -> Optional[Dict[str, Any]]:
        """``verdict_getWithdrawal``; None for an unknown hash."""
        return self.call("verdict_getWithdrawal", to_hex(parse_hash(withdrawal_hash, "withdrawal hash")))

    def prepare_inference(
        self,
        model: str,
        sender: str,
        features: Sequence[float],
        nonce: Optional[int] = None,
        max_fee: Optional[int] = None,
    ) -> Dict[str, Any]:
        """``verdict_prepareInference``: the node quantizes ``features`` and answers the
        unsigned request, its input commitment, digest and typed data."""
        params: List[Any] = [model, to_hex(parse_address(sender)), [float(x) for x in features]]
        if nonce is not None or max_fee is not None:
            params.append(None if nonce is None else quantity(nonce))
        if max_fee is not None:
            params.append(quantity(max_fee))
        return self.rpc.call("verdict_prepareInference", params)

    def send_inference(self, request: InferenceRequest, signature: bytes) -> Dict[str, Any]:
        """``verdict_sendInference`` of a signed request: the node's receipt, unchecked
        (:meth:`infer` checks it)."""
        return self.call("verdict_sendInference", request.to_json(signature))

    # -- inference --------------------------------------------------------------------

    def build_request(
        self,
        model: Dict[str, Any],
        features: Features,
        sender: str,
        nonce: Optional[int] = None,
        max_fee: Optional[int] = None,
    ) -> InferenceRequest:
        """The request for ``features`` (quantized with the model's input quantization,
        or a ready :class:`Tensor`), at ``sender``'s next nonce and the model's fee."""
        tensor = features if isinstance(features, Tensor) else quantize(InputSpec.from_model(model), features)
        if nonce is None:
            nonce = self.account(sender)["nonce"]
        if max_fee is None:
            max_fee = parse_quantity(model["feePerInference"], "feePerInference", U128_MAX)
        return InferenceRequest(
            sender=parse_address(sender),
            nonce=nonce,
            model_id=parse_hash(model["id"], "model id"),
            input=tensor,
            max_fee=max_fee,
        )

    def infer(
        self,
        model: str,
        features: Features,
        account: KeyLike,
        max_fee: Optional[int] = None,
        via_prepare: bool = False,
        nonce: Optional[int] = None,
    ) -> InferenceReceipt:
        """Runs ``model`` on ``features``, paid and signed by ``account``.

        Locally (the default) the client quantizes, computes the commitment and digest
        and signs the digest. ``via_prepare`` lets the node prepare the request
        (``verdict_prepareInference``) and signs its typed data as a wallet would,
        after checking that the typed data is the request for these features, this
        account and this deployment. Either way the receipt must be for the digest
        signed and its record hash must follow from it and the output."""
        signer = as_account(account)
        info_model = self.model(model)
        domain = self.domain()
        if via_prepare:
            request, signature = self._prepared(info_model, features, signer, domain, nonce, max_fee)
        else:
            request = self.build_request(info_model, features, signer.address, nonce, max_fee)
            signature = sign_request(signer, request, domain)
        answer = self.send_inference(request, signature)
        return self._check_receipt(answer, request, domain, info_model)

    def _prepared(
        self,
        model: Dict[str, Any],
        features: Features,
        signer: Any,
        domain: Domain,
        nonce: Optional[int],
        max_fee: Optional[int],
    ) -> Tuple[InferenceRequest, bytes]:
        if isinstance(features, Tensor):
            raise ValueError("via_prepare takes float features; send a ready tensor locally")
        prepared = self.prepare_inference(model["id"], signer.address, features, nonce, max_fee)
        try:
            request = InferenceRequest.from_json(prepared["request"])
            typed = prepared["typedData"]
            stated_commitment = parse_hash(prepared["inputCommitment"], "inputCommitment")
            stated_digest = parse_hash(prepared["requestHash"], "requestHash")
            typed_domain = Domain.from_json(typed["domain"])
        except (KeyError, TypeError) as e:
            raise ProtocolError(f"verdict_prepareInference answered without {e}") from None
        expected_input = quantize(InputSpec.from_model(model), features)
        problems = []
        if request.sender != parse_address(signer.address):
            problems.append("the request is for another sender")
        if request.model_id != parse_hash(model["id"]):
            problems.append("the request is for another model")
        if request.input != expected_input:
            problems.append("the node quantized the features into another input tensor")
        if nonce is not None and request.nonce != nonce:
            problems.append(f"the request has nonce {request.nonce}, not {nonce}")
        if max_fee is not None and request.max_fee != max_fee:
            problems.append(f"the request has maxFee {request.max_fee}, not {max_fee}")
        if request.input_commitment() != stated_commitment:
            problems.append("inputCommitment is not the commitment of the request's input")
        if typed_domain != domain:
            problems.append("the typed data's domain is not this deployment's")
        digest = request.signing_hash(domain)
        if digest != stated_digest or typed_data_digest(typed) != digest:
            problems.append("the typed data does not hash to the request's digest")
        if problems:
            raise MismatchError("refusing to sign the prepared request: " + "; ".join(problems))
        return request, sign_typed_data(signer, typed)

    def _check_receipt(
        self, answer: Dict[str, Any], request: InferenceRequest, domain: Domain, model: Dict[str, Any]
    ) -> InferenceReceipt:
        try:
            output = Tensor.from_json(answer["output"])
            receipt_record = parse_hash(answer["recordHash"], "recordHash")
            receipt_request = parse_hash(answer["requestHash"], "requestHash")
            fee = parse_quantity(answer["fee"], "fee", U128_MAX)
            block = parse_quantity(answer["blockNumber"], "blockNumber", U64_MAX)
            index = parse_quantity(answer["index"], "index", U64_MAX)
        except (KeyError, TypeError) as e:
            raise ProtocolError(f"verdict_sendInference answered without {e}") from None
        digest = request.signing_hash(domain)
        commitment = request.input_commitment()
        if receipt_request != digest:
            raise MismatchError(f"the receipt is for request {to_hex(receipt_request)}, not {to_hex(digest)}")
        if fee > request.max_fee:
            raise MismatchError(f"the receipt charges {fee} wei, above maxFee {request.max_fee}")
        expected = record_hash(digest, request.sender, request.model_id, commitment, output.commitment(), fee)
        if expected != receipt_record:
            raise MismatchError(
                f"the receipt's record hash {to_hex(receipt_record)} does not follow from the request, "
                f"output and fee ({to_hex(expected)})"
            )
        return InferenceReceipt(
            record_hash=to_hex(receipt_record),
            request_hash=to_hex(digest),
            input_commitment=to_hex(commitment),
            output=output,
            input=request.input,
            block_number=block,
            index=index,
            fee=fee,
            max_fee=request.max_fee,
            nonce=request.nonce,
            sender=checksum(request.sender),
            model_id=to_hex(request.model_id),
            model_name=model.get("name"),
        )

    def wait(
        self, record_hash: str, status: str = "posted", timeout: float = 600.0, poll: float = 0.5
    ) -> Dict[str, Any]:
        """Polls ``verdict_getInference`` until the record reaches ``status``
        (``posted`` or ``finalized``; a later status counts) and answers the record.

        This is the node's word; :meth:`verify` is L1's. Raises :class:`RecordReverted`
        when its batch is reverted and :class:`WaitTimeout` past ``timeout`` seconds."""
        target = _STATUS_ALIASES.get(status)
        if target is None:
            raise ValueError(f"status {status!r} is not one of pending, posted, finalized")
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                found = self.get_inference(record_hash)
            except TransportError:
                # A sequencer that lost a dispute restarts its server while it rebuilds
                # its chain; keep polling until the deadline.
                found, unreachable = None, True
            else:
                unreachable = False
            if found is not None:
                last = found.get("status")
                if last == "reverted":
                    raise RecordReverted(f"the batch holding record {record_hash} was reverted on L1")
                if _STATUS_ORDER.get(str(last), -1) >= _STATUS_ORDER[target]:
                    return found
            elif last is not None and not unreachable:
                raise RecordReverted(
                    f"record {record_hash} was {last} and the node no longer knows it: its block was "
                    "rolled back (a reverted batch); the request may have been run again under another "
                    "record hash"
                )
            if time.monotonic() >= deadline:
                raise WaitTimeout(
                    f"record {record_hash} is {last or 'unknown'} after {timeout:g} s, not {target}"
                )
            time.sleep(poll)

    # -- L1 ---------------------------------------------------------------------------

    @property
    def l1(self) -> L1:
        """The L1 endpoint with the Rollup and Bridge bound (checked to be the chain the
        node signs requests for, with a contract at the Rollup address)."""
        if self._l1 is None:
            if not self.l1_rpc_url:
                raise L1Error("no L1 endpoint: pass l1_rpc_url (--l1-rpc)")
            info = self.chain_info()
            rollup = self._rollup or checksum(info["rollup"])
            bridge = self._bridge or checksum(info["bridge"])
            l1 = L1(self.l1_rpc_url, rollup, bridge, timeout=self._timeout)
            chain = l1.chain_id()
            if chain != parse_quantity(info["l1ChainId"]):
                raise L1Error(
                    f"{self.l1_rpc_url} is chain {chain}, the node signs for chain {parse_quantity(info['l1ChainId'])}"
                )
            if not l1.has_code(rollup):
                raise L1Error(f"there is no contract at {rollup} on L1 (chain {chain})")
            self._l1 = l1
        return self._l1

    def verify_record(self, record_hash: str) -> Tuple[Verdict, Optional[Dict[str, Any]]]:
        """:meth:`verify`, with the record as the node served it."""
        record = parse_hash(record_hash, "record hash")
        l1 = self.l1  # L1 first: without it nothing can be verified
        found = self.get_inference(to_hex(record))
        if found is None:
            return Verdict("not_verified", reason="the L2 endpoint does not know this record"), None
        return check_inference(found, l1, record), found

    def verify(self, record_hash: str) -> Verdict:
        """Whether L1 backs the record: ``final``, ``pending`` (in a current batch inside
        its dispute window), ``reverted``, ``not_posted`` or ``not_verified`` (the node's
        answer does not hold). Only L1 is trusted."""
        return self.verify_record(record_hash)[0]

    def deposit(
        self,
        amount_wei: int,
        account: KeyLike,
        recipient: Optional[str] = None,
        wait: bool = False,
        timeout: float = 300.0,
    ) -> DepositReceipt:
        """Deposits ``amount_wei`` from ``account``'s L1 balance through the Bridge to
        ``recipient`` on L2 (default: the same address). With ``wait``, returns once the
        L2 balance shows the credit."""
        signer = as_account(account)
        to = checksum(recipient or signer.address)
        before = self.account(to)["balance"] if wait else 0
        receipt = self.l1.deposit(signer, amount_wei, to)
        if wait:
            deadline = time.monotonic() + timeout
            while self.account(to)["balance"] < before + amount_wei:
                if time.monotonic() >= deadline:
                    raise WaitTimeout(f"deposit {receipt.index} not credited on L2 after {timeout:g} s")
                time.sleep(0.5)
        return receipt

    def withdraw(
        self, amount_wei: int, recipient: Optional[str], account: KeyLike, nonce: Optional[int] = None
    ) -> Dict[str, Any]:
        """Signs and sends a withdrawal of ``amount_wei`` from ``account``'s L2 balance to
        ``recipient`` on L1 (default: the same address). Answers
        ``{withdrawal_hash, block_number, index}``; claim it on L1 with
        :meth:`claim_withdrawal` once its batch is final."""
        signer = as_account(account)
        if nonce is None:
            nonce = self.account(signer.address)["nonce"]
        withdrawal = Withdrawal(
            sender=parse_address(signer.address),
            nonce=nonce,
            recipient=parse_address(recipient or signer.address),
            amount=amount_wei,
        )
        signature = sign_withdrawal(signer, withdrawal, self.domain())
        answer = self.call("verdict_sendWithdrawal", withdrawal.to_json(signature))
        stated = parse_hash(answer["withdrawalHash"], "withdrawalHash")
        if stated != withdrawal.leaf():
            raise MismatchError(f"the node answered withdrawal {to_hex(stated)}, not {to_hex(withdrawal.leaf())}")
        return {
            "withdrawal_hash": to_hex(stated),
            "block_number": parse_quantity(answer["blockNumber"], "blockNumber", U64_MAX),
            "index": parse_quantity(answer["index"], "index", U64_MAX),
            "nonce": nonce,
            "amount": amount_wei,
            "recipient": checksum(withdrawal.recipient),
        }

    def withdrawal_status(self, withdrawal_hash: str) -> WithdrawalStatus:
        """Where a withdrawal stands, every claim of the node checked against L1."""
        leaf = parse_hash(withdrawal_hash, "withdrawal hash")
        return check_withdrawal(self.get_withdrawal(to_hex(leaf)), self.l1, leaf)

    def claim_withdrawal(
        self, withdrawal_hash: str, account: KeyLike, wait: bool = False, timeout: float = 3600.0
    ) -> ClaimReceipt:
        """Pays a withdrawal on L1 (``Bridge.finalizeWithdrawal``, sent and paid for by
        ``account``; the wei goes to the withdrawal's recipient). With ``wait``, first
        waits until its batch is final."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.withdrawal_status(withdrawal_hash)
            if status.status == READY_TO_CLAIM and status.claim is not None:
                break
            if status.status == CLAIMED:
                raise L1Error(f"withdrawal {withdrawal_hash} was claimed already")
            if not (wait and status.status in (WAITING_FOR_BATCH, IN_DISPUTE_WINDOW)):
                raise L1Error(f"withdrawal {withdrawal_hash} cannot be claimed: {status.to_json()}")
            if time.monotonic() >= deadline:
                raise WaitTimeout(f"withdrawal {withdrawal_hash} not final after {timeout:g} s")
            time.sleep(1.0)
        c = status.claim
        return self.l1.finalize_withdrawal(
            account,
            c.batch,
            c.proof,
            c.index,
            c.block_header,
            c.later_headers,
            checksum(c.withdrawal.sender),
            c.withdrawal.nonce,
            checksum(c.withdrawal.recipient),
            c.withdrawal.amount,
        )

    def close(self) -> None:
        """Closes the HTTP session."""
        self.rpc.close()

    def __enter__(self) -> "VerdictClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def output_values(model: Dict[str, Any], output: Tensor) -> Optional[List[float]]:
    """A regressor's real values (``output * outputScale``); None for a classifier."""
    if model.get("task") != "regression":
        return None
    scale = f32(model.get("outputScale", 0.0))  # an f32 on the node, sent as its shortest decimal
    return [v * scale for v in output.data]


def class_of(output: Tensor) -> Optional[int]:
    """A classifier's class: the single label it outputs, else the index of the largest
    score (the first one on ties)."""
    if len(output.data) == 1:
        return output.data[0]
    return output.data.index(max(output.data))
