"""Running projections: catch up page by page, rebuild from scratch, report lag.

Each page is one transaction on the views' database holding the page's rows and the
projection's new position (``projections.tracking``). Pages default to 500 entries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from projections.base import EntryProjection, Projection
from projections.db import Database, database_errors
from projections.disclosures import DisclosuresProjection
from projections.errors import UnknownView
from projections.oversight import CheckpointsProjection, InspectionsProjection, SafeguardsProjection
from projections.source import LogSource
from projections.tables import ViewTables, view_tables
from projections.tracking import ViewTracking

PAGE = 500


def all_projections() -> dict[str, Projection]:
    found: list[Projection] = [DisclosuresProjection(), SafeguardsProjection(), InspectionsProjection(),
                               CheckpointsProjection()]
    return {p.name: p for p in found}


@dataclass(frozen=True)
class ViewStatus:
    name: str
    position: int  # entries applied (checkpoints: the last size copied)
    head: int  # the log's size (checkpoints: the largest signed size)

    @property
    def lag(self) -> int:
        return max(0, self.head - self.position)


class Runner:
    """Projections from one log into one views database."""

    def __init__(self, source: LogSource, views: Database, page: int = PAGE,
                 projections: dict[str, Projection] | None = None) -> None:
        if page < 1:
            raise ValueError("page must be at least 1")
        self.source = source
        self.views = views
        self.page = page
        self.projections = projections or all_projections()
        self.t: ViewTables = view_tables(views.schema)
        self.tracking = ViewTracking(views, self.t)

    def _named(self, name: str | None) -> list[Projection]:
        if name is None:
            return list(self.projections.values())
        if name not in self.projections:
            raise UnknownView(f"no projection named {name!r}; known: {', '.join(sorted(self.projections))}")
        return [self.projections[name]]

    def create(self) -> None:
        """Create missing tables and tracking rows (idempotent). A projection whose stored tables lack a
        column this code defines (views written by an older version) is dropped and rebuilt from entry 0."""
        with database_errors(), self.views.engine.begin() as conn:
            self.t.metadata.create_all(conn, tables=[self.t.tracking])
            for p in self.projections.values():
                tables = p.tables(self.t)
                if self._outdated(conn, tables):
                    self.t.metadata.drop_all(conn, tables=tables)
                    conn.execute(self.t.tracking.update().where(self.t.tracking.c.name == p.name).values(position=0))
                self.t.metadata.create_all(conn, tables=tables)
                self.tracking.ensure(conn, p.name)

    def _outdated(self, conn: sa.Connection, tables: list[sa.Table]) -> bool:
        inspector = sa.inspect(conn)
        for table in tables:
            if not inspector.has_table(table.name, schema=self.views.schema):
                continue
            stored = {c["name"] for c in inspector.get_columns(table.name, schema=self.views.schema)}
            if set(table.columns.keys()) - stored:
                return True
        return False

    def step(self, p: Projection) -> int:
        """Apply one page of ``p``; return how many positions it advanced (0: caught up)."""
        return self.step_group([p])

    def step_group(self, group: list[Projection], position: int | None = None) -> int:
        """One page for projections at the same position, in one transaction: entry projections
        share one read of the log (each applies only its statement types).

        ``position``: where the caller just read them to be (saves a query); a stale value only
        costs a ``TrackingConflict``, since every row is compared-and-set in the transaction.
        """
        if position is None:
            position = self.tracking.position(group[0].name)
        per: dict[str, Sequence[Any]]
        if all(isinstance(p, EntryProjection) for p in group):
            types = frozenset().union(*(p.types for p in group if isinstance(p, EntryProjection)))
            entries, new = self.source.read(position, self.page, types)
            per = {p.name: [e for e in entries if e.type in p.types] for p in group if isinstance(p, EntryProjection)}
        elif len(group) == 1:
            items, new = group[0].read(self.source, position, self.page)
            per = {group[0].name: items}
        else:
            raise ValueError("only entry projections share a page")
        if new == position:
            return 0
        with database_errors(), self.views.engine.begin() as conn:
            if not self.views.is_sqlite:
                # The views are derived from the log and rebuilt from it: a page needs atomicity,
                # not durability. A crash may lose the last pages committed (their rows together
                # with their positions, so they are applied again); readers waiting for their own
                # inspection no longer wait for this commit's WAL flush.
                conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            names = [p.name for p in group]
            self.tracking.lock_group(conn, names, position)  # every row locked (or found moved) before any view row
            for p in group:
                p.apply(conn, self.t, per[p.name])
            self.tracking.advance_group(conn, names, position, new)
        return new - position

    def _groups(self, targets: list[Projection]) -> list[list[Projection]]:
        by_position: dict[int, list[Projection]] = {}
        singles: list[list[Projection]] = []
        for p in targets:
            if isinstance(p, EntryProjection):
                by_position.setdefault(self.tracking.position(p.name), []).append(p)
            else:
                singles.append([p])
        return [*by_position.values(), *singles]

    def catch_up(self, name: str | None = None, progress: Callable[[str, int], None] | None = None,
                 max_pages: int | None = None) -> dict[str, int]:
        """Apply pages until each named projection reaches the head it sees; return positions advanced."""
        self.create()
        targets = self._named(name)
        applied = {p.name: 0 for p in targets}
        pages = 0
        while max_pages is None or pages < max_pages:
            moved = False
            for group in self._groups(targets):
                n = self.step_group(group)
                if n:
                    moved = True
                    for p in group:
                        applied[p.name] += n
                        if progress:
                            progress(p.name, n)
            if not moved:
                break
            pages += 1
        return applied

    def reset(self, name: str | None = None) -> None:
        """Drop and recreate the named projections' tables at position 0, in one transaction."""
        self.create()
        with database_errors(), self.views.engine.begin() as conn:
            for p in self._named(name):
                tables = p.tables(self.t)
                self.t.metadata.drop_all(conn, tables=tables)
                self.t.metadata.create_all(conn, tables=tables)
                conn.execute(self.t.tracking.update().where(self.t.tracking.c.name == p.name).values(position=0))

    def rebuild(self, name: str | None = None, progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
        """From scratch: reset, then catch up. Needs nothing but the log and ``dl_pseudonyms``."""
        self.reset(name)
        return self.catch_up(name, progress)

    def status(self, names: Iterable[str] | None = None) -> list[ViewStatus]:
        self.create()
        chosen = [self.projections[n] for n in names] if names else list(self.projections.values())
        return [ViewStatus(p.name, self.tracking.position(p.name), p.head(self.source)) for p in chosen]
