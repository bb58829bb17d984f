"""Witness cosignatures, c2sp.org/tlog-cosignature ``cosignature/v1`` (Ed25519, signature type 0x04).

A cosigner signs ``cosignature/v1\\ntime <T>\\n`` followed by the checkpoint's whole note text (its
extension lines included); its signature line is ``— <name> base64(key ID || T (8 bytes, big-endian)
|| Ed25519 signature (64))``, 76 bytes, with key ID = SHA-256(name || 0x0A || 0x04 || public key)[:4].
The name is not signed, so one public key must serve one cosigner only.

ML-DSA-44 cosignatures (type 0x06) are recognised but not verified: PyNaCl has no ML-DSA. Their lines
are ignored like any unknown key's, and a policy naming such a witness is refused as unsupported.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import nacl.bindings
import nacl.exceptions
import nacl.signing

from ledger.core.b64 import b64decode, b64encode
from ledger.core.errors import KeyFormatError, NoteError, SignatureError
from ledger.core.keys import check_public_key, split_vkey
from ledger.core.note import NoteSignature, check_signature_name

ALG_COSIGNATURE_V1 = 0x04
ALG_ML_DSA_44 = 0x06
COSIGNATURE_V1_LINE_BYTES = 4 + 8 + 64
MAX_TIMESTAMP = 2**63 - 1
COSIGNATURE_HEADER = "cosignature/v1"


def check_cosigner_name(name: str) -> str:
    """Return name if it is a signed-note key name (non-empty, no Unicode space, no '+')."""
    try:
        return check_signature_name(name)
    except NoteError as e:
        raise KeyFormatError(str(e)) from None


def cosigner_key_id(name: str, public_key: bytes) -> int:
    """The key ID of an Ed25519 cosigner: SHA-256(name || 0x0A || 0x04 || public key)[:4]."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ALG_COSIGNATURE_V1]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def cosigned_message(text: str, timestamp: int) -> bytes:
    """What a cosignature/v1 signs: the header line, the time line, then the checkpoint's note text."""
    check_timestamp(timestamp)
    return f"{COSIGNATURE_HEADER}\ntime {timestamp}\n{text}".encode()


def check_timestamp(timestamp: int) -> int:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or not 0 <= timestamp <= MAX_TIMESTAMP:
        raise SignatureError(f"a cosignature timestamp is a POSIX time from 0 to 2^63 - 1, found {timestamp!r}")
    return timestamp


@dataclass(frozen=True)
class CosignerKey:
    """A witness's public key for cosignature/v1, under its name; validated at construction."""

    name: str
    public_key: bytes
    key_id: int = field(init=False)

    def __post_init__(self) -> None:
        check_cosigner_name(self.name)
        check_public_key(self.public_key)
        object.__setattr__(self, "key_id", cosigner_key_id(self.name, self.public_key))

    def __str__(self) -> str:
        return f"{self.name}+{self.key_id:08x}+{b64encode(bytes([ALG_COSIGNATURE_V1]) + self.public_key)}"

    def owns(self, line: NoteSignature) -> bool:
        """Whether a signature line claims to be this cosigner's (same name and key ID)."""
        return line.name == self.name and line.key_id == self.key_id

    def verify(self, text: str, line: NoteSignature) -> int:
        """The timestamp of this cosigner's valid cosignature line over a note text; else SignatureError."""
        if not self.owns(line):
            raise SignatureError(
                f"the line is {line.name} ({line.key_id:08x})'s, not {self.name} ({self.key_id:08x})'s"
            )
        if len(line.signature) != COSIGNATURE_V1_LINE_BYTES - 4:
            raise SignatureError(
                f"cosignature by {self.name} ({self.key_id:08x}): expected {COSIGNATURE_V1_LINE_BYTES} bytes "
                f"(key ID, timestamp, Ed25519), found {len(line.signature) + 4}"
            )
        if not line.canonical:
            raise SignatureError(
                f"cosignature by {self.name} ({self.key_id:08x}): base64 with non-zero padding bits is not canonical"
            )
        timestamp = int.from_bytes(line.signature[:8], "big")
        if timestamp > MAX_TIMESTAMP:
            raise SignatureError(f"cosignature by {self.name}: timestamp {timestamp} exceeds 2^63 - 1")
        try:
            nacl.bindings.crypto_sign_open(line.signature[8:] + cosigned_message(text, timestamp), self.public_key)
        except nacl.exceptions.BadSignatureError:
            raise SignatureError(f"cosignature by {self.name} ({self.key_id:08x}) does not verify") from None
        return timestamp


