"""Escrow of the sealed-store and pseudonym keys under a passphrase.

Losing either key loses every lookup, so an operator exports both into a bundle kept
apart from the database (a safe, a second custodian). The bundle is canonical JSON:

    {"box": base64(nonce || XSalsa20-Poly1305 ciphertext),
     "format": "dl/sealed-escrow/v1",
     "kdf": {"alg": "argon2id", "memlimit": m, "opslimit": o, "salt": base64(16 bytes)},
     "key_ids": {"pseudonym": id, "sealed": id}}

The box key is Argon2id(passphrase NFC-normalised, UTF-8) with the recorded limits; the
box holds JCS {"pseudonym_key": base64, "sealed_key": base64}. The key ids (public, see
``key_id``) let a custodian check which keys a bundle holds without the passphrase; a
restore checks them against the decrypted keys.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import nacl.exceptions
import nacl.pwhash.argon2id as argon2id
import nacl.secret
import nacl.utils

from ledger.core.b64 import b64decode, b64encode
from ledger.core.canonical import canonical_bytes, parse_canonical
from ledger.core.errors import FormatError
from ledger.sealed.errors import EscrowError, SealedKeyError
from ledger.sealed.keys import SealedKeys

ESCROW_FORMAT = "dl/sealed-escrow/v1"
MIN_PASSPHRASE_CHARS = 16
DEFAULT_OPSLIMIT: int = argon2id.OPSLIMIT_MODERATE
DEFAULT_MEMLIMIT: int = argon2id.MEMLIMIT_MODERATE
# A bundle may not ask for less than the interactive limits, nor for more than 4 GiB of memory.
_OPS_RANGE = (int(argon2id.OPSLIMIT_INTERACTIVE), 64)
_MEM_RANGE = (int(argon2id.MEMLIMIT_INTERACTIVE), 4 * 1024**3)


def _box_key(passphrase: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    if not isinstance(passphrase, str) or len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise EscrowError(f"the escrow passphrase must be a string of at least {MIN_PASSPHRASE_CHARS} characters")
    if not (_OPS_RANGE[0] <= opslimit <= _OPS_RANGE[1] and _MEM_RANGE[0] <= memlimit <= _MEM_RANGE[1]):
        raise EscrowError(
            f"argon2id limits out of range: opslimit {opslimit} (allowed {_OPS_RANGE}), "
            f"memlimit {memlimit} (allowed {_MEM_RANGE})"
        )
    secret = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    key: bytes = argon2id.kdf(nacl.secret.SecretBox.KEY_SIZE, secret, salt, opslimit=opslimit, memlimit=memlimit)
    return key


def escrow_bundle(
    keys: SealedKeys,
    passphrase: str,
    *,
    opslimit: int = DEFAULT_OPSLIMIT,
    memlimit: int = DEFAULT_MEMLIMIT,
) -> bytes:
    """Encrypt both keys under ``passphrase`` (Argon2id + SecretBox) into a canonical-JSON bundle."""
    salt = nacl.utils.random(argon2id.SALTBYTES)
    box = nacl.secret.SecretBox(_box_key(passphrase, salt, opslimit, memlimit))
    inner = canonical_bytes(
        {"pseudonym_key": b64encode(keys.pseudonym_key), "sealed_key": b64encode(keys.sealed_key)}
    )
    return canonical_bytes(
        {
            "box": b64encode(bytes(box.encrypt(inner))),
            "format": ESCROW_FORMAT,
            "kdf": {"alg": "argon2id", "memlimit": memlimit, "opslimit": opslimit, "salt": b64encode(salt)},
            "key_ids": {"pseudonym": keys.pseudonym_key_id, "sealed": keys.sealed_key_id},
        }
    )


def restore_escrow(bundle: bytes, passphrase: str) -> SealedKeys:
    """Recover the keys from a bundle; EscrowError on a malformed bundle or a wrong passphrase."""
    header = _parse_bundle(bundle)
    kdf = header["kdf"]
    box = nacl.secret.SecretBox(_box_key(passphrase, kdf["salt"], kdf["opslimit"], kdf["memlimit"]))
    try:
        inner = box.decrypt(header["box"])
    except nacl.exceptions.CryptoError:
        raise EscrowError("the passphrase does not open this escrow bundle (or the bundle was altered)") from None
    try:
        fields = parse_canonical(inner)
        keys = SealedKeys(b64decode(fields["sealed_key"]), b64decode(fields["pseudonym_key"]))
    except (FormatError, KeyError, TypeError, SealedKeyError) as e:
        raise EscrowError(f"the escrow bundle's contents are malformed: {type(e).__name__}") from None
    found = {"pseudonym": keys.pseudonym_key_id, "sealed": keys.sealed_key_id}
    if found != header["key_ids"]:
        raise EscrowError(f"escrow key ids do not match its keys: expected {header['key_ids']}, found {found}")
    return keys


def _parse_bundle(bundle: bytes) -> dict[str, Any]:
    try:
        obj = parse_canonical(bundle)
        if obj["format"] != ESCROW_FORMAT:
            raise EscrowError(f"expected escrow format {ESCROW_FORMAT!r}, found {str(obj['format'])[:40]!r}")
        kdf = obj["kdf"]
        if kdf["alg"] != "argon2id" or not isinstance(kdf["opslimit"], int) or not isinstance(kdf["memlimit"], int):
            raise EscrowError("escrow bundle: kdf must be argon2id with integer limits")
        return {
            "box": b64decode(obj["box"]),
            "kdf": {
                "memlimit": kdf["memlimit"],
                "opslimit": kdf["opslimit"],
                "salt": b64decode(kdf["salt"], length=argon2id.SALTBYTES),
            },
            "key_ids": {"pseudonym": str(obj["key_ids"]["pseudonym"]), "sealed": str(obj["key_ids"]["sealed"])},
        }
    except EscrowError:
        raise
    except (FormatError, KeyError, TypeError) as e:
        raise EscrowError(f"not an escrow bundle: {e}") from None
