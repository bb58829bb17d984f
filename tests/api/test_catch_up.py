"""The taxpayer read's catch-up to its own inspection, beside the background thread (SQLite and
PostgreSQL): it waits for no projection the history does not read, and the views' page
transactions keep their relaxed durability to themselves."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from apifix import open_api

from api.state import AppState
from projections.base import Projection
from projections.db import open_database
from projections.live import HISTORY_VIEWS
from projections.runner import Runner
from projections.source import LogEntry, LogSource
from projections.tables import ViewTables

TAXPAYER = "/v1/oversight/taxpayer"


class StalledProjection(Projection):
    """A projection whose page read blocks until released (a slow checkpoint copy, say)."""

    name = "stalled"

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def tables(self, t: ViewTables) -> list[sa.Table]:
        return []

    def head(self, source: LogSource) -> int:
        return 0

    def read(self, source: LogSource, position: int, page: int) -> tuple[Sequence[Any], int]:
        self.entered.set()
        self.release.wait(30)
        return [], position

    def apply(self, conn: sa.Connection, t: ViewTables, items: Sequence[Any]) -> None:
        raise AssertionError("nothing to apply")


def test_a_read_does_not_wait_for_projections_it_does_not_read(settings):
    """While the background step is stuck in a projection outside the history, a taxpayer read
    still catches up to its own inspection (it used to wait behind the whole step and time out)."""
    a, close = open_api(settings)
    stalled = StalledProjection()
    state: AppState = a.client.app.state.dl  # type: ignore[attr-defined]
    step = threading.Thread(target=state.reads.views.step)
    try:
        assert a.client.post(TAXPAYER, json={"tin": "900-70-0001", "purpose": "first"},
                             headers=a.auth("oversight")).json()["caught_up"]
        state.reads.views.runner.projections[stalled.name] = stalled
        step.start()
        assert stalled.entered.wait(10)
        r = a.client.post(TAXPAYER, json={"tin": "900-70-0001", "purpose": "second"}, headers=a.auth("oversight"))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["caught_up"], "the read waited for the stalled projection's turn"
        assert [e["index"] for e in body["items"] if e["kind"] == "inspection"][-1] == body["inspection"]["index"]
    finally:
        stalled.release.set()
        step.join(30)
        close()
    assert not step.is_alive()


def test_positions_in_one_query(settings):
    """``ViewTracking.positions`` answers every name asked, 0 for a projection without a row."""
    a, close = open_api(settings)
    try:
        state: AppState = a.client.app.state.dl  # type: ignore[attr-defined]
        assert a.client.post(TAXPAYER, json={"tin": "900-70-0001", "purpose": "p"},
                             headers=a.auth("court")).json()["caught_up"]
        tracking = state.reads.views.runner.tracking
        found = tracking.positions([*HISTORY_VIEWS, "no-such-view"])
        assert found == {**{n: tracking.position(n) for n in HISTORY_VIEWS}, "no-such-view": 0}
        assert min(found[n] for n in HISTORY_VIEWS) == state.ledger.size()
    finally:
        close()


def test_relaxed_commit_stays_inside_the_page(settings):
    """On PostgreSQL a views page commits with ``synchronous_commit = off`` (SET LOCAL): the
    pooled connection it used is back at the server's durable default afterwards."""
    a, close = open_api(settings)
    try:
        state: AppState = a.client.app.state.dl  # type: ignore[attr-defined]
        views = state.reads.views.runner.views
        if views.is_sqlite:
            return  # SQLite keeps its own synchronous setting; nothing is relaxed there
        seen: list[str] = []

        @sa.event.listens_for(views.engine, "commit")
        def _commit(conn: sa.Connection) -> None:  # inside the page's transaction, just before COMMIT
            seen.append(str(conn.exec_driver_sql("SHOW synchronous_commit").scalar()))

        try:
            assert a.client.post(TAXPAYER, json={"tin": "900-70-0001", "purpose": "p"},
                                 headers=a.auth("court")).json()["caught_up"]
        finally:
            sa.event.remove(views.engine, "commit", _commit)
        assert "off" in seen
        with views.engine.connect() as conn:  # the pool's connections: the page's setting did not stick
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
    finally:
        close()


class RacingSource(LogSource):
    """The log as this process reads it, except that another runner (another worker process, say)
    applies the same page to the shared views just before this one's first read returns."""

    def __init__(self, mine: LogSource, other: Runner) -> None:
        super().__init__(mine.db)
        self.other = other
        self.raced = 0

    def read(self, start: int, limit: int, types: frozenset[str] | None = None) -> tuple[list[LogEntry], int]:
        if not self.raced:
            self.raced = sum(self.other.catch_up().values())
        return super().read(start, limit, types)


def test_a_page_another_process_applied_first_is_not_an_error(settings):
    """The read's catch-up loses the race for a page to another runner over the same views (its
    compare-and-set fails: TrackingConflict): the read sees the other's positions and is answered."""
    a, close = open_api(settings)
    source, views = open_database(settings.db_url), open_database(settings.db_url)
    try:
        state: AppState = a.client.app.state.dl  # type: ignore[attr-defined]
        live = state.reads.views
        racing = RacingSource(live.runner.source, Runner(LogSource(source), views))
        live.runner.source = racing
        r = a.client.post(TAXPAYER, json={"tin": "900-70-0001", "purpose": "raced"}, headers=a.auth("court"))
        assert racing.raced > 0, "the other runner applied nothing: no race happened"
        assert r.status_code == 200, r.text
        body = r.json()
        assert [e["index"] for e in body["items"] if e["kind"] == "inspection"] == [body["inspection"]["index"]]
    finally:
        close()
        views.close()
        source.close()
