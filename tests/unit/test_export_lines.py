"""ledger.core.export_lines: the one definition of an export line (docs/FORMAT.md § 12)."""

from __future__ import annotations

import hashlib
import io

import pytest

from ledger.core.b64 import b64encode
from ledger.core.errors import LedgerError, VerificationError
from ledger.core.export_lines import (
    MAX_LINE_BYTES,
    export_line,
    parse_export_line,
    read_export,
    read_line_chunks,
)

ENTRY = b'{"index":3,"prev":"00","statement":"x"}'


def test_a_line_is_the_canonical_json_of_entry_b64_and_index_then_lf() -> None:
    """The exact bytes: keys in JCS order, no spaces, one LF."""
    assert export_line(3, ENTRY) == b'{"entry_b64":"' + b64encode(ENTRY).encode() + b'","index":3}\n'


@pytest.mark.parametrize("index", [0, 1, 9, 10, 12345, 2**53 - 1])
@pytest.mark.parametrize("data", [b"", b"a", b"ab", b"abc", ENTRY, bytes(range(256)) * 3])
def test_parse_returns_what_encode_wrote(index: int, data: bytes) -> None:
    """Round trip for every base64 padding length and index width."""
    assert parse_export_line(export_line(index, data), index) == data


def test_a_line_read_at_another_position_is_out_of_sequence() -> None:
    """The index a line claims must be its place in the file; the error carries both."""
    with pytest.raises(VerificationError) as caught:
        parse_export_line(export_line(3, ENTRY), 4)
    error = caught.value
    assert (error.index, error.expected, error.found) == (4, 4, 3)
    assert str(error) == "entry 4: export line index out of sequence (expected 4, found 3)"


GOOD = export_line(0, ENTRY)
B64 = b64encode(ENTRY).encode()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (GOOD[:-1], "export line does not end with LF (the file ends inside a line)"),
        (b"{" + b"A" * (MAX_LINE_BYTES - 1), f"export line is longer than {MAX_LINE_BYTES} bytes"),
        (b"\n", "blank line in the export"),
        (GOOD[:-1] + b"\r\n", "export line ends with CR LF (a Windows line ending)"),
        (b"\xef\xbb\xbf" + GOOD, "export line starts with a byte order mark (BOM)"),
        (b'{"index":0,"entry_b64":"' + B64 + b'"}\n', "export line is not canonical JSON"),
        (b'{"entry_b64": "' + B64 + b'", "index": 0}\n', "export line is not canonical JSON"),
        (b"[1,2]\n", "export line must be an object of exactly entry_b64 and index (expected None, found 'list')"),
        (b'{"entry_b64":"' + B64 + b'","index":0,"x":1}\n',
         "export line must be an object of exactly entry_b64 and index "
         "(expected None, found ['entry_b64', 'index', 'x'])"),
        (b'{"entry_b64":"' + B64 + b'","index":true}\n', "export line index must be a non-negative integer"),
        (b'{"entry_b64":"' + B64 + b'","index":-1}\n', "export line index must be a non-negative integer"),
        (b'{"entry_b64":"' + B64 + b'","index":"0"}\n', "export line index must be a non-negative integer"),
        (b'{"entry_b64":7,"index":0}\n', "export line entry_b64 must be a string"),
        (b'{"entry_b64":"YQ=","index":0}\n', "export line: entry_b64 is not strict base64"),
        (b'{"entry_b64":"YR==","index":0}\n', "export line: entry_b64 is not strict base64"),
        (b'{"entry_b64":"Y\\u0051==","index":0}\n', "export line is not canonical JSON"),
    ],
)
def test_malformed_lines_are_refused_with_a_typed_error_naming_the_line(line: bytes, message: str) -> None:
    """Every way a line can be wrong is a VerificationError (a LedgerError) at its position, saying what."""
    with pytest.raises(VerificationError) as caught:
        parse_export_line(line, 0)
    assert isinstance(caught.value, LedgerError)
    assert caught.value.index == 0
    assert str(caught.value).startswith(f"entry 0: {message}")


def test_a_bom_is_only_named_on_the_first_line() -> None:
    """Further down the file the same bytes are simply not canonical JSON."""
    with pytest.raises(VerificationError, match="not canonical JSON"):
        parse_export_line(b"\xef\xbb\xbf" + export_line(5, ENTRY), 5)


def _export(n: int) -> bytes:
    return b"".join(export_line(i, ENTRY + str(i).encode()) for i in range(n))


def test_chunks_hold_every_line_in_order_with_their_byte_count_and_hash() -> None:
    """read_line_chunks cuts a file into chunks of at most ``chunk`` lines; the digest sees every byte."""
    data = _export(7)
    digest = hashlib.sha256()
    chunks = list(read_line_chunks(io.BytesIO(data), 3, digest))
    assert [len(lines) for lines, _ in chunks] == [3, 3, 1]
    assert b"".join(b"".join(lines) for lines, _ in chunks) == data
    assert sum(n for _, n in chunks) == len(data)
    assert digest.digest() == hashlib.sha256(data).digest()


def test_a_huge_line_is_cut_and_then_refused_as_too_long() -> None:
    """A line past MAX_LINE_BYTES is never read whole: its first piece fails as too long."""
    data = export_line(0, ENTRY) + b'{"entry_b64":"' + b"A" * (2 * MAX_LINE_BYTES) + b'","index":1}\n'
    lines = [line for chunk, _ in read_line_chunks(io.BytesIO(data), 10) for line in chunk]
    assert len(lines[1]) == MAX_LINE_BYTES
    with pytest.raises(VerificationError, match=f"longer than {MAX_LINE_BYTES} bytes"):
        parse_export_line(lines[1], 1)


def test_read_export_yields_every_entry_then_stops_at_the_first_bad_line() -> None:
    """The strict reader (restore from an export): entries in order, a typed error at the first bad line."""
    good = _export(3)
    assert list(read_export(io.BytesIO(good))) == [(i, ENTRY + str(i).encode()) for i in range(3)]
    seen = []
    with pytest.raises(VerificationError) as caught:
        for item in read_export(io.BytesIO(good + b"\n" + _export(5))):
            seen.append(item)
    assert len(seen) == 3
    assert str(caught.value) == "entry 3: blank line in the export"
