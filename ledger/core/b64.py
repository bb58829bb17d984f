"""Strict standard base64 (docs/FORMAT.md § 2): padded, no whitespace, no junk."""

from __future__ import annotations

import base64
import binascii
import re

from ledger.core.errors import EncodingError

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
