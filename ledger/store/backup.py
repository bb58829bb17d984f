"""Backup, restore, and recovery of entries from an export (docs/OPERATIONS.md § 11).

- ``backup``: a consistent copy of the ledger's database. SQLite: the sqlite3 online backup
  API (safe while writers run; WAL contents included). PostgreSQL: ``pg_dump`` of the
  ledger's schema (one repeatable-read snapshot), plain SQL.
- ``restore``: puts a backup back; refuses a database that already holds entries unless
  ``force``. The outside checkpoint file is never touched: after restoring a backup older
  than the last signed checkpoint, appends stay refused (``ledger.behind_checkpoint``).
- ``import_export``: the honest recovery of the missing entries. Entries carry ``prev``
  and ``recorded_at`` assigned by the ledger, so replaying their *statements* would make
  different entries (and contradict the signed checkpoint). Instead the exact entry bytes
  are taken from an export: the whole export is first verified as a court would (chain,
  times, signatures, keys, roles), its prefix must equal the stored entries byte for byte,
  and its root at the last signed checkpoint's size must equal that checkpoint's root;
  only then are the missing entries written, unchanged, with their tree nodes.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger.config import Settings
from ledger.core.entry import Entry
from ledger.core.export_lines import read_export
from ledger.core.keys import VerifierKey
from ledger.core.statement import Statement, parse_statement
from ledger.core.verify import LogVerifier
from ledger.store.chain import Appended, AppendRequest, ChainWriter, Db
from ledger.store.checkpoints import CheckpointKeeper
from ledger.store.errors import StoreError
from ledger.store.schema import ENTRY_COLUMNS

SQLITE_MAGIC = b"SQLite format 3\x00"
IMPORT_BATCH = 500
_CREATE_SCHEMA_RE = re.compile(r'^CREATE SCHEMA "?([^";\s]+)"?;$', re.MULTILINE)
_CREATE_TABLE_RE = re.compile(r"^CREATE TABLE (\S+) \($", re.MULTILINE)


class BackupError(StoreError):
    """A backup or restore that cannot be done as asked."""


# ---- status after a restore -----------------------------------------------------------
@dataclass
class RestoreStatus:
    """Where a (restored) log stands against the outside copy of the last signed checkpoint."""

    size: int
    checkpoint_size: int
    root_matches: bool | None  # None: no outside checkpoint, or the log is shorter than it

    @property
    def missing(self) -> int:
        return max(0, self.checkpoint_size - self.size)

    def describe(self) -> str:
        if self.root_matches is False:
            return (f"the log's root at size {self.checkpoint_size} differs from the last signed checkpoint: "
                    "this is another history; restore a backup of this ledger")
        if self.missing:
            return (f"the log holds {self.size} entries but a checkpoint of {self.checkpoint_size} was signed: "
                    f"{self.missing} entries are missing; appends are refused until they are restored "
                    "(`disclosure-ledger restore --from-export EXPORT`)")
        return f"the log holds {self.size} entries and extends the last signed checkpoint ({self.checkpoint_size})"


def restore_status(ledger: Any) -> RestoreStatus:
    """Compare the log with the outside checkpoint file (``ledger`` is a ledger.store.ledger.Ledger)."""
    size = ledger.size()
    settings: Settings = ledger.settings
    if not settings.checkpoint_path.exists():
        return RestoreStatus(size, 0, None)
    last = CheckpointKeeper(settings.checkpoint_path, ledger.keys.checkpoint).last_signed()
    if last is None:
        return RestoreStatus(size, 0, None)
    cp = last.checkpoint
    if size < cp.size:
        return RestoreStatus(size, cp.size, None)
    return RestoreStatus(size, cp.size, ledger.root_at(cp.size) == cp.root)


# ---- SQLite ---------------------------------------------------------------------------
def _sqlite_path(settings: Settings) -> Path:
    return Path(settings.eventsourcing_env()["SQLITE_DBNAME"])


def _sqlite_entry_count(path: Path) -> int | None:
    """Entries in a SQLite ledger file; None when it has no ledger tables."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "dl_entries" not in tables:
            return None
        return int(conn.execute("SELECT COUNT(*) FROM dl_entries").fetchone()[0])
    finally:
        conn.close()


