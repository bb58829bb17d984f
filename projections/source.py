"""Reading the log by ledger index: entries, the pseudonyms stored at their ingest, checkpoints.

Entries are read from ``dl_entries`` by ``idx`` — the dense leaf index the ledger proves —
not by the event store's notification ids, which have gaps on PostgreSQL. A page is cut at
the first gap (none should exist: indices are assigned inside the appending transaction,
so they become visible in order) and before a match result whose pseudonyms have not yet
landed (the disclosure service stores them just after the append; see ``PSEUDONYM_GRACE``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from ledger.entry import parse_entry
from ledger.errors import LedgerError
from ledger.statement import Statement, parse_statement
from ledger.times import parse_time, utc_now
from projections.db import Database, database_errors
from projections.errors import ProjectionError
from projections.tables import ledger_tables

# How long a match result without its pseudonyms is held back before it is applied without
# them (a match appended by the CLI, not the disclosure service, never gets any).
PSEUDONYM_GRACE = timedelta(seconds=30)


@dataclass(frozen=True)
class LogEntry:
    """One entry as the projections see it: index, time, parsed statement, ingest pseudonyms."""

    index: int
    recorded_at: str
    statement: Statement
    pseudonyms: dict[int, str] = field(default_factory=dict)  # request line (or 0) -> pseudonym

    @property
    def body(self) -> dict[str, Any]:
        return self.statement.envelope["body"]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class CheckpointRow:
    size: int
    root: str
    signed_at: str


def _expects_pseudonyms(stmt: Statement) -> bool:
    body = stmt.envelope["body"]
    if stmt.type == "match_result" or (stmt.type == "chunk" and body.get("kind") == "match_result"):
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

    def read(self, start: int, limit: int) -> list[LogEntry]:
        """Up to ``limit`` entries from ``start``, contiguous, with their pseudonyms."""
        e, p = self.entries, self.pseudonyms
        with database_errors(), self.db.engine.connect() as conn:
            rows = conn.execute(
                sa.select(e.c.idx, e.c.recorded_at, e.c.entry)
                .where(e.c.idx >= start).order_by(e.c.idx).limit(limit)
            ).all()
            if not rows:
                return []
            last = int(rows[-1][0])
            found: dict[int, dict[int, str]] = {}
            for idx, line, pseudonym in conn.execute(
                sa.select(p.c.idx, p.c.line, p.c.pseudonym).where(p.c.idx >= start, p.c.idx <= last)
            ):
                found.setdefault(int(idx), {})[int(line)] = str(pseudonym)
        out: list[LogEntry] = []
        now = utc_now()
        for expected, (idx, recorded_at, data) in enumerate(rows, start):
            if int(idx) != expected:
                break  # a gap: stop before it
            try:
                stmt = parse_statement(parse_entry(bytes(data)).statement)
            except LedgerError as err:
                raise ProjectionError(f"entry {idx} cannot be parsed: {err}") from None
            pseudonyms = found.get(int(idx), {})
            if not pseudonyms and _expects_pseudonyms(stmt) and now - parse_time(recorded_at) < self.grace:
                break  # the service stores them right after the append: wait for them
            out.append(LogEntry(int(idx), str(recorded_at), stmt, pseudonyms))
        return out

    def pages(self, start: int, page: int, stop: int | None = None) -> Iterator[list[LogEntry]]:
        at = start
        while stop is None or at < stop:
            batch = self.read(at, page if stop is None else min(page, stop - at))
            if not batch:
                return
            yield batch
            at = batch[-1].index + 1

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
