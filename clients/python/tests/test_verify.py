"""Verification against L1 (the `verdict verify` check), every verdict, offline."""

import copy

import pytest

from chainfixture import Chain, FakeL1, other_batch
from verdict_client.bridge import check_withdrawal
from verdict_client.encoding import to_hex
from verdict_client.proofs import ProofError, verify_record_inclusion
from verdict_client.verify import check_inference


@pytest.fixture
def chain():
    return Chain()


def test_pending_inside_the_window(chain):
    v = check_inference(chain.inference(), FakeL1(chain), chain.record)
    assert v.verified and v.status == "pending"
    assert v.to_json() == {"status": "pending", "batch_index": 4, "window_end": 110, "l1_block": 105, "open_disputes": 0}


def test_final(chain):
    v = check_inference(chain.inference(), FakeL1(chain, finalized=5), chain.record)
    assert v.verified and v.final and v.to_json() == {"status": "final", "batch_index": 4}


def test_not_posted(chain):
    v = check_inference(chain.inference(proof=None, status="pending"), FakeL1(chain), chain.record)
    assert not v.verified and v.to_json() == {"status": "not_posted", "block": 2}


def test_reverted(chain):
    replacement = other_batch(chain, output_root=b"\x99" * 32)
    v = check_inference(chain.inference(), FakeL1(chain, posted=[chain.batch, replacement], current=replacement), chain.record)
    assert not v.verified and v.status == "reverted" and v.batch_index == 4


def test_another_record_hash(chain):
    v = check_inference(chain.inference(), FakeL1(chain), b"\x01" * 32)
    assert v.status == "not_verified" and "does not hash" in v.reason


def test_an_output_the_record_does_not_commit_to(chain):
    answer = chain.inference()
    answer["record"]["output"] = {"dtype": "i32", "shape": [1, 3], "data": [0, 4113, 87]}
    v = check_inference(answer, FakeL1(chain), chain.record)
    assert v.status == "not_verified" and "output" in v.reason


def test_a_false_merkle_path(chain):
    answer = chain.inference()
    answer["proof"]["recordProof"][0] = to_hex(b"\x02" * 32)
    v = check_inference(answer, FakeL1(chain), chain.record)
    assert v.status == "not_verified" and "not in block 2" in v.reason


def test_a_broken_header_chain(chain):
    answer = chain.inference()
    answer["proof"]["laterHeaders"][0]["parentHash"] = to_hex(b"\x00" * 32)
    v = check_inference(answer, FakeL1(chain), chain.record)
    assert v.status == "not_verified" and "does not follow" in v.reason


def test_a_stated_output_root_the_headers_do_not_reach(chain):
    answer = chain.inference()
    answer["proof"]["outputRoot"] = to_hex(b"\x03" * 32)
    with pytest.raises(ProofError):
        verify_record_inclusion(chain.record, answer["proof"])
    assert check_inference(answer, FakeL1(chain), chain.record).status == "not_verified"


def test_the_node_hash_fields_are_not_believed(chain):
    answer = chain.inference()
    answer["proof"]["block"]["hash"] = to_hex(b"\x00" * 32)  # ignored: recomputed
    assert check_inference(answer, FakeL1(chain), chain.record).verified
    answer["proof"]["block"]["timestamp"] = "0x1"  # changes the real hash
    assert not check_inference(answer, FakeL1(chain), chain.record).verified


def test_an_output_root_l1_never_held(chain):
    v = check_inference(chain.inference(), FakeL1(chain, posted=[other_batch(chain, output_root=b"\x07" * 32)]), chain.record)
    assert v.status == "not_verified" and "never held" in v.reason


def test_a_block_outside_the_batch(chain):
    narrow = other_batch(chain, first_block=3)
    v = check_inference(chain.inference(), FakeL1(chain, posted=[narrow], current=narrow), chain.record)
    assert v.status == "not_verified" and "not in batch" in v.reason


def test_malformed_answers(chain):
    answer = chain.inference()
    del answer["proof"]["block"]["stateRoot"]
    assert "malformed" in check_inference(answer, FakeL1(chain), chain.record).reason
    answer = chain.inference()
    answer["record"]["fee"] = "ten"
    assert "malformed" in check_inference(answer, FakeL1(chain), chain.record).reason


def test_withdrawal_statuses(chain):
    leaf = chain.withdrawal.leaf()
    assert check_withdrawal(None, FakeL1(chain), leaf).status == "unknown"
    waiting = dict(chain.withdrawal_answer(), proof=None)
    assert check_withdrawal(waiting, FakeL1(chain), leaf).to_json() == {"status": "waiting_for_batch", "block": 2}
    s = check_withdrawal(chain.withdrawal_answer(), FakeL1(chain), leaf)
    assert s.to_json() == {"status": "in_dispute_window", "batch_index": 4, "window_end": 110, "l1_block": 105}
    s = check_withdrawal(chain.withdrawal_answer(), FakeL1(chain, finalized=5), leaf)
    assert s.status == "ready_to_claim"
    assert s.claim.block_header == chain.blocks[1].encode() and s.claim.later_headers == [chain.blocks[2].encode()]
    assert check_withdrawal(chain.withdrawal_answer(), FakeL1(chain, finalized=5, claimed=True), leaf).status == "claimed"


def test_withdrawal_lies(chain):
    leaf = chain.withdrawal.leaf()
    answer = chain.withdrawal_answer()
    answer["amount"] = hex(10**18)
    assert "does not hash" in check_withdrawal(answer, FakeL1(chain), leaf).reason
    answer = copy.deepcopy(chain.withdrawal_answer())
    answer["proof"]["index"] = "0x1"
    assert check_withdrawal(answer, FakeL1(chain), leaf).status == "not_verified"
    answer = chain.withdrawal_answer()
    fake = other_batch(chain, output_root=b"\x07" * 32)
    assert "another output root" in check_withdrawal(answer, FakeL1(chain, posted=[fake], current=fake), leaf).reason
    gone = other_batch(chain, data_hash=b"\x98" * 32)
    assert check_withdrawal(answer, FakeL1(chain, posted=[chain.batch], current=gone), leaf).status == "reverted"
