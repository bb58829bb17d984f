"""A ledger written before request body version 2 opens, verifies and replays with today's code.

``tests/fixtures/v1_ledger/ledger.sqlite3`` was written by ``make_v1_ledger.py`` with the code of
the time: two version-1 requests (recipients without principals), one released, one reviewed and
attested but not released. Its keys derive from labels, so the test rebuilds them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.authoring import disclosure as dc
from ledger.authoring.trust import signed
from ledger.bootstrap import open_ledger
from ledger.core.entry import parse_entry
from ledger.core.statement import parse_statement
from ledger.domain.refusals import RuleRefusal
from ledger.domain.schemas import check_body, request_version
from ledger.store.fsck import fsck

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "v1_ledger"
sys.path.insert(0, str(FIXTURE))
import make_v1_ledger as fx  # noqa: E402

MANIFEST = json.loads((FIXTURE / "manifest.json").read_text())


@pytest.fixture
def v1_ledger(tmp_path):
    db = tmp_path / "ledger.sqlite3"
    shutil.copyfile(FIXTURE / "ledger.sqlite3", db)
    fx.service_keys().save(tmp_path / "service-keys")
    settings = fx.settings_for(db, tmp_path / "service-keys")
    ledger = open_ledger(settings)
    ledger.migrate()  # written when the log kept a second copy of every statement: drop it before appending
    yield ledger, settings
    ledger.close()


def _facts(ledger):
    """What the rules replayed, per request: attestations (principal and key), releases, released lines."""
    state = ledger.synced_rules().state
    return {rid: (dict(r.attested), dict(r.attested_keys), list(r.releases), bytes(r.released), r.review_id)
            for rid, r in state.requests.items()}


def test_the_v1_fixture_opens_verifies_and_replays(v1_ledger, tmp_path):
    ledger, settings = v1_ledger
    assert ledger.size() == MANIFEST["size"]
    report = fsck(ledger.store)
    assert report.ok and report.size == MANIFEST["size"]
    requests = MANIFEST["requests"]
    for rid in requests.values():  # both are version 1, and their bodies still pass the schema
        stmt = parse_statement(parse_entry(ledger.entry(ledger.synced_rules().state.requests[rid].index)).statement)
        assert request_version(stmt.envelope["body"]) == 1
        check_body("request", stmt.envelope["body"])
    facts = _facts(ledger)
    released, pending = facts[requests["released"]], facts[requests["pending"]]
    assert released[0] == {0: "ice.fixture.example/agent-a", 1: "ice.fixture.example/agent-b"}
    assert set(released[1]) == {0, 1} and len(released[2]) == 1 and released[3] == b"\x01\x01"
    assert pending[0] == {0: "ice.fixture.example/agent-a"} and pending[2] == []
    # a second replay from the database gives the same facts
    again = open_ledger(settings)
    try:
        assert _facts(again) == facts
    finally:
        again.close()
    # the court's one-file verifier accepts its export and checkpoint
    export = tmp_path / "export.jsonl"
    with export.open("wb") as out:
        ledger.export(out)
    cp = ledger.checkpoint()
    (tmp_path / "checkpoint.txt").write_text(cp.encode())
    (tmp_path / "vkey.txt").write_text(str(fx.service_keys().checkpoint[0].verifier) + "\n")
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "verify_ledger.py"), "--vkey",
                          str(tmp_path / "vkey.txt"), "--checkpoint", str(tmp_path / "checkpoint.txt"),
                          "--export", str(export)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_v1_request_not_yet_released_is_refused_until_resubmitted_as_v2(v1_ledger):
    ledger, _ = v1_ledger
    keys = {name: fx.derived_key(name) for name in MANIFEST["principals"]}
    releaser, reviewer = keys["irs.fixture.example/releaser"], keys["irs.fixture.example/reviewer"]
    pending = MANIFEST["requests"]["pending"]
    v1_release = dc.release(releaser, pending, f"{pending}-review", [0], ["name", "address"], [0], b"file")
    with pytest.raises(RuleRefusal) as refused:
        ledger.append(v1_release.note)
    assert "release.request_version" in refused.value.rules
    assert ledger.synced_rules().state.requests[pending].releases == []
    # the requester files it again as version 2, naming the agent who receives the data
    again = dc.request(keys["ice.fixture.example/director"], exception="6103(i)(2)", agency=fx.AGENCY,
                       statute=fx.CRIMINAL, purpose="criminal_investigation", purpose_text="fictional purpose",
                       fields=["name", "address"], resubmits=pending,
                       recipients=[dc.Recipient("Agent A", fx.AGENCY, caseload=2,
                                                principal="ice.fixture.example/agent-a")],
                       lines=[dc.Line("900700021", "Fictional Person 0", "100 Fictional St, Springfield, IL 62701",
                                      ("2024",), "fictional reason 0")])
    ledger.append(again.note)
    rid = again.statement_id
    ledger.append(dc.recipient_attestation(keys["ice.fixture.example/agent-a"], rid, 0).note)
    ledger.append(signed([keys["irs.fixture.example/matcher"]], "match_result", {
        "request": rid, "matcher_version": "fixture-matcher-1", "address_rules_version": "addr-2026.1",
        "red_flags": [], "lines": [{"line": 0, "matched": True, "match_basis": ["address", "name"],
                                    "method": "NAME+ADDRESS", "address_class": "street", "address_usable": True,
                                    "irs_address_differs": False,
                                    "taxpayer": hashlib.sha256(b"fictional").hexdigest()}]}))
    from ledger.rules.engine import server_red_flags

    flags = server_red_flags(ledger.synced_rules().state.requests[rid])
    review = dc.review(reviewer, rid, [(0, "approve", "ok")], flags)
    ledger.append(review.note)
    ledger.append(dc.release(releaser, rid, review.statement_id, [0], ["name", "address"], [0], b"file").note)
    assert len(ledger.synced_rules().state.requests[rid].releases) == 1
    assert fsck(ledger.store).ok
