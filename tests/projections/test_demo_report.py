"""The (p)(3)(C) table and the other views on the demo scenario (the 2025 ICE story), checked
against counts computed here directly from the raw statements and dl_pseudonyms."""

from __future__ import annotations

from collections import defaultdict

import pytest
from pjfix import load_demo, runner

from ledger.core.entry import parse_entry
from ledger.core.statement import parse_statement
from ledger.rules.catalog import CATALOG
from projections.errors import BadQuery
from projections.queries import Queries


def _raw(ledger):
    """Requests, releases, match lines and pseudonyms straight from the log."""
    stmts = [(i, parse_entry(data)) for i, data in ledger.iter_entries()]
    with ledger.store.reading() as db:
        rows = db.all(f"SELECT idx, line, pseudonym FROM {db.t('dl_pseudonyms')}")
    pseudonyms = {(int(i), int(k)): p for i, k, p in rows}
    out = []
    for i, e in stmts:
        out.append((i, e.recorded_at, parse_statement(e.statement)))
    return out, pseudonyms


@pytest.fixture
def demo(settings, tmp_path):
    ledger, secrets, report = load_demo(settings, tmp_path)
    yield ledger, secrets, report
    ledger.close()


def test_annual_report_matches_raw_counts(demo, settings):
    """Requests, instances and distinct taxpayers per agency and subsection equal a direct count."""
    ledger, _, report = demo
    r = runner(settings.db_url, page=7)
    r.catch_up()
    stmts, pseudonyms = _raw(ledger)
    year = int(stmts[-1][1][:4])
    requests, match_of = {}, {}
    expected = defaultdict(lambda: {"requests": 0, "instances": 0, "taxpayers": set()})
    for idx, at, s in stmts:
        b = s.envelope["body"]
        if s.type == "request":
            requests[s.id] = b
            if int(at[:4]) == year:
                expected[(b["agency"], b["exception"])]["requests"] += 1
        elif s.type == "match_result":
            for line in b["lines"]:
                match_of[(b["request"], line["line"])] = pseudonyms.get((idx, line["line"]))
        elif s.type == "release" and int(at[:4]) == year:
            req = requests[b["request"]]
            cell = expected[(req["agency"], req["exception"])]
            cell["instances"] += len(b["lines"])
            cell["taxpayers"].update(match_of[(b["request"], k)] for k in b["lines"])
    want = sorted((a, e, v["requests"], v["instances"], len(v["taxpayers"]))
                  for (a, e), v in expected.items() if CATALOG[e].accounting_required)
    got = sorted((x["agency"], x["exception"], x["requests"], x["instances"], x["taxpayers"])
                 for x in Queries(r.views).annual_report(year))
    assert got == want
    # the placeholder request's lawful release and the small requests released through 2026; the rest was blocked
    assert got and got[0][3] == report.lines_released + report.lines_released_monthly > report.lines_released > 0
    jct = Queries(r.views).jct_table(year)
    assert [(j["disclosure_to_for"], j["subsection"], j["total_number_of_disclosures"]) for j in jct] == \
        [(a, e, n) for a, e, _, n, _ in want]
    assert all(j["bulk_master_file_data"] + j["other_disclosures"] == j["total_number_of_disclosures"] for j in jct)


def test_demo_views_tell_the_story(demo, settings):
    """Blocked attempts, release audit, request status, red flags and a taxpayer's history by TIN."""
    ledger, secrets, report = demo
    r = runner(settings.db_url)
    r.catch_up()
    q = Queries(r.views)
    blocked = q.blocked().items
    assert len(blocked) == len(report.blocked) and all(b["rules"] for b in blocked)
    rid = report.requests["placeholder request"]
    status = q.request_status(rid)
    assert status["requested"] == report.lines_requested == status["lines_recorded"]
    assert status["approved"] == status["released"] == report.lines_released
    assert status["approved"] + status["refused"] == report.lines_requested
    assert sum(x["lines"] for x in status["refusal_reasons"]) == status["refused"]
    assert {f["flag"] for f in status["red_flags"]} >= {"placeholder_addresses"}
    later = q.request_status(report.requests["request after injunction"])
    assert later["resubmits"] == rid and status["resubmitted_by"][0]["request_id"] == later["request_id"]
    audit = q.release_audit(release_ids=[x["release_id"] for x in status["releases"]])
    assert audit["lines_released"] == report.lines_released
    assert audit["no_usable_address"] == 0 == audit["tin_only"]  # only lines matched on name+address went out
    # a released taxpayer's history, looked up by TIN through the operator's pseudonym key
    line = audit["lines"].items[0]
    history = q.taxpayer_history(line["pseudonym"])
    kinds = [e["kind"] for e in history.items]
    assert kinds.count("request") >= 1 and kinds.count("release") == 1
    rel = next(e for e in history.items if e["kind"] == "release")
    assert rel["agency"] == "DHS/ICE" and rel["exception"] == "6103(i)(2)" and len(rel["recipients"]) == 3
    assert q.safeguard_posture("DHS/ICE")[0]["ssr_approved"] is True
    assert q.checkpoints().items[0]["size"] == ledger.size()
    with pytest.raises(BadQuery):
        q.taxpayer_history_by_tin("not a tin", secrets)
    with pytest.raises(BadQuery):
        q.taxpayer_history(line["pseudonym"], since="2026-13-01")


def test_lookup_by_tin_and_no_personal_data_in_views(demo, settings):
    """A released taxpayer is found by TIN; no TIN, name or address of the demo's people is in any view."""
    import re

    from pjfix import dump

    from ledger.domain.masterfile import MasterFile

    _, secrets, _ = demo
    r = runner(settings.db_url)
    r.catch_up()
    q = Queries(r.views)
    people = MasterFile.generate(400, 2025).records
    released = {x["pseudonym"] for x in q.release_audit(limit=1000)["lines"].items}
    person = next(p for p in people if secrets.pseudonym(p.tin) in released)
    history = q.taxpayer_history_by_tin(person.tin, secrets)
    assert any(e["kind"] == "release" for e in history.items)
    cells = " ".join(str(v) for rows in dump(r.views).values() for row in rows for v in row)
    for p in people:
        tin = re.sub(r"\D", "", p.tin)
        for needle in (tin, f"{tin[:3]}-{tin[3:5]}-{tin[5:]}", p.name, p.address.split(",")[0]):
            assert needle not in cells


def test_the_demo_is_agency_anchored(demo):
    """`make run`'s genesis names each agency's official, and every key of an agency was registered with
    the countersignature of a key of that agency (its official): no registration of it was blocked."""
    ledger, _, report = demo
    trust = ledger.trust()
    assert trust.agency_anchored
    officials = {r.attributes["agency"]: name for name, records in trust.keys.items() for r in records
                 if "agency_official" in r.roles}
    assert set(officials) == {"DHS/ICE", "IRS", "TIGTA"}
    registrations = [parse_statement(parse_entry(data).statement) for _, data in ledger.iter_entries()]
    agency_keys = [s for s in registrations if s.type == "key_registration" and "agency" in s.body["attributes"]]
    assert agency_keys and all(officials[s.body["attributes"]["agency"]] in s.signers for s in agency_keys)
    assert not any(s.type == "blocked" and s.body["statement_type"] == "key_registration" for s in registrations)
    assert not [b for b in report.blocked if "countersign" in ",".join(b[1])]
