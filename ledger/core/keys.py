"""Ed25519 keys with C2SP signed-note key names, key IDs and key strings (docs/FORMAT.md § 4).

Verifier key: ``name+hex8(keyhash)+base64(0x01 || pubkey)``.
Signer key:   ``PRIVATE+KEY+name+hex8(keyhash)+base64(0x01 || seed)``.
keyhash = first 4 bytes (big-endian) of SHA-256(name || 0x0A || 0x01 || pubkey).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

import nacl.bindings
import nacl.exceptions
import nacl.signing

from ledger.core.b64 import b64decode, b64encode
from ledger.core.errors import KeyFormatError, SignatureError

ALG_ED25519 = 0x01
_NAME_RE = re.compile(r"[!-*,-~]+\Z")  # printable ASCII, no space, no '+'
_HEX8_RE = re.compile(r"[0-9a-f]{8}\Z")


def check_key_name(name: str) -> str:
    """Return the name if it is a valid key name (non-empty, printable ASCII, no space or '+')."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise KeyFormatError(
            f"expected a key name of printable ASCII without spaces or '+', found {str(name)[:80]!r}"
        )
    return name


def key_id(name: str, public_key: bytes) -> int:
    """The 32-bit C2SP key ID of an Ed25519 public key under a name."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + public_key)
    return int.from_bytes(digest.digest()[:4], "big")


def check_public_key(public_key: bytes) -> bytes:
    """Refuse public keys that are not 32 bytes, non-canonical, small-order or off the main subgroup."""
    if len(public_key) != 32:
        raise KeyFormatError(f"expected a 32-byte Ed25519 public key, found {len(public_key)} bytes")
    if not nacl.bindings.crypto_core_ed25519_is_valid_point(public_key):
        raise KeyFormatError(
            "Ed25519 public key is non-canonical, small-order or not on the main subgroup"
        )
    return public_key


@dataclass(frozen=True)
class VerifierKey:
    """A named Ed25519 public key; built once, validated at construction."""

    name: str
    public_key: bytes
    key_id: int = field(init=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)
        check_public_key(self.public_key)
        object.__setattr__(self, "key_id", key_id(self.name, self.public_key))

    @property
    def key_hash(self) -> bytes:
        """The 4-byte key hash that prefixes this key's signatures."""
        return self.key_id.to_bytes(4, "big")

    def __str__(self) -> str:
        return f"{self.name}+{self.key_id:08x}+{b64encode(bytes([ALG_ED25519]) + self.public_key)}"

    def verify(self, message: bytes, signature: bytes) -> None:
        """Raise SignatureError unless signature is this key's Ed25519 signature of message."""
        if len(signature) != 64:
            raise SignatureError(f"expected a 64-byte signature, found {len(signature)} bytes")
        try:
            # What nacl.signing.VerifyKey(public_key).verify(message, signature) does, without
            # building the VerifyKey (the key was checked when this VerifierKey was built).
            nacl.bindings.crypto_sign_open(signature + message, self.public_key)
        except nacl.exceptions.BadSignatureError:
            raise SignatureError(f"signature by {self.name} ({self.key_id:08x}) does not verify") from None


def split_vkey(text: str) -> tuple[str, str, bytes]:
    """A C2SP verifier-key string's parts: key name, key ID (8 hex digits), signature type || key.

    Checks only the shape (three '+'-separated parts, 8 lowercase hex digits, strict base64 of at
    least the type byte); the key name and key material are the caller's to check for the type.
    """
    if not isinstance(text, str):
        raise KeyFormatError(f"expected a verifier key string, found {type(text).__name__}")
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise KeyFormatError(f"expected name+hex8+base64, found {len(parts)} '+'-separated parts")
    name, hex8, blob = parts
    if not _HEX8_RE.match(hex8):
        raise KeyFormatError(f"expected 8 lowercase hex digits of key hash, found {hex8!r}")
    raw = b64decode(blob)
    if not raw:
        raise KeyFormatError("a verifier key holds at least its signature type byte")
    return name, hex8, raw


def parse_vkey(text: str) -> VerifierKey:
    """Parse a C2SP verifier-key string, refusing unsafe or malformed keys."""
    name, hex8, raw = split_vkey(text)
    check_key_name(name)
    if len(raw) != 33 or raw[0] != ALG_ED25519:
        raise KeyFormatError("expected 0x01 followed by a 32-byte Ed25519 public key")
    key = VerifierKey(name, raw[1:])
    if f"{key.key_id:08x}" != hex8:
        raise KeyFormatError(f"key hash mismatch: expected {key.key_id:08x}, found {hex8}")
    return key


@dataclass(frozen=True)
class SignerKey:
    """A named Ed25519 private key (seed). Never logged: repr hides the seed."""

    name: str
    seed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if len(self.seed) != 32:
            raise KeyFormatError(f"expected a 32-byte Ed25519 seed, found {len(self.seed)} bytes")

    @classmethod
    def generate(cls, name: str) -> SignerKey:
        """A new random key for a name."""
        return cls(name, bytes(nacl.signing.SigningKey.generate()))

    @property
    def verifier(self) -> VerifierKey:
        """The public half."""
        return VerifierKey(self.name, bytes(nacl.signing.SigningKey(self.seed).verify_key))

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of message."""
        return nacl.signing.SigningKey(self.seed).sign(message).signature

    def to_string(self) -> str:
        """The C2SP signer-key string (a secret)."""
        kid = key_id(self.name, self.verifier.public_key)
        return f"PRIVATE+KEY+{self.name}+{kid:08x}+{b64encode(bytes([ALG_ED25519]) + self.seed)}"


def parse_signer_key(text: str) -> SignerKey:
    """Parse a C2SP signer-key string."""
    parts = text.strip().split("+", 4)
    if len(parts) != 5 or parts[0] != "PRIVATE" or parts[1] != "KEY":
        raise KeyFormatError("expected PRIVATE+KEY+name+hex8+base64")
    raw = b64decode(parts[4])
    if len(raw) != 33 or raw[0] != ALG_ED25519:
        raise KeyFormatError("expected 0x01 followed by a 32-byte Ed25519 seed")
    key = SignerKey(parts[2], raw[1:])
    if f"{key.verifier.key_id:08x}" != parts[3]:
        raise KeyFormatError("signer key hash does not match its key")
    return key
