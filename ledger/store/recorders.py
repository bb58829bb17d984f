"""eventsourcing 9.5.6 application recorders that append the ledger chain in the insert transaction.

Hooks protected methods of the pinned version (see ../shared/reference/eventsourcing-notes.md):
SQLite ``_insert_events`` (the write lock is held once the library's INSERT ran) and, for
PostgreSQL, ``insert_events`` itself, because the library's version commits the transaction
when a hook raises inside ``_fetch_ids_after_insert_events``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

from ledger.store.chain import AppendRequest, ChainWriter
from ledger.store.schema import ddl


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
        statements for a large log. The library ends a session idle in a transaction for 5 s
        (POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT); lift that for this transaction only."""
        self.c.execute("SET LOCAL idle_in_transaction_session_timeout = 0")


class LedgerRecorderMixin:
    """What both recorders share: the chain writer (each also offers ``reading()`` and ``writing()``)."""

    chain: ChainWriter


class LedgerSQLiteRecorder(SQLiteApplicationRecorder, LedgerRecorderMixin):
    """SQLite: the library's INSERT takes the write lock; then the chain is appended."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.chain = ChainWriter()

    def create_table(self) -> None:
        super().create_table()
        with self.datastore.transaction(commit=True) as c:
            for statement in ddl("", "BLOB", "INTEGER"):
                c.execute(statement)

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        request: AppendRequest | None = kwargs.get("ledger")
        if request is None:
            raise RuntimeError("every event of the ledger application is a ledger entry")
        assert ids is not None
        self.chain.append(_SQLiteDb(c), request, ids)
        return ids

    @contextmanager
    def reading(self) -> Iterator[_SQLiteDb]:
        with self.datastore.transaction(commit=False) as c:
            yield _SQLiteDb(c)

    @contextmanager
    def writing(self) -> Iterator[_SQLiteDb]:
        # BEGIN IMMEDIATE: take the write lock first, so a read-then-write cannot fail
        # to upgrade its lock when another process committed in between.
        with self.datastore.get_connection(commit=True) as conn:
            cursor = conn.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield _SQLiteDb(cursor)
            except BaseException:
                conn.rollback()
                raise
            conn.commit()


class LedgerPostgresRecorder(PostgresApplicationRecorder, LedgerRecorderMixin):
    """PostgreSQL: under the library's EXCLUSIVE table lock, after ids are assigned."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.chain = ChainWriter()

    def create_table(self) -> None:
        super().create_table()
        with self.datastore.transaction(commit=True) as curs:
            for statement in ddl(f'"{self.datastore.schema}".', "BYTEA", "BIGINT"):
                curs.execute(statement)

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        request: AppendRequest | None = kwargs.get("ledger")
        if request is None:
            raise RuntimeError("every event of the ledger application is a ledger entry")
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._insert_stored_events(curs, stored_events, **kwargs)  # locks the table
            ids = self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
            assert ids is not None
            self.chain.append(_PostgresDb(curs, self.datastore.schema), request, ids)
            return ids

    @contextmanager
    def reading(self) -> Iterator[_PostgresDb]:
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            curs.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            yield _PostgresDb(curs, self.datastore.schema)

    @contextmanager
    def writing(self) -> Iterator[_PostgresDb]:
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            yield _PostgresDb(curs, self.datastore.schema)
