"""Ledger entries (docs/FORMAT.md § 8): JCS of {"index","prev","recorded_at","statement"}."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ledger.core.canonical import MAX_SAFE_INTEGER, canonical_bytes, canonical_string_at, parse_canonical
from ledger.core.errors import EntryError
from ledger.core.merkle import leaf_hash
from ledger.core.times import parse_time

MAX_ENTRY_BYTES = 65_535
ZERO_HASH_HEX = "0" * 64
ENTRY_KEYS = frozenset({"index", "prev", "recorded_at", "statement"})
_HEX64_RE = re.compile(r"[0-9a-f]{64}\Z")
# The fixed head of a canonical entry; the statement string follows, then "}".
_HEAD_RE = re.compile(
    r'\{"index":(0|[1-9][0-9]{0,15}),"prev":"([0-9a-f]{64})","recorded_at":"([0-9TZ:.-]{27})","statement":'
)


@dataclass(frozen=True)
class Entry:
    """An entry, kept with the exact bytes it was parsed from or encoded to."""

    index: int
    prev: str
    recorded_at: str
    statement: str
    data: bytes = field(repr=False)
    leaf_hash: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "leaf_hash", leaf_hash(self.data))


def encode_entry(index: int, prev: str, recorded_at: str, statement: str) -> Entry:
    """Build an entry and its bytes."""
    data = canonical_bytes(
        {"index": index, "prev": prev, "recorded_at": recorded_at, "statement": statement}
    )
    if len(data) > MAX_ENTRY_BYTES:
        raise EntryError(f"entry is {len(data)} bytes, at most {MAX_ENTRY_BYTES} are allowed")
    return Entry(index, prev, recorded_at, statement, data)


def parse_entry(data: bytes) -> Entry:
    """Parse entry bytes; refuse anything not exactly canonical and well-formed."""
    return Entry(*parse_entry_fields(data), bytes(data))


def parse_entry_fields(data: bytes) -> tuple[int, str, str, str]:
    """``parse_entry`` without building the Entry: (index, prev, recorded_at, statement)."""
    if len(data) > MAX_ENTRY_BYTES:
        raise EntryError(f"entry is {len(data)} bytes, at most {MAX_ENTRY_BYTES} are allowed")
    value = _parse_fast(data)
    if value is None:
        value = parse_canonical(data)
    if not isinstance(value, dict) or set(value) != ENTRY_KEYS:
        found = sorted(value) if isinstance(value, dict) else type(value).__name__
        raise EntryError(f"entry must have exactly {sorted(ENTRY_KEYS)}, found {found}")
    index, prev, recorded_at, statement = (
        value["index"], value["prev"], value["recorded_at"], value["statement"],
    )
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise EntryError(f"entry index must be a non-negative integer, found {index!r}")
    if not isinstance(prev, str) or not _HEX64_RE.match(prev):
        raise EntryError(f"entry prev must be 64 lowercase hex digits, found {str(prev)[:80]!r}")
    parse_time(recorded_at)
    if not isinstance(statement, str):
        raise EntryError("entry statement must be a string")
    return index, prev, recorded_at, statement


def _parse_fast(data: bytes) -> dict[str, Any] | None:
    """The value of an entry shown canonical by its shape, or None (then parse_canonical decides).

    Bytes of exactly the form {"index":N,"prev":"<hex>","recorded_at":"<27 chars>","statement":S}
    with S a canonical string literal are the RFC 8785 encoding of that object (its keys are
    in sorted order and nothing but S needs escaping), so parse_canonical would return the
    same value; this avoids decoding and re-encoding every entry as a whole.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    head = _HEAD_RE.match(text)
    if head is None or int(head[1]) > MAX_SAFE_INTEGER:
        return None
    literal = canonical_string_at(text, head.end())
    if literal is None or literal[1] != len(text) - 1 or not text.endswith("}"):
        return None
    return {"index": int(head[1]), "prev": head[2], "recorded_at": head[3], "statement": literal[0]}

