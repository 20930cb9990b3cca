"""Python client of Verdict, an optimistic rollup for ML inference.

Users sign EIP-712 inference requests, a sequencer answers them and batches the records
to L1, and anyone can check an answer against L1. This package does the client's part:
quantize features (:mod:`.quantize`), commit to tensors (:mod:`.tensors`), sign
(:mod:`.signing`), talk to a node (:class:`VerdictClient`) and verify answers trusting
only L1 (:mod:`.verify`).
"""

from .client import InferenceReceipt, VerdictClient
from .errors import (
    FeatureCountError,
    L1Error,
    MismatchError,
    NonFiniteFeatureError,
    NotFoundError,
    QuantizeError,
    RecordReverted,
    RpcError,
    TensorError,
    TransportError,
    VerdictError,
    WaitTimeout,
)
from .quantize import InputSpec, quantize, quantize_for_model
from .signing import Domain, InferenceRequest, Withdrawal, sign_request, sign_typed_data, sign_withdrawal
from .tensors import Tensor
from .verify import Verdict

__version__ = "0.1.0"

__all__ = [
    "Domain",
    "FeatureCountError",
    "InferenceReceipt",
    "InferenceRequest",
    "InputSpec",
    "L1Error",
    "MismatchError",
    "NonFiniteFeatureError",
    "NotFoundError",
    "QuantizeError",
    "RecordReverted",
    "RpcError",
    "Tensor",
    "TensorError",
    "TransportError",
    "Verdict",
    "VerdictClient",
    "VerdictError",
    "WaitTimeout",
    "Withdrawal",
    "quantize",
    "quantize_for_model",
    "sign_request",
    "sign_typed_data",
    "sign_withdrawal",
]
