"""The sealed store: openings encrypted at rest, in the ledger's own database.

One table holds the openings, keyed by commitment; nothing in it is in clear (the key
is a salted hash, the ciphertext is ``OpeningBox``'s). A second holds groups of openings
sealed together — a bulk chunk's, keyed by the chunk statement's id —: a 1.3M-line request
is ~10,000 rows there instead of 5.2M rows under random keys, each read and written whole.
A third small table records the public ids of the keys the database was first opened with,
so a store opened with the wrong sealed or pseudonym key fails at once (SealedKeyError)
instead of writing rows that the right key can no longer read, or splitting each taxpayer
in two::

    sealed_openings(commitment TEXT PRIMARY KEY, ciphertext BLOB/BYTEA NOT NULL, stored_at TEXT NOT NULL)
    sealed_groups(grp TEXT PRIMARY KEY, ciphertext BLOB/BYTEA NOT NULL, openings INTEGER NOT NULL,
                  stored_at TEXT NOT NULL)
    sealed_key_ids(purpose TEXT PRIMARY KEY, key_id TEXT NOT NULL, recorded_at TEXT NOT NULL)
    sealed_salt_seeds(...)  issued salt seeds, sealed (ledger.sealed.seeds)

The database URL is the ledger's (``Settings.db_url``): ``sqlite:///path`` or
``postgresql://user@host:port/db?schema=NAME`` (tables in schema NAME, created if missing).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote, urlparse

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.dml import Insert

from ledger.core.commitments import Opening, check_commitment_hex
from ledger.core.times import format_time, utc_now
from ledger.sealed.box import OpeningBox
from ledger.sealed.errors import OpeningNotFound, SealedKeyError, SealedStoreError
from ledger.sealed.keys import SealedKeys

OPENINGS_TABLE = "sealed_openings"
GROUPS_TABLE = "sealed_groups"
KEY_IDS_TABLE = "sealed_key_ids"
SEEDS_TABLE = "sealed_salt_seeds"
WRITE_BATCH = 5000  # rows per INSERT executemany inside put_many's one transaction
READ_BATCH = 500  # commitments per IN (...) list
GROUP_READ_BATCH = 16  # groups per query (a bulk chunk's group is ~70 KB)
_SCHEMA_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}\Z")
_T = TypeVar("_T")


@dataclass(frozen=True)
class SealedDatabase:
    """Where the sealed store lives: a SQLAlchemy URL and, on PostgreSQL, a schema."""

    url: sa.URL
    schema: str | None


def sealed_database(db_url: str) -> SealedDatabase:
    """Translate the ledger's database URL into SQLAlchemy's (read as ``Settings`` reads it)."""
    parsed = urlparse(db_url)
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path)
        path = "/" + path.lstrip("/") if db_url.startswith("sqlite:////") else path[1:]
        if not path:
            raise SealedStoreError("sqlite URL needs a file path: sqlite:///var/ledger.sqlite3")
        return SealedDatabase(sa.URL.create("sqlite", database=path), None)
    if parsed.scheme in ("postgresql", "postgres"):
        schema = parse_qs(parsed.query).get("schema", ["public"])[0]
        if not _SCHEMA_RE.match(schema):
            raise SealedStoreError(f"schema must match [A-Za-z_][A-Za-z0-9_]{{0,62}}, found {schema[:80]!r}")
        url = sa.URL.create(
            "postgresql+psycopg",
            username=unquote(parsed.username or "postgres"),
            password=unquote(parsed.password) if parsed.password else None,
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or 5432,
            database=parsed.path.lstrip("/") or "postgres",
        )
        return SealedDatabase(url, schema)
    raise SealedStoreError(f"unsupported database URL scheme {parsed.scheme!r}: use sqlite:/// or postgresql://")


def _chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@contextmanager
def _database_errors() -> Iterator[None]:
    # Third-party errors are re-raised as ours; hide_parameters keeps values out of the message.
    try:
        yield
    except SQLAlchemyError as e:
        raise SealedStoreError(f"sealed store database error: {e}") from e


SQLITE_CACHE_KIB = 131072  # 128 MiB per connection, at most


def _sqlite_cache(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    cursor.close()


class SealedStore:
    """Openings encrypted under the sealed key, in the ledger's database. Nothing connects
    before construction; ``close()`` (or ``with``) releases the connections."""

    def __init__(self, db_url: str, keys: SealedKeys, *, create_tables: bool = True) -> None:
        database = sealed_database(db_url)
        self._box = OpeningBox(keys.sealed_key)
        self.keys = keys
        self._schema = self.schema = database.schema
        is_sqlite = database.url.get_backend_name() == "sqlite"
        self.engine = sa.create_engine(
            database.url,
            hide_parameters=True,
            pool_pre_ping=not is_sqlite,
            # The ledger's own writer may hold SQLite's lock; wait for it as the ledger does.
            connect_args={"timeout": 30} if is_sqlite else {},
        )
        self._is_sqlite = is_sqlite
        if is_sqlite:
            # Openings are keyed by commitment (random): a bulk request's millions of inserts and
            # look-ups land all over the index, so give SQLite more than its 2 MB default page cache.
            sa.event.listen(self.engine, "connect", _sqlite_cache)
        metadata = sa.MetaData(schema=database.schema)
        self.openings = sa.Table(
            OPENINGS_TABLE,
            metadata,
            sa.Column("commitment", sa.Text, primary_key=True),
            sa.Column("ciphertext", sa.LargeBinary, nullable=False),
            sa.Column("stored_at", sa.Text, nullable=False),
        )
        self.groups = sa.Table(
            GROUPS_TABLE,
            metadata,
            sa.Column("grp", sa.Text, primary_key=True),
            sa.Column("ciphertext", sa.LargeBinary, nullable=False),
            sa.Column("openings", sa.Integer, nullable=False),  # how many (public: the log counts them too)
            sa.Column("stored_at", sa.Text, nullable=False),
        )
        self.seeds_table = sa.Table(  # issued salt seeds, sealed: ledger.sealed.seeds
            SEEDS_TABLE,
            metadata,
            sa.Column("statement_id", sa.Text, primary_key=True),
            sa.Column("principal", sa.Text, nullable=False),
            sa.Column("statement_type", sa.Text, nullable=False),
            sa.Column("ciphertext", sa.LargeBinary, nullable=False),
            sa.Column("issued_at", sa.Text, nullable=False),
            sa.Column("expires_at", sa.Text, nullable=False),
        )
        self.key_ids = sa.Table(
            KEY_IDS_TABLE,
            metadata,
            sa.Column("purpose", sa.Text, primary_key=True),
            sa.Column("key_id", sa.Text, nullable=False),
            sa.Column("recorded_at", sa.Text, nullable=False),
        )
        try:
            with _database_errors(), self.engine.begin() as conn:
                if create_tables:
                    if self._schema is not None and not sa.inspect(conn).has_schema(self._schema):
                        conn.execute(sa.schema.CreateSchema(self._schema, if_not_exists=True))
                    metadata.create_all(conn)
                self._check_key_ids(conn, keys)
        except BaseException:
            self.engine.dispose()
            raise

    def _insert_ignoring_duplicates(self, table: sa.Table, key: str) -> Insert:
        if self._is_sqlite:
            return sqlite.insert(table).on_conflict_do_nothing(index_elements=[key])
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=[key])

    def _check_key_ids(self, conn: sa.Connection, keys: SealedKeys) -> None:
        loaded = {"pseudonym": keys.pseudonym_key_id, "sealed": keys.sealed_key_id}
        now = format_time(utc_now())
        conn.execute(
            self._insert_ignoring_duplicates(self.key_ids, "purpose"),
            [{"purpose": p, "key_id": k, "recorded_at": now} for p, k in sorted(loaded.items())],
        )
        recorded = {str(p): str(k) for p, k in conn.execute(sa.select(self.key_ids.c.purpose, self.key_ids.c.key_id))}
        wrong = [
            f"the database's {purpose} key has id {recorded.get(purpose)}, the loaded one has id {key}"
            for purpose, key in sorted(loaded.items(), reverse=True)
            if recorded.get(purpose) != key
        ]
        if wrong:
            raise SealedKeyError(f"wrong keys for this sealed store: {'; '.join(wrong)} (restore them from escrow)")

    def __repr__(self) -> str:
        return f"SealedStore({self.engine.url!r}, schema={self._schema!r})"

    def __enter__(self) -> SealedStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def put_many(self, openings: Iterable[Opening]) -> list[str]:
        """Store openings encrypted, in one transaction; return their commitments in order.

        Idempotent: a commitment already stored (or repeated in the batch) is left as it is,
        which is safe because a commitment binds exactly one opening.
        """
        openings = list(openings)
        self.put_sealed(self.seal_many(openings))
        return [o.commitment for o in openings]

    def seal_many(self, openings: Iterable[Opening]) -> list[tuple[str, bytes]]:
        """(commitment, ciphertext) of each opening, once per commitment, in order; nothing stored.
        CPU only, no database: a process of the service may seal while another stores."""
        unique: dict[str, Opening] = {}
        for opening in openings:
            if not isinstance(opening, Opening):
                raise TypeError(f"the sealed store takes Opening values, found {type(opening).__name__}")
            unique.setdefault(opening.commitment, opening)
        return list(zip(unique, self._box.seal_each(list(unique.values())), strict=True))

    def put_sealed(self, rows: Sequence[tuple[str, bytes]]) -> None:
        """Store rows :meth:`seal_many` (of a store with the same sealed key) returned, in one
        transaction; a commitment already stored is left as it is."""
        for commitment, ciphertext in rows:
            check_commitment_hex(commitment)
            if not isinstance(ciphertext, bytes):
                raise TypeError(f"a sealed row's ciphertext is bytes, found {type(ciphertext).__name__}")
        now = format_time(utc_now())
        self._insert_rows(self.openings, ("commitment", "ciphertext", "stored_at"),
                          [(c, ct, now) for c, ct in rows], WRITE_BATCH)

    def _insert_rows(self, table: sa.Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]],
                     batch: int) -> None:
        """Insert ``rows`` (values of ``columns``; the first is the key) in one transaction, ``batch``
        rows per executemany, leaving a key already stored as it is. The driver's executemany
        straight: SQLAlchemy's per-row parameter handling cost more than the encryption for a bulk
        request's millions of openings; same statement as _insert_ignoring_duplicates."""
        mark = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        name = self.engine.dialect.identifier_preparer.format_table(table)
        sql = (f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))}) "  # noqa: S608
               f"ON CONFLICT ({columns[0]}) DO NOTHING")
        with _database_errors(), self.engine.begin() as conn:
            for part in _chunks(rows, batch):
                conn.exec_driver_sql(sql, part)

    def seal_group(self, group: str, openings: Sequence[Opening]) -> SealedGroup:
        """The openings of one group (a bulk chunk's: ``group`` is the chunk statement's id) sealed
        as one row; nothing stored. CPU only, like :meth:`seal_many`."""
        if not isinstance(group, str) or not 0 < len(group) <= 200:
            raise SealedStoreError("a group's name is a string of 1 to 200 characters")
        unique = list({o.commitment: o for o in openings}.values())
        return SealedGroup(group, self._box.seal_group(group, unique), len(unique))

    def put_groups(self, groups: Sequence[SealedGroup]) -> None:
        """Store sealed groups in one transaction; a group already stored is left as it is."""
        now = format_time(utc_now())
        self._insert_rows(self.groups, ("grp", "ciphertext", "openings", "stored_at"),
                          [(g.group, g.ciphertext, g.openings, now) for g in groups], READ_BATCH)

    def groups_present(self, groups: Iterable[str]) -> set[str]:
        """Which of ``groups`` are stored."""
        wanted = list(dict.fromkeys(groups))
        found: set[str] = set()
        with _database_errors(), self.engine.connect() as conn:
            for batch in _chunks(wanted, READ_BATCH):
                query = sa.select(self.groups.c.grp).where(self.groups.c.grp.in_(batch))
                found.update(str(r[0]) for r in conn.execute(query))
        return found

    def delete_groups(self, groups: Iterable[str]) -> int:
        """Delete whole groups (a submission that stored nothing takes its groups back)."""
        targets = list(dict.fromkeys(groups))
        deleted = 0
        with _database_errors(), self.engine.begin() as conn:
            for batch in _chunks(targets, READ_BATCH):
                deleted += conn.execute(sa.delete(self.groups).where(self.groups.c.grp.in_(batch))).rowcount
        return deleted

    def _opened_groups(self, conn: sa.Connection, groups: Iterable[str],
                       fields: Collection[str] | None = None) -> Iterator[tuple[str, list[Opening]]]:
        """(group, its openings) for each stored group among ``groups``, decrypted and checked
        (with ``fields``: only the openings of those fields)."""
        for batch in _chunks(list(dict.fromkeys(groups)), GROUP_READ_BATCH):
            query = sa.select(self.groups.c.grp, self.groups.c.ciphertext).where(self.groups.c.grp.in_(batch))
            for group, ciphertext in conn.execute(query).all():
                yield str(group), self._box.unseal_group(str(group), bytes(ciphertext), fields)

    def get(self, commitment: str) -> Opening:
        """The opening of ``commitment``, decrypted and checked against it.

        Raises OpeningNotFound, SealedDecryptionError (wrong key, altered bytes) or
        OpeningMismatch (a ciphertext that belongs to another row).
        """
        check_commitment_hex(commitment)
        query = sa.select(self.openings.c.ciphertext).where(self.openings.c.commitment == commitment)
        with _database_errors(), self.engine.connect() as conn:
            ciphertext = conn.execute(query).scalar_one_or_none()
        if ciphertext is None:
            raise OpeningNotFound(commitment)
        return self._box.unseal(commitment, ciphertext)

    def present(self, commitments: Iterable[str]) -> set[str]:
        """Which of ``commitments`` have a stored opening (nothing decrypted)."""
        wanted = list(dict.fromkeys(check_commitment_hex(c) for c in commitments))
        found: set[str] = set()
        with _database_errors(), self.engine.connect() as conn:
            for batch in _chunks(wanted, READ_BATCH):
                found.update(row[0] for row in conn.exec_driver_sql(self._select_in("commitment", len(batch)),
                                                                    tuple(batch)))
        return found

    def _select_in(self, columns: str, n: int) -> str:
        """SELECT columns FROM the openings table WHERE commitment IN (n driver placeholders)."""
        mark = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        table = self.engine.dialect.identifier_preparer.format_table(self.openings)
        return f"SELECT {columns} FROM {table} WHERE commitment IN ({','.join([mark] * n)})"  # noqa: S608

    def group_openings(self, groups: Iterable[str]) -> dict[str, dict[str, Opening]]:
        """Every opening of each stored group among ``groups``, by group then commitment."""
        with _database_errors(), self.engine.connect() as conn:
            return {group: {o.commitment: o for o in held} for group, held in self._opened_groups(conn, groups)}

    def get_many(self, commitments: Iterable[str], groups: Iterable[str] = (),
                 fields: Collection[str] | None = None) -> dict[str, Opening]:
        """Openings by commitment, each checked as in :meth:`get`; absent commitments
        (never stored, or erased) are simply missing from the result. ``groups``: groups that may
        hold some of them (a bulk chunk's openings are stored as its group: name the chunks);
        ``fields``: the fields of the wanted commitments, when the caller knows them — a group's
        openings of other fields are then not rebuilt."""
        wanted = list(dict.fromkeys(check_commitment_hex(c) for c in commitments))
        found: dict[str, Opening] = {}
        unseal = self._box.unseal
        with _database_errors(), self.engine.connect() as conn:
            targets = set(wanted)
            for _, held in self._opened_groups(conn, groups, fields):
                found.update((o.commitment, o) for o in held if o.commitment in targets)
            rest = [c for c in wanted if c not in found]
            for batch in _chunks(rest, READ_BATCH):
                sql = self._select_in("commitment, ciphertext", len(batch))
                for commitment, ciphertext in conn.exec_driver_sql(sql, tuple(batch)):
                    found[commitment] = unseal(commitment, ciphertext)
        return {c: found[c] for c in wanted if c in found}

    def erase(self, commitments: Iterable[str], groups: Iterable[str] = ()) -> int:
        """Delete the openings of ``commitments`` in one transaction; return how many were stored.
        ``groups``: the groups that may hold some of them (each is decrypted, the erased openings
        dropped, and sealed again under a new nonce, or deleted when none is left).

        Meant to carry out a signed `erasure` statement: the commitments in the log stay.
        """
        targets = list(dict.fromkeys(check_commitment_hex(c) for c in commitments))
        erased = 0
        with _database_errors(), self.engine.begin() as conn:
            for batch in _chunks(targets, READ_BATCH):
                result = conn.execute(sa.delete(self.openings).where(self.openings.c.commitment.in_(batch)))
                erased += result.rowcount
            drop = set(targets)
            for group, held in list(self._opened_groups(conn, groups)):
                kept = [o for o in held if o.commitment not in drop]
                if len(kept) == len(held):
                    continue
                erased += len(held) - len(kept)
                where = self.groups.c.grp == group
                if kept:
                    conn.execute(sa.update(self.groups).where(where).values(
                        ciphertext=self._box.seal_group(group, kept), openings=len(kept)))
                else:
                    conn.execute(sa.delete(self.groups).where(where))
        return erased

    def count(self) -> int:
        """How many openings are stored (one by one, and in groups)."""
        with _database_errors(), self.engine.connect() as conn:
            single = int(conn.execute(sa.select(sa.func.count()).select_from(self.openings)).scalar_one())
            grouped = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(self.groups.c.openings), 0))).scalar_one()
            return single + int(grouped)


@dataclass(frozen=True)
class SealedGroup:
    """A group of openings sealed as one row (:meth:`SealedStore.seal_group`); no opening in clear."""

    group: str
    ciphertext: bytes
    openings: int
