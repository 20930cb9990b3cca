"""EIP-712 signing of inference requests and withdrawals (specs/l2.md, state.md §1).

A request is the typed struct
``InferenceRequest(address sender,uint64 nonce,bytes32 modelId,bytes32 input,uint256 maxFee)``
(``input`` is the input tensor's commitment) under the domain ``{name: "Verdict",
version: "1", chainId: <L1 chain id>, verifyingContract: <Rollup>}``. The EIP-712 digest
is also the record's ``requestHash``. Withdrawals use
``Withdrawal(address sender,uint64 nonce,address recipient,uint256 amount)`` under the
same domain and nonce sequence.

The digests are computed here by hand (so they can be checked against the shared
vectors and against what a node prepares) and signed with eth_account; the node's own
typed data (``verdict_prepareInference``) can be signed as it is with
:func:`sign_typed_data`, the path a wallet takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Mapping, Union

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_keys.datatypes import Signature as KeysSignature
from eth_typing import Hash32

from .encoding import (
    U64_MAX,
    U128_MAX,
    address_word,
    checksum,
    from_hex,
    keccak,
    parse_address,
    parse_hash,
    parse_quantity,
    to_hex,
    word,
)
from .errors import EncodingError
from .tensors import Tensor

DOMAIN_NAME = "Verdict"
DOMAIN_VERSION = "1"
DOMAIN_TYPE = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
REQUEST_TYPE = "InferenceRequest(address sender,uint64 nonce,bytes32 modelId,bytes32 input,uint256 maxFee)"
WITHDRAWAL_TYPE = "Withdrawal(address sender,uint64 nonce,address recipient,uint256 amount)"

#: The secp256k1 group order; signatures must have ``s <= n/2`` (EIP-2, state.md §1).
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

KeyLike = Union[str, bytes, LocalAccount]


def as_account(key: KeyLike) -> LocalAccount:
    """An eth_account signer from a ``0x`` private key (or its bytes, or an account)."""
    if isinstance(key, LocalAccount):
        return key
    try:
        return Account.from_key(key)
    except Exception as e:  # eth_account raises ValueError / ValidationError variants
        raise EncodingError(f"not a private key: {e}") from None


@dataclass(frozen=True)
class Domain:
    """The deployment a signature is for: the L1 chain id and the Rollup address."""

    chain_id: int
    rollup: bytes

    @classmethod
    def from_chain_info(cls, info: Mapping[str, Any]) -> "Domain":
        """From ``verdict_chainInfo``'s ``l1ChainId`` and ``rollup``."""
        return cls(parse_quantity(info["l1ChainId"], "l1ChainId"), parse_address(info["rollup"], "rollup"))

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> "Domain":
        """From an EIP-712 domain object (``chainId``, ``verifyingContract``), checking its
        name and version are Verdict's."""
        if value.get("name") != DOMAIN_NAME or value.get("version") != DOMAIN_VERSION:
            raise EncodingError(f"not the Verdict domain: {dict(value)!r}")
        return cls(_int(value["chainId"], "chainId"), parse_address(value["verifyingContract"]))

    def separator(self) -> bytes:
        """The EIP-712 domain separator."""
        return keccak(
            keccak(DOMAIN_TYPE.encode()),
            keccak(DOMAIN_NAME.encode()),
            keccak(DOMAIN_VERSION.encode()),
            word(self.chain_id),
            address_word(self.rollup),
        )

    def to_json(self) -> Dict[str, Any]:
        """The domain as ``eth_signTypedData_v4`` takes it."""
        return {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": self.chain_id,
            "verifyingContract": checksum(self.rollup),
        }


