"""An evidence bundle's shape (docs/VERIFYING.md § 7): its files, bundle.json, the small parsers
the checks share, and which commitments a statement carries. The checks are ledger.core.bundle_check's
(checkpoint, inclusion, signatures) and ledger.core.bundle_lines' (bulk statements, line paths, openings).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ledger.core.b64 import b64decode
from ledger.core.canonical import parse_canonical
from ledger.core.entry import Entry
from ledger.core.errors import LedgerError
from ledger.core.statement import Statement

BUNDLE_FORMAT = "dl-bundle/v1"
BUNDLE_KEYS = frozenset({"format", "origin", "request", "tree_size", "entries", "bulk", "incomplete", "lines",
                         "openings"})
LINE_RECORD_KEYS = frozenset({"statement", "kind", "line", "chunk_index", "position", "path"})
BUNDLE_HEX_RE = re.compile(r"[0-9a-f]{64}\Z")


class BundleError(LedgerError):
    """A bundle that does not verify: ``reason`` says what, ``index`` names the entry when there is one."""

    def __init__(self, reason: str, index: int | None = None) -> None:
        self.reason = reason
        self.index = index
        super().__init__(f"entry {index}: {reason}" if index is not None else reason)


@dataclass(frozen=True)
class BundleFiles:
    """The bytes of a bundle's files (None: the file is absent)."""

    manifest: bytes
    checkpoint: bytes
    entries: bytes
    proofs: bytes
    lines: bytes | None = None
    openings: bytes | None = None
    delivered: tuple[tuple[str, bytes], ...] = ()  # (name, bytes) of each file in the bundle's delivered/


@dataclass
class BundleEntry:
    index: int
    data: bytes
    entry: Entry
    stmt: Statement


@dataclass
class BulkStatement:
    """A bundled bulk statement and its chunks (by chunk number), checked complete."""

    stmt: BundleEntry
    line_count: int
    chunk_count: int
    lines_root: bytes
    chunks: dict[int, BundleEntry] = field(default_factory=dict)


@dataclass
class BundleSummary:
    """What a verified bundle established."""

    origin: str
    request: str
    tree_size: int
    root: bytes
    entries: int
    signatures: int
    bulk: list[str]
    lines: int
    openings: int
    erased: int
    delivered: int = 0


# ---- small parsers ------------------------------------------------------------------------------
def bundle_jsonl(data: bytes, what: str) -> Iterator[tuple[int, Any]]:
    """(line number from 1, canonical JSON value) of a JSON Lines file."""
    if data and not data.endswith(b"\n"):
        raise BundleError(f"{what}: the file does not end with LF")
    for number, line in enumerate(data.split(b"\n")[:-1] if data else [], 1):
        try:
            yield number, parse_canonical(line)
        except LedgerError as e:
            raise BundleError(f"{what} line {number} is not canonical JSON: {e}") from None


