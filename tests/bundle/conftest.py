"""One bulk scenario per backend (built once per module: it takes a few seconds), and its bundle."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bundlefix import Scenario, build_scenario
from storefix import drop_schema, make_settings, postgres_base_url


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def scenario(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    tmp = tmp_path_factory.mktemp("bundle-ledger")
    base = schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp}/ledger.sqlite3"
    else:
        base = postgres_base_url()
        schema = "t_" + uuid.uuid4().hex[:16]
        url = f"{base}?schema={schema}"
    sc = build_scenario(make_settings(url, tmp))
    yield sc
    sc.close()
    if base is not None and schema is not None:
        drop_schema(base, schema)


@pytest.fixture(scope="module")
def bundle_dir(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The request's bundle with openings and the proofs of lines 3 and 200 (written once, never edited)."""
    out = tmp_path_factory.mktemp("bundle") / "b"
    scenario.bundle(out)
    return out


@pytest.fixture
def copy(bundle_dir: Path, tmp_path: Path) -> Any:
    """A fresh copy of the bundle to tamper with."""
    import shutil

    def make() -> Path:
        out = tmp_path / "copy"
        shutil.copytree(bundle_dir, out)
        return out

    return make
