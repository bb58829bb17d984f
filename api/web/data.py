"""What the pages read: the projections' query API over views kept caught up with the log, and the
stored log's verification status (re-checked when the log has grown)."""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass, field

from fastapi import Request

from api.state import AppState
from projections.cli import VIEWS_DB_ENV
from projections.db import open_database
from projections.errors import TrackingConflict
from projections.queries import Queries
from projections.runner import Runner
from projections.source import LogSource


@dataclass
class WebData:
    runner: Runner
    queries: Queries
    lock: threading.Lock  # the runner's: one catch-up at a time in this process
    verify_lock: threading.Lock = field(default_factory=threading.Lock)
    verified_size: int = -1
    verified_ok: bool | None = None
    verifying: bool = False

    def fresh(self) -> Queries:
        """The queries, after applying the entries appended since the last page."""
        # TrackingConflict: another process (the CLI) moved the views meanwhile, so they are fresh
        with self.lock, contextlib.suppress(TrackingConflict):
            self.runner.catch_up()
        return self.queries


def web_data(request: Request, state: AppState) -> WebData:
    """The app's projections when it keeps some (``state.views``), else the dashboard's own."""
    data: WebData | None = getattr(request.app.state, "web_data", None)
    if data is None:
        shared = getattr(state, "views", None)
        if shared is not None and all(hasattr(shared, a) for a in ("queries", "runner", "lock")):
            data = WebData(shared.runner, shared.queries, shared.lock)
        else:
            source = open_database(state.settings.ledger.db_url)
            views_url = os.environ.get(VIEWS_DB_ENV)
            views = open_database(views_url) if views_url else source
            runner = Runner(LogSource(source), views)
            runner.create()
            data = WebData(runner, Queries(views), threading.Lock())
        request.app.state.web_data = data
    return data


def log_verified(data: WebData, state: AppState) -> tuple[bool | None, int]:
    """Whether the stored log re-verifies (fsck), and the size it had when checked; ``None``
    while the first check runs. A check runs in the background (a large log takes a while),
    again whenever the log has grown since the last one."""

    def run() -> None:
        size = state.ledger.size()
        try:
            ok = state.ledger.fsck().ok
        except Exception:  # shown as "not verified", never as a 500
            ok = False
        with data.verify_lock:
            data.verified_ok, data.verified_size, data.verifying = ok, size, False

    with data.verify_lock:
        start = not data.verifying and data.verified_size != state.ledger.size()
        if start:
            data.verifying = True
    if start:
        threading.Thread(target=run, name="web-fsck", daemon=True).start()
    with data.verify_lock:
        return data.verified_ok, data.verified_size
