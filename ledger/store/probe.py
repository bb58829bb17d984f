"""Asking the database, without creating anything, whether it answers and holds a ledger.

Opening the store creates what is missing (a SQLite file, tables) and a PostgreSQL pool waits half a
minute for a server that will never answer; the CLI asks here first, within ``CONNECT_TIMEOUT``
seconds (ledger.commands.db_check says what each command needs).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from ledger.config import ConfigError, Settings

CONNECT_TIMEOUT = 5  # seconds


class DatabaseUnavailable(ConfigError):
    """The database cannot be reached or does not exist (a setting to fix: exit 2)."""


def sqlite_path(settings: Settings) -> Path:
    return Path(settings.eventsourcing_env()["SQLITE_DBNAME"])


def _pg_connect(settings: Settings) -> Any:
    import psycopg

    env = settings.eventsourcing_env()
    try:
        return psycopg.connect(host=env["POSTGRES_HOST"], port=int(env["POSTGRES_PORT"]),
                               dbname=env["POSTGRES_DBNAME"], user=env["POSTGRES_USER"],
                               password=env["POSTGRES_PASSWORD"] or None, connect_timeout=CONNECT_TIMEOUT,
                               autocommit=True)
    except psycopg.Error as e:
        raise DatabaseUnavailable(f"cannot open the database {settings.redacted_url()}: {_reason(e)}") from None


def _reason(error: Exception) -> str:
    """The server's or the driver's reason in one line (e.g. 'database "x" does not exist',
    'Connection refused'), without the rest of the driver's message."""
    lines = [ln.strip() for ln in str(error).splitlines() if ln.strip()]
    for line in lines:
        if "FATAL:" in line:
            return line.split("FATAL:", 1)[1].strip()
    if not lines:
        return type(error).__name__
    first = lines[0].removeprefix("connection failed: ")
    return first.rsplit(" failed: ", 1)[1] if " failed: " in first else first


def probe(settings: Settings) -> None:
    """A PostgreSQL server that does not answer, or has no such database, within the timeout:
    DatabaseUnavailable naming it. (A SQLite file is checked only by ``require_genesis``.)"""
    if settings.is_postgres:
        conn = _pg_connect(settings)
        conn.close()


def has_genesis(settings: Settings) -> bool:
    """Whether the database holds entry 0, asked without creating a file, a schema or a table."""
    if not settings.is_postgres:
        path = sqlite_path(settings)
        if not path.is_file():
            return False
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        except sqlite3.Error:
            return False
        try:
            return conn.execute("SELECT 1 FROM dl_entries WHERE idx = 0").fetchone() is not None
        except sqlite3.Error:  # no such table: not a ledger (or not yet one)
            return False
        finally:
            conn.close()
    schema = settings.eventsourcing_env()["POSTGRES_SCHEMA"]
    conn = _pg_connect(settings)
    try:
        table = conn.execute("SELECT to_regclass(%s)", (f'"{schema}".dl_entries',)).fetchone()
        if table is None or table[0] is None:
            return False
        from psycopg import sql

        query = sql.SQL("SELECT 1 FROM {}.dl_entries WHERE idx = 0").format(sql.Identifier(schema))
        row = conn.execute(query).fetchone()
        return row is not None
    finally:
        conn.close()
