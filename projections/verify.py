"""Checking that the stored views equal what the log says.

Each projection is rebuilt from the log into a scratch SQLite database (a temporary file,
deleted afterwards), only up to the position the live views record for it, so views that
have not caught up are compared at their own position. Then every view table is compared
row by row with the live one: both sides are read in primary-key order and merged, so the
comparison streams and its memory does not grow with the views.

What is compared: every column the code defines, by its stored value (booleans as stored,
so a SQLite ``2`` in a boolean column is not taken for ``true``); in ``pj_tracking``, the
rows of the projections verified and their ``position``, not ``updated_at`` (the wall-clock
time of the last page, which the log does not determine). A live position beyond what the
log holds (its head; for the checkpoints, the largest signed checkpoint) is a difference.

The scratch database is SQLite whatever the live views' backend: the projections write only
portable SQLAlchemy Core types (strings, integers, booleans), so the same code builds the
same rows there. The live views are only read; on PostgreSQL in one read-only REPEATABLE READ
transaction. A runner applying pages meanwhile is noticed (the tracking rows move) and the
comparison starts again from the new positions, a few times at most.

Nothing here prints a row's contents: a difference is reported by projection, table, the
number of rows that differ and the first differing row's primary key (ids and indices).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from projections.base import EntryProjection, Projection
from projections.db import Database, database_errors
from projections.errors import ProjectionError, UnknownView
from projections.runner import PAGE, Runner, all_projections
from projections.source import CheckpointRow, LogEntry, LogSource
from projections.tables import ViewTables, view_tables

# How many times the comparison starts again when the live views moved while it ran.
ATTEMPTS = 4
# Rows fetched at a time from each side of a comparison.
BATCH = 2000
# A key value printed in a difference is cut to this many characters.
KEY_CHARS = 80

# (stage, advanced, total): "rebuild" advances by entries (checkpoints: by size) towards the total
# the scratch database lacks; "compare" by rows read, total unknown (None).
Progress = Callable[[str, int, int | None], None]


@dataclass(frozen=True)
class Difference:
    """One table of one projection that does not match the log."""

    projection: str
    table: str
    rows: int = 0  # rows that differ: changed, missing from the views, or not in the rebuild
    first_key: str = ""  # the first differing row's primary key, in key order
    detail: str = ""  # instead of a row count: a missing table or column, a position beyond the head

    def line(self) -> str:
        what = self.detail or f"{self.rows} rows differ, first at key {self.first_key}"
        return f"projection {self.projection} table {self.table}: {what}"


@dataclass(frozen=True)
class VerifyReport:
    positions: dict[str, int]  # each projection verified -> the position it was compared at
    tables: int  # tables compared (the tracking table included)
    rows: int  # live rows read
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def summary(self) -> str:
        """``ok: P projections, T tables, R rows match the log at position N``: N is the first projection's
        position; the projections at another one are named after it."""
        common = next(iter(self.positions.values()), 0)
        others = ", ".join(f"{n} at {p}" for n, p in self.positions.items() if p != common)
        return (f"ok: {len(self.positions)} projections, {self.tables} tables, {self.rows} rows match the log "
                f"at position {common}" + (f" ({others})" if others else ""))


class _CappedSource(LogSource):
    """The log as it was at ``cap``: entries below it, checkpoints up to that size."""

    def __init__(self, db: Database, cap: int) -> None:
        # No pseudonym grace: what the live runner applied was applied with the pseudonyms stored
        # by then, and an entry whose pseudonyms are still missing is applied without them, as the
        # live runner does once the grace has passed.
        super().__init__(db, grace=timedelta(0))
        self.cap = cap

    def head(self) -> int:
        return min(super().head(), self.cap)

    def read(self, start: int, limit: int, types: frozenset[str] | None = None) -> tuple[list[LogEntry], int]:
        if start >= self.cap:
            return [], start
        return super().read(start, min(limit, self.cap - start), types)

    def checkpoint_head(self) -> int:
        return min(super().checkpoint_head(), self.cap)

    def read_checkpoints(self, after_size: int, limit: int) -> list[CheckpointRow]:
        return [c for c in super().read_checkpoints(after_size, limit) if c.size <= self.cap]


def _scratch_database(path: Path) -> Database:
    """A SQLite file for the rebuild: thrown away afterwards, so no fsync."""
    engine = sa.create_engine(f"sqlite:///{path}", hide_parameters=True)

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA synchronous=OFF")
        cur.execute("PRAGMA journal_mode=MEMORY")
        cur.close()

    return Database(engine, None)


def _order(value: Any) -> tuple[int, Any]:
    """A key value's place in the databases' key order: NULL, numbers, text (code points, which is
    UTF-8 byte order: SQLite's BINARY, PostgreSQL's "C"), bytes."""
    if value is None:
        return (0, 0)
    if isinstance(value, (int, float)):
        return (1, value)
    if isinstance(value, str):
        return (2, value)
    return (3, bytes(value))


def _key_text(names: Sequence[str], values: Sequence[Any]) -> str:
    parts = []
    for n, v in zip(names, values, strict=True):
        shown = repr(v)
        if len(shown) > KEY_CHARS:
            shown = shown[: KEY_CHARS - 1] + "…"
        parts.append(f"{n}={shown}")
    return "(" + ", ".join(parts) + ")"


def _rows(conn: sa.Connection, table: sa.Table, columns: list[sa.Column[Any]], postgres: bool
          ) -> Iterator[tuple[Any, ...]]:
    """The table's rows as stored (no type conversion), in primary-key order, a batch at a time."""
    raw = [sa.type_coerce(c, sa.types.NullType()).label(c.name) for c in columns]
    order = []
    for c in table.primary_key.columns:
        text = isinstance(c.type, sa.String)
        order.append(c.collate("C") if postgres and text else c)
    query = sa.select(*raw).order_by(*order)
    result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(query)
    for row in result:
        yield tuple(row)


