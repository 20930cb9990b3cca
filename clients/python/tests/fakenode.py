"""A stand-in JSON-RPC node for offline tests: an HTTP server in a thread answering
methods from a dict of handlers (``params -> result``), or errors they raise."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List


class NodeError(Exception):
    """Raised by a handler to answer a JSON-RPC error."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data


class FakeNode:
    def __init__(self, handlers: Dict[str, Callable[[List[Any]], Any]]) -> None:
        self.handlers = handlers
        self.calls: List[Dict[str, Any]] = []
        #: When set, answer every request with this (status, body) instead.
        self.raw: Any = None
        node = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                node.calls.append(body)
                if node.raw is not None:
                    status, text = node.raw
                    self._send(status, text.encode(), "text/plain")
                    return
                answer: Dict[str, Any] = {"jsonrpc": "2.0", "id": body["id"]}
                handler = node.handlers.get(body["method"])
                if handler is None:
                    answer["error"] = {"code": -32601, "message": "Method not found"}
                else:
                    try:
                        answer["result"] = handler(body["params"])
                    except NodeError as e:
                        answer["error"] = {"code": e.code, "message": e.message}
                        if e.data is not None:
                            answer["error"]["data"] = e.data
                self._send(200, json.dumps(answer).encode(), "application/json")

            def _send(self, status: int, data: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def methods(self) -> List[str]:
        return [c["method"] for c in self.calls]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
