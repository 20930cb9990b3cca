"""Typed errors, so callers can act on *why* something failed.

The node's JSON-RPC error codes are stable (docs/rpc.md): 1xxx means "this request can
never succeed as sent", 2xxx "it may succeed later", 3xxx "the node is at fault". Every
node error becomes an :class:`RpcError` subclass carrying that code, the node's message
and its ``data``, and says whether a retry can help. Errors found on this side (bad
features, a malformed tensor, a node answer that does not add up) have their own classes,
all under :class:`VerdictError`.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Type


class VerdictError(Exception):
    """Base of every error this library raises on purpose."""


class EncodingError(VerdictError, ValueError):
    """A value (hex, quantity, address) is not in the form the protocol requires."""


class TensorError(VerdictError, ValueError):
    """A tensor breaks the rules of specs/tensor.md (dtype, shape, element range)."""


class QuantizeError(VerdictError, ValueError):
    """Float features cannot be turned into the model's input tensor."""


class FeatureCountError(QuantizeError):
    """The number of features is not the number of input elements the model takes."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"expected {expected} input features, got {actual}")
        self.expected = expected
        self.actual = actual


class NonFiniteFeatureError(QuantizeError):
    """A feature is NaN or infinite, which has no quantized value."""

    def __init__(self, index: int, value: float) -> None:
        super().__init__(f"feature {index} is {value}, not a finite number")
        self.index = index
        self.value = value


class TransportError(VerdictError):
    """The endpoint could not be reached, or answered something that is not JSON-RPC
    (an HTTP 429, 413 or 5xx with a plain-text body, a timeout)."""

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.status = status


class ProtocolError(VerdictError):
    """The node answered, but not in the shape the API promises."""


class NotFoundError(VerdictError, LookupError):
    """A lookup the caller relies on found nothing (the node answered null)."""


class MismatchError(VerdictError):
    """What the node answered does not match what this client computed (a prepared
    request whose typed data differs from its request, a receipt for another digest).
    The node is not trusted for these values, so the client stops."""


class WaitTimeout(VerdictError, TimeoutError):
    """A wait for a status ran past its timeout."""


class RecordReverted(VerdictError):
    """The batch holding the record was reverted on L1 (a lost dispute)."""


class L1Error(VerdictError):
    """L1 is needed but not configured, unreachable, or refused a transaction."""


class RpcError(VerdictError):
    """An error answer from the node: its stable ``code``, its ``message`` (for people,
    may change) and ``data`` (machine-readable details such as expected and actual)."""

    #: Whether sending the same call again (later) can succeed.
    retryable: bool = False

    def __init__(
        self, code: int, message: str, data: Any = None, method: Optional[str] = None
    ) -> None:
        where = f"{method}: " if method else ""
        super().__init__(f"{where}{message} (code {code})")
        self.code = code
        self.message = message
        self.data = data
        self.method = method

    @classmethod
    def from_error(cls, error: Dict[str, Any], method: Optional[str] = None) -> "RpcError":
        """The subclass of ``error["code"]`` built from a JSON-RPC error object."""
        code = error.get("code")
        if not isinstance(code, int):
            raise ProtocolError(f"{method or 'call'}: error object without an integer code: {error!r}")
        message = str(error.get("message", ""))
        klass = _BY_CODE.get(code)
        if klass is None:
            if 2000 <= code < 4000:
                klass = RetryableRpcError
            else:
                klass = RpcError
        return klass(code, message, error.get("data"), method)


class RetryableRpcError(RpcError):
    """A 2xxx or 3xxx error: the same request may succeed later or elsewhere."""

    retryable = True


class BadRequest(RpcError):
    """1000: a field is malformed beyond what the schema catches."""


class InvalidSignature(RpcError):
    """1001: the signature does not recover to the sender (wrong domain, key or field)."""


class NonceTooLow(RpcError):
    """1002: the nonce was used already (a replay, or a resend of a recorded request)."""


class NonceTooHigh(RpcError):
    """1003: the nonce is ahead of the sender's next nonce; send the missing ones first."""

    retryable = True


class UnknownModel(RpcError):
    """1004: the node serves no model with this id or name."""


class InputShape(RpcError):
    """1005: the input's dtype or shape (or the feature count) is not the model's."""


class InputRange(RpcError):
    """1006: an input value is outside the model's range."""


class FeeTooLow(RpcError):
    """1007: ``maxFee`` is below the model's fee; ``data`` holds the fee."""


class ModelFileRejected(RpcError):
    """1008: an uploaded model file was refused."""


class InsufficientBalance(RetryableRpcError):
    """2001: the sender's L2 balance cannot pay the fee; deposit through the Bridge."""


class Unavailable(RetryableRpcError):
    """2002: the sequencer cannot take requests now."""


class InternalError(RetryableRpcError):
    """3000: the node failed internally; the request was not recorded."""


class InvalidParams(RpcError):
    """-32602: wrong parameter count, names or types."""


class MethodNotFound(RpcError):
    """-32601: the node does not have this method."""


_BY_CODE: Dict[int, Type[RpcError]] = {
    1000: BadRequest,
    1001: InvalidSignature,
    1002: NonceTooLow,
    1003: NonceTooHigh,
    1004: UnknownModel,
    1005: InputShape,
    1006: InputRange,
    1007: FeeTooLow,
    1008: ModelFileRejected,
    2001: InsufficientBalance,
    2002: Unavailable,
    3000: InternalError,
    -32602: InvalidParams,
    -32601: MethodNotFound,
}
