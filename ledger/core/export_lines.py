"""What an export line is (docs/FORMAT.md § 12): the one place it is written and read.

An export line is ``JCS({"entry_b64": base64(entry), "index": i}) || LF``. The ledger's
export writer, the restore from an export, the court's verifier and the test-vector
generator all use this module, so the format has one definition:

- ``export_line(index, data)`` writes one line;
- ``parse_export_line(line, position)`` reads one line strictly: the entry bytes of line
  ``position``, or a VerificationError naming it and saying what is wrong;
- ``read_line_chunks(f, chunk)`` cuts a file into chunks of lines (a line is cut at
  MAX_LINE_BYTES, so a huge line costs no memory and fails as too long);
- ``read_export(f)`` yields ``(index, entry bytes)`` of every line, strictly.

Parsing is the verifier's hot path (an export holds millions of lines): a canonical line
matches a fixed pattern and is decoded directly; only a line that does not match goes
through parse_canonical, which refuses it with a precise reason (or accepts it with the
same result).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO, Any

from ledger.core.b64 import b64decode, b64encode
from ledger.core.canonical import canonical_bytes, parse_canonical
from ledger.core.errors import LedgerError, VerificationError

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
