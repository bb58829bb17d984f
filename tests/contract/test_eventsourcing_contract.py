"""eventsourcing's own recorder contract tests, on the configuration the ledger builds on.

The library ships its recorder test cases in ``eventsourcing.tests.persistence`` (they need
``eventsourcing[crypto]``, in the dev extra, to import). They are run here, unchanged, against:

* the stock SQLite recorders (``eventsourcing.sqlite``) on a file database in a temporary
  directory, and on in-memory databases as the library's own tests use them;
* the stock PostgreSQL recorders (``eventsourcing.postgres``), each test in its own schema;
* the projections' ``ViewTracking`` (``projections/tracking.py``), which claims to be a
  ``TrackingRecorder``, on SQLite and PostgreSQL.

The datastores come from the library's factories given the environment the ledger computes
(``Settings.eventsourcing_env``: lock timeouts, pool size, schema), so a change there is tested
here too. The module ``lib`` is imported, never its classes, so that pytest does not collect the
abstract cases themselves.
"""

from __future__ import annotations

import tempfile
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import InfrastructureFactory, TrackingRecorder
from eventsourcing.postgres import PostgresFactory
from eventsourcing.sqlite import SQLiteFactory
from eventsourcing.tests import persistence as lib
from storefix import drop_schema, postgres_base_url

from ledger.config import Settings
from projections.db import open_database
from projections.tables import view_tables
from projections.tracking import ViewTracking


def ledger_env(db_url: str) -> dict[str, str]:
    """The eventsourcing environment the ledger uses for ``db_url``, for the stock recorders."""
    env = Settings(db_url, Path("unused-keys"), Path("unused-checkpoint")).eventsourcing_env()
    # The store builds its datastore from this environment with the same factory; it names no recorder
    # of its own, so the recorders made here are the library's stock ones.
    assert "APPLICATION_RECORDER_TOPIC" not in env
    return env


def new_schema() -> tuple[str, Callable[[], None]]:
    """A PostgreSQL URL naming a schema of its own, just created, and the call that drops it."""
    base = postgres_base_url()
    schema = "es_" + uuid.uuid4().hex[:16]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return f"{base}{'&' if '?' in base else '?'}schema={schema}", lambda: drop_schema(base, schema)


def _join_threads_started_after(before: set[threading.Thread]) -> None:
    for thread in threading.enumerate():
        if thread not in before and thread is not threading.current_thread() and not thread.daemon:
            thread.join(timeout=60)


class _Backend:
    """Recorders from one factory per test, closed (and their database removed) afterwards.

    A mixin, not a ``TestCase``: only the concrete classes below are collected."""

    _factory: InfrastructureFactory[Any] | None = None

    def env(self) -> dict[str, str]:
        raise NotImplementedError

    def factory(self) -> InfrastructureFactory[Any]:
        if self._factory is None:
            env = self.env()
            cls = SQLiteFactory if env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite" else PostgresFactory
            self._factory = cls(env)
            self.addCleanup(self._factory.close)
            # The library's test_concurrent_no_conflicts tells its reader threads to stop but does not
            # join them: closing the datastore under a SQLite reader still inside execute() crashes the
            # process. Cleanups run last-in first-out, so this join runs before the close above.
            self.addCleanup(_join_threads_started_after, set(threading.enumerate()))
        return self._factory

    def create_recorder(self) -> Any:
        raise NotImplementedError


class _SQLiteFile(_Backend):
    """The ledger's SQLite settings on a file database in a fresh temporary directory."""

    def env(self) -> dict[str, str]:
        tmp = tempfile.TemporaryDirectory(prefix="es-contract-")
        self.addCleanup(tmp.cleanup)  # runs after the factory's close (cleanups are LIFO)
        return ledger_env(f"sqlite:///{tmp.name}/ledger.sqlite3")


class _SQLiteMemory(_Backend):
    """The ledger's SQLite settings on an in-memory database (``:memory:``, as the library's tests)."""

    db_name = ":memory:"

    def env(self) -> dict[str, str]:
        return {**ledger_env("sqlite:///:memory:"), "SQLITE_DBNAME": self.db_name}

    def shared_memory(self) -> None:
        """Threads need one shared in-memory database: a named one, so no other test sees it."""
        self.db_name = f"file:es-contract-{uuid.uuid4().hex}?mode=memory&cache=shared"


class _Postgres(_Backend):
    """The ledger's PostgreSQL settings, in a schema of this test's own (created, then dropped)."""

    def env(self) -> dict[str, str]:
        return ledger_env(self.postgres_url())

    def postgres_url(self) -> str:
        url, drop = new_schema()
        self.addCleanup(drop)  # after the factory's pool is closed (cleanups are LIFO)
        return url


# ---- the stock recorders -------------------------------------------------------------------------


class _Aggregate:
    def create_recorder(self) -> Any:
        return self.factory().aggregate_recorder()


class _Application:
    def create_recorder(self) -> Any:
        return self.factory().application_recorder()


class _Tracking:
    def create_recorder(self) -> Any:
        return self.factory().tracking_recorder()


