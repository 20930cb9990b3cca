"""requests.json: signed requests, withdrawals and quantization cases shared with the
Rust implementation.

Skipped only while the file does not exist; once it does, every case runs."""

import json

import pytest

from conftest import vectors_dir
from verdict_client.encoding import from_hex, parse_amount
from verdict_client.proofs import record_hash
from verdict_client.quantize import quantize_for_model
from verdict_client.signing import (
    Domain,
    InferenceRequest,
    Withdrawal,
    as_account,
    recover,
    sign_request,
    sign_typed_data,
    sign_withdrawal,
    typed_data_digest,
)
from verdict_client.tensors import Tensor

PATH = vectors_dir() / "requests.json"
VECTORS = json.loads(PATH.read_text()) if PATH.exists() else None
pytestmark = pytest.mark.skipif(VECTORS is None, reason=f"{PATH} does not exist yet")


def _cases(name):
    return (VECTORS or {}).get(name, [])


@pytest.fixture(scope="module")
def domain():
    return Domain.from_json(VECTORS["domain"])


def test_the_file_has_every_section():
    for name in ("domain", "domain_separator", "requests", "withdrawals", "quantization"):
        assert name in VECTORS, name
    assert VECTORS["requests"] and VECTORS["withdrawals"] and VECTORS["quantization"]


def test_domain_separator(domain):
    assert domain.separator() == from_hex(VECTORS["domain_separator"])


def _request(case):
    return InferenceRequest(
        sender=from_hex(case["sender"]),
        nonce=parse_amount(case["nonce"]),
        model_id=from_hex(case["model_id"]),
        input=Tensor.from_json(case["input"]),
        max_fee=parse_amount(case["max_fee"]),
    )


@pytest.mark.parametrize("index", range(len(_cases("requests"))))
def test_request(domain, index):
    case = VECTORS["requests"][index]
    account = as_account(case["key"])
    assert account.address.lower() == case["sender"].lower()
    req = _request(case)
    assert req.input_commitment() == from_hex(case["input_commitment"])
    assert req.struct_hash() == from_hex(case["struct_hash"])
    digest = req.signing_hash(domain)
    assert digest == from_hex(case["request_hash"])
    # The signature from the key, both ways (RFC 6979 makes it deterministic).
    signature = from_hex(case["signature"])
    assert sign_request(account, req, domain) == signature
    assert recover(digest, signature) == req.sender
    # The typed data, as the node prepares it, and what a wallet makes of it.
    assert req.typed_data(domain) == case["typed_data"]
    assert typed_data_digest(case["typed_data"]) == digest
    assert sign_typed_data(account, case["typed_data"]) == signature
    # The record the answer makes.
    output = Tensor.from_json(case["output"])
    fee = parse_amount(case["fee"])
    expected = record_hash(digest, req.sender, req.model_id, req.input_commitment(), output.commitment(), fee)
    assert expected == from_hex(case["record_hash"])


@pytest.mark.parametrize("index", range(len(_cases("withdrawals"))))
def test_withdrawal(domain, index):
    case = VECTORS["withdrawals"][index]
    account = as_account(case["key"])
    assert account.address.lower() == case["sender"].lower()
    w = Withdrawal(
        sender=from_hex(case["sender"]),
        nonce=parse_amount(case["nonce"]),
        recipient=from_hex(case["recipient"]),
        amount=parse_amount(case["amount"]),
    )
    assert w.struct_hash() == from_hex(case["struct_hash"])
    digest = w.signing_hash(domain)
    # `signing_hash` is the EIP-712 digest the sender signs; `withdrawal_hash` is the
    # leaf keccak(0x09 || fields), the API's `withdrawalHash` and Bridge.claimed's key.
    assert digest == from_hex(case["signing_hash"])
    assert w.leaf() == from_hex(case["withdrawal_hash"])
    signature = from_hex(case["signature"])
    assert sign_withdrawal(account, w, domain) == signature
    assert recover(digest, signature) == w.sender


@pytest.mark.parametrize("index", range(len(_cases("quantization"))))
def test_quantization(index):
    case = VECTORS["quantization"][index]
    tensor = quantize_for_model(case["model"], case["features"])
    assert tensor.to_json() == case["tensor"]
