"""``python -m verdict_client``: the client from the command line.

``infer`` is the interface scripts and the Rust integration tests call; its ``--json``
object keeps at least ``output``, ``record_hash``, ``request_hash``,
``input_commitment``, ``status`` and ``fee`` (wei, decimal string), plus ``verified``
and ``verdict`` with ``--verify``. Exit status: 0 done (and verified, with
``--verify``), 1 not verified, 2 an error (printed; with ``--json`` also as
``{"error": {..}}`` on stdout).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Dict, List, Optional, Sequence

from .client import VerdictClient, class_of, output_values
from .errors import RpcError, VerdictError
from .signing import as_account
from .tensors import Tensor

EXIT_OK = 0
EXIT_NOT_VERIFIED = 1
EXIT_ERROR = 2


def _read_features(path: str) -> Any:
    """A JSON array of numbers (float features), or a JSON tensor object sent as is."""
    text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    try:
        value = json.loads(text)
    except ValueError as e:
        raise VerdictError(f"{path}: not JSON: {e}") from None
    if isinstance(value, dict):
        return Tensor.from_json(value)
    if not isinstance(value, list):
        raise VerdictError(f"{path}: expected a JSON array of numbers")
    for i, x in enumerate(value):
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise VerdictError(f"{path}: element {i} ({x!r}) is not a number")
    return [float(x) for x in value]


def _key(args: argparse.Namespace) -> str:
    key = args.key or os.environ.get("VERDICT_KEY")
    if not key:
        raise VerdictError("no signing key: pass --key 0x... (or set VERDICT_KEY)")
    return key


def _wei(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer amount of wei")
    return int(text)


def _client(args: argparse.Namespace) -> VerdictClient:
    return VerdictClient(
        args.rpc,
        getattr(args, "l1_rpc", None),
        rollup=getattr(args, "rollup", None),
        timeout=getattr(args, "rpc_timeout", 30.0),
    )


def _print(args: argparse.Namespace, value: Dict[str, Any], lines: Sequence[str]) -> None:
    if args.json:
        print(json.dumps(value, indent=2))
    else:
        for line in lines:
            print(line)


def cmd_infer(args: argparse.Namespace) -> int:
    features = _read_features(args.features)
    if args.verify and not args.l1_rpc:
        raise VerdictError("--verify needs --l1-rpc: verification trusts only L1")
    client = _client(args)
    account = as_account(_key(args))
    model = client.model(args.model)
    started = time.monotonic()
    receipt = client.infer(args.model, features, account, max_fee=args.max_fee, via_prepare=args.via_prepare)
    elapsed: Dict[str, float] = {"answer": round(time.monotonic() - started, 3)}
    found: Optional[Dict[str, Any]] = None
    if args.wait in ("posted", "finalized", "final"):
        found = client.wait(receipt.record_hash, "posted", timeout=args.timeout)
        elapsed["posted"] = round(time.monotonic() - started, 3)
        if args.wait != "posted":
            remaining = max(0.0, args.timeout - (time.monotonic() - started))
            found = client.wait(receipt.record_hash, "finalized", timeout=remaining)
            elapsed["finalized"] = round(time.monotonic() - started, 3)
    else:
        found = client.get_inference(receipt.record_hash)
    status = (found or {}).get("status", "pending")
    batch = (found or {}).get("batchIndex")
    values = output_values(model, receipt.output)
    out: Dict[str, Any] = {
        "output": receipt.output.to_json(),
        "record_hash": receipt.record_hash,
        "request_hash": receipt.request_hash,
        "input_commitment": receipt.input_commitment,
        "status": status,
        "fee": str(receipt.fee),
        "max_fee": str(receipt.max_fee),
        "input": receipt.input.to_json(),
        "model": model.get("name"),
        "model_id": receipt.model_id,
        "task": model.get("task"),
        "class": None if values is not None else class_of(receipt.output),
        "value": values,
        "block": receipt.block_number,
        "index": receipt.index,
        "sender": receipt.sender,
        "nonce": receipt.nonce,
        "batch": None if batch is None else int(batch, 16),
        "via_prepare": bool(args.via_prepare),
        "elapsed_s": elapsed,
    }
    lines = [
        f"output       {receipt.output.dtype}{list(receipt.output.shape)} {list(receipt.output.data)}",
        f"value        {values}" if values is not None else f"class        {out['class']}",
        f"record       {receipt.record_hash}",
        f"request      {receipt.request_hash}",
        f"block        {receipt.block_number} (index {receipt.index})",
        f"fee          {receipt.fee} wei",
        f"status       {status}" + (f" (batch {out['batch']})" if batch is not None else ""),
    ]
    code = EXIT_OK
    if args.verify:
        verdict = client.verify(receipt.record_hash)
        out["verified"] = verdict.verified
        out["verdict"] = verdict.to_json()
        out["rollup"] = client.l1.rollup_address
        out["rollup_pinned"] = client.rollup_pinned
        lines.append(verdict.describe())
        code = EXIT_OK if verdict.verified else EXIT_NOT_VERIFIED
    _print(args, out, lines)
    return code


def cmd_verify(args: argparse.Namespace) -> int:
    client = _client(args)
    verdict, found = client.verify_record(args.record_hash)
    out = {
        "record_hash": args.record_hash,
        "verified": verdict.verified,
        "verdict": verdict.to_json(),
        "rollup": client.l1.rollup_address,
        "rollup_pinned": client.rollup_pinned,
        "output": found["record"]["output"] if found and verdict.verified else None,
    }
    lines = [verdict.describe()]
    if not client.rollup_pinned and not args.json:
        print("warning: the Rollup address came from the L2 endpoint; pass --rollup to pin it", file=sys.stderr)
    _print(args, out, lines)
    return EXIT_OK if verdict.verified else EXIT_NOT_VERIFIED


def cmd_models(args: argparse.Namespace) -> int:
    client = _client(args)
    models = client.models()
    lines = [f"{m.get('name', '?'):18} {m['id']}  input {m.get('inputDtype', 'i8')}{m['inputShape']}" for m in models]
    if args.json:
        print(json.dumps(models, indent=2))
    else:
        for line in lines:
            print(line)
    return EXIT_OK


def cmd_deposit(args: argparse.Namespace) -> int:
    client = _client(args)
    account = as_account(_key(args))
    receipt = client.deposit(args.amount_wei, account, args.to, wait=args.wait, timeout=args.timeout)
    out = {
        "index": receipt.index,
        "l1_block": receipt.l1_block,
        "sender": receipt.sender,
        "recipient": receipt.recipient,
        "amount": str(receipt.amount),
        "l1_transaction": receipt.transaction_hash,
    }
    if args.wait:
        out["l2_balance"] = str(client.account(receipt.recipient)["balance"])
    _print(args, out, [f"deposited {receipt.amount} wei to {receipt.recipient} (queue index {receipt.index}, L1 block {receipt.l1_block})"])
    return EXIT_OK


def cmd_withdraw(args: argparse.Namespace) -> int:
    client = _client(args)
    account = as_account(_key(args))
    result = client.withdraw(args.amount_wei, args.to, account)
    out = dict(result, amount=str(result["amount"]))
    _print(args, out, [f"withdrawal {result['withdrawal_hash']} in block {result['block_number']}"])
    return EXIT_OK


def cmd_withdrawal_status(args: argparse.Namespace) -> int:
    client = _client(args)
    status = client.withdrawal_status(args.withdrawal_hash)
    _print(args, status.to_json(), [f"status {json.dumps(status.to_json())}"])
    return EXIT_OK


def cmd_claim(args: argparse.Namespace) -> int:
    client = _client(args)
    account = as_account(_key(args))
    receipt = client.claim_withdrawal(args.withdrawal_hash, account, wait=args.wait, timeout=args.timeout)
    out = {
        "withdrawal_hash": receipt.leaf,
        "recipient": receipt.recipient,
        "amount": str(receipt.amount),
        "l1_transaction": receipt.transaction_hash,
        "gas_used": receipt.gas_used,
    }
    _print(args, out, [f"claimed {receipt.amount} wei to {receipt.recipient} ({receipt.transaction_hash})"])
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m verdict_client", description="Verdict client")
    sub = parser.add_subparsers(dest="command", required=True)

    def endpoints(p: argparse.ArgumentParser, l1: bool) -> None:
        p.add_argument("--rpc", default="http://127.0.0.1:8645", help="the node's JSON-RPC URL (not trusted)")
        if l1:
            p.add_argument("--l1-rpc", help="the L1 JSON-RPC URL (trusted)")
            p.add_argument("--rollup", help="pin the Rollup address (default: from the node's chain info)")
        p.add_argument("--json", action="store_true", help="print one JSON object")

    p = sub.add_parser("infer", help="sign a request, send it, follow and verify the answer")
    endpoints(p, l1=True)
    p.add_argument("--model", required=True, help="the model's registered name or 0x id")
    p.add_argument("--features", required=True, help="a JSON array of float features (or a JSON tensor); - for stdin")
    p.add_argument("--key", help="0x private key that signs and pays (or VERDICT_KEY)")
    p.add_argument(
        "--wait", choices=["answer", "posted", "finalized", "final"], default="answer",
        help="return at the answer, once the batch is posted on L1, or once it is final",
    )
    p.add_argument("--via-prepare", action="store_true", help="let the node prepare the request and sign its typed data")
    p.add_argument("--verify", action="store_true", help="verify the answer against L1 (use with --wait posted/finalized)")
    p.add_argument("--max-fee", type=int, help="largest fee to agree to, in wei (default: the model's fee)")
    p.add_argument("--timeout", type=float, default=600.0, help="give up waiting after this many seconds")
    p.set_defaults(run=cmd_infer)

    p = sub.add_parser("verify", help="check a record against L1: final, pending or not verified")
    endpoints(p, l1=True)
    p.add_argument("record_hash")
    p.set_defaults(run=cmd_verify)

    p = sub.add_parser("models", help="the models the node serves")
    endpoints(p, l1=False)
    p.set_defaults(run=cmd_models)

    p = sub.add_parser("deposit", help="deposit wei from L1 to L2 through the Bridge")
    endpoints(p, l1=True)
    p.add_argument("--amount-wei", type=_wei, required=True)
    p.add_argument("--to", help="the L2 account credited (default: the key's address)")
    p.add_argument("--key", help="0x private key of the paying L1 account (or VERDICT_KEY)")
    p.add_argument("--wait", action="store_true", help="wait until L2 shows the credit")
    p.add_argument("--timeout", type=float, default=300.0)
    p.set_defaults(run=cmd_deposit)

    p = sub.add_parser("withdraw", help="sign and send a withdrawal from L2 to L1")
    endpoints(p, l1=False)
    p.add_argument("--amount-wei", type=_wei, required=True)
    p.add_argument("--to", help="the L1 address paid (default: the key's address)")
    p.add_argument("--key", help="0x private key of the L2 account (or VERDICT_KEY)")
    p.set_defaults(run=cmd_withdraw)

    p = sub.add_parser("withdrawal-status", help="where a withdrawal stands, checked against L1")
    endpoints(p, l1=True)
    p.add_argument("withdrawal_hash")
    p.set_defaults(run=cmd_withdrawal_status)

    p = sub.add_parser("claim", help="claim a withdrawal on L1 once its batch is final")
    endpoints(p, l1=True)
    p.add_argument("withdrawal_hash")
    p.add_argument("--key", help="0x private key that sends the L1 transaction (or VERDICT_KEY)")
    p.add_argument("--wait", action="store_true", help="wait until the batch is final")
    p.add_argument("--timeout", type=float, default=3600.0)
    p.set_defaults(run=cmd_claim)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the command line; answers the exit status."""
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
    except (VerdictError, OSError) as e:
        error: Dict[str, Any] = {"type": type(e).__name__, "message": str(e)}
        if isinstance(e, RpcError):
            error.update(code=e.code, node_message=e.message, data=e.data)
        print(f"error: {e}", file=sys.stderr)
        if getattr(args, "json", False):
            print(json.dumps({"error": error}, indent=2))
        return EXIT_ERROR
