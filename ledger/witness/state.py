"""The witness's own database (SQLite or PostgreSQL): the logs it follows, the latest checkpoint it
cosigned for each, and every validly signed submission it refused.

Checking a submission against the latest cosigned checkpoint and recording the new one happen in
one transaction that holds the log's row (SQLite ``BEGIN IMMEDIATE``; PostgreSQL ``SELECT … FOR
UPDATE``), committed durably (SQLite WAL with ``synchronous=FULL``; PostgreSQL's default synchronous
commit) before any cosignature leaves the process: two submissions cannot both pass the check, and a
kill at any moment leaves either the old state or the new one.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse, urlunparse

from ledger.core.errors import LedgerError
from ledger.core.witness_protocol import origin_hash

SCHEMA_VERSION = 1


class StoreError(LedgerError):
    """The witness's database is unusable (bad URL, unreachable, not a witness database)."""


@dataclass(frozen=True)
class LogState:
    """One followed log: its verifier keys and the latest checkpoint cosigned (size None: never)."""

    origin: str
    keys: tuple[str, ...]
    size: int | None
    root: bytes | None
    note: str | None
    cosigned_at: int | None


@dataclass(frozen=True)
class Refusal:
    """A refused submission whose checkpoint a trusted log key signed: the evidence, kept as received."""

    id: int
    origin: str
    status: int
    reason: str
    old_size: int
    size: int
    held_size: int | None
    body: bytes
    first_seen: str
    last_seen: str
    times: int


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_TABLES = """
CREATE TABLE IF NOT EXISTS witness_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS witness_logs (
    origin TEXT PRIMARY KEY,
    origin_hash TEXT NOT NULL UNIQUE,
    size BIGINT,
    root {blob},
    note TEXT,
    cosigned_at BIGINT,
    added_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS witness_log_keys (
    origin TEXT NOT NULL REFERENCES witness_logs (origin),
    vkey TEXT NOT NULL,
    added_at TEXT NOT NULL,
    PRIMARY KEY (origin, vkey)
);
CREATE TABLE IF NOT EXISTS witness_refusals (
    id {serial},
    origin TEXT NOT NULL,
    status INTEGER NOT NULL,
    reason TEXT NOT NULL,
    old_size BIGINT NOT NULL,
    size BIGINT NOT NULL,
    held_size BIGINT,
    checkpoint_sha256 TEXT NOT NULL,
    body {blob} NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    times INTEGER NOT NULL,
    UNIQUE (origin, status, checkpoint_sha256)
);
"""


