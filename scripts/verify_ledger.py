#!/usr/bin/env python3
# GENERATED FILE - DO NOT EDIT. Built by scripts/build_verifier.py from the integrity core
# ledger/core/{errors,b64,canonical,commitments,export_lines,keys,merkle,note,checkpoint,
#     cosignature,plain,plain_files,proofs,lines,times,entry,statement,bundle_format,bundle_lines,
#     delivered,tlog_policy,trust,bundle_check,diagnosis,readable,verify,pipeline,verify_report,
#     export_verify,proof_files,witness_protocol,tlog_proof,witnessed}.py
# and scripts/_verifier_*.py. Regenerate with:  python scripts/build_verifier.py
# tests/scripts/test_build_verifier.py fails when this file differs from a fresh build.

"""The court's verifier: check a Disclosure Ledger export offline (docs/VERIFYING.md).

    python verify_ledger.py --vkey KEY --checkpoint FILE --export FILE
        [--previous-checkpoint FILE [--consistency-proof FILE]]
        [--inclusion-proof FILE --entry FILE] [--json] [--workers N] [--report FILE]
    python verify_ledger.py --bundle DIR [--vkey KEY] [--openings] [--json] [--report FILE]
    python verify_ledger.py --export FILE --show INDEX|all [--json]
    python verify_ledger.py --bundle DIR --show INDEX|all [--json]
    ... [--policy FILE]   the checkpoint must meet a witness policy (c2sp.org/tlog-policy) you pinned

Needs Python 3.11+ and the package pynacl (``pip install pynacl rfc8785``); nothing
else, no network, no database, no secret. ``--vkey`` is the ledger's published trust
root (a C2SP verifier key string, or a file holding it). Exit status: 0 when every
check holds, 1 when anything in the export, checkpoint or proofs fails (the report
names the first failing entry and says why in plain words), 2 for usage errors,
unreadable files and files of the wrong kind. ``--report FILE`` also writes FILE.json
and FILE.txt, a report to attach to a declaration; ``--show`` prints entries decoded
for a person, verifying nothing.

This is the command-line part of scripts/verify_ledger.py; scripts/build_verifier.py
bundles it with the integrity core (ledger/core/) into that one standalone file.
"""

from __future__ import annotations

import argparse
import ast
import base64
import binascii
import contextlib
import gc
import hashlib
import hmac
import json
import multiprocessing
import os
import platform
import re
import secrets
import sys
import time
import unicodedata
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from dataclasses import field as dc_field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from json.decoder import scanstring
from json.encoder import encode_basestring
from json.encoder import encode_basestring as _encode_string
from typing import IO, Any, NamedTuple, Protocol, TypeVar

import nacl
import nacl.bindings
import nacl.exceptions
import nacl.signing

# ------------------------------ ledger/core/errors.py ---------------------------------------
# One error hierarchy for the ledger: every failure is typed and says what was
# expected and what was found.

class LedgerError(Exception):
    """Base class of every error the ledger raises on purpose."""


class FormatError(LedgerError):
    """Bytes that do not have the form docs/FORMAT.md requires."""


class CanonicalError(FormatError):
    """A document that is not canonical JSON under the restrictions of docs/FORMAT.md § 1."""


class EncodingError(FormatError):
    """Base64 or UTF-8 that does not decode strictly."""


class KeyFormatError(FormatError):
    """A key name, verifier key or signer key that is malformed or unsafe."""


class NoteError(FormatError):
    """A signed note that is malformed."""


class StatementError(FormatError):
    """A statement envelope that breaks the format (docs/FORMAT.md)."""


class EntryError(FormatError):
    """A ledger entry that breaks the format (docs/FORMAT.md)."""


class CheckpointFormatError(FormatError):
    """A checkpoint note body that breaks the format (docs/FORMAT.md)."""


class PolicyError(FormatError):
    """A witness policy (c2sp.org/tlog-policy) that is malformed, or that this verifier cannot apply."""


class ProtocolError(FormatError):
    """A c2sp.org/tlog-witness request or answer that is malformed."""


class TimeFormatError(FormatError):
    """A time that is not YYYY-MM-DDTHH:MM:SS.ffffffZ."""


class ProofError(LedgerError):
    """A Merkle proof that is malformed or does not verify."""


class RootMismatchError(ProofError):
    """A computed root differs from the expected one."""

    def __init__(self, expected: bytes, calculated: bytes, what: str = "root") -> None:
        self.expected = expected
        self.calculated = calculated
        super().__init__(
            f"{what} mismatch: expected {expected.hex()}, calculated {calculated.hex()}"
        )


class SignatureError(LedgerError):
    """A signature that is missing, extra, by the wrong key, or invalid."""


class QuorumError(SignatureError):
    """A checkpoint whose witness cosignatures do not meet the quorum of the policy applied."""


class TrustError(LedgerError):
    """A statement the trust state refuses: unknown or revoked key, role not allowed."""

    def __init__(self, message: str, rule: str = "trust") -> None:
        self.rule = rule
        super().__init__(message)


class VerificationError(LedgerError):
    """Verification of a log failed at an index (None when not about one entry)."""

    def __init__(
        self,
        reason: str,
        index: int | None = None,
        expected: object | None = None,
        found: object | None = None,
    ) -> None:
        self.reason = reason
        self.index = index
        self.expected = expected
        self.found = found
        where = f"entry {index}: " if index is not None else ""
        detail = ""
        if expected is not None or found is not None:
            detail = f" (expected {expected!r}, found {found!r})"
        super().__init__(f"{where}{reason}{detail}")


class UnreadableInputError(LedgerError):
    """A file given to verify cannot be opened or read (a usage error, not a failed check)."""


# ------------------------------ ledger/core/b64.py ------------------------------------------
# Strict standard base64 (docs/FORMAT.md § 2): padded, no whitespace, no junk.

_B64_RE = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?\Z")


def b64encode(data: bytes) -> str:
    """Standard padded base64 of bytes."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str, *, length: int | None = None) -> bytes:
    """Decode standard padded base64, refusing anything else (and non-canonical padding bits)."""
    # Fast path: text that decodes strictly and re-encodes to itself is canonical base64.
    # Anything else goes through the checks below, which refuse it and say why.
    if isinstance(text, str) and text.isascii():
        try:
            data = binascii.a2b_base64(text, strict_mode=True)
        except binascii.Error:
            pass
        else:
            if binascii.b2a_base64(data, newline=False).decode("ascii") == text and (
                length is None or len(data) == length
            ):
                return data
    if not isinstance(text, str) or not _B64_RE.match(text):
        raise EncodingError(f"expected standard padded base64, found {str(text)[:80]!r}")
    try:
        data = base64.b64decode(text, validate=True)
    except binascii.Error as e:  # pragma: no cover - the regex already filters
        raise EncodingError(f"bad base64: {e}") from None
    if base64.b64encode(data).decode("ascii") != text:
        raise EncodingError("base64 with non-zero padding bits is not canonical")
    if length is not None and len(data) != length:
        raise EncodingError(f"expected {length} bytes, found {len(data)}")
    return data


# ------------------------------ ledger/core/canonical.py ------------------------------------
# Canonical JSON (docs/FORMAT.md § 1): RFC 8785 with the restrictions docs/FORMAT.md § 1 adds.
#
# Values are str, int within +/-(2**53-1), bool, None, list and dict; floats are
# refused before encoding; object keys match [a-z0-9_]+; strings are NFC.
# With such inputs, stdlib json with sorted keys yields exactly the JCS bytes
# (the fast path); tests check it against the rfc8785 package.

MAX_SAFE_INTEGER = 2**53 - 1
MAX_DEPTH = 32
_KEY_RE = re.compile(r"[a-z0-9_]+\Z")


def _check_value(value: Any, path: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise CanonicalError(f"{path}: nesting deeper than {MAX_DEPTH}")
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise CanonicalError(f"{path}: integer outside +/-(2^53-1): {value}")
        return
    if isinstance(value, str):
        _check_string(value, path)
        return
    if isinstance(value, float):
        raise CanonicalError(f"{path}: floats are not allowed, found {value!r}")
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_value(item, f"{path}[{i}]", depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not _KEY_RE.match(key):
                raise CanonicalError(f"{path}: object key must match [a-z0-9_]+, found {key!r}")
            _check_value(item, f"{path}.{key}", depth + 1)
        return
    raise CanonicalError(f"{path}: type {type(value).__name__} is not allowed in canonical JSON")


def _check_string(value: str, path: str) -> None:
    if value.isascii():  # ASCII is always NFC and has no surrogates
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise CanonicalError(f"{path}: string is not valid Unicode (lone surrogate)") from None
    if not unicodedata.is_normalized("NFC", value):
        raise CanonicalError(f"{path}: string is not NFC-normalised")


def _string_allowed(value: str) -> bool:
    if value.isascii():  # ASCII is always NFC and has no surrogates
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return unicodedata.is_normalized("NFC", value)


_KNOWN_KEYS: set[str] = set()  # keys already matched against _KEY_RE (a memo; entries repeat keys)


def _key_allowed(key: Any) -> bool:
    if type(key) is not str:
        return False
    if key in _KNOWN_KEYS:
        return True
    if not _KEY_RE.match(key):
        return False
    if len(_KNOWN_KEYS) < 4096:
        _KNOWN_KEYS.add(key)
    return True


def _is_allowed(value: Any, depth: int) -> bool:
    """The fast path of _check_value: True only if _check_value would accept the value.

    It may say False for values _check_value accepts (containers near MAX_DEPTH, subclasses
    of the allowed types); False sends the caller to _check_value, which decides and says
    where and why. Leaves of objects and lists are tested inline: this runs for every entry.
    """
    kind = type(value)
    if kind is dict:
        if depth >= MAX_DEPTH:
            return False
        for key in value:
            if key not in _KNOWN_KEYS and not _key_allowed(key):
                return False
        items: Any = value.values()
    elif kind is list or kind is tuple:
        if depth >= MAX_DEPTH:
            return False
        items = value
    elif kind is str:
        return _string_allowed(value)
    elif kind is int:
        return bool(-MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER)
    else:
        return value is None or kind is bool
    for item in items:  # a container's leaves are checked here, without a call each
        kind = type(item)
        if kind is str:
            if not (item.isascii() or _string_allowed(item)):
                return False
        elif kind is int:
            if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                return False
        elif not (item is None or kind is bool or _is_allowed(item, depth + 1)):
            return False
    return True


# Built once: json.dumps / json.loads with keyword arguments build a new coder on every call,
# and JSONEncoder.encode builds a new C encoder on every call too; the C encoder itself is reusable.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
try:
    from _json import encode_basestring as _c_encode_basestring
    from _json import make_encoder as _c_make_encoder

    def _no_default(value: Any) -> Any:
        raise TypeError(f"not JSON: {type(value).__name__}")

    _C_ENCODE = _c_make_encoder(None, _no_default, _c_encode_basestring, None, ":", ",", True, False, False)

    def _encode(value: Any) -> str:
        # A bare string is returned by the C encoder as its literal, not a tuple of parts.
        out = _C_ENCODE(value, 0)
        return out if isinstance(out, str) else "".join(out)
except ImportError:  # pragma: no cover - CPython without the C accelerator
    _encode = _ENCODER.encode  # type: ignore[assignment]


def canonical_bytes(value: Any) -> bytes:
    """Return the RFC 8785 bytes of a value, refusing what docs/FORMAT.md § 1 forbids."""
    if not _is_allowed(value, 0):
        _check_value(value, "$", 0)
    return _encode(value).encode("utf-8")


def canonical_bytes_of_checked(value: Any) -> bytes:
    """The RFC 8785 bytes of a value taken from a document that canonical_bytes or parse_canonical
    has already accepted (an item of a parsed chunk, say), without checking it a second time.

    A value that was never checked may encode to bytes no canonical document holds; any use of
    such bytes must end in a check of the whole document (signing or parsing it) before it counts.
    """
    return _encode(value).encode("utf-8")


def canonical_string_at(text: str, start: int) -> tuple[str, int] | None:
    """The string whose JSON literal opens at ``text[start]`` (a quote), if that literal is
    exactly the canonical encoding of an allowed string: (value, index after the literal).

    None means "not shown canonical here" (the caller falls back to parse_canonical).
    Lets a parser of a fixed-shape document check its one long string without decoding
    and re-encoding the whole document.
    """
    if not text.startswith('"', start):
        return None
    try:
        value, end = scanstring(text, start + 1, True)
    except ValueError:
        return None
    if encode_basestring(value) != text[start:end] or not _string_allowed(value):
        return None
    return value, end


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, item in pairs:
        if key in result:
            raise CanonicalError(f"duplicate object key {key!r}")
        result[key] = item
    return result


def _refuse_float(text: str) -> Any:
    raise CanonicalError(f"floats are not allowed, found {text}")


def _refuse_constant(text: str) -> Any:
    raise CanonicalError(f"{text} is not allowed")


_DECODER = json.JSONDecoder(
    object_pairs_hook=_refuse_duplicates, parse_float=_refuse_float, parse_constant=_refuse_constant
)


# Without the duplicate-key hook the C decoder builds dicts directly. A document with a
# duplicate key still never passes: the merged object re-encodes to fewer bytes.
_FAST_DECODER = json.JSONDecoder(parse_float=_refuse_float, parse_constant=_refuse_constant)


def _decode(decoder: json.JSONDecoder, text: str) -> Any:
    try:
        return decoder.decode(text)
    except CanonicalError:
        raise
    except RecursionError:
        raise CanonicalError("JSON nested too deeply") from None
    except ValueError as e:
        raise CanonicalError(f"not JSON: {e}") from None


def parse_canonical(data: bytes) -> Any:
    """Parse bytes that must be exactly the canonical encoding of their value."""
    if not isinstance(data, (bytes, bytearray)):
        raise CanonicalError(f"expected bytes, found {type(data).__name__}")
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as e:
        raise CanonicalError(f"not valid UTF-8 at byte {e.start}") from None
    value = _decode(_FAST_DECODER, text)
    again = canonical_bytes(value)
    if again != bytes(data):
        # Duplicate keys (which the fast decoder merges) also land here: find them for the message.
        _decode(_DECODER, text)
        raise CanonicalError(
            f"not canonical: expected {len(again)} bytes of RFC 8785 encoding, "
            f"found a different encoding of {len(data)} bytes"
        )
    return value


# ------------------------------ ledger/core/commitments.py ----------------------------------
# Salted commitments to return information and their openings (DESIGN § 6103 domain, Privacy).
#
# A statement never carries a TIN, name, address, case number or free-text reason in
# clear; it carries a commitment
#
#     hex(SHA-256("dl/commit/v1\n" || salt (16 bytes) || JCS({"field": f, "value": v})))
#
# and the *opening* ``(field, value, salt)`` lives in the sealed store. Anyone holding an
# opening can check it against the log with :func:`verify_opening` alone, so this module is
# pure (stdlib and ``ledger.core.canonical``; no I/O) and usable by the court's verifier.
#
# The 16-byte random salt makes the commitment hiding: without it a commitment to a
# 9-digit TIN could be brute-forced in seconds.

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


# ------------------------------ ledger/core/export_lines.py ---------------------------------
# What an export line is (docs/FORMAT.md § 12): the one place it is written and read.
#
# An export line is ``JCS({"entry_b64": base64(entry), "index": i}) || LF``. The ledger's
# export writer, the restore from an export, the court's verifier and the test-vector
# generator all use this module, so the format has one definition:
#
# - ``export_line(index, data)`` writes one line;
# - ``parse_export_line(line, position)`` reads one line strictly: the entry bytes of line
#   ``position``, or a VerificationError naming it and saying what is wrong;
# - ``read_line_chunks(f, chunk)`` cuts a file into chunks of lines (a line is cut at
#   MAX_LINE_BYTES, so a huge line costs no memory and fails as too long);
# - ``read_export(f)`` yields ``(index, entry bytes)`` of every line, strictly.
#
# Parsing is the verifier's hot path (an export holds millions of lines): a canonical line
# matches a fixed pattern and is decoded directly; only a line that does not match goes
# through parse_canonical, which refuses it with a precise reason (or accepts it with the
# same result).

# An entry is at most 65,535 bytes, so its export line (base64 plus framing) is under 87,500.
MAX_LINE_BYTES = 100_000
# An export line is JCS of {"entry_b64": ..., "index": ...} + LF. A line that is exactly
# _LINE_HEAD + canonical base64 + _LINE_MID + decimal + "}\n" is canonical (base64 needs no
# JSON escaping); any other line takes the slow path through parse_canonical, which
# refuses it or accepts it with the same result.
_LINE_HEAD = b'{"entry_b64":"'
_LINE_MID = b'","index":'
_LINE_TAIL_RE = re.compile(rb"(0|[1-9][0-9]{0,15})\}\n\Z")


def export_line(index: int, data: bytes) -> bytes:
    """The export line of entry ``index`` whose stored bytes are ``data``."""
    return canonical_bytes({"entry_b64": b64encode(data), "index": index}) + b"\n"


def parse_export_line(line: bytes, position: int) -> bytes:
    """Return the entry bytes of export line ``position``; raise VerificationError naming it."""
    mid = line.rfind(_LINE_MID)
    tail = _LINE_TAIL_RE.match(line, mid + len(_LINE_MID)) if mid > 0 and line.startswith(_LINE_HEAD) else None
    if tail is not None and int(tail[1]) == position:
        try:
            return b64decode(line[len(_LINE_HEAD) : mid].decode("ascii"))
        except (LedgerError, UnicodeDecodeError):
            pass  # the slow path says what is wrong
    b64_text, index = _parse_odd_line(line, position)
    if index != position:
        raise VerificationError("export line index out of sequence", position, position, index)
    try:
        return b64decode(b64_text)
    except LedgerError as e:
        raise VerificationError(f"export line: entry_b64 is not strict base64: {e}", position) from None


def _parse_odd_line(line: bytes, position: int) -> tuple[str, int]:
    """The slow path: a precise reason for a line the fast pattern does not match."""
    if not line.endswith(b"\n"):
        if len(line) >= MAX_LINE_BYTES:
            raise VerificationError(f"export line is longer than {MAX_LINE_BYTES} bytes", position)
        raise VerificationError("export line does not end with LF (the file ends inside a line)", position)
    if line == b"\n":
        raise VerificationError("blank line in the export", position)
    if line.endswith(b"\r\n"):
        raise VerificationError("export line ends with CR LF (a Windows line ending)", position)
    if position == 0 and line.startswith(b"\xef\xbb\xbf"):
        raise VerificationError("export line starts with a byte order mark (BOM)", position)
    try:
        value = parse_canonical(line[:-1])
    except LedgerError as e:
        raise VerificationError(f"export line is not canonical JSON: {e}", position) from None
    if not isinstance(value, dict) or set(value) != {"entry_b64", "index"}:
        found = sorted(value) if isinstance(value, dict) else type(value).__name__
        raise VerificationError(
            "export line must be an object of exactly entry_b64 and index", position, None, found
        )
    b64_text, index = value["entry_b64"], value["index"]
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise VerificationError("export line index must be a non-negative integer", position, None, index)
    if not isinstance(b64_text, str):
        raise VerificationError("export line entry_b64 must be a string", position)
    return b64_text, index


def read_line_chunks(f: IO[bytes], chunk: int, digest: Any = None) -> Iterator[tuple[list[bytes], int]]:
    """Chunks of up to ``chunk`` export lines and their byte count; a line is cut at MAX_LINE_BYTES.

    With ``digest`` (a hashlib object), every byte read is hashed, in order.
    """
    while True:
        lines = []
        nbytes = 0
        for _ in range(chunk):
            line = f.readline(MAX_LINE_BYTES)
            if not line:
                break
            lines.append(line)
            nbytes += len(line)
        if not lines:
            return
        if digest is not None:
            for line in lines:
                digest.update(line)
        yield lines, nbytes


def read_export(f: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """``(index, entry bytes)`` of every line of an export, strictly; VerificationError at the first bad line."""
    position = 0
    while True:
        line = f.readline(MAX_LINE_BYTES)
        if not line:
            return
        yield position, parse_export_line(line, position)
        position += 1


# ------------------------------ ledger/core/keys.py -----------------------------------------
# Ed25519 keys with C2SP signed-note key names, key IDs and key strings (docs/FORMAT.md § 4).
#
# Verifier key: ``name+hex8(keyhash)+base64(0x01 || pubkey)``.
# Signer key:   ``PRIVATE+KEY+name+hex8(keyhash)+base64(0x01 || seed)``.
# keyhash = first 4 bytes (big-endian) of SHA-256(name || 0x0A || 0x01 || pubkey).

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


# ------------------------------ ledger/core/merkle.py ---------------------------------------
# RFC 6962 / RFC 9162 Merkle tree hashing (docs/FORMAT.md § 9).
#
# leaf = SHA-256(0x00 || entry), node = SHA-256(0x01 || left || right),
# empty tree = SHA-256("").

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962 leaf hash of entry bytes."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly less than n (n >= 2)."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH over a list of leaf hashes."""
    frontier = Frontier()
    for h in hashes:
        frontier.append(h)
    return frontier.root()


class Frontier:
    """The right edge of a growing tree: one perfect-subtree hash per set bit of size.

    Appending a leaf is amortised O(1); the root is O(log n). ``on_node`` receives
    (level, index, hash) for every perfect subtree completed, leaves included, which
    is how the store writes its tree table.
    """

    def __init__(self, size: int = 0, nodes: Sequence[bytes] = ()) -> None:
        # nodes[i] is the hash of the i-th perfect subtree from the left (largest first).
        if len(nodes) != bin(size).count("1"):
            raise ValueError(f"a frontier of size {size} has {bin(size).count('1')} nodes, got {len(nodes)}")
        self.size = size
        self.nodes: list[bytes] = list(nodes)

    def append(
        self, leaf: bytes, on_node: Callable[[int, int, bytes], None] | None = None
    ) -> None:
        index = self.size
        h = leaf
        level = 0
        if on_node:
            on_node(0, index, h)
        while (index >> level) & 1:
            h = node_hash(self.nodes.pop(), h)
            level += 1
            if on_node:
                on_node(level, index >> level, h)
        self.nodes.append(h)
        self.size += 1

    def root(self) -> bytes:
        if not self.nodes:
            return EMPTY_ROOT
        h = self.nodes[-1]
        for left in reversed(self.nodes[:-1]):
            h = node_hash(left, h)
        return h

    @staticmethod
    def coordinates(size: int) -> list[tuple[int, int]]:
        """(level, index) of the perfect subtrees on the right edge of a tree of size, left first."""
        coords = []
        start = 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                coords.append((level, start >> level))
                start += 1 << level
        return coords


def perfect_ranges(start: int, end: int) -> list[tuple[int, int]]:
    """Decompose [start, end) of an RFC 6962 subtree into (level, index) perfect subtrees, left first."""
    out = []
    while start < end:
        level = (start & -start).bit_length() - 1 if start else (end - start).bit_length() - 1
        while (1 << level) > end - start:
            level -= 1
        out.append((level, start >> level))
        start += 1 << level
    return out


def fold_right(hashes: Iterable[bytes]) -> bytes:
    """Hash of a right-edge subtree from its perfect parts, left first."""
    parts = list(hashes)
    h = parts[-1]
    for left in reversed(parts[:-1]):
        h = node_hash(left, h)
    return h


# ------------------------------ ledger/core/note.py -----------------------------------------
# C2SP signed notes: text, a blank line, then one line per signature.
#
# A signature line is ``— <key name> <base64(key ID (4) || signature)>``. The parser keeps every
# well-formed line, whoever made it: c2sp.org/signed-note says verifiers MUST ignore signatures
# from keys they do not know, and those may be of any type and length (a cosignature/v1 line is
# 4 + 8 + 64 bytes, an ML-DSA-44 one 4 + 8 + 2,420). A line is malformed, and the whole note
# refused, only when signed-note says so: it is not ``— name base64``, the name is empty or holds a
# Unicode space or ``+``, or the base64 does not decode (padding bits need not be zero) to at least
# 5 bytes. Lines of keys the verifier knows are held to more: canonical base64, 4 + 64 bytes and an
# Ed25519 signature that verifies (``verify_by``, ``match_signature_lines``).

SIG_PREFIX = "\u2014 "
# signed-note: verifiers MUST accept at least 16 signatures and SHOULD cap their number or the
# note's size; Go's sumdb/note stops at 100 lines. The size leaves room for 16 post-quantum
# signature lines (nearly 5 kB each, a third more in base64) beside the largest statement text.
MAX_SIGNATURES = 100
MAX_NOTE_BYTES = 196_608
ED25519_LINE_BYTES = 68  # key ID (4) + Ed25519 signature (64)
_CONTROL_RE = re.compile("[\x00-\x09\x0b-\x1f\x7f]")  # every C0 control but LF, and DEL
_LINE_CONTROL_RE = re.compile("[\x00-\x09\x0b-\x1f]")  # signed-note: no control below U+0020 but LF
_PLAIN_NAME_RE = re.compile(r"[!-*,-~]+\Z")  # printable ASCII without space or '+': the common case
# Go's unicode.IsSpace, which signed-note's reference implementation applies to key names: the
# Unicode White_Space property, written out so that no Unicode table version changes the rule.
UNICODE_SPACES = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
_PADDED_B64_RE = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?\Z")


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: key name, key ID and the signature bytes after the key ID.

    ``b64`` is the line's base64 as it was read (or the canonical encoding of a line made
    here), so that a note is written back byte for byte; ``canonical`` says whether it is
    the one canonical encoding (zero padding bits), which known keys' lines must be.
    """

    name: str
    key_id: int
    signature: bytes
    b64: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.b64:
            object.__setattr__(self, "b64", b64encode(self.key_id.to_bytes(4, "big") + self.signature))

    @property
    def canonical(self) -> bool:
        return self.b64 == b64encode(self.key_id.to_bytes(4, "big") + self.signature)

    def line(self) -> str:
        return f"{SIG_PREFIX}{self.name} {self.b64}\n"


@dataclass(frozen=True)
class Note:
    """A parsed signed note; text is exactly the signed bytes."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def encode(self) -> str:
        return self.text + "\n" + "".join(s.line() for s in self.signatures)


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    control = _CONTROL_RE.search(text)
    if control:
        raise NoteError(f"note text contains control character U+{ord(control.group()):04X}")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a str can hold lone surrogates, which UTF-8 cannot
            raise NoteError("note text is not valid Unicode (lone surrogate)") from None


def check_signature_name(name: str) -> str:
    """Return name if signed-note allows it as a key name: non-empty, no Unicode space, no '+'."""
    if _PLAIN_NAME_RE.match(name):
        return name
    if not name:
        raise NoteError("a signature line has an empty key name")
    if "+" in name:
        raise NoteError(f"key name {name[:80]!r} holds a '+'")
    space = next((c for c in name if c in UNICODE_SPACES), None)
    if space is not None:
        raise NoteError(f"key name {name[:80]!r} holds the space U+{ord(space):04X}")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise NoteError("a key name is not valid Unicode (lone surrogate)") from None
    return name


def decode_signature_blob(text: str) -> bytes:
    """The bytes of a signature line's base64: standard alphabet, padded.

    Padding bits need not be zero (signed-note does not ask it, and Go's decoder accepts them), but
    such a line can only be an unknown key's (``NoteSignature.canonical``).
    """
    try:
        return b64decode(text)
    except EncodingError:
        pass
    if not _PADDED_B64_RE.match(text) or not text:
        raise NoteError(f"signature is not standard padded base64: {text[:80]!r}")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as e:  # pragma: no cover - the pattern already filters
        raise NoteError(f"signature is not base64: {e}") from None


def _parse_line(line: str, number: int) -> NoteSignature:
    if not line.startswith(SIG_PREFIX):
        raise NoteError(f"signature line {number} does not start with '— '")
    rest = line[len(SIG_PREFIX) :]
    parts = rest.split(" ")
    if len(parts) != 2:
        raise NoteError(f"signature line {number}: expected '— name base64', found {rest[:80]!r}")
    name, blob_text = parts
    try:
        check_signature_name(name)
        blob = decode_signature_blob(blob_text)
    except NoteError as e:
        raise NoteError(f"signature line {number}: {e}") from None
    if len(blob) < 5:
        raise NoteError(f"signature line {number}: expected at least 5 bytes (key ID and signature), "
                        f"found {len(blob)}")
    return NoteSignature(name, int.from_bytes(blob[:4], "big"), blob[4:], blob_text)


def parse_note(data: str | bytes) -> Note:
    """Parse a signed note: keep every well-formed signature line, refuse a malformed note."""
    if isinstance(data, (bytes, bytearray)):
        if len(data) > MAX_NOTE_BYTES:
            raise NoteError(f"note is {len(data)} bytes, at most {MAX_NOTE_BYTES} are allowed")
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("note is not valid UTF-8") from None
    elif len(data) * 4 > MAX_NOTE_BYTES and len(data.encode("utf-8", "surrogatepass")) > MAX_NOTE_BYTES:
        raise NoteError(f"note is more than {MAX_NOTE_BYTES} bytes")
    split = data.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no blank line before its signatures")
    text, sig_block = data[: split + 1], data[split + 2 :]
    _check_text(text)
    if not sig_block.endswith("\n"):
        raise NoteError("signature block must end with a newline")
    control = _LINE_CONTROL_RE.search(sig_block, 0, len(sig_block) - 1)
    if control:
        raise NoteError(f"signature lines contain control character U+{ord(control.group()):04X}")
    lines = sig_block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"more than {MAX_SIGNATURES} signature lines")
    sigs = tuple(_parse_line(line, number) for number, line in enumerate(lines, 1))
    if not sigs:  # pragma: no cover - a block ending in LF holds at least one line
        raise NoteError("note has no signatures")
    return Note(text, sigs)


