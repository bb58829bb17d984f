"""Property tests: the stdlib fast path of canonical_bytes is RFC 8785 (checked against the
rfc8785 package) over the contract's value space, and parse_canonical inverts it."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.core.canonical import MAX_SAFE_INTEGER, canonical_bytes, canonical_bytes_of_checked, parse_canonical
from ledger.core.errors import CanonicalError

EXAMPLES = settings(max_examples=200, deadline=None)

# Any Unicode scalar value (hypothesis excludes surrogates), NFC-normalised as the
# contract requires; controls, quotes, backslashes, DEL, U+2028 and astral characters
# are all in range.
nfc_strings = st.text(max_size=40).map(lambda s: unicodedata.normalize("NFC", s))
keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=12)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER),
    st.integers(-1000, 1000),
    nfc_strings,
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=6),
        st.dictionaries(keys, children, max_size=6),
    ),
    max_leaves=30,
)


@EXAMPLES
@given(values)
def test_fast_path_equals_rfc8785(value: Any) -> None:
    """canonical_bytes (stdlib json, sorted keys) yields exactly rfc8785.dumps."""
    assert canonical_bytes(value) == rfc8785.dumps(value)


@EXAMPLES
@given(values)
def test_unchecked_encoding_of_parsed_values_is_rfc8785(value: Any) -> None:
    """What the server uses for items of a parsed chunk: the same bytes, every part of a parsed value."""
    parsed = parse_canonical(rfc8785.dumps(value))
    assert canonical_bytes_of_checked(parsed) == rfc8785.dumps(value)
    for part in parsed.values() if isinstance(parsed, dict) else parsed if isinstance(parsed, list) else ():
        assert canonical_bytes_of_checked(part) == rfc8785.dumps(part)


@EXAMPLES
@given(values)
def test_parse_inverts_canonical_bytes(value: Any) -> None:
    """parse_canonical(canonical_bytes(x)) == x, and the bytes are valid UTF-8 JSON."""
    data = canonical_bytes(value)
    assert parse_canonical(data) == value
    assert json.loads(data.decode("utf-8")) == value


@EXAMPLES
@given(st.dictionaries(keys, scalars, min_size=1, max_size=6))
def test_any_added_whitespace_is_refused(value: dict[str, Any]) -> None:
    """Inserting a space after the opening brace of a canonical object is refused."""
    data = canonical_bytes(value)
    with pytest.raises(CanonicalError):
        parse_canonical(b"{ " + data[1:])
    with pytest.raises(CanonicalError):
        parse_canonical(data + b"\n")


@EXAMPLES
@given(st.dictionaries(keys, scalars, min_size=2, max_size=6))
def test_unsorted_keys_are_refused(value: dict[str, Any]) -> None:
    """The same object with its keys in reverse order is not canonical and is refused."""
    reordered = json.dumps(
        dict(sorted(value.items(), reverse=True)), separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")
    with pytest.raises(CanonicalError):
        parse_canonical(reordered)


# Sequences NFC changes: a decomposed letter + accent, Hangul jamo, the Angstrom sign (a
# singleton), a composition exclusion (Devanagari QA) and a reordered pair of combining marks.
NOT_NFC = ["e\u0301", "A\u030a", "\u1100\u1161", "\u212b", "\u0958", "a\u0301\u0323"]
non_nfc_strings = st.builds(
    lambda before, seq, after: before + seq + after,
    st.text(st.characters(codec="ascii"), max_size=8),
    st.sampled_from(NOT_NFC),
    st.text(max_size=8),
).filter(lambda s: not unicodedata.is_normalized("NFC", s))


@EXAMPLES
@given(non_nfc_strings)
def test_non_nfc_strings_are_refused(text: str) -> None:
    """Any string that is not NFC is refused when encoding and when parsing."""
    with pytest.raises(CanonicalError):
        canonical_bytes({"s": text})
    with pytest.raises(CanonicalError):
        parse_canonical(json.dumps({"s": text}, ensure_ascii=False).encode("utf-8"))


# Values that mix allowed leaves with leaves the contract refuses, in lists and objects alike.
bad_leaves = st.one_of(
    st.integers(MAX_SAFE_INTEGER + 1, 2**64), st.integers(-(2**64), -MAX_SAFE_INTEGER - 1),
    st.floats(allow_nan=False), st.just("\ud800"), st.just("e\u0301"), st.binary(max_size=3),
)
mixed = st.recursive(
    st.one_of(scalars, bad_leaves),
    lambda children: st.one_of(
        st.lists(children, max_size=6),
        st.dictionaries(st.one_of(keys, st.just("Upper"), st.just("a-b")), children, max_size=6),
    ),
    max_leaves=30,
)


@EXAMPLES
@given(mixed)
def test_the_fast_check_never_accepts_what_the_full_check_refuses(value: Any) -> None:
    """canonical_bytes' fast check (_is_allowed) may only send a value on to the full check
    (_check_value), never pass one it would refuse: whatever the full check refuses, canonical_bytes
    refuses, wherever in a list or object the bad leaf sits."""
    from ledger.core.canonical import _check_value, _is_allowed

    try:
        _check_value(value, "$", 0)
    except CanonicalError:
        assert not _is_allowed(value, 0)
        with pytest.raises(CanonicalError):
            canonical_bytes(value)
    else:
        assert canonical_bytes(value) == rfc8785.dumps(value)
