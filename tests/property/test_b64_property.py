"""Property tests: strict standard base64 round-trips and refuses every non-canonical text."""

from __future__ import annotations

import base64
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.core.b64 import b64decode, b64encode
from ledger.core.errors import EncodingError

EXAMPLES = settings(max_examples=200, deadline=None)
ALPHABET = set(string.ascii_letters + string.digits + "+/=")


@EXAMPLES
@given(st.binary(max_size=100))
def test_round_trip(data: bytes) -> None:
    """b64decode(b64encode(x)) == x, and the text is the standard library's padded encoding."""
    text = b64encode(data)
    assert text == base64.b64encode(data).decode("ascii")
    assert b64decode(text) == data
    assert b64decode(text, length=len(data)) == data


@EXAMPLES
@given(st.binary(max_size=60), st.data())
def test_any_inserted_character_outside_the_alphabet_is_refused(data: bytes, draw: st.DataObject) -> None:
    """Inserting any character that is not in the base64 alphabet (whitespace included) is refused."""
    text = b64encode(data)
    junk = draw.draw(st.characters().filter(lambda c: c not in ALPHABET), label="junk")
    position = draw.draw(st.integers(0, len(text)), label="position")
    with pytest.raises(EncodingError):
        b64decode(text[:position] + junk + text[position:])


@EXAMPLES
@given(st.binary(min_size=1, max_size=60).filter(lambda d: len(d) % 3 != 0))
def test_missing_padding_is_refused(data: bytes) -> None:
    """Dropping the '=' padding is refused."""
    with pytest.raises(EncodingError):
        b64decode(b64encode(data).rstrip("="))


@EXAMPLES
@given(st.binary(min_size=1, max_size=60).filter(lambda d: len(d) % 3 != 0), st.data())
def test_non_zero_padding_bits_are_refused(data: bytes, draw: st.DataObject) -> None:
    """Setting any of the unused bits of the last character before '=' is refused."""
    text = b64encode(data)
    last = text.rstrip("=")[-1]
    unused = 4 if text.endswith("==") else 2
    value = (string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/").index(last)
    mask = draw.draw(st.integers(1, (1 << unused) - 1), label="padding bits")
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/"
    mutated = text.rstrip("=")[:-1] + alphabet[value | mask] + text[len(text.rstrip("=")) :]
    with pytest.raises(EncodingError):
        b64decode(mutated)


@EXAMPLES
@given(st.binary(min_size=1, max_size=60).filter(lambda d: "+" in b64encode(d) or "/" in b64encode(d)))
def test_urlsafe_alphabet_is_refused(data: bytes) -> None:
    """The URL-safe alphabet ('-' and '_') is refused."""
    with pytest.raises(EncodingError):
        b64decode(base64.urlsafe_b64encode(data).decode("ascii"))


@EXAMPLES
@given(st.binary(max_size=60), st.integers(0, 70))
def test_length_is_enforced(data: bytes, length: int) -> None:
    """A required length is enforced exactly."""
    if length == len(data):
        assert b64decode(b64encode(data), length=length) == data
    else:
        with pytest.raises(EncodingError):
            b64decode(b64encode(data), length=length)
