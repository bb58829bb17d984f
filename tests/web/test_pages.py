"""The dashboard over HTTP (no browser): sign-in, cookies, CSRF, roles, the TIN only in a POST body,
the inspection recorded first, the CSV against the projections, and no 5xx on bad input."""

from __future__ import annotations

import csv
import io
import re
import time

import httpx
import pytest
from markupsafe import escape

from api.web.labels import label
from api.web.pages import PAGES
from api.web.routes.reports import JCT_COLUMNS
from ledger.core.entry import parse_entry
from projections.db import open_database
from projections.queries import Queries

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def signed_in(demo, role: str) -> httpx.Client:
    c = httpx.Client(base_url=demo.base)
    page = c.get("/signin")
    r = c.post("/signin", data={"csrf": CSRF.search(page.text).group(1), "token": demo.tokens[role]})
    assert r.status_code == 303 and r.headers["location"] == "/"
    return c


def overview_when_checked(c: httpx.Client) -> str:
    """The overview once the background re-check of the stored log has a result."""
    for _ in range(100):
        page = c.get("/").text
        if "being checked now" not in page:
            return page
        time.sleep(0.1)
    raise AssertionError("the stored log's re-check never finished")


def csrf_of(c: httpx.Client, path: str = "/") -> str:
    return CSRF.search(c.get(path).text).group(1)


def test_signed_out_pages_go_to_sign_in(demo):
    c = httpx.Client(base_url=demo.base)
    for path, _, _ in PAGES:
        r = c.get(path)
        assert r.status_code == 303 and r.headers["location"] == "/signin", path
    assert c.get("/entries/1/proof.json").status_code == 403
    assert c.post("/taxpayer", data={"tin": "900-70-0001", "purpose": "x"}).status_code == 303


def test_sign_in_cookie_csrf_and_sign_out(demo):
    c = httpx.Client(base_url=demo.base)
    page = c.get("/signin")
    assert page.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    token = CSRF.search(page.text).group(1)
    # no CSRF token, a wrong one, or a cross-site Origin: refused
    assert c.post("/signin", data={"token": demo.tokens["oversight"]}).status_code == 403
    assert c.post("/signin", data={"csrf": "x" + token, "token": demo.tokens["oversight"]}).status_code == 403
    assert c.post("/signin", data={"csrf": token, "token": demo.tokens["oversight"]},
                  headers={"Origin": "https://evil.example"}).status_code == 403
    page = c.get("/signin")
    bad = c.post("/signin", data={"csrf": CSRF.search(page.text).group(1), "token": "dlt_nope"})
    assert bad.status_code == 401 and "not accepted" in bad.text
    assert "dl_session" not in (bad.headers.get("set-cookie") or "")
    page = c.get("/signin")
    r = c.post("/signin", data={"csrf": CSRF.search(page.text).group(1), "token": demo.tokens["court"]})
    cookie = r.headers["set-cookie"]
    assert "dl_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Secure" not in cookie  # plain HTTP here; Secure when served over TLS
    assert demo.tokens["court"] not in cookie
    assert c.get("/").status_code == 200
    # sign-out needs the session's CSRF token
    assert c.post("/signout", data={"csrf": "wrong"}).status_code == 403
    assert c.get("/").status_code == 200
    r = c.post("/signout", data={"csrf": csrf_of(c)})
    assert r.status_code == 303 and r.headers["location"] == "/signin"
    assert c.get("/").status_code == 303


