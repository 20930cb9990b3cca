"""EIP-712 digests, signatures and typed data (specs/l2.md), checked against
eth_account's independent EIP-712 encoder, and the error paths."""

import random

import pytest
from eth_account import Account

from verdict_client.encoding import keccak
from verdict_client.errors import EncodingError
from verdict_client.signing import (
    SECP256K1_N,
    Domain,
    InferenceRequest,
    Withdrawal,
    as_account,
    recover,
    sign_digest,
    sign_request,
    sign_typed_data,
    sign_withdrawal,
    typed_data_digest,
)
from verdict_client.tensors import Tensor

KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
DOMAIN = Domain(31337, bytes.fromhex("9fe46736679d2d9a65f0992f2272de9f3c7fa6e0"))


def request(rng=None, **changes):
    rng = rng or random.Random(7)
    fields = dict(
        sender=bytes.fromhex(ADDRESS[2:]),
        nonce=rng.randrange(2**64),
        model_id=bytes(rng.randrange(256) for _ in range(32)),
        input=Tensor("i8", [1, 4], [rng.randrange(-127, 128) for _ in range(4)]),
        max_fee=rng.randrange(2**128),
    )
    fields.update(changes)
    return InferenceRequest(**fields)


def test_domain_separator_is_standard_eip712():
    typed = request().typed_data(DOMAIN)
    from eth_account.messages import encode_typed_data

    assert bytes(encode_typed_data(full_message=typed).header) == DOMAIN.separator()


@pytest.mark.parametrize("seed", range(8))
def test_request_digest_equals_eth_account(seed):
    r = request(random.Random(seed))
    assert typed_data_digest(r.typed_data(DOMAIN)) == r.signing_hash(DOMAIN)


def test_typed_data_has_the_node_form():
    r = request(nonce=5, max_fee=1000)
    td = r.typed_data(DOMAIN)
    assert td["primaryType"] == "InferenceRequest"
    assert td["domain"] == {
        "name": "Verdict",
        "version": "1",
        "chainId": 31337,
        "verifyingContract": "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
    }
    assert td["message"]["sender"] == ADDRESS
    assert td["message"]["nonce"] == "5" and td["message"]["maxFee"] == "1000"
    assert td["message"]["input"] == "0x" + r.input.commitment().hex()
    assert [f["name"] for f in td["types"]["InferenceRequest"]] == ["sender", "nonce", "modelId", "input", "maxFee"]


def test_every_field_and_the_domain_change_the_digest():
    base = request(nonce=1, max_fee=10)
    digests = {
        base.signing_hash(DOMAIN),
        request(nonce=2, max_fee=10).signing_hash(DOMAIN),
        request(nonce=1, max_fee=11).signing_hash(DOMAIN),
        request(nonce=1, max_fee=10, model_id=bytes(32)).signing_hash(DOMAIN),
        request(nonce=1, max_fee=10, sender=bytes(20)).signing_hash(DOMAIN),
        request(nonce=1, max_fee=10, input=Tensor("i8", [4, 1], list(base.input.data))).signing_hash(DOMAIN),
        base.signing_hash(Domain(1, DOMAIN.rollup)),
        base.signing_hash(Domain(31337, bytes(20))),
    }
    assert len(digests) == 8


def test_local_signature_and_typed_data_signature_agree_and_recover():
    r = request()
    local = sign_request(KEY, r, DOMAIN)
    wallet = sign_typed_data(KEY, r.typed_data(DOMAIN))
    assert local == wallet  # RFC 6979: deterministic
    assert len(local) == 65 and local[64] in (27, 28)
    assert int.from_bytes(local[32:64], "big") <= SECP256K1_N // 2
    assert recover(r.signing_hash(DOMAIN), local) == bytes.fromhex(ADDRESS[2:])


