"""Over HTTP, on SQLite and on PostgreSQL: the disclosures-over-time chart against the API's own
listing, numbered pages that walk a whole table, the taxpayer history's dates, pages and blocked
attempts against the API, sessions that outlive their app instance, and the sign-in throttle."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta
from html import unescape

import httpx
import pytest
import sqlalchemy as sa
from test_pages import CSRF, csrf_of, signed_in
from webfix import serve

from api.app import create_app
from api.settings import ApiSettings
from api.web.session import MAX_FAILURES, delay

BAR = re.compile(r'data-period="([^"]+)" data-series="([^"]+)" data-value="(\d+)"')


def api(demo, path: str, **params) -> dict:
    r = httpx.get(demo.base + path, params=params, headers={"Authorization": f"Bearer {demo.tokens['oversight']}"})
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    return r.json()


def api_all(demo, path: str, **params) -> list[dict]:
    """Every item of an API listing, walked with limit/after."""
    items, after = [], None
    while True:
        got = api(demo, path, limit=7, **params, **({"after": after} if after else {}))
        items += got["items"]
        after = got.get("next_after")
        if not after:
            return items


def today(demo) -> date:
    """The day the demo's releases were recorded (the demo runs as the tests start)."""
    return date.fromisoformat(api(demo, "/v1/oversight/disclosures", limit=1)["items"][0]["recorded_at"][:10])


@pytest.fixture
def demo(any_demo):
    return any_demo


@pytest.mark.parametrize("by", ["agency", "exception"])
def test_chart_over_time_matches_the_api(demo, by):
    """Each bar of the time chart is the API's releases summed by the period of their own date (disclosed_at)
    and agency (or exception)."""
    from projections.timeline import PERIOD_CHARS, granularity

    releases = api_all(demo, "/v1/oversight/disclosures")
    assert releases
    chars = PERIOD_CHARS[granularity(min(r["disclosed_at"] for r in releases),
                                     max(r["disclosed_at"] for r in releases))]
    want = Counter()
    for r in releases:
        want[(r["disclosed_at"][:chars], r[by])] += r["instances"]
    c = signed_in(demo, "oversight")
    page = c.get("/disclosures", params={"by": by}).text
    svg = page.split('class="chart chart-timeline"')[1].split("</svg>")[0]
    bars = {(p, unescape(k)): int(v) for p, k, v in BAR.findall(svg)}
    assert bars == dict(want)
    totals = {t[by]: t["instances"] for t in api(demo, "/v1/oversight/disclosures/totals", by=by)["items"]}
    assert {k: sum(v for (_, kk), v in bars.items() if kk == k) for _, k in bars} == totals
    # the text alternative holds the same numbers
    table = page.split('<table id="over-time-table">')[1].split("</table>")[0]
    rows = re.findall(r'<tr><td>([^<]+)</td><td>(?:<span class="coded" title="([^"]+)">.*?|([^<]+))</td>'
                      r"<td>(\d+)</td></tr>", table)  # an exception by its label, its code on hover
    assert {(p, unescape(k or plain)): int(n) for p, k, plain, n in rows} == dict(want)
    assert '<desc id="tl-d">' in svg and "<title" in svg
    # the date filter applies: nothing after today, all of it from the first disclosure to today
    day = today(demo)
    assert 'id="over-time"' not in c.get("/disclosures", params={"by": by, "since": str(day + timedelta(1))}).text
    first = min(r["disclosed_at"] for r in releases)[:10]  # the imported 2025 accounting
    same = c.get("/disclosures", params={"by": by, "since": first, "until": str(day + timedelta(1))}).text
    svg2 = same.split('class="chart chart-timeline"')[1].split("</svg>")[0]
    assert {(p, unescape(k)): int(v) for p, k, v in BAR.findall(svg2)} == dict(want)