def _backup_sqlite(settings: Settings, out: Path) -> int:
    src_path = _sqlite_path(settings)
    if not src_path.exists():
        raise BackupError(f"no SQLite ledger at {src_path}")
    src = sqlite3.connect(f"file:{src_path}?mode=ro", uri=True)
    dst = sqlite3.connect(out)
    try:
        src.backup(dst)  # one consistent snapshot, WAL contents included
        dst.execute("PRAGMA journal_mode=DELETE")  # the copy is one self-contained file
        check = dst.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        dst.close()
        src.close()
    if check != "ok":
        raise BackupError(f"the copy fails SQLite's integrity check: {check}")
    count = _sqlite_entry_count(out)
    if count is None:
        raise BackupError(f"{src_path} holds no ledger tables")
    return count


def _restore_sqlite(settings: Settings, backup: Path, force: bool) -> int:
    with open(backup, "rb") as f:
        if f.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            raise BackupError(f"{backup} is not a SQLite backup (the ledger's database is SQLite)")
    count = _sqlite_entry_count(backup)
    if count is None:
        raise BackupError(f"{backup} holds no ledger tables")
    target = _sqlite_path(settings)
    if target.exists():
        existing = _sqlite_entry_count(target)
        if existing and not force:
            raise BackupError(f"{target} already holds {existing} entries: refusing to overwrite (use --force)")
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)  # page-level copy under the destination's write lock
    finally:
        dst.close()
        src.close()
    return count


# ---- PostgreSQL -----------------------------------------------------------------------
def _pg_env(settings: Settings) -> tuple[dict[str, str], str]:
    """libpq environment (the password never on a command line) and the schema."""
    env = settings.eventsourcing_env()
    pg = dict(os.environ)
    pg.update(PGHOST=env["POSTGRES_HOST"], PGPORT=env["POSTGRES_PORT"], PGDATABASE=env["POSTGRES_DBNAME"],
              PGUSER=env["POSTGRES_USER"])
    if env["POSTGRES_PASSWORD"]:
        pg["PGPASSWORD"] = env["POSTGRES_PASSWORD"]
    return pg, env["POSTGRES_SCHEMA"]


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (PostgreSQL client tools are needed for PostgreSQL backups)")
    return path


