"""Exact tracking: each projection's position, written in the same transaction as its rows.

This is eventsourcing's ``TrackingRecorder`` port (so ``wait()`` / ``has_tracking_id()`` work
for read-after-write in the API), with the *ledger index* as the notification id; it passes the
library's own ``TrackingRecorderTestCase`` (tests/contract/test_eventsourcing_contract.py):
``insert_tracking`` creates a projection's row on first use, accepts any later index (gaps
allowed) and refuses one at or before the last recorded with ``IntegrityError`` (our
``TrackingConflict``). The library's own runners and recorders are not used, because:

* ``ProjectionRunner`` follows an application's notification log by notification id; on
  PostgreSQL those ids have gaps (sequence values of rolled-back inserts) and are not the
  leaf index the log proves, while the views must say "applied through entry *i*";
* the library's recorders (``eventsourcing.sqlite`` / ``eventsourcing.postgres``) own their
  connections, so view rows written through SQLAlchemy could not commit in the same
  transaction as their ``Tracking`` row; and ``Projection.process_event`` takes one event
  per transaction, where a rebuild needs pages of hundreds of entries per transaction.

``advance`` moves a position only from the value the runner read (compare-and-set on the
tracking row, which also locks it first): a crash rolls the page back with its rows, and two
runners cannot both apply the same page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from eventsourcing.persistence import Tracking, TrackingRecorder

from ledger.core.times import format_time, utc_now
from projections.db import Database, database_errors
from projections.errors import AlreadyApplied, TrackingConflict
from projections.tables import ViewTables


class ViewTracking(TrackingRecorder):
    """``pj_tracking``: one row per projection, ``position`` = entries applied (next index)."""

    def __init__(self, views: Database, t: ViewTables) -> None:
        self.views = views
        self.table = t.tracking

    def ensure(self, conn: sa.Connection, name: str) -> None:
        """Create the projection's row at position 0 if it has none."""
        tr = self.table
        if conn.execute(sa.select(tr.c.position).where(tr.c.name == name)).first() is None:
            conn.execute(sa.insert(tr).values(name=name, position=0, updated_at=format_time(utc_now())))

    def position(self, name: str, conn: sa.Connection | None = None) -> int:
        tr = self.table
        query = sa.select(tr.c.position).where(tr.c.name == name)
        if conn is not None:
            value = conn.execute(query).scalar()
        else:
            with database_errors(), self.views.engine.connect() as own:
                value = own.execute(query).scalar()
        return 0 if value is None else int(value)

    def positions(self, names: Iterable[str], conn: sa.Connection | None = None) -> dict[str, int]:
        """Several projections' positions in one query (0 for a projection without a row)."""
        wanted = list(names)
        tr = self.table
        query = sa.select(tr.c.name, tr.c.position).where(tr.c.name.in_(wanted))
        if conn is not None:
            found = {str(n): int(p) for n, p in conn.execute(query)}
        else:
            with database_errors(), self.views.engine.connect() as own:
                found = {str(n): int(p) for n, p in own.execute(query)}
        return {n: found.get(n, 0) for n in wanted}

    def lock(self, conn: sa.Connection, name: str, expected: int) -> None:
        """First write of a page's transaction: take the row's lock, or fail if it moved."""
        tr = self.table
        done = conn.execute(sa.update(tr).where(tr.c.name == name, tr.c.position == expected)
                            .values(updated_at=format_time(utc_now())))
        if done.rowcount != 1:
            raise TrackingConflict(name, expected)

    def lock_group(self, conn: sa.Connection, names: Sequence[str], expected: int) -> None:
        """``lock`` for projections at the same position, in one statement."""
        tr = self.table
        done = conn.execute(sa.update(tr).where(tr.c.name.in_(names), tr.c.position == expected)
                            .values(updated_at=format_time(utc_now())))
        if done.rowcount != len(set(names)):
            raise TrackingConflict(", ".join(names), expected)

    def advance_group(self, conn: sa.Connection, names: Sequence[str], expected: int, new: int) -> None:
        """``advance`` for projections at the same position, in one statement."""
        tr = self.table
        done = conn.execute(sa.update(tr).where(tr.c.name.in_(names), tr.c.position == expected)
                            .values(position=new, updated_at=format_time(utc_now())))
        if done.rowcount != len(set(names)):
            raise TrackingConflict(", ".join(names), expected)

    def advance(self, conn: sa.Connection, name: str, expected: int, new: int) -> None:
        tr = self.table
        done = conn.execute(sa.update(tr).where(tr.c.name == name, tr.c.position == expected)
                            .values(position=new, updated_at=format_time(utc_now())))
        if done.rowcount != 1:
            raise TrackingConflict(name, expected)

    # ---- eventsourcing's TrackingRecorder port ----------------------------------------------
    def insert_tracking(self, tracking: Tracking) -> None:
        """Record that ``tracking.application_name`` applied entry ``tracking.notification_id``.

        The library's contract: the first record for a name creates its row; a later one must be
        past the last recorded (gaps allowed); recording an entry at or before it raises
        ``IntegrityError`` (here ``AlreadyApplied``, a ``TrackingConflict``), as does losing the
        compare-and-set or the row's creation to another writer."""
        name, index = tracking.application_name, tracking.notification_id
        tr = self.table
        with database_errors(), self.views.engine.begin() as conn:
            row = conn.execute(sa.select(tr.c.position).where(tr.c.name == name)).first()
            if row is None:
                try:
                    conn.execute(sa.insert(tr).values(name=name, position=index + 1,
                                                      updated_at=format_time(utc_now())))
                except sa.exc.IntegrityError:  # another writer created the row first
                    raise TrackingConflict(name, 0) from None
                return
            current = int(row[0])
            if index < current:
                raise AlreadyApplied(name, index, current)
            self.advance(conn, name, current, index + 1)

    def max_tracking_id(self, application_name: str) -> int | None:
        """The last ledger index the projection applied, or None."""
        position = self.position(application_name)
        return position - 1 if position > 0 else None