@dataclass
class _Tally:
    rows: int = 0
    differing: int = 0
    first: tuple[Any, ...] | None = None

    def differ(self, key: tuple[Any, ...]) -> None:
        self.differing += 1
        if self.first is None:
            self.first = key


Keyed = tuple[tuple[Any, ...], tuple[Any, ...]]  # (sort key, row)


def _keyed(table: str, rows: Iterator[tuple[Any, ...]], width: int) -> Iterator[Keyed]:
    """(sort key, row) for rows in key order; an out-of-order row stops the comparison."""
    last: tuple[Any, ...] | None = None
    for row in rows:
        key = tuple(_order(v) for v in row[:width])
        if last is not None and key < last:
            raise ProjectionError(f"table {table} was not read in key order; cannot compare it")
        last = key
        yield key, row


def _merge(table: str, live: Iterator[tuple[Any, ...]], rebuilt: Iterator[tuple[Any, ...]], width: int,
           progress: Progress | None) -> _Tally:
    """Compare two key-ordered row streams whose first ``width`` values are the primary key."""
    tally = _Tally()
    left, right = _keyed(table, live, width), _keyed(table, rebuilt, width)
    a, b = next(left, None), next(right, None)
    previous: tuple[Any, ...] | None = None  # the live key before ``a``
    while a is not None or b is not None:
        if a is not None and (b is None or a[0] <= b[0]):
            tally.rows += 1
            if progress and tally.rows % BATCH == 0:
                progress("compare", BATCH, None)
            if a[0] == previous or b is None or a[0] < b[0]:
                tally.differ(a[1][:width])  # a key twice (a table without its constraint), or a stray row
            else:
                if a[1] != b[1]:  # values as stored: True == 1 (a SQLite boolean), 1 != "1"
                    tally.differ(a[1][:width])
                b = next(right, None)
            previous = a[0]
            a = next(left, None)
        else:  # only in the rebuild: missing from the live views
            assert b is not None
            tally.differ(b[1][:width])
            b = next(right, None)
    if progress and tally.rows % BATCH:
        progress("compare", tally.rows % BATCH, None)
    return tally