def _run(cmd: Sequence[str], env: dict[str, str]) -> None:
    done = subprocess.run(list(cmd), env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{Path(cmd[0]).name} failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")


def _pg_entry_count(settings: Settings) -> int | None:
    import psycopg

    pg, schema = _pg_env(settings)
    with psycopg.connect(host=pg["PGHOST"], port=int(pg["PGPORT"]), dbname=pg["PGDATABASE"], user=pg["PGUSER"],
                         password=pg.get("PGPASSWORD") or None, autocommit=True) as conn:
        row = conn.execute("SELECT to_regclass(%s)", (f'"{schema}".dl_entries',)).fetchone()
        if row is None or row[0] is None:
            return None
        found = conn.execute(f'SELECT COUNT(*) FROM "{schema}".dl_entries').fetchone()
        return int(found[0]) if found else 0


def _pg_execute(settings: Settings, sql: str) -> None:
    import psycopg

    pg, _ = _pg_env(settings)
    with psycopg.connect(host=pg["PGHOST"], port=int(pg["PGPORT"]), dbname=pg["PGDATABASE"], user=pg["PGUSER"],
                         password=pg.get("PGPASSWORD") or None, autocommit=True) as conn:
        conn.execute(sql.encode())


def _backup_postgres(settings: Settings, out: Path) -> int:
    pg, schema = _pg_env(settings)
    count = _pg_entry_count(settings)
    if count is None:
        raise BackupError(f"schema {schema!r} holds no ledger tables")
    _run([_tool("pg_dump"), "--schema", schema, "--no-owner", "--no-privileges", "--file", str(out)], pg)
    return _dump_entry_count(out)


def _dump_entry_count(dump: Path) -> int:
    """Rows of dl_entries in a plain pg_dump (its own snapshot, not a count taken before it)."""
    count, inside = 0, False
    with open(dump, encoding="utf-8") as f:
        for line in f:
            if inside:
                if line.startswith("\\."):
                    return count
                count += 1
            elif line.startswith("COPY ") and ".dl_entries (" in line:
                inside = True
    raise BackupError(f"{dump} holds no dl_entries data")


def _restore_postgres(settings: Settings, backup: Path, force: bool) -> int:
    pg, schema = _pg_env(settings)
    head = backup.read_bytes()[: len(SQLITE_MAGIC)]
    if head == SQLITE_MAGIC:
        raise BackupError(f"{backup} is a SQLite backup; the ledger's database is PostgreSQL")
    dump = backup.read_text(encoding="utf-8")
    if "PostgreSQL database dump" not in dump[:200] or "dl_entries" not in dump:
        raise BackupError(f"{backup} is not a pg_dump of a ledger schema")
    named = _CREATE_SCHEMA_RE.findall(dump)
    dumped = named[0] if named else "public"
    if dumped != schema:
        raise BackupError(f"the backup is of schema {dumped!r}; restore it into a URL with ?schema={dumped}")
    existing = _pg_entry_count(settings)
    if existing and not force:
        raise BackupError(f"schema {schema!r} already holds {existing} entries: refusing to overwrite (use --force)")
    psql = _tool("psql")
    if schema == "public":  # the schema stays; drop the tables the dump creates
        tables = _CREATE_TABLE_RE.findall(dump)
        if tables:
            _pg_execute(settings, "DROP TABLE IF EXISTS " + ", ".join(tables) + " CASCADE")
    else:
        _pg_execute(settings, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    _run([psql, "--no-psqlrc", "--quiet", "-v", "ON_ERROR_STOP=1", "--single-transaction", "--file", str(backup)], pg)
    count = _pg_entry_count(settings)
    return count or 0


# ---- the public functions --------------------------------------------------------------
def backup(settings: Settings, out: Path) -> int:
    """Write a consistent copy of the ledger's database to ``out`` (new file); return its entry count."""
    if out.exists():
        raise BackupError(f"{out} exists: a backup is written to a new file")
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        if settings.is_postgres:
            return _backup_postgres(settings, out)
        return _backup_sqlite(settings, out)
    except BaseException:
        out.unlink(missing_ok=True)
        raise


def restore(settings: Settings, backup_file: Path, force: bool = False) -> int:
    """Put a backup back; refuse a database holding entries unless ``force``. Return the entry count.

    Run it with no ledger process running. The outside checkpoint file is left as it is.
    """
    if not backup_file.is_file():
        raise BackupError(f"no backup file {backup_file}")
    if settings.is_postgres:
        return _restore_postgres(settings, backup_file, force)
    return _restore_sqlite(settings, backup_file, force)


# ---- recovery of missing entries from an export ----------------------------------------
def _export_entries(path: Path) -> Iterator[tuple[int, bytes]]:
    """(index, entry bytes) of each line of the export at ``path``, strictly (ledger.core.export_lines)."""
    with open(path, "rb") as f:
        yield from read_export(f)


@dataclass
class _ImportRequest(AppendRequest):
    entries: list[Entry] = field(default_factory=list)


class _ImportChain(ChainWriter):
    """Writes given, already verified entries unchanged (instead of making new ones)."""

    def _append(self, db: Db, request: AppendRequest) -> list[Appended]:
        if not isinstance(request, _ImportRequest):  # another writer in this process during an import
            raise BackupError("an append arrived while entries are being imported: stop every writer first")
        head = self._head(db)[0]
        self._sync(db, head)
        rows, refused = [], []
        completed: list[bytes] = []

        def on_node(level: int, pos: int, h: bytes) -> None:
            if level:
                completed.append(h)

        for entry, stmt in zip(request.entries, request.statements, strict=True):
            # Re-checked here, in the transaction: the log (or the export file) may have changed since pass 1.
            last_leaf = self._last_leaf or bytes(32)
            if entry.index != self._frontier.size or entry.prev != last_leaf.hex():
                raise BackupError(f"entry {entry.index} does not extend the log of {self._frontier.size} entries")
            if self._last_recorded_at is not None and entry.recorded_at < self._last_recorded_at:
                raise BackupError(f"entry {entry.index}: recorded_at decreases")
            keys: list[VerifierKey] = self._trust.authorize(stmt, entry.index, entry.recorded_at)
            self._trust.check_signatures(stmt, keys)
            self._trust.apply(stmt, entry.index)
            completed.clear()
            self._frontier.append(entry.leaf_hash, on_node)
            rows.append((entry.index, bytes.fromhex(entry.prev), entry.leaf_hash, entry.recorded_at, stmt.id,
                         stmt.type, b"".join(completed), entry.data))
            if stmt.type == "blocked":
                refused.append((str(stmt.body["statement_id"]), entry.index,
                                bytes.fromhex(str(stmt.body["statement_sha256"]))))
            self._last_leaf = entry.leaf_hash
            self._last_recorded_at = entry.recorded_at
        db.many(f"INSERT INTO {db.t('dl_entries')} ({ENTRY_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s)", rows)
        db.many(f"INSERT INTO {db.t('dl_refused')} VALUES (%s,%s,%s)", refused)
        return [Appended(e.index, e.leaf_hash, s.id, e.recorded_at) for e, s in zip(request.entries, request.statements,
                                                                                     strict=True)]


@dataclass
class ImportReport:
    size_before: int
    imported: int
    size_after: int
    checkpoint_size: int


def import_export(ledger: Any, export: Path) -> ImportReport:
    """Restore the entries a restored database lacks from an export, byte for byte.

    The export is verified in full first (as ``scripts/verify_ledger.py`` would, except
    that the checkpoint compared is the outside copy of the last one this ledger signed);
    nothing is written unless it extends the stored log exactly and reaches that checkpoint
    with its root. ``ledger`` is a ledger.store.ledger.Ledger; no other process may append meanwhile.
    """
    size = ledger.size()
    settings: Settings = ledger.settings
    last = None
    if settings.checkpoint_path.exists():
        last = CheckpointKeeper(settings.checkpoint_path, ledger.keys.checkpoint).last_signed()
    target = last.checkpoint if last is not None else None
    if target is not None and size > 0 and target.origin != ledger.origin:
        raise BackupError(f"the outside checkpoint is for {target.origin!r}, not {ledger.origin!r}")
    # Pass 1: verify the whole export, compare its prefix with the store, check the signed root.
    verifier = LogVerifier()
    stored = ledger.iter_entries(0, size)
    reached = target is None
    for index, data in _export_entries(export):
        verifier.add(data, index)
        if index == 0 and size == 0 and target is not None:  # an empty database: the export's genesis names the log
            origin = parse_statement(_parse(data).statement).body.get("origin")
            if origin != target.origin:
                raise BackupError(f"the outside checkpoint is for {target.origin!r}, not {origin!r}")
        if index < size:
            _, mine = next(stored)
            if mine != data:
                raise BackupError(f"export entry {index} differs from the stored entry: another history")
        if target is not None and verifier.size == target.size:
            if verifier.root() != target.root:
                raise BackupError(f"the export's root at size {target.size} differs from the signed checkpoint's")
            reached = True
    if verifier.size < size:
        raise BackupError(f"the export holds {verifier.size} entries, fewer than the stored {size}")
    if not reached:
        assert target is not None
        raise BackupError(f"the export holds {verifier.size} entries; the last signed checkpoint covers "
                          f"{target.size}: a newer export is needed")
    # Pass 2: write the missing entries unchanged, a batch per transaction.
    original: ChainWriter = ledger.store.chain
    ledger.store.chain = _ImportChain()
    imported = 0
    try:
        batch: list[tuple[Entry, Statement]] = []
        for index, data in _export_entries(export):
            if index < size:
                continue
            entry = _parse(data)
            batch.append((entry, parse_statement(entry.statement)))
            if len(batch) >= IMPORT_BATCH:
                imported += _write(ledger, batch)
                batch = []
        if batch:
            imported += _write(ledger, batch)
    finally:
        ledger.store.chain = original
        original.forget()  # the log grew behind its back
    return ImportReport(size, imported, ledger.size(), target.size if target else 0)


def _parse(data: bytes) -> Entry:
    from ledger.core.entry import parse_entry

    return parse_entry(data)


def _write(ledger: Any, batch: list[tuple[Entry, Statement]]) -> int:
    stmts = [s for _, s in batch]
    request = _ImportRequest(stmts, [None] * len(stmts), {}, entries=[e for e, _ in batch])
    return len(ledger.store.append(request))
