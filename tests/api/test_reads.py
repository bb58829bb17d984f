"""Reads over HTTP: the role x endpoint matrix, checkpoints and proofs that verify, the export,
the oversight read (recorded as an inspection), health, readiness and metrics."""

from __future__ import annotations

import base64
import io
import json
import logging

import pytest

from api.deps import NOT_ACCEPTED
from ledger.core.b64 import b64decode
from ledger.core.checkpoint import open_checkpoint
from ledger.core.keys import parse_vkey
from ledger.core.merkle import leaf_hash
from ledger.core.proofs import verify_consistency, verify_inclusion

WHO = (None, "oversight", "court", "operator", "expired", "revoked")
GET = "GET"
POST = "POST"
TAXPAYER_BODY = {"tin": "900-70-0001", "purpose": "TIGTA audit 2026-17"}

# endpoint -> the roles it admits ("public" admits no token at all, and any token)
MATRIX = {
    (GET, "/v1/checkpoint"): "public",
    (GET, "/v1/checkpoints"): "public",
    (GET, "/v1/proofs/consistency?old=1"): "public",
    (GET, "/v1/trust-root"): "public",
    (GET, "/healthz"): "public",
    (GET, "/readyz"): "public",
    (GET, "/v1/entries/0"): ("court", "oversight"),
    (GET, "/v1/entries?start=0&limit=2"): ("court", "oversight"),
    (GET, "/v1/proofs/inclusion?index=0"): ("court", "oversight"),
    (GET, "/v1/export"): ("court", "oversight"),
    (POST, "/v1/oversight/taxpayer"): ("court", "oversight"),
    (GET, "/metrics"): ("operator",),
}


@pytest.mark.parametrize("who", WHO, ids=lambda w: str(w))
@pytest.mark.parametrize("endpoint", list(MATRIX), ids=lambda e: f"{e[0]} {e[1]}")
def test_role_matrix(api, endpoint, who):
    """Each caller gets exactly what its role allows: 200 where admitted, 401 without a valid token, else 403."""
    method, path = endpoint
    allowed = MATRIX[endpoint]
    r = api.client.request(method, path, headers=api.auth(who), json=TAXPAYER_BODY if method == POST else None)
    if allowed == "public" or who in allowed:
        assert r.status_code == 200, (r.status_code, r.text)
    elif who in (None, "expired", "revoked"):
        assert r.status_code == 401, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert r.json()["detail"] == NOT_ACCEPTED  # never which check failed
    else:
        assert r.status_code == 403, r.text
        assert r.json()["type"].endswith("/forbidden")


@pytest.mark.parametrize("header", ["Bearer", "Bearer dlt_0123456789abcdef_" + "A" * 43, "Basic abc",
                                    "Bearer not-a-token", "bearer " + "x" * 500])
def test_bad_tokens_are_401(api, header):
    """Malformed, unknown or wrongly-schemed credentials: 401, never 5xx."""
    r = api.client.get("/v1/entries/0", headers={"Authorization": header})
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"


def test_finding_401_says_nothing_of_why_and_the_log_says_why_without_the_token(api, caplog):
    """Finding 4 (regression): a 401 told the caller whether its token was unknown, revoked or expired.
    Every 401 now reads the same; the server's log says why (a known token by its public id only)."""
    forged = api.tokens["court"][: len("dlt_") + 16] + api.tokens["oversight"][len("dlt_") + 16:]
    cases = {"missing": None, "malformed": "Bearer not-a-token", "unknown": f"Bearer {forged}",
             "revoked": f"Bearer {api.tokens['revoked']}", "expired": f"Bearer {api.tokens['expired']}"}
    answers = set()
    with caplog.at_level(logging.INFO, logger="api.auth"):
        for header in cases.values():
            r = api.client.get("/v1/entries/0", headers={"Authorization": header} if header else {})
            assert r.status_code == 401
            answers.add(r.text)
    assert len(answers) == 1 and NOT_ACCEPTED in answers.pop()
    logged = "\n".join(rec.getMessage() for rec in caplog.records if rec.name == "api.auth")
    for reason in ("no Authorization header", "malformed token", "unknown token", "revoked token", "expired token"):
        assert reason in logged
    for token in api.tokens.values():
        secret = token[len("dlt_") + 16 + 1:]  # dlt_<16 hex id>_<secret>; the secret may itself hold "_"
        assert token not in logged and secret not in logged  # never a token or its secret


