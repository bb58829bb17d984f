"""Before a command opens the ledger: is the database there, does it answer, does it hold a ledger?

Opening the event store creates what is missing — a SQLite file, tables — and a PostgreSQL pool
waits half a minute for a server that will never answer. So the command first asks directly,
within ``CONNECT_TIMEOUT`` seconds, and names the database in one line when it cannot be used:

* every command: a PostgreSQL server that refuses the connection, or a database that does not exist
  on it, is ``DatabaseUnavailable`` (exit 2: a setting to fix);
* read-only commands (``READ_ONLY``), and ``matcher run`` and ``release-file``, which never make a
  ledger either: a database without a genesis entry is ``NoLedger`` (exit 1),
  found before the event store is opened, so a mistyped path stays a mistake and never becomes an
  empty, "verified" ledger.
"""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path
from typing import Any

from ledger.config import ConfigError, Settings
from ledger.errors import LedgerError

CONNECT_TIMEOUT = 5  # seconds
READ_ONLY = frozenset({"verify", "export", "checkpoint", "entry", "prove", "vkey", "bundle"})


class DatabaseUnavailable(ConfigError):
    """The database cannot be reached or does not exist (a setting to fix: exit 2)."""


class NoLedger(LedgerError):
    """The database holds no ledger: no genesis entry (exit 1)."""


def read_only(args: argparse.Namespace) -> bool:
    """Whether the command only reads the log (and so must never create one)."""
    if args.command == "keys":
        return bool(args.keys_command == "list")
    if args.command == "officer":
        return bool(args.officer_command in ("queue", "sheet", "review-csv"))
    return args.command in READ_ONLY


def prepare(args: argparse.Namespace, settings: Settings) -> Settings:
    """Check the database for this command before anything opens it (the settings, unchanged).

    A read-only command goes on only on a ledger: its database exists and holds entry 0. (Opening
    the ledger may then add a side table a later version introduced; it never makes a ledger.)"""
    if args.command in ("sealed-keys", "client") or (args.command == "matcher" and args.matcher_command != "run"):
        return settings  # no database (the matcher's key and its store are files)
    probe(settings)
    if read_only(args) or args.command in ("matcher", "release-file", "migrate"):  # they never make a ledger either
        require_genesis(settings)
    return settings


def _sqlite_path(settings: Settings) -> Path:
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
        path = _sqlite_path(settings)
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


def require_genesis(settings: Settings) -> None:
    """NoLedger, naming the database opened, unless it holds a genesis entry."""
    if has_genesis(settings):
        return
    where = settings.redacted_url()
    if not settings.is_postgres and not _sqlite_path(settings).exists():
        what = "the file does not exist"
    else:
        what = "it holds no genesis entry"
    raise NoLedger(f"no ledger in {where}: {what} (pass --db or set LEDGER_DB_URL / LEDGER_VAR to the "
                   "ledger's database, or create one with `disclosure-ledger init`)")
