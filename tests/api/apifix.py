"""A running API over a real ledger (SQLite or PostgreSQL), with principals and a token per role."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from domainfix import AGENCY, CRIMINAL, Domain, http_seed, one_line_request, open_domain
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from api.tokens import TokenStore
from ledger.authoring import disclosure as dc
from ledger.config import Settings
from ledger.core.keys import SignerKey
from ledger.salts import SaltSeed
from ledger.sealed import SealedKeys

ROLE_NAMES = ("oversight", "court", "operator")


@dataclass
class Api:
    client: TestClient
    domain: Domain
    keys: SealedKeys
    tokens: dict[str, str]  # role or "expired"/"revoked" -> bearer token
    requester: SignerKey

    @property
    def ledger(self) -> Any:
        return self.domain.ledger

    def auth(self, who: str | None) -> dict[str, str]:
        return {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}

    def submission(self, sub: dc.Submission) -> dict[str, Any]:
        return {"statement": sub.note, "openings": [o.to_json() for o in sub.openings]}

    def request(self, statute: str = CRIMINAL, tin: str = "900-70-0001",
                signer: SignerKey | None = None) -> dc.Submission:
        """A one-line (i)(2) request, its salt seed asked over HTTP first (none for a key the ledger
        refuses a seed: that statement is then refused for its signature); with a civil statute the
        rules refuse it (blocked)."""
        signer = signer or self.requester
        return one_line_request(signer, statute, tin, seed=self.seed(signer))

    def seed(self, signer: SignerKey, statement_type: str = "request") -> SaltSeed | None:
        return http_seed(self.client.post, signer, self.ledger.origin, statement_type)

    def row_counts(self) -> dict[str, int]:
        with self.ledger.store.reading() as db:
            return {t: int(db.all(f"SELECT COUNT(*) FROM {db.t(t)}")[0][0])
                    for t in ("dl_entries", "dl_refused")}


def make_tokens(settings: Settings) -> dict[str, str]:
    store = TokenStore(settings.db_url)
    try:
        tokens = {role: store.create(f"test.example/{role}", role, timedelta(hours=1))[0] for role in ROLE_NAMES}
        expired, row = store.create("test.example/expired", "oversight", timedelta(hours=1))
        with store.engine.begin() as conn:
            conn.execute(sa.update(store.table).where(store.table.c.token_id == row.token_id)
                         .values(expires_at="2020-01-01T00:00:00.000000Z"))
        revoked, row = store.create("test.example/revoked", "court", timedelta(hours=1))
        assert store.revoke(row.token_id)
        tokens.update(expired=expired, revoked=revoked)
        return tokens
    finally:
        store.close()


def fast(settings: Settings) -> Settings:
    return dataclasses.replace(settings, checkpoint_interval=0.1)


def open_api(settings: Settings, *, views_interval: float | None = None, agencies: tuple[str, ...] | None = None,
             **api_settings: Any) -> tuple[Api, Any]:
    """A started app (TestClient entered); returns the Api and a closer. The projections follow the
    log only when a read needs it (``views_interval=None``: no background thread), unless asked.
    ``agencies``: the agencies whose officials genesis names (an agency-anchored log)."""
    settings = fast(settings)
    domain = open_domain(settings, agencies)
    requester = domain.principal("ice.dhs.gov/director", ["requester"], agency=AGENCY, category="agency_head")
    keys = SealedKeys.random()
    api_settings.setdefault("background_checkpoints", False)
    app = create_app(ApiSettings(settings, **api_settings), keys, ledger=domain.ledger, views_interval=views_interval)
    client = TestClient(app)
    client.__enter__()
    api = Api(client, domain, keys, make_tokens(settings), requester)

    def close() -> None:
        client.__exit__(None, None, None)
        domain.ledger.close()

    return api, close
