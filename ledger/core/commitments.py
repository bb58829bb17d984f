"""Salted commitments to return information and their openings (DESIGN § 6103 domain, Privacy).

A statement never carries a TIN, name, address, case number or free-text reason in
clear; it carries a commitment

    hex(SHA-256("dl/commit/v1\\n" || salt (16 bytes) || JCS({"field": f, "value": v})))

and the *opening* ``(field, value, salt)`` lives in the sealed store. Anyone holding an
opening can check it against the log with :func:`verify_opening` alone, so this module is
pure (stdlib and ``ledger.core.canonical``; no I/O) and usable by the court's verifier.

The 16-byte random salt makes the commitment hiding: without it a commitment to a
9-digit TIN could be brute-forced in seconds.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import unicodedata
from dataclasses import dataclass
from dataclasses import field as dc_field
from json.encoder import encode_basestring as _encode_string
from typing import Any

from ledger.core.b64 import b64decode, b64encode
from ledger.core.canonical import canonical_bytes, parse_canonical
from ledger.core.errors import CanonicalError, FormatError, LedgerError

COMMIT_TAG = b"dl/commit/v1\n"
SALT_SIZE = 16
COMMITMENT_HEX_LEN = 64

# A field names what is committed to ("tin", "address", "request.reason"): lowercase
# ASCII words joined by dots, so that a field name is also usable as a JSON key.
_FIELD_RE = re.compile(r"[a-z0-9_]+(?:\.[a-z0-9_]+)*\Z")
MAX_FIELD_LEN = 128
_HEX_RE = re.compile(r"[0-9a-f]{64}\Z")
_OPENING_KEYS = frozenset({"field", "salt", "value"})


class SealedError(LedgerError):
    """Base class of failures around commitments, openings, pseudonyms and the sealed store.

    Messages never contain a committed value, a TIN or a key: only field names,
    commitments, lengths and key ids.
    """


class CommitmentFormatError(SealedError, FormatError):
    """A field name, salt, commitment or serialised opening that is malformed."""


class OpeningMismatch(SealedError):
    """An opening whose recomputed commitment differs from the expected one."""

    def __init__(self, expected: str, found: str, field: str) -> None:
        self.expected = expected
        self.found = found
        self.field = field
        super().__init__(
            f"opening for field {field!r} does not match its commitment: "
            f"expected {expected}, found {found}"
        )


def check_commitment_hex(commitment: str) -> str:
    """Return ``commitment`` if it is 64 lowercase hex digits, else raise CommitmentFormatError."""
    if not isinstance(commitment, str) or not _HEX_RE.match(commitment):
        raise CommitmentFormatError(
            f"expected a commitment of 64 lowercase hex digits, found {str(commitment)[:80]!r}"
        )
    return commitment


_GOOD_FIELDS: set[str] = set()  # field names already accepted (a memo: a bulk request repeats four)


def _check_field(name: str) -> None:
    if type(name) is str and name in _GOOD_FIELDS:
        return
    if not isinstance(name, str) or len(name) > MAX_FIELD_LEN or not _FIELD_RE.match(name):
        raise CommitmentFormatError(
            f"field must match [a-z0-9_]+(.[a-z0-9_]+)* and be at most {MAX_FIELD_LEN} characters, "
            f"found {str(name)[:80]!r}"
        )
    if type(name) is str and len(_GOOD_FIELDS) < 256:
        _GOOD_FIELDS.add(name)


def _check_salt(salt: bytes) -> None:
    if not isinstance(salt, bytes):
        raise CommitmentFormatError(f"salt must be bytes, found {type(salt).__name__}")
    if len(salt) != SALT_SIZE:
        raise CommitmentFormatError(f"salt must be {SALT_SIZE} bytes, found {len(salt)}")


def _string_document(field: str, value: str) -> bytes | None:
    """JCS of {"field": field, "value": value} for a string value, built directly (the common case:
    TINs, names, addresses), or None to take the general path. ``field`` is already checked (ASCII,
    no character JSON escapes); the value's literal is the same as the canonical encoder's."""
    if not (value.isascii() or unicodedata.is_normalized("NFC", value)):
        return None
    try:
        return ('{"field":"' + field + '","value":' + _encode_string(value) + "}").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: the general path refuses it with the right error
        return None


def commitment_digest(field: str, value: Any, salt: bytes) -> str:
    """The commitment (lowercase hex) to ``value`` under ``field`` and ``salt``: the one place it is built."""
    _check_field(field)
    _check_salt(salt)
    if type(value) is str:
        fast = _string_document(field, value)
        if fast is not None:
            return hashlib.sha256(COMMIT_TAG + salt + fast).hexdigest()
    try:
        document = canonical_bytes({"field": field, "value": value})
    except CanonicalError:
        # canonical's message may quote the value (e.g. an out-of-range integer): never repeat it.
        raise CommitmentFormatError(
            f"value for field {field!r} is not canonical JSON: it must hold only strings (NFC), "
            "integers within +/-(2^53-1), booleans, null, arrays and objects with [a-z0-9_]+ keys"
        ) from None
    return hashlib.sha256(COMMIT_TAG + salt + document).hexdigest()


@dataclass(frozen=True)
class Opening:
    """What opens one commitment: the field, the value and the salt.

    The commitment is computed once, at construction (the value must be canonical
    JSON; it is treated as immutable). ``repr`` shows the field and the commitment,
    never the value or the salt, so an opening cannot leak into a log by accident.
    """

    # Equality and hashing go by the commitment alone: it binds field, value and salt
    # exactly (Python's ``1 == True`` would not), and the value may be an unhashable list.
    field: str = dc_field(compare=False)
    value: Any = dc_field(repr=False, compare=False)
    salt: bytes = dc_field(repr=False, compare=False)
    commitment: str = dc_field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "commitment", commitment_digest(self.field, self.value, self.salt))

    def __reduce__(self) -> tuple[Any, tuple[str, Any, bytes]]:
        # Pickled (e.g. sent from a principal's process to the service) as its field, value and
        # salt only: unpickling builds it again, so the commitment is recomputed, never trusted.
        return (Opening, (self.field, self.value, self.salt))

    def to_json(self) -> dict[str, Any]:
        """The opening as a JSON object: ``{"field": f, "salt": base64(salt), "value": v}``."""
        return {"field": self.field, "salt": b64encode(self.salt), "value": self.value}

    @classmethod
    def from_json(cls, obj: Any) -> Opening:
        """Parse the object written by :meth:`to_json`, refusing missing or extra members."""
        if not isinstance(obj, dict):
            raise CommitmentFormatError(f"an opening must be a JSON object, found {type(obj).__name__}")
        if set(obj) != _OPENING_KEYS:
            raise CommitmentFormatError(
                f"an opening has exactly the members {sorted(_OPENING_KEYS)}, found {sorted(map(str, obj))}"
            )
        if not isinstance(obj["salt"], str):
            raise CommitmentFormatError("opening salt must be a base64 string")
        try:
            salt = b64decode(obj["salt"], length=SALT_SIZE)
        except FormatError as e:
            raise CommitmentFormatError(f"opening salt: {e}") from None
        return cls(obj["field"], obj["value"], salt)

    def to_bytes(self) -> bytes:
        """The canonical (RFC 8785) bytes of :meth:`to_json`: what the sealed store encrypts."""
        fast = self._string_bytes()
        return fast if fast is not None else canonical_bytes(self.to_json())

    def _string_bytes(self) -> bytes | None:
        """The canonical bytes built directly for a string value (keys in JCS order), or None."""
        if type(self.value) is not str:
            return None
        document = _string_document(self.field, self.value)
        if document is None:
            return None
        # {"field":…,"value":…} -> {"field":…,"salt":…,"value":…}: "salt" sorts between them.
        head, _, tail = document.partition(b',"value":')
        return head + b',"salt":"' + b64encode(self.salt).encode("ascii") + b'","value":' + tail

    @classmethod
    def from_bytes(cls, data: bytes) -> Opening:
        """Parse bytes that must be exactly the canonical encoding of an opening."""
        try:
            obj = json.loads(data)
        except (ValueError, TypeError):
            obj = None
        if isinstance(obj, dict) and type(obj.get("value")) is str and isinstance(obj.get("salt"), str):
            try:
                opening = cls.from_json(obj)
            except CommitmentFormatError:
                opening = None
            if opening is not None and opening._string_bytes() == bytes(data):
                return opening
        try:
            obj = parse_canonical(data)
        except FormatError:
            # Not repeating the parser's message: it may quote part of the value.
            raise CommitmentFormatError("serialised opening is not the canonical JSON of an object") from None
        return cls.from_json(obj)


def commit(field: str, value: Any, salt: bytes | None = None) -> Opening:
    """Commit to ``value`` under ``field``; a fresh random 16-byte salt unless one is given.

    The returned opening's ``.commitment`` goes into the statement; the opening itself
    goes to the sealed store.
    """
    return Opening(field, value, secrets.token_bytes(SALT_SIZE) if salt is None else salt)


def verify_opening(commitment: str, opening: Opening) -> None:
    """Check that ``opening`` opens ``commitment``; return None or raise OpeningMismatch.

    The commitment is recomputed from the opening's field, value and salt (not taken
    from the cached ``opening.commitment``).
    """
    check_commitment_hex(commitment)
    found = commitment_digest(opening.field, opening.value, opening.salt)
    if not hmac.compare_digest(found, commitment):
        raise OpeningMismatch(commitment, found, opening.field)
