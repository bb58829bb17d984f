"""ledger.core.canonical: RFC 8785 bytes under the contract's restrictions, and strict parsing."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785

from ledger.core.canonical import MAX_DEPTH, MAX_SAFE_INTEGER, canonical_bytes, parse_canonical
from ledger.core.errors import CanonicalError


def test_known_encoding() -> None:
    """Keys are sorted, there is no whitespace, and non-ASCII is written as raw UTF-8."""
    value = {"z": [1, True, None], "a": "é\u2028", "m": {"b": -5, "a": ""}}
    expected = '{"a":"é\u2028","m":{"a":"","b":-5},"z":[1,true,null]}'.encode()
    assert canonical_bytes(value) == expected
    assert rfc8785.dumps(value) == expected


def test_control_characters_are_escaped_as_jcs_does() -> None:
    """Control characters use the short escapes or lowercase \\u00xx; DEL stays raw."""
    value = {"s": "\b\t\n\f\r\x00\x1f\"\\\x7f"}
    assert canonical_bytes(value) == b'{"s":"\\b\\t\\n\\f\\r\\u0000\\u001f\\"\\\\\x7f"}'
    assert canonical_bytes(value) == rfc8785.dumps(value)


def test_safe_integer_bounds_are_accepted() -> None:
    """Integers of magnitude up to 2^53-1 are accepted."""
    assert canonical_bytes([MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER]) == b"[9007199254740991,-9007199254740991]"


@pytest.mark.parametrize("value", [2**53, -(2**53), 10**30])
def test_big_integers_are_refused(value: int) -> None:
    """Integers beyond +/-(2^53-1) are refused when encoding."""
    with pytest.raises(CanonicalError, match="integer"):
        canonical_bytes({"n": value})


def test_big_integer_is_refused_when_parsing() -> None:
    """An integer beyond 2^53-1 in the bytes is refused when parsing."""
    with pytest.raises(CanonicalError):
        parse_canonical(b'{"n":9007199254740992}')


@pytest.mark.parametrize("value", [1.0, 0.5, float("nan"), float("inf"), -0.0])
def test_floats_are_refused_before_encoding(value: float) -> None:
    """Floats, even integral ones that JCS would write as integers, are refused by type."""
    with pytest.raises(CanonicalError, match="float"):
        canonical_bytes({"x": [value]})


@pytest.mark.parametrize("text", [b"1.0", b"[1e3]", b'{"a":-0.5}', b"1E2"])
def test_floats_are_refused_when_parsing(text: bytes) -> None:
    """A number with a fraction or exponent is refused when parsing."""
    with pytest.raises(CanonicalError, match="float"):
        parse_canonical(text)


@pytest.mark.parametrize("text", [b"NaN", b"[Infinity]", b'{"a":-Infinity}'])
def test_nan_and_infinity_are_refused_when_parsing(text: bytes) -> None:
    """NaN and Infinity, which Python's json accepts by default, are refused."""
    with pytest.raises(CanonicalError):
        parse_canonical(text)


@pytest.mark.parametrize("key", ["", "A", "a-b", "a b", "é", "a.b", "Key", "a\n"])
def test_bad_keys_are_refused(key: str) -> None:
    """Object keys must match [a-z0-9_]+."""
    with pytest.raises(CanonicalError, match="key"):
        canonical_bytes({key: 1})


def test_non_string_keys_are_refused() -> None:
    """Object keys that are not strings are refused (json would silently stringify them)."""
    with pytest.raises(CanonicalError):
        canonical_bytes({1: "x"})


def test_bad_key_is_refused_when_parsing() -> None:
    """A key outside [a-z0-9_]+ in the bytes is refused."""
    with pytest.raises(CanonicalError):
        parse_canonical(b'{"A":1}')


@pytest.mark.parametrize("text", ["e\u0301", "\u212b", "\u1100\u1161"])
def test_non_nfc_strings_are_refused(text: str) -> None:
    """Strings that NFC would change are refused, in values and when parsing."""
    with pytest.raises(CanonicalError, match="NFC"):
        canonical_bytes({"s": text})
    with pytest.raises(CanonicalError, match="NFC"):
        parse_canonical(f'{{"s":"{text}"}}'.encode())


