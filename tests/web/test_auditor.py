"""What an auditor who uses the dashboard every day needs, over HTTP on SQLite and PostgreSQL: a CSV
download of every table (the API's rows, the API's pseudonym rule), who read a taxpayer's history and
why, plain-language labels instead of codes, each red flag once, plurals, lines counted from 1, HTML
error pages, form errors that name the field and keep the other inputs, one encoding of a root, and
a sign-in throttle that slows guessing without locking valid tokens out."""

from __future__ import annotations

import csv
import io
import re
import time
from html import unescape

import httpx
import pytest
import sqlalchemy as sa
from test_pages import CSRF, csrf_of, signed_in

from api.csvsafe import FORMULA_START
from api.routes.views import cell
from api.web import labels
from api.web.pages import PAGES
from api.web.session import MAX_FAILURES, WebStore, delay
from ledger.core.b64 import b64encode
from ledger.core.entry import parse_entry
from ledger.core.statement import parse_statement


@pytest.fixture
def demo(any_demo):
    return any_demo


def bearer(demo, role: str = "oversight") -> dict[str, str]:
    return {"Authorization": f"Bearer {demo.tokens[role]}"}


def api_csv(demo, path: str, role: str = "oversight", **params) -> str:
    r = httpx.get(demo.base + path, params={"format": "csv", "limit": 1000, **params}, headers=bearer(demo, role))
    assert r.status_code == 200 and "x-next-after" not in r.headers, (path, r.status_code)
    return r.text


def api_json(demo, path: str, role: str = "oversight", **params) -> dict:
    r = httpx.get(demo.base + path, params={"limit": 1000, **params}, headers=bearer(demo, role))
    assert r.status_code == 200, (path, r.status_code)
    return r.json()


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def visible(html: str) -> str:
    """The page's text as read: no scripts, no tags (so no title attributes), entities decoded, and
    without the codes shown beside their label (``<code class="code">``)."""
    html = re.sub(r"<(script|style|pre)[^>]*>.*?</\1>", " ", html, flags=re.S)  # pre: a signed statement as is
    html = re.sub(r'<code class="code">.*?</code>', " ", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", html))


def one_line(html: str) -> str:
    return re.sub(r"\s+", " ", visible(html))


# ---- CSV downloads ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("page", "download", "api_path", "query"), [
    ("/requests", "/requests.csv", "/v1/oversight/requests", {}),
    ("/requests", "/requests.csv", "/v1/oversight/requests", {"agency": "DHS/ICE", "exception": "6103(i)(2)"}),
    ("/disclosures", "/disclosures.csv", "/v1/oversight/disclosures", {}),
    ("/disclosures", "/disclosures/totals.csv", "/v1/oversight/disclosures/totals", {"by": "exception"}),
    ("/audit", "/audit.csv", "/v1/oversight/release-audit", {}),
    ("/", "/blocked.csv", "/v1/oversight/blocked", {}),
    ("/disclosures", "/safeguards.csv", "/v1/oversight/safeguards", {}),
    ("/checkpoints", "/checkpoints.csv", "/v1/checkpoints/history", {}),
])
def test_every_table_downloads_the_api_rows_as_csv(demo, page, download, api_path, query):
    """The page links its CSV (with its filters); the download, in the session, is the API's CSV for the
    same query byte for byte, and as many rows as the API's JSON."""
    c = signed_in(demo, "oversight")
    html = c.get(page, params=query).text
    links = re.findall(r'<a class="csv"[^>]* href="([^"]+)"', html)
    want_link = download + ("?" + str(httpx.QueryParams(query)) if query else "")
    assert unescape(want_link) in [unescape(x) for x in links], (links, want_link)
    r = c.get(download, params=query)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"] and r.headers["cache-control"] == "no-store"
    got = rows(r.text)
    assert got, download
    assert r.text == api_csv(demo, api_path, **query)
    items = api_json(demo, api_path, **query)["items"]
    assert len(got) == len(items)
    for row in got:  # nothing a spreadsheet would evaluate
        assert not any(v.startswith(FORMULA_START) for v in row.values()), row


def test_annual_rows_download_as_the_api_annual_report(demo):
    c = signed_in(demo, "oversight")
    year = int(api_json(demo, "/v1/oversight/disclosures")["items"][0]["recorded_at"][:4])
    assert f'href="/annual-report.csv?year={year}"' in c.get("/annual", params={"year": year}).text
    r = c.get("/annual-report.csv", params={"year": year})
    assert r.status_code == 200 and rows(r.text)
    want = httpx.get(f"{demo.base}/v1/oversight/annual-report/{year}", params={"format": "csv"}, headers=bearer(demo))
    assert r.text == want.text
    assert c.get("/annual-report.csv", params={"year": "x"}).status_code == 400


