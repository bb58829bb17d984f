"""The demo's accounting from before the ledger, in the browser: the audit page over 2025 shows the court's
count and the narrower (IRS-style) count side by side, both non-zero, from the imported 2025 records; the
imported release is marked in a taxpayer's history and on the disclosures page, dated by its own date."""

from __future__ import annotations

from pathlib import Path

import pytest
from webfix import CHROMIUM, axe_source, need

from ledger.demo import scenario

pytestmark = pytest.mark.xdist_group("web-browser")  # one worker, one browser


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need("Playwright's Python package is not installed")
    if not Path(CHROMIUM).exists():
        need(f"Chromium is not installed at {CHROMIUM}")
    axe = axe_source()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        b.axe = axe
        yield b
        b.close()


@pytest.fixture
def page(browser, demo):
    ctx = browser.new_context(base_url=demo.base, viewport={"width": 1280, "height": 900})
    ctx.add_init_script(browser.axe)
    pg = ctx.new_page()
    pg.set_default_timeout(10_000)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    ctx.close()
    assert not errors, errors


def sign_in(page, token: str) -> None:
    page.goto("/signin")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


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
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    assert not [v["id"] for v in result["violations"] if v["impact"] in ("serious", "critical")]


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
