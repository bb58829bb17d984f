"""Authority over records, through the HTTP API: an erasure touches only its own request's records,
and only the issuing court lifts its order (a rule refusal is 422 naming the rule, stored as `blocked`)."""

from __future__ import annotations

from ledger.authoring import disclosure as dc
from ledger.authoring.trust import signed
from ledger.sealed import SealedStore


def _post(api, sub_or_note):
    payload = api.submission(sub_or_note) if isinstance(sub_or_note, dc.Submission) else {"statement": sub_or_note}
    return api.client.post("/v1/statements", json=payload)


def _filed(api, tin: str) -> dc.Submission:
    sub = api.request(tin=tin)
    r = _post(api, sub)
    assert r.status_code == 201, r.text
    return sub


def _court(api, name: str, court: str):
    return api.domain.principal(name, ["court"], court=court)


def _order(api, judge, kind: str, court: str, covers: dict, forbids=("release",)) -> dc.Submission:
    sub = dc.court_order(judge, kind=kind, court=court, docket="1:26-cv-00001 (fictional)", covers=covers,
                         forbids=list(forbids), seed=api.seed(judge, "court_order"))
    r = _post(api, sub)
    assert r.status_code == 201, r.text
    return sub


def test_erasure_naming_another_request_cannot_erase_a_held_requests_openings(api):
    """An erasure naming an unheld request but listing a held request's commitments is refused, naming
    both the ownership rule and the hold on the request that owns them; every opening stays."""
    held, other = _filed(api, "900-70-0001"), _filed(api, "900-70-0002")
    judge = _court(api, "uscourts.gov/dcd/judge-1", "D.D.C.")
    _order(api, judge, "legal_hold", "D.D.C.", {"requests": [held.statement_id]}, forbids=["use"])
    second = api.domain.principal("ledger.test.example/admin-2", ["administrator"])
    listed = [o.commitment for o in held.openings]
    body = {"request": other.statement_id, "commitments": listed, "reason": "retention_expired"}
    r = _post(api, signed([api.domain.admin, second], "erasure", body))
    assert r.status_code == 422, r.text
    assert {"erasure.not_owned", "hold.erasure"} <= set(r.json()["rules"])
    with SealedStore(api.ledger.settings.db_url, api.keys) as store:
        assert store.present(listed) == set(listed)
    # the request's own records, unheld, are erased by two administrators
    own = [o.commitment for o in other.openings]
    body = {"request": other.statement_id, "commitments": own, "reason": "retention_expired"}
    r = _post(api, signed([api.domain.admin, second], "erasure", body))
    assert r.status_code == 201, r.text
    with SealedStore(api.ledger.settings.db_url, api.keys) as store:
        assert store.present(own) == set() and store.present(listed) == set(listed)


def test_only_the_issuing_court_vacates_its_order(api):
    """A judge of another court cannot vacate a D. Mass. injunction (422 vacatur.court); a judge of the
    issuing court can."""
    held = _filed(api, "900-70-0003")
    mass = _court(api, "uscourts.gov/mad/judge-a", "D. Mass.")
    order = _order(api, mass, "injunction", "D. Mass.", {"requests": [held.statement_id]})
    texas = _court(api, "uscourts.gov/txs/judge-b", "S.D. Tex.")
    r = _post(api, dc.vacatur(texas, order.statement_id))
    assert r.status_code == 422, r.text
    assert r.json()["rules"] == ["vacatur.court"]
    assert api.ledger.rules.state.orders[order.statement_id].vacated_at is None
    colleague = _court(api, "uscourts.gov/mad/judge-c", "D. Mass.")
    r = _post(api, dc.vacatur(colleague, order.statement_id))
    assert r.status_code == 201, r.text
