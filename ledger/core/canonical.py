"""Canonical JSON (docs/FORMAT.md § 1): RFC 8785 with the restrictions docs/FORMAT.md § 1 adds.

Values are str, int within +/-(2**53-1), bool, None, list and dict; floats are
refused before encoding; object keys match [a-z0-9_]+; strings are NFC.
With such inputs, stdlib json with sorted keys yields exactly the JCS bytes
(the fast path); tests check it against the rfc8785 package.
"""

from __future__ import annotations

import json
import re
import unicodedata
from json.decoder import scanstring  # type: ignore[attr-defined]  # C-accelerated, not in typeshed
from json.encoder import encode_basestring
from typing import Any

from ledger.core.errors import CanonicalError

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
