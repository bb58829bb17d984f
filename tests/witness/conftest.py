"""Witness fixtures: a database URL per backend (SQLite file; PostgreSQL schema of its own, dropped after)."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/witness.sqlite3"
        return
    from storefix import drop_schema, postgres_base_url

    base = postgres_base_url()
    schema = "t_witness_" + uuid.uuid4().hex[:12]
    try:
        yield f"{base}?schema={schema}"
    finally:
        drop_schema(base, schema)
