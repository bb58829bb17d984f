"""Before a command opens the ledger: is the database there, does it answer, does it hold a ledger?

Opening the store creates what is missing — a SQLite file, tables — and a PostgreSQL pool
waits half a minute for a server that will never answer. So the command first asks directly,
within ``CONNECT_TIMEOUT`` seconds, and names the database in one line when it cannot be used:

* every command: a PostgreSQL server that refuses the connection, or a database that does not exist
  on it, is ``DatabaseUnavailable`` (exit 2: a setting to fix);
* read-only commands (``READ_ONLY``), and ``matcher run`` and ``release-file``, which never make a
  ledger either: a database without a genesis entry is ``NoLedger`` (exit 1),
  found before the store is opened, so a mistyped path stays a mistake and never becomes an
  empty, "verified" ledger.
"""

from __future__ import annotations

import argparse

from ledger.config import Settings
from ledger.core.errors import LedgerError
from ledger.store.probe import CONNECT_TIMEOUT, DatabaseUnavailable, has_genesis, probe, sqlite_path

__all__ = ["CONNECT_TIMEOUT", "DatabaseUnavailable", "NoLedger", "has_genesis", "prepare", "probe", "read_only",
           "require_genesis"]

READ_ONLY = frozenset({"verify", "export", "checkpoint", "entry", "prove", "vkey", "bundle"})


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


def require_genesis(settings: Settings) -> None:
    """NoLedger, naming the database opened, unless it holds a genesis entry."""
    if has_genesis(settings):
        return
    where = settings.redacted_url()
    if not settings.is_postgres and not sqlite_path(settings).exists():
        what = "the file does not exist"
    else:
        what = "it holds no genesis entry"
    raise NoLedger(f"no ledger in {where}: {what} (pass --db or set LEDGER_DB_URL / LEDGER_VAR to the "
                   "ledger's database, or create one with `disclosure-ledger init`)")
