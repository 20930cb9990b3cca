"""A fake sequencer on FakeNode: honest by default (checks the signature, answers a
correct receipt), with switches to make it lie."""

from __future__ import annotations

from typing import Any, Dict, List

from fakenode import FakeNode, NodeError
from verdict_client.encoding import from_hex, to_hex
from verdict_client.proofs import record_hash
from verdict_client.quantize import quantize_for_model
from verdict_client.signing import Domain, InferenceRequest, recover
from verdict_client.tensors import Tensor

ROLLUP = "0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0"
MODEL: Dict[str, Any] = {
    "id": "0x" + "6d" * 32,
    "name": "tiny",
    "inputShape": [4],
    "inputDtype": "i8",
    "outputShape": [1],
    "outputDtype": "i32",
    "task": "regression",
    "outputScale": 0.5,
    "inputScale": 0.5,
    "featureCount": 4,
    "feePerInference": "0x3e8",
}


class Sequencer:
    def __init__(self) -> None:
        self.domain = Domain(31337, from_hex(ROLLUP))
        self.nonces: Dict[str, int] = {}
        self.records: Dict[str, Dict[str, Any]] = {}
        self.statuses: List[str] = []  # what getInference answers next, in turn
        self.lie: Dict[str, Any] = {}
        self.node = FakeNode(
            {
                "verdict_chainInfo": lambda p: {
                    "l1ChainId": self.lie.get("chain_id", "0x7a69"),
                    "rollup": ROLLUP,
                    "bridge": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
                    "modelRegistry": "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
                    "sequencer": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
                    "disputeWindow": "0xa",
                    "genesisHash": "0x" + "aa" * 32,
                    "maxBlockRecords": "0x400",
                },
                "verdict_getModel": lambda p: MODEL if p[0] in (MODEL["name"], MODEL["id"]) else None,
                "verdict_models": lambda p: [MODEL],
                "verdict_getAccount": lambda p: {"balance": hex(10**18), "nonce": hex(self.nonces.get(p[0].lower(), 0))},
                "verdict_prepareInference": self.prepare,
                "verdict_sendInference": self.send,
                "verdict_getInference": self.get,
            }
        )
        self.url = self.node.url

    def prepare(self, params: List[Any]) -> Dict[str, Any]:
        name, sender, features = params[:3]
        tensor = quantize_for_model(MODEL, features)
        if "prepare_input" in self.lie:
            tensor = Tensor("i8", [4], self.lie["prepare_input"])
        req = InferenceRequest(
            sender=from_hex(self.lie.get("prepare_sender", sender)),
            nonce=self.nonces.get(sender.lower(), 0),
            model_id=from_hex(MODEL["id"]),
            input=tensor,
            max_fee=int(MODEL["feePerInference"], 16),
        )
        domain = Domain(self.lie.get("prepare_chain", 31337), self.domain.rollup)
        return {
            "request": {k: v for k, v in req.to_json().items()},
            "inputCommitment": to_hex(req.input_commitment()),
            "requestHash": to_hex(req.signing_hash(domain)),
            "typedData": req.typed_data(domain),
        }

    def send(self, params: List[Any]) -> Dict[str, Any]:
        if "error" in self.lie:
            raise NodeError(*self.lie["error"])
        body = params[0]
        req = InferenceRequest.from_json(body)
        digest = req.signing_hash(self.domain)
        if recover(digest, from_hex(body["signature"])) != req.sender:
            raise NodeError(1001, "the signature does not recover to the sender")
        output = Tensor("i32", [1], [sum(req.input.data)])
        fee = self.lie.get("fee", int(MODEL["feePerInference"], 16))
        rh = record_hash(digest, req.sender, req.model_id, req.input_commitment(), output.commitment(), fee)
        if self.lie.get("tamper_output"):
            output = Tensor("i32", [1], [output.data[0] + 1])
        sender = to_hex(req.sender)
        self.nonces[sender] = self.nonces.get(sender, 0) + 1
        receipt = {
            "recordHash": to_hex(rh),
            "requestHash": self.lie.get("request_hash", to_hex(digest)),
            "output": output.to_json(),
            "blockNumber": "0x2",
            "index": "0x0",
            "fee": hex(fee),
        }
        self.records[to_hex(rh)] = receipt
        return receipt

    def get(self, params: List[Any]) -> Any:
        if params[0] not in self.records or self.lie.get("forget"):
            return None
        status = self.statuses.pop(0) if len(self.statuses) > 1 else (self.statuses[0] if self.statuses else "pending")
        return {"record": {}, "status": status, "batchIndex": "0x1" if status != "pending" else None}

    def close(self) -> None:
        self.node.close()
