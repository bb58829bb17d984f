"""Canonical JSON (contract point 1): RFC 8785 with the contract's restrictions.

Values are str, int within +/-(2**53-1), bool, None, list and dict; floats are
refused before encoding; object keys match [a-z0-9_]+; strings are NFC.
With such inputs, stdlib json with sorted keys yields exactly the JCS bytes
(the fast path); tests check it against the rfc8785 package.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

from ledger.errors import CanonicalError

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


def _is_allowed(value: Any, depth: int) -> bool:
    """Exactly the test of _check_value, without building paths: the fast path.

    False sends the caller to _check_value, which says where and why.
    """
    if depth > MAX_DEPTH:
        return False
    if isinstance(value, str):
        if value.isascii():
            return True
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return unicodedata.is_normalized("NFC", value)
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not _KEY_RE.match(key) or not _is_allowed(item, depth + 1):
                return False
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_allowed(item, depth + 1) for item in value)
    return False


# Built once: json.dumps / json.loads with keyword arguments build a new coder on every call.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_bytes(value: Any) -> bytes:
    """Return the RFC 8785 bytes of a value, refusing what the contract forbids."""
    if not _is_allowed(value, 0):
        _check_value(value, "$", 0)
    return _ENCODER.encode(value).encode("utf-8")


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


def parse_canonical(data: bytes) -> Any:
    """Parse bytes that must be exactly the canonical encoding of their value."""
    if not isinstance(data, (bytes, bytearray)):
        raise CanonicalError(f"expected bytes, found {type(data).__name__}")
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as e:
        raise CanonicalError(f"not valid UTF-8 at byte {e.start}") from None
    try:
        value = _DECODER.decode(text)
    except CanonicalError:
        raise
    except RecursionError:
        raise CanonicalError("JSON nested too deeply") from None
    except ValueError as e:
        raise CanonicalError(f"not JSON: {e}") from None
    again = canonical_bytes(value)
    if again != bytes(data):
        raise CanonicalError(
            f"not canonical: expected {len(again)} bytes of RFC 8785 encoding, "
            f"found a different encoding of {len(data)} bytes"
        )
    return value