def test_node_typed_data_with_decimal_strings_signs():
    # verdict_prepareInference's typed data, as the devnet answered it.
    typed = {
        "domain": {"chainId": 31337, "name": "Verdict", "verifyingContract": "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0", "version": "1"},
        "message": {
            "input": "0x4a3fb942b463de08156895661a344c59f31d9d4f812e89b8bbc68b04d5e87948",
            "maxFee": "1000000000000",
            "modelId": "0x7980d73cf6fcc0bc53e3a4484fd3ee5796248d7c0440b9e2dce683fcb0efe034",
            "nonce": "0",
            "sender": ADDRESS,
        },
        "primaryType": "InferenceRequest",
        "types": request().typed_data(DOMAIN)["types"],
    }
    assert typed_data_digest(typed).hex() == "ac5a92c6eaaf160af8729c16f6d7e791ce65996b1c131710c5db2ca0bd88c6ee"
    sig = sign_typed_data(KEY, typed)
    assert recover(typed_data_digest(typed), sig) == bytes.fromhex(ADDRESS[2:])


def test_withdrawal_digest_leaf_and_signature():
    w = Withdrawal(bytes.fromhex(ADDRESS[2:]), 3, b"\x22" * 20, 10**18)
    assert typed_data_digest(w.typed_data(DOMAIN)) == w.signing_hash(DOMAIN)
    assert w.leaf() == keccak(b"\x09", w.sender, (3).to_bytes(8, "big"), w.recipient, (10**18).to_bytes(16, "big"))
    sig = sign_withdrawal(KEY, w, DOMAIN)
    assert recover(w.signing_hash(DOMAIN), sig) == w.sender
    assert w.to_json(sig)["amount"] == hex(10**18)


def test_request_json_round_trips():
    r = request()
    sig = sign_request(KEY, r, DOMAIN)
    j = r.to_json(sig)
    assert j["nonce"] == hex(r.nonce) and j["maxFee"] == hex(r.max_fee)
    assert InferenceRequest.from_json(j) == r


def test_v_is_normalized_and_high_s_refused():
    r = request()
    sig = sign_request(KEY, r, DOMAIN)
    as_01 = sig[:64] + bytes([sig[64] - 27])
    assert recover(r.signing_hash(DOMAIN), as_01) == bytes.fromhex(ADDRESS[2:])
    s = int.from_bytes(sig[32:64], "big")
    high = sig[:32] + (SECP256K1_N - s).to_bytes(32, "big") + sig[64:]
    with pytest.raises(EncodingError, match="upper half"):
        recover(r.signing_hash(DOMAIN), high)
    with pytest.raises(EncodingError, match="65 bytes"):
        recover(r.signing_hash(DOMAIN), sig[:64])
    with pytest.raises(EncodingError, match="v 5"):
        recover(r.signing_hash(DOMAIN), sig[:64] + b"\x05")


def test_out_of_range_fields_are_refused():
    with pytest.raises(EncodingError, match="2\\^128"):
        request(max_fee=2**128)
    with pytest.raises(EncodingError, match="64 bits"):
        request(nonce=2**64)
    with pytest.raises(EncodingError):
        request(sender=b"\x01" * 19)
    with pytest.raises(EncodingError, match="amount"):
        Withdrawal(b"\x01" * 20, 0, b"\x02" * 20, 0)


def test_keys():
    assert as_account(KEY).address == ADDRESS
    acct = Account.from_key(KEY)
    assert as_account(acct) is acct
    with pytest.raises(EncodingError, match="private key"):
        as_account("0x1234")
    with pytest.raises(EncodingError):
        sign_digest(KEY, b"short")


def test_domain_parsing():
    info = {"l1ChainId": "0x7a69", "rollup": "0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0"}
    assert Domain.from_chain_info(info) == DOMAIN
    assert Domain.from_json(DOMAIN.to_json()) == DOMAIN
    assert Domain.from_json(dict(DOMAIN.to_json(), chainId="31337")) == DOMAIN
    with pytest.raises(EncodingError, match="not the Verdict domain"):
        Domain.from_json(dict(DOMAIN.to_json(), name="Other"))
