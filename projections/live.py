"""The views a running process keeps up with the log: the query API, the runner, and the lock that
makes the background thread and the readers take turns.

Only the log is read and only the views are written here; who reads, and the inspection a read
records first, are the oversight read's business (``usecases.oversight_read``).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from projections.base import EntryProjection, Projection
from projections.errors import TrackingConflict
from projections.queries import Queries
from projections.runner import Runner, ViewStatus

# The projections the taxpayer history reads (a read must see its own inspection).
HISTORY_VIEWS = ("disclosures", "inspections")


@dataclass
class LiveViews:
    """The projections' query API and the runner that keeps the views up with the log.

    One per process: the background thread and the readers that need their own read (the
    taxpayer history) take turns through ``lock``, one page at a time, so a reader never waits
    for a whole backlog and two catch-ups never race for a tracking row.
    """

    queries: Queries
    runner: Runner
    lock: threading.Lock = field(default_factory=threading.Lock)
    _created: bool = False

    def create(self) -> None:
        """Create the views' missing tables and tracking rows, once per process."""
        if not self._created:
            with self.lock:
                self.runner.create()
                self._created = True

    def step(self) -> bool:
        """Apply at most one page of every projection; True if anything moved.

        As ``Runner.catch_up(max_pages=1)`` without its table checks each time (tens of
        milliseconds of catalog queries on PostgreSQL, under the lock readers wait for). The lock
        is held for one group of projections at a time, and only for a group holding a view the
        taxpayer history reads (readers step nothing else): a reader waiting for its own
        inspection waits for at most one page of those, never for the checkpoints' turn.
        """
        self.create()
        moved = 0
        left = dict(self.runner.projections)
        while left:
            self.lock.acquire()
            locked = True
            try:
                at = self.runner.tracking.positions(left)  # under the lock: readers move the history's views
                first = left[next(iter(left))]
                group: list[Projection] = [first]
                if isinstance(first, EntryProjection):  # at the same position: one shared read of the log
                    group = [p for p in left.values()
                             if isinstance(p, EntryProjection) and at[p.name] == at[first.name]]
                if not any(p.name in HISTORY_VIEWS for p in group):
                    self.lock.release()  # only this thread steps these
                    locked = False
                moved += self.runner.step_group(group, at[first.name])
            finally:
                if locked:
                    self.lock.release()
            for p in group:
                del left[p.name]
        return moved > 0

    def fresh(self) -> Queries:
        """The queries, after applying every entry appended since (the dashboard's other pages)."""
        # TrackingConflict: another process (the CLI, another worker) moved the views meanwhile
        with self.lock, contextlib.suppress(TrackingConflict):
            self.runner.catch_up()
        return self.queries

    def status(self) -> list[ViewStatus]:
        with self.lock:  # status creates missing tables: never beside a catch-up doing the same
            return self.runner.status()

    def positions(self, names: Sequence[str] = HISTORY_VIEWS) -> dict[str, int]:
        self.create()
        return self.runner.tracking.positions(names)

    def catch_up_to(self, index: int, timeout: float) -> int:
        """Apply pages to the history's views until they include entry ``index``, for at most
        ``timeout`` seconds; returns the lowest of their positions (``> index``: they include it).

        Only the views the history reads are stepped (one shared read of the log when they are
        at the same position), without the runner's table checks: this is on a reader's path.
        Positions are read once per turn, under the lock (the background thread holds it for
        one page of these views at most), and carried forward from each page applied; a page
        another process applied first is read back on the next turn.
        """
        self.create()
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self.lock.acquire(timeout=left):
                return min(self.positions().values())
            try:
                at = self.positions()
                low = min(at.values())
                if low > index:
                    return low
                group = [n for n in HISTORY_VIEWS if at[n] == low]
                try:
                    moved = self.runner.step_group([self.runner.projections[n] for n in group], low)
                except TrackingConflict:  # another process (a worker, the CLI) applied this page first
                    moved = 0  # the next turn reads the positions it left
            finally:
                self.lock.release()
            at.update(dict.fromkeys(group, low + moved))
            if min(at.values()) > index:
                return min(at.values())
            if not moved:
                time.sleep(0.01)  # e.g. a match result held back for its pseudonyms