def test_release_audit_csv_keeps_the_api_pseudonym_rule(demo):
    """No raw pseudonym in the audit's CSV: each reader gets their own re-keyed reference, the API's."""
    for role in ("oversight", "court"):
        text = signed_in(demo, role).get("/audit.csv").text
        got = rows(text)
        assert got and "pseudonym" not in got[0] and "taxpayer_ref" in got[0]
        assert text == api_csv(demo, "/v1/oversight/release-audit", role=role)
        from demo.scenario import accounting_rows

        raw = ({demo.keys.pseudonym(p.tin) for p in demo.master.records}
               | {demo.keys.pseudonym(r["matched_tin"]) for r in accounting_rows()})  # and the 2025 accounting
        assert not raw & {r["taxpayer_ref"] for r in got}
        principal = f"test.example/{role}"
        assert {r["taxpayer_ref"] for r in got} <= {demo.keys.reader_pseudonym(principal, p) for p in raw}


def test_downloads_follow_the_pages_roles(demo):
    operator, court = signed_in(demo, "operator"), signed_in(demo, "court")
    for path in ("/requests.csv", "/audit.csv", "/blocked.csv", "/disclosures.csv"):
        assert operator.get(path).status_code == 403, path
    assert court.get("/requests.csv").status_code == 200 and court.get("/disclosures.csv").status_code == 403
    assert httpx.get(demo.base + "/requests.csv").status_code == 303  # signed out: to the sign-in page


def _history(c: httpx.Client, tin: str, purpose: str, **dates: str) -> httpx.Response:
    return c.post("/taxpayer", data={"csrf": csrf_of(c, "/taxpayer"), "tin": tin, "purpose": purpose, **dates})


