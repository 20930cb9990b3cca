"""`python -m verdict_client infer`: the JSON interface scripts and the Rust integration
test rely on, and its error exits."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sequencer import Sequencer
from verdict_client.cli import EXIT_ERROR, EXIT_OK, main

KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"


@pytest.fixture
def seq():
    s = Sequencer()
    yield s
    s.close()


def features_file(tmp_path, value):
    path = tmp_path / "features.json"
    path.write_text(json.dumps(value))
    return str(path)


def run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("via_prepare", [[], ["--via-prepare"]])
def test_infer_json(seq, tmp_path, capsys, via_prepare):
    f = features_file(tmp_path, [0.25, -0.25, 1000, 1.0])
    code, out, _ = run(capsys, "infer", "--rpc", seq.url, "--model", "tiny", "--features", f, "--key", KEY, "--json", *via_prepare)
    assert code == EXIT_OK
    answer = json.loads(out)
    for key in ("output", "record_hash", "request_hash", "input_commitment", "status", "fee"):
        assert key in answer, key
    assert answer["output"] == {"dtype": "i32", "shape": [1], "data": [130]}
    assert answer["fee"] == "1000" and answer["status"] == "pending"
    assert answer["value"] == [65.0] and answer["class"] is None
    assert answer["via_prepare"] == bool(via_prepare)
    assert "verified" not in answer


def test_infer_wait_posted(seq, tmp_path, capsys):
    seq.statuses = ["pending", "posted"]
    f = features_file(tmp_path, [0, 0, 0, 0])
    code, out, _ = run(capsys, "infer", "--rpc", seq.url, "--model", "tiny", "--features", f, "--key", KEY, "--wait", "posted", "--json")
    assert code == EXIT_OK
    answer = json.loads(out)
    assert answer["status"] == "posted" and answer["batch"] == 1 and "posted" in answer["elapsed_s"]


def test_text_output(seq, tmp_path, capsys):
    f = features_file(tmp_path, [0, 0, 0, 0])
    code, out, _ = run(capsys, "infer", "--rpc", seq.url, "--model", "tiny", "--features", f, "--key", KEY)
    assert code == EXIT_OK and out.startswith("output       i32[1] [0]")


@pytest.mark.parametrize(
    "content, kind",
    [([1.0], "FeatureCountError"), ({"not": "a tensor"}, "TensorError"), (["x", 1, 2, 3], "VerdictError"), ("[1,", None)],
)
def test_bad_features_exit_with_an_error_object(seq, tmp_path, capsys, content, kind):
    path = tmp_path / "f.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    code, out, err = run(capsys, "infer", "--rpc", seq.url, "--model", "tiny", "--features", str(path), "--key", KEY, "--json")
    assert code == EXIT_ERROR and err.startswith("error: ")
    error = json.loads(out)["error"]
    if kind:
        assert error["type"] == kind


def test_node_errors_carry_the_code(seq, tmp_path, capsys):
    seq.lie = {"error": (2001, "balance too low")}
    f = features_file(tmp_path, [0, 0, 0, 0])
    code, out, _ = run(capsys, "infer", "--rpc", seq.url, "--model", "tiny", "--features", f, "--key", KEY, "--json")
    assert code == EXIT_ERROR
    error = json.loads(out)["error"]
    assert error["code"] == 2001 and error["node_message"] == "balance too low" and error["type"] == "InsufficientBalance"


def test_verify_needs_l1(seq, tmp_path, capsys):
    f = features_file(tmp_path, [0, 0, 0, 0])
    code, _, err = run(capsys, "infer", "--rpc", seq.url, "--model", "tiny", "--features", f, "--key", KEY, "--verify")
    assert code == EXIT_ERROR and "--l1-rpc" in err


def test_no_key(seq, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("VERDICT_KEY", raising=False)
    f = features_file(tmp_path, [0, 0, 0, 0])
    code, _, err = run(capsys, "infer", "--rpc", seq.url, "--model", "tiny", "--features", f)
    assert code == EXIT_ERROR and "--key" in err


def test_unknown_model(seq, tmp_path, capsys):
    f = features_file(tmp_path, [0, 0, 0, 0])
    code, out, _ = run(capsys, "infer", "--rpc", seq.url, "--model", "nope", "--features", f, "--key", KEY, "--json")
    assert code == EXIT_ERROR and json.loads(out)["error"]["type"] == "NotFoundError"


def test_models(seq, capsys):
    code, out, _ = run(capsys, "models", "--rpc", seq.url, "--json")
    assert code == EXIT_OK and json.loads(out)[0]["name"] == "tiny"


def test_python_dash_m(seq, tmp_path):
    f = features_file(tmp_path, [0, 0, 0, 0])
    src = str(Path(__file__).resolve().parent.parent / "src")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run(
        [sys.executable, "-m", "verdict_client", "infer", "--rpc", seq.url, "--model", "tiny", "--features", f, "--key", KEY, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["output"]["data"] == [0]
