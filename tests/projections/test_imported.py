"""Imported accounting (legacy_release) in the views, and releases dated by their own date, on SQLite and
PostgreSQL: marked imported in the disclosures, totals, audit, (p)(3)(C) table and a taxpayer's history;
counted under both audit measures; never pending; the year and the date filters follow disclosed_at."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from domainfix import AGENCY, open_domain
from pjfix import runner

from ledger.domain.accounting import cutover_policy, legacy_release, read_accounting
from ledger.domain.service import DisclosureService
from ledger.policy import DEFAULT_POLICY
from ledger.sealed import SealedKeys, SealedStore
from projections.overview import pending_requests
from projections.queries import Queries

ROWS = [("Failed to Provide", ["tin"]), ("Boston, MA", ["tin"]), (None, ["tin"]),
        ("12 Main St, Boston, MA 02110", ["address", "name", "tin"])]


def accounting() -> list[str]:
    return [json.dumps({"source": "irs-2025-accounting", "disclosed_on": "2025-08-07", "agency": AGENCY,
                        "exception": "6103(i)(2)", "purpose": "criminal_investigation", "fields": ["address"],
                        "tin": f"900-70-{k:04d}", "name": f"Person {k}", "address": address, "match_basis": basis,
                        "matched_tin": f"900-70-{k:04d}"}) for k, (address, basis) in enumerate(ROWS, 1)]


@pytest.fixture
def views(settings):
    d = open_domain(settings)
    keys = SealedKeys.random()
    sealed = SealedStore(settings.db_url, keys)
    service = DisclosureService(d.ledger, sealed, keys)
    admin2 = d.principal("ledger.test.example/admin-2", ["administrator"])
    importer = d.principal("irs.gov/accounting/importer", ["importer"], agency="IRS")
    auditor = d.principal("tigta.gov/auditor-v", ["oversight"], agency="TIGTA")
    d.ledger.append(cutover_policy([d.admin, admin2], DEFAULT_POLICY, "2026-01-01"))
    (record,) = read_accounting(accounting())
    sub = legacy_release([importer, auditor], record, service.issue_seed(importer.name, "legacy_release"))
    service.submit(sub.note, sub.openings)
    r = runner(settings.db_url)
    r.catch_up()
    yield Queries(r.views), keys, sub.statement_id, d
    sealed.close()
    d.ledger.close()


def test_imported_lines_are_marked_and_counted_under_both_measures(views):
    q, keys, legacy, _ = views
    audit = q.release_audit(since="2025-01-01", until="2026-01-01")
    assert (audit["lines_released"], audit["imported"]) == (4, 4)
    assert audit["no_usable_address"] == 3 and audit["potentially_incomplete"] == 1 and audit["tin_only"] == 3
    assert all(line["imported"] and line["disclosed_at"].startswith("2025-08-07") for line in audit["lines"].items)
    (row,) = q.annual_report(2025)
    assert (row["instances"], row["imported"], row["taxpayers"], row["requests"]) == (4, 4, 4, 1)
    assert q.jct_table(2025)[0]["imported"] == 4
    assert q.annual_report(datetime.now(UTC).year) == []  # recorded this year, disclosed in 2025
    (release,) = q.disclosures().items
    assert release["imported"] and release["release_id"] == legacy and release["disclosed_at"] < release["recorded_at"]
    assert q.disclosure_totals()[0]["imported"] == 4
    status = q.request_status(legacy)
    assert status is not None and status["imported"] and status["released"] == 4
    history = q.taxpayer_history_by_tin("900-70-0001", keys).items
    assert [(e["kind"], e["imported"]) for e in history] == [("request", True), ("release", True)]


def test_imported_records_are_never_pending(views):
    counts = pending_requests(views[0].views)
    assert (counts["requests"], counts["imported"], counts["pending"]) == (0, 1, 0)


def test_the_demo_dates_releases_by_when_they_happened(settings, tmp_path):
    """The demo's releases are signed on their own days through 2026: the chart has a bar per month,
    the 2025 table holds the imported release, and each release shows its recorded_at beside it."""
    from pjfix import load_demo

    from projections.timeline import disclosures_over_time

    ledger, _, report = load_demo(settings, tmp_path)
    try:
        r = runner(settings.db_url)
        r.catch_up()
        q = Queries(r.views)
        chart = disclosures_over_time(r.views)
        assert chart.period == "month" and {"2025-08", "2026-01", "2026-06", "2026-11"} <= set(chart.periods)
        (row_2025,) = q.annual_report(2025)
        assert row_2025["instances"] == row_2025["imported"] == report.lines_imported > 0
        january = q.disclosures(since="2026-01-01", until="2026-02-01").items
        assert january and all(x["disclosed_at"].startswith("2026-01-14") and not x["imported"] for x in january)
        assert all(x["recorded_at"] > x["disclosed_at"] for x in january)
        audit = q.release_audit(since="2025-01-01", until="2026-01-01")
        assert audit["no_usable_address"] > audit["potentially_incomplete"] > 0
    finally:
        ledger.close()
