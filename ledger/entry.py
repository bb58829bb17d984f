"""Ledger entries (contract point 6): JCS of {"index","prev","recorded_at","statement"}."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ledger.canonical import canonical_bytes, parse_canonical
from ledger.errors import EntryError
from ledger.merkle import leaf_hash
from ledger.times import parse_time

MAX_ENTRY_BYTES = 65_535
ZERO_HASH_HEX = "0" * 64
ENTRY_KEYS = frozenset({"index", "prev", "recorded_at", "statement"})
_HEX64_RE = re.compile(r"[0-9a-f]{64}\Z")


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
    if len(data) > MAX_ENTRY_BYTES:
        raise EntryError(f"entry is {len(data)} bytes, at most {MAX_ENTRY_BYTES} are allowed")
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
    return Entry(index, prev, recorded_at, statement, bytes(data))