class WitnessStore:
    """One connection, used by one thread at a time (a lock guards it); every write is one transaction."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.lock = threading.RLock()
        parsed = urlparse(url)
        self.is_postgres = parsed.scheme in ("postgresql", "postgres")
        try:
            if parsed.scheme == "sqlite":
                self.conn: Any = self._sqlite(parsed.path, url)
            elif self.is_postgres:
                self.conn = self._postgres(parsed)
            else:
                raise StoreError(f"unsupported database URL scheme {parsed.scheme!r}: use sqlite:/// or postgresql://")
        except (sqlite3.Error, OSError) as e:
            raise StoreError(f"cannot open the witness database {self.redacted()}: {e}") from None
        self.mark = "%s" if self.is_postgres else "?"

    # ---- connections ----------------------------------------------------------------
    @staticmethod
    def _sqlite(path: str, url: str) -> sqlite3.Connection:
        file = unquote(path)[1:] if not url.startswith("sqlite:////") else "/" + unquote(path).lstrip("/")
        if not file:
            raise StoreError("a sqlite URL needs a file path: sqlite:///witness/witness.sqlite3")
        Path(file).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(file, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    def _postgres(self, parsed: Any) -> Any:
        import psycopg

        schema = parse_qs(parsed.query).get("schema", ["public"])[0]
        plain = urlunparse(parsed._replace(query=""))
        try:
            conn = psycopg.connect(plain, autocommit=True, connect_timeout=10)
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{_identifier(schema)}"')
            conn.execute(f'SET search_path TO "{_identifier(schema)}"')
        except psycopg.Error as e:
            raise StoreError(f"cannot open the witness database {self.redacted()}: {e}") from None
        return conn

    def redacted(self) -> str:
        parsed = urlparse(self.url)
        return self.url.replace(f":{parsed.password}@", ":***@") if parsed.password else self.url

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    def __enter__(self) -> WitnessStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _sql(self, text: str) -> str:
        return text.replace("?", self.mark)

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self.lock:
            self._connected()
            return list(self.conn.execute(self._sql(sql), tuple(params)).fetchall())

    def _connected(self) -> None:
        """Reconnect to PostgreSQL after the server dropped the connection (a restart, a failover)."""
        if self.is_postgres and (self.conn.closed or self.conn.broken):
            self.conn = self._postgres(urlparse(self.url))

    @contextmanager
    def transaction(self, *, locked_origin: str | None = None) -> Iterator[Transaction]:
        """One transaction, writes serialised: on SQLite the database, on PostgreSQL the log's row."""
        with self.lock:
            self._connected()
            if self.is_postgres:
                with self.conn.transaction():
                    txn = Transaction(self)
                    if locked_origin is not None:
                        self._fetch("SELECT origin FROM witness_logs WHERE origin = ? FOR UPDATE", [locked_origin])
                    yield txn
                return
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self)
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    # ---- schema -----------------------------------------------------------------------
    def create_tables(self) -> None:
        blob, serial = ("BYTEA", "BIGSERIAL PRIMARY KEY") if self.is_postgres else (
            "BLOB", "INTEGER PRIMARY KEY AUTOINCREMENT")
        with self.transaction():
            for statement in _TABLES.format(blob=blob, serial=serial).split(";"):
                if statement.strip():
                    self.conn.execute(statement)
            self.conn.execute(self._sql(
                "INSERT INTO witness_meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO NOTHING"),
                (str(SCHEMA_VERSION),))

    def check_schema(self) -> None:
        try:
            rows = self._fetch("SELECT value FROM witness_meta WHERE key = 'schema_version'")
        except Exception:  # sqlite3 and psycopg raise their own kinds
            raise StoreError(f"{self.redacted()} is not a witness database: run 'witness init'") from None
        if not rows or rows[0][0] != str(SCHEMA_VERSION):
            raise StoreError(f"{self.redacted()} holds witness schema {rows[0][0] if rows else None}, "
                             f"this program reads {SCHEMA_VERSION}")

    # ---- logs -------------------------------------------------------------------------
    def add_log_key(self, origin: str, vkey: str) -> bool:
        """Follow a log (a new origin) or add a key to it (a log-key rotation); False if it was there."""
        with self.transaction():
            now = _now()
            self.conn.execute(self._sql(
                "INSERT INTO witness_logs (origin, origin_hash, added_at) VALUES (?, ?, ?) "
                "ON CONFLICT (origin) DO NOTHING"), (origin, origin_hash(origin), now))
            if self._fetch("SELECT 1 FROM witness_log_keys WHERE origin = ? AND vkey = ?", [origin, vkey]):
                return False
            self.conn.execute(self._sql("INSERT INTO witness_log_keys (origin, vkey, added_at) VALUES (?, ?, ?)"),
                              (origin, vkey, now))
            return True

    def remove_log_key(self, origin: str, vkey: str) -> None:
        with self.transaction():
            keys = [r[0] for r in self._fetch("SELECT vkey FROM witness_log_keys WHERE origin = ?", [origin])]
            if vkey not in keys:
                raise StoreError(f"{origin!r} has no key {vkey}")
            if len(keys) == 1:
                raise StoreError(f"{vkey} is the last key of {origin!r}: add its successor first")
            self.conn.execute(self._sql("DELETE FROM witness_log_keys WHERE origin = ? AND vkey = ?"), (origin, vkey))

    def log(self, origin: str) -> LogState | None:
        rows = self._fetch("SELECT origin, size, root, note, cosigned_at FROM witness_logs WHERE origin = ?", [origin])
        return self._state(rows[0]) if rows else None

    def log_by_hash(self, hashed: str) -> LogState | None:
        rows = self._fetch("SELECT origin, size, root, note, cosigned_at FROM witness_logs WHERE origin_hash = ?",
                           [hashed])
        return self._state(rows[0]) if rows else None

    def logs(self) -> list[LogState]:
        rows = self._fetch("SELECT origin, size, root, note, cosigned_at FROM witness_logs ORDER BY origin")
        return [self._state(r) for r in rows]

    def _state(self, row: Sequence[Any]) -> LogState:
        keys = tuple(r[0] for r in self._fetch(
            "SELECT vkey FROM witness_log_keys WHERE origin = ? ORDER BY added_at, vkey", [row[0]]))
        root = bytes(row[2]) if row[2] is not None else None
        return LogState(row[0], keys, row[1], root, row[3], row[4])

    # ---- refusals ---------------------------------------------------------------------
    def refusals(self, origin: str | None = None, status: int | None = None) -> list[Refusal]:
        where: list[str] = []
        params: list[object] = []
        if origin is not None:
            where.append("origin = ?")
            params.append(origin)
        if status is not None:
            where.append("status = ?")
            params.append(status)
        sql = ("SELECT id, origin, status, reason, old_size, size, held_size, body, first_seen, last_seen, times "
               "FROM witness_refusals" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id")
        rows = self._fetch(sql, params)
        return [Refusal(r[0], r[1], r[2], r[3], r[4], r[5], r[6], bytes(r[7]), r[8], r[9], r[10]) for r in rows]


class Transaction:
    """What one transaction may do: read a log's state, record a cosigned checkpoint, record a refusal."""

    def __init__(self, store: WitnessStore) -> None:
        self.store = store

    def state(self, origin: str) -> LogState | None:
        return self.store.log(origin)

    def cosigned(self, origin: str, size: int, root: bytes, note: str, timestamp: int) -> None:
        self.store.conn.execute(self.store._sql(
            "UPDATE witness_logs SET size = ?, root = ?, note = ?, cosigned_at = ? WHERE origin = ?"),
            (size, root, note, timestamp, origin))

    def refused(self, origin: str, status: int, reason: str, old_size: int, size: int, held_size: int | None,
                checkpoint_sha256: str, body: bytes) -> None:
        """Keep a refused submission; the same checkpoint text refused the same way again only counts."""
        now = _now()
        self.store.conn.execute(self.store._sql(
            "INSERT INTO witness_refusals (origin, status, reason, old_size, size, held_size, checkpoint_sha256, "
            "body, first_seen, last_seen, times) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) "
            "ON CONFLICT (origin, status, checkpoint_sha256) DO UPDATE SET last_seen = ?, "
            "times = witness_refusals.times + 1"),
            (origin, status, reason, old_size, size, held_size, checkpoint_sha256, body, now, now, now))


def _identifier(name: str) -> str:
    if not name.replace("_", "").isalnum() or not name.isascii():
        raise StoreError(f"schema name {name!r}: letters, digits and '_' only")
    return name