def _walk(c: httpx.Client, path: str, row: re.Pattern[str]) -> tuple[list[str], int, int]:
    """Follow "Next page" from the first page; the rows seen, the total shown, the pages visited."""
    seen, pages, url = [], 0, path
    total = None
    while url:
        page = c.get(url).text
        pages += 1
        seen += row.findall(page.split("<tbody>")[-1].split("</tbody>")[0])
        shown = int(re.search(r'of <span class="total">(\d+)</span>', page).group(1))
        assert total in (None, shown)
        total = shown
        nxt = re.search(r'<a href="([^"]+)" rel="next">Next page</a>', page)
        url = unescape(nxt.group(1)) if nxt else None
        assert pages < 100
    return seen, total, pages


def test_paging_walks_requests_and_releases(demo):
    """Small pages: together they list exactly what the API lists, in its order."""
    c = signed_in(demo, "court")
    want = [r["request_id"] for r in api_all(demo, "/v1/oversight/requests")]
    seen, total, pages = _walk(c, "/requests?size=1", re.compile(r'<td><a href="/requests/([^"]+)">'))
    assert seen == want and total == len(want) and pages == len(want) > 1
    agency = api_all(demo, "/v1/oversight/requests")[0]["agency"]
    want = [r["request_id"] for r in api_all(demo, "/v1/oversight/requests", agency=agency)]
    seen, total, _ = _walk(c, f"/requests?size=1&agency={agency}", re.compile(r'<td><a href="/requests/([^"]+)">'))
    assert seen == want and total == len(want)

    o = signed_in(demo, "oversight")
    want = [r["release_id"] for r in api_all(demo, "/v1/oversight/disclosures")]
    seen, total, _ = _walk(o, "/disclosures?size=1&by=exception",
                           re.compile(r'<td><a href="/entries/\d+">([^<]+)</a></td><td>\d{4}'))
    assert seen == want and total == len(want)
    audit = api(demo, "/v1/oversight/release-audit", limit=1000)
    seen, total, _ = _walk(o, "/audit?size=4", re.compile(r'<tr><td><a href="/entries/(\d+)">'))
    assert total == audit["lines_released"] == len(audit["items"])
    assert [int(x) for x in seen] == [line["index"] for line in audit["items"]]
    seen, total, _ = _walk(o, "/checkpoints?size=2", re.compile(r"<tr><td>(\d+)</td><td><code"))
    assert total == len(seen) and [int(x) for x in seen] == sorted((int(x) for x in seen), reverse=True)

    # a page past the end shows the last one; sizes are bounded
    last = c.get("/requests?size=1&page=9999").text
    assert 'rel="next"' not in last and 'rel="prev"' in last
    for bad in ("size=0", "size=201", "page=0", "page=x"):
        assert c.get(f"/requests?{bad}").status_code == 400, bad


def _lookup(c: httpx.Client, tin: str, **extra) -> str:
    r = c.post("/taxpayer", data={"csrf": csrf_of(c, "/taxpayer"), "tin": tin, "purpose": "fictional audit", **extra})
    assert r.status_code == 200, r.text[:500]
    return r.text


def _counts(page: str) -> dict[str, int]:
    text = re.sub(r"\s+", " ", page.split('<span id="history-counts">')[1].split("</span>")[0])
    names = ("request", "release", "inspection", "refused", "blocked")
    values = [int(n) for n in re.findall(r"(\d+) ", text)]
    return dict(zip(names, values, strict=True))


