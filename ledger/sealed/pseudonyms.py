"""Taxpayer pseudonyms: HMAC-SHA-256 of the normalised TIN under the operator's pseudonym key.

The pseudonym is lowercase hex of the 32-byte HMAC (64 characters, no prefix), computed
by the server from the TIN the IRS matched and stored at ingest, so projections group
by taxpayer without decrypting anything. Without the key a pseudonym cannot be linked
to a TIN (a bare hash of a 9-digit TIN could be reversed by trying all 10^9 of them).
"""

from __future__ import annotations

import hashlib
import hmac
import re

from ledger.sealed.errors import SealedKeyError, TinFormatError

TIN_DIGITS = 9
MIN_PSEUDONYM_KEY_SIZE = 32
# [0-9], not \d: \d also matches non-ASCII digits such as U+0669.
_DIGITS_RE = re.compile(r"[0-9]{9}\Z")
_SEPARATORS = str.maketrans("", "", " -")


def normalise_tin(text: str) -> str:
    """The 9 ASCII digits of a TIN written as ``912-70-1234``, ``912 70 1234`` or ``912701234``.

    Spaces and hyphens are dropped (SSN, ITIN and EIN layouts all reduce to 9 digits);
    anything else is refused with TinFormatError, whose message never repeats the text.
    """
    if not isinstance(text, str):
        raise TinFormatError(f"a TIN must be a string, found {type(text).__name__}")
    digits = text.strip().translate(_SEPARATORS)
    if not _DIGITS_RE.match(digits):
        count = sum(c in "0123456789" for c in digits)
        raise TinFormatError(
            f"a TIN is exactly {TIN_DIGITS} digits with optional spaces or hyphens; "
            f"found {count} digits and {len(digits) - count} other characters"
        )
    return digits


def check_pseudonym_key(key: bytes) -> None:
    """Raise SealedKeyError unless ``key`` is bytes of at least 32 bytes."""
    if not isinstance(key, bytes):
        raise SealedKeyError(f"the pseudonym key must be bytes, found {type(key).__name__}")
    if len(key) < MIN_PSEUDONYM_KEY_SIZE:
        raise SealedKeyError(
            f"the pseudonym key must be at least {MIN_PSEUDONYM_KEY_SIZE} bytes, found {len(key)}"
        )


def pseudonym(tin: str, key: bytes) -> str:
    """The taxpayer pseudonym: lowercase hex of HMAC-SHA-256(key, normalise_tin(tin))."""
    check_pseudonym_key(key)
    return hmac.new(key, normalise_tin(tin).encode("ascii"), hashlib.sha256).hexdigest()
