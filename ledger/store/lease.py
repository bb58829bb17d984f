"""The publisher lease: one holder at a time, across every process of a ledger, signs and publishes.

On PostgreSQL it is a session-level advisory lock on a connection of its own (any host, any worker;
released by the server when the holder's connection ends, so a killed holder never blocks the
others). On SQLite, whose writers share one machine, it is an exclusive ``flock`` of the lock file
beside the outside checkpoint copy (released by the kernel when the holder dies). Inside a process a
thread lock comes first: the advisory lock is re-entrant for its session, threads are not.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import threading
import time
from collections.abc import Iterator
from typing import Any

from ledger.config import Settings

_POLL = 0.02  # seconds between two tries of a lease held elsewhere


def lease_key(settings: Settings) -> int:
    """The advisory lock's 64-bit key: one per ledger (database and schema), fixed forever."""
    env = settings.eventsourcing_env()
    where = f"disclosure-ledger publisher {env.get('POSTGRES_DBNAME')} {env.get('POSTGRES_SCHEMA')}"
    return int.from_bytes(hashlib.sha256(where.encode()).digest()[:8], "big", signed=True)


class PublisherLease:
    """``with lease.held(timeout) as got:`` — ``got`` is False when another holder kept it past ``timeout``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._local = threading.Lock()
        self._conn: Any = None

    @property
    def lock_file(self) -> str:
        return str(self.settings.checkpoint_path.with_suffix(".lock"))

    @contextlib.contextmanager
    def held(self, timeout: float) -> Iterator[bool]:
        deadline = time.monotonic() + max(0.0, timeout)
        if not self._local.acquire(timeout=max(0.0, timeout)):
            yield False
            return
        try:
            if self.settings.is_postgres:
                with self._postgres(deadline) as got:
                    yield got
            else:
                with self._file(deadline) as got:
                    yield got
        finally:
            self._local.release()

    @contextlib.contextmanager
    def _file(self, deadline: float) -> Iterator[bool]:
        self.settings.checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_file, "w") as lock:
            while True:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        yield False
                        return
                    time.sleep(_POLL)
            try:
                yield True
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _connect(self) -> Any:
        import psycopg

        env = self.settings.eventsourcing_env()
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                host=env["POSTGRES_HOST"], port=int(env["POSTGRES_PORT"]), dbname=env["POSTGRES_DBNAME"],
                user=env["POSTGRES_USER"], password=env["POSTGRES_PASSWORD"] or None, autocommit=True,
                connect_timeout=10, application_name="disclosure-ledger publisher")
        return self._conn

    @contextlib.contextmanager
    def _postgres(self, deadline: float) -> Iterator[bool]:
        key = lease_key(self.settings)
        try:
            conn = self._connect()
            while not conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(_POLL)
        except Exception:
            self.close()  # a dropped connection: the next try connects again
            raise
        try:
            yield True
        finally:
            try:
                conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
            except Exception:
                self.close()  # closing the session releases its locks

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