def test_taxpayer_dates_blocked_attempts_and_pages(demo):
    """Blocked attempts about the taxpayer's requests appear; dates narrow everything; pages are POSTs."""
    tin = demo.released_tin()
    head = {"Authorization": f"Bearer {demo.tokens['oversight']}"}
    history = httpx.post(demo.base + "/v1/oversight/taxpayer", headers=head,
                         json={"tin": tin, "purpose": "independent count", "limit": 1000}).json()["items"]
    requests = {e["request_id"] for e in history if e["kind"] == "request"}
    blocked = [b for b in api_all(demo, "/v1/oversight/blocked") if b["refers_to"] in requests]
    assert blocked, "the demo blocks a release of a request naming a released taxpayer"

    c = signed_in(demo, "oversight")
    page = _lookup(c, tin)
    counts = _counts(page)
    assert counts["request"] == sum(e["kind"] == "request" for e in history)
    assert counts["release"] == sum(e["kind"] == "release" for e in history)
    assert counts["inspection"] == sum(e["kind"] == "inspection" for e in history) + 1  # this read
    assert counts["blocked"] == len(blocked)
    table = page.split('<table id="taxpayer-blocked">')[1].split("</table>")[0]
    assert [int(i) for i in re.findall(r'<a href="/entries/(\d+)">', table)] == [b["index"] for b in blocked]
    assert all(rule in table for b in blocked for rule in b["rules"])
    assert tin not in page and tin.replace("-", "") not in page

    day = today(demo)
    later = _lookup(c, tin, since=str(day + timedelta(1)))
    assert _counts(later) == dict.fromkeys(counts, 0) and 'id="history"' not in later
    assert "No blocked attempts" in later
    window = _lookup(c, tin, since=str(day), until=str(day + timedelta(1)))
    assert _counts(window)["blocked"] == len(blocked) and _counts(window)["request"] == counts["request"]
    assert "Dates:" in c.post("/taxpayer", data={"csrf": csrf_of(c, "/taxpayer"), "tin": tin, "purpose": "x",
                                                 "since": "2026-02-30"}).text

    # paging: a POST form carrying a handle bound to this session (never the TIN)
    size = demo.ledger.size()
    page_form = {"csrf": csrf_of(c, "/taxpayer"), "handle": re.search(r'name="handle" value="([^"]+)"', page).group(1),
                 "purpose": "fictional audit", "after": "-", "trail": ""}
    again = c.post("/taxpayer", data=page_form)
    assert again.status_code == 200 and _counts(again.text)["inspection"] == _counts(window)["inspection"] + 1
    assert demo.ledger.size() == size + 1  # each page is recorded as an inspection
    other = signed_in(demo, "court")  # another session cannot use this session's handle
    refused = other.post("/taxpayer", data={**page_form, "csrf": csrf_of(other, "/taxpayer")})
    assert refused.status_code == 400 and "another session" in refused.text and demo.ledger.size() == size + 1


def test_taxpayer_history_pages_forward_and_back(demo):
    """More events than a page: Next and Previous forms walk the whole history once, in order."""
    tin = demo.released_tin()
    c = signed_in(demo, "oversight")
    for _ in range(3):  # enough inspections of this taxpayer to pass one page (50 events)
        _lookup(c, tin)
    page = _lookup(c, tin)
    while _counts(page)["inspection"] + _counts(page)["request"] + _counts(page)["release"] <= 50:
        page = _lookup(c, tin)

    def entries(html: str) -> list[int]:
        table = html.split('<table id="history">')[1].split("</table>")[0]
        return [int(x) for x in re.findall(r'<tr>\s*<td><a href="/entries/(\d+)">', table)]

    def follow(html: str, rel: str) -> str:
        forms = re.findall(r'<form method="post" action="/taxpayer" class="inline">(.*?)</form>', html, re.S)
        chosen = next(f for f in forms if f'data-rel="{rel}"' in f)
        data = dict(re.findall(r'name="(\w+)" value="([^"]*)"', chosen))
        r = c.post("/taxpayer", data={k: unescape(v) for k, v in data.items()})
        assert r.status_code == 200
        return r.text

    first = entries(page)
    assert len(first) == 50 and 'data-rel="prev"' not in page
    second_page = follow(page, "next")
    second = entries(second_page)
    assert second and min(second) >= max(first)
    back = entries(follow(second_page, "prev"))
    assert back == first