def test_token_for_one_secret_does_not_admit_another(api):
    """A token's id with another token's secret is unknown: the secret is checked, not just the id."""
    court, oversight = api.tokens["court"], api.tokens["oversight"]
    forged = court[: len("dlt_") + 16] + oversight[len("dlt_") + 16:]
    assert api.client.get("/v1/entries/0", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def _grow(api, n: int = 3) -> None:
    for i in range(n):
        r = api.client.post("/v1/statements", json=api.submission(api.request(tin=f"900-70-{i:04d}")))
        assert r.status_code == 201


def test_checkpoint_and_proofs_served_over_http_verify(api):
    """The checkpoint verifies with the trust root; inclusion and consistency proofs verify against checkpoints."""
    vkey = parse_vkey(api.client.get("/v1/trust-root").text.strip())
    assert str(vkey) == str(api.ledger.trust_root())
    first = api.client.get("/v1/checkpoint")
    assert first.headers["content-type"] == "text/plain; charset=utf-8"
    old = open_checkpoint(first.text, vkey).checkpoint
    _grow(api)
    r = api.client.post("/v1/statements?wait=checkpoint", json=api.submission(api.request(tin="900-70-9999")))
    new = open_checkpoint(api.client.get("/v1/checkpoint").text, vkey).checkpoint
    assert new.size > r.json()["index"] >= old.size
    proof = api.client.get(f"/v1/proofs/consistency?old={old.size}&new={new.size}").json()
    verify_consistency(old.size, new.size, old.root, new.root, [bytes.fromhex(h) for h in proof["path"]])
    for index in (0, old.size, new.size - 1):
        entry = api.client.get(f"/v1/entries/{index}", headers=api.auth("court")).json()
        leaf = leaf_hash(b64decode(entry["entry_b64"]))
        assert entry["leaf_hash"] == leaf.hex()
        inc = api.client.get(f"/v1/proofs/inclusion?index={index}&size={new.size}", headers=api.auth("oversight"))
        verify_inclusion(index, new.size, leaf, [bytes.fromhex(h) for h in inc.json()["path"]], new.root)
    with pytest.raises(Exception):  # noqa: B017 - a wrong root must fail the served proof
        verify_consistency(old.size, new.size, old.root, bytes(32), [bytes.fromhex(h) for h in proof["path"]])


def test_checkpoint_history_newest_first_and_page_limits(api):
    """Checkpoints newest first, each a valid note; limits outside 1..max_page are refused with 400/422."""
    _grow(api, 1)
    api.client.post("/v1/statements?wait=checkpoint", json=api.submission(api.request(tin="900-70-5555")))
    body = api.client.get("/v1/checkpoints?limit=10").json()["checkpoints"]
    sizes = [c["size"] for c in body]
    assert sizes == sorted(sizes, reverse=True) and len(sizes) >= 2
    vkey = api.ledger.trust_root()
    for c in body:
        cp = open_checkpoint(c["note"], vkey).checkpoint
        assert (cp.size, cp.root.hex()) == (c["size"], c["root"])
    assert api.client.get("/v1/checkpoints?limit=1").json()["checkpoints"][0]["size"] == sizes[0]
    assert api.client.get("/v1/checkpoints?limit=1001").status_code == 400
    assert api.client.get("/v1/checkpoints?limit=0").status_code == 422
    assert api.client.get("/v1/entries?limit=1001", headers=api.auth("court")).status_code == 400


def test_entries_pages_and_out_of_range(api):
    """Entries page in order with next_start; a missing entry is 404; bad proof ranges are 400."""
    size = api.ledger.size()
    got, start = [], 0
    while start is not None:
        page = api.client.get(f"/v1/entries?start={start}&limit=2", headers=api.auth("court")).json()
        got += [e["index"] for e in page["entries"]]
        start = page["next_start"]
    assert got == list(range(size))
    assert api.client.get(f"/v1/entries/{size}", headers=api.auth("court")).status_code == 404
    assert api.client.get(f"/v1/entries/{2**60}", headers=api.auth("court")).status_code == 422
    assert api.client.get(f"/v1/proofs/inclusion?index={size}", headers=api.auth("court")).status_code == 400
    assert api.client.get(f"/v1/proofs/inclusion?index=0&size={size + 1}",
                          headers=api.auth("court")).status_code == 400
    assert api.client.get("/v1/proofs/consistency?old=2&new=1").status_code == 400
    assert api.client.get(f"/v1/proofs/consistency?old=0&new={size + 1}").status_code == 400


def test_export_streams_the_exact_export(api):
    """The HTTP export is byte-for-byte the ledger's export (FORMAT § 12) and verifies line by line."""
    _grow(api, 2)
    r = api.client.get("/v1/export", headers=api.auth("court"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/jsonl")
    buf = io.BytesIO()
    api.ledger.export(buf)
    assert r.content == buf.getvalue()
    lines = r.content.split(b"\n")
    assert lines[-1] == b"" and [json.loads(x)["index"] for x in lines[:-1]] == list(range(api.ledger.size()))
    assert base64.b64decode(json.loads(lines[0])["entry_b64"]) == api.ledger.entry(0)


def test_taxpayer_read_is_recorded_as_inspection_before_history(api):
    """An oversight read records an `inspection` signed by the ledger's key, committing to the pseudonym."""
    from ledger.core.entry import parse_entry
    from ledger.core.statement import parse_statement

    size = api.ledger.size()
    r = api.client.post("/v1/oversight/taxpayer", json=TAXPAYER_BODY, headers=api.auth("oversight"))
    assert r.status_code == 200, r.text
    body = r.json()
    pseudonym = api.keys.pseudonym(TAXPAYER_BODY["tin"])
    assert body["inspection"]["index"] == size and body["caught_up"] is True
    assert [(e["kind"], e["index"], e["role"]) for e in body["items"]] == [("inspection", size, "oversight")]
    stmt = parse_statement(parse_entry(api.ledger.entry(size)).statement)
    assert stmt.type == "inspection" and stmt.signers == [api.ledger.keys.statement.name]
    assert stmt.body["role"] == "oversight" and stmt.body["view"] == "taxpayer_history"
    raw = api.ledger.entry(size).decode()
    assert "900-70-0001" not in raw and "900700001" not in raw
    assert pseudonym not in raw and "TIGTA audit" not in raw
    from ledger.sealed import SealedStore  # the subject's opening is sealed: it opens to the pseudonym

    with SealedStore(api.ledger.settings.db_url, api.keys) as sealed:
        assert sealed.get(stmt.body["subject"]).value == pseudonym


@pytest.mark.parametrize("body", [{"tin": "12345", "purpose": "x"}, {"tin": "900-70-0001", "purpose": ""},
                                  {"tin": "abc", "purpose": "p"}, {"tin": "900700001"}])
def test_taxpayer_read_bad_input_records_nothing(api, body):
    """A TIN that is not 9 digits, or no purpose: a 4xx problem, no inspection recorded, no TIN echoed."""
    size = api.ledger.size()
    r = api.client.post("/v1/oversight/taxpayer", json=body, headers=api.auth("oversight"))
    assert r.status_code in (400, 422) and api.ledger.size() == size
    assert body.get("tin", "") not in r.text


def test_readyz_reports_checkpoint_lag(settings):
    """/readyz is ready when the checkpoint covers the log, not ready when entries wait past the limit."""
    from apifix import open_api

    a, close = open_api(settings, checkpoint_max_age=0.001)
    try:
        a.ledger.checkpoint()
        ready = {"status": "ready", "checks": {"database": "ok", "log": "ok", "checkpoint": "ok"},
                 "witnesses": "unwitnessed"}
        assert a.client.get("/readyz").json() == ready
        a.ledger._last_checkpoint_at = float("inf")  # keep the append from signing one itself
        assert a.client.post("/v1/statements", json=a.submission(a.request())).status_code == 201
        import time

        time.sleep(0.01)
        r = a.client.get("/readyz")
        assert r.status_code == 503 and r.json()["checks"]["checkpoint"].startswith("1 entries wait")
    finally:
        close()


def test_metrics_count_requests_and_appends(api):
    """Operator metrics: log size, checkpoint size, requests by route and status, statements by outcome."""
    api.client.post("/v1/statements", json=api.submission(api.request()))
    api.client.post("/v1/statements", json={"statement": "junk"})
    text = api.client.get("/metrics", headers=api.auth("operator")).text
    assert f"dl_log_size {api.ledger.size()}.0" in text
    assert 'dl_statements_total{outcome="stored"} 1.0' in text and 'dl_statements_total{outcome="refused"} 1.0' in text
    assert 'route="/v1/statements",status="201"' in text and 'route="/v1/statements",status="400"' in text


def test_access_log_is_json_without_bodies_queries_or_tokens(api, caplog):
    """Access log lines: method, path, status, duration only — no TIN, purpose, query string or token."""
    with caplog.at_level(logging.INFO, logger="api.access"):
        api.client.post("/v1/oversight/taxpayer", json=TAXPAYER_BODY, headers=api.auth("oversight"))
        api.client.get("/v1/proofs/consistency?old=1&new=2")
    records = [json.loads(r.getMessage()) for r in caplog.records if r.name == "api.access"]
    assert {r["path"] for r in records} == {"/v1/oversight/taxpayer", "/v1/proofs/consistency"}
    assert all(set(r) == {"event", "method", "path", "status", "duration_ms"} for r in records)
    text = caplog.text
    for secret in ("900-70-0001", "TIGTA audit", api.tokens["oversight"], "old=1"):
        assert secret not in text


def test_no_personal_data_of_the_demo_in_any_log(api, caplog):
    """Writes (stored, blocked, refused, malformed) and taxpayer lookups naming people of the demo's master
    file leave no TIN, name or address in any logger's output, at DEBUG, nor the operator's token."""
    from domainfix import CIVIL, one_line_request

    from demo import scenario
    from ledger.core.keys import SignerKey
    from ledger.domain.masterfile import MasterFile

    people = MasterFile.generate(scenario.MASTER_RECORDS, scenario.SEED).records[:4]
    with caplog.at_level(logging.DEBUG):  # every logger: the app's, uvicorn's, the ledger's, SQLAlchemy's
        stored, blocked, impostor, garbled = (
            one_line_request(signer, statute, p.tin, p.name, p.address, api.seed(signer))
            for p, signer, statute in zip(
                people, (api.requester, api.requester, SignerKey.generate(api.requester.name), api.requester),
                ("8 USC 1253(a)(1)", CIVIL, "8 USC 1253(a)(1)", "8 USC 1253(a)(1)"), strict=True))
        assert api.client.post("/v1/statements", json=api.submission(stored)).status_code == 201
        assert api.client.post("/v1/statements", json=api.submission(blocked)).status_code == 422
        assert api.client.post("/v1/statements", json=api.submission(impostor)).status_code == 403
        bad = api.submission(garbled)
        bad["openings"][0]["value"] = people[3].name + " " + people[3].address  # an opening that does not open
        assert api.client.post("/v1/statements", json=bad).status_code == 400
        assert api.client.post("/v1/statements", content=b'{"statement": "' + people[3].tin.encode()).status_code in (
            400, 422)
        for p in people:
            r = api.client.post("/v1/oversight/taxpayer", json={"tin": p.tin, "purpose": "TIGTA audit 2026-17"},
                                headers=api.auth("oversight"))
            assert r.status_code == 200, r.text
        bad_tin = api.client.post("/v1/oversight/taxpayer", json={"tin": people[0].tin + "9", "purpose": "x"},
                                  headers=api.auth("oversight"))
        assert bad_tin.status_code in (400, 422)
        api.client.get("/metrics", headers=api.auth("operator"))
    text = caplog.text
    assert '"path": "/v1/oversight/taxpayer"' in text and '"path": "/v1/statements"' in text  # the logs were seen
    for p in people:
        digits = "".join(c for c in p.tin if c.isdigit())
        street = p.address.split(",")[0].strip()
        for value in (p.tin, digits, f"{digits[:3]}-{digits[3:5]}-{digits[5:]}", p.name, p.address, street):
            assert value not in text, "personal data in the logs"
    assert api.tokens["operator"] not in text and api.tokens["oversight"] not in text


def test_unknown_paths_and_methods_are_problems(api):
    """404 and 405 come back as problem details too."""
    r = api.client.get("/v1/nothing-here")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    r = api.client.delete("/v1/checkpoint")
    assert r.status_code == 405 and r.headers["content-type"] == "application/problem+json"


def test_background_signer_covers_entries_that_arrive_after_the_last_checkpoint(settings):
    """With no further appends, the service still signs a checkpoint for the latest entries."""
    import time

    from apifix import open_api

    a, close = open_api(settings, background_checkpoints=True)
    try:
        a.ledger.checkpoint()
        a.ledger._last_checkpoint_at = float("inf")  # the append itself will not sign one
        index = a.client.post("/v1/statements", json=a.submission(a.request())).json()["index"]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if open_checkpoint(a.client.get("/v1/checkpoint").text, a.ledger.trust_root()).checkpoint.size > index:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("no checkpoint covered the entry")
    finally:
        close()