class Verifier:
    """Rebuilds the projections into a scratch database and compares them with the live views.

    The scratch database lives until ``close()``; a later ``verify()`` only applies what the
    live views applied since (or rebuilds a projection the live views rebuilt).
    """

    def __init__(self, source: LogSource, views: Database, page: int = PAGE,
                 projections: dict[str, Projection] | None = None) -> None:
        if page < 1:
            raise ValueError("page must be at least 1")
        self.source = source
        self.views = views
        self.page = page
        self.projections = projections or all_projections()
        self.t: ViewTables = view_tables(views.schema)
        self._dir = tempfile.TemporaryDirectory(prefix="dl-verify-")
        self.scratch = _scratch_database(Path(self._dir.name) / "views.sqlite3")
        self.st: ViewTables = view_tables(None)

    def close(self) -> None:
        self.scratch.close()
        self._dir.cleanup()

    def __enter__(self) -> Verifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _named(self, name: str | None) -> list[Projection]:
        if name is None:
            return list(self.projections.values())
        if name not in self.projections:
            raise UnknownView(f"no projection named {name!r}; known: {', '.join(sorted(self.projections))}")
        return [self.projections[name]]

    # ---- the live views (read only) ------------------------------------------------------
    def _tracking(self, conn: sa.Connection, exists: bool | None = None) -> dict[str, tuple[Any, Any]] | None:
        """Live ``pj_tracking`` as stored: name -> (position, updated_at); None if the table is missing."""
        if exists is None:
            exists = sa.inspect(conn).has_table(self.t.tracking.name, schema=self.views.schema)
        if not exists:
            return None
        tr = self.t.tracking
        cols = [sa.type_coerce(c, sa.types.NullType()) for c in (tr.c.name, tr.c.position, tr.c.updated_at)]
        return {str(n): (p, u) for n, p, u in conn.execute(sa.select(*cols))}

    def _live_state(self) -> dict[str, tuple[Any, Any]] | None:
        with database_errors(), self.views.engine.connect() as conn:
            return self._tracking(conn)

    # ---- the scratch rebuild ------------------------------------------------------------
    def _scratch_positions(self, names: list[str]) -> dict[str, int]:
        """The scratch projections' positions (only those created there yet)."""
        with database_errors(), self.scratch.engine.begin() as conn:
            self.st.metadata.create_all(conn, tables=[self.st.tracking])
            tr = self.st.tracking
            return {str(n): int(p) for n, p in conn.execute(sa.select(tr.c.name, tr.c.position)
                                                            .where(tr.c.name.in_(names)))}

    def _rebuild(self, targets: list[Projection], caps: dict[str, int], progress: Progress | None) -> dict[str, int]:
        """Bring each scratch projection to its cap (from where it is, or from 0 if it is past it)."""
        have = self._scratch_positions([p.name for p in targets])
        if have == caps:  # verified before at these positions: nothing to apply
            return have
        todo = sum(caps[n] - (have.get(n, 0) if have.get(n, 0) <= caps[n] else 0) for n in caps)
        by_cap: dict[int, list[Projection]] = {}
        for p in targets:
            by_cap.setdefault(caps[p.name], []).append(p)
        for cap, group in by_cap.items():
            runner = Runner(_CappedSource(self.source.db, cap), self.scratch, page=self.page,
                            projections={p.name: p for p in group})
            for p in group:
                if have.get(p.name, 0) > cap:
                    runner.reset(p.name)
            runner.catch_up(progress=(lambda _n, k: progress("rebuild", k, todo)) if progress else None)
        done = self._scratch_positions([p.name for p in targets])
        return {p.name: done.get(p.name, 0) for p in targets}

    # ---- verify -----------------------------------------------------------------------
    def verify(self, name: str | None = None, progress: Progress | None = None) -> VerifyReport:
        """Compare the named projection (default: all) with a rebuild from the log at its live position."""
        targets = self._named(name)
        state = self._live_state()
        for _ in range(ATTEMPTS):
            # Heads are read after the positions: a head only grows, so a position the views held
            # then is never beyond a head read later.
            heads = {p.name: p.head(self.source) for p in targets}
            caps: dict[str, int] = {}
            for p in targets:
                # A missing row is position 0, as the runner takes it; a value that is not a
                # position is compared at the head.
                pos = _whole((state or {}).get(p.name, (0, None))[0])
                caps[p.name] = heads[p.name] if pos is None else max(0, min(pos, heads[p.name]))
            rebuilt = self._rebuild(targets, caps, progress)
            report, moved = self._compare(targets, state, heads, rebuilt, progress)
            if report is not None:
                return report
            state = moved
        raise ProjectionError(f"the views moved during each of {ATTEMPTS} comparisons (a runner is applying pages); "
                              "run verify again when it is idle")

    def _compare(self, targets: list[Projection], state: dict[str, tuple[Any, Any]] | None, heads: dict[str, int],
                 rebuilt: dict[str, int], progress: Progress | None
                 ) -> tuple[VerifyReport | None, dict[str, tuple[Any, Any]] | None]:
        """Compare in one read of the live views; (None, the new state) if they moved since ``state``."""
        postgres = not self.views.is_sqlite
        with database_errors(), self.views.engine.connect() as conn:
            if postgres:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            # Which tables exist and their columns, in one reflection (one query on PostgreSQL).
            names = [self.t.tracking.name, *(t.name for p in targets for t in p.tables(self.t))]
            found = sa.inspect(conn).get_multi_columns(schema=self.views.schema, filter_names=names)
            columns_of = {table: {c["name"] for c in cols} for (_, table), cols in found.items()}
            has_tracking = self.t.tracking.name in columns_of
            now = self._tracking(conn, has_tracking)
            if now != state:
                return None, now
            differences = self._compare_tracking(targets, state, heads, rebuilt)
            tables, rows = 1, sum(1 for p in targets if p.name in (state or {}))
            with self.scratch.engine.connect() as scratch:
                for p in targets:
                    for live, mine in zip(p.tables(self.t), p.tables(self.st), strict=True):
                        tables += 1
                        stored = columns_of.get(live.name)
                        if stored is None:
                            differences.append(Difference(p.name, live.name, detail="missing"))
                            continue
                        lacking = [c.name for c in live.columns if c.name not in stored]
                        if lacking:
                            differences.append(Difference(p.name, live.name,
                                                          detail=f"column {', '.join(lacking)} missing"))
                            continue
                        keys = [c.name for c in live.primary_key.columns]
                        columns = [*(live.c[k] for k in keys), *(c for c in live.columns if c.name not in keys)]
                        mine_columns = [mine.c[c.name] for c in columns]
                        tally = _merge(live.name, _rows(conn, live, columns, postgres),
                                       _rows(scratch, mine, mine_columns, False), len(keys), progress)
                        rows += tally.rows
                        if tally.differing:
                            assert tally.first is not None
                            differences.append(Difference(p.name, live.name, tally.differing,
                                                          _key_text(keys, tally.first)))
            if self.views.is_sqlite:
                # SQLite: each table was read by its own statement; a page committed in between
                # would have mixed positions. PostgreSQL read one snapshot.
                after = self._tracking(conn, has_tracking)
                if after != state:
                    return None, after
            if postgres:
                conn.rollback()
        return VerifyReport({p.name: _position(state, p.name, rebuilt) for p in targets},
                            tables, rows, differences), None

    def _compare_tracking(self, targets: list[Projection], state: dict[str, tuple[Any, Any]] | None,
                          heads: dict[str, int], rebuilt: dict[str, int]) -> list[Difference]:
        tr = self.t.tracking.name
        if state is None:
            return [Difference(p.name, tr, detail="missing") for p in targets]
        out = []
        for p in targets:
            if p.name not in state:  # the runner would take it as position 0 and apply everything again
                out.append(Difference(p.name, tr, 1, _key_text(["name"], [p.name])))
                continue
            pos = _whole(state[p.name][0])
            if pos is not None and pos > heads[p.name]:
                top = ("the largest signed checkpoint" if not isinstance(p, EntryProjection) else "the log head")
                out.append(Difference(p.name, tr, detail=f"position {pos} is beyond {top} {heads[p.name]}"))
            elif pos != rebuilt[p.name]:
                out.append(Difference(p.name, tr, 1, _key_text(["name"], [p.name])))
        if len(targets) == len(self.projections):  # all verified: a row of no projection is stray
            stray = sorted(n for n in state if n not in self.projections)
            if stray:
                out.append(Difference("(none)", tr, len(stray), _key_text(["name"], [stray[0]])))
        return out


def _whole(value: Any) -> int | None:
    """A stored position as an integer, or None if it is not one (e.g. text written into SQLite)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _position(state: dict[str, tuple[Any, Any]] | None, name: str, rebuilt: dict[str, int]) -> int:
    """The position a projection was compared at: its live one, or the rebuild's if it has none."""
    pos = _whole((state or {}).get(name, (None, None))[0])
    return rebuilt[name] if pos is None else pos


def verify_views(source: LogSource, views: Database, name: str | None = None, page: int = PAGE,
                 progress: Progress | None = None) -> VerifyReport:
    """Rebuild in a scratch database, compare, delete the scratch database."""
    with Verifier(source, views, page) as v:
        return v.verify(name, progress)