def test_session_outlives_its_app_and_sign_out_revokes_it(demo):
    """A new app instance on the same database knows the session; after sign-out neither does."""
    c = signed_in(demo, "court")
    cookie = c.cookies["dl_session"]
    app2 = create_app(ApiSettings(demo.ledger.settings, background_checkpoints=False), demo.keys, views_interval=None)
    base2, stop = serve(app2)
    try:
        fresh = httpx.Client(base_url=base2, cookies={"dl_session": cookie})
        assert fresh.get("/").status_code == 200 and "test.example/court" in fresh.get("/").text
        engine = demo.app.state.dl.tokens.engine
        table = demo.app.state.web_sessions.sessions
        with engine.connect() as conn:
            stored = [r[0] for r in conn.execute(sa.select(table.c.sid_sha256))]
        assert cookie not in stored and all(len(s) == 64 for s in stored) and stored
        r = fresh.post("/signout", data={"csrf": csrf_of(fresh)})  # signed out through the other instance
        assert r.status_code == 303
        for client in (c, httpx.Client(base_url=base2, cookies={"dl_session": cookie})):
            client.cookies.set("dl_session", cookie)
            assert client.get("/").status_code == 303  # to /signin: revoked everywhere
    finally:
        stop()


def test_sign_in_throttle_is_kept_in_the_database(demo):
    """MAX_FAILURES wrong tokens are each a 401; the next guess is a 429 (Retry-After: the wait); the
    table keeps digests of the buckets (address, token id) and counts, never an address or a token."""
    httpx.get(demo.base + "/signin")  # the app makes its session store at its first page: this may be it
    store = demo.app.state.web_sessions
    with store.engine.begin() as conn:
        conn.execute(store.failures.delete())
    try:
        def attempt(token: str) -> httpx.Response:
            c = httpx.Client(base_url=demo.base)  # no session: each try starts at the sign-in form
            page = c.get("/signin")
            return c.post("/signin", data={"csrf": CSRF.search(page.text).group(1), "token": token})

        for _ in range(MAX_FAILURES - 1):
            assert attempt("dlt_wrong").status_code == 401
        assert attempt(demo.tokens["court"]).status_code == 303
        assert attempt("dlt_0123456789abcdef_" + "A" * 43).status_code == 401
        refused = attempt("dlt_0123456789abcdee_" + "A" * 43)
        assert refused.status_code == 429 and "Too many failed sign-ins" in refused.text
        assert int(refused.headers["retry-after"]) == delay(MAX_FAILURES)
        assert attempt(demo.tokens["court"]).status_code == 303  # a valid token is not held up
        with store.engine.connect() as conn:
            rows = list(conn.execute(sa.select(store.failures)))
        assert len(rows) == 1 and rows[0].failures == MAX_FAILURES and len(rows[0].bucket_sha256) == 64
        assert "127.0.0.1" not in repr(rows) and "dlt_" not in repr(rows)
    finally:
        with store.engine.begin() as conn:
            conn.execute(store.failures.delete())


def test_overview_counts_and_blocked_pages_match_the_api(demo):
    """Pending requests counted from the API's request statuses (imported records, which have no decisions,
    counted apart); the blocked table walked page by page."""
    reqs = [r for r in api_all(demo, "/v1/oversight/requests") if not r["imported"]]
    pending = [r["request_id"] for r in reqs
               if r["withdrawn_index"] is None and r["approved"] + r["refused"] < r["requested"]]
    c = signed_in(demo, "court")
    page = c.get("/").text
    text = re.sub(r"\s+", " ", page.split('<p id="pending-count">')[1].split("</p>")[0])
    assert text.startswith(f"{len(pending)} of {len(reqs)} requests")
    assert all(f'href="/requests/{rid}"' in page.split('id="pending-h"')[1] for rid in pending)
    want = [b["index"] for b in api_all(demo, "/v1/oversight/blocked")]
    seen, total, pages = _walk(c, "/?size=1", re.compile(r"<tr><td>(?:<a href=\"/entries/\d+\">)?(\d+)"))
    assert [int(x) for x in seen] == want and total == len(want) and pages == len(want) > 1
