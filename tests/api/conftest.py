"""API fixtures: the app over a real ledger on each backend (SQLite, PostgreSQL)."""

from __future__ import annotations

import pytest
from apifix import open_api


@pytest.fixture
def api(settings):
    a, close = open_api(settings)
    yield a
    close()