def check_ed25519_line(line: NoteSignature) -> bytes:
    """The Ed25519 signature of a known key's line: canonical base64 of exactly 4 + 64 bytes."""
    if len(line.signature) != ED25519_LINE_BYTES - 4:
        raise SignatureError(
            f"signature line by {line.name} ({line.key_id:08x}): expected {ED25519_LINE_BYTES} bytes "
            f"(key hash + Ed25519), found {len(line.signature) + 4}"
        )
    if not line.canonical:
        raise SignatureError(
            f"signature line by {line.name} ({line.key_id:08x}): base64 with non-zero padding bits "
            "is not canonical"
        )
    return line.signature


def sign_note(text: str, signers: Iterable[SignerKey]) -> Note:
    """Sign a note text with each key, in order."""
    _check_text(text)
    message = text.encode("utf-8")
    sigs = tuple(
        NoteSignature(k.name, k.verifier.key_id, k.sign(message)) for k in signers
    )
    if not sigs:
        raise NoteError("a note needs at least one signer")
    return Note(text, sigs)


def add_signatures(note: Note, signers: Iterable[SignerKey]) -> Note:
    """Add signatures to an already-signed note (cosigning)."""
    extra = sign_note(note.text, signers).signatures
    return Note(note.text, note.signatures + extra)


def verify_by(note: Note, key: VerifierKey) -> NoteSignature:
    """Return the one valid signature by key; raise SignatureError if there is none."""
    message = note.text.encode("utf-8")
    matching = [s for s in note.signatures if s.name == key.name and s.key_id == key.key_id]
    if not matching:
        raise SignatureError(f"no signature by {key.name} ({key.key_id:08x})")
    if len(matching) > 1:
        raise SignatureError(f"more than one signature by {key.name} ({key.key_id:08x})")
    key.verify(message, check_ed25519_line(matching[0]))
    return matching[0]


class SignatureLineLike(Protocol):
    """A signature line as ``match_signature_lines`` reads it (NoteSignature, or a lighter record)."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...


_Line = TypeVar("_Line", bound=SignatureLineLike)


def match_signatures(note: Note, keys: Sequence[VerifierKey]) -> list[NoteSignature]:
    """The one signature line of each key, in key order, with no line left over.

    Raises SignatureError when a key has no line or several, or a line belongs to no key.
    Checks no Ed25519 signature: ``verify_exactly`` does, and a verifier that runs the
    Ed25519 checks in parallel calls this first, in order.
    """
    return match_signature_lines(note.signatures, keys)


def match_signature_lines(lines: Sequence[_Line], keys: Sequence[VerifierKey]) -> list[_Line]:
    """``match_signatures`` on a note's signature lines alone."""
    matched = []
    for key in keys:
        matching = [s for s in lines if s.name == key.name and s.key_id == key.key_id]
        if not matching:
            raise SignatureError(f"no signature by {key.name} ({key.key_id:08x})")
        if len(matching) > 1:
            raise SignatureError(f"more than one signature by {key.name} ({key.key_id:08x})")
        matched.append(matching[0])
    if len(lines) != len(keys):
        wanted = {(k.name, k.key_id) for k in keys}
        extra = [s for s in lines if (s.name, s.key_id) not in wanted]
        names = ", ".join(f"{s.name} ({s.key_id:08x})" for s in extra)
        raise SignatureError(f"signature lines by keys that are not listed signers: {names}")
    return matched


def verify_exactly(note: Note, keys: Sequence[VerifierKey]) -> None:
    """Every key signed exactly once and no other signature line is present."""
    message = note.text.encode("utf-8")
    for key, signature in zip(keys, match_signatures(note, keys), strict=True):
        key.verify(message, check_ed25519_line(signature))


# ------------------------------ ledger/core/checkpoint.py -----------------------------------
# C2SP tlog-checkpoint notes (docs/FORMAT.md § 11): ``<origin>\n<size>\n<base64 root>\n``.

_SIZE_RE = re.compile(r"(0|[1-9][0-9]{0,18})\Z")


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: origin, size and root."""

    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{b64encode(self.root)}\n"


def parse_checkpoint_text(text: str) -> Checkpoint:
    """Parse the body of a checkpoint note; no extension lines are allowed."""
    lines = text.split("\n")
    if len(lines) != 4 or lines[3] != "":
        raise CheckpointFormatError(
            f"expected exactly 3 lines (origin, size, root), found {len(lines) - 1}"
        )
    return _three_lines(*lines[:3])


@dataclass(frozen=True)
class CheckpointBody:
    """Any log's checkpoint text (c2sp.org/tlog-checkpoint): origin, size, root and extension lines."""

    checkpoint: Checkpoint
    extensions: tuple[str, ...]


def parse_checkpoint_body(text: str) -> CheckpointBody:
    """Parse the text of another log's checkpoint, whose opaque extension lines are allowed.

    This ledger's own checkpoints have none (``parse_checkpoint_text``); a witness follows logs
    it did not write, and signs their extension lines with the rest (c2sp.org/tlog-cosignature).
    """
    if not text.endswith("\n"):
        raise CheckpointFormatError("checkpoint text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointFormatError(f"expected at least 3 lines (origin, size, root), found {len(lines)}")
    if any(not line for line in lines[3:]):
        raise CheckpointFormatError("a checkpoint's extension lines must not be empty")
    return CheckpointBody(_three_lines(*lines[:3]), tuple(lines[3:]))


def _three_lines(origin: str, size_text: str, root_text: str) -> Checkpoint:
    if not origin:
        raise CheckpointFormatError("checkpoint origin is empty")
    if not _SIZE_RE.match(size_text):
        raise CheckpointFormatError(f"expected a decimal tree size, found {size_text[:40]!r}")
    root = b64decode(root_text)
    if len(root) != 32:
        raise CheckpointFormatError(f"expected a 32-byte root, found {len(root)} bytes")
    return Checkpoint(origin, int(size_text), root)


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint with its signed note."""

    checkpoint: Checkpoint
    note: Note

    def encode(self) -> str:
        return self.note.encode()


def sign_checkpoint(checkpoint: Checkpoint, keys: Sequence[SignerKey]) -> SignedCheckpoint:
    """Sign a checkpoint with the checkpoint key(s); each key name must equal the origin."""
    for key in keys:
        if key.name != checkpoint.origin:
            raise CheckpointFormatError(
                f"checkpoint key name must equal origin {checkpoint.origin!r}, found {key.name!r}"
            )
    return SignedCheckpoint(checkpoint, sign_note(checkpoint.text(), keys))


def open_checkpoint(data: str | bytes, trust_root: VerifierKey) -> SignedCheckpoint:
    """Parse a signed checkpoint and verify it against the trust root (other signatures are ignored)."""
    note = parse_note(data)
    checkpoint = parse_checkpoint_text(note.text)
    if checkpoint.origin != trust_root.name:
        raise SignatureError(
            f"checkpoint origin {checkpoint.origin!r} differs from the trust root's name {trust_root.name!r}"
        )
    verify_by(note, trust_root)
    return SignedCheckpoint(checkpoint, note)


def open_with_any(data: str | bytes, keys: Sequence[VerifierKey]) -> SignedCheckpoint:
    """Open a checkpoint signed by at least one of several keys (a rotation's overlap)."""
    errors = []
    for key in keys:
        try:
            return open_checkpoint(data, key)
        except (SignatureError, CheckpointFormatError) as e:
            errors.append(str(e))
    raise SignatureError("checkpoint verifies with none of the keys: " + "; ".join(errors))


# ------------------------------ ledger/core/cosignature.py ----------------------------------
# Witness cosignatures, c2sp.org/tlog-cosignature ``cosignature/v1`` (Ed25519, signature type 0x04).
#
# A cosigner signs ``cosignature/v1\ntime <T>\n`` followed by the checkpoint's whole note text (its
# extension lines included); its signature line is ``— <name> base64(key ID || T (8 bytes, big-endian)
# || Ed25519 signature (64))``, 76 bytes, with key ID = SHA-256(name || 0x0A || 0x04 || public key)[:4].
# The name is not signed, so one public key must serve one cosigner only.
#
# ML-DSA-44 cosignatures (type 0x06) are recognised but not verified: PyNaCl has no ML-DSA. Their lines
# are ignored like any unknown key's, and a policy naming such a witness is refused as unsupported.

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


# ------------------------------ ledger/core/plain.py ----------------------------------------
# Plain words for a verification's result: what a court's expert can repeat to a judge.
#
# Every check of the verifier fails with a technical reason ("export line index out of
# sequence (expected 19, found 20)"), which stays in the report as the detail. This module
# says the same thing plainly ("entry 19 is missing: the export goes from entry 18 to entry
# 20"), using the facts that ledger.core.diagnosis gathers from the files when a check fails.
# The verifier's wording is here and in ledger.core.plain_files (the kinds of file it
# recognises, and what it says of a file given as the wrong kind): the messages of
# failures, what each result means, and what a run leaves unchecked.

@dataclass
class Facts:
    """What the files say about a failure beyond its technical reason (None: not known)."""

    # An entry out of sequence: where its expected index appears, what the line at the found
    # index's position holds, where the found index first appears, and whether every index
    # from the expected one up to the found one is absent.
    expected_at: int | None = None
    found_position_holds: int | None = None
    found_first_at: int | None = None
    gap_absent: bool = False
    # A signature that does not verify: could no Ed25519 key have made it; do the other
    # signatures on the same text verify (None: there are none, or their keys are unknown);
    # does the next entry link to this entry as it is (None: there is no next entry).
    impossible_signature: bool = False
    others_verify: bool | None = None
    next_links: bool | None = None


# ---- failures -------------------------------------------------------------------------
CRLF = "the file has Windows line endings (CRLF): it was re-saved by an editor"
BOM = "the file starts with a byte order mark (BOM): it was re-saved by an editor"


def explain(index: int | None, reason: str, facts: Facts | None = None) -> str:
    """The plain message for a failure: entry ``index`` (or none) failed with ``reason``."""
    facts = facts or Facts()
    for pattern, say in _RULES:
        match = pattern.search(reason)
        if match is not None:
            text = say(index, match, facts)
            if text is not None:
                return text
    if index is not None:
        return f"entry {index} fails a check: {reason}"
    return reason


def _ordinal_line(position: int) -> str:
    return f"line {position + 1} of the export"


def _names(text: str) -> list[str]:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


_JSON_KINDS = {"str": "text", "int": "a number", "list": "a list", "bool": "true or false"}


def _listing(items: list[str]) -> str:
    return ", ".join(items) if items else "none"


def _sequence(i: int | None, m: re.Match[str], f: Facts) -> str | None:
    expected, found = int(m["expected"]), int(m["found"])
    before = f"the export goes from entry {expected - 1} to entry {found}" if expected else (
        f"the export starts with entry {found}")
    if found > expected and f.expected_at is None:
        if f.gap_absent and found - expected == 2:
            return f"entries {expected} and {found - 1} are missing: {before}"
        if f.gap_absent and found - expected > 2:
            return f"entries {expected} to {found - 1} are missing: {before}"
        return f"entry {expected} is missing: {before}"
    if found < expected and f.found_first_at is not None and f.found_first_at < expected:
        return (f"entry {found} appears twice in the export: on lines {f.found_first_at + 1} and {expected + 1}, the "
                f"second where entry {expected} belongs")
    if f.expected_at is not None and f.expected_at == found and f.found_position_holds == expected:
        return (f"entries {expected} and {found} are swapped: the export holds entry {found} where entry {expected} "
                f"belongs, and entry {expected} where entry {found} belongs")
    if f.expected_at is not None:
        return (f"entry {expected} is out of place: the export holds entry {found} where entry {expected} belongs, "
                f"and entry {expected} on {_ordinal_line(f.expected_at)}")
    return f"the export holds entry {found} where entry {expected} belongs"


def _signature(i: int | None, m: re.Match[str], f: Facts) -> str:
    name = m["name"]
    if i is None:  # a checkpoint
        what = m.string.split(":", 1)[0] if m.string.startswith("previous checkpoint") else "checkpoint"
        if f.impossible_signature:
            return f"the {what}'s signature was altered: it is not a signature any Ed25519 key could produce"
        return (f"the {what} is not what the key {name} signed: its text (origin, size or root) was changed after "
                "it was signed, or its signature was altered")
    if f.impossible_signature:
        return (f"the signature by {name} on entry {i} was altered: it is not a signature any Ed25519 key could "
                "produce")
    if f.others_verify:
        return (f"the signature by {name} on entry {i} is wrong: the other signers' signatures on the same content "
                "verify, so the content is what they signed")
    if f.next_links is False:
        return (f"the content of entry {i} differs from what its signer signed: the entry was changed after it was "
                f"recorded (entry {i + 1} links to a different entry {i}), and the signature by {name} does not "
                "match it")
    return (f"entry {i} does not carry a valid signature by {name}: its content was changed after {name} signed it, "
            "or the signature itself was altered (nothing in the files tells which)")


def _signers_mismatch(i: int | None, m: re.Match[str], f: Facts) -> str | None:
    if i is None:
        return None
    lines, listed = _names(m["lines"]), _names(m["listed"])
    for name in sorted(set(lines)):
        if lines.count(name) > 1 and name in listed:
            return f"entry {i} carries {lines.count(name)} signatures by {name}, who may sign it only once"
    extra = [n for n in lines if n not in listed]
    if extra:
        return (f"entry {i} carries a signature by {_listing(extra)}, who is not listed among its signers "
                f"({_listing(listed)})")
    missing = [n for n in listed if n not in lines]
    if missing:
        return f"entry {i} has no signature by {_listing(missing)}, who is listed as its signer"
    return None


def _missing_tail(i: int | None, m: re.Match[str], f: Facts) -> str:
    have, want = int(m["have"]), int(m["want"])
    after = f"the export ends after entry {have - 1}" if have else "the export holds no entry"
    tail = f"{after}, but the checkpoint commits to {want} entries"
    if want - have == 1:
        return f"entry {have} is missing: {tail}"
    if want - have == 2:
        return f"entries {have} and {have + 1} are missing: {tail}"
    return f"entries {have} to {want - 1} are missing: {tail}"


def _base64(i: int | None, m: re.Match[str], f: Facts) -> str | None:
    if i is None:
        return None
    detail = m["detail"]
    if "padding bits" in detail:
        how = "its padding bits were altered (it decodes to the same bytes, but is not the ledger's encoding)"
    elif "\\n" in detail or "\n" in detail:
        how = "a line break was put inside it"
    else:
        how = "it holds characters that are not base64"
    return f"the base64 encoding of entry {i} was edited: {how}"


def _prev_broken(i: int) -> str:
    return (f"the chain of entries is broken at entry {i}: it does not link to entry {i - 1} as given "
            f"(entry {i - 1} was changed, or entries were removed, inserted or re-linked)")


def _role(i: int | None, m: re.Match[str], f: Facts) -> str | None:
    if i is None:
        return None
    roles = _listing(_names(m["roles"]))
    return (f"entry {i} is a {m['type']} statement signed by {m['name']}, whose roles ({roles}) the log's policy "
            f"does not allow to sign it (it needs: {_listing(_names(m['needs']))})")


def _literal(text: str) -> Callable[[int | None, re.Match[str], Facts], str | None]:
    """A fixed sentence; one about an entry says nothing when the failure names none."""
    about_entry = any(f"{{{name}}}" in text for name in ("i", "lineno", "line"))

    def say(i: int | None, m: re.Match[str], f: Facts) -> str | None:
        if about_entry and i is None:
            return None
        return text.format(i=i, lineno=(i or 0) + 1, line=_ordinal_line(i or 0), **m.groupdict())

    return say


_RULES: list[tuple[re.Pattern[str], Callable[[int | None, re.Match[str], Facts], str | None]]] = [
    (re.compile(r"^export line index out of sequence \(expected (?P<expected>\d+), found (?P<found>\d+)\)"),
     _sequence),
    (re.compile(r"^entry index out of sequence \(expected (?P<expected>\d+), found (?P<found>\d+)\)"),
     _literal("entry {expected} is numbered {found} inside its own bytes: the entry and its line in the export "
              "disagree about its position (it was renumbered)")),
    (re.compile(r"^export line ends with CR LF"), _literal(CRLF)),
    (re.compile(r"^export line starts with a byte order mark"), _literal(BOM)),
    (re.compile(r"^blank line in the export"), _literal("{line}, where entry {i} belongs, is empty")),
    (re.compile(r"^export line does not end with LF"),
     _literal("the export is cut off in the middle of its line {lineno}, where entry {i} begins: the file is "
              "incomplete")),
    (re.compile(r"^export line is longer than"),
     _literal("{line} is longer than any entry's line can be: it is not an entry")),
    (re.compile(r"^export line is not canonical JSON: not JSON"),
     _literal("{line}, where entry {i} belongs, is not an entry: it is not JSON")),
    (re.compile(r"^export line is not canonical JSON"),
     _literal("{line} (entry {i}) is not written exactly as the ledger writes it (RFC 8785 canonical JSON): it was "
              "re-formatted or edited")),
    (re.compile(r"^export line (must be|index must be|entry_b64 must be)"),
     _literal("{line} is not an export line of the ledger's form, where entry {i} belongs")),
    (re.compile(r"entry_b64 is not strict base64: (?P<detail>.*)", re.DOTALL), _base64),
    (re.compile(r"^malformed entry: entry is (?P<size>\d+) bytes, at most (?P<limit>\d+)"),
     _literal("entry {i} is {size} bytes, larger than any entry can be (at most {limit})")),
    (re.compile(r"^malformed entry: not canonical"),
     _literal("entry {i} is not written exactly as the ledger writes entries (RFC 8785 canonical JSON): it was "
              "re-encoded or edited after it was recorded")),
    (re.compile(r"^malformed entry: expected YYYY-MM-DDTHH:MM:SS\.ffffffZ, found (?P<found>.*)"),
     _literal("entry {i}'s recording time {found} is not written in the ledger's time format "
              "(YYYY-MM-DDTHH:MM:SS.ffffffZ)")),
    (re.compile(r"^malformed (entry|statement): .*not NFC-normalised"),
     _literal("entry {i} holds text that is not in Unicode normal form (NFC), which the ledger never writes: it "
              "was re-encoded or edited")),
    (re.compile(r"^malformed entry: (?P<detail>.*)"), _literal("entry {i} is not a well-formed entry: {detail}")),
    (re.compile(r"^malformed statement: note has no (blank line before its )?signatures"),
     _literal("entry {i}'s statement carries no signature")),
    (re.compile(r"^malformed statement: signature lines (?P<lines>\[.*\]) do not match the listed signers "
                r"(?P<listed>\[.*\])"), _signers_mismatch),
    (re.compile(r"^malformed statement: signature line \d+: expected 68 bytes .*found (?P<found>\d+)"),
     _literal("a signature on entry {i} is cut short or damaged ({found} bytes where a signature line holds 68)")),
    (re.compile(r"^malformed statement: statement is (?P<size>\d+) bytes, at most (?P<limit>\d+)"),
     _literal("entry {i}'s statement is {size} bytes, larger than any statement can be (at most {limit})")),
    (re.compile(r"^malformed statement: floats are not allowed, found (?P<value>.*)"),
     _literal("entry {i}'s statement holds a number with a fraction ({value}), which the ledger's format forbids")),
    (re.compile(r"^malformed statement: duplicate object key (?P<key>.*)"),
     _literal("entry {i}'s statement gives the field {key} twice, which the ledger's format forbids (readers could "
              "see different values)")),
    (re.compile(r"^malformed statement: (?P<detail>.*)"),
     _literal("entry {i}'s statement is not in the ledger's format: {detail}")),
    (re.compile(r"^(previous checkpoint: |checkpoint: )?signature by (?P<name>\S+) \([0-9a-f]{8}\) does not verify"),
     _signature),
    (re.compile(r"^checkpoint: no signature by (?P<name>\S+) \((?P<id>[0-9a-f]{8})\)"),
     _literal("the checkpoint carries no signature by the trust root (the key {id} of {name})")),
    (re.compile(r"^no signature by (?P<name>\S+) \((?P<id>[0-9a-f]{8})\)"),
     _literal("entry {i} is signed under the name {name}, but not with {name}'s registered key ({id})")),
    (re.compile(r"^more than one signature by (?P<name>\S+) "),
     _literal("entry {i} carries more than one signature by {name}")),
    (re.compile(r"^checkpoint: expected exactly 3 lines \(origin, size, root\), found (?P<found>\d+)"),
     _literal("the checkpoint's signed text has {found} lines where the ledger writes 3 (origin, size, root)")),
    (re.compile(r"^checkpoint: note has no (blank line before its )?signatures"),
     _literal("the checkpoint carries no signature")),
    (re.compile(r"^checkpoint: checkpoint origin (?P<origin>.*) differs from the trust root's name (?P<name>.*)"),
     _literal("the checkpoint is for the log {origin}, but the trust root is a key of {name}: they belong to "
              "different logs")),
    (re.compile(r"^previous checkpoint: checkpoint verifies with none of the keys"),
     _literal("the previous checkpoint is signed by none of the log's checkpoint keys")),
    (re.compile(r"^prev does not link to the previous entry"), lambda i, m, f: None if i is None else _prev_broken(i)),
    (re.compile(r"^recorded_at decreases \(expected '>= (?P<before>[^']*)', found '(?P<at>[^']*)'\)"),
     lambda i, m, f: None if i is None else (f"entry {i} is recorded at {m['at']}, earlier than entry {i - 1} "
                                             f"({m['before']}): recording times never go back")),
    (re.compile(r"^the export ends after (?P<have>\d+) entries but the checkpoint commits to (?P<want>\d+)"),
     _missing_tail),
    (re.compile(r"^trust\.unknown_key: no key is registered for (?P<name>\S+) at entry"),
     _literal("entry {i} is signed by {name}, who has no registered key at that point in the log")),
    (re.compile(r"^trust\.revoked_key: the key of (?P<name>\S+) was revoked"),
     _literal("entry {i} is signed by {name}, whose key had been revoked before it")),
    (re.compile(r"^trust\.role: (?P<name>\S+) has roles (?P<roles>\[.*\]); (?P<type>\S+) needs one of "
                r"(?P<needs>\[.*\])"), _role),
    (re.compile(r"^trust\.role: the ledger role cannot be registered"),
     _literal("entry {i} registers a key with the ledger's own role, which no principal may hold")),
    (re.compile(r"^trust\.role: ledger_key_rotation needs an administrator's signature"),
     _literal("entry {i} replaces the ledger's keys without an administrator's signature")),
    (re.compile(r"^trust\.role: blocked entries are signed by the ledger alone"),
     _literal("entry {i} is a 'blocked' entry that is not signed by the ledger alone")),
    (re.compile(r"^trust\.role: (?P<type>\S+) needs an administrator's signature too"),
     _literal("entry {i} ({type}) has no administrator's signature")),
    (re.compile(r"^trust\.proof_of_possession:"),
     _literal("entry {i} registers a key without a signature by that key: nothing shows that its holder has it "
              "(no proof of possession)")),
    (re.compile(r"^trust\.genesis: entry 0 must be genesis, found (?P<type>\S+)"),
     _literal("the log does not begin with its genesis entry: entry 0 is a {type} statement")),
    (re.compile(r"^trust\.genesis: genesis is only allowed at entry 0"),
     _literal("entry {i} is a second genesis entry: only entry 0 may be one")),
    (re.compile(r"^trust\.type: statement type (?P<type>.*) is not in the policy"),
     _literal("entry {i} is a {type} statement, a type the log's policy does not allow")),
    (re.compile(r"^trust\.expired: statement expired: not_after (?P<until>\S+) is before (?P<at>\S+)"),
     _literal("entry {i}'s statement had expired when it was recorded: valid until {until}, recorded at {at}")),
    (re.compile(r"^trust\.future: statement issued in the future: (?P<issued>\S+) vs (?P<at>\S+)"),
     _literal("entry {i} was recorded at {at}, before its statement was issued ({issued}; more than the 5 minutes "
              "of clock difference allowed)")),
    (re.compile(r"^trust\.key_reuse:"),
     _literal("entry {i} registers a public key that is already registered")),
    (re.compile(r"^trust\.name_taken: (?P<name>\S+) already has a valid key"),
     _literal("entry {i} registers a second key for {name}, who already has a valid one")),
    (re.compile(r"^(?P<rule>trust\.[a-z_]+): (?P<detail>.*)"),
     _literal("entry {i} breaks a rule of the log's trust model ({rule}): {detail}")),
    (re.compile(r"^the RFC 6962 root of the first (?P<size>\d+) entries is (?P<root>[0-9a-f]+), the checkpoint's "
                r"root is (?P<want>[0-9a-f]+)"),
     _literal("the export is not the log the checkpoint commits to: the hash of its first {size} entries differs "
              "from the checkpoint's root (entries were changed, removed, inserted or reordered and the chain "
              "rebuilt, or the checkpoint is of another log)")),
    (re.compile(r"^the log's origin \(genesis\) is (?P<log>.*), the checkpoint's is (?P<cp>.*)"),
     _literal("the export is the log {log}, but the checkpoint is for the log {cp}")),
    (re.compile(r"^the trust root .* is not one of the log's checkpoint keys"),
     _literal("the trust root is not a checkpoint key that the log itself names (in its genesis entry or a "
              "ledger key rotation): the checkpoint was signed by a key the log never declared")),
    (re.compile(r"^previous checkpoint: the export's root at size (?P<size>\d+) .*rewritten or forked"),
     _literal("the export does not extend the previous checkpoint: its first {size} entries differ from those the "
              "previous checkpoint commits to, so the log was rewritten or forked after it was signed")),
    (re.compile(r"^previous checkpoint: size (?P<old>\d+) is larger than the checkpoint's (?P<new>\d+)"),
     _literal("the previous checkpoint ({old} entries) is larger than the checkpoint ({new} entries): they were "
              "given in the wrong order, or the log was rolled back")),
    (re.compile(r"^previous checkpoint: origin (?P<old>.*) differs from (?P<new>.*)"),
     _literal("the previous checkpoint is for the log {old}, the checkpoint for {new}")),
    (re.compile(r"^consistency proof (?P<which>old_root|new_root) differs"),
     _literal("the consistency proof is not about these checkpoints: its {which} is not their root")),
    (re.compile(r"^consistency proof: (?P<which>old|new) root mismatch"),
     lambda i, m, f: ("the consistency proof does not show that the checkpoint extends the previous one: its path "
                      f"does not lead to the {'previous ' if m['which'] == 'old' else ''}checkpoint's root")),
    (re.compile(r"^consistency proof: (?P<detail>.*)"),
     _literal("the consistency proof does not show that the checkpoint extends the previous one: {detail}")),
    (re.compile(r"^inclusion proof: root mismatch"),
     _literal("the inclusion proof does not show that entry {i} is in the log the checkpoint commits to: its path "
              "does not lead to the checkpoint's root")),
    (re.compile(r"^inclusion proof: (?P<detail>.*)"),
     _literal("the inclusion proof does not show that entry {i} is in the log the checkpoint commits to: {detail}")),
    (re.compile(r"^the entry is entry (?P<entry>\d+), the proof is for entry (?P<proof>\d+)"),
     _literal("the entry given is entry {entry}, but the inclusion proof is for entry {proof}")),
    (re.compile(r"^inclusion proof leaf_hash is not the hash of the entry"),
     _literal("the inclusion proof is for other bytes than the entry given (its leaf hash differs)")),
    (re.compile(r"^(?P<what>checkpoint|previous checkpoint): (?P<detail>.*)"),
     _literal("the {what} is not a well-formed signed checkpoint: {detail}")),
    (re.compile(r"^(?P<where>key_registration|genesis administrator): attributes must be an object, found "
                r"(?P<found>\S+)"),
     lambda i, m, f: None if i is None else (f"entry {i} gives the key's attributes as "
                                             f"{_JSON_KINDS.get(m['found'], m['found'])}, where the format requires "
                                             "an object")),
    (re.compile(r"^genesis body\.(?P<field>court_clerks|agency_officials)(?P<detail>.*)"),
     lambda i, m, f: (f"the genesis entry names the log's {m['field'].replace('_', ' ')} in a form the format does not "
                      f"allow ({m['field']}{m['detail']})")),
    (re.compile(r"^unexpected error"),
     _literal("the verifier could not check entry {i} (an unexpected error, please report it): the log is not "
              "shown valid")),
]


# ---- what was not checked ------------------------------------------------------------------
def not_checked(what: str, *, previous: bool, openings: bool, witnesses: bool = False) -> list[str]:
    """What a run of ``what`` ("export", "bundle", "proofs") leaves unchecked (docs/VERIFYING.md § 3);
    ``witnesses``: a witness policy was given (--policy), so the cosignatures are checked."""
    out = []
    if what == "proofs":
        out.append("the entries themselves: no export was given, so only the checkpoint and the proofs given were "
                   "checked")
    if what == "bundle":
        out.append("that no entry was left out of the bundle: only the full export shows that every entry up to "
                   "the checkpoint's size was checked")
    if not previous and what == "export":
        out.append("consistency with an older checkpoint held by another party (--previous-checkpoint): one "
                   "checkpoint alone cannot rule out a split view, two logs shown to two parties")
    if not witnesses:
        out.append("witness cosignatures on the checkpoint")
    out += [
        "that statement ids are unique (the service refuses duplicates when appending)",
        "the bodies of § 6103 statements and whether a disclosure was lawful (the rules engine's and the audit "
        "projections' job)",
    ]
    if not openings:
        out.append("the openings of the salted commitments (names, TINs, addresses): they are in the sealed store, "
                   "not in the files checked")
    out.append("the retirement of old checkpoint keys: a checkpoint key the log once named stays acceptable as trust "
               "root")
    return out


# ---- what a result means ----------------------------------------------------------------
def meaning(exit_status: int, index: int | None, what: str = "export", committed: int | None = None,
            uncommitted: int | None = None) -> str:
    """What a result means, in the words of docs/VERIFYING.md, "What to say in court".

    ``what`` is what was verified: "export", "bundle", or "proofs" (a checkpoint and proofs alone).
    """
    if exit_status == 0:
        if what == "proofs":
            return ("Every check that was run holds: the checkpoint is signed by the trust root, and each proof given "
                    "verifies against it. No entry was checked but the one an inclusion proof names.")
        if what == "bundle":
            return (f"Every check holds: each entry of the bundle is in the log of {committed} entries that the "
                    "checkpoint commits to, unchanged, and was signed by the people it names with keys the log gave "
                    "them at that point. A bundle cannot show that no entry was left out of it; the full export can.")
        text = (f"Every check holds: the export is exactly the log of {committed} entries that the checkpoint commits "
                "to. Nothing in it was changed, removed, inserted or reordered, and every statement in it was signed "
                "by the people it names, with keys the log gave them at that point.")
        if uncommitted:
            text += (f" The last {uncommitted} entries are verified the same way but not yet committed to by the "
                     "checkpoint; a later checkpoint must cover them.")
        return text
    if exit_status == 1 and index is not None:
        return (f"The files are not an intact copy of the log the checkpoint commits to. The verification stopped at "
                f"the first entry that fails, entry {index}, for the reason given; the entries before it passed the "
                "checks made entry by entry.")
    if exit_status == 1:
        return ("The files do not hold together: the checkpoint, the export and the proofs given are not shown to be "
                "the same log, for the reason given.")
    return ("The verification could not be run: an argument is wrong, or a file is missing, unreadable or of the "
            "wrong kind. Nothing is said about the log.")


# ------------------------------ ledger/core/plain_files.py ----------------------------------
# Plain words about the verifier's input files: the kinds of file it recognises (from
# ledger.core.diagnosis.file_kind), and what it says, as a usage error (exit 2), of a file given
# as the wrong kind or changed outside what is signed. The rest of the wording is ledger.core.plain's.

# ---- kinds of file --------------------------------------------------------------------
KIND_NAMES = {
    "export": "an export (JSON Lines of entries)",
    "export-line": "one line of an export",
    "entry": "a single entry",
    "checkpoint": "a checkpoint",
    "vkey": "a verifier key (a trust root)",
    "signer-key": "a private signing key (keep it secret: it is not a verifier key)",
    "statement": "a signed statement",
    "inclusion-proof": "an inclusion proof",
    "consistency-proof": "a consistency proof",
    "bundle-json": "an evidence bundle's bundle.json",
    "bundle-proofs": "an evidence bundle's proofs.jsonl",
    "bundle-openings": "an evidence bundle's openings.jsonl",
    "bundle-entries": "an evidence bundle's entries.jsonl",
    "bundle": "an evidence bundle folder",
    "folder": "a folder",
    "report": "a verification report",
    "decoded": "a decoded companion of an export (a reading aid, not the export)",
    "empty": "an empty file",
    "policy": "a witness policy (c2sp.org/tlog-policy)",
}


def wrong_kind(flag: str, path: str, kind: str, wanted: str) -> str:
    """The usage error for a file of the wrong kind: what it is, what was expected, what to do."""
    what = "folder" if kind in ("bundle", "folder") else "file"
    text = f"the {what} given as {flag} ({path}) is {KIND_NAMES[kind]}, not {KIND_NAMES[wanted]}"
    hint = _WRONG_KIND_HINTS.get((flag, kind))
    if hint is None and kind == "bundle":
        hint = f"check an evidence bundle with --bundle {path}"
    if hint is None and kind == "bundle-entries":
        hint = "check an evidence bundle with --bundle FOLDER"
    return f"{text}: {hint}" if hint else text


_WRONG_KIND_HINTS = {
    ("--checkpoint", "export"): "were --checkpoint and --export swapped?",
    ("--export", "checkpoint"): "were --checkpoint and --export swapped?",
    ("--vkey", "checkpoint"): "--vkey takes the ledger's published verifier key (one line: name+id+key)",
    ("--checkpoint", "vkey"): "were --vkey and --checkpoint swapped?",
    ("--entry", "export"): "give the entry's line alone, or what `disclosure-ledger entry N` prints",
    ("--inclusion-proof", "consistency-proof"): "give it with --previous-checkpoint and --consistency-proof",
    ("--consistency-proof", "inclusion-proof"): "give it with --inclusion-proof and --entry",
}


DAMAGE = {
    "crlf": "has Windows line endings (CRLF): it was re-saved by an editor",
    "bom": "starts with a byte order mark (BOM): it was re-saved by an editor",
    "no-final-newline": "lacks the newline that ends its last line: it was edited",
    "extra-line": "has an extra line after its signatures ({where}): it was edited",
}


def altered_file(flag: str, path: str, damage: str, line: int | None = None, text: str | None = None) -> str:
    """The usage error for a file of the right kind changed outside what is signed (DAMAGE's keys)."""
    where = f"line {line}, empty" if not text else f"line {line}: {text[:40]!r}"
    return f"the file given as {flag} ({path}) {DAMAGE[damage].format(where=where)}; use the file the ledger wrote"


# ------------------------------ ledger/core/proofs.py ---------------------------------------
# Inclusion and consistency proofs exactly as RFC 9162 § 2.1.3–2.1.4.
#
# Generation needs only MTH of subtrees [a, b), which the caller supplies through a
# ``range_hash`` function; verification is pure.

RangeHash = Callable[[int, int], bytes]


def inclusion_path(index: int, size: int, range_hash: RangeHash) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 6962 § 2.1.1."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is outside a tree of size {size}")
    path: list[bytes] = []

    def walk(m: int, lo: int, hi: int) -> None:
        n = hi - lo
        if n == 1:
            return
        k = split_point(n)
        if m < k:
            walk(m, lo, lo + k)
            path.append(range_hash(lo + k, hi))
        else:
            walk(m - k, lo + k, hi)
            path.append(range_hash(lo, lo + k))

    walk(index, 0, size)
    return path


def consistency_path(old_size: int, new_size: int, range_hash: RangeHash) -> list[bytes]:
    """PROOF(old_size, D[0:new_size]) of RFC 6962 § 2.1.2."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"cannot prove size {old_size} consistent with size {new_size}")
    if old_size == 0 or old_size == new_size:
        return []
    path: list[bytes] = []

    def subproof(m: int, lo: int, hi: int, complete: bool) -> None:
        n = hi - lo
        if m == n:
            if not complete:
                path.append(range_hash(lo, hi))
            return
        k = split_point(n)
        if m <= k:
            subproof(m, lo, lo + k, complete)
            path.append(range_hash(lo + k, hi))
        else:
            subproof(m - k, lo + k, hi, False)
            path.append(range_hash(lo, lo + k))

    subproof(old_size, 0, new_size, True)
    return path


def _check_hashes(path: Sequence[bytes], what: str) -> None:
    for i, h in enumerate(path):
        if not isinstance(h, (bytes, bytearray)) or len(h) != 32:
            raise ProofError(f"{what}[{i}] is not a 32-byte hash")


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    """RFC 9162 § 2.1.3.2: the root implied by an inclusion proof."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is outside a tree of size {size}")
    _check_hashes([leaf, *path], "inclusion proof")
    fn, sn = index, size - 1
    r = leaf
    for p in path:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree allows")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree requires")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes) -> None:
    """Raise unless path proves leaf at index in the tree of size with root."""
    calculated = root_from_inclusion(index, size, leaf, path)
    if calculated != root:
        raise RootMismatchError(root, calculated)


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, path: Sequence[bytes]
) -> None:
    """RFC 9162 § 2.1.4.2: raise unless path proves old tree is a prefix of the new."""
    _check_hashes([old_root, new_root, *path], "consistency proof")
    if not 0 <= old_size <= new_size:
        raise ProofError(f"old size {old_size} is larger than new size {new_size}")
    if old_size == new_size:
        if path:
            raise ProofError("consistency proof between equal sizes must be empty")
        if old_root != new_root:
            raise RootMismatchError(new_root, old_root)
        return
    if old_size == 0:
        if path:
            raise ProofError("consistency proof from the empty tree must be empty")
        return
    if not path:
        raise ProofError("consistency proof is empty")
    proof = list(path)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is the first node
        proof.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than the trees allow")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than the trees require")
    if fr != old_root:
        raise RootMismatchError(old_root, fr, "old root")
    if sr != new_root:
        raise RootMismatchError(new_root, sr, "new root")


