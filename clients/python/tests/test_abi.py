"""The hand-written ABI fragments match the contracts' build artifacts."""

import json

import pytest

from conftest import REPO_ROOT
from verdict_client import abi
from verdict_client.encoding import keccak

ARTIFACTS = REPO_ROOT / "node" / "l1" / "artifacts"


def _artifact(name):
    path = ARTIFACTS / f"{name}.json"
    if not path.exists():
        pytest.skip(f"{path} is not in this checkout")
    return json.loads(path.read_text())["abi"]


def _signature(entry):
    def ty(p):
        if p["type"].startswith("tuple"):
            return "(" + ",".join(ty(c) for c in p["components"]) + ")" + p["type"][5:]
        return p["type"]

    return f"{entry['name']}(" + ",".join(ty(p) for p in entry["inputs"]) + ")"


def _outputs(entry):
    return [p["type"] for p in entry.get("outputs", [])]


@pytest.mark.parametrize("name, fragments", [("Rollup", abi.ROLLUP_ABI), ("Bridge", abi.BRIDGE_ABI)])
def test_functions_match(name, fragments):
    real = {_signature(e): e for e in _artifact(name) if e["type"] == "function"}
    for entry in fragments:
        sig = _signature(entry)
        assert sig in real, sig
        assert _outputs(entry) == _outputs(real[sig]), sig
        assert entry["stateMutability"] == real[sig]["stateMutability"], sig


@pytest.mark.parametrize(
    "name, event, topic",
    [
        ("Rollup", "BatchPosted", abi.BATCH_POSTED_TOPIC),
        ("Bridge", "DepositQueued", abi.DEPOSIT_QUEUED_TOPIC),
        ("Bridge", "WithdrawalFinalized", abi.WITHDRAWAL_FINALIZED_TOPIC),
    ],
)
def test_event_topics_match(name, event, topic):
    (entry,) = [e for e in _artifact(name) if e["type"] == "event" and e["name"] == event]
    assert keccak(_signature(entry).encode()) == topic
