"""Helpers for projection tests: a runner over a ledger's database, a second views database
for from-scratch rebuilds, the demo scenario through the disclosure service, and a dump of
every view table for row-for-row comparison."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from storefix import drop_schema, postgres_base_url

from demo import scenario
from ledger.bootstrap import open_ledger
from ledger.client.keyring import Keyring
from ledger.config import Settings
from ledger.sealed import SealedKeys, SealedStore
from projections.db import Database, open_database
from projections.runner import Runner
from projections.source import LogSource
from projections.tables import view_tables


def runner(ledger_url: str, views_url: str | None = None, page: int = 500) -> Runner:
    src = open_database(ledger_url)
    views = src if views_url is None else open_database(views_url)
    return Runner(LogSource(src), views, page=page)


def other_views_url(ledger_url: str, tmp: Path) -> tuple[str, Any]:
    """A fresh, separate views database on the same backend; returns (url, cleanup)."""
    if ledger_url.startswith("sqlite"):
        return f"sqlite:///{tmp}/views-{uuid.uuid4().hex[:8]}.sqlite3", lambda: None
    base = postgres_base_url()
    schema = "v_" + uuid.uuid4().hex[:16]
    with sa.create_engine(base.replace("postgresql://", "postgresql+psycopg://")).begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    return f"{base}?schema={schema}", lambda: drop_schema(base, schema)


def dump(views: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every view table (not the tracking table's times), sorted."""
    t = view_tables(views.schema)
    out: dict[str, list[tuple[Any, ...]]] = {}
    with views.engine.connect() as conn:
        for table in t.metadata.sorted_tables:
            if table.name == "pj_tracking":
                rows = conn.execute(sa.select(table.c.name, table.c.position)).all()
            else:
                rows = conn.execute(sa.select(table)).all()
            out[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return out


def load_demo(settings: Settings, tmp: Path) -> tuple[Any, SealedKeys, scenario.ScenarioReport]:
    """The `make run` scenario through the disclosure service (pseudonyms stored at ingest)."""
    ledger = open_ledger(settings)
    secrets = SealedKeys.generate(tmp / "sealed-keys")
    sealed = SealedStore(settings.db_url, secrets)
    report = scenario.load(ledger, sealed, secrets, Keyring(tmp / "keyring"))
    ledger.checkpoint(force=True)
    sealed.close()
    return ledger, secrets, report
