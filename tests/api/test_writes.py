"""Writes over HTTP: accepted, duplicate, every refusal path (docs/FORMAT.md § 7.8), limits."""

from __future__ import annotations

import json

import pytest
from domainfix import AGENCY, CIVIL, CRIMINAL

from ledger.authoring import disclosure as dc
from ledger.authoring.trust import signed
from ledger.core.keys import SignerKey

PROBLEM = "application/problem+json"


def _problem(r, status: int, kind: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["status"] == status and body["type"].endswith("/" + kind) and body["title"]
    return body


def test_accepted_statement_returns_index_and_leaf_hash(api):
    """A valid request with its openings lands: 201, its index and the leaf hash of the stored entry."""
    before = api.ledger.size()
    r = api.client.post("/v1/statements", json=api.submission(api.request()))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["index"] == before and api.ledger.size() == before + 1 and body["duplicate"] is False
    from ledger.core.merkle import leaf_hash

    assert body["leaf_hash"] == leaf_hash(api.ledger.entry(body["index"])).hex()
    assert body["checkpoint"] is None


def test_exact_resubmission_returns_original_index(api):
    """Resubmitting the same statement: 200, the original index, nothing new stored."""
    payload = api.submission(api.request())
    first = api.client.post("/v1/statements", json=payload).json()
    counts = api.row_counts()
    r = api.client.post("/v1/statements", json=payload)
    assert r.status_code == 200 and r.json()["index"] == first["index"] and r.json()["duplicate"] is True
    assert api.row_counts() == counts


def test_wait_checkpoint_returns_a_checkpoint_covering_the_entry(api):
    """?wait=checkpoint answers with the first signed checkpoint whose tree includes the new entry."""
    from ledger.core.checkpoint import open_checkpoint

    r = api.client.post("/v1/statements?wait=checkpoint", json=api.submission(api.request()))
    assert r.status_code == 201
    cp = open_checkpoint(r.json()["checkpoint"], api.ledger.trust_root()).checkpoint
    assert cp.size > r.json()["index"]


def test_rule_refusal_is_422_with_blocked_index(api):
    """A validly signed request under a civil statute: 422 naming the rule; exactly one blocked entry stored."""
    sub = api.request(statute=CIVIL)
    counts = api.row_counts()
    r = api.client.post("/v1/statements", json=api.submission(sub))
    body = _problem(r, 422, "rule-refusal")
    assert body["rules"] and body["rule"] == body["rules"][0] and body["statement_id"] == sub.statement_id
    assert body["blocked_index"] == counts["dl_entries"]
    assert api.row_counts() == {"dl_entries": counts["dl_entries"] + 1, "dl_refused": counts["dl_refused"] + 1}
    from ledger.core.entry import parse_entry
    from ledger.core.statement import parse_statement

    blocked = parse_statement(parse_entry(api.ledger.entry(body["blocked_index"])).statement)
    assert blocked.type == "blocked" and blocked.body["statement_id"] == sub.statement_id
    # the refused id is refused from then on, storing nothing more
    again = api.client.post("/v1/statements", json=api.submission(sub))
    assert _problem(again, 409, "statement-id-conflict")["rule"] == "ledger.refused_id"
    assert api.row_counts()["dl_entries"] == counts["dl_entries"] + 1


def _nothing_stored(api, payload, status: int, kind: str, rule: str | None = None) -> dict:
    counts = api.row_counts()
    r = api.client.post("/v1/statements", json=payload)
    body = _problem(r, status, kind)
    if rule is not None:
        assert body["rule"] == rule, body
    assert api.row_counts() == counts
    return body


def test_unknown_signer_is_403_and_stores_nothing(api):
    """A statement signed by a key the log does not know: 403 trust refusal, nothing stored."""
    stranger = SignerKey.generate("stranger.example.gov/someone")
    sub = api.request(signer=stranger)
    _nothing_stored(api, api.submission(sub), 403, "statement-not-trusted", "trust.unknown_key")


def test_bad_signature_is_403_and_stores_nothing(api):
    """A signature line from the right name but another key: 403, nothing stored."""
    impostor = SignerKey.generate(api.requester.name)
    sub = api.request(signer=impostor)
    body = _nothing_stored(api, api.submission(sub), 403, "statement-not-trusted")
    assert body["rule"] in ("signature", "trust.unknown_key")


def test_role_not_allowed_is_403(api):
    """A registered requester signing a court order (court role only): 403, nothing stored."""
    sub = dc.court_order(api.requester, kind="injunction", court="D.D.C.", docket="1:25-cv-1",
                         covers={"agencies": ["DHS/ICE"]}, forbids=["release"])
    body = _nothing_stored(api, api.submission(sub), 403, "statement-not-trusted")
    assert body["rule"].startswith("trust.")


@pytest.mark.parametrize("note", ["", "not a note", "x" * 1000 + "\n\n— a b\n"])
def test_unparseable_statement_is_400(api, note):
    """A note that does not parse: 400 statement.shape, nothing stored."""
    _nothing_stored(api, {"statement": note, "openings": []}, 400, "statement-malformed", "statement.shape")


def test_schema_refusal_is_400(api):
    """A request body missing members: 400 statement.schema, nothing stored."""
    note = signed([api.requester], "request", {"exception": "6103(i)(2)"})
    _nothing_stored(api, {"statement": note, "openings": []}, 400, "statement-malformed", "statement.schema")


def test_missing_openings_is_400(api):
    """A request without its openings: 400 openings.missing, nothing stored or sealed."""
    sub = api.request()
    _nothing_stored(api, {"statement": sub.note, "openings": []}, 400, "statement-malformed", "openings.missing")


def test_mismatched_opening_is_400(api):
    """An opening whose value does not match its commitment: 400 openings.*, nothing stored."""
    sub = api.request()
    payload = api.submission(sub)
    payload["openings"][0]["value"] = "something else"
    body = _nothing_stored(api, payload, 400, "statement-malformed")
    assert body["rule"].startswith("openings.")


def test_extra_opening_and_bad_opening_shape_are_400(api):
    """An opening the statement does not commit to, or a malformed salt: 400, nothing stored."""
    sub = api.request()
    payload = api.submission(sub)
    payload["openings"].append(dc.commit("tin", "900700002").to_json())
    _nothing_stored(api, payload, 400, "statement-malformed", "openings.extra")
    payload = api.submission(sub)
    payload["openings"][0]["salt"] = "AAAA"
    _nothing_stored(api, payload, 400, "statement-malformed", "openings.format")


def test_duplicate_id_other_statement_is_409(api):
    """Another statement under a used id: 409 ledger.duplicate_id, nothing stored."""
    new = SignerKey.generate("tigta.gov/fixed")
    body = {"name": new.name, "vkey": str(new.verifier), "roles": ["oversight"], "attributes": {}}
    note = signed([api.domain.admin, new], "key_registration", body, statement_id="fixed-id-1")
    assert api.client.post("/v1/statements", json={"statement": note}).status_code == 201
    other = signed([api.requester], "withdrawal", {"request": "other"}, statement_id="fixed-id-1")
    _nothing_stored(api, {"statement": other, "openings": []}, 409, "statement-id-conflict", "ledger.duplicate_id")


@pytest.mark.parametrize("payload", [
    {}, {"statement": 5}, {"statement": "x", "openings": "no"}, {"statement": "x", "extra": 1},
    {"statement": "x", "openings": [{"field": "tin"}]}, [1, 2],
])
def test_request_schema_violations_are_422_problems(api, payload):
    """Bodies that do not match the request schema: 422 problem, no echo of the input, nothing stored."""
    counts = api.row_counts()
    r = api.client.post("/v1/statements", json=payload)
    body = _problem(r, 422, "invalid-request")
    assert "x" not in body.get("detail", "").split(": ", 1)[-1].split("; ") and api.row_counts() == counts


def test_non_json_body_is_422(api):
    """A body that is not JSON at all: a 400 problem, not a 500."""
    r = api.client.post("/v1/statements", content=b"\xff\xfe{", headers={"content-type": "application/json"})
    _problem(r, 400, "bad-request")


def test_body_over_limit_is_413(settings):
    """A body over the configured limit is refused with a 413 problem before it is parsed."""
    from apifix import open_api

    a, close = open_api(settings, max_body_bytes=4096)
    try:
        counts = a.row_counts()
        r = a.client.post("/v1/statements", json={"statement": "x" * 5000, "openings": []})
        _problem(r, 413, "body-too-large")

        def chunks():
            yield json.dumps({"statement": "y" * 3000}).encode()[:-2]
            yield b"z" * 3000 + b'"}'

        r = a.client.post("/v1/statements", content=chunks(), headers={"content-type": "application/json"})
        _problem(r, 413, "body-too-large")
        assert a.row_counts() == counts
    finally:
        close()


def test_batch_all_or_none(api):
    """A batch without openings lands in one transaction; a batch with one refused statement stores none of it."""
    from ledger.authoring.trust import key_registration

    regs = [key_registration(api.domain.admin, SignerKey.generate(f"tigta.gov/a{i}"), ["oversight"]) for i in range(3)]
    size = api.ledger.size()
    r = api.client.post("/v1/statements/batch?wait=checkpoint",
                        json={"statements": [{"statement": n} for n in regs]})
    assert r.status_code == 201, r.text
    assert [a["index"] for a in r.json()["appended"]] == [size, size + 1, size + 2]
    assert r.json()["checkpoint"]
    again = api.client.post("/v1/statements/batch", json={"statements": [{"statement": n} for n in regs]})
    assert again.status_code == 200 and all(a["duplicate"] for a in again.json()["appended"])
    stranger = SignerKey.generate("stranger.example.gov/x")
    bad = [key_registration(api.domain.admin, SignerKey.generate("tigta.gov/b1"), ["oversight"]),
           signed([stranger], "withdrawal", {"request": "r"})]
    counts = api.row_counts()
    r = api.client.post("/v1/statements/batch", json={"statements": [{"statement": n} for n in bad]})
    _problem(r, 403, "statement-not-trusted")
    assert api.row_counts() == counts


def test_bulk_request_in_batches_with_openings(api):
    """A bulk request (manifest + chunks, with the openings of every line) through the batch endpoint:
    one transaction per batch; a batch whose openings are incomplete is refused and stores nothing."""
    from ledger.domain.bulk import bulk_request

    lines = [dc.Line(f"900-70-{k:04d}", f"Fictional {k}", f"{k} Elm St, Boston, MA 02110", ("2024",), "case")
             for k in range(300)]
    bulk = bulk_request(api.requester, exception="6103(i)(2)", agency=AGENCY, statute=CRIMINAL,
                        purpose="criminal_investigation", purpose_text="fictional", fields=["name", "address"],
                        recipients=[dc.Recipient("Agent A", AGENCY)], lines=lines, seed=api.seed(api.requester))
    parts = list(bulk.parts())
    counts = api.row_counts()
    broken = [api.submission(p) for p in parts[:2]]
    broken[1]["openings"] = broken[1]["openings"][1:]
    r = api.client.post("/v1/statements/batch", json={"statements": broken})
    _problem(r, 400, "statement-malformed")
    assert api.row_counts() == counts
    r = api.client.post("/v1/statements/batch", json={"statements": [api.submission(p) for p in parts[:2]]})
    assert r.status_code == 201, r.text
    r = api.client.post("/v1/statements/batch", json={"statements": [api.submission(p) for p in parts[2:]]})
    assert r.status_code == 201, r.text
    assert api.domain.engine.state.requests[bulk.statement_id].complete