class _Process:
    def create_recorder(self) -> Any:
        return self.factory().process_recorder()


class TestSQLiteFileAggregateRecorder(_Aggregate, _SQLiteFile, lib.AggregateRecorderTestCase):
    """The library's ``AggregateRecorderTestCase``, unchanged."""


class TestSQLiteFileApplicationRecorder(_Application, _SQLiteFile, lib.ApplicationRecorderTestCase):
    """The library's ``ApplicationRecorderTestCase``, unchanged."""


class TestSQLiteFileTrackingRecorder(_Tracking, _SQLiteFile, lib.TrackingRecorderTestCase):
    """The library's ``TrackingRecorderTestCase``, unchanged."""


class TestSQLiteFileProcessRecorder(_Process, _SQLiteFile, lib.ProcessRecorderTestCase):
    """The library's ``ProcessRecorderTestCase``, unchanged."""


class TestSQLiteMemoryAggregateRecorder(_Aggregate, _SQLiteMemory, lib.AggregateRecorderTestCase):
    """The library's ``AggregateRecorderTestCase``, unchanged."""


class TestSQLiteMemoryApplicationRecorder(_Application, _SQLiteMemory, lib.ApplicationRecorderTestCase):
    """The library's ``ApplicationRecorderTestCase``; its threaded tests on a shared in-memory database."""

    def test_concurrent_no_conflicts(self, initial_position: int = 0) -> None:
        self.shared_memory()
        super().test_concurrent_no_conflicts(initial_position)

    def test_concurrent_throughput(self) -> None:
        self.shared_memory()
        super().test_concurrent_throughput()


class TestSQLiteMemoryTrackingRecorder(_Tracking, _SQLiteMemory, lib.TrackingRecorderTestCase):
    """The library's ``TrackingRecorderTestCase``, unchanged."""


class TestSQLiteMemoryProcessRecorder(_Process, _SQLiteMemory, lib.ProcessRecorderTestCase):
    """The library's ``ProcessRecorderTestCase``, unchanged."""


@pytest.mark.postgres
class TestPostgresAggregateRecorder(_Aggregate, _Postgres, lib.AggregateRecorderTestCase):
    """The library's ``AggregateRecorderTestCase``, unchanged."""


@pytest.mark.postgres
class TestPostgresApplicationRecorder(_Application, _Postgres, lib.ApplicationRecorderTestCase):
    """The library's ``ApplicationRecorderTestCase``, and its optional subscription test."""

    def test_insert_subscribe(self) -> None:
        """The library's optional subscription test: PostgreSQL recorders support ``subscribe``."""
        self.optional_test_insert_subscribe()


@pytest.mark.postgres
class TestPostgresTrackingRecorder(_Tracking, _Postgres, lib.TrackingRecorderTestCase):
    """The library's ``TrackingRecorderTestCase``, unchanged."""


@pytest.mark.postgres
class TestPostgresProcessRecorder(_Process, _Postgres, lib.ProcessRecorderTestCase):
    """The library's ``ProcessRecorderTestCase``, unchanged."""


# ---- the projections' tracking ------------------------------------------------------------------


class _Views:
    """``ViewTracking`` over a views database with its tracking table, as ``Runner.create`` makes it."""

    def create_recorder(self) -> TrackingRecorder:
        views = open_database(self.views_url())
        self.addCleanup(views.close)
        t = view_tables(views.schema)
        with views.engine.begin() as conn:
            t.metadata.create_all(conn, tables=[t.tracking])
        return ViewTracking(views, t)


class TestViewTrackingSQLite(_Views, _SQLiteFile, lib.TrackingRecorderTestCase):
    """The library's ``TrackingRecorderTestCase`` on ``ViewTracking`` over SQLite."""

    def views_url(self) -> str:
        tmp = tempfile.TemporaryDirectory(prefix="es-contract-views-")
        self.addCleanup(tmp.cleanup)
        return f"sqlite:///{tmp.name}/views.sqlite3"


@pytest.mark.postgres
class TestViewTrackingPostgres(_Views, _Postgres, lib.TrackingRecorderTestCase):
    """The library's ``TrackingRecorderTestCase`` on ``ViewTracking`` over PostgreSQL."""

    def views_url(self) -> str:
        return self.postgres_url()


# ---- the settings the cases above run with ---------------------------------------------------------


def test_sqlite_datastore_has_the_ledgers_settings(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    factory = SQLiteFactory(ledger_env(f"sqlite:///{path}"))
    try:
        assert factory.datastore.pool.db_name == str(path)
        assert factory.datastore.pool.lock_timeout == 30
    finally:
        factory.close()


@pytest.mark.postgres
def test_postgres_datastore_has_the_ledgers_settings() -> None:
    url, drop = new_schema()
    factory = PostgresFactory(ledger_env(url))
    try:
        store = factory.datastore
        assert store.schema == url.rsplit("schema=", 1)[1]  # its own schema, not public
        assert store.lock_timeout == 30
        assert store.pool.min_size == 2
    finally:
        factory.close()
        drop()
