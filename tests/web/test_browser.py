"""End to end in a real headless Chromium (Debian's, through Playwright; nothing downloaded): sign in,
pin the trust root, look up a demo taxpayer, open a request, see a chart, download the CSV and check it
against the projections, watch the in-page verification pass — and fail on a tampered proof. axe-core
runs on every page (no serious or critical violations); each page is screenshotted into ARTIFACTS."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
import textwrap
from pathlib import Path

import pytest
from webfix import check, sign_in

from ledger.core.entry import parse_entry
from projections.db import open_database
from projections.queries import Queries

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or, under CI, fails) with the reason
    expect = None

pytestmark = pytest.mark.xdist_group("web-browser")  # one worker, one browser


def test_oversight_journey(page, demo):
    sign_in(page, demo.tokens["oversight"])
    assert page.get_by_role("heading", name="Overview").is_visible()
    for _ in range(50):  # the stored log is re-checked in the background
        if "being checked" not in page.locator("#verify-status").inner_text():
            break
        page.wait_for_timeout(100)
        page.reload()
    assert "✔ verified" in page.locator("#verify-status").inner_text()
    check(page, "overview")

    # pin the published key (pasted, not taken from the server), then see its fingerprint
    page.get_by_role("link", name="Trust root").click()
    page.get_by_label("Published verifier key").fill(str(demo.ledger.trust_root()))
    page.get_by_role("button", name="Pin this key").click()
    pinned = page.locator("#pinned").inner_text()
    pub = base64.b64decode(str(demo.ledger.trust_root()).split("+", 2)[2])[1:]
    fingerprint = " ".join(textwrap.wrap(hashlib.sha256(pub).hexdigest(), 8))
    assert "✔ Pinned" in pinned and fingerprint in pinned  # what the reader compares with the published one
    check(page, "trust")

    # taxpayer lookup: the TIN goes in the POST body, never the URL or history
    tin = demo.released_tin()
    page.get_by_role("link", name="Taxpayer lookup").click()
    page.get_by_label("Taxpayer identification number (TIN)").fill(tin)
    page.get_by_label("Purpose of this read").fill("fictional oversight review")
    page.get_by_role("button", name="Look up and record the inspection").click()
    page.wait_for_selector("#history")
    assert tin not in page.url and tin.replace("-", "") not in page.url
    assert "recorded as entry" in page.locator("#inspection-recorded").inner_text()
    assert page.locator("#history").get_by_text("Release").count() >= 1
    check(page, "taxpayer")
    inspection = page.locator("#inspection-recorded a").get_attribute("href")
    history_urls = page.evaluate("() => [location.href, document.referrer]")
    assert all(tin not in u for u in history_urls)

    # open a request from the history; it has a chart
    page.locator("#history a[href^='/requests/']").first.click()
    page.wait_for_selector("#line-counts")
    chart = page.locator("svg.chart")
    assert chart.is_visible() and "Requested" in chart.inner_html()
    check(page, "request")

    for name in ("Requests", "Agencies & exceptions", "Release audit", "Checkpoints"):
        page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()
        page.wait_for_load_state()
        check(page, name.lower().replace(" & ", "-").replace(" ", "-"))

    # the inspection just recorded (no checkpoint covered it yet) verifies in the page
    page.goto(inspection)
    expect(page.locator("#verify-result")).to_have_text(re.compile("^✔ Verified"))

    # the checkpoint's signature, checked in the page against the pinned key
    page.goto("/checkpoints")
    page.get_by_role("button", name="Check its signature in this browser").click()
    expect(page.locator("#verify-result")).to_have_text(re.compile("^✔ Signature valid"))

    # the annual table: CSV download, rows equal to the projections' table
    year = int(parse_entry(demo.ledger.entry(0)).recorded_at[:4])
    page.goto(f"/annual?year={year}")
    assert page.locator("svg.chart").is_visible()
    check(page, "annual")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download the table as CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text())))
    api = page.request.get(f"/v1/oversight/annual-report/{year}/jct",
                           headers={"Authorization": f"Bearer {demo.tokens['oversight']}"})
    assert api.ok, api.status
    want = api.json()["items"]
    assert want == Queries(open_database(demo.ledger.settings.db_url)).jct_table(year)
    assert rows and len(rows) == len(want)
    for got, w in zip(rows, want, strict=True):
        assert got == {k: str(v) for k, v in w.items()}

    # on a phone: no page wider than the screen (wide tables scroll in their own focusable region)
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/", "/requests", "/disclosures", "/audit", f"/annual?year={year}", "/entries/1"):
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 391, path
    check(page, "entry-phone")
    page.goto("/audit")
    check(page, "audit-phone")

    # sign out: the session is gone
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/signin")
    page.goto("/")
    assert page.url.endswith("/signin")
    check(page, "signin")


def _verify(page, index: int) -> str:
    page.goto(f"/entries/{index}")
    result = page.locator("#verify-result")
    expect(result).to_have_text(re.compile("^[✔✘]"))  # a locator wait: no eval under the page's CSP
    return result.inner_text()


def test_in_page_verification_passes_and_catches_tampering(page, demo):
    sign_in(page, demo.tokens["court"])
    # nothing pinned yet: the page refuses to vouch for anything
    assert "no key pinned" in _verify(page, 3)
    page.evaluate("k => localStorage.setItem('dl.trustRoot', k)", str(demo.ledger.trust_root()))
    size = demo.ledger.size()
    for index in (0, size // 2, size - 1):
        result = _verify(page, index)
        assert result.startswith("✔ Verified"), (index, result)
    assert page.locator("#verify-steps li").count() == 6
    check(page, "entry")

    def tamper(field: str):
        def handle(route):
            body = route.fetch().json()
            if field == "path":
                h = body["path"][0]
                body["path"][0] = ("0" if h[0] != "0" else "1") + h[1:]
            elif field == "entry":
                data = bytearray(base64.b64decode(body["entry_b64"]))
                at = data.index(b'"statement":') + 20
                while not chr(data[at]).isalnum():
                    at += 1
                data[at] = ord("x") if data[at] != ord("x") else ord("y")  # still JSON, another leaf
                body["entry_b64"] = base64.b64encode(bytes(data)).decode()
            elif field == "checkpoint":
                lines = body["checkpoint"].split("\n")
                lines[1] = str(int(lines[1]) + 1)
                body["checkpoint"] = "\n".join(lines)
            route.fulfill(status=200, content_type="application/json", body=json.dumps(body))
        return handle

    index = size // 2
    for field, why in (("path", "Inclusion proof"), ("entry", "Inclusion proof"), ("checkpoint", "Checkpoint")):
        page.route("**/proof.json", tamper(field))
        result = _verify(page, index)
        page.unroute("**/proof.json")
        assert result.startswith("✘ Verification failed") and why in result, (field, result)
    check(page, "entry-tampered")
    # a key the server might serve, if pinned by mistake, is just another key: the wrong one fails
    from ledger.core.keys import SignerKey

    other = SignerKey.generate(str(demo.ledger.trust_root()).split("+")[0]).verifier
    page.evaluate("k => localStorage.setItem('dl.trustRoot', k)", str(other))
    assert "no signature by the pinned key" in _verify(page, index)


def test_keyboard_and_phone(page, demo):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/signin")
    page.keyboard.press("Tab")  # skip link first
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Tab")
    page.keyboard.type(demo.tokens["operator"])
    page.keyboard.press("Enter")
    page.wait_for_url("**/")
    nav = page.get_by_role("navigation", name="Main")
    assert [a.inner_text() for a in nav.get_by_role("link").all()] == ["Overview", "Checkpoints", "Trust root"]
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, width
    check(page, "overview-operator-phone")
    for path in ("/checkpoints", "/trust"):
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 391, path
    check(page, "checkpoints-phone")
    page.goto("/taxpayer")
    assert "may not see this page" in page.content()
    check(page, "refused-operator")
    # the accessibility check can fail: an unlabelled field is a critical violation
    page.evaluate("() => document.querySelector('main').appendChild(document.createElement('input'))")
    with pytest.raises(AssertionError, match="'label'"):
        check(page, "axe-self-test")



def test_js_ports_match_python(page, demo):
    """verify.js's RFC 9162 inclusion check and vkey parsing agree with the core's proofs and keys."""
    from ledger.core.keys import SignerKey
    from ledger.core.merkle import leaf_hash, root_from_leaf_hashes
    from ledger.core.proofs import inclusion_path

    sign_in(page, demo.tokens["oversight"])
    page.goto("/entries/0")
    leaves = [leaf_hash(bytes([i])) for i in range(40)]
    cases = []
    for size in range(1, 41):
        for index in range(size):
            path = inclusion_path(index, size, lambda a, b: root_from_leaf_hashes(leaves[a:b]))
            cases.append([index, size, leaves[index].hex(), [h.hex() for h in path],
                          root_from_leaf_hashes(leaves[:size]).hex()])
    got = page.evaluate("""async (cases) => {
        const out = [];
        for (const [index, size, leaf, path, root] of cases) {
            const r = DL.hex(await DL.rootFromInclusion(index, size, DL.fromHex(leaf), path.map(DL.fromHex)));
            let longer = "ok", shorter = "ok";
            try { await DL.rootFromInclusion(index, size, DL.fromHex(leaf), [...path, leaf].map(DL.fromHex)); }
            catch (e) { longer = "refused"; }
            if (path.length) {
              try { await DL.rootFromInclusion(index, size, DL.fromHex(leaf), path.slice(1).map(DL.fromHex)); }
              catch (e) { shorter = "refused"; }
            } else { shorter = "refused"; }
            out.push([r === root, longer, shorter]);
        }
        return out;
    }""", cases)
    assert got == [[True, "refused", "refused"]] * len(cases)

    keys = [SignerKey.generate("ledger.example/ck").verifier for _ in range(30)]
    assert any("+" in str(k).split("+", 2)[2] for k in keys)  # the base64 part may hold '+'
    ids = page.evaluate("async (ks) => Promise.all(ks.map(async k => (await DL.parseVkey(k)).keyId))",
                        [str(k) for k in keys])
    assert ids == [f"{k.key_id:08x}" for k in keys]
    bad = str(keys[0]).split("+", 2)
    wrong_id = f"{bad[0]}+{(int(bad[1], 16) ^ 1):08x}+{bad[2]}"
    assert "does not match" in page.evaluate(
        "async (k) => { try { await DL.parseVkey(k); return 'ok'; } catch (e) { return e.message; } }", wrong_id)


def test_chart_paging_and_taxpayer_history_in_the_browser(page, demo):
    """The time chart with its table, paging by keyboard, a taxpayer's blocked attempts and dates,
    the history's POST pages — each page checked by axe-core and screenshotted."""
    sign_in(page, demo.tokens["oversight"])
    page.goto("/disclosures?by=exception")
    chart = page.locator("svg.chart-timeline")
    expect(chart).to_be_visible()
    bars = chart.locator("rect.chart-bar")
    assert bars.count() >= 1
    table = page.locator("#over-time-table tbody tr")
    assert table.count() == bars.count()
    for i in range(bars.count()):  # each bar's number is the table's, row by row
        cells = table.nth(i).locator("td").all_inner_texts()
        coded = table.nth(i).locator("td .coded")  # an exception: its label, the code on hover
        if coded.count():
            cells[1] = coded.first.get_attribute("title")
        assert [bars.nth(i).get_attribute(a) for a in ("data-period", "data-series", "data-value")] == cells
    check(page, "disclosures-over-time")

    # paging with the keyboard only: focus "Next page" and press Enter until the last page
    page.goto("/requests?size=1")
    total = int(page.locator("#requests-pages .total").inner_text())
    seen = [page.locator("#requests tbody a").first.inner_text()]
    check(page, "requests-paged")
    while page.locator("#requests-pages a[rel=next]").count():
        page.locator("#requests-pages a[rel=next]").focus()
        page.keyboard.press("Enter")
        page.wait_for_load_state()
        seen.append(page.locator("#requests tbody a").first.inner_text())
    assert len(seen) == total == len(set(seen)) > 1
    page.locator("#requests-pages a[rel=prev]").focus()
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    assert page.locator("#requests tbody a").first.inner_text() == seen[-2]

    # the taxpayer's history: blocked attempts, then the same taxpayer on a later day: nothing
    tin = demo.released_tin()
    page.goto("/taxpayer")
    page.get_by_label("Taxpayer identification number (TIN)").fill(tin)
    page.get_by_label("Purpose of this read").fill("fictional oversight review")
    page.get_by_role("button", name="Look up and record the inspection").click()
    page.wait_for_selector("#history")
    assert page.locator("#taxpayer-blocked tbody tr").count() >= 1
    assert tin not in page.url
    check(page, "taxpayer-blocked")
    for _ in range(2):  # more inspections, so that the history runs past one page
        page.locator("#history-dates").get_by_role("button").click()
        page.wait_for_selector("#history")
    while page.locator("[data-rel=next]").count() == 0:
        page.locator("#history-dates").get_by_role("button").click()
        page.wait_for_selector("#history")
    first = page.locator("#history tbody tr").first.inner_text()
    page.locator("[data-rel=next]").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-rel=prev]")
    assert page.locator("#history tbody tr").first.inner_text() != first
    assert tin not in page.url and page.url.endswith("/taxpayer")
    check(page, "taxpayer-page-2")
    page.locator("#h-since").fill("2999-01-01")
    page.locator("#history-dates").get_by_role("button").click()
    page.wait_for_selector("#history-counts")
    assert page.locator("#history").count() == 0 and page.locator("#taxpayer-blocked").count() == 0
    assert "0 request lines" in page.locator("#history-counts").inner_text()
    check(page, "taxpayer-dates")


def test_sign_in_throttle_page(page, demo):
    """Guesses from one address are slowed (429, said accessibly); a valid token from the same address
    still signs in after six failures."""
    from api.web.session import MAX_FAILURES, delay

    def attempt(token: str) -> int:
        page.goto("/signin")
        page.get_by_label("API token").fill(token)
        with page.expect_response("**/signin") as info:
            page.get_by_role("button", name="Sign in").click()
        return info.value.status

    try:
        for _ in range(MAX_FAILURES):
            assert attempt("dlt_wrong") == 401
            expect(page.locator(".error")).to_contain_text("not accepted")
        page.wait_for_timeout(delay(MAX_FAILURES) * 1000 + 100)
        assert attempt("dlt_wrong") == 401  # the sixth failure
        assert attempt("dlt_wrong") == 429
        expect(page.locator(".error")).to_contain_text("Too many failed sign-ins")
        check(page, "signin-throttled")
        assert attempt(demo.tokens["oversight"]) in (302, 303)
        page.wait_for_url("**/")
        assert page.get_by_role("heading", name="Overview").is_visible()
    finally:
        store = demo.app.state.web_sessions
        with store.engine.begin() as conn:
            conn.execute(store.failures.delete())