def bundle_count(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BundleError(f"{where}: expected a non-negative integer, found {str(value)[:40]!r}")
    return value


def bundle_path(value: Any, where: str) -> list[bytes]:
    if not isinstance(value, list):
        raise BundleError(f"{where}: path must be a list of base64 hashes")
    out = []
    for i, h in enumerate(value):
        if not isinstance(h, str):
            raise BundleError(f"{where}: path[{i}] is not a string")
        try:
            out.append(b64decode(h, length=32))
        except LedgerError as e:
            raise BundleError(f"{where}: path[{i}] is not a base64 32-byte hash: {e}") from None
    return out


def parse_bundle_manifest(data: bytes) -> dict[str, Any]:
    """bundle.json: an object with exactly BUNDLE_KEYS, of the right types."""
    try:
        value = parse_canonical(data.removesuffix(b"\n"))
    except LedgerError as e:
        raise BundleError(f"bundle.json is not canonical JSON: {e}") from None
    if not isinstance(value, dict) or set(value) != BUNDLE_KEYS:
        found = sorted(value) if isinstance(value, dict) else type(value).__name__
        raise BundleError(f"bundle.json must hold exactly {sorted(BUNDLE_KEYS)}, found {found}")
    if value["format"] != BUNDLE_FORMAT:
        raise BundleError(f"bundle.json: format is {str(value['format'])[:40]!r}, expected {BUNDLE_FORMAT!r}")
    for key in ("origin", "request"):
        if not isinstance(value[key], str):
            raise BundleError(f"bundle.json: {key} must be a string")
    bundle_count(value["tree_size"], "bundle.json tree_size")
    for key in ("entries", "lines"):
        if not isinstance(value[key], list):
            raise BundleError(f"bundle.json: {key} must be a list of integers")
        for i, x in enumerate(value[key]):
            bundle_count(x, f"bundle.json {key}[{i}]")
    for key in ("bulk", "incomplete"):
        if not isinstance(value[key], list) or not all(isinstance(x, str) for x in value[key]):
            raise BundleError(f"bundle.json: {key} must be a list of statement ids")
    if not isinstance(value["openings"], bool):
        raise BundleError("bundle.json: openings must be true or false")
    return value


class CommitmentSlot(NamedTuple):
    """Where one commitment sits in a statement: its field, the absolute item (line) number for a
    line's member (None for a member of the statement's head), and its position among the head's
    members of that field (0 for a line's member)."""

    field: str
    line: int | None
    position: int
    commitment: str


# A legacy_release line's commitments: (opening field, body member).
LEGACY_LINE_FIELDS = (("tin", "tin"), ("name", "name"), ("address", "address"), ("matched_tin", "taxpayer"))


def commitment_slots(stmt: Statement) -> list[CommitmentSlot]:
    """Every commitment a § 6103 statement carries, with its slot (FORMAT § 13.1, 17.3, 17.4.10, 17.7).

    A bulk chunk's items are numbered from its ``first_line``, so that every slot of a bulk
    statement (its manifest's head and all its chunks' lines) is distinct. Members that are not
    commitments (null, or not a string) are skipped.
    """
    body = stmt.envelope["body"]
    out: list[tuple[str, int | None, int, Any]] = []
    kind = body.get("kind") if stmt.type == "chunk" else stmt.type
    first = body.get("first_line") if stmt.type == "chunk" else 0
    first = first if isinstance(first, int) and not isinstance(first, bool) else 0
    if stmt.type == "request":
        out.append(("purpose_text", None, 0, body.get("purpose_text")))
        recipients = bundle_dicts(body.get("recipients"))
        out.extend(("recipient_name", None, i, r.get("name")) for i, r in enumerate(recipients))
        out.extend(("case_id", None, i, c) for i, c in enumerate(bundle_list(body.get("case_ids"))))
    if kind == "request":
        for k, line in enumerate(bundle_list(body.get("lines"))):
            if isinstance(line, dict):
                out.extend((f, first + k, 0, line.get(f)) for f in ("tin", "name", "address", "reason"))
    elif kind == "match_result":
        out.extend(("tin", first + k, 0, line.get("taxpayer")) for k, line in enumerate(bundle_list(body.get("lines")))
                   if isinstance(line, dict))
    elif stmt.type == "legacy_release":  # as requested, and the record matched (FORMAT § 17.10)
        for k, line in enumerate(bundle_list(body.get("lines"))):
            if isinstance(line, dict):
                out.extend((f, k, 0, line.get(m)) for f, m in LEGACY_LINE_FIELDS)
    elif stmt.type == "court_order":
        out.append(("docket", None, 0, body.get("docket")))
    elif stmt.type == "correction":
        out.append(("correction_reason", None, 0, body.get("reason")))
    elif stmt.type == "inspection":
        out.extend([("pseudonym", None, 0, body.get("subject")), ("inspection_purpose", None, 0, body.get("purpose"))])
    return [CommitmentSlot(f, k, p, c) for f, k, p, c in out if isinstance(c, str)]


def statement_commitments(stmt: Statement) -> list[tuple[str, str]]:
    """(field, commitment) of every commitment a § 6103 statement carries, in the order of its slots.

    The same list as the disclosure service's ``body_commitments``, computed here from the
    statement alone so that the court's verifier can check openings without the service.
    """
    return [(s.field, s.commitment) for s in commitment_slots(stmt)]


def bundle_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def bundle_dicts(value: Any) -> list[dict[str, Any]]:
    return [x for x in bundle_list(value) if isinstance(x, dict)]


Passed = Callable[[str, str], None]  # passed(check, what it established): the caller reports it
