"""Reading the log by ledger index: entries, the pseudonyms stored at their ingest, checkpoints.

Entries are read from ``dl_entries`` by ``idx`` — the dense leaf index the ledger proves —
not by the event store's notification ids, which have gaps on PostgreSQL. A page is cut at
the first gap (none should exist: indices are assigned inside the appending transaction,
so they become visible in order) and before a match result whose pseudonyms have not yet
landed (the disclosure service stores them just after the append; see ``PSEUDONYM_GRACE``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ledger.core.entry import parse_entry_fields
from ledger.core.errors import LedgerError
from ledger.core.times import parse_time, utc_now
from ledger.store.log_tables import LogTables
from projections.db import Database, database_errors
from projections.errors import ProjectionError

# How long a match result or inspection without its pseudonyms is held back before it is applied without
# them (a match appended by the CLI, not the disclosure service, never gets any).
PSEUDONYM_GRACE = timedelta(seconds=30)


@dataclass(frozen=True)
class LogEntry:
    """One entry as the projections see it: index, time, the statement's envelope, ingest pseudonyms."""

    index: int
    recorded_at: str
    type: str
    id: str
    signers: list[str]
    body: dict[str, Any]
    pseudonyms: dict[int, str] = field(default_factory=dict)  # request line (or 0) -> pseudonym
    issued_at: str = ""  # the statement's signed issued_at (a release: when it was disclosed)


def parse_log_entry(index: int, recorded_at: str, data: bytes, pseudonyms: dict[int, str]) -> LogEntry:
    """The envelope of a stored entry.

    The ledger checked this entry completely when it appended it (canonical form, signatures,
    trust, schema), and ``fsck`` / the court's verifier re-check stored logs; the views read
    the ledger's own table, so here the envelope (the note's first line, JCS) is only decoded.
    """
    try:
        _, _, _, note = parse_entry_fields(data)
        envelope = json.loads(note[: note.index("\n")])
        return LogEntry(index, recorded_at, str(envelope["type"]), str(envelope["id"]), list(envelope["signers"]),
                        dict(envelope["body"]), pseudonyms, str(envelope["issued_at"]))
    except (LedgerError, ValueError, KeyError, TypeError) as err:
        raise ProjectionError(f"entry {index} cannot be read: {err}") from None


@dataclass(frozen=True)
class CheckpointRow:
    size: int
    root: str
    signed_at: str


def _expects_pseudonyms(entry: LogEntry) -> bool:
    body = entry.body
    if entry.type == "inspection":  # the subject's pseudonym, stored as (idx, 0)
        return True
    if entry.type in ("match_result", "legacy_release") or (entry.type == "chunk"
                                                             and body.get("kind") == "match_result"):
        lines = body.get("lines")
        return isinstance(lines, list) and any(isinstance(x, dict) and x.get("taxpayer") for x in lines)
    return False


class LogSource:
    """The log, read only (through ledger.store.log_tables)."""

    def __init__(self, db: Database, grace: timedelta = PSEUDONYM_GRACE) -> None:
        self.db = db
        self.grace = grace
        self.tables = LogTables.of(db.schema)

    def head(self) -> int:
        """The log's size (entries 0 … head−1 exist)."""
        with database_errors(), self.db.engine.connect() as conn:
            return self.tables.head(conn)

    def read(self, start: int, limit: int, types: frozenset[str] | None = None) -> tuple[list[LogEntry], int]:
        """Entries from ``start`` (at most ``limit``, contiguous) whose type is in ``types`` (None: all),
        and the position after the last entry looked at."""
        with database_errors(), self.db.engine.connect() as conn:
            rows, found = self.tables.page(conn, start, limit)
        out: list[LogEntry] = []
        now = utc_now()
        position = start
        for idx, recorded_at, stype, data in rows:
            if idx != position:
                break  # a gap: stop before it
            if types is None or stype in types:
                entry = parse_log_entry(idx, recorded_at, data, found.get(idx, {}))
                if (not entry.pseudonyms and _expects_pseudonyms(entry)
                        and now - parse_time(recorded_at) < self.grace):
                    break  # the service stores them right after the append: wait for them
                out.append(entry)
            position += 1
        return out, position

    def checkpoint_head(self) -> int:
        """The size of the largest signed checkpoint (0: none)."""
        with database_errors(), self.db.engine.connect() as conn:
            return self.tables.checkpoint_head(conn)

    def read_checkpoints(self, after_size: int, limit: int) -> list[CheckpointRow]:
        with database_errors(), self.db.engine.connect() as conn:
            rows = self.tables.checkpoints_after(conn, after_size, limit)
        return [CheckpointRow(size, root.hex(), signed_at) for size, root, signed_at in rows]