def _int(value: Any, what: str) -> int:
    """An integer from an int, a decimal string or a ``0x`` quantity (typed data holds
    all three in the wild)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value[:2] in ("0x", "0X"):
            return parse_quantity(value, what)
        if value.isdigit():
            return int(value)
    raise EncodingError(f"{what} {value!r} is not an integer")


def _digest(domain: Domain, struct_hash: bytes) -> bytes:
    return keccak(b"\x19\x01", domain.separator(), struct_hash)


@dataclass(frozen=True)
class InferenceRequest:
    """A request to run ``model_id`` on ``input``, paying at most ``max_fee`` wei."""

    sender: bytes
    nonce: int
    model_id: bytes
    input: Tensor
    max_fee: int

    def __post_init__(self) -> None:
        if len(self.sender) != 20 or len(self.model_id) != 32:
            raise EncodingError("sender must be 20 bytes and model_id 32")
        if not 0 <= self.nonce <= U64_MAX:
            raise EncodingError(f"nonce {self.nonce} does not fit 64 bits")
        if not 0 <= self.max_fee <= U128_MAX:
            raise EncodingError(f"maxFee {self.max_fee} is above 2^128 - 1, which the node refuses")

    def input_commitment(self) -> bytes:
        """The input tensor's commitment: the ``input`` field of the typed struct."""
        return self.input.commitment()

    def struct_hash(self) -> bytes:
        """The EIP-712 struct hash."""
        return keccak(
            keccak(REQUEST_TYPE.encode()),
            address_word(self.sender),
            word(self.nonce),
            self.model_id,
            self.input_commitment(),
            word(self.max_fee),
        )

    def signing_hash(self, domain: Domain) -> bytes:
        """The EIP-712 digest a wallet signs, and the record's ``requestHash``."""
        return _digest(domain, self.struct_hash())

    def typed_data(self, domain: Domain) -> Dict[str, Any]:
        """The request as ``eth_signTypedData_v4`` typed data, in the node's form
        (integers as decimal strings, addresses checksummed)."""
        return {
            "types": {
                "EIP712Domain": _fields(DOMAIN_TYPE),
                "InferenceRequest": _fields(REQUEST_TYPE),
            },
            "primaryType": "InferenceRequest",
            "domain": domain.to_json(),
            "message": {
                "sender": checksum(self.sender),
                "nonce": str(self.nonce),
                "modelId": to_hex(self.model_id),
                "input": to_hex(self.input_commitment()),
                "maxFee": str(self.max_fee),
            },
        }

    def to_json(self, signature: Union[bytes, None] = None) -> Dict[str, Any]:
        """The request object ``verdict_sendInference`` takes (with ``signature``)."""
        out: Dict[str, Any] = {
            "sender": to_hex(self.sender),
            "nonce": hex(self.nonce),
            "modelId": to_hex(self.model_id),
            "input": self.input.to_json(),
            "maxFee": hex(self.max_fee),
        }
        if signature is not None:
            out["signature"] = to_hex(signature)
        return out

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> "InferenceRequest":
        """From the node's request object (``verdict_prepareInference``'s ``request``)."""
        return cls(
            sender=parse_address(value["sender"], "sender"),
            nonce=parse_quantity(value["nonce"], "nonce", U64_MAX),
            model_id=parse_hash(value["modelId"], "modelId"),
            input=Tensor.from_json(value["input"]),
            max_fee=parse_quantity(value["maxFee"], "maxFee"),
        )


@dataclass(frozen=True)
class Withdrawal:
    """Wei moved from the L2 account ``sender`` to the L1 address ``recipient``."""

    sender: bytes
    nonce: int
    recipient: bytes
    amount: int

    def __post_init__(self) -> None:
        if len(self.sender) != 20 or len(self.recipient) != 20:
            raise EncodingError("sender and recipient must be 20 bytes")
        if not 0 <= self.nonce <= U64_MAX:
            raise EncodingError(f"nonce {self.nonce} does not fit 64 bits")
        if not 0 < self.amount <= U128_MAX:
            raise EncodingError(f"amount {self.amount} must be in [1, 2^128 - 1] wei")

    def struct_hash(self) -> bytes:
        """The EIP-712 struct hash."""
        return keccak(
            keccak(WITHDRAWAL_TYPE.encode()),
            address_word(self.sender),
            word(self.nonce),
            address_word(self.recipient),
            word(self.amount),
        )

    def signing_hash(self, domain: Domain) -> bytes:
        """The EIP-712 digest the sender signs."""
        return _digest(domain, self.struct_hash())

    def leaf(self) -> bytes:
        """``keccak(0x09 || sender || nonce(8) || recipient || amount(16))``: the
        ``withdrawalHash``, its leaf under the block's withdrawals root and the key
        ``Bridge.claimed`` is indexed by."""
        return keccak(
            b"\x09",
            self.sender,
            self.nonce.to_bytes(8, "big"),
            self.recipient,
            self.amount.to_bytes(16, "big"),
        )

    def typed_data(self, domain: Domain) -> Dict[str, Any]:
        """The withdrawal as ``eth_signTypedData_v4`` typed data."""
        return {
            "types": {"EIP712Domain": _fields(DOMAIN_TYPE), "Withdrawal": _fields(WITHDRAWAL_TYPE)},
            "primaryType": "Withdrawal",
            "domain": domain.to_json(),
            "message": {
                "sender": checksum(self.sender),
                "nonce": str(self.nonce),
                "recipient": checksum(self.recipient),
                "amount": str(self.amount),
            },
        }

    def to_json(self, signature: bytes) -> Dict[str, Any]:
        """The object ``verdict_sendWithdrawal`` takes."""
        return {
            "sender": to_hex(self.sender),
            "nonce": hex(self.nonce),
            "recipient": to_hex(self.recipient),
            "amount": hex(self.amount),
            "signature": to_hex(signature),
        }


