"""Schemathesis against the app's own OpenAPI schema: no 5xx, responses conform (kept small for CI)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import schemathesis
from apifix import AGENCY, Api, fast, make_tokens
from domainfix import open_domain
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from storefix import make_settings

from api.app import create_app
from api.settings import ApiSettings
from ledger.sealed import SealedKeys

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

# The schema is read from the app itself; the app connects to nothing until its lifespan starts.
TMP = Path(tempfile.mkdtemp(prefix="dl-api-schema-"))
SETTINGS = fast(make_settings(f"sqlite:///{TMP}/ledger.sqlite3", TMP))
KEYS = SealedKeys.random()
APP = create_app(ApiSettings(SETTINGS, background_checkpoints=False), KEYS, views_interval=None)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module")
def running():
    domain = open_domain(SETTINGS)
    requester = domain.principal("ice.dhs.gov/director", ["requester"], agency=AGENCY, category="agency_head")
    domain.ledger.close()
    client = TestClient(APP)
    client.__enter__()
    a = Api(client, domain, KEYS, make_tokens(SETTINGS), requester)
    a.domain.ledger = APP.state.dl.ledger
    for i in range(3):
        assert client.post("/v1/statements", json=a.submission(a.request(tin=f"900-70-{i:04d}"))).status_code == 201
    a.ledger.checkpoint()
    APP.state.dl.reads.views.runner.catch_up()  # the views hold the statements above
    yield a
    client.__exit__(None, None, None)
    shutil.rmtree(TMP, ignore_errors=True)


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_openapi_conformance(case, running):
    """Every operation, generated inputs, as a court, an operator and nobody: no 5xx, documented statuses and bodies."""
    for who in ("court", "operator", None):
        case.call_and_validate(headers=running.auth(who), checks=CHECKS)
