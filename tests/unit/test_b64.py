"""ledger.core.b64: standard padded base64, decoded strictly."""

from __future__ import annotations

import pytest

from ledger.core.b64 import b64decode, b64encode
from ledger.core.errors import EncodingError


@pytest.mark.parametrize(
    ("data", "text"),
    [(b"", ""), (b"f", "Zg=="), (b"fo", "Zm8="), (b"foo", "Zm9v"), (b"\xfb\xff", "+/8=")],
)
def test_rfc4648_examples(data: bytes, text: str) -> None:
    """Encoding and decoding agree with RFC 4648 and use '+' and '/'."""
    assert b64encode(data) == text
    assert b64decode(text) == data


@pytest.mark.parametrize("text", ["Zm9v\n", "Zm 9v", " Zm9v", "Zm9v\r\n", "Zm\t9v", "Zg==\n"])
def test_whitespace_is_refused(text: str) -> None:
    """Whitespace anywhere, including a trailing newline, is refused rather than skipped."""
    with pytest.raises(EncodingError):
        b64decode(text)


@pytest.mark.parametrize("text", ["Zm9v!", "Zm9v.", "Zm9*", "Zg==Zg==", "Zg=", "Z===", "=Zg=", "Zm9vé"])
def test_junk_and_misplaced_padding_are_refused(text: str) -> None:
    """Characters outside the alphabet and '=' anywhere but the end are refused."""
    with pytest.raises(EncodingError):
        b64decode(text)


@pytest.mark.parametrize("text", ["Zg", "Zm8", "Z"])
def test_missing_padding_is_refused(text: str) -> None:
    """Unpadded base64 is refused."""
    with pytest.raises(EncodingError):
        b64decode(text)


@pytest.mark.parametrize("text", ["Zh==", "Zm9=", "Zv==", "+/9="])
def test_non_zero_pad_bits_are_refused(text: str) -> None:
    """Base64 whose unused low bits are not zero decodes leniently elsewhere and is refused here."""
    with pytest.raises(EncodingError, match="padding bits"):
        b64decode(text)


@pytest.mark.parametrize("text", ["-_8=", "Zm9v-A==", "ab_c"])
def test_urlsafe_alphabet_is_refused(text: str) -> None:
    """The URL-safe alphabet is refused."""
    with pytest.raises(EncodingError):
        b64decode(text)


def test_length_mismatch_is_refused() -> None:
    """A required length that differs from the decoded length is refused."""
    assert b64decode("Zm9v", length=3) == b"foo"
    with pytest.raises(EncodingError, match="expected 32 bytes, found 3"):
        b64decode("Zm9v", length=32)


def test_non_string_is_refused() -> None:
    """Bytes are not base64 text."""
    with pytest.raises(EncodingError):
        b64decode(b"Zm9v")  # type: ignore[arg-type]
