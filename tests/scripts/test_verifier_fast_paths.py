"""The core's fast paths, added for the verifier's speed, decide exactly as the general code.

Each fast path may only *accept* what the general path accepts (with the same value);
everything else falls through to the general path, which refuses and says why. These
differential tests compare them on generated inputs.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from verifier_helpers import VECTORS

from ledger.core import canonical, entry
from ledger.core.b64 import b64decode
from ledger.core.errors import CanonicalError, EncodingError, LedgerError, TimeFormatError
from ledger.core.times import parse_time

_B64_RE = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?\Z")


def _reference_b64(text: str) -> bytes | None:
    """The original rule: the strict pattern, then decoding, then re-encoding to the same text."""
    if not _B64_RE.match(text):
        return None
    data = base64.b64decode(text, validate=True)
    return data if base64.b64encode(data).decode("ascii") == text else None


def _ours_b64(text: str) -> bytes | None:
    try:
        return b64decode(text)
    except EncodingError:
        return None


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="ABCDEFGHabcxyz0189+/=\n -_!\u00e9", max_size=14))
def test_b64decode_accepts_exactly_canonical_base64(text: str) -> None:
    """Strict base64 decoding (fast path: strict binascii + re-encoding) matches the reference rule."""
    assert _ours_b64(text) == _reference_b64(text)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40), st.integers(0, 60), st.sampled_from(["", "=", "==", "A", "\n", " ", "==="]))
def test_b64decode_on_mutations_of_valid_text(data: bytes, at: int, junk: str) -> None:
    """Valid text, and valid text with junk inserted or padding dropped, decide as the reference."""
    text = base64.b64encode(data).decode()
    for candidate in (text, text[:at] + junk + text[at:], text.rstrip("=")):
        assert _ours_b64(candidate) == _reference_b64(candidate)


def _reference_time(text: str) -> datetime | None:
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z", text):
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return None


@settings(max_examples=500, deadline=None)
@given(*[st.integers(0, n) for n in (9999, 99, 99, 99, 99, 99, 999999)])
def test_parse_time_matches_strptime(y: int, mo: int, d: int, h: int, mi: int, s: int, us: int) -> None:
    """Slicing digits into datetime() accepts and refuses exactly as strptime did."""
    text = f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}.{us:06d}Z"
    try:
        ours: datetime | None = parse_time(text)
    except TimeFormatError:
        ours = None
    assert ours == _reference_time(text)


def _slow_accepts(value: Any) -> bool:
    try:
        canonical._check_value(value, "$", 0)
    except CanonicalError:
        return False
    return True


_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**60), 2**60), st.text(max_size=4),
    st.sampled_from(["e\u0301", "\u00e9", "\ud800", "A"]),
)
_keys = st.one_of(st.sampled_from(["a", "b_1", "Z", "a-b", "", "\u00e9", "type"]), st.text(max_size=3))
_values = st.recursive(
    _leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_keys, inner, max_size=3),
                            st.tuples(inner)),
    max_leaves=20,
)


@settings(max_examples=500, deadline=None)
@given(_values)
def test_fast_value_check_accepts_only_what_the_full_check_accepts(value: Any) -> None:
    """_is_allowed (no paths, inline leaves) never accepts what _check_value refuses."""
    if canonical._is_allowed(value, 0):
        assert _slow_accepts(value)


def test_fast_value_check_at_the_depth_limit() -> None:
    """Near MAX_DEPTH the fast check defers to the full one, which decides."""
    for depth in range(canonical.MAX_DEPTH - 2, canonical.MAX_DEPTH + 3):
        value: Any = 1
        for _ in range(depth):
            value = {"a": value}
        if canonical._is_allowed(value, 0):
            assert _slow_accepts(value)
        try:
            canonical.canonical_bytes(value)
            accepted = True
        except CanonicalError:
            accepted = False
        assert accepted == _slow_accepts(value)


def _general_entry(data: bytes) -> Any:
    try:
        return canonical.parse_canonical(data)
    except LedgerError:
        return None


_statements = st.one_of(
    st.text(max_size=30),
    st.sampled_from(['{"a":1}\n\n\u2014 x AAAA\n', "e\u0301", "\ud800", '"\\', "\x00\x1f\x7f", "\u2028/"]),
)


@settings(max_examples=500, deadline=None)
@given(st.integers(0, 2**54), st.text(alphabet="0123456789abcdefA", min_size=63, max_size=65),
       st.sampled_from(["2025-08-01T12:00:03.123456Z", "2025-08-01T12:00:03Z", "x" * 27]), _statements,
       st.sampled_from(["", " ", "}", "\n"]))
def test_entry_fast_path_agrees_with_parse_canonical(index: int, prev: str, recorded_at: str, statement: str,
                                                      tail: str) -> None:
    """An entry the shape-based fast path accepts is canonical, with the same value."""
    body = json.dumps({"index": index, "prev": prev, "recorded_at": recorded_at, "statement": statement},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for text in (body, body + tail, body.replace('"statement":', '"statement": ')):
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:
            continue
        fast = entry._parse_fast(data)
        if fast is not None:
            assert fast == _general_entry(data)


def test_entry_fast_path_takes_real_entries() -> None:
    """Real entries go through the fast path (the speed-up applies), with the general path's value."""
    for line in (VECTORS / "happy-path" / "export.jsonl").read_bytes().splitlines():
        data = b64decode(json.loads(line)["entry_b64"])
        assert entry._parse_fast(data) == canonical.parse_canonical(data)


def test_duplicate_keys_are_still_named() -> None:
    """Without the duplicate-key hook on the fast decoder, a duplicate is still refused by name."""
    try:
        canonical.parse_canonical(b'{"a":1,"a":1}')
    except CanonicalError as e:
        assert "duplicate object key 'a'" in str(e)
    else:  # pragma: no cover
        raise AssertionError("a duplicate key was accepted")