# ------------------------------ ledger/core/lines.py ----------------------------------------
# Bulk statements: line commitments, the manifest's root, and where a line sits (FORMAT § 17.7).
#
# A bulk statement (a request naming 1.3 million taxpayers, its match results, its review, its
# release) is a manifest holding ``{"line_count", "chunk_count", "lines_root"}`` plus ``chunk``
# statements of ``CHUNK_LINES`` items each. An item's *line commitment* is the RFC 6962 leaf hash
# of its canonical JSON; ``lines_root`` is the RFC 6962 root over all of them. Because
# ``CHUNK_LINES`` is a power of two, chunk *c* is a complete subtree of that tree, so the ordinary
# inclusion path of item *k* is the path inside its chunk followed by the chunk's path in the root.

CHUNK_LINES = 128  # a power of two: a chunk is a complete subtree of the manifest's tree
BULK_KINDS = ("request", "match_result", "review", "release")


def chunk_count(line_count: int) -> int:
    """How many chunks carry ``line_count`` items."""
    return -(-line_count // CHUNK_LINES)


def item_leaf(item: Any, parsed: bool = False) -> bytes:
    """The line commitment of one item: SHA-256(0x00 || JCS(item)).

    ``parsed``: the item was read from a document parse_canonical accepted (a chunk from the log or
    a bundle), so it is encoded without being checked a second time. A principal's own new items
    are checked here, before a manifest's root is computed over them and the manifest is sent.
    """
    return leaf_hash(canonical_bytes_of_checked(item) if parsed else canonical_bytes(item))


class LinesTree:
    """Builds ``lines_root`` incrementally, chunk by chunk, and keeps each chunk's subtree root.

    Only the chunk roots are kept: every chunk but the last is a complete subtree, so the root over
    the lines is the root over the chunk roots (:func:`root_of_chunks`), and each line is hashed
    into a tree once, inside its chunk."""

    def __init__(self) -> None:
        self.chunk_roots: list[bytes] = []
        self._size = 0

    @property
    def size(self) -> int:
        return self._size

    def add_chunk(self, leaves: Sequence[bytes]) -> None:
        self.chunk_roots.append(self._next_root(leaves))
        self._size += len(leaves)

    def root(self) -> bytes:
        return root_of_chunks(self.chunk_roots)

    def root_with(self, leaves: Sequence[bytes]) -> bytes:
        """The root once one more chunk of ``leaves`` is added, the tree left as it is."""
        return root_of_chunks([*self.chunk_roots, self._next_root(leaves)])

    def _next_root(self, leaves: Sequence[bytes]) -> bytes:
        if self._size % CHUNK_LINES:
            raise ProofError("only the last chunk may hold fewer than CHUNK_LINES items")
        return chunk_root(leaves)


def _root_over(hashes: Sequence[bytes]) -> bytes:
    """RFC 6962 root of a list of hashes taken as leaf hashes (a chunk's line commitments, or
    every chunk's subtree root)."""
    frontier = Frontier()
    for h in hashes:
        frontier.append(h)
    return frontier.root()


def chunk_root(leaves: Sequence[bytes]) -> bytes:
    """The subtree root of one chunk's line commitments (what ``LinesTree`` keeps per chunk)."""
    if not 0 < len(leaves) <= CHUNK_LINES:
        raise ProofError(f"a chunk holds 1 to {CHUNK_LINES} items, found {len(leaves)}")
    return _root_over(leaves)


def root_of_chunks(chunk_roots: Sequence[bytes]) -> bytes:
    """``lines_root`` from every chunk's subtree root, in order: because every chunk but the last
    is full and CHUNK_LINES is a power of two, the tree over the chunk roots is the upper part of
    the tree over the lines (the same fact ``line_path`` rests on)."""
    return _root_over(chunk_roots)


def lines_root(leaves: Sequence[bytes]) -> bytes:
    tree = LinesTree()
    for start in range(0, len(leaves), CHUNK_LINES):
        tree.add_chunk(leaves[start:start + CHUNK_LINES])
    return tree.root()


def line_path(k: int, chunk_leaves: Sequence[bytes], chunk_roots: Sequence[bytes], line_count: int) -> list[bytes]:
    """The RFC 6962 inclusion path of item ``k`` in the manifest's tree.

    Needs only the leaves of item k's own chunk and every chunk's subtree root: the path inside
    the chunk, then the chunk's path among the chunk roots (a tree of chunk roots is the upper
    part of the manifest's tree because every chunk but the last is full).
    """
    if not 0 <= k < line_count:
        raise ProofError(f"line {k} is outside a bulk statement of {line_count} lines")
    c, pos = divmod(k, CHUNK_LINES)
    if len(chunk_roots) != chunk_count(line_count):
        raise ProofError(f"{len(chunk_roots)} chunk roots for {line_count} lines")
    inner = inclusion_path(pos, len(chunk_leaves), _ranges(chunk_leaves))
    outer = inclusion_path(c, len(chunk_roots), _ranges(chunk_roots))
    return inner + outer


def verify_line(k: int, line_count: int, item: Any, path: Sequence[bytes], root: bytes) -> None:
    """Check that ``item`` is line ``k`` of the bulk statement whose ``lines_root`` is ``root``."""
    verify_inclusion(k, line_count, item_leaf(item), path, root)


def _ranges(hashes: Sequence[bytes]) -> Any:
    cache: dict[tuple[int, int], bytes] = {}

    def range_hash(a: int, b: int) -> bytes:
        if b - a == 1:
            return hashes[a]
        got = cache.get((a, b))
        if got is None:
            k = 1
            while k << 1 < b - a:
                k <<= 1
            got = cache[(a, b)] = node_hash(range_hash(a, a + k), range_hash(a + k, b))
        return got

    return range_hash


# ------------------------------ ledger/core/times.py ----------------------------------------
# Times (docs/FORMAT.md § 3): YYYY-MM-DDTHH:MM:SS.ffffffZ, UTC, six fraction digits.

# [0-9], not \d: in a str pattern \d also matches non-ASCII digits (e.g. U+0662).
_TIME_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})\.([0-9]{6})Z\Z")


def format_time(moment: datetime) -> str:
    """Format an aware datetime in the form of docs/FORMAT.md § 3."""
    if moment.tzinfo is None:
        raise TimeFormatError("expected an aware datetime, found a naive one")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """Parse a contract time, refusing every other form."""
    match = _TIME_RE.match(text) if isinstance(text, str) else None
    if match is None:
        raise TimeFormatError(f"expected YYYY-MM-DDTHH:MM:SS.ffffffZ, found {str(text)[:40]!r}")
    if text[11:13] == "24":  # datetime() refuses hour 24; newer fromisoformat reads it as midnight
        raise TimeFormatError(f"not a real date and time: {text!r}")
    try:
        # The pattern has fixed the form; fromisoformat (C) reads it as datetime(...) would,
        # refusing the same impossible dates, and reads the Z as UTC. Much faster than strptime.
        return datetime.fromisoformat(text)
    except ValueError:
        raise TimeFormatError(f"not a real date and time: {text!r}") from None


def utc_now() -> datetime:
    """The current time, UTC."""
    return datetime.now(UTC)


# ------------------------------ ledger/core/entry.py ----------------------------------------
# Ledger entries (docs/FORMAT.md § 8): JCS of {"index","prev","recorded_at","statement"}.

MAX_ENTRY_BYTES = 65_535
ZERO_HASH_HEX = "0" * 64
ENTRY_KEYS = frozenset({"index", "prev", "recorded_at", "statement"})
_HEX64_RE = re.compile(r"[0-9a-f]{64}\Z")
# The fixed head of a canonical entry; the statement string follows, then "}".
_HEAD_RE = re.compile(
    r'\{"index":(0|[1-9][0-9]{0,15}),"prev":"([0-9a-f]{64})","recorded_at":"([0-9TZ:.-]{27})","statement":'
)


@dataclass(frozen=True)
class Entry:
    """An entry, kept with the exact bytes it was parsed from or encoded to."""

    index: int
    prev: str
    recorded_at: str
    statement: str
    data: bytes = field(repr=False)
    leaf_hash: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "leaf_hash", leaf_hash(self.data))


def encode_entry(index: int, prev: str, recorded_at: str, statement: str) -> Entry:
    """Build an entry and its bytes."""
    data = canonical_bytes(
        {"index": index, "prev": prev, "recorded_at": recorded_at, "statement": statement}
    )
    if len(data) > MAX_ENTRY_BYTES:
        raise EntryError(f"entry is {len(data)} bytes, at most {MAX_ENTRY_BYTES} are allowed")
    return Entry(index, prev, recorded_at, statement, data)


def parse_entry(data: bytes) -> Entry:
    """Parse entry bytes; refuse anything not exactly canonical and well-formed."""
    return Entry(*parse_entry_fields(data), bytes(data))


def parse_entry_fields(data: bytes) -> tuple[int, str, str, str]:
    """``parse_entry`` without building the Entry: (index, prev, recorded_at, statement)."""
    if len(data) > MAX_ENTRY_BYTES:
        raise EntryError(f"entry is {len(data)} bytes, at most {MAX_ENTRY_BYTES} are allowed")
    value = _parse_fast(data)
    if value is None:
        value = parse_canonical(data)
    if not isinstance(value, dict) or set(value) != ENTRY_KEYS:
        found = sorted(value) if isinstance(value, dict) else type(value).__name__
        raise EntryError(f"entry must have exactly {sorted(ENTRY_KEYS)}, found {found}")
    index, prev, recorded_at, statement = (
        value["index"], value["prev"], value["recorded_at"], value["statement"],
    )
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise EntryError(f"entry index must be a non-negative integer, found {index!r}")
    if not isinstance(prev, str) or not _HEX64_RE.match(prev):
        raise EntryError(f"entry prev must be 64 lowercase hex digits, found {str(prev)[:80]!r}")
    parse_time(recorded_at)
    if not isinstance(statement, str):
        raise EntryError("entry statement must be a string")
    return index, prev, recorded_at, statement


def _parse_fast(data: bytes) -> dict[str, Any] | None:
    """The value of an entry shown canonical by its shape, or None (then parse_canonical decides).

    Bytes of exactly the form {"index":N,"prev":"<hex>","recorded_at":"<27 chars>","statement":S}
    with S a canonical string literal are the RFC 8785 encoding of that object (its keys are
    in sorted order and nothing but S needs escaping), so parse_canonical would return the
    same value; this avoids decoding and re-encoding every entry as a whole.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    head = _HEAD_RE.match(text)
    if head is None or int(head[1]) > MAX_SAFE_INTEGER:
        return None
    literal = canonical_string_at(text, head.end())
    if literal is None or literal[1] != len(text) - 1 or not text.endswith("}"):
        return None
    return {"index": int(head[1]), "prev": head[2], "recorded_at": head[3], "statement": literal[0]}


# ------------------------------ ledger/core/statement.py ------------------------------------
# Statements (docs/FORMAT.md § 6): a signed note whose text is JCS(envelope) + "\n".
#
# Envelope: {"v":1,"type","id","signers","issued_at","not_after","body"}. This module
# answers "what bytes does a principal sign?" and nothing else checks them twice.

MAX_STATEMENT_BYTES = 60_000
ENVELOPE_KEYS = frozenset({"v", "type", "id", "signers", "issued_at", "not_after", "body"})
_TYPE_RE = re.compile(r"[a-z][a-z0-9_]{0,63}\Z")
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z")


@dataclass(frozen=True)
class Statement:
    """A parsed, structurally valid statement. ``raw`` is the exact note text."""

    raw: str
    note: Note
    envelope: dict[str, Any]
    sha256: bytes = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha256", hashlib.sha256(self.raw.encode("utf-8")).digest())

    @cached_property
    def type(self) -> str:
        return str(self.envelope["type"])

    @cached_property
    def id(self) -> str:
        return str(self.envelope["id"])

    @property
    def signers(self) -> list[str]:
        return list(self.envelope["signers"])

    @property
    def body(self) -> dict[str, Any]:
        return dict(self.envelope["body"])

    @cached_property
    def issued_at(self) -> datetime:
        return parse_time(self.envelope["issued_at"])

    @cached_property
    def not_after(self) -> datetime:
        return parse_time(self.envelope["not_after"])


def check_envelope(envelope: Any) -> dict[str, Any]:
    """Refuse envelopes that break the shape docs/FORMAT.md § 6 gives."""
    if not isinstance(envelope, dict):
        raise StatementError(f"envelope must be an object, found {type(envelope).__name__}")
    keys = set(envelope)
    if keys != ENVELOPE_KEYS:
        missing = sorted(ENVELOPE_KEYS - keys)
        extra = sorted(keys - ENVELOPE_KEYS)
        raise StatementError(f"envelope keys: missing {missing}, unexpected {extra}")
    if envelope["v"] != 1 or isinstance(envelope["v"], bool):
        raise StatementError(f"envelope v: expected 1, found {envelope['v']!r}")
    if not isinstance(envelope["type"], str) or not _TYPE_RE.match(envelope["type"]):
        raise StatementError(f"envelope type: expected [a-z][a-z0-9_]*, found {envelope['type']!r}")
    if not isinstance(envelope["id"], str) or not _ID_RE.match(envelope["id"]):
        raise StatementError(
            f"envelope id: expected 1-128 of [A-Za-z0-9._:-], found {str(envelope['id'])[:80]!r}"
        )
    signers = envelope["signers"]
    if not isinstance(signers, list) or not signers:
        raise StatementError("envelope signers: expected a non-empty list of key names")
    for name in signers:
        check_key_name(name)
    if len(set(signers)) != len(signers):
        raise StatementError("envelope signers: a name is listed twice")
    issued = parse_time(envelope["issued_at"])
    not_after = parse_time(envelope["not_after"])
    if not_after < issued:
        raise StatementError("envelope not_after is before issued_at")
    if not isinstance(envelope["body"], dict):
        raise StatementError("envelope body must be an object")
    return envelope


def parse_statement(data: str | bytes) -> Statement:
    """Parse a statement note: size, note syntax, canonical envelope, envelope shape."""
    raw_bytes, note, envelope = parse_statement_parts(data)
    return Statement(raw_bytes.decode("utf-8"), note, envelope)


def parse_statement_parts(data: str | bytes) -> tuple[bytes, Note, dict[str, Any]]:
    """``parse_statement`` without building the Statement: (UTF-8 bytes, note, envelope)."""
    try:
        raw_bytes = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    except UnicodeEncodeError:  # a str can hold lone surrogates, which UTF-8 cannot
        raise StatementError("statement is not valid Unicode (lone surrogate)") from None
    if len(raw_bytes) > MAX_STATEMENT_BYTES:
        raise StatementError(
            f"statement is {len(raw_bytes)} bytes, at most {MAX_STATEMENT_BYTES} are allowed"
        )
    note = parse_note(raw_bytes)
    for number, line in enumerate(note.signatures, 1):
        # Every line of a statement is a listed signer's (docs/FORMAT.md § 6), so each is held
        # to what a known key's line must be: canonical base64 of 4 + 64 bytes.
        if len(line.signature) != ED25519_LINE_BYTES - 4:
            raise NoteError(f"signature line {number}: expected {ED25519_LINE_BYTES} bytes (key hash + Ed25519), "
                            f"found {len(line.signature) + 4}")
        if not line.canonical:
            raise NoteError(f"signature line {number}: base64 with non-zero padding bits is not canonical")
        check_key_name(line.name)
    envelope = check_envelope(parse_canonical(note.text[:-1].encode("utf-8")))
    if "\n" in note.text[:-1]:  # pragma: no cover - canonical JSON has no raw newline
        raise StatementError("statement text must be one line")
    signed_names = [s.name for s in note.signatures]
    if sorted(signed_names) != sorted(envelope["signers"]):
        raise StatementError(
            f"signature lines {sorted(signed_names)} do not match the listed signers "
            f"{sorted(envelope['signers'])}"
        )
    return raw_bytes, note, envelope


def make_envelope(
    type_: str,
    id_: str,
    signers: Sequence[str],
    body: dict[str, Any],
    *,
    issued_at: datetime | None = None,
    valid_for: timedelta = timedelta(hours=1),
) -> dict[str, Any]:
    """Build an envelope with contract times."""
    issued = issued_at or utc_now()
    return check_envelope(
        {
            "v": 1,
            "type": type_,
            "id": id_,
            "signers": list(signers),
            "issued_at": format_time(issued),
            "not_after": format_time(issued + valid_for),
            "body": body,
        }
    )


def sign_statement(envelope: dict[str, Any], keys: Sequence[SignerKey]) -> str:
    """Sign an envelope with each key; the result is the note text to submit."""
    check_envelope(envelope)
    text = canonical_bytes(envelope).decode("utf-8") + "\n"
    note = sign_note(text, keys).encode()
    parse_statement(note)  # the same checks a server will run
    return note


# ------------------------------ ledger/core/bundle_format.py --------------------------------
# An evidence bundle's shape (docs/VERIFYING.md § 7): its files, bundle.json, the small parsers
# the checks share, and which commitments a statement carries. The checks are ledger.core.bundle_check's
# (checkpoint, inclusion, signatures) and ledger.core.bundle_lines' (bulk statements, line paths, openings).

BUNDLE_FORMAT = "dl-bundle/v1"
BUNDLE_KEYS = frozenset({"format", "origin", "request", "tree_size", "entries", "bulk", "incomplete", "lines",
                         "openings"})
LINE_RECORD_KEYS = frozenset({"statement", "kind", "line", "chunk_index", "position", "path"})
BUNDLE_HEX_RE = re.compile(r"[0-9a-f]{64}\Z")


class BundleError(LedgerError):
    """A bundle that does not verify: ``reason`` says what, ``index`` names the entry when there is one."""

    def __init__(self, reason: str, index: int | None = None) -> None:
        self.reason = reason
        self.index = index
        super().__init__(f"entry {index}: {reason}" if index is not None else reason)


@dataclass(frozen=True)
class BundleFiles:
    """The bytes of a bundle's files (None: the file is absent)."""

    manifest: bytes
    checkpoint: bytes
    entries: bytes
    proofs: bytes
    lines: bytes | None = None
    openings: bytes | None = None
    delivered: tuple[tuple[str, bytes], ...] = ()  # (name, bytes) of each file in the bundle's delivered/


@dataclass
class BundleEntry:
    index: int
    data: bytes
    entry: Entry
    stmt: Statement


@dataclass
class BulkStatement:
    """A bundled bulk statement and its chunks (by chunk number), checked complete."""

    stmt: BundleEntry
    line_count: int
    chunk_count: int
    lines_root: bytes
    chunks: dict[int, BundleEntry] = field(default_factory=dict)


@dataclass
class BundleSummary:
    """What a verified bundle established."""

    origin: str
    request: str
    tree_size: int
    root: bytes
    entries: int
    signatures: int
    bulk: list[str]
    lines: int
    openings: int
    erased: int
    delivered: int = 0


# ---- small parsers ------------------------------------------------------------------------------
def bundle_jsonl(data: bytes, what: str) -> Iterator[tuple[int, Any]]:
    """(line number from 1, canonical JSON value) of a JSON Lines file."""
    if data and not data.endswith(b"\n"):
        raise BundleError(f"{what}: the file does not end with LF")
    for number, line in enumerate(data.split(b"\n")[:-1] if data else [], 1):
        try:
            yield number, parse_canonical(line)
        except LedgerError as e:
            raise BundleError(f"{what} line {number} is not canonical JSON: {e}") from None


