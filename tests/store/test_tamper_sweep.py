"""Every table of the ledger's database is accounted for: a change to its rows is either detected (by `verify`,
by `verify --deep`, by `projections verify`) or cannot falsify evidence (the table is operational: changing it
denies service at most, and `verify` and `verify --deep` still pass).

One small ledger per backend is built through the disclosure service (tests/deepfix.py) with the projections'
and the API's tables beside it. The tables are read from the database's own catalog, so a table added later
fails ``test_every_table_is_classified`` until it is put in ``CLASSIFICATION``. For each detected table, the
first, middle and last rows (by primary key) have each column changed in turn — a bit of a blob flipped, a
character of a text changed, an integer moved — the detector must fail, and pass again once the value is
restored. The database is changed with its own driver (sqlite3, psycopg), never through the ledger.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from deepfix import DeepLedger, build_deep_ledger
from storefix import drop_schema, postgres_base_url

from ledger.domain.deep_check import deep_check
from ledger.store.fsck import fsck
from projections.db import open_database
from projections.source import LogSource
from projections.verify import verify_views

VERIFY = "verify"  # (a) `disclosure-ledger verify` detects a change
DEEP = "verify --deep"  # (b) only `verify --deep` (with the sealed-store keys) detects it
PROJECTIONS = "projections verify"  # (c) derived views, rebuilt from the log and checked against it
OPERATIONAL = "operational"  # (d) a change denies service at most; the evidence still verifies

CLASSIFICATION: dict[str, str] = {
    # the log: entries, refused statement ids, signed checkpoints
    "dl_entries": VERIFY,
    "dl_refused": VERIFY,
    "dl_checkpoints": VERIFY,
    # the service's rows beside the log: openings sealed one by one and in groups, ingest pseudonyms
    "sealed_openings": DEEP,
    "sealed_groups": DEEP,
    "dl_pseudonyms": DEEP,
    # the views (docs/PROJECTIONS.md)
    "pj_tracking": PROJECTIONS,
    "pj_statement": PROJECTIONS,
    "pj_request": PROJECTIONS,
    "pj_request_recipient": PROJECTIONS,
    "pj_line": PROJECTIONS,
    "pj_release": PROJECTIONS,
    "pj_release_recipient": PROJECTIONS,
    "pj_release_line": PROJECTIONS,
    "pj_red_flag": PROJECTIONS,
    "pj_blocked": PROJECTIONS,
    "pj_safeguard": PROJECTIONS,
    "pj_inspection": PROJECTIONS,
    "pj_checkpoint": PROJECTIONS,
    # publication state, key ids, unused salt seeds, the API's tokens, sessions and counters
    "dl_witnesses": OPERATIONAL,
    "dl_publication": OPERATIONAL,
    "sealed_key_ids": OPERATIONAL,
    "sealed_salt_seeds": OPERATIONAL,
    "api_tokens": OPERATIONAL,
    "api_rate_counts": OPERATIONAL,
    "web_sessions": OPERATIONAL,
    "web_signin_throttle": OPERATIONAL,
}

# Columns of detected tables that no detector reads, and why a change to them falsifies nothing: the sweep
# checks that the evidence still verifies after changing them (so this list stays true).
UNCHECKED_COLUMNS: dict[tuple[str, str], str] = {
    ("dl_checkpoints", "signed_at"): "when this ledger signed the checkpoint; the signed note carries the checkpoint",
    ("sealed_openings", "stored_at"): "when the opening was stored; the commitment in the log binds the opening",
    ("sealed_groups", "stored_at"): "when the group was stored; the chunk in the log binds its openings",
    ("pj_tracking", "updated_at"): "when a projection last wrote a page; the log does not determine it",
}

def _projections_verify(ledger: DeepLedger) -> bool:
    """`disclosure-ledger projections verify` on the built ledger (its views live in its database)."""
    url = ledger.settings.db_url
    return verify_views(LogSource(open_database(url)), open_database(url)).ok


# The detector of class (c): True when the views verify against the log.
PROJECTIONS_DETECTOR: Callable[[DeepLedger], bool] | None = _projections_verify


# ---- the database, through its own driver ----------------------------------------------------------
@dataclass
class RawDb:
    """One backend's database opened with its driver: catalog reads and single-cell updates."""

    backend: str
    conn: Any
    schema: str | None

    @property
    def mark(self) -> str:
        return "?" if self.backend == "sqlite" else "%s"

    def name(self, table: str) -> str:
        return f'"{self.schema}"."{table}"' if self.schema else f'"{table}"'

    def all(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with closing(self.conn.cursor()) as cur:
            cur.execute(sql, params)
            return list(cur.fetchall())

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        with closing(self.conn.cursor()) as cur:
            cur.execute(sql, params)
        if self.backend == "sqlite":
            self.conn.commit()

    def tables(self) -> set[str]:
        if self.backend == "sqlite":
            return {r[0] for r in self.all("SELECT name FROM sqlite_master WHERE type = 'table' "
                                           "AND name NOT LIKE 'sqlite_%'")}
        return {r[0] for r in self.all("SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                                       "AND table_type = 'BASE TABLE'", (self.schema,))}

    def columns(self, table: str) -> list[str]:
        if self.backend == "sqlite":
            return [r[1] for r in self.all(f"PRAGMA table_info({self.name(table)})")]
        return [r[0] for r in self.all("SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
                                       "AND table_name = %s ORDER BY ordinal_position", (self.schema, table))]

    def primary_key(self, table: str) -> list[str]:
        if self.backend == "sqlite":
            rows = sorted((r[5], r[1]) for r in self.all(f"PRAGMA table_info({self.name(table)})") if r[5])
            return [name for _, name in rows]
        return [r[0] for r in self.all(
            "SELECT k.column_name FROM information_schema.table_constraints c JOIN "
            "information_schema.key_column_usage k ON k.constraint_name = c.constraint_name "
            "AND k.table_schema = c.table_schema AND k.table_name = c.table_name "
            "WHERE c.table_schema = %s AND c.table_name = %s AND c.constraint_type = 'PRIMARY KEY' "
            "ORDER BY k.ordinal_position", (self.schema, table))]

    def sample_keys(self, table: str) -> list[tuple[Any, ...]]:
        """The primary keys of the first, middle and last rows (fewer when the table is smaller)."""
        key = self.primary_key(table)
        assert key, f"{table} has no primary key: the sweep cannot name its rows"
        rows = self.all(f"SELECT {', '.join(key)} FROM {self.name(table)} ORDER BY {', '.join(key)}")
        picked = [rows[i] for i in sorted({0, len(rows) // 2, len(rows) - 1})] if rows else []
        return [tuple(r) for r in picked]

    def _where(self, table: str) -> str:
        return " AND ".join(f"{k} = {self.mark}" for k in self.primary_key(table))

    def get(self, table: str, column: str, key: tuple[Any, ...]) -> Any:
        rows = self.all(f"SELECT {column} FROM {self.name(table)} WHERE {self._where(table)}", key)
        assert len(rows) == 1, (table, key)
        return rows[0][0]

    def set(self, table: str, column: str, key: tuple[Any, ...], value: Any) -> None:
        self.execute(f"UPDATE {self.name(table)} SET {column} = {self.mark} "
                     f"WHERE {self._where(table)}", (value, *key))


def changed(value: Any) -> Any:
    """A different value of the same kind: one bit of a blob's middle byte, one character of a text
    (a hex digit stays a hex digit), an integer moved by 1000; an empty blob or text gets one more."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytearray(bytes(value))
        if not data:  # an empty blob (the first entry's tree nodes): one byte more
            return b"\x00"
        data[len(data) // 2] ^= 0x01
        return bytes(data)
    if isinstance(value, str):
        if not value:
            return "x"
        at = len(value) // 2
        c = value[at]
        new = ("1" if c == "0" else "0") if c in "0123456789abcdef" else ("y" if c == "x" else "x")
        return value[:at] + new + value[at + 1:]
    if isinstance(value, int):
        return value + 1000
    if isinstance(value, float):
        return value + 1000.0
    raise AssertionError(f"no change defined for a {type(value).__name__}")


# ---- one built ledger per backend ------------------------------------------------------------------
@dataclass
class Built:
    ledger: DeepLedger
    db: RawDb
    url: str


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    tmp: Path = tmp_path_factory.mktemp(f"sweep-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp}/ledger.sqlite3"
        ledger = build_deep_ledger(url, tmp / "var")
        conn = sqlite3.connect(tmp / "ledger.sqlite3", timeout=30)
        try:
            yield Built(ledger, RawDb("sqlite", conn, None), url)
        finally:
            conn.close()
            ledger.close()
        return
    import psycopg

    base = postgres_base_url()
    schema = "t_" + uuid.uuid4().hex[:16]
    url = f"{base}?schema={schema}"
    ledger = build_deep_ledger(url, tmp / "var")
    conn = psycopg.connect(base, autocommit=True)
    try:
        yield Built(ledger, RawDb("postgres", conn, schema), url)
    finally:
        conn.close()
        ledger.close()
        drop_schema(base, schema)


def verify_passes(b: Built) -> bool:
    """What `disclosure-ledger verify` checks of the stored log."""
    return fsck(b.ledger.domain.ledger.store).ok


def deep_passes(b: Built) -> bool:
    """What `disclosure-ledger verify --deep` checks besides."""
    return deep_check(b.ledger.domain.ledger, b.url, b.ledger.keys).ok


def cells(b: Built, table: str) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """(column, primary key) of every column of the sampled rows, but NULLs (nothing to change)."""
    for key in b.db.sample_keys(table):
        for column in b.db.columns(table):
            yield column, key


def tampered(b: Built, table: str, column: str, key: tuple[Any, ...]) -> Iterator[Any]:
    """Change one cell; yield; put it back (the row's key follows a change of a key column)."""
    original = b.db.get(table, column, key)
    if original is None:
        return
    b.db.set(table, column, key, changed(original))
    pk = b.db.primary_key(table)
    moved = tuple(changed(original) if k == column else v for k, v in zip(pk, key, strict=True))
    try:
        yield original
    finally:
        b.db.set(table, column, moved, original)


# ---- the tests -------------------------------------------------------------------------------------
def test_every_table_is_classified(built: Built) -> None:
    """Every table in the database has a class, and every class names a table that exists: a new table
    fails here until it is accounted for. (The log has one copy: no events table beside dl_entries.)"""
    found = built.db.tables()
    unclassified = sorted(found - set(CLASSIFICATION))
    assert not unclassified, f"tables with no class in CLASSIFICATION: {unclassified}"
    assert sorted(set(CLASSIFICATION) - found) == [], "CLASSIFICATION names tables the database does not have"
    assert verify_passes(built) and deep_passes(built)


@pytest.mark.parametrize("table", sorted(t for t, c in CLASSIFICATION.items() if c in (VERIFY, DEEP)))
def test_a_change_is_detected(built: Built, table: str) -> None:
    """Each column of the first, middle and last rows, changed in turn: `verify` (class a) or, with `verify`
    still passing, `verify --deep` (class b) fails; restored, both pass again."""
    cls = CLASSIFICATION[table]
    checked = 0
    for column, key in cells(built, table):
        for _ in tampered(built, table, column, key):
            where = f"{table}.{column} at {key}"
            if (table, column) in UNCHECKED_COLUMNS:
                assert verify_passes(built) and deep_passes(built), f"{where} is listed as unchecked"
                continue
            if cls == VERIFY:
                assert not verify_passes(built), f"verify missed a change of {where}"
            else:
                assert verify_passes(built), f"verify failed on {where}: the table is not class (b)"
                assert not deep_passes(built), f"verify --deep missed a change of {where}"
            checked += 1
        assert verify_passes(built) and (cls == VERIFY or deep_passes(built)), f"{table}.{column} not restored"
    assert checked >= 3, f"{table}: the built ledger gives too few rows to sweep"


@pytest.mark.parametrize("table", sorted(t for t, c in CLASSIFICATION.items() if c == OPERATIONAL))
def test_operational_tables_carry_no_evidence(built: Built, table: str) -> None:
    """Each column of the first, middle and last rows of an operational table, changed in turn: the
    evidence is intact (`verify` and `verify --deep` pass). Empty tables are only classified."""
    for column, key in cells(built, table):
        for _ in tampered(built, table, column, key):
            assert verify_passes(built), f"verify failed on {table}.{column}: the table holds evidence"
            assert deep_passes(built), f"verify --deep failed on {table}.{column}: the table holds evidence"


@pytest.mark.parametrize("table", sorted(t for t, c in CLASSIFICATION.items() if c == PROJECTIONS))
def test_projection_tables_are_derived(built: Built, table: str) -> None:
    """A view's table is derived: each column of its first row, changed in turn, makes `projections verify`
    fail; restored, it passes. (tests/projections/test_projections_verify.py changes every column of the
    first, middle and last rows, deletes and inserts rows.)"""
    assert table in built.db.tables()
    assert PROJECTIONS_DETECTOR is not None
    first = next(iter(built.db.sample_keys(table)), None)
    assert first is not None, f"{table} is empty in the built ledger: nothing to tamper with"
    for column, key in ((c, k) for c, k in cells(built, table) if k == first):
        for _ in tampered(built, table, column, key):
            if (table, column) in UNCHECKED_COLUMNS:
                assert PROJECTIONS_DETECTOR(built.ledger), f"{table}.{column} is listed as read by no detector"
            else:
                assert not PROJECTIONS_DETECTOR(built.ledger), f"projections verify missed {table}.{column} at {key}"
        assert PROJECTIONS_DETECTOR(built.ledger), f"{table}.{column} not restored"
