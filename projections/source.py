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

import sqlalchemy as sa

from ledger.entry import parse_entry_fields
from ledger.errors import LedgerError
from ledger.times import parse_time, utc_now
from projections.db import Database, database_errors
from projections.errors import ProjectionError
from projections.tables import ledger_tables

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
    """The ledger's tables, read only."""

    def __init__(self, db: Database, grace: timedelta = PSEUDONYM_GRACE) -> None:
        self.db = db
        self.grace = grace
        self.entries, self.pseudonyms, self.checkpoints_table = ledger_tables(db.schema)

    def head(self) -> int:
        """The log's size (entries 0 … head−1 exist)."""
        with database_errors(), self.db.engine.connect() as conn:
            top = conn.execute(sa.select(sa.func.max(self.entries.c.idx))).scalar()
        return 0 if top is None else int(top) + 1

    def read(self, start: int, limit: int, types: frozenset[str] | None = None) -> tuple[list[LogEntry], int]:
        """Entries from ``start`` (at most ``limit``, contiguous) whose type is in ``types`` (None: all),
        and the position after the last entry looked at."""
        e, p = self.entries, self.pseudonyms
        with database_errors(), self.db.engine.connect() as conn:
            rows = conn.execute(
                sa.select(e.c.idx, e.c.recorded_at, e.c.stype, e.c.entry)
                .where(e.c.idx >= start).order_by(e.c.idx).limit(limit)
            ).all()
            if not rows:
                return [], start
            last = int(rows[-1][0])
            found: dict[int, dict[int, str]] = {}
            for idx, line, pseudonym in conn.execute(
                sa.select(p.c.idx, p.c.line, p.c.pseudonym).where(p.c.idx >= start, p.c.idx <= last)
            ):
                found.setdefault(int(idx), {})[int(line)] = str(pseudonym)
        out: list[LogEntry] = []
        now = utc_now()
        position = start
        for idx, recorded_at, stype, data in rows:
            if int(idx) != position:
                break  # a gap: stop before it
            if types is None or stype in types:
                entry = parse_log_entry(int(idx), str(recorded_at), bytes(data), found.get(int(idx), {}))
                if (not entry.pseudonyms and _expects_pseudonyms(entry)
                        and now - parse_time(recorded_at) < self.grace):
                    break  # the service stores them right after the append: wait for them
                out.append(entry)
            position += 1
        return out, position

    def checkpoint_head(self) -> int:
        """The size of the largest signed checkpoint (0: none)."""
        with database_errors(), self.db.engine.connect() as conn:
            top = conn.execute(sa.select(sa.func.max(self.checkpoints_table.c.size))).scalar()
        return 0 if top is None else int(top)

    def read_checkpoints(self, after_size: int, limit: int) -> list[CheckpointRow]:
        c = self.checkpoints_table
        with database_errors(), self.db.engine.connect() as conn:
            rows = conn.execute(
                sa.select(c.c.size, c.c.root, c.c.signed_at).where(c.c.size > after_size)
                .order_by(c.c.size).limit(limit)
            ).all()
        return [CheckpointRow(int(s), bytes(r).hex(), str(t)) for s, r, t in rows]
