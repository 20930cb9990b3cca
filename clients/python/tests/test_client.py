"""VerdictClient against a fake sequencer: both signing paths, the checks that catch a
lying node, typed node errors, waiting."""

import pytest

from sequencer import MODEL, Sequencer
from verdict_client import VerdictClient
from verdict_client.errors import (
    FeeTooLow,
    InsufficientBalance,
    InvalidParams,
    L1Error,
    MismatchError,
    NotFoundError,
    RecordReverted,
    RetryableRpcError,
    RpcError,
    TransportError,
    UnknownModel,
    WaitTimeout,
)

KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
FEATURES = [0.25, -0.25, 1000.0, 1.0]


@pytest.fixture
def seq():
    s = Sequencer()
    yield s
    s.close()


@pytest.fixture
def client(seq):
    with VerdictClient(seq.url) as c:
        yield c


@pytest.mark.parametrize("via_prepare", [False, True])
def test_infer(seq, client, via_prepare):
    receipt = client.infer("tiny", FEATURES, KEY, via_prepare=via_prepare)
    assert receipt.input.to_json() == {"dtype": "i8", "shape": [4], "data": [1, 0, 127, 2]}
    assert receipt.output.data == (130,)
    assert receipt.fee == 1000 and receipt.nonce == 0
    assert receipt.model_name == "tiny" and receipt.model_id == MODEL["id"]
    assert ("verdict_prepareInference" in seq.node.methods()) == via_prepare
    # The next one takes the next nonce.
    assert client.infer("tiny", FEATURES, KEY, via_prepare=via_prepare).nonce == 1


def test_infer_with_a_ready_tensor(client):
    from verdict_client import Tensor

    receipt = client.infer("tiny", Tensor("i8", [4], [1, 2, 3, 4]), KEY)
    assert receipt.output.data == (10,)


@pytest.mark.parametrize(
    "lie, message",
    [
        ({"prepare_chain": 1}, "domain"),
        ({"prepare_input": [1, 1, 1, 1]}, "another input tensor"),
        ({"prepare_sender": "0x" + "11" * 20}, "another sender"),
    ],
)
def test_a_prepared_request_that_is_not_ours_is_not_signed(seq, client, lie, message):
    seq.lie = lie
    with pytest.raises(MismatchError, match=message):
        client.infer("tiny", FEATURES, KEY, via_prepare=True)
    assert "verdict_sendInference" not in seq.node.methods()


@pytest.mark.parametrize(
    "lie, message",
    [
        ({"request_hash": "0x" + "00" * 32}, "the receipt is for request"),
        ({"tamper_output": True}, "does not follow"),
        ({"fee": 1001}, "above maxFee"),
    ],
)
def test_a_receipt_that_does_not_add_up_is_refused(seq, client, lie, message):
    seq.lie = lie
    with pytest.raises(MismatchError, match=message):
        client.infer("tiny", FEATURES, KEY)


def test_a_wrong_domain_gets_the_nodes_invalid_signature(seq, client):
    seq.lie = {"chain_id": "0x1"}  # the client signs for chain 1, the node checks 31337
    with pytest.raises(RpcError) as e:
        client.infer("tiny", FEATURES, KEY)
    assert e.value.code == 1001 and not e.value.retryable


def test_node_errors_are_typed(seq, client):
    seq.lie = {"error": (1007, "maxFee below the model's fee", {"fee": "0x3e8"})}
    with pytest.raises(FeeTooLow) as e:
        client.infer("tiny", FEATURES, KEY)
    assert (e.value.code, e.value.message, e.value.data) == (1007, "maxFee below the model's fee", {"fee": "0x3e8"})
    assert e.value.method == "verdict_sendInference" and "code 1007" in str(e.value)
    seq.lie = {"error": (2001, "balance too low")}
    with pytest.raises(InsufficientBalance) as e:
        client.infer("tiny", FEATURES, KEY)
    assert e.value.retryable
    seq.lie = {"error": (2999, "new retryable code")}
    with pytest.raises(RetryableRpcError):
        client.infer("tiny", FEATURES, KEY)
    seq.lie = {"error": (-32602, "invalid params")}
    with pytest.raises(InvalidParams):
        client.infer("tiny", FEATURES, KEY)
    seq.lie = {"error": (1004, "unknown model")}
    with pytest.raises(UnknownModel):
        client.infer("tiny", FEATURES, KEY)


