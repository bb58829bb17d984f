"""The bytes of c2sp.org/tlog-witness: the add-checkpoint request, its answers, the monitoring path.

Request body: ``old <size>\\n``, zero to 63 base64 consistency-proof hashes one per line, an empty
line, then the checkpoint (a signed note). A 200 answer is one or more signature lines; a 409
answer is the witness's size and a newline, ``Content-Type: text/x.tlog.size``. A witness serves
its latest cosigned checkpoint of a log at ``<monitoring prefix>/<hex SHA-256 of the origin>/checkpoint``.
Shared by the witness (``ledger.witness``) and the ledger's client of witnesses.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ledger.core.b64 import b64decode, b64encode
from ledger.core.errors import LedgerError, ProtocolError
from ledger.core.note import NoteSignature, parse_note

MAX_PROOF_LINES = 63
SIZE_CONTENT_TYPE = "text/x.tlog.size"
ADD_CHECKPOINT = "add-checkpoint"
_SIZE_TEXT_RE = re.compile(r"(0|[1-9][0-9]{0,18})\Z")


@dataclass(frozen=True)
class AddCheckpoint:
    """An add-checkpoint request: the size the client believes the witness holds, the proof, the note."""

    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: str

    def encode(self) -> bytes:
        if len(self.proof) > MAX_PROOF_LINES:
            raise ProtocolError(f"a consistency proof has at most {MAX_PROOF_LINES} hashes, found {len(self.proof)}")
        lines = [f"old {self.old_size}\n", *(b64encode(h) + "\n" for h in self.proof), "\n", self.checkpoint]
        return "".join(lines).encode("utf-8")


def parse_size(text: str, what: str = "size") -> int:
    """A tree size in decimal without leading zeros (``0`` for the empty tree)."""
    if not _SIZE_TEXT_RE.match(text):
        raise ProtocolError(f"{what}: expected a decimal size without leading zeros, found {text[:40]!r}")
    size = int(text)
    if size > 2**63 - 1:
        raise ProtocolError(f"{what}: {size} is larger than 2^63 - 1")
    return size


def parse_add_checkpoint(body: bytes) -> AddCheckpoint:
    """Parse an add-checkpoint body; ProtocolError (an HTTP 400) says what is wrong.

    The checkpoint note itself is parsed by the caller, which answers 400, 404 or 403 for it.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("the request body is not UTF-8") from None
    first = text.find("\n")
    if first < 0 or not text.startswith("old "):
        raise ProtocolError("the request body starts with the line 'old <size>'")
    old_size = parse_size(text[4:first], "old size line")
    proof: list[bytes] = []
    at = first + 1
    while True:
        end = text.find("\n", at)
        if end < 0:
            raise ProtocolError("the proof lines end with an empty line before the checkpoint")
        line = text[at:end]
        at = end + 1
        if not line:
            break
        if len(proof) == MAX_PROOF_LINES:
            raise ProtocolError(f"more than {MAX_PROOF_LINES} consistency proof lines")
        try:
            proof.append(b64decode(line, length=32))
        except LedgerError:
            raise ProtocolError(f"proof line {len(proof) + 1} is not the base64 of a 32-byte hash") from None
    return AddCheckpoint(old_size, tuple(proof), text[at:])


def parse_size_answer(body: bytes) -> int:
    """The size in a 409 answer: decimal, then a newline."""
    text = body.decode("utf-8", "replace")
    if not text.endswith("\n"):
        raise ProtocolError(f"a 409 answer is the witness's size and a newline, found {text[:40]!r}")
    return parse_size(text[:-1], "409 answer")


def parse_cosignature_answer(body: bytes) -> list[NoteSignature]:
    """The signature lines of a 200 answer (at least one), parsed as a note's would be."""
    if not body.startswith("\u2014 ".encode()) or not body.endswith(b"\n"):
        raise ProtocolError("a 200 answer is one or more signature lines '— name base64', each ending in a newline")
    try:
        note = parse_note(b"x\n\n" + body)
    except LedgerError as e:
        raise ProtocolError(f"the answer's signature lines are malformed: {e}") from None
    return list(note.signatures)


def origin_hash(origin: str) -> str:
    """The monitoring path element of a log: lowercase hex of SHA-256 of its origin line."""
    return hashlib.sha256(origin.encode("utf-8")).hexdigest()


def monitoring_path(origin: str) -> str:
    return f"{origin_hash(origin)}/checkpoint"


def with_lines(checkpoint: str, lines: Sequence[NoteSignature]) -> str:
    """A note with signature lines added (as a client adds a witness's answer to its checkpoint)."""
    return checkpoint + "".join(line.line() for line in lines)
