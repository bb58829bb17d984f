"""Salt seeds at rest: the seeds the ledger issued and not yet used up, sealed under the sealed key.

One row per issued seed, in the sealed store's database (so a backup holds them and the escrow of
the sealed key opens them)::

    sealed_salt_seeds(statement_id TEXT PRIMARY KEY, principal TEXT NOT NULL, statement_type TEXT NOT NULL,
                      ciphertext BLOB/BYTEA NOT NULL, issued_at TEXT NOT NULL, expires_at TEXT NOT NULL)

``ciphertext`` is ``nonce || XSalsa20-Poly1305(sealed key, JCS({"principal", "seed", "statement_id",
"statement_type"}))``: the row's names are inside, so a ciphertext moved to another row is refused.
A row is deleted when its statement is complete in the log (the seed is then used up: the id is
taken) and, once expired, at the next issue.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import nacl.exceptions
import nacl.secret
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from ledger.core.b64 import b64decode, b64encode
from ledger.core.canonical import canonical_bytes
from ledger.salts import SaltSeed
from ledger.sealed.errors import SealedDecryptionError, SealedStoreError
from ledger.sealed.store import READ_BATCH, SealedStore

_SEED = "salt seed for statement"  # how SealedDecryptionError names the row


@contextmanager
def _database_errors() -> Iterator[None]:
    try:
        yield
    except SQLAlchemyError as e:
        raise SealedStoreError(f"salt seeds: database error {type(e).__name__}") from e


class SeedStore:
    """The seeds table (``SEEDS_TABLE``, created with the sealed store's), through its engine and key."""

    def __init__(self, sealed: SealedStore) -> None:
        self.engine = sealed.engine
        self._box = nacl.secret.SecretBox(sealed.keys.sealed_key)
        self._is_sqlite = self.engine.dialect.name == "sqlite"
        self.table = sealed.seeds_table

    def _seal(self, seed: SaltSeed) -> bytes:
        document = canonical_bytes({"principal": seed.principal, "seed": b64encode(seed.seed),
                                    "statement_id": seed.statement_id, "statement_type": seed.statement_type})
        return bytes(self._box.encrypt(document))

    def _open(self, statement_id: str, principal: str, statement_type: str, ciphertext: bytes,
              expires_at: str) -> SaltSeed:
        try:
            document = json.loads(self._box.decrypt(bytes(ciphertext)))
        except nacl.exceptions.CryptoError:
            raise SealedDecryptionError(statement_id, "wrong sealed key, or the ciphertext was altered", _SEED) \
                from None
        names = {"principal": principal, "statement_id": statement_id, "statement_type": statement_type}
        if not isinstance(document, dict) or any(document.get(k) != v for k, v in names.items()):
            raise SealedDecryptionError(statement_id, "the ciphertext belongs to another row", _SEED)
        return SaltSeed(statement_id, statement_type, principal, b64decode(document["seed"], length=32), expires_at)

    def put(self, seed: SaltSeed, issued_at: str) -> bool:
        """Store an issued seed; False (and nothing changed) if its statement id already has one."""
        insert = (sqlite.insert if self._is_sqlite else postgresql.insert)(self.table)
        row = {"statement_id": seed.statement_id, "principal": seed.principal, "statement_type": seed.statement_type,
               "ciphertext": self._seal(seed), "issued_at": issued_at, "expires_at": seed.expires_at}
        with _database_errors(), self.engine.begin() as conn:
            done = conn.execute(insert.values(**row).on_conflict_do_nothing(index_elements=["statement_id"]))
        return bool(done.rowcount)

    def get_many(self, statement_ids: Iterable[str]) -> dict[str, SaltSeed]:
        """The stored seeds of these statement ids (expired ones too: ``expires_at`` says), opened."""
        wanted = list(dict.fromkeys(statement_ids))
        t = self.table
        found: dict[str, SaltSeed] = {}
        with _database_errors(), self.engine.connect() as conn:
            for start in range(0, len(wanted), READ_BATCH):
                query = sa.select(t.c.statement_id, t.c.principal, t.c.statement_type, t.c.ciphertext,
                                  t.c.expires_at).where(t.c.statement_id.in_(wanted[start:start + READ_BATCH]))
                for sid, principal, stype, ciphertext, expires_at in conn.execute(query):
                    found[sid] = self._open(sid, principal, stype, ciphertext, expires_at)
        return found

    def delete(self, statement_ids: Iterable[str]) -> int:
        """Delete the seeds of these statement ids (used up); how many there were."""
        targets = list(dict.fromkeys(statement_ids))
        deleted = 0
        with _database_errors(), self.engine.begin() as conn:
            for start in range(0, len(targets), READ_BATCH):
                part = targets[start:start + READ_BATCH]
                deleted += conn.execute(sa.delete(self.table).where(self.table.c.statement_id.in_(part))).rowcount
        return deleted

    def sweep(self, now: str) -> int:
        """Delete every seed that expired before ``now``."""
        with _database_errors(), self.engine.begin() as conn:
            return int(conn.execute(sa.delete(self.table).where(self.table.c.expires_at < now)).rowcount)

    def open_count(self, principal: str, now: str) -> int:
        """How many unexpired seeds ``principal`` holds."""
        t = self.table
        with _database_errors(), self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(t).where(
                t.c.principal == principal, t.c.expires_at >= now)).scalar_one())

    def count(self) -> int:
        with _database_errors(), self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(self.table)).scalar_one())
