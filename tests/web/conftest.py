"""Dashboard fixtures: the demo served on a free port (one per test module)."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from webfix import start_demo


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_demo(request, tmp_path_factory):
    """The demo on SQLite, then on PostgreSQL (a schema of its own, dropped afterwards)."""
    if request.param == "sqlite":
        d, close = start_demo(tmp_path_factory.mktemp("web"))
        yield d
        close()
        return
    from storefix import drop_schema, postgres_base_url

    base = postgres_base_url()
    schema = "t_web_" + uuid.uuid4().hex[:12]
    try:
        d, close = start_demo(tmp_path_factory.mktemp("web-pg"), f"{base}?schema={schema}")
        try:
            yield d
        finally:
            close()
    finally:
        drop_schema(base, schema)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d, close = start_demo(tmp_path_factory.mktemp("web"))
    yield d
    close()
