"""An auditor's day in Debian's Chromium (Playwright, axe-core on every page): the CSV link of every
table downloads the API's rows, a taxpayer's history names who read it and why (and downloads too),
tables scroll inside their box and charts stay legible on a 390 px phone, and an unknown address is
an HTML page."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from webfix import check, sign_in

pytestmark = pytest.mark.xdist_group("web-browser")  # one worker, one browser

TABLES = [  # (page, the link's id, the API's listing, its query)
    ("/requests", "requests-csv", "/v1/oversight/requests", ""),
    ("/requests?agency=DHS%2FICE", "requests-csv", "/v1/oversight/requests", "agency=DHS%2FICE"),
    ("/disclosures", "releases-csv", "/v1/oversight/disclosures", ""),
    ("/disclosures?by=exception", "totals-csv", "/v1/oversight/disclosures/totals", "by=exception"),
    ("/audit", "audit-csv", "/v1/oversight/release-audit", ""),
    ("/", "blocked-csv", "/v1/oversight/blocked", ""),
    ("/disclosures", "safeguards-csv", "/v1/oversight/safeguards", ""),
    ("/checkpoints", "checkpoints-csv", "/v1/checkpoints/history", ""),
]


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def download(pg, locator) -> str:
    with pg.expect_download() as info:
        locator.click()
    return Path(info.value.path()).read_bytes().decode("utf-8")  # as sent: CRLF kept


def test_csv_link_on_every_table_gives_the_api_rows(page, demo):
    sign_in(page, demo.tokens["oversight"])
    auth = {"Authorization": f"Bearer {demo.tokens['oversight']}"}
    for path, link, api_path, query in TABLES:
        page.goto(path)
        text = download(page, page.locator(f"#{link}"))
        got = rows(text)
        sep = "&" if query else ""
        api_csv = page.request.get(f"{api_path}?{query}{sep}format=csv&limit=1000", headers=auth)
        api_json = page.request.get(f"{api_path}?{query}{sep}limit=1000", headers=auth)
        assert api_csv.ok and api_json.ok, (path, api_csv.status, api_json.status)
        assert got and text == api_csv.text(), path
        assert len(got) == len(api_json.json()["items"]), path
    page.goto("/audit")
    assert "pseudonym" not in rows(download(page, page.locator("#audit-csv")))[0]
    check(page, "audit-with-csv")


def test_history_names_the_inspector_and_the_purpose_and_downloads(page, demo):
    sign_in(page, demo.tokens["court"])
    tin = demo.released_tin()
    page.goto("/taxpayer")
    page.get_by_label("Taxpayer identification number (TIN)").fill(tin)
    page.get_by_label("Purpose of this read").fill("Court review, docket 24-117")
    page.get_by_role("button", name="Look up and record the inspection").click()
    page.wait_for_selector("#history")
    index = page.locator("#inspection-recorded a").inner_text()
    row = page.locator("#history tbody tr", has=page.locator(f"a[href='/entries/{index}']"))
    assert row.locator(".inspector").inner_text() == "test.example/court"
    assert row.locator(".purpose").inner_text() == "Court review, docket 24-117"
    check(page, "history-inspector")
    text = download(page, page.get_by_role("button", name="Download this history as CSV"))
    got = rows(text)
    assert tin not in text and tin.replace("-", "") not in text
    mine = [r for r in got if r["index"] == index]
    assert mine and mine[0]["inspector"] == "test.example/court" and mine[0]["purpose"] == "Court review, docket 24-117"
    api = page.request.post("/v1/oversight/taxpayer", data={"tin": tin, "purpose": "compare", "limit": 1000},
                            headers={"Authorization": f"Bearer {demo.tokens['court']}"})
    assert api.ok
    downloaded_at = max(int(r["index"]) for r in got)  # the download's own inspection
    items = [i for i in api.json()["items"] if i["index"] <= downloaded_at]
    assert [int(r["index"]) for r in got] == [i["index"] for i in items]
    assert [r["kind"] for r in got] == [i["kind"] for i in items]


def test_phone_tables_scroll_in_their_box_and_charts_are_legible(page, demo):
    sign_in(page, demo.tokens["oversight"])
    page.set_viewport_size({"width": 390, "height": 844})
    rid = page.request.get("/v1/oversight/requests?limit=1",
                           headers={"Authorization": f"Bearer {demo.tokens['oversight']}"}).json()["items"][0]
    for path in ("/", "/requests", "/disclosures", "/disclosures?by=exception", "/audit", "/annual",
                 f"/requests/{rid['request_id']}", "/checkpoints"):
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 391, path
        boxes = page.evaluate("""() => [...document.querySelectorAll('.scroll')].map(b => {
            const before = b.scrollLeft; b.scrollLeft = 40; const moved = b.scrollLeft; b.scrollLeft = before;
            return {width: b.getBoundingClientRect().right, client: b.clientWidth, scroll: b.scrollWidth, moved};
        })""")
        for box in boxes:  # inside the screen; a wider table scrolls in its own box
            assert box["width"] <= 391, (path, box)
            if box["scroll"] > box["client"]:
                assert box["moved"] > 0, (path, box)
        sizes = page.evaluate("""() => [...document.querySelectorAll('svg.chart text')].map(t => {
            const svg = t.ownerSVGElement;
            const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
            return parseFloat(getComputedStyle(t).fontSize) * scale;
        })""")
        assert all(s >= 11 for s in sizes), (path, min(sizes))
        check(page, "phone-" + path.strip("/").replace("/", "-").replace("?", "-").replace("=", "-")[:40])
    page.goto("/requests")
    wide = page.evaluate("() => { const b = document.querySelector('#requests').closest('.scroll');"
                         " return [b.scrollWidth, b.clientWidth]; }")
    assert wide[0] > wide[1]  # the requests table is wider than a phone: it scrolls in its box


def test_unknown_address_is_an_html_page(page, demo):
    sign_in(page, demo.tokens["operator"])
    response = page.goto("/no/such/page")
    assert response.status == 404 and response.headers["content-type"].startswith("text/html")
    assert page.get_by_role("heading", name="No such page").is_visible()
    assert page.get_by_role("navigation", name="Main").is_visible()
    check(page, "not-found")