def test_unknown_model(client):
    assert client.get_model("nope") is None
    with pytest.raises(NotFoundError, match="nope"):
        client.infer("nope", FEATURES, KEY)


def test_wrong_feature_count_fails_before_sending(seq, client):
    from verdict_client.errors import FeatureCountError

    with pytest.raises(FeatureCountError):
        client.infer("tiny", [1.0], KEY)
    assert "verdict_sendInference" not in seq.node.methods()


def test_wait(seq, client):
    receipt = client.infer("tiny", FEATURES, KEY)
    seq.statuses = ["pending", "pending", "posted", "finalized"]
    assert client.wait(receipt.record_hash, "posted", timeout=5, poll=0.01)["status"] == "posted"
    assert client.wait(receipt.record_hash, "final", timeout=5, poll=0.01)["status"] == "finalized"
    seq.statuses = ["finalized"]
    assert client.wait(receipt.record_hash, "posted", timeout=5, poll=0.01)["status"] == "finalized"
    seq.statuses = ["reverted"]
    with pytest.raises(RecordReverted):
        client.wait(receipt.record_hash, "posted", timeout=5, poll=0.01)
    seq.statuses = ["pending"]
    with pytest.raises(WaitTimeout, match="pending"):
        client.wait(receipt.record_hash, "finalized", timeout=0.05, poll=0.01)
    with pytest.raises(ValueError):
        client.wait(receipt.record_hash, "done")


def test_a_record_that_disappears_was_rolled_back(seq, client):
    receipt = client.infer("tiny", FEATURES, KEY)
    seq.statuses = ["pending"]
    calls = []

    def forget_after_first(*a):
        calls.append(1)
        if len(calls) > 1:
            seq.lie = {"forget": True}

    original = client.get_inference

    def spy(h):
        forget_after_first()
        return original(h)

    client.get_inference = spy
    with pytest.raises(RecordReverted, match="no longer knows"):
        client.wait(receipt.record_hash, "posted", timeout=5, poll=0.01)


def test_wait_rides_out_an_unreachable_node(seq, client):
    receipt = client.infer("tiny", FEATURES, KEY)
    seq.statuses = ["posted"]
    original = client.get_inference
    failures = [2]

    def flaky(h):
        if failures[0]:
            failures[0] -= 1
            raise TransportError("restarting")
        return original(h)

    client.get_inference = flaky
    assert client.wait(receipt.record_hash, "posted", timeout=5, poll=0.01)["status"] == "posted"


def test_l1_is_required_for_verification(client):
    with pytest.raises(L1Error, match="no L1 endpoint"):
        client.verify("0x" + "00" * 32)


def test_account_and_models(client):
    assert client.account("0x70997970C51812dc3A010C7d01b50e0d17dc79C8") == {"balance": 10**18, "nonce": 0}
    assert [m["name"] for m in client.models()] == ["tiny"]
    assert client.domain().chain_id == 31337


def test_output_values_and_class():
    from verdict_client import Tensor
    from verdict_client.client import class_of, output_values

    # As `verdict model run` prints: the f32 scale widened, not the decimal.
    assert output_values({"task": "regression", "outputScale": 0.00015933684}, Tensor("i32", [1], [2503])) == [0.39882010070141405]
    assert output_values({"task": "classification", "outputScale": 0.0}, Tensor("i32", [1], [3])) is None
    assert class_of(Tensor("i32", [1], [7])) == 7
    assert class_of(Tensor("i8", [4], [1, 9, 9, 2])) == 1  # the first of equal scores