def parse_cosigner_vkey(text: str) -> CosignerKey:
    """Parse a cosigner's vkey (signature type 0x04); an ML-DSA-44 one (0x06) is refused as unsupported."""
    name, hex8, raw = split_vkey(text)
    check_cosigner_name(name)
    if raw[0] == ALG_ML_DSA_44:
        raise KeyFormatError(
            f"{name}: ML-DSA-44 cosigner keys (type 0x06) are not supported here (PyNaCl has no ML-DSA); "
            "use an Ed25519 cosignature/v1 key (type 0x04)"
        )
    if raw[0] != ALG_COSIGNATURE_V1 or len(raw) != 33:
        raise KeyFormatError(
            f"{name}: expected a cosignature/v1 key: 0x04 followed by a 32-byte Ed25519 public key, "
            f"found type 0x{raw[0]:02x} and {len(raw) - 1} bytes"
        )
    key = CosignerKey(name, raw[1:])
    if f"{key.key_id:08x}" != hex8:
        raise KeyFormatError(f"{name}: key ID mismatch: expected {key.key_id:08x}, found {hex8}")
    return key


@dataclass(frozen=True)
class CosignerSigner:
    """A witness's private key (an Ed25519 seed) under its name. Never logged: repr hides the seed."""

    name: str
    seed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        check_cosigner_name(self.name)
        if len(self.seed) != 32:
            raise KeyFormatError(f"expected a 32-byte Ed25519 seed, found {len(self.seed)} bytes")

    @classmethod
    def generate(cls, name: str) -> CosignerSigner:
        return cls(name, bytes(nacl.signing.SigningKey.generate()))

    @property
    def verifier(self) -> CosignerKey:
        return CosignerKey(self.name, bytes(nacl.signing.SigningKey(self.seed).verify_key))

    def cosign(self, text: str, timestamp: int) -> NoteSignature:
        """The cosignature/v1 line over a checkpoint's note text at a POSIX time."""
        signature = nacl.signing.SigningKey(self.seed).sign(cosigned_message(text, timestamp)).signature
        return NoteSignature(self.name, self.verifier.key_id, timestamp.to_bytes(8, "big") + signature)

    def to_string(self) -> str:
        """``PRIVATE+KEY+name+hex8+base64(0x04 || seed)`` (a secret), the signer-key form of signed-note."""
        blob = b64encode(bytes([ALG_COSIGNATURE_V1]) + self.seed)
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_id:08x}+{blob}"


def parse_cosigner_signer(text: str) -> CosignerSigner:
    """Parse ``PRIVATE+KEY+name+hex8+base64(0x04 || seed)``."""
    parts = text.strip().split("+", 4)
    if len(parts) != 5 or parts[0] != "PRIVATE" or parts[1] != "KEY":
        raise KeyFormatError("expected PRIVATE+KEY+name+hex8+base64")
    raw = b64decode(parts[4])
    if len(raw) != 33 or raw[0] != ALG_COSIGNATURE_V1:
        raise KeyFormatError("expected 0x04 followed by a 32-byte Ed25519 seed")
    key = CosignerSigner(parts[2], raw[1:])
    if f"{key.verifier.key_id:08x}" != parts[3]:
        raise KeyFormatError("signer key ID does not match its key")
    return key