def test_secure_cookie_over_tls(demo):
    c = httpx.Client(base_url=demo.base)
    page = c.get("/signin", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in page.headers["set-cookie"]


VISIBLE = {
    "oversight": {p for p, _, _ in PAGES},
    "court": {"/", "/taxpayer", "/requests", "/audit", "/checkpoints", "/trust"},
    "operator": {"/", "/checkpoints", "/trust"},
}


@pytest.mark.parametrize("role", ["oversight", "court", "operator"])
def test_role_sees_only_its_pages(demo, role):
    c = signed_in(demo, role)
    home = c.get("/").text
    nav = set(re.findall(r'<li><a href="([^"]+)"', home.split('aria-label="Main"')[1].split("</nav>")[0]))
    assert nav == VISIBLE[role]
    for path, _, _ in PAGES:
        r = c.get(path)
        assert r.status_code == (200 if path in VISIBLE[role] else 403), (role, path)
    for path in ("/entries/3", "/entries/3/proof.json", "/annual.csv", "/requests/x"):
        allowed = role == "oversight" or (role == "court" and not path.startswith("/annual"))
        status = c.get(path).status_code
        assert (status != 403) if allowed else status == 403, (role, path, status)
    if role == "operator":  # no disclosure data on its overview, no way to look a taxpayer up
        assert "Red flags" not in home and "Pending requests" not in home
        assert c.post("/taxpayer", data={"csrf": csrf_of(c), "tin": "900-70-0001", "purpose": "x"}).status_code == 403


def test_taxpayer_lookup_records_an_inspection_first(demo):
    c = signed_in(demo, "oversight")
    tin = demo.released_tin()
    size = demo.ledger.size()
    r = c.post("/taxpayer", data={"csrf": csrf_of(c, "/taxpayer"), "tin": tin, "purpose": "fictional audit"})
    assert r.status_code == 200 and str(r.url).endswith("/taxpayer")
    assert tin not in r.text and tin.replace("-", "") not in r.text
    assert demo.keys.pseudonym(tin)[:12] not in r.text  # neither shown nor in the paging form's handle
    assert demo.keys.reader_pseudonym("test.example/oversight", demo.keys.pseudonym(tin))[:12] in r.text
    recorded = int(re.search(r"recorded as entry\s*<a href=\"/entries/(\d+)\"", r.text).group(1))
    assert recorded >= size and demo.ledger.size() > recorded
    assert "<strong>Release</strong>" in r.text and "Inspection of the taxpayer history" in r.text
    assert 'by <span class="inspector">test.example/oversight</span>' in r.text
    assert '<span class="purpose">fictional audit</span>' in r.text
    history = Queries(open_database(demo.ledger.settings.db_url)).taxpayer_history(demo.keys.pseudonym(tin))
    assert any(e["kind"] == "inspection" and e["index"] == recorded for e in history.items)
    # without the session's CSRF token nothing is recorded
    before = demo.ledger.size()
    assert c.post("/taxpayer", data={"csrf": "forged", "tin": tin, "purpose": "x"}).status_code == 403
    assert demo.ledger.size() == before
    bad = c.post("/taxpayer", data={"csrf": csrf_of(c, "/taxpayer"), "tin": "<script>1</script>", "purpose": "x"})
    assert bad.status_code == 400 and "<script>1" not in bad.text and demo.ledger.size() == before


def test_annual_csv_matches_the_projections(demo):
    c = signed_in(demo, "oversight")
    year = int(parse_entry(demo.ledger.entry(0)).recorded_at[:4])  # the demo is recorded as it runs
    r = c.get(f"/annual.csv?year={year}")
    assert r.headers["content-type"].startswith("text/csv") and "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    want = Queries(open_database(demo.ledger.settings.db_url)).jct_table(year)
    assert want and [{k: str(w[k]) for k in JCT_COLUMNS} for w in want] == rows


@pytest.mark.parametrize("path", ["/requests?since=2025-13-01", "/requests?agency=%00", "/audit?until=x",
                                  "/disclosures?by=nope", "/annual?year=abc", "/annual.csv?year=99999",
                                  "/entries/-1", "/entries/99999999999999999999", "/entries?index=x",
                                  "/requests/%3Cb%3E", "/static/../app.py", "/entries/1/proof.json?x=%ff",
                                  "/audit?since=%3Cb%3Ex", "/disclosures?by=%3Cb%3E",
                                  # digits to str.isdigit() that int() refuses (superscript two)
                                  "/requests?page=%C2%B2", "/checkpoints?size=%C2%B2", "/annual?year=%C2%B2",
                                  "/entries/%C2%B2", "/entries?index=%C2%B2", "/entries/%C2%B2/proof.json"])
def test_bad_input_is_never_a_5xx(demo, path):
    c = signed_in(demo, "oversight")
    r = c.get(path)
    assert r.status_code < 500, (path, r.status_code)
    assert "<b>" not in r.text  # echoed input is escaped


def test_date_filters_and_entry_jump(demo):
    c = signed_in(demo, "oversight")
    year = int(parse_entry(demo.ledger.entry(0)).recorded_at[:4])
    page = c.get(f"/disclosures?since={year}-01-01").text
    assert "DHS/ICE" in page and 'id="safeguards"' in page
    empty = c.get(f"/disclosures?until={year - 1}-01-01&by=exception")
    assert empty.status_code == 200 and "No disclosures match" in empty.text
    assert "No requests match" in c.get(f"/requests?since={year + 1}-01-01").text
    assert "No requests match" in c.get("/requests?agency=NOPE").text
    assert c.get(f"/audit?since={year + 1}-01-01").status_code == 200
    r = c.get("/entries?index=4")
    assert r.status_code == 303 and r.headers["location"] == "/entries/4"
    assert 'action="/entries"' in c.get("/checkpoints").text
    operator = signed_in(demo, "operator")
    assert 'action="/entries"' not in operator.get("/checkpoints").text


def test_overview_shows_a_tampered_stored_log(tmp_path):
    """One flipped byte in a stored entry: the overview says the log is NOT verified."""
    from webfix import start_demo

    demo, close = start_demo(tmp_path)
    try:
        data = bytearray(demo.ledger.entry(7))
        data[data.index(b'"recorded_at"') + 20] ^= 0x01
        with demo.ledger.store.writing() as db:
            db.many(f"UPDATE {db.t('dl_entries')} SET entry = %s WHERE idx = %s", [(bytes(data), 7)])
        page = overview_when_checked(signed_in(demo, "operator"))
        assert "✘ NOT verified" in page and "✔ verified" not in page
    finally:
        close()


def test_overview_lists_blocked_attempts_for_readers(demo):
    page = signed_in(demo, "court").get("/").text
    assert len(demo.report.blocked) > 0
    assert f"{len(demo.report.blocked)} statements were refused by the rules" in page
    for _, rules in demo.report.blocked:
        assert all(rule in page for rule in rules)


def test_lookup_fails_closed_when_the_inspection_is_not_recorded(demo, monkeypatch):
    from ledger.core.errors import LedgerError

    def refuse(*_a, **_k):
        raise LedgerError("append refused (test)")

    monkeypatch.setattr(demo.app.state.dl.service, "submit", refuse)
    c = signed_in(demo, "oversight")
    r = c.post("/taxpayer", data={"csrf": csrf_of(c, "/taxpayer"), "tin": demo.released_tin(), "purpose": "x"})
    assert r.status_code == 503 and "was not read" in r.text and 'id="history"' not in r.text


def test_request_page_counts_match_the_projections(demo):
    rid = demo.report.requests["placeholder request"]
    page = signed_in(demo, "court").get(f"/requests/{rid}").text  # the page catches the views up first
    status = Queries(open_database(demo.ledger.settings.db_url)).request_status(rid)
    row = page.split('<table id="line-counts">')[1].split("</table>")[0]
    cells = [int(x) for x in re.findall(r"<td>(\d+)</td>", row)]
    assert cells == [status[k] for k in ("requested", "lines_recorded", "matched", "approved", "released", "refused")]
    assert status["refused"] > 0 and status["refusal_reasons"]
    for reason in status["refusal_reasons"]:  # the reason's label, its code on hover, lines counted in words
        n = reason["lines"]
        assert (f'title="{reason["reason"]}">{escape(label("reason", reason["reason"]))}</span>: '
                f'{n} line{"s" if n != 1 else ""}') in page
    assert all(f'title="{f["flag"]}"' in page for f in status["red_flags"])
    assert status["resubmitted_by"][0]["request_id"] in page
    assert 'role="img"' in page and "<title" in page  # the chart, named for screen readers


def test_overview_says_unwitnessed_without_a_witness_policy(demo):
    """The demo has no witness policy: the overview says its checkpoints carry the log's signature alone."""
    page = signed_in(demo, "court").get("/").text
    assert '<dd id="witnesses">unwitnessed</dd>' in page