def test_lone_surrogate_is_refused() -> None:
    """A string holding a lone surrogate is refused when encoding."""
    with pytest.raises(CanonicalError, match="surrogate"):
        canonical_bytes({"s": "\ud800"})


def test_escaped_lone_surrogate_is_refused_when_parsing() -> None:
    """A \\ud800 escape (a lone surrogate) in the bytes is refused."""
    with pytest.raises(CanonicalError):
        parse_canonical(b'{"s":"\\ud800"}')


@pytest.mark.parametrize("value", [b"x", 1 + 2j, object(), {"a": {1, 2}}, {"a": b"bytes"}])
def test_other_types_are_refused(value: Any) -> None:
    """Types outside str/int/bool/None/list/dict are refused."""
    with pytest.raises(CanonicalError):
        canonical_bytes(value)


def test_duplicate_keys_are_refused() -> None:
    """An object with a repeated key is refused (json would keep the last one)."""
    with pytest.raises(CanonicalError, match="duplicate"):
        parse_canonical(b'{"a":1,"a":1}')


@pytest.mark.parametrize(
    "text",
    [
        b'{"a": 1}',
        b' {"a":1}',
        b'{"a":1}\n',
        b'{"a":1,"b":2 }',
        b'[1, 2]',
        b'{"b":1,"a":2}',
        b'"\\u00e9"',
        b'"\\/"',
        b'"\\u0041"',
        b"-0",
        b"01",
        b'"\\u001F"',
    ],
)
def test_non_canonical_encodings_are_refused(text: bytes) -> None:
    """Whitespace, unsorted keys and unneeded or uppercase escapes are not canonical."""
    with pytest.raises(CanonicalError):
        parse_canonical(text)


@pytest.mark.parametrize("text", [b"\xff", b'"\xc3"', b'"\xed\xa0\x80"', b'"\xc0\xaf"'])
def test_invalid_utf8_is_refused(text: bytes) -> None:
    """Invalid UTF-8 (bad bytes, truncated, encoded surrogates, overlong) is refused."""
    with pytest.raises(CanonicalError, match="UTF-8"):
        parse_canonical(text)


@pytest.mark.parametrize("text", [b"", b"{", b'{"a":}', b"tru", b'"a'])
def test_not_json_is_refused(text: bytes) -> None:
    """Bytes that are not JSON are refused with CanonicalError."""
    with pytest.raises(CanonicalError):
        parse_canonical(text)


def test_parse_refuses_str() -> None:
    """parse_canonical takes bytes only: hashes are of stored bytes, never of re-encoded text."""
    with pytest.raises(CanonicalError, match="bytes"):
        parse_canonical('{"a":1}')  # type: ignore[arg-type]


def nested(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


def test_nesting_up_to_the_limit_is_accepted() -> None:
    """Documents nested MAX_DEPTH deep are accepted both ways."""
    value = nested(MAX_DEPTH)
    assert parse_canonical(canonical_bytes(value)) == value


def test_deeper_nesting_is_refused() -> None:
    """One level deeper than MAX_DEPTH is refused both ways."""
    with pytest.raises(CanonicalError, match="nesting"):
        canonical_bytes(nested(MAX_DEPTH + 1))
    with pytest.raises(CanonicalError):
        parse_canonical(b"[" * (MAX_DEPTH + 1) + b"0" + b"]" * (MAX_DEPTH + 1))


def test_pathological_nesting_is_refused_without_crashing() -> None:
    """Nesting deep enough to exhaust Python's recursion is a CanonicalError, not a RecursionError."""
    with pytest.raises(CanonicalError):
        parse_canonical(b"[" * 100_000 + b"]" * 100_000)


def test_booleans_are_not_integers() -> None:
    """True and False encode as JSON booleans, not 1 and 0."""
    assert canonical_bytes([True, False, 1, 0]) == b"[true,false,1,0]"
    assert parse_canonical(b"[true,1]") == [True, 1]
    assert parse_canonical(b"[true,1]")[0] is True
