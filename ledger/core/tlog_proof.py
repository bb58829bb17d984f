"""c2sp.org/tlog-proof: an offline proof that an entry is in a log, as one text.

    c2sp.org/tlog-proof@v1
    extra <base64>                (optional, opaque and unauthenticated)
    index <decimal>
    <base64 hash>                 the RFC 6962 inclusion proof, leaf's sibling first, zero or more lines
    <empty line>
    <checkpoint>                  verbatim: a signed note, cosignatures included

Parsing checks the layout only; the checkpoint is returned as its text for the caller to open against
its policy (``ledger.core.witnessed``), and the path is checked against the entry by ``ledger.core.proofs``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.core.b64 import b64decode
from ledger.core.errors import LedgerError, ProtocolError
from ledger.core.witness_protocol import parse_size

HEADER = "c2sp.org/tlog-proof@v1"
MAX_PATH = 64


@dataclass(frozen=True)
class TlogProof:
    index: int
    path: tuple[bytes, ...]
    checkpoint: str
    extra: bytes | None = None


def parse_tlog_proof(text: str) -> TlogProof:
    """Parse a tlog-proof; ProtocolError says which line is wrong."""
    head, sep, checkpoint = text.partition("\n\n")
    if not sep:
        raise ProtocolError("a tlog-proof has an empty line between its inclusion proof and its checkpoint")
    lines = head.split("\n")
    if lines[0] != HEADER:
        raise ProtocolError(f"a tlog-proof starts with the line {HEADER!r}, found {lines[0][:60]!r}")
    at, extra = 1, None
    try:
        if len(lines) > at and lines[at].startswith("extra "):
            extra = b64decode(lines[at][len("extra "):])
            at += 1
        if len(lines) <= at or not lines[at].startswith("index "):
            raise ProtocolError("a tlog-proof's index line 'index <decimal>' is missing")
        index = parse_size(lines[at][len("index "):], "index line")
        path = tuple(b64decode(line, length=32) for line in lines[at + 1:])
    except ProtocolError:
        raise
    except LedgerError as e:
        raise ProtocolError(f"a tlog-proof line is not what it should be: {e}") from None
    if len(path) > MAX_PATH:
        raise ProtocolError(f"an inclusion proof has at most {MAX_PATH} hashes, found {len(path)}")
    return TlogProof(index, path, checkpoint, extra)