def bundle_count(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BundleError(f"{where}: expected a non-negative integer, found {str(value)[:40]!r}")
    return value


def bundle_path(value: Any, where: str) -> list[bytes]:
    if not isinstance(value, list):
        raise BundleError(f"{where}: path must be a list of base64 hashes")
    out = []
    for i, h in enumerate(value):
        if not isinstance(h, str):
            raise BundleError(f"{where}: path[{i}] is not a string")
        try:
            out.append(b64decode(h, length=32))
        except LedgerError as e:
            raise BundleError(f"{where}: path[{i}] is not a base64 32-byte hash: {e}") from None
    return out


def parse_bundle_manifest(data: bytes) -> dict[str, Any]:
    """bundle.json: an object with exactly BUNDLE_KEYS, of the right types."""
    try:
        value = parse_canonical(data.removesuffix(b"\n"))
    except LedgerError as e:
        raise BundleError(f"bundle.json is not canonical JSON: {e}") from None
    if not isinstance(value, dict) or set(value) != BUNDLE_KEYS:
        found = sorted(value) if isinstance(value, dict) else type(value).__name__
        raise BundleError(f"bundle.json must hold exactly {sorted(BUNDLE_KEYS)}, found {found}")
    if value["format"] != BUNDLE_FORMAT:
        raise BundleError(f"bundle.json: format is {str(value['format'])[:40]!r}, expected {BUNDLE_FORMAT!r}")
    for key in ("origin", "request"):
        if not isinstance(value[key], str):
            raise BundleError(f"bundle.json: {key} must be a string")
    bundle_count(value["tree_size"], "bundle.json tree_size")
    for key in ("entries", "lines"):
        if not isinstance(value[key], list):
            raise BundleError(f"bundle.json: {key} must be a list of integers")
        for i, x in enumerate(value[key]):
            bundle_count(x, f"bundle.json {key}[{i}]")
    for key in ("bulk", "incomplete"):
        if not isinstance(value[key], list) or not all(isinstance(x, str) for x in value[key]):
            raise BundleError(f"bundle.json: {key} must be a list of statement ids")
    if not isinstance(value["openings"], bool):
        raise BundleError("bundle.json: openings must be true or false")
    return value


class CommitmentSlot(NamedTuple):
    """Where one commitment sits in a statement: its field, the absolute item (line) number for a
    line's member (None for a member of the statement's head), and its position among the head's
    members of that field (0 for a line's member)."""

    field: str
    line: int | None
    position: int
    commitment: str


# A legacy_release line's commitments: (opening field, body member).
LEGACY_LINE_FIELDS = (("tin", "tin"), ("name", "name"), ("address", "address"), ("matched_tin", "taxpayer"))


def commitment_slots(stmt: Statement) -> list[CommitmentSlot]:
    """Every commitment a § 6103 statement carries, with its slot (FORMAT § 13.1, 17.3, 17.4.10, 17.7).

    A bulk chunk's items are numbered from its ``first_line``, so that every slot of a bulk
    statement (its manifest's head and all its chunks' lines) is distinct. Members that are not
    commitments (null, or not a string) are skipped.
    """
    body = stmt.envelope["body"]
    out: list[tuple[str, int | None, int, Any]] = []
    kind = body.get("kind") if stmt.type == "chunk" else stmt.type
    first = body.get("first_line") if stmt.type == "chunk" else 0
    first = first if isinstance(first, int) and not isinstance(first, bool) else 0
    if stmt.type == "request":
        out.append(("purpose_text", None, 0, body.get("purpose_text")))
        recipients = bundle_dicts(body.get("recipients"))
        out.extend(("recipient_name", None, i, r.get("name")) for i, r in enumerate(recipients))
        out.extend(("case_id", None, i, c) for i, c in enumerate(bundle_list(body.get("case_ids"))))
    if kind == "request":
        for k, line in enumerate(bundle_list(body.get("lines"))):
            if isinstance(line, dict):
                out.extend((f, first + k, 0, line.get(f)) for f in ("tin", "name", "address", "reason"))
    elif kind == "match_result":
        out.extend(("tin", first + k, 0, line.get("taxpayer")) for k, line in enumerate(bundle_list(body.get("lines")))
                   if isinstance(line, dict))
    elif stmt.type == "legacy_release":  # as requested, and the record matched (FORMAT § 17.10)
        for k, line in enumerate(bundle_list(body.get("lines"))):
            if isinstance(line, dict):
                out.extend((f, k, 0, line.get(m)) for f, m in LEGACY_LINE_FIELDS)
    elif stmt.type == "court_order":
        out.append(("docket", None, 0, body.get("docket")))
    elif stmt.type == "correction":
        out.append(("correction_reason", None, 0, body.get("reason")))
    elif stmt.type == "inspection":
        out.extend([("pseudonym", None, 0, body.get("subject")), ("inspection_purpose", None, 0, body.get("purpose"))])
    return [CommitmentSlot(f, k, p, c) for f, k, p, c in out if isinstance(c, str)]


def statement_commitments(stmt: Statement) -> list[tuple[str, str]]:
    """(field, commitment) of every commitment a § 6103 statement carries, in the order of its slots.

    The same list as the disclosure service's ``body_commitments``, computed here from the
    statement alone so that the court's verifier can check openings without the service.
    """
    return [(s.field, s.commitment) for s in commitment_slots(stmt)]


def bundle_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def bundle_dicts(value: Any) -> list[dict[str, Any]]:
    return [x for x in bundle_list(value) if isinstance(x, dict)]


Passed = Callable[[str, str], None]  # passed(check, what it established): the caller reports it


# ------------------------------ ledger/core/bundle_lines.py ---------------------------------
# Checks 4-6 of an evidence bundle: bulk statements complete (every chunk in place, items giving
# lines_root), the paths of chosen lines inside their chunks, and the openings of the bundled commitments.

def check_bundle_bulk(entries: list[BundleEntry], manifest: dict[str, Any], passed: Passed) -> dict[str, BulkStatement]:
    """Check 4: every bulk statement has all its chunks, in place, and their items give its lines_root."""
    bulk: dict[str, BulkStatement] = {}
    for be in entries:
        stmt = be.stmt
        body = stmt.envelope["body"]
        if stmt.type in BULK_KINDS and "bulk" in body:
            b = body["bulk"]
            try:
                n = bundle_count(b["line_count"], "bulk.line_count")
                c = bundle_count(b["chunk_count"], "bulk.chunk_count")
                root = bytes.fromhex(b["lines_root"]) if BUNDLE_HEX_RE.match(b["lines_root"]) else b""
            except (TypeError, KeyError, BundleError):
                raise BundleError(f"{stmt.type} {stmt.id}: malformed bulk member", be.index) from None
            if n < 1 or c != chunk_count(n) or len(root) != 32:
                raise BundleError(f"{stmt.type} {stmt.id}: bulk member is inconsistent ({n} lines, {c} chunks)",
                                  be.index)
            bulk[stmt.id] = BulkStatement(be, n, c, root)
        elif stmt.type == "chunk":
            of = body.get("of")
            owner = bulk.get(of) if isinstance(of, str) else None
            if owner is None:
                raise BundleError(f"chunk {stmt.id} belongs to {str(of)[:130]!r}, which is not a bulk statement "
                                  "before it in the bundle", be.index)
            what = f"{owner.stmt.stmt.type} {owner.stmt.stmt.id}"
            if body.get("kind") != owner.stmt.stmt.type:
                raise BundleError(f"{what}: chunk {stmt.id} says its kind is {str(body.get('kind'))[:40]!r}",
                                  be.index)
            if stmt.signers != owner.stmt.stmt.signers:
                raise BundleError(f"{what}: chunk {stmt.id} is signed by {stmt.signers}, the manifest by "
                                  f"{owner.stmt.stmt.signers}", be.index)
            number = body.get("chunk")
            if not isinstance(number, int) or isinstance(number, bool) or not 0 <= number < owner.chunk_count:
                raise BundleError(f"{what}: chunk number {str(number)[:20]} is not in 0..{owner.chunk_count - 1}",
                                  be.index)
            if number in owner.chunks:
                raise BundleError(f"{what}: chunk {number} appears twice (entries {owner.chunks[number].index} "
                                  f"and {be.index})", be.index)
            owner.chunks[number] = be
    listed = manifest["bulk"]
    if sorted(listed) != sorted(bulk):
        raise BundleError(f"bundle.json lists bulk statements {sorted(listed)}, the bundle holds {sorted(bulk)}")
    incomplete = set(manifest["incomplete"])
    for sid, b in bulk.items():
        what = f"{b.stmt.stmt.type} {sid}"
        tree = LinesTree()
        for number in range(b.chunk_count):
            part = b.chunks.get(number)
            if part is None:
                note = (" (bundle.json says the log itself holds only the chunks before it: the statement is "
                        "incomplete in the log)") if sid in incomplete else ""
                raise BundleError(f"{what}: chunk {number} of {b.chunk_count} is missing from the bundle{note}")
            if number and part.index < b.chunks[number - 1].index:
                raise BundleError(f"{what}: chunk {number} is at entry {part.index}, before chunk {number - 1}",
                                  part.index)
            body = part.stmt.envelope["body"]
            items = body.get("lines")
            expected = min(CHUNK_LINES, b.line_count - number * CHUNK_LINES)
            if body.get("first_line") != number * CHUNK_LINES:
                raise BundleError(f"{what}: chunk {number} has first_line {str(body.get('first_line'))[:20]}, "
                                  f"expected {number * CHUNK_LINES}", part.index)
            if not isinstance(items, list) or len(items) != expected:
                found = len(items) if isinstance(items, list) else "no"
                raise BundleError(f"{what}: chunk {number} holds {found} items, expected {expected}", part.index)
            try:
                tree.add_chunk([item_leaf(item) for item in items])
            except LedgerError as e:
                raise BundleError(f"{what}: chunk {number}: {e}", part.index) from None
        if tree.root() != b.lines_root:
            raise BundleError(f"{what}: the items of its {b.chunk_count} chunks give the root {tree.root().hex()}, "
                              f"the manifest's lines_root is {b.lines_root.hex()}", b.stmt.index)
    if bulk:
        passed("bulk", f"{len(bulk)} bulk statements complete: every chunk present and in place, items recomputed "
                       "to each manifest's lines_root")
    return bulk


def _bundle_line_of(kind: str, item: Any, global_position: int) -> int | None:
    """The request line an item is about (None when the item names none)."""
    if kind == "request":
        return global_position
    if kind == "release":
        return item if isinstance(item, int) and not isinstance(item, bool) else None
    line = item.get("line") if isinstance(item, dict) else None
    return line if isinstance(line, int) and not isinstance(line, bool) else None


def _bundle_held(kind: str, items: list[Any], first: int) -> str:
    if kind == "release":
        return f"released lines {items[0]}..{items[-1]}" if items else "no lines"
    return f"lines {first}..{first + len(items) - 1}"


def check_bundle_lines(data: bytes | None, manifest: dict[str, Any], entries: list[BundleEntry],
                 bulk: dict[str, BulkStatement], passed: Passed) -> int:
    """Check 5: each lines.jsonl record proves line K of a bulk statement inside its lines_root."""
    if data is None:
        if manifest["lines"]:
            raise BundleError("bundle.json lists lines but the bundle has no lines.jsonl")
        return 0
    count = 0
    for number, rec in bundle_jsonl(data, "lines.jsonl"):
        where = f"lines.jsonl line {number}"
        if not isinstance(rec, dict) or set(rec) != LINE_RECORD_KEYS:
            raise BundleError(f"{where}: expected exactly {sorted(LINE_RECORD_KEYS)}")
        k = bundle_count(rec["line"], f"{where} line")
        chunk_index = bundle_count(rec["chunk_index"], f"{where} chunk_index")
        position = bundle_count(rec["position"], f"{where} position")
        sid = rec["statement"]
        b = bulk.get(sid) if isinstance(sid, str) else None
        if b is None:
            raise BundleError(f"{where}: {str(sid)[:130]!r} is not a bulk statement of the bundle")
        kind = b.stmt.stmt.type
        if rec["kind"] != kind:
            raise BundleError(f"{where}: kind {str(rec['kind'])[:40]!r}, but {sid} is a {kind}")
        chunk = next((c for c in b.chunks.values() if c.index == chunk_index), None)
        if chunk is None:
            raise BundleError(f"line {k} of {kind} {sid}: entry {chunk_index} is not one of its chunks")
        body = chunk.stmt.envelope["body"]
        items, first = body["lines"], body["first_line"]
        held = [_bundle_line_of(kind, item, first + p) for p, item in enumerate(items)]
        if k not in held:
            raise BundleError(
                f"line {k} is not in chunk entry {chunk_index}: it holds {_bundle_held(kind, items, first)}"
            )
        if position >= len(items) or held[position] != k:
            raise BundleError(f"line {k} of {kind} {sid} is not at position {position} of chunk entry "
                              f"{chunk_index}: it is at position {held.index(k)}")
        path = bundle_path(rec["path"], f"{where} (line {k} of {kind} {sid})")
        try:
            verify_line(first + position, b.line_count, items[position], path, b.lines_root)
        except LedgerError as e:
            raise BundleError(f"line {k} of {kind} {sid}: its path does not lead to lines_root: {e}") from None
        count += 1
    wanted = set(manifest["lines"])
    if count:
        passed("lines", f"{count} line proofs ({', '.join(map(str, sorted(wanted))) or 'none listed'}) verify "
                        "inside their chunks and their manifests' lines_root")
    return count


def check_bundle_openings(data: bytes | None, manifest: dict[str, Any], entries: list[BundleEntry],
                    passed: Passed) -> tuple[int, int]:
    """Check 6: every bundled commitment has its opening, each opening verifies, none is left over."""
    if data is None or not manifest["openings"]:
        raise BundleError("--openings: the bundle holds no openings.jsonl (it was written without --openings)")
    needed: dict[str, tuple[str, BundleEntry]] = {}
    erased: set[str] = set()
    for be in entries:
        for f, c in statement_commitments(be.stmt):
            needed.setdefault(c, (f, be))
        if be.stmt.type == "erasure":
            erased.update(c for c in bundle_list(be.stmt.envelope["body"].get("commitments")) if isinstance(c, str))
    given: dict[str, Opening] = {}
    for number, rec in bundle_jsonl(data, "openings.jsonl"):
        where = f"openings.jsonl line {number}"
        if not isinstance(rec, dict) or set(rec) != {"commitment", "opening"}:
            raise BundleError(f"{where}: expected exactly commitment and opening")
        try:
            commitment = check_commitment_hex(rec["commitment"])
            opening = Opening.from_json(rec["opening"])
        except LedgerError as e:
            raise BundleError(f"{where}: {e}") from None
        if commitment in given:
            raise BundleError(f"{where}: a second opening of {commitment[:16]}…")
        given[commitment] = opening
    skipped = 0
    for commitment, (f, be) in needed.items():
        found = given.pop(commitment) if commitment in given else None
        what = f"{be.stmt.type} {be.stmt.id}"
        if found is None:
            if commitment in erased:
                skipped += 1
                continue
            raise BundleError(f"no opening of {commitment[:16]}… (field {f}) of {what}", be.index)
        if found.field != f:
            raise BundleError(f"opening of {commitment[:16]}… is for field {found.field}, {what} commits "
                              f"field {f} there", be.index)
        try:
            verify_opening(commitment, found)
        except OpeningMismatch:
            raise BundleError(f"opening of {commitment[:16]}… (field {f}) does not match its commitment",
                              be.index) from None
        except LedgerError as e:
            raise BundleError(f"opening of {commitment[:16]}… (field {f}): {type(e).__name__}", be.index) from None
    if given:
        extra = sorted(given)
        raise BundleError(f"{len(extra)} openings match no commitment of the bundled statements "
                          f"(first {extra[0][:16]}…)")
    passed("openings", f"{len(needed) - skipped} openings verify against their commitments"
                       + (f"; {skipped} erased by a bundled erasure statement" if skipped else ""))
    return len(needed) - skipped, skipped


# ------------------------------ ledger/core/delivered.py ------------------------------------
# The disclosure file a release delivers (docs/FORMAT.md, "The delivered file"), and its check.
#
# A delivered file is UTF-8 text, one canonical JSON object per line, each ending in LF:
#
#     {"fields":["address","name"],"format":"dl-disclosure-file/v1","lines":3,"request":"…","review":"…"}
#     {"address":"…","line":4,"name":"…"}
#     …
#
# the header first (``fields``: the release's fields, in the release's order; ``lines``: how many rows
# follow), then one row per released line in increasing line order, holding ``line`` and exactly the
# released fields. A row's ``name`` and ``address`` are the request line's own values (those its
# commitments open to); its ``tin`` is the TIN the match result committed to for that line. The
# release signs the file's SHA-256 (``file_sha256``), so a file is tied to exactly one release.
#
# ``check_delivered`` checks a file against the bundled statements: its hash is a release's, its header
# names that release's request, review and fields, its rows are exactly the release's lines, each
# approved by the review, with exactly the released fields; with the openings, every value is the one
# its commitment opens to. Pure: the caller passes bytes; errors are BundleError naming the file, the
# row and the field, never a value.

DELIVERED_FORMAT = "dl-disclosure-file/v1"
DELIVERED_FIELDS = ("address", "name", "tin")  # the fields a delivered file can carry, and where each comes from
_HEADER_KEYS = frozenset({"format", "request", "review", "fields", "lines"})


def delivered_file(request: str, review: str, fields: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> bytes:
    """The file's bytes: the header and ``rows`` (each ``{"line": k, field: value, ...}``, increasing ``line``)."""
    header = {"format": DELIVERED_FORMAT, "request": request, "review": review, "fields": list(fields),
              "lines": len(rows)}
    return b"".join(canonical_bytes(x) + b"\n" for x in [header, *rows])


def statement_items(entries: Sequence[BundleEntry], bulk: Mapping[str, BulkStatement], statement_id: str) -> list[Any]:
    """The items of a bundled lifecycle statement: its own ``lines``, or its chunks' in order."""
    for be in entries:
        if be.stmt.id == statement_id:
            body = be.stmt.envelope["body"]
            if "lines" in body:
                return list(body["lines"])
            held = bulk.get(statement_id)
            if held is None:
                return []
            return [item for c in sorted(held.chunks) for item in held.chunks[c].stmt.envelope["body"]["lines"]]
    return []


def bundle_openings(data: bytes | None) -> dict[str, Opening]:
    """openings.jsonl by commitment (already checked by ``check_bundle_openings``)."""
    out: dict[str, Opening] = {}
    if data is None:
        return out
    for _, rec in bundle_jsonl(data, "openings.jsonl"):
        out[check_commitment_hex(rec["commitment"])] = Opening.from_json(rec["opening"])
    return out


def check_delivered(name: str, data: bytes, request_id: str, entries: Sequence[BundleEntry],
                    bulk: Mapping[str, BulkStatement], openings: Mapping[str, Opening] | None) -> str:
    """Check one delivered file (``name`` for messages) against the bundle; the release it belongs to."""
    digest = hashlib.sha256(data).hexdigest()
    releases = [be for be in entries if be.stmt.type == "release"
                and be.stmt.envelope["body"].get("file_sha256") == digest]
    if not releases:
        raise BundleError(f"delivered file {name}: its SHA-256 {digest[:16]}… is no bundled release's file_sha256")
    release = releases[0].stmt
    body = release.envelope["body"]
    lines = [x.rstrip(b"\r") for x in data.split(b"\n")]
    if not data.endswith(b"\n") or lines[-1] != b"":
        raise BundleError(f"delivered file {name}: each line must end with LF")
    lines.pop()
    try:
        header = parse_canonical(lines[0]) if lines else None
    except LedgerError as e:
        raise BundleError(f"delivered file {name}, line 1: not canonical JSON ({e})") from None
    if not isinstance(header, dict) or set(header) != _HEADER_KEYS or header["format"] != DELIVERED_FORMAT:
        raise BundleError(f"delivered file {name}, line 1: not a {DELIVERED_FORMAT} header")
    for key, want in (("request", request_id), ("review", body["review"]), ("fields", body["fields"])):
        if header[key] != want:
            raise BundleError(f"delivered file {name}: the header's {key} is not release {release.id}'s")
    released = statement_items(entries, bulk, release.id)
    if header["lines"] != len(released) or len(lines) - 1 != len(released):
        raise BundleError(f"delivered file {name}: {len(lines) - 1} rows, release {release.id} released "
                          f"{len(released)} lines")
    approved = {item["line"] for item in statement_items(entries, bulk, body["review"])
                if item.get("decision") == "approve"}
    request_lines = statement_items(entries, bulk, request_id)
    match_id = next((be.stmt.id for be in entries if be.stmt.type == "match_result"
                     and be.stmt.envelope["body"].get("request") == request_id), None)
    match_lines = {item["line"]: item for item in statement_items(entries, bulk, match_id)} if match_id else {}
    fields = list(body["fields"])
    for number, (raw, k) in enumerate(zip(lines[1:], released, strict=True), start=2):
        where = f"delivered file {name}, line {number}"
        try:
            row = parse_canonical(raw)
        except LedgerError as e:
            raise BundleError(f"{where}: not canonical JSON ({e})") from None
        if not isinstance(row, dict) or set(row) != {"line", *fields}:
            raise BundleError(f"{where}: a row holds exactly line and the released fields {fields}")
        if row["line"] != k:
            raise BundleError(f"{where}: the row is for line {row['line']}, the release's next line is {k}")
        if k not in approved:
            raise BundleError(f"{where}: line {k} is not approved by review {body['review']}")
        if openings is None:
            continue
        for f in fields:
            if f == "tin":
                commitment = match_lines.get(k, {}).get("taxpayer")
            elif f in DELIVERED_FIELDS and 0 <= k < len(request_lines):
                commitment = request_lines[k].get(f)
            else:
                commitment = None
            opening = openings.get(commitment) if isinstance(commitment, str) else None
            if opening is None:
                raise BundleError(f"{where}, field {f}: no bundled opening to check it against")
            if opening.value != row[f]:
                raise BundleError(f"{where}, field {f}: not the value line {k}'s commitment opens to")
    return release.id


def check_delivered_files(files: Sequence[tuple[str, bytes]], request_id: str, entries: Sequence[BundleEntry],
                          bulk: Mapping[str, BulkStatement], openings_data: bytes | None, passed: Passed) -> int:
    """Check 7 of a bundle: every delivered file it holds (``openings_data`` given: the values too)."""
    openings = bundle_openings(openings_data) if openings_data is not None else None
    names = []
    for name, data in files:
        names.append(f"{name} (release {check_delivered(name, data, request_id, entries, bulk, openings)})")
    passed("delivered", f"{len(files)} delivered files hold exactly the lines and fields their releases signed"
                        + (", each value the one its commitment opens to" if openings is not None else
                           " (values not checked: pass --openings)") + ": " + ", ".join(names))
    return len(files)


# ------------------------------ ledger/core/tlog_policy.py ----------------------------------
# Witness policies, c2sp.org/tlog-policy: the logs accepted, the witnesses known, and the quorum.
#
# A policy is lines of octets (tab, LF, 0x20-0x7E and 0x80-0xFF only), items separated by spaces and
# tabs; blank lines and lines whose first item starts with ``#`` are comments:
#
#     log <vkey> [<url>]
#     witness <name> <vkey> [<url>]
#     group <name> all|any|<k> <name>...
#     quorum <name>|none
#
# Names are opaque octet strings (kept here as str decoded with surrogateescape, so two names are equal
# exactly when their bytes are), share one namespace with ``none`` reserved, and a group or the quorum
# refers only to names defined on earlier lines, each member at most once. A group is satisfied when at
# least k of its n members are (``any`` is 1, ``all`` is n). Two logs, or two witnesses, with the same
# public key are refused. Log keys are Ed25519 signed-note keys (type 0x01), witness keys Ed25519
# cosignature/v1 keys (type 0x04); other types cannot be checked here and make the policy unusable.
#
# The policy that decides is the one the verifier pinned; a policy shipped by the audited party is at
# most compared with it (``WitnessPolicy.witnesses_not_in``).

NONE = "none"
MAX_POLICY_BYTES = 65_536
MAX_DEFINITIONS = 256  # each of logs, witnesses and groups; tlog-policy asks for at least 32
_SEPARATOR_RE = re.compile(rb"[ \t]+")
_FORBIDDEN_RE = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")
_THRESHOLD_RE = re.compile(rb"[1-9][0-9]{0,8}\Z")


@dataclass(frozen=True)
class PolicyLog:
    key: VerifierKey
    url: str | None = None


@dataclass(frozen=True)
class PolicyWitness:
    name: str
    key: CosignerKey
    url: str | None = None


@dataclass(frozen=True)
class PolicyGroup:
    name: str
    threshold: int
    members: tuple[str, ...]


@dataclass(frozen=True)
class WitnessPolicy:
    """A parsed policy; ``quorum`` is a witness's or group's name, or ``none``."""

    logs: tuple[PolicyLog, ...]
    witnesses: tuple[PolicyWitness, ...]
    groups: tuple[PolicyGroup, ...]
    quorum: str

    def witness(self, name: str) -> PolicyWitness | None:
        return next((w for w in self.witnesses if w.name == name), None)

    def group(self, name: str) -> PolicyGroup | None:
        return next((g for g in self.groups if g.name == name), None)

    @property
    def log_keys(self) -> list[VerifierKey]:
        return [log.key for log in self.logs]

    def satisfied(self, cosigned: Collection[str], name: str | None = None) -> bool:
        """Whether the witnesses named in ``cosigned`` meet the quorum (or satisfy ``name``)."""
        name = self.quorum if name is None else name
        if name == NONE:
            return True
        group = self.group(name)
        if group is None:
            return name in cosigned
        return sum(self.satisfied(cosigned, member) for member in group.members) >= group.threshold

    def describe(self, name: str | None = None) -> str:
        """The quorum rule in words, e.g. ``X-and-Y = all of 2 (X = 2 of 3 (X1, X2, X3), Y1)``."""
        name = self.quorum if name is None else name
        if name == NONE:
            return "none (no cosignature required)"
        group = self.group(name)
        if group is None:
            return name
        inner = ", ".join(self.describe(member) for member in group.members)
        return f"{name} = {group.threshold} of {len(group.members)} ({inner})"

    def witnesses_not_in(self, other: WitnessPolicy) -> list[PolicyWitness]:
        """This policy's witnesses whose public key ``other`` does not list (under any name)."""
        known = {w.key.public_key for w in other.witnesses}
        return [w for w in self.witnesses if w.key.public_key not in known]

    def max_faulty_witnesses_tolerated(self) -> int | None:
        """For a flat k-of-n quorum group: 2k - n - 1, the most witnesses that may misbehave while two
        inconsistent checkpoints still cannot both reach the quorum (None for other shapes)."""
        group = self.group(self.quorum)
        if group is None or any(self.group(m) for m in group.members):
            return None
        return 2 * group.threshold - len(group.members) - 1


def _text(item: bytes) -> str:
    return item.decode("utf-8", "surrogateescape")


def _vkey_type(text: str) -> int:
    return split_vkey(text)[2][0]


def parse_policy(data: str | bytes) -> WitnessPolicy:
    """Parse a tlog-policy file; PolicyError names the line and what is wrong with it."""
    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_POLICY_BYTES:
        raise PolicyError(f"policy is {len(raw)} bytes, at most {MAX_POLICY_BYTES} are allowed")
    logs: list[PolicyLog] = []
    witnesses: list[PolicyWitness] = []
    groups: list[PolicyGroup] = []
    names: set[str] = set()
    quorum: str | None = None
    for number, line in enumerate(raw.split(b"\n"), 1):
        bad = _FORBIDDEN_RE.search(line)
        if bad:
            raise PolicyError(f"policy line {number}: byte 0x{bad.group()[0]:02x} is not allowed")
        items = [i for i in _SEPARATOR_RE.split(line) if i]
        if not items or items[0].startswith(b"#"):
            continue
        keyword, args = items[0], [_text(i) for i in items[1:]]
        try:
            if keyword == b"log":
                logs.append(_log(args, logs))
            elif keyword == b"witness":
                witnesses.append(_witness(args, names, witnesses))
                names.add(witnesses[-1].name)
            elif keyword == b"group":
                groups.append(_group(args, names))
                names.add(groups[-1].name)
            elif keyword == b"quorum":
                if quorum is not None:
                    raise PolicyError("a policy has exactly one quorum line; this is the second")
                if len(args) != 1:
                    raise PolicyError("expected 'quorum <name>'")
                if args[0] != NONE and args[0] not in names:
                    raise PolicyError(f"quorum {args[0]!r} is not a witness or group defined on an earlier line")
                quorum = args[0]
            else:
                raise PolicyError(f"unknown keyword {_text(keyword)[:40]!r} (log, witness, group or quorum)")
            if max(len(logs), len(witnesses), len(groups)) > MAX_DEFINITIONS:
                raise PolicyError(f"more than {MAX_DEFINITIONS} logs, witnesses or groups")
        except PolicyError as e:
            raise PolicyError(f"policy line {number}: {e}") from None
        except LedgerError as e:  # a malformed or unsupported vkey
            raise PolicyError(f"policy line {number}: {e}") from None
    if quorum is None:
        raise PolicyError("policy has no quorum line ('quorum none' requires no cosignature)")
    return WitnessPolicy(tuple(logs), tuple(witnesses), tuple(groups), quorum)


def _log(args: list[str], logs: list[PolicyLog]) -> PolicyLog:
    if len(args) not in (1, 2):
        raise PolicyError("expected 'log <vkey> [<url>]'")
    if _vkey_type(args[0]) != ALG_ED25519:
        raise PolicyError(f"log key type 0x{_vkey_type(args[0]):02x} is not supported: an Ed25519 "
                          "signed-note key (type 0x01) is")
    key = parse_vkey(args[0])
    if any(log.key.public_key == key.public_key for log in logs):
        raise PolicyError(f"log {key.name}: a log with the same public key is already listed")
    return PolicyLog(key, args[1] if len(args) == 2 else None)


def _witness(args: list[str], names: set[str], witnesses: list[PolicyWitness]) -> PolicyWitness:
    if len(args) not in (2, 3):
        raise PolicyError("expected 'witness <name> <vkey> [<url>]'")
    name = args[0]
    _new_name(name, names)
    key = parse_cosigner_vkey(args[1])
    if any(w.key.public_key == key.public_key for w in witnesses):
        raise PolicyError(f"witness {name!r}: a witness with the same public key is already listed")
    return PolicyWitness(name, key, args[2] if len(args) == 3 else None)


def _group(args: list[str], names: set[str]) -> PolicyGroup:
    if len(args) < 3:
        raise PolicyError("expected 'group <name> all|any|<k> <name>...' with at least one member")
    name, threshold_text, members = args[0], args[1], args[2:]
    _new_name(name, names)
    for member in members:
        if member == NONE:
            raise PolicyError(f"group {name!r}: 'none' cannot be a member")
        if member not in names:
            raise PolicyError(f"group {name!r}: member {member!r} is not defined on an earlier line")
    if len(set(members)) != len(members):
        raise PolicyError(f"group {name!r}: a member is listed twice")
    if threshold_text == "all":
        threshold = len(members)
    elif threshold_text == "any":
        threshold = 1
    elif _THRESHOLD_RE.match(threshold_text.encode("utf-8", "surrogateescape")):
        threshold = int(threshold_text)
        if threshold > len(members):
            raise PolicyError(f"group {name!r}: threshold {threshold} is more than its {len(members)} members")
    else:
        raise PolicyError(f"group {name!r}: expected all, any or a decimal threshold k >= 1, found "
                          f"{threshold_text[:20]!r}")
    return PolicyGroup(name, threshold, tuple(members))


def _new_name(name: str, names: set[str]) -> None:
    if name == NONE:
        raise PolicyError("'none' is predefined and cannot name a witness or group")
    if name in names:
        raise PolicyError(f"the name {name!r} is already defined")


# ------------------------------ ledger/core/trust.py ----------------------------------------
# The trust state read from the log itself (docs/FORMAT.md § 7).
#
# Genesis, policy, key registrations, revocations and rotations (principal keys and
# the ledger's own) are applied in index order; ``authorize`` says whether a statement
# may land at a given index and which signatures must verify. Pure: no I/O.

LEDGER_ROLE = "ledger"
ADMIN_ROLE = "administrator"
COURT_ROLE = "court"
# The role of an agency's official named at genesis: it signs nothing under the default policy, and
# countersigns the registration of its agency's keys.
AGENCY_OFFICIAL_ROLE = "agency_official"
CLOCK_SKEW = timedelta(minutes=5)
SELF_SIGNED_TYPES = frozenset({"key_registration", "key_rotation"})
# Besides the new key and a signer the policy allows, these may carry countersignatures by any valid
# key (a court's, an agency's): what a countersignature must be is a rule (ledger.rules.authority).
# A legacy_release (a past disclosure imported as accounting) is countersigned by an oversight key.
COUNTERSIGNED_TYPES = frozenset({"key_registration", "key_rotation", "legacy_release"})
TRUST_TYPES = frozenset(
    {"genesis", "policy", "key_registration", "key_revocation", "key_rotation",
     "ledger_key_rotation", "blocked"}
)
_ROLE_RE = re.compile(r"[a-z][a-z0-9_]{0,63}\Z")
_DATE_RE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])\Z")


