"""The transport: error objects, non-JSON refusals, unreachable endpoints."""

import socket

import pytest

from fakenode import FakeNode
from verdict_client.errors import MethodNotFound, ProtocolError, RpcError, TransportError
from verdict_client.rpc import JsonRpc


@pytest.fixture
def node():
    n = FakeNode({"echo": lambda p: p, "null": lambda p: None})
    yield n
    n.close()


def test_results_and_null(node):
    rpc = JsonRpc(node.url)
    assert rpc.call("echo", [1, "a"]) == [1, "a"]
    assert rpc.call("null") is None
    assert node.calls[0]["jsonrpc"] == "2.0" and node.calls[0]["params"] == [1, "a"]
    assert node.calls[0]["id"] != node.calls[1]["id"]


def test_method_not_found(node):
    with pytest.raises(MethodNotFound) as e:
        JsonRpc(node.url).call("nope")
    assert e.value.code == -32601


@pytest.mark.parametrize("status, body", [(429, "Too Many Requests"), (413, ""), (500, "boom")])
def test_plain_text_refusals(node, status, body):
    node.raw = (status, body)
    with pytest.raises(TransportError) as e:
        JsonRpc(node.url).call("echo")
    assert e.value.status == status and str(status) in str(e.value)


def test_not_json_rpc(node):
    node.raw = (200, "[1, 2]")
    with pytest.raises(ProtocolError):
        JsonRpc(node.url).call("echo")


def test_unreachable():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(TransportError, match="cannot reach"):
        JsonRpc(f"http://127.0.0.1:{port}", timeout=2).call("echo")


def test_only_http_urls():
    with pytest.raises(TransportError):
        JsonRpc("ws://127.0.0.1:1")


def test_error_objects_without_a_code():
    with pytest.raises(ProtocolError):
        RpcError.from_error({"message": "no code"})
