"""The demo's accounting from before the ledger, in the browser: the audit page over 2025 shows the court's
count and the narrower (IRS-style) count side by side, both non-zero, from the imported 2025 records; the
imported release is marked in a taxpayer's history and on the disclosures page, dated by its own date."""

from __future__ import annotations

import pytest
from webfix import check, sign_in

from demo import scenario

pytestmark = pytest.mark.xdist_group("web-browser")  # one worker, one browser


def measures(page) -> dict[str, int]:
    facts = page.locator("#measures")
    names = [t.strip() for t in facts.locator("dt").all_inner_texts()]
    values = [int(v.strip()) for v in facts.locator("dd").all_inner_texts()]
    return dict(zip(names, values, strict=True))


def test_the_audit_page_counts_both_measures_on_the_imported_2025_release(page, demo):
    sign_in(page, demo.tokens["oversight"])
    page.goto("/audit?since=2025-01-01&until=2026-01-01")
    m = measures(page)
    assert m["Lines released"] == m["Imported from accounting before the ledger"] == demo.report.lines_imported > 0
    assert m["No usable address"] > m["Potentially incomplete"] > 0  # the court's count, and the narrower one
    assert m["Matched on TIN only"] > 0
    assert "imported" in page.locator("table").first.inner_text()
    check(page, "audit-2025-imported")


def test_an_imported_release_in_a_history_and_the_disclosures(page, demo):
    sign_in(page, demo.tokens["oversight"])
    page.goto("/taxpayer")
    page.locator("#tin").fill(scenario.DEMO_TIN)
    page.locator("#purpose").fill("TIGTA audit 2026-17")
    page.get_by_role("button", name="Look up and record the inspection").click()
    history = page.locator("main").inner_text()
    assert "imported: disclosed 2025-08-07, before the ledger" in history
    page.goto("/disclosures?since=2025-01-01&until=2026-01-01")
    table = page.locator("main").inner_text()
    assert "imported" in table and "2025-08-07" in table
    check(page, "disclosures-2025-imported")
