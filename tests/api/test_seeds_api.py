"""Salts the ledger vouches for, through the HTTP API (FORMAT § 13.1), on SQLite and PostgreSQL: the seed
endpoint and its refusals; zero, constant and value-derived salts refused inline and in a bulk batch; the
same TIN in two requests gives unrelated commitments."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pytest
from domainfix import AGENCY, CRIMINAL

from ledger.authoring import disclosure as dc
from ledger.core.commitments import Opening, commit
from ledger.core.keys import SignerKey
from ledger.core.statement import parse_statement
from ledger.domain.bulk import bulk_request
from ledger.salts import SaltSeed, open_seed_answer, seed_request

TIN = "900-70-0001"


def _post_seed(api: Any, signer: SignerKey, statement_id: str | None = None, type_: str = "request",
               origin: str | None = None) -> Any:
    note = seed_request(signer, origin or api.ledger.origin, type_, statement_id or str(uuid.uuid4()))
    return api.client.post("/v1/salt-seeds", json={"request": note})


def _request(signer: SignerKey, seed: SaltSeed) -> dc.Submission:
    return dc.request(signer, exception="6103(i)(2)", agency=AGENCY, statute=CRIMINAL,
                      purpose="criminal_investigation", purpose_text="fictional", fields=["name", "address"],
                      recipients=[dc.Recipient("Agent A", AGENCY, True, True, 2)],
                      lines=[dc.Line(TIN, "Fictional One", "1 Elm St, Boston, MA 02110", ("2024",), "case"),
                             dc.Line(TIN, "Fictional One", "1 Elm St, Boston, MA 02110", ("2024",), "case")],
                      case_ids=["FICT-1"], seed=seed)


class Chosen(SaltSeed):
    """An issued seed whose salts the submitter chose instead (zero, constant, from the value)."""

    def commit(self, field_: str, value: Any, line: int | None = None, position: int = 0) -> Opening:
        return commit(field_, value, CHOOSERS[self.expires_at.split("|")[1]](value))


CHOOSERS = {"zero": lambda v: bytes(16), "constant": lambda v: b"constant-salt-16",
            "from-value": lambda v: hashlib.sha256(repr(v).encode()).digest()[:16]}


def _chosen(seed: SaltSeed, how: str) -> Chosen:
    return Chosen(seed.statement_id, seed.statement_type, seed.principal, seed.seed, f"{seed.expires_at}|{how}")


@pytest.mark.parametrize("how", list(CHOOSERS))
def test_chosen_salts_are_refused_over_http(api, how):
    """Zero, constant (in two requests) and value-derived salts: 400 salts.derivation, nothing stored; the
    honest statement with the same id then lands."""
    seed = open_seed_answer(api.requester, _post_seed(api, api.requester).json())
    counts = api.row_counts()
    for _ in range(2):
        r = api.client.post("/v1/statements", json=api.submission(_request(api.requester, _chosen(seed, how))))
        assert r.status_code == 400 and r.json()["rule"] == "salts.derivation", r.text
        assert TIN not in r.text and api.row_counts() == counts
    r = api.client.post("/v1/statements", json=api.submission(_request(api.requester, seed)))
    assert r.status_code == 201 and r.json()["statement_id"] == seed.statement_id


def test_same_tin_two_requests_unrelated_commitments_over_http(api):
    subs = [_request(api.requester, api.seed(api.requester)) for _ in range(2)]
    for sub in subs:
        assert api.client.post("/v1/statements", json=api.submission(sub)).status_code == 201
    tins = [line["tin"] for sub in subs for line in parse_statement(sub.note).body["lines"]]
    assert len(set(tins)) == 4  # two lines in each request, one TIN: four unrelated commitments


def test_bulk_batch_with_a_chosen_salt_is_refused_over_http(api):
    """The bulk path over POST /v1/statements/batch: the honest manifest and chunks land; a chunk whose
    first salt is zero is refused (salts.derivation) and its batch stores nothing."""
    lines = [dc.Line(TIN, f"Fictional {k}", f"{k} Elm St, Boston, MA 02110", ("2024",), "case") for k in range(200)]
    common: dict[str, Any] = dict(exception="6103(i)(2)", agency=AGENCY, statute=CRIMINAL,
                                  purpose="criminal_investigation", purpose_text="p", fields=["name", "address"],
                                  recipients=[dc.Recipient("Agent A", AGENCY)], lines=lines)
    bulk = bulk_request(api.requester, seed=api.seed(api.requester), **common)
    parts = list(bulk.parts())
    first = api.client.post("/v1/statements/batch", json={"statements": [api.submission(p) for p in parts[:2]]})
    assert first.status_code == 201
    body = api.submission(parts[2])
    body["openings"][0]["salt"] = "AAAAAAAAAAAAAAAAAAAAAA=="  # zero: the commitment no longer matches either
    counts = api.row_counts()
    r = api.client.post("/v1/statements/batch", json={"statements": [body]})
    assert r.status_code == 400 and r.json()["rule"].startswith(("openings.", "salts.")) and api.row_counts() == counts
    # a chunk rebuilt with a zero salt, its commitment matching: refused by the derivation check
    items, openings = bulk.source(1)
    bad = commit(openings[0].field, openings[0].value, bytes(16))
    items = [dict(it) for it in items]
    items[0][bad.field] = bad.commitment
    forged = type(bulk)(bulk.manifest, bulk.signers, bulk.kind, bulk.line_count,
                        lambda c: (items, [bad, *openings[1:]]), bulk.issued_at).chunk(1)
    r = api.client.post("/v1/statements/batch", json={"statements": [api.submission(forged)]})
    assert r.status_code == 400 and r.json()["rule"] == "salts.derivation" and api.row_counts() == counts
    r = api.client.post("/v1/statements/batch", json={"statements": [api.submission(parts[2])]})
    assert r.status_code == 201


def test_seed_endpoint_refusals(api):
    """What POST /v1/salt-seeds refuses, with which status and rule; a sealed seed opens with its key only."""
    impostor = SignerKey.generate(api.requester.name)
    r = _post_seed(api, impostor)
    assert r.status_code == 403 and r.json()["rule"] == "salts.signature"
    assert _post_seed(api, SignerKey.generate("nobody.example/x")).json()["rule"] == "salts.unknown_key"
    assert _post_seed(api, api.requester, type_="court_order").json()["rule"] == "salts.role"
    r = _post_seed(api, api.requester, origin="another.example/ledger")
    assert r.status_code == 400 and r.json()["rule"] == "salts.origin"
    r = api.client.post("/v1/salt-seeds", json={"request": "not a note"})
    assert r.status_code == 400 and r.json()["rule"] == "salts.request"
    answer = _post_seed(api, api.requester, "my-request-1")
    assert answer.status_code == 201
    again = _post_seed(api, api.requester, "my-request-1")
    assert open_seed_answer(api.requester, again.json()).seed == open_seed_answer(api.requester, answer.json()).seed
    with pytest.raises(Exception):  # noqa: B017 - the seed is sealed to the requester's key
        open_seed_answer(impostor, answer.json())
    sub = _request(api.requester, open_seed_answer(api.requester, answer.json()))
    assert api.client.post("/v1/statements", json=api.submission(sub)).status_code == 201
    r = _post_seed(api, api.requester, "my-request-1")
    assert r.status_code == 409 and r.json()["rule"] == "salts.id_used"
