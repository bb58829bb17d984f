"""The ledger's tables on SQLite or PostgreSQL: transactions, locking, schema and its migration.

The connection pools are eventsourcing's stock datastores (``SQLiteDatastore``, ``PostgresDatastore``),
made by the library's own infrastructure factory from the settings' environment, so pooling, lock
timeouts and idle-transaction limits are the library's (its recorder contract tests run against
the same configuration). The log itself is the ledger's ``dl_entries`` table and nothing else: one
copy of every statement, the one ``verify`` checks. Appends run in :meth:`Store.appending`, which
takes the database's write lock first (SQLite ``BEGIN IMMEDIATE``; PostgreSQL an EXCLUSIVE lock on
``dl_entries``, which readers do not wait for), so the chain writer's checks see exactly the state
the entries land on.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eventsourcing.persistence import InfrastructureFactory, IntegrityError
from eventsourcing.utils import Environment

from ledger.config import Settings
from ledger.store.chain import Appended, AppendRequest, ChainWriter, RuleCheck, Rules
from ledger.store.errors import Conflict, NeedsMigration
from ledger.store.schema import LEGACY_EVENT_TABLES, LEGACY_PG_FUNCTION, LEGACY_PG_TYPE, ddl

log = logging.getLogger("ledger.store")


class _SQLiteDb:
    def __init__(self, cursor: Any) -> None:
        self.c = cursor

    def t(self, name: str) -> str:
        return name

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self.c.execute(sql.replace("%s", "?"), tuple(params))
        return [tuple(r) for r in self.c.fetchall()]

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.c.executemany(sql.replace("%s", "?"), rows)

    def replaying(self) -> None:
        """(SQLite ends no transaction for being idle.)"""


class _PostgresDb:
    def __init__(self, cursor: Any, schema: str) -> None:
        self.c = cursor
        self.prefix = f'"{schema}".'

    def t(self, name: str) -> str:
        return self.prefix + name

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self.c.execute(sql, tuple(params))
        rows = self.c.fetchall()
        return [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in rows]

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.c.executemany(sql, rows)

    def replaying(self) -> None:
        """This transaction replays the log into the caches: minutes of Python between its
        statements for a large log. The datastore ends a session idle in a transaction after 5 s
        (POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT); lift that for this transaction only."""
        self.c.execute("SET LOCAL idle_in_transaction_session_timeout = 0")


def _is_unique_violation(e: BaseException) -> bool:
    """A constraint failure, as the driver raised it or as the datastore's transaction translated it."""
    return isinstance(e, (sqlite3.IntegrityError, IntegrityError))