class TrustInput(Protocol):
    """What the trust checks read of a statement: a Statement, or a lighter record of it.

    The envelope holds at least body, issued_at and not_after; the body matters only for
    the TRUST_TYPES (the checks read no other type's body).
    """

    @property
    def type(self) -> str: ...

    @property
    def signers(self) -> list[str]: ...

    @property
    def envelope(self) -> dict[str, Any]: ...

    @property
    def issued_at(self) -> datetime: ...

    @property
    def not_after(self) -> datetime: ...


@dataclass
class KeyRecord:
    """One key of one principal and the span of indices it may sign."""

    key: VerifierKey
    roles: tuple[str, ...]
    attributes: dict[str, Any]
    registered_at: int
    revoked_at: int | None = None

    def valid_at(self, index: int) -> bool:
        return self.registered_at < index and (self.revoked_at is None or index <= self.revoked_at)


def _check_roles(roles: Any, where: str) -> tuple[str, ...]:
    if not isinstance(roles, list) or not roles:
        raise StatementError(f"{where}: expected a non-empty list of roles")
    for role in roles:
        if not isinstance(role, str) or not _ROLE_RE.match(role):
            raise StatementError(f"{where}: bad role {role!r}")
    return tuple(roles)


def _check_attributes(attributes: Any, where: str) -> None:
    # Absent (or null) means none; anything else must be an object (it is applied as a dict).
    if attributes is not None and not isinstance(attributes, dict):
        raise StatementError(f"{where}: attributes must be an object, found {type(attributes).__name__}")


def check_policy(policy: Any) -> dict[str, tuple[str, ...]]:
    """A policy maps statement types to the roles allowed to sign them."""
    if not isinstance(policy, dict) or not policy:
        raise StatementError("policy must be a non-empty object of type -> roles")
    return {t: _check_roles(r, f"policy[{t}]") for t, r in policy.items()}


def check_cutover(value: Any, where: str) -> str | None:
    """A policy's ``legacy_cutover`` (optional): the date (YYYY-MM-DD, UTC) from which the ledger itself
    records disclosures; imported accounting (``legacy_release``) is dated strictly before it. It lives in
    genesis and in each ``policy`` statement, so that it changes only as the policy does."""
    if value is None:
        return None
    if not isinstance(value, str) or not _DATE_RE.match(value):
        raise StatementError(f"{where}.legacy_cutover: expected a date YYYY-MM-DD, found {str(value)[:40]!r}")
    return value


def _genesis_keys(body: dict[str, Any], member: str, attribute: str) -> list[tuple[VerifierKey, str]]:
    """Genesis keys named with what they anchor (optional): ``member`` is [{"vkey", ``attribute``}].

    ``court_clerks`` ({"vkey", "court"}): each a key of the court it names, registered at entry 0 with
    the court role; a registration granting the court role is countersigned by a key of that court, so
    no administrator makes a court. ``agency_officials`` ({"vkey", "agency"}): each a key of the agency
    it names, registered at entry 0 with the agency_official role; in a log whose genesis carries the
    member, a key registered or rotated with an ``agency`` attribute is countersigned by a key of that
    agency, so no administrator makes an agency's keys alone."""
    value = body.get(member)
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > 100:
        raise StatementError(f"genesis body.{member} must be a list of at most 100 objects")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or set(item) != {"vkey", attribute}:
            raise StatementError(f"genesis body.{member}[{i}] must be an object of vkey and {attribute}")
        named = item[attribute]
        if not isinstance(named, str) or not named or len(named) > 128:
            raise StatementError(f"genesis body.{member}[{i}].{attribute} must be a non-empty string")
        out.append((parse_vkey(_body_str(item, "vkey")), named))
    return out