def _fields(type_string: str) -> list:
    """``[{"name", "type"}, ..]`` of an EIP-712 type string such as ``A(uint64 x,..)``."""
    inner = type_string[type_string.index("(") + 1 : -1]
    out = []
    for part in inner.split(","):
        ty, name = part.split(" ")
        out.append({"name": name, "type": ty})
    return out


def sign_digest(key: KeyLike, digest: bytes) -> bytes:
    """65 bytes ``r || s || v`` (v 27/28, low s) over a 32-byte EIP-712 digest."""
    account = as_account(key)
    if len(digest) != 32:
        raise EncodingError("a digest is 32 bytes")
    # "unsafe" because it signs any 32 bytes; here they are a digest computed above.
    signed = account.unsafe_sign_hash(Hash32(digest))
    return _normalized(bytes(signed.signature))


def sign_request(key: KeyLike, request: InferenceRequest, domain: Domain) -> bytes:
    """Signs ``request`` for ``domain`` from the locally computed digest."""
    return sign_digest(key, request.signing_hash(domain))


def sign_withdrawal(key: KeyLike, withdrawal: Withdrawal, domain: Domain) -> bytes:
    """Signs ``withdrawal`` for ``domain``."""
    return sign_digest(key, withdrawal.signing_hash(domain))


def typed_data_digest(typed_data: Mapping[str, Any]) -> bytes:
    """The digest eth_account computes for ``eth_signTypedData_v4`` typed data."""
    message = encode_typed_data(full_message=dict(typed_data))
    return keccak(b"\x19", bytes(message.version), bytes(message.header), bytes(message.body))


def sign_typed_data(key: KeyLike, typed_data: Mapping[str, Any]) -> bytes:
    """Signs typed data as a wallet does (eth_account's own EIP-712 encoder), e.g. the
    ``typedData`` of ``verdict_prepareInference``."""
    account = as_account(key)
    signed = Account.sign_typed_data(account.key, full_message=dict(typed_data))
    return _normalized(bytes(signed.signature))


def recover(digest: bytes, signature: bytes) -> bytes:
    """The address a signature over ``digest`` recovers to."""
    sig = _normalized(bytes(signature))
    r = int.from_bytes(sig[:32], "big")
    s = int.from_bytes(sig[32:64], "big")
    public = KeysSignature(vrs=(sig[64] - 27, r, s)).recover_public_key_from_msg_hash(bytes(digest))
    return bytes(public.to_canonical_address())


def _normalized(signature: bytes) -> bytes:
    """``signature`` with ``v`` as 27/28, checked to be 65 bytes with a low ``s``."""
    if len(signature) != 65:
        raise EncodingError(f"a signature is 65 bytes, got {len(signature)}")
    v = signature[64]
    if v in (0, 1):
        v += 27
    if v not in (27, 28):
        raise EncodingError(f"signature v {signature[64]} is not 0/1/27/28")
    s = int.from_bytes(signature[32:64], "big")
    if s > SECP256K1_N // 2:
        raise EncodingError("signature s is in the upper half of the curve order (EIP-2)")
    return signature[:64] + bytes([v])


def signature_from_hex(text: str) -> bytes:
    """A 65-byte signature from hex."""
    return from_hex(text, 65, "signature")
