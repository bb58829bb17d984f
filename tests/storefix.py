"""Backends and a small populated ledger for store tests (real SQLite, real PostgreSQL).

PostgreSQL tests run against LEDGER_TEST_POSTGRES_URL (CI sets it: they never skip then),
else against postgresql://postgres@127.0.0.1:5432/test when it answers, else they skip
with the reason. Each test gets its own schema, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ledger.authoring.trust import key_registration, signed
from ledger.config import Settings
from ledger.core.keys import SignerKey
from ledger.policy import DEFAULT_POLICY
from ledger.store.ledger import Ledger

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
ORIGIN = "ledger.test.example/disclosures"


def postgres_base_url() -> str:
    """The PostgreSQL URL to test against, or skip (fail under CI) with the reason."""
    url = os.environ.get("LEDGER_TEST_POSTGRES_URL")
    required = bool(url)
    url = url or DEFAULT_PG
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3):
            pass
    except Exception as e:  # pragma: no cover - depends on the machine
        if required:
            pytest.fail(f"LEDGER_TEST_POSTGRES_URL={url} is set but PostgreSQL is unreachable: {e}")
        pytest.skip(f"PostgreSQL not reachable at {url} ({e}); set LEDGER_TEST_POSTGRES_URL to require it")
    return url


def drop_schema(url: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@dataclass
class World:
    """A ledger with an administrator and three registered principals."""

    ledger: Ledger
    settings: Settings
    admin: SignerKey
    requester: SignerKey
    reviewer: SignerKey
    releaser: SignerKey
    extra: dict[str, SignerKey] = field(default_factory=dict)

    def statement(self, signer: SignerKey | None = None, type_: str = "request", **body: Any) -> str:
        return signed([signer or self.requester], type_, body or {"n": 1})

    def register(self, name: str, roles: list[str]) -> SignerKey:
        key = SignerKey.generate(name)
        self.ledger.append(key_registration(self.admin, key, roles))
        self.extra[name] = key
        return key

    def with_rules(self, rules: Any) -> None:
        """Reopen the ledger with ``rules`` (a rules engine, or a function of (stmt, index, trust, db)
        returning rule ids), given at construction as the service gives its engine."""
        self.ledger.close()
        self.ledger = Ledger(self.settings, rules)

    def export_bytes(self) -> bytes:
        import io

        buf = io.BytesIO()
        self.ledger.export(buf)
        return buf.getvalue()

    def row_counts(self) -> dict[str, int]:
        tables = ["dl_entries", "dl_refused"]
        with self.ledger.store.reading() as db:
            return {t: int(db.all(f"SELECT COUNT(*) FROM {db.t(t)}")[0][0]) for t in tables}


def make_settings(url: str, tmp: Path) -> Settings:
    return Settings(url, tmp / "service-keys", tmp / "service-keys" / "last-checkpoint.txt")


def build_world(settings: Settings) -> World:
    ledger = Ledger(settings)
    admin = SignerKey.generate(ORIGIN + "/admin")
    ledger.initialise(ORIGIN, str(admin.verifier), DEFAULT_POLICY)
    keys = {
        "requester": SignerKey.generate("ice.dhs.gov/director"),
        "reviewer": SignerKey.generate("irs.gov/disclosure/officer-0042"),
        "releaser": SignerKey.generate("irs.gov/disclosure/release-0007"),
    }
    for role, key in keys.items():
        ledger.append(key_registration(admin, key, [role]))
    return World(ledger, settings, admin, **keys)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """A fresh database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/ledger.sqlite3"
        return
    base = postgres_base_url()
    schema = "t_" + uuid.uuid4().hex[:16]
    yield f"{base}?schema={schema}"
    drop_schema(base, schema)


@pytest.fixture
def settings(backend_url: str, tmp_path: Path) -> Settings:
    return make_settings(backend_url, tmp_path)


@pytest.fixture
def world(settings: Settings) -> Any:
    w = build_world(settings)
    yield w
    w.ledger.close()
