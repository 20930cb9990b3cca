"""Hex, quantities, addresses and Keccak: the protocol's byte-level conventions.

The API follows Ethereum's JSON-RPC forms (docs/rpc.md): quantities are ``0x`` and
lowercase hex without leading zeros, hashes 32 bytes, addresses 20. Parsing is strict
here so that a malformed value from a node is caught where it enters, not deep inside a
hash where it would only show up as a mismatch.
"""

from __future__ import annotations

from typing import Union

from eth_typing import ChecksumAddress
from eth_utils import keccak as _keccak
from eth_utils import to_checksum_address

from .errors import EncodingError

U64_MAX = (1 << 64) - 1
U128_MAX = (1 << 128) - 1
U256_MAX = (1 << 256) - 1


def keccak(*parts: bytes) -> bytes:
    """Keccak-256 (Ethereum's, Solidity's ``keccak256``) of the concatenated parts."""
    return bytes(_keccak(b"".join(parts)))


def to_hex(data: bytes) -> str:
    """``0x`` and lowercase hex of ``data``."""
    return "0x" + bytes(data).hex()


def from_hex(text: Union[str, bytes], length: Union[int, None] = None, what: str = "value") -> bytes:
    """Bytes of ``0x`` hex ``text``; exactly ``length`` of them when given."""
    if isinstance(text, (bytes, bytearray)):
        raw = bytes(text)
    else:
        if not isinstance(text, str) or not text[:2] in ("0x", "0X"):
            raise EncodingError(f"{what} {text!r} is not 0x-prefixed hex")
        body = text[2:]
        if len(body) % 2:
            raise EncodingError(f"{what} {text!r} has an odd number of hex digits")
        try:
            raw = bytes.fromhex(body)
        except ValueError:
            raise EncodingError(f"{what} {text!r} is not hex") from None
    if length is not None and len(raw) != length:
        raise EncodingError(f"{what} {text!r} is {len(raw)} bytes, expected {length}")
    return raw


def parse_hash(text: Union[str, bytes], what: str = "hash") -> bytes:
    """A 32-byte hash from ``0x`` and 64 hex digits."""
    return from_hex(text, 32, what)


def parse_address(text: Union[str, bytes], what: str = "address") -> bytes:
    """A 20-byte address from ``0x`` and 40 hex digits (any case; checksum not checked,
    as the node does not check it either)."""
    return from_hex(text, 20, what)


def checksum(address: Union[str, bytes]) -> ChecksumAddress:
    """The EIP-55 checksummed form of an address."""
    raw = parse_address(address) if isinstance(address, str) else bytes(address)
    return to_checksum_address(raw)


def quantity(value: int) -> str:
    """An integer as a JSON-RPC quantity (``0x0``, ``0x2a``)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise EncodingError(f"a quantity must be a non-negative integer, got {value!r}")
    return hex(value)


def parse_quantity(value: Union[str, int], what: str = "quantity", maximum: int = U256_MAX) -> int:
    """An integer from a JSON-RPC quantity (or a plain int, as some fields carry)."""
    if isinstance(value, bool):
        raise EncodingError(f"{what} {value!r} is not a quantity")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value[:2] in ("0x", "0X") and len(value) > 2:
        try:
            number = int(value[2:], 16)
        except ValueError:
            raise EncodingError(f"{what} {value!r} is not hex") from None
    else:
        raise EncodingError(f"{what} {value!r} is not a 0x quantity")
    if number < 0 or number > maximum:
        raise EncodingError(f"{what} {value!r} is out of range")
    return number


def parse_amount(value: Union[str, int], what: str = "amount") -> int:
    """Wei as the vectors and the CLI write it: a decimal string, a ``0x`` quantity or an
    int."""
    if isinstance(value, str) and not value[:2] in ("0x", "0X"):
        if not value.isdigit():
            raise EncodingError(f"{what} {value!r} is not a decimal integer")
        return int(value)
    return parse_quantity(value, what)


def word(value: int) -> bytes:
    """A 32-byte big-endian word (an ABI / EIP-712 ``uint``)."""
    if value < 0 or value > U256_MAX:
        raise EncodingError(f"{value} does not fit 256 bits")
    return value.to_bytes(32, "big")


def address_word(address: bytes) -> bytes:
    """An address left-padded to a 32-byte word."""
    return bytes(12) + bytes(address)
