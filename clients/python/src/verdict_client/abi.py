"""The parts of the Rollup and Bridge ABIs this client uses (node/l1/artifacts).

Only what is called is listed, so the package carries no contract build artifacts and
an unrelated contract change cannot break it. Signatures must stay those of
contracts/src/Rollup.sol and Bridge.sol.
"""

from __future__ import annotations

from typing import Any, Dict, List

from .encoding import keccak


def _fn(name: str, inputs: List[Dict[str, Any]], outputs: List[Dict[str, Any]], mutability: str = "view") -> Dict[str, Any]:
    return {"type": "function", "name": name, "inputs": inputs, "outputs": outputs, "stateMutability": mutability}


def _p(name: str, ty: str, **extra: Any) -> Dict[str, Any]:
    return {"name": name, "type": ty, **extra}


_HEADER_COMPONENTS = [
    _p("index", "uint64"),
    _p("firstBlock", "uint64"),
    _p("lastBlock", "uint64"),
    _p("parentRoot", "bytes32"),
    _p("outputRoot", "bytes32"),
    _p("dataHash", "bytes32"),
    _p("depositsStart", "uint64"),
    _p("depositsEnd", "uint64"),
    _p("depositAccumulator", "bytes32"),
    _p("l1Block", "uint64"),
]

ROLLUP_ABI: List[Dict[str, Any]] = [
    _fn(
        "head",
        [],
        [_p("batchCount", "uint64"), _p("finalizedCount", "uint64"), _p("nextBlock", "uint64"), _p("depositsConsumed", "uint64")],
    ),
    _fn("batchHashes", [_p("index", "uint256")], [_p("", "bytes32")]),
    _fn("disputeWindow", [], [_p("", "uint64")]),
    _fn("openDisputes", [_p("headerHash", "bytes32")], [_p("", "uint256")]),
    _fn("isFinalized", [_p("index", "uint64")], [_p("", "bool")]),
    _fn("bridge", [], [_p("", "address")]),
]

BRIDGE_ABI: List[Dict[str, Any]] = [
    _fn("deposit", [_p("recipient", "address")], [_p("index", "uint64")], "payable"),
    _fn("depositCount", [], [_p("", "uint256")]),
    _fn("claimed", [_p("leaf", "bytes32")], [_p("", "bool")]),
    _fn(
        "finalizeWithdrawal",
        [
            _p("batch", "tuple", components=_HEADER_COMPONENTS),
            _p(
                "inclusion",
                "tuple",
                components=[
                    _p("proof", "bytes32[]"),
                    _p("index", "uint256"),
                    _p("blockHeader", "bytes"),
                    _p("laterHeaders", "bytes[]"),
                ],
            ),
            _p("sender", "address"),
            _p("nonce", "uint64"),
            _p("recipient", "address"),
            _p("amount", "uint256"),
        ],
        [_p("leaf", "bytes32")],
        "nonpayable",
    ),
]

_HEADER_TUPLE = "(uint64,uint64,uint64,bytes32,bytes32,bytes32,uint64,uint64,bytes32,uint64)"
#: ``BatchPosted(uint64 indexed index, bytes32 indexed headerHash, Header header)``.
BATCH_POSTED_TOPIC = keccak(f"BatchPosted(uint64,bytes32,{_HEADER_TUPLE})".encode())
#: ``DepositQueued(uint64 indexed index, address indexed sender, address indexed
#: recipient, uint256 amount, uint64 l1Block, bytes32 depositHash, bytes32 accumulator)``.
DEPOSIT_QUEUED_TOPIC = keccak(b"DepositQueued(uint64,address,address,uint256,uint64,bytes32,bytes32)")
#: ``WithdrawalFinalized(bytes32 indexed leaf, address indexed sender, address indexed
#: recipient, uint256 amount)``.
WITHDRAWAL_FINALIZED_TOPIC = keccak(b"WithdrawalFinalized(bytes32,address,address,uint256)")
