"""A small JSON-RPC 2.0 client over HTTP for the ``verdict_*`` API.

Kept separate from :mod:`verdict_client.client` so the transport (timeouts, error
mapping, non-JSON refusals such as HTTP 429) is in one place, and tests can replace it.
Every error answer becomes the :class:`~verdict_client.errors.RpcError` subclass of its
code.
"""

from __future__ import annotations

import itertools
from typing import Any, Dict, Optional, Sequence

import requests

from .errors import ProtocolError, RpcError, TransportError


class JsonRpc:
    """Calls methods on one endpoint; thread-safe as far as ``requests.Session`` is."""

    def __init__(self, url: str, timeout: float = 30.0, session: Optional[requests.Session] = None) -> None:
        if not url.startswith(("http://", "https://")):
            raise TransportError(f"{url!r}: only http:// and https:// endpoints are supported")
        self.url = url
        self.timeout = timeout
        self._session = session or requests.Session()
        self._ids = itertools.count(1)

    def call(self, method: str, params: Sequence[Any] = ()) -> Any:
        """The ``result`` of ``method(params)``; raises RpcError on an error answer."""
        body: Dict[str, Any] = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}
        try:
            response = self._session.post(self.url, json=body, timeout=self.timeout)
        except requests.RequestException as e:
            raise TransportError(f"{method}: cannot reach {self.url}: {e}") from e
        try:
            answer = response.json()
        except ValueError:
            text = response.text.strip()[:200]
            raise TransportError(
                f"{method}: {self.url} answered HTTP {response.status_code}: {text or 'no body'}",
                status=response.status_code,
            ) from None
        if not isinstance(answer, dict):
            raise ProtocolError(f"{method}: the answer is not a JSON-RPC object: {answer!r}")
        error = answer.get("error")
        if error is not None:
            if not isinstance(error, dict):
                raise ProtocolError(f"{method}: malformed error {error!r}")
            raise RpcError.from_error(error, method)
        if "result" not in answer:
            raise ProtocolError(f"{method}: the answer has neither result nor error")
        return answer["result"]

    def close(self) -> None:
        """Closes the HTTP session."""
        self._session.close()