def test_taxpayer_history_csv_is_the_api_history_with_inspector_and_purpose(demo):
    """The history's download (a POST by the page's handle, recorded as an inspection first) is the
    API's rows for the same taxpayer; each inspection names its reader and purpose."""
    c = signed_in(demo, "oversight")
    tin = demo.released_tin()
    page = _history(c, tin, "csv audit").text
    handle = re.search(r'name="handle" value="([^"]+)"', page).group(1)
    assert re.search(r'<form method="post" action="/taxpayer.csv"', page)
    size = demo.ledger.size()
    r = c.post("/taxpayer.csv", data={"csrf": csrf_of(c, "/taxpayer"), "handle": handle, "purpose": "csv download"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert demo.ledger.size() == size + 1  # the download was recorded as a read
    got = rows(r.text)
    assert tin not in r.text and demo.keys.pseudonym(tin) not in r.text
    api = httpx.post(demo.base + "/v1/oversight/taxpayer", json={"tin": tin, "purpose": "api check", "limit": 1000},
                     headers=bearer(demo))
    assert api.status_code == 200
    items = [i for i in api.json()["items"] if i["index"] <= size]  # up to the download's own inspection
    assert len(items) == len(got)
    for item, row in zip(items, got, strict=True):
        assert {k: cell(v) for k, v in item.items()} == {k: row[k] for k in item}
        assert all(row[k] == "" for k in row if k not in item)
    mine = [g for g in got if g["kind"] == "inspection" and g["purpose"] == "csv download"]
    assert len(mine) == 1 and mine[0]["inspector"] == "test.example/oversight"
    # without a history shown first (no handle), nothing is read
    bad = c.post("/taxpayer.csv", data={"csrf": csrf_of(c, "/taxpayer"), "tin": tin, "purpose": "x"})
    assert bad.status_code == 400 and demo.ledger.size() == size + 2


# ---- who read, and why --------------------------------------------------------------------------------
def test_a_history_names_the_inspecting_principal_and_the_purpose(demo):
    """Reads by the API and by the dashboard are the same statement (reader, role, view, purpose); the
    history shows each with its principal and purpose, not the ledger's key, on the page and in the JSON."""
    tin = demo.released_tin()
    api = httpx.post(demo.base + "/v1/oversight/taxpayer", json={"tin": tin, "purpose": "court's API read"},
                     headers=bearer(demo, "court"))
    assert api.status_code == 200
    c = signed_in(demo, "oversight")
    page = _history(c, tin, "Dashboard audit <b>Q3</b>")
    recorded = int(re.search(r'recorded as entry\s*<a href="/entries/(\d+)"', page.text).group(1))
    rows_ = re.findall(r"<tr>\s*<td><a href=\"/entries/(\d+)\">.*?</tr>", page.text, flags=re.S)
    assert str(recorded) in rows_
    text = one_line(page.text)
    assert "by test.example/oversight (role oversight)" in text
    assert "purpose: Dashboard audit <b>Q3</b>" in text and "<b>Q3" not in page.text  # shown, escaped
    assert "by test.example/court (role court)" in text and "purpose: court's API read" in text
    ledger_key = demo.ledger.keys.statement.name
    assert f"by {ledger_key} (role" not in text  # the ledger's key only signs, as "recorded by"
    # the same statement from both surfaces
    bodies = {}
    for index in (recorded, api.json()["inspection"]["index"]):
        stmt = parse_statement(parse_entry(demo.ledger.entry(index)).statement)
        assert stmt.type == "inspection"
        bodies[index] = stmt.body
    a, b = bodies.values()
    assert set(a) == set(b) and a["view"] == b["view"] == "taxpayer_history"
    assert {a["reader"], b["reader"]} == {"test.example/oversight", "test.example/court"}
    # and the JSON names them too
    again = httpx.post(demo.base + "/v1/oversight/taxpayer", json={"tin": tin, "purpose": "again", "limit": 1000},
                       headers=bearer(demo))
    seen = {i["index"]: i for i in again.json()["items"] if i["kind"] == "inspection"}
    assert seen[recorded]["inspector"] == "test.example/oversight"
    assert seen[recorded]["purpose"] == "Dashboard audit <b>Q3</b>"


# ---- labels, flags, plurals, lines ------------------------------------------------------------------
def every_page(demo, c: httpx.Client) -> dict[str, str]:
    """Every page of the demo an oversight reader can open (and a history, an entry of each kind)."""
    from projections.db import open_database
    from projections.queries import Queries

    views = open_database(demo.ledger.settings.db_url)
    try:
        q = Queries(views)
        reqs = [r["request_id"] for r in q.requests(limit=1000).items]
        year = int(q.disclosures(limit=1).items[0]["recorded_at"][:4])
    finally:
        views.close()
    out = {}
    for path in [p for p, _, _ in PAGES] + [f"/requests/{r}" for r in reqs] + [
            "/disclosures?by=exception", "/disclosures?by=recipient_agency", f"/annual?year={year}",
            "/entries/0", "/entries/12", "/no-such-page"]:
        out[path] = c.get(path, headers={"Accept": "text/html"}).text
    out["history"] = _history(c, demo.released_tin(), "labels").text
    return out


def test_no_raw_code_reaches_a_page(demo):
    """Every code the catalog knows (exceptions, purposes, categories, red flags, refusal reasons, rule
    ids, statement types) is shown by its label, the code only on hover or marked as the code beside it."""
    codes = {c for c in labels.all_codes() if "_" in c or "." in c or "(" in c}
    assert "boilerplate_reasons" in codes and "criminal_investigation" in codes and "6103(i)(2)" in codes
    pages = every_page(demo, signed_in(demo, "oversight"))
    for path, html in pages.items():
        text = visible(html)
        raw = sorted(c for c in codes if re.search(r"(?<![\w.])" + re.escape(c) + r"(?![\w])", text))
        assert not raw, (path, raw)
    overview = pages["/"]
    assert 'title="boilerplate_reasons"' in overview  # the code on hover
    assert labels.label("flag", "boilerplate_reasons") in unescape(overview)


def test_every_code_of_the_catalog_has_its_own_label():
    """No code of the catalog falls back to its spelled-out words."""
    from ledger.rules import catalog

    for code, rule in catalog.CATALOG.items():
        assert labels.label("exception", code) == rule.title
        assert rule.purposes <= set(labels.PURPOSES) and rule.requester_categories <= set(labels.CATEGORIES)
        for pre in rule.preconditions():
            kind = pre.split(":", 1)
            assert kind[0] in labels.PRECONDITIONS or (kind[0] == "document" and kind[1] in labels.DOCUMENTS), pre
    assert {"placeholder_addresses", "requester_address_differs", "boilerplate_reasons", "bulk_request",
            "implausible_caseload", "civil_purpose_under_criminal_authority", "tin_only_match",
            "unusable_address", "resubmission"} <= set(labels.RED_FLAGS)
    for rule in labels.RULES:
        assert labels.label("rule", rule) == labels.RULES[rule]
    assert labels.label("rule", "trust.brand_new") == "Key registry: brand new"  # a later rule is still words


def test_each_red_flag_once_per_request_on_the_overview(demo):
    """A flag the matcher raised and the reviewer logged is listed once, naming both."""
    page = signed_in(demo, "court").get("/").text
    recent = page.split("<h3>Most recent</h3>")[1].split("</ul>")[0]
    items = re.findall(r"<li>(.*?)</li>", recent, flags=re.S)
    assert items
    requests_seen = [re.search(r'href="/requests/([^"]+)"', i).group(1) for i in items]
    assert len(requests_seen) == len(set(requests_seen))
    for item in items:
        flags = re.findall(r'class="coded" title="([^"]+)"', item.split("):", 1)[1])
        assert flags and len(flags) == len(set(flags)), item
    assert "raised in the match result and the review" in one_line(page)


def test_plurals_and_lines_counted_from_one(demo):
    """No "1 request lines" or "1 inspections"; request lines are numbered from 1 where people read them."""
    c = signed_in(demo, "oversight")
    pages = every_page(demo, c)
    bad = re.compile(r"(?<![\d.])1 (request lines|inspections|releases|lines|requests|blocked attempts|recipients"
                     r"|statements were)\b")
    for path, html in pages.items():
        assert not bad.search(one_line(html)), (path, bad.search(one_line(html)))
    assert labels.plural(1, "request line") == "1 request line" and labels.plural(2, "inspection") == "2 inspections"
    tin = demo.released_tin()
    items = httpx.post(demo.base + "/v1/oversight/taxpayer", json={"tin": tin, "purpose": "lines", "limit": 1000},
                       headers=bearer(demo)).json()["items"]
    text = one_line(_history(c, tin, "lines").text)
    for e in items:
        if e["kind"] == "request":
            assert f"Request line {e['line'] + 1} of {e['request_id']}" in text
        if e["kind"] == "release":
            assert f"(line {e['line'] + 1}" in text
    audit = api_json(demo, "/v1/oversight/release-audit")["items"]
    cells = re.findall(r'<td><a href="/requests/[^"]+">[^<]+</a></td><td>(\d+)</td>', c.get("/audit").text)
    assert [int(x) for x in cells] == [a["line"] + 1 for a in audit][:len(cells)] and cells


# ---- error pages, form errors, roots ------------------------------------------------------------------
def test_dashboard_errors_are_pages_and_the_api_keeps_problem_json(demo):
    c = signed_in(demo, "oversight")
    html = {"Accept": "text/html,application/xhtml+xml"}
    r = c.get("/no/such/page", headers=html)
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "<h1>No such page</h1>" in r.text and 'aria-label="Main"' in r.text
    assert r.headers["cache-control"] == "no-store" and "script-src 'self'" in r.headers["content-security-policy"]
    r = c.post("/requests", headers=html)
    assert r.status_code == 405 and r.headers["content-type"].startswith("text/html")
    signed_out = httpx.get(demo.base + "/nothing-here", headers=html)
    assert signed_out.status_code == 404 and "<h1>No such page</h1>" in signed_out.text
    for path in ("/v1/nope", "/v1/oversight/requests?limit=0"):
        api = c.get(path, headers={**html, **bearer(demo)})
        assert api.headers["content-type"].startswith("application/problem+json"), path
    assert c.get("/no/such/page").headers["content-type"].startswith("application/problem+json")  # not a browser


def test_422_and_500_are_pages_for_a_browser(demo, monkeypatch):
    from fastapi import Request

    from api.errors import Problem, problem_response

    def request(path: str, accept: str) -> Request:
        return Request({"type": "http", "method": "GET", "path": path, "query_string": b"", "app": demo.app,
                        "headers": [(b"accept", accept.encode())]})

    page = problem_response(Problem(422, "invalid-request", "Request does not match the schema", "x"),
                            request("/requests", "text/html"))
    assert page.status_code == 422 and b"<h1>Bad input</h1>" in page.body
    assert problem_response(Problem(422, "invalid-request", "t"), request("/v1/x", "text/html")).media_type == \
        "application/problem+json"
    import api.web.routes.requests as requests_route

    def broken(*_a, **_k):
        raise RuntimeError("a bug")

    monkeypatch.setattr(requests_route, "filters", broken)
    r = signed_in(demo, "court").get("/requests", headers={"Accept": "text/html"})
    assert r.status_code == 500 and "<h1>Something went wrong</h1>" in r.text and "a bug" not in r.text


def test_lookup_form_errors_name_the_field_and_keep_the_other_inputs(demo):
    c = signed_in(demo, "oversight")
    size = demo.ledger.size()
    r = _history(c, "12-34", "Quarterly review of ICE requests", since="2025-01-01")
    assert r.status_code == 400 and demo.ledger.size() == size
    error = one_line(r.text.split('id="lookup-error"')[1].split("</p>")[0])
    assert "TIN" in error and "purpose" not in error.lower()
    assert 'id="tin-error"' in r.text and 'aria-invalid="true"' in r.text
    assert 'value="Quarterly review of ICE requests"' in r.text and 'value="2025-01-01"' in r.text
    assert "12-34" not in r.text  # the TIN is never put back in the page
    r = _history(c, demo.released_tin(), "")
    assert r.status_code == 400 and 'id="purpose-error"' in r.text and 'id="tin-error"' not in r.text
    assert "Purpose" in one_line(r.text.split('id="lookup-error"')[1].split("</p>")[0])
    r = _history(c, demo.released_tin(), "dates", since="2025-02-01", until="2025-01-01")
    assert r.status_code == 400 and 'id="until-error"' in r.text and 'value="dates"' in r.text


def test_one_encoding_of_a_root_per_page(demo):
    """The signed checkpoint writes its root in base64; no page shows it in hex as well."""
    c = signed_in(demo, "oversight")
    demo.ledger.checkpoint(force=True)
    latest = demo.ledger.latest_checkpoint()
    root = latest.checkpoint.root
    for path in ("/", "/checkpoints"):
        page = c.get(path).text
        assert not (b64encode(root)[:16] in page and root.hex()[:16] in page), path
    page = c.get("/checkpoints").text  # the signed note is base64: the table says the same
    assert page.count(b64encode(root)[:16]) >= 2 and root.hex()[:16] not in page


# ---- the sign-in throttle -------------------------------------------------------------------------------
def _attempt(demo, token: str) -> httpx.Response:
    c = httpx.Client(base_url=demo.base)  # no session: each try starts at the sign-in form
    page = c.get("/signin")
    return c.post("/signin", data={"csrf": CSRF.search(page.text).group(1), "token": token})


@pytest.fixture
def throttle(demo):
    httpx.get(demo.base + "/signin")  # the app makes its session store at its first page
    store: WebStore = demo.app.state.web_sessions
    with store.engine.begin() as conn:
        conn.execute(store.failures.delete())
    yield store
    with store.engine.begin() as conn:
        conn.execute(store.failures.delete())


def test_brute_force_is_slowed_but_a_valid_token_signs_in_after_six_failures(demo, throttle):
    """Guesses from one address: free at first, then each must wait longer (429, Retry-After, the
    token not checked); a valid token from the same address still signs in at once."""
    guesses = iter(f"dlt_{i:016x}_" + "A" * 43 for i in range(100))
    for _ in range(MAX_FAILURES):
        assert _attempt(demo, next(guesses)).status_code == 401
    slowed = _attempt(demo, next(guesses))
    assert slowed.status_code == 429 and "Too many failed sign-ins" in slowed.text
    assert int(slowed.headers["retry-after"]) == delay(MAX_FAILURES)
    time.sleep(delay(MAX_FAILURES) + 0.1)
    assert _attempt(demo, next(guesses)).status_code == 401  # the sixth failure
    for _ in range(3):
        again = _attempt(demo, next(guesses))
        assert again.status_code == 429 and int(again.headers["retry-after"]) == delay(MAX_FAILURES + 1)
    ok = _attempt(demo, demo.tokens["court"])
    assert ok.status_code == 303 and "dl_session=" in ok.headers["set-cookie"]
    assert _attempt(demo, next(guesses)).status_code == 429  # a success of one's own does not reset the guessing
    with throttle.engine.connect() as conn:
        stored = list(conn.execute(sa.select(throttle.failures)))
    assert stored and "127.0.0.1" not in repr(stored) and "dlt_" not in repr(stored)


def test_guessing_one_tokens_secret_is_slowed_from_any_address(demo, throttle):
    """Wrong secrets for a real token id count against that id: its own sign-in then waits, other
    tokens from the same address do not."""
    token_id = demo.tokens["operator"].split("_")[1]
    for _ in range(MAX_FAILURES):
        assert _attempt(demo, f"dlt_{token_id}_" + "B" * 43).status_code == 401
    assert _attempt(demo, demo.tokens["operator"]).status_code == 429
    assert _attempt(demo, demo.tokens["oversight"]).status_code == 303
    throttle.clock = lambda: time.time() + delay(MAX_FAILURES) + 1
    try:
        assert _attempt(demo, demo.tokens["operator"]).status_code == 303
    finally:
        throttle.clock = time.time
