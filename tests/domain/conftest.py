"""A domain ledger (rules engine on) over each backend."""

from __future__ import annotations

import pytest
from domainfix import open_domain


@pytest.fixture
def domain_any(settings):
    d = open_domain(settings)
    yield d
    d.ledger.close()
