"""Databases: the ledger's (read only: dl_entries, dl_pseudonyms, dl_checkpoints) and the views'.

The views live in SQL tables prefixed ``pj_``, in the ledger's database by default or in
another one (``--views-db``), on SQLite or PostgreSQL, through SQLAlchemy Core 2.0. URLs are
the ledger's (``sqlite:///path``, ``postgresql://…?schema=NAME``), translated as the sealed
store translates them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from ledger.sealed.errors import SealedStoreError
from ledger.sealed.store import sealed_database
from projections.errors import ProjectionDatabaseError, ProjectionError


@dataclass(frozen=True)
class Database:
    """An engine and the schema (PostgreSQL) its tables live in."""

    engine: sa.Engine
    schema: str | None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def close(self) -> None:
        self.engine.dispose()


def open_database(db_url: str) -> Database:
    """An engine for a ledger-style URL; nothing connects until first use."""
    try:
        where = sealed_database(db_url)
    except SealedStoreError as e:
        raise ProjectionError(str(e)) from None
    is_sqlite = where.url.get_backend_name() == "sqlite"
    engine = sa.create_engine(
        where.url,
        hide_parameters=True,  # no bound value (pseudonym, commitment) in an error message
        pool_pre_ping=not is_sqlite,
        connect_args={"timeout": 30} if is_sqlite else {},
    )
    return Database(engine, where.schema)


@contextmanager
def database_errors() -> Iterator[None]:
    """Re-raise SQLAlchemy's errors as ours (values are hidden by ``hide_parameters``)."""
    try:
        yield
    except SQLAlchemyError as e:
        raise ProjectionDatabaseError(f"projection database error: {e}") from e
