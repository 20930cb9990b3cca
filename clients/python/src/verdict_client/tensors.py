"""Tensors and their commitments (specs/tensor.md).

A request does not sign its input tensor but the tensor's *commitment*, and a record
commits to its output by the same hash, so a client must compute it exactly:

``commitment = keccak(0x02 || dtype || rank || dim_0 .. dim_{r-1} (u32 BE) || data_root)``

where ``data_root`` is the Merkle root (merkle.md) over the element bytes cut into
32-byte chunks (the last one zero-padded); ``i8`` elements are one byte, ``i32`` four
bytes big-endian, both two's complement.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Sequence, Tuple

from . import merkle
from .encoding import keccak
from .errors import TensorError

#: The dtypes and their one-byte codes.
DTYPE_CODES: Dict[str, int] = {"i8": 0, "i32": 1}
#: Bytes per element.
ELEMENT_SIZE: Dict[str, int] = {"i8": 1, "i32": 4}
#: Inclusive element ranges of each dtype (two's complement).
DTYPE_RANGE: Dict[str, Tuple[int, int]] = {
    "i8": (-(1 << 7), (1 << 7) - 1),
    "i32": (-(1 << 31), (1 << 31) - 1),
}
MAX_RANK = 6
MAX_ELEMENTS = 1 << 26
CHUNK_BYTES = 32
_COMMITMENT_DOMAIN = b"\x02"


def element_count(shape: Sequence[int]) -> int:
    """The number of elements of a valid ``shape``; raises :class:`TensorError` if the
    shape breaks the rules (rank 1 to 6, every dimension at least 1 and a u32, at most
    2^26 elements)."""
    dims = list(shape)
    if not 1 <= len(dims) <= MAX_RANK:
        raise TensorError(f"shape {dims} has rank {len(dims)}; a tensor has 1 to {MAX_RANK} dimensions")
    count = 1
    for d in dims:
        if not isinstance(d, int) or isinstance(d, bool) or d < 1 or d > 0xFFFFFFFF:
            raise TensorError(f"shape {dims}: every dimension must be an integer of at least 1")
        count *= d
        if count > MAX_ELEMENTS:
            raise TensorError(f"shape {dims} holds more than {MAX_ELEMENTS} elements")
    return count


@dataclass(frozen=True)
class Tensor:
    """An ``i8`` or ``i32`` tensor: shape and row-major elements, checked on creation."""

    dtype: str
    shape: Tuple[int, ...]
    data: Tuple[int, ...]

    def __init__(self, dtype: str, shape: Iterable[int], data: Iterable[int]) -> None:
        shape_t = tuple(shape)
        data_t = tuple(data)
        if dtype not in DTYPE_CODES:
            raise TensorError(f"dtype {dtype!r} is not one of {sorted(DTYPE_CODES)}")
        count = element_count(shape_t)
        if len(data_t) != count:
            raise TensorError(f"shape {list(shape_t)} holds {count} elements, {len(data_t)} given")
        low, high = DTYPE_RANGE[dtype]
        for i, v in enumerate(data_t):
            if not isinstance(v, int) or isinstance(v, bool):
                raise TensorError(f"element {i} ({v!r}) is not an integer")
            if not low <= v <= high:
                raise TensorError(f"element {i} ({v}) is outside the {dtype} range [{low}, {high}]")
        object.__setattr__(self, "dtype", dtype)
        object.__setattr__(self, "shape", shape_t)
        object.__setattr__(self, "data", data_t)

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> "Tensor":
        """From the API's ``{"dtype", "shape", "data"}`` object."""
        try:
            return cls(value["dtype"], value["shape"], value["data"])
        except (KeyError, TypeError) as e:
            raise TensorError(f"not a tensor object {{dtype, shape, data}}: {value!r}") from e

    def to_json(self) -> Dict[str, Any]:
        """The API's ``{"dtype", "shape", "data"}`` object."""
        return {"dtype": self.dtype, "shape": list(self.shape), "data": list(self.data)}

    def element_bytes(self) -> bytes:
        """The canonical element bytes: one byte per ``i8``, four big-endian per ``i32``."""
        fmt = "b" if self.dtype == "i8" else "i"
        return struct.pack(f">{len(self.data)}{fmt}", *self.data)

    def chunks(self) -> List[bytes]:
        """The element bytes cut into 32-byte chunks, the last zero-padded: the leaves of
        the data tree, and the words the L1 verifier reads."""
        raw = self.element_bytes()
        out = []
        for start in range(0, len(raw), CHUNK_BYTES):
            piece = raw[start : start + CHUNK_BYTES]
            out.append(piece + bytes(CHUNK_BYTES - len(piece)))
        return out

    def data_root(self) -> bytes:
        """The Merkle root over :meth:`chunks`."""
        return merkle.root(self.chunks())

    def header(self) -> bytes:
        """``dtype (1) || rank (1) || dims (u32 BE each)``: what binds type and shape."""
        return bytes([DTYPE_CODES[self.dtype], len(self.shape)]) + b"".join(
            d.to_bytes(4, "big") for d in self.shape
        )

    def commitment(self) -> bytes:
        """``keccak(0x02 || header || data_root)``: what a request signs and a record
        holds as its input or output root."""
        return keccak(_COMMITMENT_DOMAIN, self.header(), self.data_root())

    def encode(self) -> bytes:
        """The canonical encoding (inside model files and batch data): header, then the
        element bytes."""
        return self.header() + self.element_bytes()

    def chunk_proof(self, element: int) -> merkle.MerkleProof:
        """The Merkle proof of the chunk holding element ``element``."""
        if not 0 <= element < len(self.data):
            raise IndexError(f"element {element} is not in a tensor of {len(self.data)}")
        leaves = [merkle.leaf_hash(c) for c in self.chunks()]
        return merkle.prove(leaves, element * ELEMENT_SIZE[self.dtype] // CHUNK_BYTES)


def data_root(tensor: Tensor) -> bytes:
    """:meth:`Tensor.data_root`, as a function."""
    return tensor.data_root()


def commitment(tensor: Tensor) -> bytes:
    """:meth:`Tensor.commitment`, as a function."""
    return tensor.commitment()
