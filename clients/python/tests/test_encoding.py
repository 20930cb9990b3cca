"""Hex, quantities and addresses: strict parsing of what nodes send."""

import pytest

from verdict_client.encoding import (
    checksum,
    from_hex,
    parse_address,
    parse_amount,
    parse_hash,
    parse_quantity,
    quantity,
)
from verdict_client.errors import EncodingError
from verdict_client.proofs import BlockHeader
from chainfixture import Chain, header_json


def test_quantities():
    assert quantity(0) == "0x0" and quantity(42) == "0x2a"
    assert parse_quantity("0x2a") == 42 and parse_quantity(7) == 7
    for bad in ("2a", "0x", "0xzz", True, -1, None):
        with pytest.raises(EncodingError):
            parse_quantity(bad)
    with pytest.raises(EncodingError, match="out of range"):
        parse_quantity("0x10000000000000000", maximum=2**64 - 1)
    with pytest.raises(EncodingError):
        quantity(-1)


def test_amounts():
    assert parse_amount("1000") == 1000 and parse_amount("0x3e8") == 1000 and parse_amount(5) == 5
    with pytest.raises(EncodingError):
        parse_amount("1e3")


def test_hashes_and_addresses():
    assert parse_hash("0x" + "ab" * 32) == b"\xab" * 32
    assert parse_address("0x70997970C51812dc3A010C7d01b50e0d17dc79C8") == bytes.fromhex("70997970c51812dc3a010c7d01b50e0d17dc79c8")
    assert checksum("0x70997970c51812dc3a010c7d01b50e0d17dc79c8") == "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    for bad in ("0x" + "ab" * 31, "ab" * 32, "0x" + "zz" * 32, "0xabc"):
        with pytest.raises(EncodingError):
            parse_hash(bad)
    with pytest.raises(EncodingError, match="20"):
        parse_address("0x" + "11" * 32)
    assert from_hex("0x") == b""


def test_block_header_json_round_trip():
    chain = Chain()
    for block in chain.blocks:
        assert BlockHeader.from_json(header_json(block)) == block
        assert len(block.encode()) == 169