class Store:
    """The ledger's tables on one database. Every read and write of them goes through a
    transaction of this object; appends through :meth:`append`, which returns where each landed."""

    def __init__(self, settings: Settings, rules: Rules | RuleCheck | None = None) -> None:
        self.settings = settings
        env = {k: v for k, v in settings.eventsourcing_env().items() if k != "CREATE_TABLE"}
        factory: Any = InfrastructureFactory.construct(Environment("ledger", env))
        self._factory = factory
        self.datastore: Any = factory.datastore
        self.postgres = settings.is_postgres
        self.chain = ChainWriter(rules)
        if settings.create_tables:
            self.create_tables()
        # An earlier release's leftovers: reads work as they are, appends wait for `migrate` (a
        # command that changes a court's evidence database does so only when an operator says so).
        self.outdated = self.legacy() if self._has_entries_table() else []

    def close(self) -> None:
        self._factory.close()

    # ---- transactions --------------------------------------------------------------------
    @contextmanager
    def reading(self) -> Iterator[Any]:
        """A read-only transaction: one consistent view of the tables."""
        if self.postgres:
            with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
                curs.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                yield _PostgresDb(curs, self.datastore.schema)
        else:
            with self.datastore.transaction(commit=False) as c:
                yield _SQLiteDb(c)

    @contextmanager
    def writing(self) -> Iterator[Any]:
        """A write transaction; SQLite takes its write lock first (BEGIN IMMEDIATE), so a
        read-then-write cannot fail to upgrade its lock when another process committed in between."""
        if self.postgres:
            with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
                yield _PostgresDb(curs, self.datastore.schema)
            return
        with self.datastore.get_connection(commit=True) as conn:
            cursor = conn.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield _SQLiteDb(cursor)
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    @contextmanager
    def appending(self) -> Iterator[Any]:
        """A write transaction holding the log's write lock: one appender at a time, readers go on."""
        with self.writing() as db:
            if self.postgres:
                timeout = int(self.datastore.lock_timeout or 0)
                if timeout:
                    db.c.execute(f"SET LOCAL lock_timeout = '{timeout}s'")
                db.c.execute(f"LOCK TABLE {db.t('dl_entries')} IN EXCLUSIVE MODE")
            yield db

    def append(self, request: AppendRequest) -> list[Appended]:
        """Chain, check and store the request's statements in one transaction, all or none.
        Raises the chain's refusals, or :class:`Conflict` for an id stored meanwhile."""
        if self.outdated:
            raise NeedsMigration(
                "this database was written by an earlier release (it has "
                f"{', '.join(self.outdated)}): run `disclosure-ledger migrate` before appending")
        try:
            with self.appending() as db:
                return self.chain.append(db, request)
        except Exception as e:
            if _is_unique_violation(e):
                raise Conflict("a statement id of the append is already stored") from None
            raise

    # ---- schema --------------------------------------------------------------------------
    def create_tables(self) -> None:
        """Create the ledger's tables if missing (a database of an earlier release keeps what it has:
        see :meth:`migrate`)."""
        if self.postgres:
            statements = ddl(f'"{self.datastore.schema}".', "BYTEA", "BIGINT")
        else:
            statements = ddl("", "BLOB", "INTEGER")
        with self.writing() as db:
            for statement in statements:
                db.c.execute(statement)

    def _has_entries_table(self) -> bool:
        with self.reading() as db:
            if self.postgres:
                return bool(db.all("SELECT 1 FROM information_schema.tables WHERE table_schema = %s "
                                   "AND table_name = 'dl_entries'", (self.datastore.schema,)))
            return bool(db.all("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'dl_entries'"))

    def legacy(self) -> list[str]:
        """What an earlier release left that this one does not use: its second copy of every
        statement (the eventsourcing events table, and on PostgreSQL the library's insert function
        and row type for it) and the column that linked the two."""
        found = []
        with self.reading() as db:
            if self.postgres:
                tables = {r[0] for r in db.all(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                    (self.datastore.schema,))}
                columns = {r[0] for r in db.all(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
                    "AND table_name = 'dl_entries'", (self.datastore.schema,))}
            else:
                tables = {r[0] for r in db.all("SELECT name FROM sqlite_master WHERE type = 'table'")}
                columns = {r[1] for r in db.all("PRAGMA table_info(dl_entries)")}
            found += [f"table {t}" for t in LEGACY_EVENT_TABLES if t in tables]
            if "notification_id" in columns:
                found.append("column dl_entries.notification_id")
            if self.postgres:  # the library's insert function for its events, and that function's row type
                found += [f"function {r[0]}" for r in db.all(
                    "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                    "WHERE n.nspname = %s AND p.proname = %s", (self.datastore.schema, LEGACY_PG_FUNCTION))]
                found += [f"type {r[0]}" for r in db.all(
                    "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                    "WHERE n.nspname = %s AND t.typname = %s", (self.datastore.schema, LEGACY_PG_TYPE))]
        return found

    def migrate(self) -> list[str]:
        """Drop what :meth:`legacy` finds, in one transaction. The entries' bytes, leaf hashes and
        tree nodes are untouched, so the root, every checkpoint and the export are the same after."""
        found = self.legacy()
        if not found:
            return []
        with self.appending() as db:
            for name in LEGACY_EVENT_TABLES:
                if f"table {name}" in found:
                    db.c.execute(f"DROP TABLE {db.t(name)}")
            if "column dl_entries.notification_id" in found:
                db.c.execute(f"ALTER TABLE {db.t('dl_entries')} DROP COLUMN notification_id")
            if f"function {LEGACY_PG_FUNCTION}" in found:
                db.c.execute(f"DROP FUNCTION {db.t(LEGACY_PG_FUNCTION)}")
            if f"type {LEGACY_PG_TYPE}" in found:
                db.c.execute(f"DROP TYPE {db.t(LEGACY_PG_TYPE)}")
        log.warning("migrated the ledger's database: dropped %s", ", ".join(found))
        self.outdated = []
        return found
