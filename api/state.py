"""What the running app holds: the ledger, the disclosure service, the token store, counters."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from fastapi import Request

from api.metrics import OUTCOMES, ProcessMetrics
from api.ratelimit import LookupLimit
from api.settings import ApiSettings
from api.tokens import TokenStore
from ledger.core.checkpoint import SignedCheckpoint
from ledger.domain.service import DisclosureService
from ledger.sealed import SealedKeys
from ledger.store.errors import CheckpointRefused, NotWitnessed
from ledger.store.ledger import Ledger
from projections.base import EntryProjection, Projection
from projections.queries import Queries
from projections.runner import Runner, ViewStatus

log = logging.getLogger("api")
# The projections the taxpayer history reads (a read must see its own inspection).
HISTORY_VIEWS = ("disclosures", "inspections")


@dataclass
class Views:
    """The projections' query API and the runner that keeps the views up with the log.

    One runner per process: the background thread and the readers that need their own read
    (the taxpayer history) take turns through ``lock``, one page at a time, so a reader never
    waits for a whole backlog and two catch-ups never race for a tracking row.
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

    def status(self) -> list[ViewStatus]:
        with self.lock:  # status creates missing tables: never beside a catch-up doing the same
            return self.runner.status()

    def positions(self, names: Sequence[str] = HISTORY_VIEWS) -> dict[str, int]:
        self.create()
        return self.runner.tracking.positions(names)

    def catch_up_to(self, index: int, timeout: float) -> bool:
        """Apply pages to the history's views until they include entry ``index``; False if ``timeout`` ran out.

        Only the views the history reads are stepped (one shared read of the log when they are
        at the same position), without the runner's table checks: this is on a reader's path.
        Positions are read once per turn, under the lock (the background thread holds it for
        one page of these views at most), and carried forward from each page applied.
        """
        self.create()
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self.lock.acquire(timeout=left):
                return min(self.positions().values()) > index
            try:
                at = self.positions()
                low = min(at.values())
                if low > index:
                    return True
                group = [n for n in HISTORY_VIEWS if at[n] == low]
                moved = self.runner.step_group([self.runner.projections[n] for n in group], low)
            finally:
                self.lock.release()
            at.update(dict.fromkeys(group, low + moved))
            if min(at.values()) > index:
                return True
            if not moved:
                time.sleep(0.01)  # e.g. a match result held back for its pseudonyms


@dataclass
class Metrics:
    """What this process counts for /metrics (api/metrics.py); no label carries personal data.

    ``count(metrics.appends, outcome)`` counts a statement by outcome (stored, duplicate,
    blocked, refused, inspection); ``prom`` holds the Prometheus counters and histograms.
    """

    appends: Counter[str] = field(default_factory=Counter)  # by outcome, this process only
    lock: threading.Lock = field(default_factory=threading.Lock)
    prom: ProcessMetrics = field(default_factory=ProcessMetrics)

    def count(self, counter: Counter[str], key: str) -> None:
        with self.lock:
            counter[key] += 1
        if counter is self.appends:
            self.prom.statements.labels(key if key in OUTCOMES else "other").inc()


@dataclass
class AppState:
    settings: ApiSettings
    ledger: Ledger
    service: DisclosureService
    tokens: TokenStore
    sealed_keys: SealedKeys
    views: Views | None
    lookups: LookupLimit | None = None  # taxpayer lookups per token (api.ratelimit)
    metrics: Metrics = field(default_factory=Metrics)
    started: float = field(default_factory=time.monotonic)

    def lookup_allowed(self, token_id: str, surface: str) -> float | None:
        """Take one taxpayer lookup from the token's allowance: None, or the seconds until it has one
        again (counted in ``dl_taxpayer_lookups_limited_total``; the log line names the token id)."""
        retry = self.lookups.take(token_id) if self.lookups is not None else None
        if retry is not None:
            self.metrics.prom.lookups_limited.labels(surface).inc()
            log.warning("taxpayer lookups limited for token %s (%s) for %.0f s", token_id, surface, retry)
        return retry

    def checkpoint_covering(self, index: int, timeout: float) -> SignedCheckpoint:
        """The first published checkpoint whose tree includes entry ``index``.

        The publisher (this process's background thread or another's) publishes about once a
        second; a waiter gives it that long. Unwitnessed, the waiter then runs a round itself (the
        publisher lease serialises it with every other signer). With a witness policy it only
        waits — rounds talk to the witnesses, and one at a time is enough — and, past ``timeout``,
        raises NotWitnessed.
        """
        ledger = self.ledger
        start = time.monotonic()
        deadline = start + timeout
        own_turn = start + min(timeout, self.settings.ledger.checkpoint_interval + 0.1)
        while True:
            latest = ledger.latest_checkpoint()
            if latest is not None and latest.checkpoint.size > index:
                return latest
            now = time.monotonic()
            if now >= deadline:
                break
            if now >= own_turn and not ledger.publisher.witnessed:
                signed = ledger.publish(lease_timeout=min(1.0, deadline - now))
                if signed is not None and signed.checkpoint.size > index:
                    return signed
            time.sleep(0.02)
        if ledger.publisher.witnessed:
            raise NotWitnessed(f"no checkpoint a quorum of witnesses cosigned covers entry {index} after "
                               f"{timeout:g} s: {ledger.publisher.status().describe()}")
        raise CheckpointRefused(f"no checkpoint covers entry {index} after {timeout:g} s")

    def sign_if_behind(self) -> None:
        """Background duty: entries that arrived after the last checkpoint get one (if this process
        holds the publisher lease; otherwise the holder publishes them)."""
        ledger = self.ledger
        if ledger.publisher.witnessed:
            ledger.raise_floor(ledger.publisher.status().high_water)  # what a witness showed holds here too
        ledger.publish()  # a round returns at once when the latest published checkpoint covers the log


def get_state(request: Request) -> AppState:
    """The running app's state (the routers' ``State`` dependency)."""
    state: AppState = request.app.state.dl
    return state