def _body_str(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise StatementError(f"body.{key}: expected a string, found {type(value).__name__}")
    return value


@dataclass
class TrustState:
    """Keys, roles and policy as of ``size`` applied entries."""

    size: int = 0
    origin: str | None = None
    policy: dict[str, tuple[str, ...]] = field(default_factory=dict)
    keys: dict[str, list[KeyRecord]] = field(default_factory=dict)
    checkpoint_keys: list[VerifierKey] = field(default_factory=list)
    statement_key_name: str | None = None
    legacy_cutover: str | None = None  # the policy's cutover date (YYYY-MM-DD): none, no import lands
    # The genesis carries ``agency_officials``: every agency key is countersigned by a key of its agency.
    agency_anchored: bool = False

    # ---- queries -------------------------------------------------------------
    def active(self, name: str, index: int) -> KeyRecord | None:
        for record in reversed(self.keys.get(name, [])):
            if record.valid_at(index):
                return record
        return None

    def current(self, name: str) -> KeyRecord | None:
        """The key a name may sign the next entry with."""
        return self.active(name, self.size)

    def _signer_key(self, stmt: TrustInput, name: str, index: int) -> tuple[VerifierKey, KeyRecord | None]:
        body = stmt.envelope["body"]
        if stmt.type in SELF_SIGNED_TYPES and name == body.get("name"):
            key = parse_vkey(_body_str(body, "vkey"))
            if key.name != name:
                raise TrustError(f"vkey is named {key.name!r}, not {name!r}", "trust.key_name")
            return key, None
        if stmt.type == "ledger_key_rotation" and name == self.statement_key_name and body.get("statement_vkey"):
            return parse_vkey(_body_str(body, "statement_vkey")), None
        record = self.active(name, index)
        if record is None:
            known = self.keys.get(name)
            if known and any(r.revoked_at is not None and r.revoked_at < index for r in known):
                raise TrustError(f"the key of {name} was revoked before entry {index}", "trust.revoked_key")
            raise TrustError(f"no key is registered for {name} at entry {index}", "trust.unknown_key")
        return record.key, record

    # ---- the check -----------------------------------------------------------
    def authorize(self, stmt: TrustInput, index: int, recorded_at: str) -> list[VerifierKey]:
        """Raise unless stmt may be entry ``index``; return the keys whose signatures must verify.

        Signatures themselves are checked by ``check_signatures`` so that a verifier can
        run them in parallel.
        """
        if index != self.size:
            raise TrustError(f"trust state holds {self.size} entries, asked about entry {index}", "trust.order")
        recorded = parse_time(recorded_at)
        if index == 0:
            if stmt.type != "genesis":
                raise TrustError(f"entry 0 must be genesis, found {stmt.type}", "trust.genesis")
            return self._authorize_genesis(stmt)
        if stmt.type == "genesis":
            raise TrustError("genesis is only allowed at entry 0", "trust.genesis")
        if recorded > stmt.not_after:
            raise TrustError(
                f"statement expired: not_after {stmt.envelope['not_after']} is before {recorded_at}",
                "trust.expired",
            )
        if stmt.issued_at > recorded + CLOCK_SKEW:
            raise TrustError(
                f"statement issued in the future: {stmt.envelope['issued_at']} vs {recorded_at}",
                "trust.future",
            )
        allowed = self.policy.get(stmt.type)
        if allowed is None:
            raise TrustError(f"statement type {stmt.type!r} is not in the policy", "trust.type")
        keys = []
        entitled, outside = 0, []
        for name in stmt.signers:
            key, record = self._signer_key(stmt, name, index)
            keys.append(key)
            if record is None or set(record.roles) & set(allowed):
                entitled += record is not None
            else:
                outside.append((name, record))
        # A countersigner (a court's or an agency's key) signs beside a signer the policy allows, never instead.
        if outside and (stmt.type not in COUNTERSIGNED_TYPES or not entitled):
            name, record = outside[0]
            raise TrustError(
                f"{name} has roles {list(record.roles)}; {stmt.type} needs one of {list(allowed)}",
                "trust.role",
            )
        self._check_type_rules(stmt, index)
        return keys

    def _authorize_genesis(self, stmt: TrustInput) -> list[VerifierKey]:
        body = stmt.envelope["body"]
        for key in ("origin", "checkpoint_vkey", "statement_vkey", "administrator", "policy"):
            if key not in body:
                raise StatementError(f"genesis body.{key} is missing")
        checkpoint_key = parse_vkey(_body_str(body, "checkpoint_vkey"))
        statement_key = parse_vkey(_body_str(body, "statement_vkey"))
        if checkpoint_key.name != body["origin"]:
            raise StatementError("genesis checkpoint_vkey must be named after the origin")
        if statement_key.name == checkpoint_key.name:
            raise StatementError("genesis statement key must have its own name")
        admin = body["administrator"]
        if not isinstance(admin, dict):
            raise StatementError("genesis body.administrator must be an object")
        parse_vkey(_body_str(admin, "vkey"))
        _check_roles(admin.get("roles"), "genesis administrator roles")
        _check_attributes(admin.get("attributes"), "genesis administrator")
        clerks = _genesis_keys(body, "court_clerks", "court")
        officials = _genesis_keys(body, "agency_officials", "agency")
        names = [statement_key.name, parse_vkey(admin["vkey"]).name, *(k.name for k, _ in clerks),
                 *(k.name for k, _ in officials)]
        if len(set(names)) != len(names):
            raise StatementError("genesis keys (ledger, administrator, court clerks, agency officials) need "
                                 "distinct names")
        policy = check_policy(body["policy"])
        check_cutover(body.get("legacy_cutover"), "genesis body")
        if LEDGER_ROLE not in policy.get("blocked", ()):
            raise StatementError("genesis policy must let the ledger sign 'blocked'")
        if stmt.signers != [statement_key.name]:
            raise TrustError("genesis must be signed by the ledger's statement key alone", "trust.genesis")
        return [statement_key]

    def _check_type_rules(self, stmt: TrustInput, index: int) -> None:
        body = stmt.envelope["body"]
        others = [n for n in stmt.signers if not (stmt.type in SELF_SIGNED_TYPES and n == body.get("name"))]
        if stmt.type in SELF_SIGNED_TYPES:
            name = _body_str(body, "name")
            if name not in stmt.signers:
                raise TrustError(f"{stmt.type} must be signed by the new key itself", "trust.proof_of_possession")
            if not others:
                raise TrustError(f"{stmt.type} needs an administrator's signature too", "trust.role")
            new_key = parse_vkey(_body_str(body, "vkey"))
            for records in self.keys.values():
                if any(r.key.public_key == new_key.public_key for r in records):
                    raise TrustError("this public key is already registered", "trust.key_reuse")
            current = self.active(name, index)
            if stmt.type == "key_registration":
                if current is not None:
                    raise TrustError(f"{name} already has a valid key; rotate it instead", "trust.name_taken")
                _check_roles(body.get("roles"), "key_registration roles")
                _check_attributes(body.get("attributes"), "key_registration")
                if LEDGER_ROLE in body["roles"]:
                    raise TrustError("the ledger role cannot be registered", "trust.role")
            else:
                if current is None:
                    raise TrustError(f"{name} has no valid key to rotate", "trust.unknown_key")
                if _body_str(body, "retires") != f"{current.key.key_id:08x}":
                    raise TrustError("rotation must name the key it retires", "trust.rotation")
        elif stmt.type == "key_revocation":
            name = _body_str(body, "name")
            key_id = _body_str(body, "key_id")
            if not any(f"{r.key.key_id:08x}" == key_id and r.valid_at(index) for r in self.keys.get(name, [])):
                raise TrustError(f"{name} has no valid key {key_id} to revoke", "trust.unknown_key")
            if name == self.statement_key_name:
                raise TrustError("the ledger's key is replaced by ledger_key_rotation", "trust.rotation")
        elif stmt.type == "ledger_key_rotation":
            if self.statement_key_name not in stmt.signers:
                raise TrustError("ledger_key_rotation must be signed by the ledger's key", "trust.rotation")
            # A new statement key signs for the ledger's name itself (proof of possession), and a
            # new checkpoint key changes the trust root: either way an administrator must authorise
            # it, so neither a fresh key nor the ledger's own key alone can rotate the ledger's keys.
            if len(stmt.signers) < 2:
                raise TrustError(
                    "ledger_key_rotation needs an administrator's signature beside the ledger's key",
                    "trust.role",
                )
            if body.get("checkpoint_vkey"):
                key = parse_vkey(_body_str(body, "checkpoint_vkey"))
                if key.name != self.origin:
                    raise StatementError("a new checkpoint key must be named after the origin")
            if body.get("statement_vkey"):
                key = parse_vkey(_body_str(body, "statement_vkey"))
                if key.name != self.statement_key_name:
                    raise StatementError("a new statement key keeps the statement key's name")
        elif stmt.type == "policy":
            check_policy(body.get("policy"))
            check_cutover(body.get("legacy_cutover"), "policy body")
        elif stmt.type == "blocked" and stmt.signers != [self.statement_key_name]:
            raise TrustError("blocked entries are signed by the ledger alone", "trust.role")

    @staticmethod
    def check_signatures(stmt: Statement, keys: Sequence[VerifierKey]) -> None:
        """Every listed signer signed exactly once with its key; no other signature line."""
        verify_exactly(stmt.note, keys)

    # ---- state changes -------------------------------------------------------
    def apply(self, stmt: TrustInput, index: int) -> None:
        """Apply an authorised statement at ``index`` (the next one)."""
        if index != self.size:
            raise TrustError(f"applying entry {index} to a state of {self.size} entries", "trust.order")
        body = stmt.envelope["body"]
        if stmt.type == "genesis":
            self.origin = body["origin"]
            self.policy = check_policy(body["policy"])
            self.legacy_cutover = check_cutover(body.get("legacy_cutover"), "genesis body")
            self.checkpoint_keys = [parse_vkey(body["checkpoint_vkey"])]
            statement_key = parse_vkey(body["statement_vkey"])
            self.statement_key_name = statement_key.name
            self._add(statement_key, (LEDGER_ROLE,), {}, index)
            admin = body["administrator"]
            self._add(parse_vkey(admin["vkey"]), tuple(admin["roles"]), dict(admin.get("attributes") or {}), index)
            for key, court in _genesis_keys(body, "court_clerks", "court"):
                self._add(key, (COURT_ROLE,), {"court": court, "clerk": True}, index)
            if body.get("agency_officials") is not None:
                self.agency_anchored = True
                for key, agency in _genesis_keys(body, "agency_officials", "agency"):
                    self._add(key, (AGENCY_OFFICIAL_ROLE,), {"agency": agency, "official": True}, index)
        elif stmt.type == "policy":
            self.policy = check_policy(body["policy"])
            self.legacy_cutover = check_cutover(body.get("legacy_cutover"), "policy body")
        elif stmt.type == "key_registration":
            self._add(parse_vkey(body["vkey"]), tuple(body["roles"]), dict(body.get("attributes") or {}), index)
        elif stmt.type == "key_rotation":
            old = self.active(body["name"], index)
            assert old is not None
            old.revoked_at = index
            self._add(parse_vkey(body["vkey"]), old.roles, old.attributes, index)
        elif stmt.type == "key_revocation":
            for record in self.keys.get(body["name"], []):
                if f"{record.key.key_id:08x}" == body["key_id"] and record.revoked_at is None:
                    record.revoked_at = index
        elif stmt.type == "ledger_key_rotation":
            if body.get("checkpoint_vkey"):
                self.checkpoint_keys.append(parse_vkey(body["checkpoint_vkey"]))
            if body.get("statement_vkey"):
                assert self.statement_key_name is not None
                old = self.active(self.statement_key_name, index)
                assert old is not None
                old.revoked_at = index
                self._add(parse_vkey(body["statement_vkey"]), (LEDGER_ROLE,), {}, index)
        self.size = index + 1

    def _add(self, key: VerifierKey, roles: tuple[str, ...], attributes: dict[str, Any], index: int) -> None:
        self.keys.setdefault(key.name, []).append(KeyRecord(key, roles, attributes, index))

    def admit(self, stmt: Statement, index: int, recorded_at: str) -> None:
        """authorize + check_signatures + apply, in that order."""
        keys = self.authorize(stmt, index, recorded_at)
        try:
            self.check_signatures(stmt, keys)
        except SignatureError:
            raise
        self.apply(stmt, index)


# ------------------------------ ledger/core/bundle_check.py ---------------------------------
# Checking an evidence bundle: one request's entries, proved against one checkpoint (docs/VERIFYING.md).
#
# A bundle holds, for one request, a signed checkpoint, the entries of the request's life (request,
# match results, reviews, releases and all their chunks, orders, attestations, ...) and every trust
# entry up to the checkpoint's size, each entry with its inclusion proof; optionally paths of chosen
# lines inside bulk statements (FORMAT § 17.7) and the openings of the bundled commitments.
#
# Pure: the caller reads the files and passes their bytes; every failure is a ``BundleError`` whose
# message names what failed and never repeats a committed value (openings are named by field and
# commitment only). The order of the checks is fixed: checkpoint, inclusion proofs, signatures under
# the trust state of the bundled trust entries (here), then bulk statements complete, line paths and
# openings (ledger.core.bundle_lines), and the delivered files it holds (ledger.core.delivered); the files'
# shape and bundle.json are ledger.core.bundle_format's.

# ---- the verification ---------------------------------------------------------------------------
def open_bundle_checkpoint(data: bytes, trust_root: VerifierKey) -> Checkpoint:
    """Check 1: the checkpoint is signed by the trust root."""
    try:
        return open_checkpoint(data, trust_root).checkpoint
    except LedgerError as e:
        raise BundleError(f"checkpoint: {e}") from None


def verify_bundle(files: BundleFiles, trust_root: VerifierKey, *, check_openings: bool,
                  passed: Passed) -> BundleSummary:
    """Every check of a bundle, in order; raise BundleError at the first that fails."""
    manifest = parse_bundle_manifest(files.manifest)
    cp = open_bundle_checkpoint(files.checkpoint, trust_root)
    if cp.origin != manifest["origin"] or cp.size != manifest["tree_size"]:
        raise BundleError(
            f"bundle.json names origin {manifest['origin']!r} and tree size {manifest['tree_size']}, "
            f"the checkpoint {cp.origin!r} and {cp.size}"
        )
    passed("checkpoint", f"{cp.origin}, size {cp.size}, root {cp.root.hex()}: signed by the trust root")

    entries = _bundle_inclusion(files, manifest, cp, passed)
    signatures = _bundle_signatures(entries, trust_root, cp, passed)
    if not any(be.stmt.type == "request" and be.stmt.id == manifest["request"] for be in entries):
        raise BundleError(f"bundle.json names request {manifest['request'][:130]!r}, which is not in the bundle")
    bulk = check_bundle_bulk(entries, manifest, passed)
    listed, held = manifest["entries"], [be.index for be in entries]
    if held != listed:
        missing = sorted(set(listed) - set(held))
        extra = sorted(set(held) - set(listed))
        raise BundleError(f"entries.jsonl does not hold the entries bundle.json lists "
                          f"(missing {missing[:10]}, not listed {extra[:10]})")
    lines = check_bundle_lines(files.lines, manifest, entries, bulk, passed)
    opened = erased = 0
    if check_openings:
        opened, erased = check_bundle_openings(files.openings, manifest, entries, passed)
    delivered = 0
    if files.delivered:
        delivered = check_delivered_files(files.delivered, manifest["request"], entries, bulk,
                                          files.openings if check_openings else None, passed)
    return BundleSummary(cp.origin, manifest["request"], cp.size, cp.root, len(entries), signatures,
                         sorted(bulk), lines, opened, erased, delivered)


def _bundle_inclusion(files: BundleFiles, manifest: dict[str, Any], cp: Checkpoint,
                     passed: Passed) -> list[BundleEntry]:
    """Check 2: every entry parses and its inclusion proof leads to the checkpoint's root."""
    raw: list[tuple[int, bytes]] = []
    for number, value in bundle_jsonl(files.entries, "entries.jsonl"):
        if not isinstance(value, dict) or set(value) != {"entry_b64", "index"}:
            raise BundleError(f"entries.jsonl line {number}: expected an export line {{entry_b64, index}}")
        index = bundle_count(value["index"], f"entries.jsonl line {number} index")
        if raw and index <= raw[-1][0]:
            raise BundleError(f"entries.jsonl line {number}: entry {index} is out of index order")
        if index >= cp.size:
            raise BundleError(f"entry {index} is past the checkpoint's tree size {cp.size}", index)
        if not isinstance(value["entry_b64"], str):
            raise BundleError("entries.jsonl: entry_b64 must be a string", index)
        try:
            raw.append((index, b64decode(value["entry_b64"])))
        except LedgerError as e:
            raise BundleError(f"entries.jsonl: entry_b64 is not strict base64: {e}", index) from None
    proofs: dict[int, list[bytes]] = {}
    for number, value in bundle_jsonl(files.proofs, "proofs.jsonl"):
        if not isinstance(value, dict) or set(value) != {"index", "tree_size", "path"}:
            raise BundleError(f"proofs.jsonl line {number}: expected {{index, tree_size, path}}")
        index = bundle_count(value["index"], f"proofs.jsonl line {number} index")
        if bundle_count(value["tree_size"], f"proofs.jsonl line {number} tree_size") != cp.size:
            raise BundleError(f"inclusion proof is for tree size {value['tree_size']}, "
                              f"the checkpoint's is {cp.size}", index)
        if index in proofs:
            raise BundleError("two inclusion proofs in proofs.jsonl", index)
        proofs[index] = bundle_path(value["path"], f"inclusion proof of entry {index}")
    out = []
    for index, data in raw:
        path = proofs.pop(index, None)
        if path is None:
            raise BundleError("no inclusion proof in proofs.jsonl", index)
        try:
            verify_inclusion(index, cp.size, leaf_hash(data), path, cp.root)
        except LedgerError as e:
            raise BundleError(f"inclusion proof does not lead to the checkpoint's root: {e}", index) from None
        try:
            entry = parse_entry(data)
            stmt = parse_statement(entry.statement)
        except LedgerError as e:
            raise BundleError(f"malformed entry: {e}", index) from None
        if entry.index != index:
            raise BundleError(f"the entry's own index is {entry.index}", index)
        out.append(BundleEntry(index, data, entry, stmt))
    if proofs:
        raise BundleError(f"proofs.jsonl holds proofs of entries not in the bundle: {sorted(proofs)[:10]}")
    passed("inclusion", f"{len(out)} entries, each included in the checkpoint's tree of size {cp.size}")
    return out


def _bundle_signatures(entries: list[BundleEntry], trust_root: VerifierKey, cp: Checkpoint,
                      passed: Passed) -> int:
    """Check 3: every statement is signed as the trust state of the bundled trust entries requires."""
    if not entries or entries[0].index != 0:
        raise BundleError("entry 0 (genesis) is missing from the bundle: the trust state starts there")
    trust = TrustState()
    signatures = 0
    previous: BundleEntry | None = None
    for be in entries:
        if previous is not None:
            if be.index == previous.index + 1 and be.entry.prev != leaf_hash(previous.data).hex():
                raise BundleError("prev does not link to the previous entry", be.index)
            if be.entry.recorded_at < previous.entry.recorded_at:
                raise BundleError(f"recorded_at decreases (entry {previous.index} was recorded at "
                                  f"{previous.entry.recorded_at})", be.index)
        elif be.entry.prev != ZERO_HASH_HEX:
            raise BundleError("entry 0 must have prev of 64 zeros", be.index)
        trust.size = be.index  # entries of other types change no trust state
        try:
            keys = trust.authorize(be.stmt, be.index, be.entry.recorded_at)
            trust.check_signatures(be.stmt, keys)
            trust.apply(be.stmt, be.index)
        except LedgerError as e:
            rule = getattr(e, "rule", None)
            raise BundleError(f"{rule}: {e}" if rule else str(e), be.index) from None
        signatures += len(keys)
        previous = be
    trust.size = cp.size
    if trust.origin != cp.origin:
        raise BundleError(f"the log's origin (genesis) is {trust.origin!r}, the checkpoint's is {cp.origin!r}")
    if trust_root not in trust.checkpoint_keys:
        raise BundleError(f"the trust root {trust_root} is not one of the log's checkpoint keys "
                          f"(genesis and ledger_key_rotation): {[str(k) for k in trust.checkpoint_keys]}")
    trust_count = sum(1 for be in entries if be.stmt.type in TRUST_TYPES)
    passed("signatures", f"{signatures} signatures on {len(entries)} statements, under the keys, roles and "
                         f"policy of the {trust_count} bundled trust entries")
    return signatures


# ------------------------------ ledger/core/diagnosis.py ------------------------------------
# What the files say about a failure, and what kind of file a file is.
#
# When a check fails, the verifier has a technical reason; ledger.core.plain turns it into plain
# words, and some of those words need more than the reason: whether a missing index appears
# later in the export (moved, not deleted), whether a signature that does not verify could
# have been made by any Ed25519 key at all, whether the next entry still links to the entry
# as it is. These functions find that out from the bytes, after the failure (never on the
# path of a verification that holds). Pure: they read what they are given, no files.

# The order of Ed25519's prime-order group: a signature's S is reduced modulo it.
ED25519_ORDER = 2**252 + 27742317777372353535851937790883648493
SNIFF_BYTES = 65_536
DECODED_HEADER = "# Disclosure Ledger export, decoded for reading"
# A line's "index" member, read without parsing the line (base64 holds no quote).
_LINE_INDEX_RE = re.compile(rb'"index":(0|[1-9][0-9]{0,15})[,}]')
_SEQUENCE_RE = re.compile(r"^export line index out of sequence \(expected (\d+), found (\d+)\)")
_SIGNATURE_RE = re.compile(r"^signature by (\S+) \(([0-9a-f]{8})\) does not verify")
_CHECKPOINT_SIGNATURE_RE = re.compile(r"^(?:previous checkpoint|checkpoint): signature by (\S+) \(([0-9a-f]{8})\)")
_VKEY_RE = re.compile(r"[!-*,-~]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+={0,2}\Z")
_TREE_SIZE_TEXT_RE = re.compile(r"[0-9]{1,19}\Z")
# At most this many indices between an expected and a found one are checked one by one.
_GAP_LIMIT = 10_000

KeyLookup = Callable[[str, int, Statement], "VerifierKey | None"]


def impossible_signature(signature: bytes) -> bool:
    """True when no Ed25519 signer can have made ``signature`` (R || S), whatever the message.

    A signer's R is a multiple of the base point (a point of the prime-order group, never
    the identity) and its S is reduced modulo the group's order: a signature whose S is not
    reduced, or whose R is not such a point, was damaged or altered after signing.
    """
    if len(signature) != 64:
        return True
    if int.from_bytes(signature[32:], "little") >= ED25519_ORDER:
        return True
    return not nacl.bindings.crypto_core_ed25519_is_valid_point(signature[:32])


def line_index(line: bytes) -> int | None:
    """The index an export line (or a bundle's entries.jsonl line) claims, or None."""
    match = _LINE_INDEX_RE.search(line, max(0, line.rfind(b'"index":')))
    return int(match[1]) if match else None


def line_entry(line: bytes) -> bytes | None:
    """The entry bytes an export line carries, or None when the line cannot be decoded."""
    try:
        value = json.loads(line)
        return b64decode(value["entry_b64"])
    except (ValueError, TypeError, KeyError, LedgerError):
        return None


def trust_keys(trust: TrustState) -> KeyLookup:
    """Find a signer's key by name and key ID: in the log's trust state, or, for a key that
    signs its own registration or the ledger's rotation, in the statement's body."""

    def find(name: str, key_id: int, stmt: Statement) -> VerifierKey | None:
        candidates = [record.key for record in trust.keys.get(name, [])]
        for field_name in ("vkey", "statement_vkey"):
            text = stmt.body.get(field_name)
            if isinstance(text, str):
                with contextlib.suppress(LedgerError):
                    candidates.append(parse_vkey(text))
        return next((k for k in candidates if k.name == name and k.key_id == key_id), None)

    return find


def diagnose(index: int | None, reason: str, lines: Iterable[bytes], keys: KeyLookup | None = None) -> Facts:
    """The facts ledger.core.plain needs about a failure of entry ``index``, from the export's lines."""
    sequence = _SEQUENCE_RE.match(reason)
    if sequence is not None:
        return sequence_facts(lines, int(sequence[1]), int(sequence[2]))
    signature = _SIGNATURE_RE.match(reason)
    if signature is not None and index is not None:
        return signature_facts(lines, index, signature[1], int(signature[2], 16), keys)
    return Facts()


def sequence_facts(lines: Iterable[bytes], expected: int, found: int) -> Facts:
    """Where the indices around an out-of-sequence line appear in the export."""
    facts = Facts()
    gap = range(expected, found) if 1 < found - expected <= _GAP_LIMIT else None
    gap_seen = False
    for position, line in enumerate(lines):
        index = line_index(line)
        if index is None:
            continue
        if index == expected and facts.expected_at is None:
            facts.expected_at = position
        if index == found and facts.found_first_at is None:
            facts.found_first_at = position
        if position == found:
            facts.found_position_holds = index
        if gap is not None and index in gap:
            gap_seen = True
    facts.gap_absent = gap is not None and not gap_seen
    return facts


def signature_facts(
    lines: Iterable[bytes], index: int, name: str, key_id: int, keys: KeyLookup | None = None
) -> Facts:
    """What entry ``index``, its other signatures and the entry after it say about a bad signature."""
    facts = Facts()
    data = following = None
    for line in lines:
        found = line_index(line)
        if found == index and data is None:
            data = line_entry(line)
        elif found == index + 1 and data is not None:
            following = line_entry(line)
            break
    if data is None:
        return facts
    try:
        stmt = parse_statement(parse_entry(data).statement)
    except LedgerError:
        return facts
    message = stmt.note.text.encode("utf-8")
    others = []
    for sig in stmt.note.signatures:
        if sig.name == name and sig.key_id == key_id:
            facts.impossible_signature = impossible_signature(sig.signature)
        else:
            others.append(sig)
    if others and keys is not None:
        verified = []
        for sig in others:
            key = keys(sig.name, sig.key_id, stmt)
            if key is None:
                break
            try:
                key.verify(message, sig.signature)
                verified.append(True)
            except LedgerError:
                verified.append(False)
        if len(verified) == len(others):
            facts.others_verify = all(verified)
    if following is not None:
        with contextlib.suppress(LedgerError):
            facts.next_links = parse_entry_fields(following)[1] == leaf_hash(data).hex()
    return facts


def checkpoint_facts(reason: str, data: bytes) -> Facts:
    """Whether a checkpoint's signature that does not verify could have been made by any key."""
    facts = Facts()
    match = _CHECKPOINT_SIGNATURE_RE.match(reason)
    if match is None:
        return facts
    try:
        note = parse_note(data)
    except LedgerError:
        return facts
    for sig in note.signatures:
        if sig.name == match[1] and sig.key_id == int(match[2], 16):
            facts.impossible_signature = impossible_signature(sig.signature)
    return facts


# ---- kinds of file ------------------------------------------------------------------------
def file_kind(head: bytes) -> str | None:
    """What the first bytes of a file (up to SNIFF_BYTES) look like: a ledger.core.plain_files.KIND_NAMES
    key, or None when it looks like none of them (it is then read as what it was given as)."""
    if not head:
        return "empty"
    head = head.removeprefix(b"\xef\xbb\xbf")
    first, _, rest = head.partition(b"\n")
    first = first.rstrip(b"\r")
    if first.startswith(b"{"):
        return _json_kind(first, more=bool(rest.strip()))
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text.startswith(DECODED_HEADER):
        return "decoded"
    lines = text.replace("\r\n", "\n").split("\n")
    if text.startswith("PRIVATE+KEY+"):
        return "signer-key"
    if _VKEY_RE.match(lines[0]) and not any(line.strip() for line in lines[1:]):
        return "vkey"
    if len(lines) >= 3 and lines[0] and " " not in lines[0] and _TREE_SIZE_TEXT_RE.match(lines[1]):
        return "checkpoint"
    return None


def _json_kind(first: bytes, more: bool) -> str | None:
    try:
        value: Any = json.loads(first)
    except ValueError:
        value = None
    if not isinstance(value, dict):  # a line too long to sniff whole, or not JSON
        if b'"entry_b64"' in first:
            return "export" if more else "export-line"
        if b'"prev"' in first and b'"statement"' in first:
            return "entry"
        return None
    keys = set(value)
    if {"entry_b64", "index"} <= keys:
        return "export" if more else "export-line"
    if {"index", "prev", "recorded_at", "statement"} <= keys:
        return "entry"
    if {"old_size", "new_size", "old_root", "new_root", "path"} <= keys:
        return "consistency-proof"
    if {"index", "tree_size", "leaf_hash", "root", "path"} <= keys:
        return "inclusion-proof"
    if keys == {"index", "path", "tree_size"}:
        return "bundle-proofs"
    if {"commitment", "opening"} <= keys:
        return "bundle-openings"
    form = value.get("format")
    if isinstance(form, str) and form.startswith("dl-bundle/"):
        return "bundle-json"
    if isinstance(form, str) and form.startswith("dl-verification-report/"):
        return "report"
    if {"body", "signers", "type"} <= keys:
        return "statement"
    return None


def folder_kind(names: Iterable[str]) -> str:
    """A folder holding bundle.json is an evidence bundle."""
    return "bundle" if "bundle.json" in set(names) else "folder"


def checkpoint_damage(data: bytes) -> tuple[str, int | None, str | None] | None:
    """How a checkpoint file was changed outside its signed text: (a ledger.core.plain_files.DAMAGE key,
    the line number, the line), or None.

    Such a change (an editor's line endings or byte order mark, a line added after the
    signatures) says nothing about the log: the file is not the one the ledger wrote.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return "bom", None, None
    if b"\r\n" in data:
        return "crlf", None, None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    split = text.find("\n\n")
    if split < 0:
        return None
    block = text[split + 2 :].split("\n")
    signed = [n for n, line in enumerate(block) if line.startswith(SIG_PREFIX)]
    if not signed:
        return None
    trailing = block[signed[-1] + 1 :]
    if trailing == [""]:
        return None
    if not trailing:
        return "no-final-newline", None, None
    return "extra-line", text[: split + 2].count("\n") + signed[-1] + 2, trailing[0]


# ------------------------------ ledger/core/readable.py -------------------------------------
# An entry and its statement decoded for a person to read.
#
# The export is base64 that nobody can read; ``verify_ledger.py --show INDEX`` and
# ``disclosure-ledger export --decoded`` print what an entry says instead: when it was
# recorded, what kind of statement it holds, who signed it with which key, and its body.
# Nothing is looked up: names, TINs and addresses appear in the log only as salted
# commitments (64 hex digits), and so they appear here; no opening is ever shown. What is
# shown is what the file holds, not what a verification established.

DECODED_NOTE = (
    "# A reading aid, not evidence: the export is the evidence, and verify_ledger.py checks it.\n"
    "# Names, TINs, addresses and case numbers appear only as salted commitments (64 hex digits);\n"
    "# this file holds no openings. Signatures are listed, not checked here.\n"
)
_INLINE = 100  # a list of plain values is written on one line up to this width


def decode_entry(data: bytes) -> dict[str, Any]:
    """What entry ``data`` says, as plain JSON values; raises LedgerError if it cannot be read."""
    entry = parse_entry(data)
    shown: dict[str, Any] = {
        "index": entry.index,
        "recorded_at": entry.recorded_at,
        "prev": entry.prev,
        "leaf_hash": entry.leaf_hash.hex(),
        "statement_sha256": hashlib.sha256(entry.statement.encode("utf-8")).hexdigest(),
    }
    try:
        stmt = parse_statement(entry.statement)
    except LedgerError as e:
        shown["unreadable_statement"] = str(e)
        shown["statement_text"] = entry.statement
        return shown
    shown.update(
        type=stmt.type,
        id=stmt.id,
        signers=stmt.signers,
        issued_at=stmt.envelope["issued_at"],
        not_after=stmt.envelope["not_after"],
        signatures=[{"name": s.name, "key_id": f"{s.key_id:08x}"} for s in stmt.note.signatures],
        body=stmt.body,
    )
    return shown


def describe_entry(data: bytes) -> str:
    """Entry ``data`` as text for a person; raises LedgerError if it cannot be read."""
    shown = decode_entry(data)
    out = [f"entry {shown['index']}"]
    if "unreadable_statement" in shown:
        out += [
            f"  recorded at:   {shown['recorded_at']}",
            f"  statement:     cannot be read ({shown['unreadable_statement']})",
            f"  its text:      {json.dumps(shown['statement_text'])}",
        ]
    else:
        signatures = ", ".join(f"{s['name']} (key {s['key_id']})" for s in shown["signatures"])
        out += [
            f"  type:          {shown['type']}",
            f"  id:            {_scalar(shown['id'])}",
            f"  recorded at:   {shown['recorded_at']}",
            f"  issued at:     {shown['issued_at']}",
            f"  valid until:   {shown['not_after']}",
            f"  signers:       {', '.join(shown['signers'])}",
            f"  signatures:    {signatures}",
        ]
    out += [
        f"  leaf hash:     {shown['leaf_hash']}",
        f"  links to:      {shown['prev']}",
        f"  statement SHA-256: {shown['statement_sha256']}",
    ]
    if "body" in shown:
        out.append("  body:" + ("" if shown["body"] else " (empty)"))
        out += _outline(shown["body"], "    ")
    return "\n".join(out) + "\n"


def decoded_export(lines: Iterable[bytes]) -> Iterator[str]:
    """The decoded companion of an export: a header, then each line's entry as describe_entry says."""
    yield DECODED_HEADER + "\n" + DECODED_NOTE
    for position, line in enumerate(lines):
        yield "\n" + describe_line(line, position)


def describe_line(line: bytes, position: int) -> str:
    """One export line for a person, or why it cannot be decoded."""
    data = line_entry(line)
    if data is not None:
        try:
            return describe_entry(data)
        except LedgerError as e:
            return f"line {position + 1}: an entry that cannot be read ({e})\n"
    index = line_index(line)
    claimed = f" (it claims to be entry {index})" if index is not None else ""
    return f"line {position + 1}: not an export line that can be decoded{claimed}\n"


def _scalar(value: Any) -> str:
    """A plain value on one line: a string bare unless it could be read as something else, JSON otherwise."""
    if isinstance(value, str):
        bare = value.isprintable() and value == value.strip() and ": " not in value
        if bare and value[:1] not in ("", "[", "{", '"', "-", "#") and not _looks_like_json(value):
            return value
        return json.dumps(value, ensure_ascii=not value.isprintable())
    return json.dumps(value)


def _looks_like_json(text: str) -> bool:
    """A string that reads as a JSON number, true, false or null if printed bare."""
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _outline(value: Any, pad: str) -> list[str]:
    """Nested objects and lists as indented ``key: value`` lines."""
    out = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                inline = _inline_list(item)
                out += [f"{pad}{key}: {inline}"] if inline else [f"{pad}{key}:", *_outline(item, pad + "  ")]
            else:
                out.append(f"{pad}{key}: {_scalar(item) if not isinstance(item, (dict, list)) else json.dumps(item)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)) and item:
                inline = _inline_list(item)
                if inline:
                    out.append(f"{pad}- {inline}")
                    continue
                nested = _outline(item, pad + "  ")
                out += [f"{pad}- {nested[0].lstrip()}", *nested[1:]]
            else:
                out.append(f"{pad}- {_scalar(item) if not isinstance(item, (dict, list)) else json.dumps(item)}")
    return out


def _inline_list(value: Any) -> str | None:
    if not isinstance(value, list) or any(isinstance(v, (dict, list)) for v in value):
        return None
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _INLINE and all(not isinstance(v, str) or v.isprintable() for v in value) else None


# ------------------------------ ledger/core/verify.py ---------------------------------------
# Verification of a whole log, entry by entry, from the entry bytes alone.
#
# Shared by ``disclosure-ledger verify`` (on the stored log) and the court's script
# (on an export). Every check is on. Two parts can run in other processes: the
# stateless parsing of an entry (``parse_log_entry``, then ``add_parsed``; or, sending
# less between processes, ``entry_record``, then ``add_record``), and the Ed25519 checks
# themselves (``defer_signatures``, then ``check_deferred``). The reasons given are the
# same whichever way the work is split.

class ChainLink(Protocol):
    """What the chain checks read of an entry: an Entry, or a lighter record of these four."""

    @property
    def index(self) -> int: ...

    @property
    def prev(self) -> str: ...

    @property
    def recorded_at(self) -> str: ...

    @property
    def leaf_hash(self) -> bytes: ...


@dataclass
class DeferredSignatures:
    """Ed25519 checks collected for a range of entries: (index, signed text, [(key, signature)]).

    Which signature line belongs to which key was settled when the entry was admitted
    (``match_signatures``); only the Ed25519 verifications remain.
    """

    items: list[tuple[int, bytes, list[tuple[VerifierKey, bytes]]]] = field(default_factory=list)


def parse_log_entry(data: bytes, index: int) -> tuple[Entry, Statement | str]:
    """The stateless checks of entry ``index``, which need no earlier entry.

    Raises VerificationError if the entry is malformed. A malformed statement is returned
    as its reason, for ``add_parsed`` to raise after the chain checks (as ``add`` does).
    """
    try:
        entry = parse_entry(data)
    except LedgerError as e:
        raise VerificationError(f"malformed entry: {e}", index) from None
    try:
        return entry, parse_statement(entry.statement)
    except LedgerError as e:
        return entry, f"malformed statement: {e}"


# ---- an entry as a compact record, to cross processes ------------------------------
# The stateless checks of an entry (parse_log_entry) can run in another process; what the
# in-order checks then need of it travels as plain tuples, which pickle cheaply:
#   (index, prev, recorded_at, leaf_hash, statement), statement being the reason it is
#   malformed, or (type, id, signers, issued_at, not_after, body, signed text, lines),
#   body only for the TRUST_TYPES (None otherwise: no check reads another type's body),
#   lines the signature lines as (name, key_id, signature).
StatementFacts = tuple[
    str, str, list[str], str, str, "dict[str, Any] | None", bytes, tuple[tuple[str, int, bytes], ...]
]
EntryRecord = tuple[int, str, str, bytes, "StatementFacts | str"]


def entry_record(data: bytes, index: int) -> EntryRecord:
    """``parse_log_entry`` of entry ``index``, as a compact record for ``LogVerifier.add_record``.

    Raises VerificationError if the entry is malformed (a malformed statement is recorded).
    """
    try:
        entry_index, prev, recorded_at, statement = parse_entry_fields(data)
    except LedgerError as e:
        raise VerificationError(f"malformed entry: {e}", index) from None
    leaf = leaf_hash(data)
    try:
        _, note, envelope = parse_statement_parts(statement)
    except LedgerError as e:
        return entry_index, prev, recorded_at, leaf, f"malformed statement: {e}"
    type_ = envelope["type"]
    facts: StatementFacts = (
        type_, envelope["id"], envelope["signers"], envelope["issued_at"], envelope["not_after"],
        envelope["body"] if type_ in TRUST_TYPES else None,
        note.text.encode("utf-8"),
        tuple([(s.name, s.key_id, s.signature) for s in note.signatures]),
    )
    return entry_index, prev, recorded_at, leaf, facts


class SignatureLine(NamedTuple):
    name: str
    key_id: int
    signature: bytes


class StatementRecord:
    """What the trust checks read of a statement (ledger.core.trust.TrustInput), rebuilt from
    StatementFacts without parsing the statement again. Its envelope carries the body only
    for the TRUST_TYPES ({} for any other type)."""

    __slots__ = ("envelope", "id", "issued_at", "lines", "message", "not_after", "signers", "type")

    def __init__(self, facts: StatementFacts) -> None:
        type_, id_, signers, issued_at, not_after, body, message, lines = facts
        self.type: str = type_
        self.id: str = id_
        self.signers: list[str] = signers
        self.envelope: dict[str, Any] = {
            "v": 1, "type": type_, "id": id_, "signers": signers, "issued_at": issued_at,
            "not_after": not_after, "body": {} if body is None else body,
        }
        self.issued_at: datetime = parse_time(issued_at)
        self.not_after: datetime = parse_time(not_after)
        self.message = message
        self.lines = [SignatureLine(*line) for line in lines]


class LogVerifier:
    """Feed entries in order; every structural, chain, time and trust check runs as they arrive."""

    def __init__(self, *, defer_signatures: bool = False) -> None:
        self.trust = TrustState()
        self.frontier = Frontier()
        self.prev_hex = ZERO_HASH_HEX
        self.last_recorded_at: str | None = None
        self.defer = defer_signatures
        self.deferred = DeferredSignatures()
        # Receives (level, position, hash) of every tree node completed; fsck compares stored nodes.
        self.on_node: Callable[[int, int, bytes], None] | None = None

    @property
    def size(self) -> int:
        return self.frontier.size

    def root(self) -> bytes:
        return self.frontier.root()

    def add(self, data: bytes, index: int | None = None) -> Entry:
        """Check one entry's bytes as the next entry; raise VerificationError naming it."""
        expected = self.size
        if index is not None and index != expected:
            raise VerificationError("index out of sequence", expected, expected, index)
        entry, stmt = parse_log_entry(data, expected)
        self.add_parsed(entry, stmt)
        return entry

    def add_parsed(self, entry: ChainLink, stmt: Statement | str) -> None:
        """``add`` for an entry already through ``parse_log_entry`` (perhaps in another process).

        ``entry`` may be the Entry or any record of its index, prev, recorded_at and leaf hash.
        """
        expected = self.size
        if entry.index != expected:
            raise VerificationError("entry index out of sequence", expected, expected, entry.index)
        if entry.prev != self.prev_hex:
            raise VerificationError("prev does not link to the previous entry", expected, self.prev_hex, entry.prev)
        if self.last_recorded_at is not None and entry.recorded_at < self.last_recorded_at:
            raise VerificationError(
                "recorded_at decreases", expected, f">= {self.last_recorded_at}", entry.recorded_at
            )
        if isinstance(stmt, str):
            raise VerificationError(stmt, expected)
        self.admit(stmt, expected, entry.recorded_at)
        self.frontier.append(entry.leaf_hash, self.on_node)
        self.prev_hex = entry.leaf_hash.hex()
        self.last_recorded_at = entry.recorded_at

    def add_record(self, record: EntryRecord) -> None:
        """``add`` for an entry already through ``entry_record`` (perhaps in another process).

        Deferred signatures only: the Ed25519 checks are collected in ``deferred``.
        """
        index, prev, recorded_at, leaf, facts = record
        expected = self.size
        if index != expected:
            raise VerificationError("entry index out of sequence", expected, expected, index)
        if prev != self.prev_hex:
            raise VerificationError("prev does not link to the previous entry", expected, self.prev_hex, prev)
        if self.last_recorded_at is not None and recorded_at < self.last_recorded_at:
            raise VerificationError("recorded_at decreases", expected, f">= {self.last_recorded_at}", recorded_at)
        if isinstance(facts, str):
            raise VerificationError(facts, expected)
        try:
            stmt = StatementRecord(facts)
            keys = self.trust.authorize(stmt, expected, recorded_at)
            lines = match_signature_lines(stmt.lines, keys)
            self.deferred.items.append(
                (expected, stmt.message, [(k, line.signature) for k, line in zip(keys, lines, strict=True)])
            )
            self.trust.apply(stmt, expected)
        except VerificationError:
            raise
        except LedgerError as e:
            raise VerificationError(_rule_reason(e), expected) from None
        self.frontier.append(leaf, self.on_node)
        self.prev_hex = leaf.hex()
        self.last_recorded_at = recorded_at

    def admit(self, stmt: Statement, index: int, recorded_at: str) -> None:
        try:
            keys = self.trust.authorize(stmt, index, recorded_at)
            if self.defer:
                lines = match_signatures(stmt.note, keys)
                self.deferred.items.append(
                    (index, stmt.note.text.encode("utf-8"),
                     [(k, line.signature) for k, line in zip(keys, lines, strict=True)])
                )
            else:
                self.trust.check_signatures(stmt, keys)
            self.trust.apply(stmt, index)
        except VerificationError:
            raise
        except LedgerError as e:
            raise VerificationError(_rule_reason(e), index) from None


def _rule_reason(error: LedgerError) -> str:
    rule = getattr(error, "rule", None)
    return f"{rule}: {error}" if rule else str(error)


def check_deferred(
    items: Sequence[tuple[int, bytes, Sequence[tuple[VerifierKey, bytes]]]],
) -> tuple[int, str] | None:
    """Check deferred signatures; return (index, reason) of the first failure, else None.

    The reason is the one ``add`` gives without deferring.
    """
    for index, message, checks in items:
        for key, signature in checks:
            try:
                key.verify(message, signature)
            except LedgerError as e:
                return index, str(e)
    return None


# ------------------------------ ledger/core/pipeline.py -------------------------------------
# Streaming an export through every entry check, in a pool of processes (docs/VERIFYING.md, step 4).
#
# ``check_export(path, marks, workers=..., chunk=...)`` reads an export in chunks of lines
# (ledger.core.export_lines), parses them and checks their Ed25519 signatures in a process
# pool, and admits them to a LogVerifier here, in index order: the chain, time and trust
# checks depend on every earlier entry. It stops at the first failing entry and returns an
# ExportResult: how far the export holds, and the roots, checkpoint keys and signing policy
# at the sizes asked for (``marks``), for checking a checkpoint against it
# (ledger.core.export_verify). It raises only UnreadableInputError (the file cannot be
# opened); every failure in the file is in ``ExportResult.failure``.

DEFAULT_CHUNK = 1000
# Progress: called with the bytes just checked and the entries admitted so far.
ProgressFn = Callable[[int, int], None]


class CheckFailed(Exception):
    """Something in the export, checkpoint or proofs does not hold (exit 1).

    ``reason`` is technical; ``facts`` are what ledger.core.diagnosis found in the files, for
    ledger.core.plain to say it plainly.
    """

    def __init__(self, reason: str, index: int | None = None, facts: Facts | None = None) -> None:
        self.reason = reason
        self.index = index
        self.facts = facts
        super().__init__(reason)


def _reason(error: VerificationError) -> str:
    """A VerificationError's message without its 'entry N: ' prefix (the index is reported apart)."""
    text = str(error)
    prefix = f"entry {error.index}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


def _unexpected(error: Exception) -> str:
    return f"unexpected error while checking this entry ({type(error).__name__}: {error}); please report it"


# ---- work that any process can do ---------------------------------------------------
# A chunk of export lines, parsed: the compact record of each entry (ledger.core.verify's
# EntryRecord: plain tuples, cheap to pickle), up to the first failure and its reason.
ParsedChunk = tuple[list[EntryRecord], tuple[int, str] | None]
Deferred = list[tuple[int, bytes, list[tuple[VerifierKey, bytes]]]]


def parse_chunk(start: int, lines: list[bytes]) -> ParsedChunk:
    """The stateless checks of export lines start, start+1, ...: stop at the first failure."""
    records: list[EntryRecord] = []
    append = records.append
    position = start
    try:
        for line in lines:
            append(entry_record(parse_export_line(line, position), position))
            position += 1
    except VerificationError as e:
        return records, (position, _reason(e))
    except Exception as e:  # a verifier bug or input nobody foresaw: still name the entry
        return records, (position, _unexpected(e))
    return records, None


def check_signatures(items: Deferred) -> tuple[int, str] | None:
    """The Ed25519 checks of admitted entries: (index, reason) of the first failure, or None."""
    return check_deferred(items)


def _worker_init() -> None:
    # Verification allocates many short-lived objects and makes no reference cycles;
    # the default collector thresholds would spend a third of the time scanning them.
    gc.freeze()
    gc.set_threshold(200_000, 50, 1000)


class _Done:
    """A finished task, for the single-process path (the part of Future we use)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def done(self) -> bool:
        return True

    def result(self) -> Any:
        return self.value


class _InlinePool:
    """Runs tasks at once in this process (the part of ProcessPoolExecutor we use)."""

    def submit(self, func: Callable[..., Any], *args: Any) -> _Done:
        return _Done(func(*args))

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        pass


# ---- the export ---------------------------------------------------------------------
@dataclass
class ExportResult:
    """What streaming the export established."""

    size: int
    signatures: int
    roots: dict[int, bytes]  # root at each size of interest
    checkpoint_keys: dict[int, list[VerifierKey]]  # the log's checkpoint keys at those sizes
    policies: dict[int, dict[str, tuple[str, ...]]]  # the log's signing policy at those sizes
    origin: str | None
    failure: tuple[int, str] | None
    trust: TrustState  # as it stood after the last entry admitted (ledger.core.diagnosis finds keys there)


def check_export(
    path: str,
    marks: set[int],
    *,
    workers: int = 1,
    chunk: int = DEFAULT_CHUNK,
    progress: ProgressFn | None = None,
    digest: Any = None,
) -> ExportResult:
    """Stream the export through every entry check; stop at the first failing entry.

    Parsing (stateless) and Ed25519 checks run in a process pool of ``workers`` processes
    (none when 1, or when the file is small); the chain, time and trust checks, which depend
    on every earlier entry, run here, in index order. ``marks`` are the sizes whose root,
    checkpoint keys and policy are recorded. With ``digest`` (a hashlib object) the whole
    file is hashed: the bytes checked as they are read, then any after a failure.
    """
    verifier = LogVerifier(defer_signatures=True)
    roots: dict[int, bytes] = {}
    keys_at: dict[int, list[VerifierKey]] = {}
    policies: dict[int, dict[str, tuple[str, ...]]] = {}
    if 0 in marks:
        roots[0], keys_at[0], policies[0] = EMPTY_ROOT, [], {}
    signatures = 0
    failures: list[tuple[int, str]] = []
    pool: Any = _InlinePool()
    depth = 1
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed in finally, after the pool
    except OSError as e:
        raise UnreadableInputError(f"cannot read export {path!r}: {e.strerror or e}") from None
    if workers > 1 and os.fstat(f.fileno()).st_size > 2 * chunk * 700:
        # With fork, ProcessPoolExecutor starts every worker before any thread of its own.
        pool = ProcessPoolExecutor(workers, multiprocessing.get_context(), initializer=_worker_init)
        depth = 2 * workers
    parsing: deque[tuple[Any, int]] = deque()
    checking: deque[Any] = deque()

    def collect(result: Any) -> None:
        found = result.result()
        if found is not None:
            failures.append(found)

    def admit(task: Any, nbytes: int) -> bool:
        nonlocal signatures
        parsed, parse_failure = task.result()
        add = verifier.add_record
        try:
            for record in parsed:
                add(record)
                if verifier.size in marks:
                    roots[verifier.size] = verifier.root()
                    keys_at[verifier.size] = list(verifier.trust.checkpoint_keys)
                    policies[verifier.size] = dict(verifier.trust.policy)
        except VerificationError as e:
            failures.append((e.index if e.index is not None else verifier.size, _reason(e)))
        except Exception as e:  # a verifier bug or input nobody foresaw: still name the entry
            failures.append((verifier.size, _unexpected(e)))
        if not failures and parse_failure is not None:
            failures.append(parse_failure)
        items = verifier.deferred.items
        verifier.deferred.items = []
        if items:
            signatures += sum(len(checks) for _, _, checks in items)
            checking.append(pool.submit(check_signatures, items))
        while checking and (checking[0].done() or len(checking) > depth):
            collect(checking.popleft())
        if progress is not None:
            progress(nbytes, verifier.size)
        return not failures

    gc_state = gc.get_threshold()
    gc.set_threshold(200_000, 50, 1000)
    try:
        going = True
        position = 0
        for lines, nbytes in read_line_chunks(f, chunk, digest):
            parsing.append((pool.submit(parse_chunk, position, lines), nbytes))
            position += len(lines)
            if len(parsing) >= depth:
                going = admit(*parsing.popleft())
                if not going:
                    break
        while going and parsing:
            going = admit(*parsing.popleft())
        while checking:  # every entry admitted so far is signature-checked before we report
            collect(checking.popleft())
        if digest is not None:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    finally:
        gc.set_threshold(*gc_state)
        pool.shutdown(wait=True, cancel_futures=True)  # chunks after a failure are not looked at
        f.close()
    return ExportResult(
        size=verifier.size,
        signatures=signatures,
        roots=roots,
        checkpoint_keys=keys_at,
        policies=policies,
        origin=verifier.trust.origin,
        failure=min(failures) if failures else None,
        trust=verifier.trust,
    )


# ------------------------------ ledger/core/verify_report.py --------------------------------
# The verifier's report: what it printed, and what ``--report FILE`` leaves for a declaration.
#
# One Report collects what a run found. It is printed as text or JSON on stdout, and
# written with ``--report`` as a JSON and a text file that an expert can attach to a
# declaration: the files checked with their SHA-256, the trust root and policy used, the
# verifier's own SHA-256 and version, the checks run (and those not run), the result and
# the exit status, in plain words. Everything but the ``run`` section (when, how long, on
# how many processes) is the same on a second run over the same files with the same
# arguments.

REPORT_FORMAT = "dl-verification-report/v1"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
STATUS = {EXIT_OK: "VERIFIED", EXIT_FAILED: "FAILED", EXIT_USAGE: "NOT RUN (usage error)"}


@dataclass
class FileRecord:
    """One file the verifier read: its role, the path as given, its size and SHA-256."""

    role: str
    path: str
    size: int
    sha256: str


@dataclass
class Report:
    """Everything the verifier found, printed as text or JSON."""

    exit: int = EXIT_OK
    index: int | None = None
    reason: str | None = None
    message: str | None = None
    trust_root: str | None = None
    trust_root_source: str | None = None
    origin: str | None = None
    checkpoint_size: int | None = None
    checkpoint_root: str | None = None
    size: int | None = None
    signatures: int = 0
    uncommitted: int | None = None
    root: str | None = None
    checks: list[tuple[str, str]] = field(default_factory=list)
    what: str = "export"  # what was verified: "export", "bundle" or "proofs" (no export)
    stage: str = "arguments"  # the check under way: the one that failed, if one does
    notes: list[str] = field(default_factory=list)
    not_checked: list[str] = field(default_factory=list)
    files: list[FileRecord] = field(default_factory=list)
    log_policy: dict[str, Any] | None = None
    log_policy_sha256: str | None = None
    witness_policy: dict[str, Any] | None = None  # --policy: its SHA-256, quorum, witnesses, who cosigned
    verifier: dict[str, str] = field(default_factory=dict)
    command: list[str] = field(default_factory=list)
    run: dict[str, Any] = field(default_factory=dict)
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return self.exit == EXIT_OK

    def passed(self, name: str, detail: str) -> None:
        self.checks.append((name, detail))

    def fail(self, exit_status: int, index: int | None, reason: str, message: str) -> None:
        self.exit, self.index, self.reason, self.message = exit_status, index, reason, message

    def meaning(self) -> str:
        return meaning(self.exit, self.index, self.what, self.checkpoint_size, self.uncommitted)

    # ---- stdout ------------------------------------------------------------------------
    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "exit": self.exit,
            "index": self.index,
            "message": self.message,
            "reason": self.reason,
            "trust_root": self.trust_root,
            "origin": self.origin,
            "checkpoint_size": self.checkpoint_size,
            "checkpoint_root": self.checkpoint_root,
            "size": self.size,
            "signatures": self.signatures,
            "uncommitted": self.uncommitted,
            "root": self.root,
            "checks": [{"check": n, "detail": d} for n, d in self.checks],
            "notes": list(self.notes),
            "elapsed_seconds": round(self.elapsed, 3),
        }

    def as_text(self) -> str:
        out = ["Disclosure Ledger verification"]
        out += [f"  ok    {name:<12} {detail}" for name, detail in self.checks]
        out += [f"  note: {note}" for note in self.notes]
        if self.ok:
            if self.uncommitted:
                out.append(
                    f"  note: the last {self.uncommitted} entries of the export are verified but not yet "
                    "committed to by the checkpoint; a later checkpoint must cover them"
                )
            out.append("RESULT: OK (exit 0)")
        elif self.exit == EXIT_USAGE:
            out.append(f"RESULT: NOT VERIFIED, usage error: {self.message} (exit 2)")
        else:
            where = f"at entry {self.index}" if self.index is not None else "(not about one entry)"
            out.append(f"  FAIL  {self.stage:<12} {self.message}")
            if self.reason != self.message:
                out.append(f"        {'':<12} detail: {self.reason}")
            out.append(f"RESULT: FAILED {where}: {self.message} (exit 1)")
        return "\n".join(out) + "\n"

    # ---- the report for a declaration ----------------------------------------------------
    def record(self) -> dict[str, Any]:
        """The ``--report`` JSON."""
        checks: list[dict[str, str | None]] = [{"check": n, "result": "passed", "detail": d} for n, d in self.checks]
        if self.exit == EXIT_FAILED:
            checks.append({"check": self.stage, "result": "failed", "detail": self.message})
        return {
            "format": REPORT_FORMAT,
            "result": {
                "status": STATUS[self.exit],
                "exit": self.exit,
                "index": self.index,
                "message": self.message,
                "reason": self.reason,
                "meaning": self.meaning(),
            },
            "verifier": dict(self.verifier),
            "command": list(self.command),
            "files": [vars(f).copy() for f in self.files],
            "trust_root": {"vkey": self.trust_root, "source": self.trust_root_source},
            "policy": {
                "log_policy": self.log_policy,
                "log_policy_sha256": self.log_policy_sha256,
                "witness_policy": self.witness_policy,
            },
            "checkpoint": {"origin": self.origin, "size": self.checkpoint_size, "root": self.checkpoint_root},
            "log": {"entries": self.size, "signatures": self.signatures, "uncommitted": self.uncommitted,
                    "root": self.root},
            "checks": checks,
            "not_checked": list(self.not_checked),
            "notes": list(self.notes),
            "run": dict(self.run, elapsed_seconds=round(self.elapsed, 3)),
        }

    def record_text(self) -> str:
        """The ``--report`` text: the same facts as ``record``, laid out for a person."""
        r = self.record()
        res, ver = r["result"], r["verifier"]
        out = [
            "DISCLOSURE LEDGER VERIFICATION REPORT",
            f"(format {REPORT_FORMAT}; the JSON report beside this file holds the same facts)",
            "",
            f"RESULT: {res['status']} (exit status {res['exit']})",
        ]
        if res["exit"] != EXIT_OK:
            where = f"entry {res['index']}" if res["index"] is not None else "not about one entry"
            out += [f"  what failed:  {res['message']}", f"  where:        {where}", f"  detail:       {res['reason']}"]
        out += ["", *_wrap(res["meaning"], "  "), "", "VERIFIER"]
        out += [f"  {k + ':':<14}{v}" for k, v in ver.items()]
        command = " ".join(_quote(a) for a in [ver.get("file", "verify_ledger.py"), *r["command"]])
        out += [f"  {'command:':<14}{command}", "", "FILES CHECKED"]
        if not r["files"]:
            out.append("  (none could be read)")
        for f in r["files"]:
            out += [f"  {f['role']}: {f['path']}", f"    {f['size']} bytes, SHA-256 {f['sha256']}"]
        out += ["", "TRUST ROOT AND POLICY"]
        tr = r["trust_root"]
        out.append(f"  trust root:   {tr['vkey'] or '(none: not reached)'}")
        if tr["source"]:
            out.append(f"  taken from:   {tr['source']}")
        pol = r["policy"]
        if pol["log_policy"] is not None:
            out.append(f"  the log's signing policy at the checkpoint (SHA-256 of its RFC 8785 form "
                       f"{pol['log_policy_sha256']}):")
            out += [f"    {t}: {', '.join(roles)}" for t, roles in pol["log_policy"].items()]
        else:
            out.append("  the log's signing policy: not reached")
        wp = pol["witness_policy"]
        if wp is None:
            out.append("  witness policy: none (witness cosignatures were not checked)")
        else:
            out.append(f"  witness policy (--policy, SHA-256 {wp['sha256']}): quorum {wp['quorum']}")
            out += [f"    witness {w}" for w in wp["witnesses"]]
            cosigned = wp.get("cosigned")
            if cosigned is not None:
                out += [f"    cosigned by {c}" for c in cosigned] or ["    cosigned by no witness of the policy"]
        cp, log = r["checkpoint"], r["log"]
        if cp["origin"] is not None:
            out += ["", "CHECKPOINT", f"  origin:       {cp['origin']}", f"  size:         {cp['size']} entries",
                    f"  root:         {cp['root']}"]
        if res["exit"] == EXIT_FAILED and res["index"] is not None and log["entries"] is not None:
            out += ["", "LOG AS VERIFIED", f"  entries 0 to {res['index'] - 1} passed the checks made entry by "
                    f"entry; entry {res['index']} failed" if res["index"] else "  entry 0 failed"]
        elif log["entries"] is not None:
            out += ["", "LOG AS VERIFIED", f"  entries:      {log['entries']}", f"  signatures:   {log['signatures']}"]
            if log["uncommitted"] is not None:
                out.append(f"  uncommitted:  {log['uncommitted']} (verified, not yet committed to by the checkpoint)")
            if log["root"] is not None:
                out.append(f"  root:         {log['root']}")
        out += ["", "CHECKS RUN"]
        out += [f"  {c['result']:<7} {c['check']}: {c['detail']}" for c in r["checks"]] or ["  (none)"]
        out += ["", "NOT CHECKED"] + [f"  - {n}" for n in r["not_checked"]]
        if r["notes"]:
            out += ["", "NOTES"] + [f"  - {n}" for n in r["notes"]]
        run = r["run"]
        out += ["", "RUN (differs from run to run)"] + [f"  {k + ':':<17}{v}" for k, v in run.items()]
        return "\n".join(out) + "\n"


def _quote(arg: str) -> str:
    return arg if arg and all(c.isalnum() or c in "-_./=+:@" for c in arg) else "'" + arg.replace("'", "'\\''") + "'"


def _wrap(text: str, pad: str, width: int = 96) -> list[str]:
    lines, line = [], pad
    for word in text.split():
        if len(line) + len(word) + 1 > width and line.strip():
            lines.append(line.rstrip())
            line = pad
        line += word + " "
    return [*lines, line.rstrip()]


# ------------------------------ ledger/core/export_verify.py --------------------------------
# Verifying an export against a signed checkpoint: the library the court's verifier runs.
#
# ``verify_log(export, checkpoint, trust_root, workers=...)`` is the whole check of
# docs/VERIFYING.md steps 3 to 5 as a function: it returns a Report whose ``exit`` is
# EXIT_OK, EXIT_FAILED (with the first failing entry and the reason in plain words) or
# EXIT_USAGE (a file that cannot be read). scripts/verify_ledger.py parses its arguments,
# reads and sniffs its files, and calls ``verify_export`` (the export part, between the
# checkpoint and the proofs) with the same Report, so the command and the library give the
# same verdict in the same words.
#
# The stages, each recorded in ``report.stage`` before it runs: "entries" (every entry,
# ledger.core.pipeline), "log vs checkpoint" (key lineage, root, uncommitted entries) and
# "previous" (an older checkpoint is a prefix of the export). A failure raises CheckFailed.

def open_checked(data: bytes, keys: list[VerifierKey], what: str) -> SignedCheckpoint:
    """The checkpoint in ``data``, signed by one of ``keys``; CheckFailed (with its facts) if not."""
    try:
        return open_checkpoint(data, keys[0]) if len(keys) == 1 else open_with_any(data, keys)
    except LedgerError as e:
        reason = f"{what}: {e}"
        raise CheckFailed(reason, None, checkpoint_facts(reason, data)) from None


def peek_checkpoint_size(data: bytes) -> int | None:
    """The tree size a checkpoint claims, before its signature is checked (to know what to record)."""
    lines = data.split(b"\n", 3)
    if len(lines) >= 2 and lines[1].isdigit() and len(lines[1]) <= 19:
        return int(lines[1])
    return None


def diagnose_file(path: str, index: int | None, reason: str, trust: Any = None) -> Facts:
    """ledger.core.diagnosis on an export (or a bundle's entries.jsonl), after a failure; never raises."""
    try:
        with open(path, "rb") as f:
            return diagnose(index, reason, f, trust_keys(trust) if trust is not None else None)
    except Exception:  # the facts only sharpen the words: the failure stands without them
        return Facts()


@dataclass
class ExportChecked:
    """What verify_export established: the export's result, and the older checkpoint it opened (if any)."""

    result: ExportResult
    previous: SignedCheckpoint | None


def verify_export(
    report: Report,
    export: str,
    signed: SignedCheckpoint,
    trust_root: VerifierKey,
    previous: bytes | None = None,
    *,
    workers: int = 1,
    chunk: int = DEFAULT_CHUNK,
    progress: ProgressFn | None = None,
    digest: Any = None,
) -> ExportChecked:
    """Check the export at ``export`` against ``signed`` (opened with ``trust_root``), recording in ``report``.

    ``previous`` is an older checkpoint's bytes, opened here with the trust root or any
    checkpoint key the log named until its size. The export is listed in ``report.files``
    (its SHA-256 when ``digest``, a hashlib object, is given). Raise CheckFailed at the
    first check that fails, UnreadableInputError when the export cannot be read.
    """
    cp = signed.checkpoint
    report.stage = "entries"
    marks = {cp.size}
    previous_size = peek_checkpoint_size(previous) if previous is not None else None
    if previous_size is not None:
        marks.add(previous_size)
    result = check_export(export, marks, workers=workers, chunk=chunk, progress=progress, digest=digest)
    report.files.append(FileRecord("export", export, os.path.getsize(export), digest.hexdigest() if digest else ""))
    report.size, report.signatures = result.size, result.signatures
    if result.failure is not None:
        index, reason = result.failure
        report.size = min(report.size, index)  # entries after the first failure were not all checked
        raise CheckFailed(reason, index, diagnose_file(export, index, reason, result.trust))
    report.passed(
        "entries",
        f"{result.size} entries, {result.signatures} signatures: encoding, index, prev chain, times, "
        "envelopes, signers, keys and roles under the log's policy",
    )
    policy = result.policies.get(cp.size)
    if policy is not None:
        report.log_policy = {t: list(roles) for t, roles in policy.items()}
        report.log_policy_sha256 = hashlib.sha256(canonical_bytes(report.log_policy)).hexdigest()
    report.stage = "log vs checkpoint"
    check_against_checkpoint(result, cp, trust_root, report)
    older = None
    if previous is not None:
        # An older checkpoint may carry only a checkpoint key the log has since rotated away
        # from: it is opened with every key the log named until its size.
        report.stage = "previous"
        lineage = result.checkpoint_keys.get(previous_size or 0, [])
        older = open_checked(previous, [trust_root, *lineage], "previous checkpoint")
        check_previous_against_export(older, result, cp.size, report)
    return ExportChecked(result, older)


def check_against_checkpoint(result: ExportResult, cp: Any, trust_root: VerifierKey, report: Report) -> None:
    """The export's origin, key lineage and root agree with the checkpoint's (CheckFailed if not)."""
    if result.size < cp.size:
        raise CheckFailed(
            f"the export ends after {result.size} entries but the checkpoint commits to {cp.size}", result.size
        )
    if result.origin != cp.origin:
        raise CheckFailed(f"the log's origin (genesis) is {result.origin!r}, the checkpoint's is {cp.origin!r}")
    lineage = result.checkpoint_keys.get(cp.size, [])
    if trust_root not in lineage:
        raise CheckFailed(
            f"the trust root {trust_root} is not one of the log's checkpoint keys at size {cp.size} "
            f"(genesis checkpoint_vkey and ledger_key_rotation): {[str(k) for k in lineage]}"
        )
    report.passed("key lineage", "the trust root is a checkpoint key named by the log itself")
    root = result.roots[cp.size]
    report.root = root.hex()
    if root != cp.root:
        raise CheckFailed(
            f"the RFC 6962 root of the first {cp.size} entries is {root.hex()}, "
            f"the checkpoint's root is {cp.root.hex()}"
        )
    report.passed("root", f"RFC 6962 root of entries 0..{cp.size - 1} equals the checkpoint's root")
    report.uncommitted = result.size - cp.size
    if report.uncommitted:
        report.passed(
            "uncommitted", f"entries {cp.size}..{result.size - 1} verified, not yet committed to by the checkpoint"
        )


def check_previous_against_export(
    previous: SignedCheckpoint, result: ExportResult, size: int, report: Report
) -> None:
    """An older checkpoint is a prefix of the export: same origin, root at its size (CheckFailed if not)."""
    old = previous.checkpoint
    if old.origin != report.origin:
        raise CheckFailed(f"previous checkpoint: origin {old.origin!r} differs from {report.origin!r}")
    if old.size > size:
        raise CheckFailed(f"previous checkpoint: size {old.size} is larger than the checkpoint's {size}")
    root = result.roots.get(old.size)
    if root is None:  # pragma: no cover - old.size <= size <= result.size, and old.size was a mark
        raise CheckFailed(f"previous checkpoint: no root recorded at size {old.size}")
    if root != old.root:
        raise CheckFailed(
            f"previous checkpoint: the export's root at size {old.size} is {root.hex()}, the previous "
            f"checkpoint's is {old.root.hex()}: the log was rewritten or forked since then"
        )
    report.passed("previous", f"previous checkpoint (size {old.size}) is a prefix of this export")


def verify_log(
    export: str,
    checkpoint: bytes,
    trust_root: VerifierKey,
    *,
    previous: bytes | None = None,
    workers: int = 1,
    chunk: int = DEFAULT_CHUNK,
    progress: ProgressFn | None = None,
) -> Report:
    """Verify an export against a signed checkpoint and the trust root; the verdict is ``report.exit``.

    The same checks, in the same order and words, as
    ``verify_ledger.py --vkey KEY --checkpoint FILE --export FILE [--previous-checkpoint FILE]``
    (whose report also lists the files read and the run; this one lists the export only).
    """
    report = Report(what="export")
    report.not_checked = not_checked("export", previous=previous is not None, openings=False, witnesses=False)
    report.trust_root, report.trust_root_source = str(trust_root), "--vkey"
    try:
        report.stage = "checkpoint"
        signed = open_checked(checkpoint, [trust_root], "checkpoint")
        cp = signed.checkpoint
        report.origin, report.checkpoint_size, report.checkpoint_root = cp.origin, cp.size, cp.root.hex()
        report.passed("checkpoint", f"{cp.origin}, size {cp.size}, root {cp.root.hex()}: signed by the trust root")
        verify_export(report, export, signed, trust_root, previous, workers=workers, chunk=chunk, progress=progress)
    except UnreadableInputError as e:
        report.fail(EXIT_USAGE, None, str(e), str(e))
    except CheckFailed as e:
        report.fail(EXIT_FAILED, e.index, e.reason, explain(e.index, e.reason, e.facts))
    return report


# ------------------------------ ledger/core/proof_files.py ----------------------------------
# Checking the proof files the court is given: a consistency proof between two checkpoints, and an
# inclusion proof of one entry (docs/VERIFYING.md § 5.6).
#
# The files are JSON as ``disclosure-ledger proof`` writes them; the entry file is the entry's raw
# bytes (one trailing LF allowed) or its export line. Each check records what it established in the
# Report and raises CheckFailed (ledger.core.pipeline) at the first thing that does not hold.

_HASH_HEX_RE = re.compile(r"[0-9a-f]{64}\Z")


def _hex32(value: Any, where: str) -> bytes:
    if not isinstance(value, str) or not _HASH_HEX_RE.match(value):
        raise CheckFailed(f"{where}: expected 64 lowercase hex digits, found {str(value)[:80]!r}")
    return bytes.fromhex(value)


def _size(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_SAFE_INTEGER:
        raise CheckFailed(f"{where}: expected a non-negative integer, found {value!r}")
    return value


def _proof_file(data: bytes, what: str, keys: tuple[str, ...]) -> dict[str, Any]:
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise CheckFailed(f"{what} is not JSON: {e}") from None
    if not isinstance(value, dict) or not set(keys) <= set(value):
        raise CheckFailed(f"{what} must be an object with {', '.join(keys)}")
    path_value = value["path"]
    if not isinstance(path_value, list):
        raise CheckFailed(f"{what}: path must be a list of hashes")
    value["path"] = [_hex32(h, f"{what} path[{i}]") for i, h in enumerate(path_value)]
    return value


def _entry_file(data: bytes) -> bytes:
    """Raw entry bytes (``disclosure-ledger entry`` output, one trailing LF allowed) or an export line."""
    if data.startswith(b'{"entry_b64":'):
        try:
            value = parse_canonical(data.removesuffix(b"\n"))
            if not isinstance(value, dict) or not isinstance(value.get("entry_b64"), str):
                raise CheckFailed("entry file: an export line needs a string entry_b64")
            return b64decode(value["entry_b64"])
        except LedgerError as e:
            raise CheckFailed(f"entry file: not an export line: {e}") from None
    return data.removesuffix(b"\n")


def check_consistency_file(
    previous: SignedCheckpoint, signed: SignedCheckpoint, data: bytes, report: Report
) -> None:
    """The consistency proof in ``data`` proves ``previous`` a prefix of ``signed`` (CheckFailed if not)."""
    old, new = previous.checkpoint, signed.checkpoint
    if old.origin != new.origin:
        raise CheckFailed(f"previous checkpoint: origin {old.origin!r} differs from {new.origin!r}")
    proof = _proof_file(data, "consistency proof", ("old_size", "new_size", "old_root", "new_root", "path"))
    sizes = (
        _size(proof["old_size"], "consistency proof old_size"),
        _size(proof["new_size"], "consistency proof new_size"),
    )
    if sizes != (old.size, new.size):
        raise CheckFailed(f"consistency proof is for sizes {sizes}, the checkpoints have {(old.size, new.size)}")
    if _hex32(proof["old_root"], "consistency proof old_root") != old.root:
        raise CheckFailed("consistency proof old_root differs from the previous checkpoint's root")
    if _hex32(proof["new_root"], "consistency proof new_root") != new.root:
        raise CheckFailed("consistency proof new_root differs from the checkpoint's root")
    try:
        verify_consistency(old.size, new.size, old.root, new.root, proof["path"])
    except LedgerError as e:
        raise CheckFailed(f"consistency proof: {e}") from None
    report.passed("consistency", f"checkpoint of size {old.size} is a prefix of the one of size {new.size}")


def check_inclusion_file(signed: SignedCheckpoint, proof_data: bytes, entry_data: bytes, report: Report) -> None:
    """The inclusion proof in ``proof_data`` puts the entry in ``entry_data`` in ``signed``'s tree.

    CheckFailed (naming the proof's index once known) if it does not.
    """
    cp = signed.checkpoint
    proof = _proof_file(proof_data, "inclusion proof", ("index", "tree_size", "leaf_hash", "root", "path"))
    index = _size(proof["index"], "inclusion proof index")
    data = _entry_file(entry_data)
    try:
        entry = parse_entry(data)
    except LedgerError as e:
        raise CheckFailed(f"entry file: malformed entry: {e}", index) from None
    if entry.index != index:
        raise CheckFailed(f"the entry is entry {entry.index}, the proof is for entry {index}", index)
    tree_size = _size(proof["tree_size"], "inclusion proof tree_size")
    if tree_size != cp.size:
        raise CheckFailed(f"inclusion proof is for tree size {tree_size}, the checkpoint's is {cp.size}", index)
    if _hex32(proof["root"], "inclusion proof root") != cp.root:
        raise CheckFailed("inclusion proof root differs from the checkpoint's root", index)
    if _hex32(proof["leaf_hash"], "inclusion proof leaf_hash") != leaf_hash(data):
        raise CheckFailed("inclusion proof leaf_hash is not the hash of the entry", index)
    try:
        verify_inclusion(index, cp.size, leaf_hash(data), proof["path"], cp.root)
    except LedgerError as e:
        raise CheckFailed(f"inclusion proof: {e}", index) from None
    report.passed("inclusion", f"entry {index} is included in the checkpoint's tree of size {cp.size}")


# ------------------------------ ledger/core/witness_protocol.py -----------------------------
# The bytes of c2sp.org/tlog-witness: the add-checkpoint request, its answers, the monitoring path.
#
# Request body: ``old <size>\n``, zero to 63 base64 consistency-proof hashes one per line, an empty
# line, then the checkpoint (a signed note). A 200 answer is one or more signature lines; a 409
# answer is the witness's size and a newline, ``Content-Type: text/x.tlog.size``. A witness serves
# its latest cosigned checkpoint of a log at ``<monitoring prefix>/<hex SHA-256 of the origin>/checkpoint``.
# Shared by the witness (``ledger.witness``) and the ledger's client of witnesses.

MAX_PROOF_LINES = 63
SIZE_CONTENT_TYPE = "text/x.tlog.size"
ADD_CHECKPOINT = "add-checkpoint"
_SIZE_TEXT_RE = re.compile(r"(0|[1-9][0-9]{0,18})\Z")


@dataclass(frozen=True)
class AddCheckpoint:
    """An add-checkpoint request: the size the client believes the witness holds, the proof, the note."""

    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: str

    def encode(self) -> bytes:
        if len(self.proof) > MAX_PROOF_LINES:
            raise ProtocolError(f"a consistency proof has at most {MAX_PROOF_LINES} hashes, found {len(self.proof)}")
        lines = [f"old {self.old_size}\n", *(b64encode(h) + "\n" for h in self.proof), "\n", self.checkpoint]
        return "".join(lines).encode("utf-8")


def parse_size(text: str, what: str = "size") -> int:
    """A tree size in decimal without leading zeros (``0`` for the empty tree)."""
    if not _SIZE_TEXT_RE.match(text):
        raise ProtocolError(f"{what}: expected a decimal size without leading zeros, found {text[:40]!r}")
    size = int(text)
    if size > 2**63 - 1:
        raise ProtocolError(f"{what}: {size} is larger than 2^63 - 1")
    return size


def parse_add_checkpoint(body: bytes) -> AddCheckpoint:
    """Parse an add-checkpoint body; ProtocolError (an HTTP 400) says what is wrong.

    The checkpoint note itself is parsed by the caller, which answers 400, 404 or 403 for it.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("the request body is not UTF-8") from None
    first = text.find("\n")
    if first < 0 or not text.startswith("old "):
        raise ProtocolError("the request body starts with the line 'old <size>'")
    old_size = parse_size(text[4:first], "old size line")
    proof: list[bytes] = []
    at = first + 1
    while True:
        end = text.find("\n", at)
        if end < 0:
            raise ProtocolError("the proof lines end with an empty line before the checkpoint")
        line = text[at:end]
        at = end + 1
        if not line:
            break
        if len(proof) == MAX_PROOF_LINES:
            raise ProtocolError(f"more than {MAX_PROOF_LINES} consistency proof lines")
        try:
            proof.append(b64decode(line, length=32))
        except LedgerError:
            raise ProtocolError(f"proof line {len(proof) + 1} is not the base64 of a 32-byte hash") from None
    return AddCheckpoint(old_size, tuple(proof), text[at:])


def parse_size_answer(body: bytes) -> int:
    """The size in a 409 answer: decimal, then a newline."""
    text = body.decode("utf-8", "replace")
    if not text.endswith("\n"):
        raise ProtocolError(f"a 409 answer is the witness's size and a newline, found {text[:40]!r}")
    return parse_size(text[:-1], "409 answer")


def parse_cosignature_answer(body: bytes) -> list[NoteSignature]:
    """The signature lines of a 200 answer (at least one), parsed as a note's would be."""
    if not body.startswith("\u2014 ".encode()) or not body.endswith(b"\n"):
        raise ProtocolError("a 200 answer is one or more signature lines '— name base64', each ending in a newline")
    try:
        note = parse_note(b"x\n\n" + body)
    except LedgerError as e:
        raise ProtocolError(f"the answer's signature lines are malformed: {e}") from None
    return list(note.signatures)


def origin_hash(origin: str) -> str:
    """The monitoring path element of a log: lowercase hex of SHA-256 of its origin line."""
    return hashlib.sha256(origin.encode("utf-8")).hexdigest()


def monitoring_path(origin: str) -> str:
    return f"{origin_hash(origin)}/checkpoint"


def with_lines(checkpoint: str, lines: Sequence[NoteSignature]) -> str:
    """A note with signature lines added (as a client adds a witness's answer to its checkpoint)."""
    return checkpoint + "".join(line.line() for line in lines)


# ------------------------------ ledger/core/tlog_proof.py -----------------------------------
# c2sp.org/tlog-proof: an offline proof that an entry is in a log, as one text.
#
#     c2sp.org/tlog-proof@v1
#     extra <base64>                (optional, opaque and unauthenticated)
#     index <decimal>
#     <base64 hash>                 the RFC 6962 inclusion proof, leaf's sibling first, zero or more lines
#     <empty line>
#     <checkpoint>                  verbatim: a signed note, cosignatures included
#
# Parsing checks the layout only; the checkpoint is returned as its text for the caller to open against
# its policy (``ledger.core.witnessed``), and the path is checked against the entry by ``ledger.core.proofs``.

HEADER = "c2sp.org/tlog-proof@v1"
MAX_PATH = 64


@dataclass(frozen=True)
class TlogProof:
    index: int
    path: tuple[bytes, ...]
    checkpoint: str
    extra: bytes | None = None


def parse_tlog_proof(text: str) -> TlogProof:
    """Parse a tlog-proof; ProtocolError says which line is wrong."""
    head, sep, checkpoint = text.partition("\n\n")
    if not sep:
        raise ProtocolError("a tlog-proof has an empty line between its inclusion proof and its checkpoint")
    lines = head.split("\n")
    if lines[0] != HEADER:
        raise ProtocolError(f"a tlog-proof starts with the line {HEADER!r}, found {lines[0][:60]!r}")
    at, extra = 1, None
    try:
        if len(lines) > at and lines[at].startswith("extra "):
            extra = b64decode(lines[at][len("extra "):])
            at += 1
        if len(lines) <= at or not lines[at].startswith("index "):
            raise ProtocolError("a tlog-proof's index line 'index <decimal>' is missing")
        index = parse_size(lines[at][len("index "):], "index line")
        path = tuple(b64decode(line, length=32) for line in lines[at + 1:])
    except ProtocolError:
        raise
    except LedgerError as e:
        raise ProtocolError(f"a tlog-proof line is not what it should be: {e}") from None
    if len(path) > MAX_PATH:
        raise ProtocolError(f"an inclusion proof has at most {MAX_PATH} hashes, found {len(path)}")
    return TlogProof(index, path, checkpoint, extra)


# ------------------------------ ledger/core/witnessed.py ------------------------------------
# A checkpoint checked against a witness policy: the log's signature, each known witness's
# cosignature, and the quorum (c2sp.org/tlog-cosignature, c2sp.org/tlog-policy).
#
# Lines by keys neither the log nor the policy knows are ignored, as signed-note says; a line that
# claims a policy witness's name and key ID must be a valid cosignature, or the whole checkpoint is
# refused. Which witnesses signed, and when, is what a verifier reports.

@dataclass(frozen=True)
class Cosigned:
    """A valid cosignature by a witness of the policy."""

    witness: PolicyWitness
    timestamp: int

    def when(self) -> str:
        """The cosignature's time in UTC (``YYYY-MM-DDTHH:MM:SSZ``), or the raw POSIX time past year 9999."""
        try:
            return datetime.fromtimestamp(self.timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        except (OverflowError, ValueError, OSError):
            return f"POSIX time {self.timestamp}"

    def describe(self) -> str:
        return f"{self.witness.name} ({self.witness.key.name}) at {self.when()}"


@dataclass(frozen=True)
class WitnessedCheckpoint:
    """A checkpoint signed by the log, with the cosignatures the policy knows and the lines it does not."""

    signed: SignedCheckpoint
    policy: WitnessPolicy
    cosigned: tuple[Cosigned, ...]
    unknown: tuple[NoteSignature, ...]

    @property
    def quorum_met(self) -> bool:
        return self.policy.satisfied({c.witness.name for c in self.cosigned})

    def summary(self) -> str:
        cp = self.signed.checkpoint
        who = "; ".join(c.describe() for c in self.cosigned) or "no witness of the policy"
        text = f"size {cp.size} cosigned by {len(self.cosigned)} of the policy's {len(self.policy.witnesses)} " \
               f"witnesses: {who}; quorum {self.policy.describe()}"
        if self.unknown:
            text += "; ignored lines by keys the policy does not name: " + _line_names(self.unknown)
        return text


def _line_names(lines: Sequence[NoteSignature]) -> str:
    return ", ".join(f"{s.name} ({s.key_id:08x})" for s in lines)


def verify_cosignatures(note: Note, policy: WitnessPolicy) -> tuple[list[Cosigned], list[NoteSignature]]:
    """The valid cosignatures of the policy's witnesses, and the lines no witness of it owns.

    Raises SignatureError when a line with a witness's name and key ID does not verify, or a
    witness has more than one line.
    """
    cosigned = []
    owned: set[int] = set()
    for witness in policy.witnesses:
        lines = [(i, s) for i, s in enumerate(note.signatures) if witness.key.owns(s)]
        if len(lines) > 1:
            raise SignatureError(f"more than one cosignature by witness {witness.name} ({witness.key.name})")
        if lines:
            index, line = lines[0]
            cosigned.append(Cosigned(witness, witness.key.verify(note.text, line)))
            owned.add(index)
    rest = [s for i, s in enumerate(note.signatures) if i not in owned]
    return cosigned, rest


def check_log_in_policy(trust_root: VerifierKey, policy: WitnessPolicy) -> None:
    """A policy that lists logs must list the trust root among them (an empty list accepts any)."""
    if policy.logs and trust_root not in policy.log_keys:
        raise PolicyError(
            f"the policy's logs ({', '.join(str(k) for k in policy.log_keys)}) do not include the trust root "
            f"{trust_root}"
        )


def open_witnessed(data: str | bytes, log_keys: Sequence[VerifierKey], policy: WitnessPolicy) -> WitnessedCheckpoint:
    """Open a checkpoint signed by one of the log keys and check every cosignature the policy knows.

    Does not require the quorum: ``require_quorum`` does, so that a caller can report first.
    """
    signed = open_with_any(data, log_keys)
    cosigned, rest = verify_cosignatures(signed.note, policy)
    log_ids = {(k.name, k.key_id) for k in log_keys}
    unknown = tuple(s for s in rest if (s.name, s.key_id) not in log_ids)
    return WitnessedCheckpoint(signed, policy, tuple(cosigned), unknown)


def require_quorum(witnessed: WitnessedCheckpoint) -> None:
    """Raise QuorumError, saying who did cosign and which lines were ignored, unless the quorum is met."""
    if witnessed.quorum_met:
        return
    cp = witnessed.signed.checkpoint
    who = "; ".join(c.describe() for c in witnessed.cosigned) or "no witness of the policy"
    message = (f"checkpoint size {cp.size} does not meet the policy's quorum {witnessed.policy.describe()}: "
               f"cosigned by {who}")
    if witnessed.unknown:
        only = " only" if not witnessed.cosigned else ""
        message += f"; cosigned{only} by keys the policy does not name (ignored): {_line_names(witnessed.unknown)}"
    raise QuorumError(message)


def compare_shipped_policy(pinned: WitnessPolicy, shipped: WitnessPolicy) -> None:
    """Refuse a policy shipped with the evidence that names witnesses the pinned policy does not."""
    extra = shipped.witnesses_not_in(pinned)
    if extra:
        names = ", ".join(f"{w.name} ({w.key})" for w in extra)
        raise PolicyError(
            f"the policy shipped with the checkpoint names witnesses the pinned policy does not: {names}; "
            "the pinned policy decides, and this one relies on witnesses it does not trust"
        )


def check_witness_policy(checkpoint: str | bytes, trust_root: VerifierKey, pinned: WitnessPolicy,
                 shipped: WitnessPolicy | None = None) -> WitnessedCheckpoint:
    """What ``verify_ledger.py --policy`` requires of a checkpoint, in order: the pinned policy accepts
    the trust root's log; a policy shipped with the evidence names no witness the pinned one does not;
    the log signed the checkpoint; every cosignature by a pinned witness verifies; the quorum is met."""
    check_log_in_policy(trust_root, pinned)
    if shipped is not None:
        compare_shipped_policy(pinned, shipped)
    witnessed = open_witnessed(checkpoint, [trust_root], pinned)
    require_quorum(witnessed)
    return witnessed


# ------------------------------ scripts/_verifier_terminal.py -------------------------------
# What the court's verifier says to the person running it: usage errors and progress on stderr.
#
# The checks themselves are the integrity core's (ledger.core.export_verify, ledger.core.pipeline).
# This is a part of scripts/verify_ledger.py; scripts/build_verifier.py bundles it with the
# integrity core (ledger/core/) and the rest of the command line into that one standalone file.

class UsageError(Exception):
    """Bad arguments or an unreadable file (exit 2)."""


# ---- progress on stderr -------------------------------------------------------------
class _Progress:
    """tqdm when it is installed, else a plain counter; both on stderr."""

    def __init__(self, total_bytes: int, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.done = 0
        self.total = total_bytes
        self.last = 0.0
        if not enabled:
            return
        try:
            import tqdm

            tqdm.tqdm.monitor_interval = 0  # no monitor thread
            self.bar = tqdm.tqdm(total=total_bytes, unit="B", unit_scale=True, desc="verify", file=sys.stderr)
        except ImportError:
            self.bar = None

    def update(self, nbytes: int, entries: int) -> None:
        if not self.enabled:
            return
        self.done += nbytes
        if self.bar is not None:
            self.bar.update(nbytes)
            self.bar.set_postfix(entries=entries, refresh=False)
            return
        now = time.monotonic()
        if now - self.last >= 0.5:
            self.last = now
            share = 100.0 * self.done / self.total if self.total else 100.0
            sys.stderr.write(f"\rverify: {entries} entries ({share:.0f}%)")
            sys.stderr.flush()

    def close(self) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.close()
        else:
            sys.stderr.write("\n")
            sys.stderr.flush()


# ------------------------------ scripts/_verifier_inputs.py ---------------------------------
# Reading the verifier's inputs: each file read once, listed in the report with its size and SHA-256,
# and refused (exit 2) when it is of another kind than the option it was given with. The checks of
# what they hold are the integrity core's (ledger.core.export_verify, ledger.core.proof_files).
#
# This is a part of scripts/verify_ledger.py; scripts/build_verifier.py bundles it with the
# integrity core (ledger/core/) and the rest of the command line into that one standalone file.

# ---- reading inputs -----------------------------------------------------------------
class Inputs:
    """The verifier's files: each read once and listed in the report with its size and SHA-256,
    and refused (exit 2, saying what it looks like) when it is of another kind than the option
    it was given with, or was changed outside what is signed (an editor's line endings)."""

    def __init__(self, report: Report) -> None:
        self.report = report

    def read(self, path: str, role: str, flag: str, kinds: tuple[str, ...]) -> bytes:
        """The bytes of ``path`` given as ``flag``, which must be one of ``kinds`` (or unrecognised)."""
        self.refuse_folder(path, flag, kinds[0])
        data = _read(path, role)
        self.expect(path, flag, file_kind(data[:SNIFF_BYTES]), kinds)
        self.note(role, path, len(data), hashlib.sha256(data).hexdigest())
        return data

    def read_named(self, path: str, role: str) -> bytes:
        """The bytes of a file named by its place (an evidence bundle's), listed in the report."""
        data = _read(path, role)
        self.note(role, path, len(data), hashlib.sha256(data).hexdigest())
        return data

    def note(self, role: str, path: str, size: int, sha256: str) -> None:
        self.report.files.append(FileRecord(role, path, size, sha256))

    def refuse_folder(self, path: str, flag: str, wanted: str) -> None:
        if os.path.isdir(path):
            try:
                names = os.listdir(path)
            except OSError:
                names = []
            raise UsageError(wrong_kind(flag, path, folder_kind(names), wanted))

    def expect(self, path: str, flag: str, kind: str | None, kinds: tuple[str, ...]) -> None:
        if kind is not None and kind not in kinds:
            raise UsageError(wrong_kind(flag, path, kind, kinds[0]))

    def bundle_folder(self, path: str, flag: str = "--bundle") -> None:
        """Refuse a --bundle that is not a folder, saying what it is."""
        if os.path.isdir(path):
            return
        if not os.path.exists(path):
            raise UsageError(f"cannot read {flag} {path!r}: there is no such folder")
        try:
            with open(path, "rb") as f:
                kind = file_kind(f.read(SNIFF_BYTES))
        except OSError:
            kind = None
        if kind is None:
            raise UsageError(f"the file given as {flag} ({path}) is not {KIND_NAMES['bundle']}")
        raise UsageError(wrong_kind(flag, path, kind, "bundle"))

    def checkpoint(self, path: str, role: str, flag: str) -> bytes:
        data = self.read(path, role, flag, ("checkpoint",))
        damage = checkpoint_damage(data)
        if damage is not None:
            raise UsageError(altered_file(flag, path, *damage))
        return data

    def export_head(self, path: str) -> None:
        """Refuse an --export that is another kind of file (its first bytes are enough to tell)."""
        self.refuse_folder(path, "--export", "export")
        try:
            with open(path, "rb") as f:
                head = f.read(SNIFF_BYTES)
        except OSError as e:
            raise UsageError(f"cannot read export {path!r}: {e.strerror or e}") from None
        kind = file_kind(head)
        folder = os.path.dirname(os.path.abspath(path))
        if kind in ("export", "export-line") and os.path.basename(path) == "entries.jsonl" and os.path.exists(
            os.path.join(folder, "bundle.json")
        ):
            kind = "bundle-entries"
        if kind != "empty":
            self.expect(path, "--export", kind, ("export", "export-line"))


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise UsageError(f"cannot read {what} {path!r}: {e.strerror or e}") from None


def _trust_root(value: str, inputs: Inputs) -> VerifierKey:
    text = value
    if os.path.isfile(value):
        try:
            text = inputs.read(value, "trust root", "--vkey", ("vkey",)).decode("utf-8").strip()
        except UnicodeDecodeError:
            raise UsageError(f"trust root file {value!r} is not UTF-8 text") from None
    else:
        inputs.refuse_folder(value, "--vkey", "vkey")
    try:
        return parse_vkey(text)
    except LedgerError as e:
        raise UsageError(f"--vkey is neither a verifier key nor a file holding one: {e}") from None


# ------------------------------ scripts/_verifier_show.py -----------------------------------
# --show: entries of an export or an evidence bundle decoded for a person, verifying nothing
# (docs/VERIFYING.md § 4, step 6); the words are ledger.core.readable's.
#
# This is a part of scripts/verify_ledger.py; scripts/build_verifier.py bundles it with the
# integrity core (ledger/core/) and the rest of the command line into that one standalone file.

def show(args: argparse.Namespace) -> int:
    """Print entries of an export or a bundle decoded for a person (0), or say why one cannot be (1)."""
    if args.bundle is not None:
        Inputs(Report()).bundle_folder(args.bundle)
        path, flag = os.path.join(args.bundle, "entries.jsonl"), "--bundle"
        if not os.path.isfile(path):
            raise UsageError(f"--bundle {args.bundle!r} holds no entries.jsonl: give a bundle's folder")
    else:
        path, flag = args.export, "--export"
        Inputs(Report()).export_head(path)
    try:
        with open(path, "rb") as f:
            return _show_all(f, args.json) if args.show == "all" else _show_one(f, int(args.show), args.json, flag)
    except OSError as e:
        raise UsageError(f"cannot read {path!r}: {e.strerror or e}") from None


def _show_all(lines: Iterable[bytes], as_json: bool) -> int:
    status = EXIT_OK
    if not as_json:
        for text in decoded_export(lines):
            sys.stdout.write(text)
            status = EXIT_FAILED if text.startswith("\nline ") else status
        return status
    for position, line in enumerate(lines):
        data = line_entry(line)
        try:
            if data is None:
                raise LedgerError("not an export line that can be decoded")
            value: dict[str, Any] = decode_entry(data)
        except LedgerError as e:
            value, status = {"line": position + 1, "error": str(e)}, EXIT_FAILED
        print(json.dumps(value, ensure_ascii=False))
    return status


def _show_one(lines: Iterable[bytes], wanted: int, as_json: bool, flag: str) -> int:
    at_position = chosen = None
    count = 0
    for position, line in enumerate(lines):
        count += 1
        if position == wanted:
            at_position = (position, line)
        if line_index(line) == wanted:
            chosen = (position, line)
            break
    chosen = chosen or at_position
    if chosen is None:
        raise UsageError(f"the file given as {flag} holds no entry {wanted} ({count} lines)")
    position, line = chosen
    data = line_entry(line)
    try:
        if data is None:
            raise LedgerError("not an export line that can be decoded")
        shown = decode_entry(data)
        text = describe_entry(data)
    except LedgerError as e:
        if as_json:
            print(json.dumps({"line": position + 1, "error": str(e)}, ensure_ascii=False))
        else:
            sys.stdout.write(describe_line(line, position))
        return EXIT_FAILED
    if as_json:
        print(json.dumps(shown, ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(DECODED_HEADER + "\n" + DECODED_NOTE + "\n" + text)
    return EXIT_OK


# ------------------------------ scripts/_verifier_witnesses.py ------------------------------
# The court's verifier, ``--policy FILE``: the checkpoint must meet a witness policy the court pinned.
#
# The checks themselves are the core's (ledger.core.witnessed.check_witness_policy, docs/VERIFYING.md § 8);
# this part reads the policy (listed in the report with its SHA-256) and reports what was found.
# A malformed pinned policy is a usage error; a policy shipped inside a bundle (witness.policy) is
# evidence, so a malformed one fails the verification.

SHIPPED_POLICY = "witness.policy"  # a bundle's own witness policy: compared with --policy, never applied


def pinned_policy(path: str, inputs: Inputs) -> WitnessPolicy:
    """The policy given with --policy, read once and listed in the report (with what it requires)."""
    data = inputs.read(path, "witness policy", "--policy", ("policy",))  # a checkpoint, an export…: exit 2
    try:
        policy = parse_policy(data)
    except LedgerError as e:
        raise UsageError(f"--policy {path!r} is not a witness policy (c2sp.org/tlog-policy): {e}") from None
    inputs.report.witness_policy = {
        "sha256": hashlib.sha256(data).hexdigest(),
        "quorum": policy.describe(),
        "witnesses": [f"{w.name}: {w.key}" for w in policy.witnesses],
        "cosigned": None,
    }
    return policy


def check_witnesses(checkpoint: bytes, trust_root: VerifierKey, pinned: WitnessPolicy, shipped: bytes | None,
                    report: Report) -> None:
    """The checkpoint's cosignatures meet the pinned policy; a shipped policy names no other witness."""
    report.stage = "witnesses"
    try:
        shipped_policy = parse_policy(shipped) if shipped is not None else None
    except LedgerError as e:
        raise CheckFailed(f"the witness policy shipped as {SHIPPED_POLICY} is malformed: {e}") from None
    try:
        witnessed = check_witness_policy(checkpoint, trust_root, pinned, shipped_policy)
    except LedgerError as e:
        raise CheckFailed(str(e)) from None
    report.passed("witnesses", witnessed.summary())
    if report.witness_policy is not None:
        report.witness_policy["cosigned"] = [c.describe() for c in witnessed.cosigned]
    if shipped_policy is not None:
        report.notes.append(f"the bundle's {SHIPPED_POLICY} names no witness outside --policy; --policy decided")


# ------------------------------ scripts/_verifier_cli.py ------------------------------------
# The court's verifier: check a Disclosure Ledger export offline (docs/VERIFYING.md).
#
#     python verify_ledger.py --vkey KEY --checkpoint FILE --export FILE
#         [--previous-checkpoint FILE [--consistency-proof FILE]]
#         [--inclusion-proof FILE --entry FILE] [--json] [--workers N] [--report FILE]
#     python verify_ledger.py --bundle DIR [--vkey KEY] [--openings] [--json] [--report FILE]
#     python verify_ledger.py --export FILE --show INDEX|all [--json]
#     python verify_ledger.py --bundle DIR --show INDEX|all [--json]
#     ... [--policy FILE]   the checkpoint must meet a witness policy (c2sp.org/tlog-policy) you pinned
#
# Needs Python 3.11+ and the package pynacl (``pip install pynacl rfc8785``); nothing
# else, no network, no database, no secret. ``--vkey`` is the ledger's published trust
# root (a C2SP verifier key string, or a file holding it). Exit status: 0 when every
# check holds, 1 when anything in the export, checkpoint or proofs fails (the report
# names the first failing entry and says why in plain words), 2 for usage errors,
# unreadable files and files of the wrong kind. ``--report FILE`` also writes FILE.json
# and FILE.txt, a report to attach to a declaration; ``--show`` prints entries decoded
# for a person, verifying nothing.
#
# This is the command-line part of scripts/verify_ledger.py; scripts/build_verifier.py
# bundles it with the integrity core (ledger/core/) into that one standalone file.

# The project's version (pyproject.toml); the verifier's SHA-256, in every report, names the exact file.
VERIFIER_VERSION = "0.1.0"
BUNDLE_FILES = ("bundle.json", "checkpoint", "entries.jsonl", "proofs.jsonl")
DELIVERED_DIR = "delivered"  # the files the bundle's releases delivered (disclosure-ledger bundle --delivered)


# ---- arguments ----------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    p = _ArgumentParser(
        prog="verify_ledger.py",
        description="Verify a Disclosure Ledger export, checkpoint and proofs offline (exit 0 = all hold).",
        epilog="Exit status: 0 every check holds; 1 a check fails; 2 usage error, unreadable file or a file "
        "of the wrong kind.",
    )
    p.add_argument("--vkey", help="trust root: the checkpoint verifier key, or a file holding it")
    p.add_argument("--checkpoint", metavar="FILE", help="signed checkpoint (C2SP tlog-checkpoint)")
    p.add_argument("--export", metavar="FILE", help="export (JSON Lines); optional when checking proofs only")
    p.add_argument("--previous-checkpoint", metavar="FILE", help="an older checkpoint to check consistency with")
    p.add_argument("--consistency-proof", metavar="FILE", help="consistency proof old -> checkpoint (JSON)")
    p.add_argument("--inclusion-proof", metavar="FILE", help="inclusion proof of one entry (JSON)")
    p.add_argument("--entry", metavar="FILE", help="that entry: raw entry bytes, or its export line")
    p.add_argument("--bundle", metavar="DIR", help="an evidence bundle (disclosure-ledger bundle) to verify")
    p.add_argument("--openings", action="store_true", help="with --bundle: check the bundle's openings too")
    p.add_argument("--policy", metavar="FILE",
                   help="witness policy (c2sp.org/tlog-policy) the checkpoint's cosignatures must meet; yours, "
                        "never one the ledger's operator supplies")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--report", metavar="FILE",
                   help="also write the report for a declaration to FILE.json and FILE.txt (never overwritten)")
    p.add_argument("--show", metavar="INDEX",
                   help="print entry INDEX (or 'all') of --export or --bundle decoded for a person, and verify "
                   "nothing; no openings are ever shown")
    p.add_argument("--workers", type=int, default=_cpu_count(), help="processes to use (default: all cores)")
    p.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK, help=argparse.SUPPRESS)
    bar = p.add_mutually_exclusive_group()
    bar.add_argument("--progress", action="store_true", default=None, help="progress on stderr (default: on a tty)")
    bar.add_argument("--no-progress", action="store_false", dest="progress")
    return p


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # report usage errors as exit 2, without SystemExit
        raise UsageError(message)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _check_arguments(args: argparse.Namespace) -> None:
    if args.show is not None:
        _check_show_arguments(args)
        return
    if args.report is not None:
        args.report_paths = _report_paths(args.report)
    if args.bundle is not None:
        others = ("checkpoint", "export", "previous_checkpoint", "consistency_proof", "inclusion_proof", "entry")
        given = [f"--{n.replace('_', '-')}" for n in others if getattr(args, n) is not None]
        if given:
            raise UsageError(f"--bundle holds its own checkpoint and proofs: {', '.join(given)} cannot go with it")
        return
    if args.openings:
        raise UsageError("--openings goes with --bundle")
    if args.vkey is None:
        raise UsageError("--vkey is required: the ledger's published trust root (or a file holding it)")
    if args.checkpoint is None:
        raise UsageError("--checkpoint is required (or --bundle)")
    if args.export is None and args.inclusion_proof is None and args.consistency_proof is None:
        raise UsageError("--export is required (unless only --inclusion-proof or --consistency-proof is checked)")
    if (args.inclusion_proof is None) != (args.entry is None):
        raise UsageError("--inclusion-proof and --entry go together")
    if args.consistency_proof is not None and args.previous_checkpoint is None:
        raise UsageError("--consistency-proof needs --previous-checkpoint")
    if args.previous_checkpoint is not None and args.consistency_proof is None and args.export is None:
        raise UsageError("--previous-checkpoint without --export needs --consistency-proof")
    if args.workers < 1 or args.chunk_size < 1:
        raise UsageError("--workers and --chunk-size must be at least 1")


def _check_show_arguments(args: argparse.Namespace) -> None:
    if (args.export is None) == (args.bundle is None):
        raise UsageError("--show reads one file: give --export FILE or --bundle DIR")
    verifying = ("vkey", "checkpoint", "previous_checkpoint", "consistency_proof", "inclusion_proof", "entry",
                 "report", "policy")
    given = [f"--{n.replace('_', '-')}" for n in verifying if getattr(args, n) is not None]
    if given or args.openings:
        given += ["--openings"] if args.openings else []
        raise UsageError(f"--show only reads the file and verifies nothing: run the verification without it "
                         f"({', '.join(given)} cannot go with --show)")
    if args.show != "all" and not (args.show.isdigit() and len(args.show) <= 16):
        raise UsageError(f"--show takes an entry's index (0, 1, ...) or 'all', not {args.show!r}")


def _report_paths(base: str) -> tuple[str, str]:
    """FILE.json and FILE.txt (a .json or .txt given is dropped first); refused if either exists."""
    stem = base[: -len(".json")] if base.endswith(".json") else base[: -len(".txt")] if base.endswith(".txt") else base
    paths = (stem + ".json", stem + ".txt")
    for path in paths:
        if os.path.exists(path):
            raise UsageError(f"--report: {path} exists; reports are never overwritten, choose another name")
    folder = os.path.dirname(os.path.abspath(paths[0]))
    if not os.access(folder, os.W_OK):
        raise UsageError(f"--report: cannot write into {folder}")
    return paths


# ---- verification -------------------------------------------------------------------
def run(args: argparse.Namespace, report: Report, inputs: Inputs) -> None:
    """Every check, in the order of docs/VERIFYING.md; raise at the first that fails.

    Every file but the export is read (and its kind checked) before anything is verified.
    """
    _check_arguments(args)
    if args.bundle is not None:
        report.what = "bundle"
        report.not_checked = not_checked("bundle", previous=False, openings=args.openings,
                                         witnesses=args.policy is not None)
        run_bundle(args, report, inputs)
        return
    report.what = "export" if args.export is not None else "proofs"
    report.not_checked = not_checked(report.what, previous=args.previous_checkpoint is not None, openings=False,
                                     witnesses=args.policy is not None)
    report.stage = "trust root"
    trust_root = _trust_root(args.vkey, inputs)
    report.trust_root, report.trust_root_source = str(trust_root), "--vkey"
    pinned = pinned_policy(args.policy, inputs) if args.policy is not None else None
    report.stage = "checkpoint"
    checkpoint_data = inputs.checkpoint(args.checkpoint, "checkpoint", "--checkpoint")
    previous_data = consistency_data = inclusion_data = entry_data = None
    if args.previous_checkpoint is not None:
        previous_data = inputs.checkpoint(args.previous_checkpoint, "previous checkpoint", "--previous-checkpoint")
    if args.consistency_proof is not None:
        consistency_data = inputs.read(args.consistency_proof, "consistency proof", "--consistency-proof",
                                       ("consistency-proof",))
    if args.inclusion_proof is not None:
        inclusion_data = inputs.read(args.inclusion_proof, "inclusion proof", "--inclusion-proof",
                                     ("inclusion-proof",))
        entry_data = inputs.read(args.entry, "entry", "--entry", ("entry", "export-line"))
    if args.export is not None:
        inputs.export_head(args.export)

    signed = open_checked(checkpoint_data, [trust_root], "checkpoint")
    cp = signed.checkpoint
    report.origin, report.checkpoint_size, report.checkpoint_root = cp.origin, cp.size, cp.root.hex()
    report.passed("checkpoint", f"{cp.origin}, size {cp.size}, root {cp.root.hex()}: signed by the trust root")
    if pinned is not None:
        check_witnesses(checkpoint_data, trust_root, pinned, None, report)

    previous = None
    if previous_data is not None and args.export is None:
        # With the export, an older checkpoint may carry only a checkpoint key the log has since
        # rotated away from; the log's lineage is known once the export is read, so open it then.
        report.stage = "previous"
        previous = open_checked(previous_data, [trust_root], "previous checkpoint")

    if args.export is not None:
        digest = hashlib.sha256() if args.report is not None else None
        progress = _Progress(os.path.getsize(args.export), _progress_wanted(args))
        try:
            checked = verify_export(report, args.export, signed, trust_root, previous_data, workers=args.workers,
                                    chunk=args.chunk_size, progress=progress.update, digest=digest)
        except UnreadableInputError as e:
            raise UsageError(str(e)) from None
        finally:
            progress.close()
        previous = checked.previous

    if previous is not None and consistency_data is not None:
        report.stage = "consistency"
        check_consistency_file(previous, signed, consistency_data, report)
    if inclusion_data is not None and entry_data is not None:
        report.stage = "inclusion"
        check_inclusion_file(signed, inclusion_data, entry_data, report)


def run_bundle(args: argparse.Namespace, report: Report, inputs: Inputs) -> None:
    """Verify an evidence bundle: the order of docs/VERIFYING.md, "Evidence bundles"."""
    folder = args.bundle
    inputs.bundle_folder(folder)

    def read(name: str) -> bytes:
        return inputs.read_named(os.path.join(folder, name), f"bundle file {name}")

    def optional(name: str) -> bytes | None:
        return read(name) if os.path.exists(os.path.join(folder, name)) else None

    pinned = pinned_policy(args.policy, inputs) if args.policy is not None else None
    required = {name: read(name) for name in BUNDLE_FILES}
    if args.vkey is not None:
        trust_root = _trust_root(args.vkey, inputs)
        report.trust_root_source = "--vkey"
    else:
        data = optional("trust_root.vkey")
        if data is None:
            raise UsageError("the bundle has no trust_root.vkey: pass the ledger's published key with --vkey")
        try:
            trust_root = parse_vkey(data.decode("utf-8").strip())
        except (LedgerError, UnicodeDecodeError) as e:
            raise CheckFailed(f"trust_root.vkey is not a verifier key: {e}") from None
        report.trust_root_source = "the bundle's own trust_root.vkey (not pinned with --vkey)"
        report.notes.append(
            "no --vkey given: the trust root is the bundle's own trust_root.vkey, so this shows the bundle is "
            "consistent with itself, not that it comes from the ledger; pin the published key with --vkey"
        )
    report.trust_root = str(trust_root)
    openings = optional("openings.jsonl")
    delivered_dir = os.path.join(folder, DELIVERED_DIR)
    delivered = tuple((name, read(os.path.join(DELIVERED_DIR, name)))
                      for name in (sorted(os.listdir(delivered_dir)) if os.path.isdir(delivered_dir) else []))
    files = BundleFiles(required["bundle.json"], required["checkpoint"], required["entries.jsonl"],
                        required["proofs.jsonl"], optional("lines.jsonl"), openings, delivered)
    report.stage = "bundle"
    try:
        summary = verify_bundle(files, trust_root, check_openings=args.openings, passed=report.passed)
    except BundleError as e:
        lines = required["entries.jsonl"].splitlines(keepends=True)
        raise CheckFailed(e.reason, e.index, diagnose(e.index, e.reason, lines)) from None
    except Exception as e:  # a verifier bug or input nobody foresaw: still a report, not a traceback
        raise CheckFailed(
            f"unexpected error while checking the bundle ({type(e).__name__}); please report it"
        ) from None
    if pinned is not None:
        check_witnesses(required["checkpoint"], trust_root, pinned, optional(SHIPPED_POLICY), report)
    report.origin, report.checkpoint_size = summary.origin, summary.tree_size
    report.checkpoint_root = report.root = summary.root.hex()
    report.size, report.signatures = summary.entries, summary.signatures
    report.notes.append(
        f"bundle of request {summary.request}: a bundle cannot prove that no entry was left out of it "
        "(a trust entry such as a key revocation, or a later statement about the request); the full export "
        "proves that"
    )
    if openings is not None and not args.openings:
        report.notes.append("openings.jsonl was not checked: pass --openings to check it"
                            + (" (and the values of the delivered files)" if delivered else ""))


def _progress_wanted(args: argparse.Namespace) -> bool:
    return bool(args.progress) if args.progress is not None else sys.stderr.isatty()


# ---- the report for a declaration ----------------------------------------------------
def _verifier_facts() -> dict[str, str]:
    try:
        with open(__file__, "rb") as f:
            sha256 = hashlib.sha256(f.read()).hexdigest()
    except OSError:  # pragma: no cover - the file that runs can be read
        sha256 = "unknown"
    return {"file": os.path.basename(__file__), "version": VERIFIER_VERSION, "sha256": sha256,
            "python": platform.python_version(), "pynacl": str(getattr(nacl, "__version__", "unknown"))}


def _write_report(paths: tuple[str, str], report: Report) -> None:
    report.verifier = _verifier_facts()
    record = json.dumps(report.record(), indent=2, ensure_ascii=False) + "\n"
    for path, text in zip(paths, (record, report.record_text()), strict=True):
        with open(path, "x", encoding="utf-8") as f:
            f.write(text)


# ---- main ---------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """Run the verifier; return the exit status (0 holds, 1 fails, 2 usage)."""
    started = time.monotonic()
    argv = sys.argv[1:] if argv is None else list(argv)
    report = Report(command=list(argv))
    report.run = {"started_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "platform": platform.platform()}
    as_json = "--json" in argv
    args = None
    try:
        args = _parser().parse_args(argv)
        if args.show is not None:
            _check_arguments(args)
            return show(args)
        report.run["workers"] = args.workers
        run(args, report, Inputs(report))
    except SystemExit as e:  # --help
        return int(e.code or 0) if not isinstance(e.code, str) else EXIT_USAGE
    except UsageError as e:
        report.fail(EXIT_USAGE, None, str(e), str(e))
    except CheckFailed as e:
        report.fail(EXIT_FAILED, e.index, e.reason, explain(e.index, e.reason, e.facts))
    report.elapsed = time.monotonic() - started
    if report.exit == EXIT_USAGE and not as_json:
        print(f"verify_ledger.py: error: {report.message}", file=sys.stderr)
    elif as_json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        print(report.as_text(), end="")
    paths = getattr(args, "report_paths", None)
    if paths is not None:
        try:
            _write_report(paths, report)
        except OSError as e:
            print(f"verify_ledger.py: error: the report could not be written: {e}", file=sys.stderr)
            return report.exit if report.exit != EXIT_OK else EXIT_USAGE
    return report.exit


if __name__ == "__main__":
    sys.exit(main())
