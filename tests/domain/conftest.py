"""A domain ledger (rules engine on) over each backend."""

from __future__ import annotations

import pytest
from domainfix import open_domain


@pytest.fixture
def domain_any(settings):
    d = open_domain(settings)
    yield d
    d.ledger.close()


@pytest.fixture
def bulk_world(settings):
    """A domain ledger, its disclosure service (sealed store, fresh keys) and the bulk story's principals."""
    from demo import bulk_story
    from ledger.domain.service import DisclosureService
    from ledger.sealed import SealedKeys, SealedStore

    d = open_domain(settings)
    keys = SealedKeys.random()
    service = DisclosureService(d.ledger, SealedStore(settings.db_url, keys), keys)
    yield d, service, bulk_story.register(service, d.admin)
    d.ledger.close()
