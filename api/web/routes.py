"""The dashboard's pages. Each page names the roles that may see it; links to the others are not
shown and the pages themselves answer 403. Reads come from the projections; the one write, the
``inspection`` recorded before a taxpayer's history is shown, goes through the disclosure service.

TINs travel only in POST bodies (never a URL); every POST form carries the session's CSRF token;
every page is ``Cache-Control: no-store`` under a strict Content-Security-Policy.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from api.deps import State
from api.state import AppState
from api.tokens import TokenError
from api.web import charts
from api.web.data import log_verified, web_data
from api.web.session import (
    COOKIE,
    PRE_COOKIE,
    Session,
    client_of,
    same,
    same_origin,
    set_cookie,
    web_store,
)
from ledger.b64 import b64encode
from ledger.client import disclosure as dc
from ledger.entry import parse_entry
from ledger.errors import LedgerError
from ledger.merkle import leaf_hash
from ledger.statement import parse_statement
from projections import overview as overview_reads
from projections import paging, taxpayer, timeline
from projections.errors import BadQuery, ProjectionError
from projections.queries import dates

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
STATIC = {"app.css": "text/css", "verify.js": "text/javascript"}
MAX_FORM = 16 * 1024
MAX_INDEX = 2**53 - 1
PAGE_SIZE = 50  # rows per page of a long table unless ?size= says otherwise
MAX_PAGE_SIZE = 200
MAX_TRAIL = 200  # pages of a taxpayer's history one can step back through

ALL = ("oversight", "court", "operator")
READERS = ("oversight", "court")
OVERSIGHT = ("oversight",)
# (path, label, roles): the navigation, and what each page admits.
PAGES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("/", "Overview", ALL),
    ("/taxpayer", "Taxpayer lookup", READERS),
    ("/requests", "Requests", READERS),
    ("/disclosures", "Agencies & exceptions", OVERSIGHT),
    ("/annual", "Annual table", OVERSIGHT),
    ("/audit", "Release audit", READERS),
    ("/checkpoints", "Checkpoints", ALL),
    ("/trust", "Trust root", ALL),
)
ROLES = {path: roles for path, _, roles in PAGES} | {"/entries": READERS}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")

router = APIRouter(include_in_schema=False)


def _headers(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"  # no-referrer would make Origin "null" on POSTs
    response.headers["X-Frame-Options"] = "DENY"
    return response


def render(request: Request, name: str, session: Session | None, status: int = 200, **context: Any) -> Response:
    nav = [(p, label) for p, label, roles in PAGES if session is not None and session.principal.role in roles]
    context.update(session=session, nav=nav, path=request.url.path, can=lambda p: _may(session, p))
    return _headers(templates.TemplateResponse(request, name, context, status_code=status))


def _may(session: Session | None, path: str) -> bool:
    return session is not None and session.principal.role in ROLES.get(path, ())


def who(request: Request, state: AppState, path: str) -> Session | Response:
    """The page's session, or the response to send instead (sign-in, or 403)."""
    session = web_store(request, state).get(request.cookies.get(COOKIE))
    if session is None:
        return _headers(RedirectResponse("/signin", status_code=303))
    if not _may(session, path):
        return render(request, "error.html", session, 403, title="Not allowed",
                      message=f"The role {session.principal.role} may not see this page.")
    return session


def bad(request: Request, session: Session, message: str) -> Response:
    return render(request, "error.html", session, 400, title="Bad input", message=message)


async def form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM:
        return {}
    try:
        parsed = parse_qs(body.decode("utf-8"), max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return {}
    return {k: v[0] for k, v in parsed.items() if v}


def _int(value: str | None, lo: int, hi: int) -> int | None:
    # isascii: str.isdigit() admits digits int() refuses ("²"), which would be a 500
    if value is None or not (value.isascii() and value.isdigit()) or len(value) > 16:
        return None
    n = int(value)
    return n if lo <= n <= hi else None


def _filters(request: Request) -> dict[str, str | None]:
    q = request.query_params
    return {k: (q.get(k) or None) for k in ("agency", "exception", "since", "until")}


def _page_args(request: Request) -> tuple[int, int] | None:
    """(page, size) from ?page=&size= (1-based page; size 1..MAX_PAGE_SIZE), or None if malformed."""
    q = request.query_params
    page = _int(q.get("page") or "1", 1, 10**6)
    size = _int(q.get("size") or str(PAGE_SIZE), 1, MAX_PAGE_SIZE)
    return None if page is None or size is None else (page, size)


def _slot(q: Any, name: str, page: int, size: int, filters: dict[str, Any]) -> tuple[paging.Slot, int]:
    """The cursor and total for ``page`` of list ``name``; a page past the end becomes the last one."""
    got = paging.slot(q.views, name, (page - 1) * size, **filters)
    last = max((got.total + size - 1) // size, 1)
    if page > last:
        page = last
        got = paging.slot(q.views, name, (page - 1) * size, **filters)
    return got, page


def pager(path: str, params: dict[str, Any], page: int, size: int, total: int, shown: int) -> dict[str, Any]:
    """What the pager shows: rows start..end of total, and the links to the other pages (GET)."""
    pages = max((total + size - 1) // size, 1)
    keep = {k: v for k, v in params.items() if v not in (None, "")}

    def href(n: int) -> str:
        query = {**keep, **({"size": size} if size != PAGE_SIZE else {}), **({"page": n} if n > 1 else {})}
        return path + ("?" + urlencode(query) if query else "")

    start = (page - 1) * size + 1 if shown else 0
    return {"page": page, "pages": pages, "size": size, "total": total, "start": start,
            "end": start + shown - 1 if shown else 0,
            "first": href(1) if page > 2 else None, "prev": href(page - 1) if page > 1 else None,
            "next": href(page + 1) if page < pages else None, "last": href(pages) if page < pages - 1 else None}


def _age(signed_at: str | None) -> str:
    if not signed_at:
        return "unknown"
    try:
        then = datetime.strptime(signed_at[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return "unknown"
    seconds = int((datetime.now(UTC) - then).total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{max(seconds, 0)} seconds"


def _query(request: Request, session: Session, state: AppState, fn: Callable[[Any], Any]) -> Any:
    """Run ``fn(queries)`` on caught-up views; bad input becomes a 400 page, not a 5xx."""
    try:
        return fn(web_data(request, state).fresh())
    except BadQuery as e:
        return bad(request, session, str(e))
    except ProjectionError:
        return render(request, "error.html", session, 503, title="Views unavailable",
                      message="The projections could not be read; try again.")


# ---- static files, sign-in and sign-out -----------------------------------------------------------

@router.get("/static/{name}")
def static(name: str) -> Response:
    if name not in STATIC:
        return Response(status_code=404)
    response = FileResponse(HERE / "static" / name, media_type=STATIC[name])
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@router.get("/signin")
def signin_page(request: Request, state: State) -> Response:
    if web_store(request, state).get(request.cookies.get(COOKIE)) is not None:
        return _headers(RedirectResponse("/", status_code=303))
    return _signin(request)


def _signin(request: Request, error: str | None = None, status: int = 200) -> Response:
    csrf = secrets.token_urlsafe(32)
    response = render(request, "signin.html", None, status, csrf=csrf, error=error, title="Sign in")
    set_cookie(response, request, PRE_COOKIE, csrf, path="/signin")
    return response


@router.post("/signin")
async def signin(request: Request, state: State) -> Response:
    data = await form(request)
    if not same_origin(request) or not same(data.get("csrf"), request.cookies.get(PRE_COOKIE)):
        return _signin(request, "The form expired; please sign in again.", 403)
    token = data.get("token", "").strip()
    store, client = web_store(request, state), client_of(request)
    wait = await run_in_threadpool(store.refused_for, client)
    if wait:  # the token is not even looked at
        minutes = (wait + 59) // 60
        response = _signin(request, f"Too many failed sign-ins from this address: try again in {minutes} "
                                    f"minute{'s' if minutes != 1 else ''}.", 429)
        response.headers["Retry-After"] = str(wait)
        return response
    try:
        principal = await run_in_threadpool(state.tokens.authenticate, token)
    except TokenError:
        await run_in_threadpool(store.failed, client)
        return _signin(request, "That token was not accepted (unknown, expired, revoked or malformed).", 401)
    await run_in_threadpool(store.succeeded, client)
    await run_in_threadpool(store.drop, request.cookies.get(COOKIE))  # a fresh id at every sign-in
    session = await run_in_threadpool(store.create, principal)
    response = _headers(RedirectResponse("/", status_code=303))
    set_cookie(response, request, COOKIE, session.sid)
    response.delete_cookie(PRE_COOKIE, path="/signin")
    return response


@router.post("/signout")
async def signout(request: Request, state: State) -> Response:
    data = await form(request)
    store = web_store(request, state)
    session = store.get(request.cookies.get(COOKIE))
    if session is not None and same_origin(request) and same(data.get("csrf"), session.csrf):
        store.drop(session.sid)
    elif session is not None:
        return render(request, "error.html", session, 403, title="Not signed out",
                      message="The sign-out form was not this session's (CSRF check failed).")
    response = _headers(RedirectResponse("/signin", status_code=303))
    response.delete_cookie(COOKIE, path="/")
    return response


# ---- overview ----------------------------------------------------------------------------------

@router.get("/")
def overview(request: Request, state: State) -> Response:
    session = who(request, state, "/")
    if isinstance(session, Response):
        return session
    data = web_data(request, state)
    latest = state.ledger.latest_checkpoint()
    verified, verified_size = log_verified(data, state)

    pa = _page_args(request)
    if pa is None:
        return bad(request, session, f"page, size: expected a page number and a size of 1-{MAX_PAGE_SIZE}")

    def read(q: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"checkpoints": q.checkpoints(limit=1).items}
        if session.principal.role in READERS:
            out["flags"] = q.red_flag_counts()
            out["recent_flags"] = overview_reads.recent_red_flags(q.views)
            out["pending"] = overview_reads.pending_requests(q.views)
            sl, page = _slot(q, "blocked", pa[0], pa[1], {})
            out["blocked"] = q.blocked(limit=pa[1], after=sl.after).items if sl.total else []
            out["blocked_pager"] = pager("/", {}, page, pa[1], sl.total, len(out["blocked"]))
        return out

    got = _query(request, session, state, read)
    if isinstance(got, Response):
        return got
    signed_at = got["checkpoints"][0]["signed_at"] if got["checkpoints"] else None
    return render(request, "overview.html", session, title="Overview", size=state.ledger.size(),
                  latest=latest, root_hex=latest.checkpoint.root.hex() if latest else None,
                  signed_at=signed_at, age=_age(signed_at), verified=verified, verified_size=verified_size, **got)


# ---- taxpayer lookup (TIN in the POST body only) ---------------------------------------------------

@router.get("/taxpayer")
def taxpayer_form(request: Request, state: State) -> Response:
    session = who(request, state, "/taxpayer")
    if isinstance(session, Response):
        return session
    return render(request, "taxpayer.html", session, title="Taxpayer lookup", history=None)


@router.post("/taxpayer")
async def taxpayer_lookup(request: Request, state: State) -> Response:
    """A lookup by TIN, or another page of a history already looked up (by its handle). Either
    way the read is recorded as an inspection first, and nothing personal goes in a URL."""
    session = who(request, state, "/taxpayer")
    if isinstance(session, Response):
        return session
    data = await form(request)
    if not same_origin(request) or not same(data.get("csrf"), session.csrf):
        return render(request, "error.html", session, 403, title="Form refused",
                      message="The form was not this session's (CSRF check failed); nothing was read.")
    tin, purpose = data.get("tin", "").strip(), data.get("purpose", "").strip()
    since, until = data.get("since") or None, data.get("until") or None
    handle = data.get("handle", "")
    if (not tin and not handle) or not purpose or len(tin) > 32 or len(purpose) > 2000:
        return _tp_form(request, session, "Give a TIN (9 digits) and the purpose of this read.", since, until)
    try:
        dates(since, until)
    except BadQuery as e:
        return _tp_form(request, session, f"Dates: {e}", since, until)
    trail = [t for t in data.get("trail", "").split() if t]
    after = data.get("after") or None
    if len(trail) > MAX_TRAIL or not all(_TRAIL.match(t) for t in [*trail, after or "-"]):
        return _tp_form(request, session, "That page of the history is out of range; look the taxpayer up again.",
                        since, until)
    if handle:
        subject = _unhandle(session, handle)
        if subject is None:
            return _tp_form(request, session, "That history belongs to another session; look the taxpayer up again.",
                            since, until)
    else:
        try:
            subject = state.sealed_keys.pseudonym(tin)
        except LedgerError:  # the message is not shown: it never repeats the TIN, but says nothing useful either
            return _tp_form(request, session, "That is not a TIN (9 digits, optional spaces or hyphens), "
                                              "or the purpose is invalid.", since, until)
        after, trail = None, []
    view = _History(subject, purpose, since, until, None if after == "-" else after, trail)
    return await run_in_threadpool(_lookup, request, state, session, view)


_TRAIL = re.compile(r"(?:-|[0-9]{1,18}\.[0-9]\.[0-9]{1,10})\Z")


@dataclass(frozen=True)
class _History:
    subject: str  # the taxpayer's pseudonym
    purpose: str
    since: str | None
    until: str | None
    after: str | None  # this page's cursor (None: the first page)
    trail: list[str]  # the cursors of the pages before it ("-": the first page)


def _handle(session: Session, subject: str) -> str:
    """The pseudonym, bound to this session by a MAC: a paging form cannot name another taxpayer."""
    mac = hmac.new(session.sid.encode(), b"history:" + subject.encode(), hashlib.sha256).hexdigest()
    return f"{subject}.{mac}"


def _unhandle(session: Session, handle: str) -> str | None:
    subject, _, _mac = handle.partition(".")
    return subject if len(subject) == 64 and hmac.compare_digest(_handle(session, subject), handle) else None


def _tp_form(request: Request, session: Session, error: str, since: str | None, until: str | None) -> Response:
    return render(request, "taxpayer.html", session, 400, title="Taxpayer lookup", history=None, error=error,
                  since=since, until=until)


def _lookup(request: Request, state: AppState, session: Session, view: _History) -> Response:
    try:
        sub = dc.inspection(state.ledger.keys.statement, view="taxpayer_history", subject_pseudonym=view.subject,
                            role=session.principal.role, purpose=view.purpose, reader=session.principal.name)
    except LedgerError:
        return _tp_form(request, session, "The purpose is invalid.", view.since, view.until)
    try:
        recorded = state.service.submit(sub.note, sub.openings)  # recorded before anything is read: fail closed
    except LedgerError:
        return render(request, "error.html", session, 503, title="Not recorded, not read",
                      message="The inspection could not be recorded in the ledger, so the history was not read.")
    state.metrics.count(state.metrics.appends, "inspection")
    rng = {"since": view.since, "until": view.until}

    def read(q: Any) -> dict[str, Any]:
        return {"page": q.taxpayer_history(view.subject, **rng, limit=PAGE_SIZE, after=view.after),
                "counts": taxpayer.history_counts(q.views, view.subject, **rng),
                "blocked": taxpayer.blocked_attempts(q.views, view.subject, **rng)}

    got = _query(request, session, state, read)
    if isinstance(got, Response):
        return got
    events, counts = got["page"].items, got["counts"]
    total = counts["request"] + counts["release"] + counts["inspection"]
    number = len(view.trail) + 1
    start = (number - 1) * PAGE_SIZE + 1 if events else 0
    here = view.after or "-"
    return render(request, "taxpayer.html", session, title="Taxpayer history", history=events,
                  inspection=recorded.index, subject=view.subject[:12], counts=counts, blocked=got["blocked"],
                  since=view.since, until=view.until, purpose=view.purpose, handle=_handle(session, view.subject),
                  paging={"number": number, "pages": max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1), "total": total,
                          "start": start, "end": start + len(events) - 1 if events else 0,
                          "next": got["page"].next_after if number * PAGE_SIZE < total else None,
                          "next_trail": " ".join([*view.trail, here]),
                          "prev": view.trail[-1] if view.trail else None, "prev_trail": " ".join(view.trail[:-1])})


# ---- requests ----------------------------------------------------------------------------------

@router.get("/requests")
def request_list(request: Request, state: State) -> Response:
    session = who(request, state, "/requests")
    if isinstance(session, Response):
        return session
    f, pa = _filters(request), _page_args(request)
    if pa is None:
        return bad(request, session, f"page, size: expected a page number and a size of 1-{MAX_PAGE_SIZE}")

    def read(q: Any) -> dict[str, Any]:
        sl, page = _slot(q, "requests", pa[0], pa[1], f)
        items = q.requests(**f, limit=pa[1], after=sl.after).items if sl.total else []
        return {"requests": items, "pager": pager("/requests", f, page, pa[1], sl.total, len(items))}

    got = _query(request, session, state, read)
    if isinstance(got, Response):
        return got
    return render(request, "requests.html", session, title="Requests", f=f, **got)


@router.get("/requests/{request_id}")
def request_detail(request: Request, state: State, request_id: str) -> Response:
    session = who(request, state, "/requests")
    if isinstance(session, Response):
        return session
    got = _query(request, session, state, lambda q: q.request_status(request_id))
    if isinstance(got, Response):
        return got
    if got is None:
        return render(request, "error.html", session, 404, title="No such request",
                      message="No request with that id is in the views.")
    bars = [("Requested", got["requested"]), ("Matched", got["matched"]), ("Approved", got["approved"]),
            ("Released", got["released"]), ("Refused", got["refused"])]
    return render(request, "request.html", session, title=f"Request {request_id}", r=got,
                  chart=charts.bars(bars, "Lines of this request at each stage", unit="lines"))


# ---- agencies and exceptions -----------------------------------------------------------------------

@router.get("/disclosures")
def disclosures(request: Request, state: State) -> Response:
    session = who(request, state, "/disclosures")
    if isinstance(session, Response):
        return session
    f = _filters(request)
    by = request.query_params.get("by") or "agency"
    if by not in ("agency", "exception", "recipient_agency"):
        return bad(request, session, "by: expected agency, exception or recipient_agency")
    pa = _page_args(request)
    if pa is None:
        return bad(request, session, f"page, size: expected a page number and a size of 1-{MAX_PAGE_SIZE}")

    def read(q: Any) -> dict[str, Any]:
        sl, page = _slot(q, "disclosures", pa[0], pa[1], f)
        releases = q.disclosures(**f, limit=pa[1], after=sl.after).items if sl.total else []
        return {"totals": q.disclosure_totals(by, **f),
                "over_time": timeline.disclosures_over_time(q.views, by, **f),
                "releases": releases, "pager": pager("/disclosures", {**f, "by": by}, page, pa[1], sl.total,
                                                     len(releases)),
                "safeguards": q.safeguard_posture()}

    got = _query(request, session, state, read)
    if isinstance(got, Response):
        return got
    label = by.replace("_", " ")
    chart = charts.bars([(str(t[by]), int(t["instances"])) for t in got["totals"]],
                        f"Instances of disclosure by {label}", unit="instances")
    tl = got["over_time"]
    over_time = charts.timeline(tl.periods, tl.keys, tl.cells, f"Instances of disclosure per {tl.period} by {label}",
                                unit="instances", ident="tl")
    return render(request, "disclosures.html", session, title="Agencies and exceptions", by=by, f=f, chart=chart,
                  timeline_chart=over_time, **got)


# ---- § 6103(p)(3)(C) annual table ------------------------------------------------------------------

def _year(request: Request) -> int | None:
    raw = request.query_params.get("year")
    return datetime.now(UTC).year if raw is None else _int(raw, 1900, 9998)


JCT_COLUMNS = ("disclosure_to_for", "subsection", "bulk_master_file_data", "other_disclosures",
               "total_number_of_disclosures", "taxpayers")


@router.get("/annual")
def annual(request: Request, state: State) -> Response:
    session = who(request, state, "/annual")
    if isinstance(session, Response):
        return session
    year = _year(request)
    if year is None:
        return bad(request, session, "year: expected a calendar year (1900-9998)")
    got = _query(request, session, state, lambda q: q.annual_report(year))
    if isinstance(got, Response):
        return got
    chart = charts.bars([(f"{r['agency']} {r['exception']}", int(r["total"])) for r in got],
                        f"Instances of disclosure in {year}", unit="instances")
    return render(request, "annual.html", session, title=f"Annual table {year}", year=year, rows=got, chart=chart)


@router.get("/annual.csv")
def annual_csv(request: Request, state: State) -> Response:
    session = who(request, state, "/annual")
    if isinstance(session, Response):
        return session
    year = _year(request)
    if year is None:
        return bad(request, session, "year: expected a calendar year (1900-9998)")
    got = _query(request, session, state, lambda q: q.jct_table(year))
    if isinstance(got, Response):
        return got
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(JCT_COLUMNS)
    for row in got:
        writer.writerow([_cell(row[c]) for c in JCT_COLUMNS])
    response = Response(buf.getvalue(), media_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="6103p3c-{year}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _cell(value: Any) -> str:
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text  # no formulas in a spreadsheet


# ---- unlawful-release audit -----------------------------------------------------------------------

@router.get("/audit")
def audit(request: Request, state: State) -> Response:
    session = who(request, state, "/audit")
    if isinstance(session, Response):
        return session
    f, pa = _filters(request), _page_args(request)
    if pa is None:
        return bad(request, session, f"page, size: expected a page number and a size of 1-{MAX_PAGE_SIZE}")

    def read(q: Any) -> dict[str, Any]:
        sl, page = _slot(q, "release_audit", pa[0], pa[1], f)
        a: dict[str, Any] = q.release_audit(**f, limit=pa[1], after=sl.after)
        shown = len(a["lines"].items) if sl.total else 0
        a["pager"] = pager("/audit", f, page, pa[1], sl.total, shown)
        return a

    got = _query(request, session, state, read)
    if isinstance(got, Response):
        return got
    chart = charts.bars([("Lines released", got["lines_released"]), ("No usable address", got["no_usable_address"]),
                         ("Potentially incomplete", got["potentially_incomplete"]), ("TIN only", got["tin_only"])],
                        "Released lines under each audit measure", unit="lines")
    return render(request, "audit.html", session, title="Unlawful-release audit", a=got, f=f, chart=chart)


# ---- checkpoints, trust root, entries -------------------------------------------------------------

@router.get("/checkpoints")
def checkpoints(request: Request, state: State) -> Response:
    session = who(request, state, "/checkpoints")
    if isinstance(session, Response):
        return session
    pa = _page_args(request)
    if pa is None:
        return bad(request, session, f"page, size: expected a page number and a size of 1-{MAX_PAGE_SIZE}")

    def read(q: Any) -> dict[str, Any]:
        sl, page = _slot(q, "checkpoints", pa[0], pa[1], {})
        items = q.checkpoints(limit=pa[1], after=sl.after).items if sl.total else []
        return {"checkpoints": items, "pager": pager("/checkpoints", {}, page, pa[1], sl.total, len(items))}

    got = _query(request, session, state, read)
    if isinstance(got, Response):
        return got
    latest = state.ledger.latest_checkpoint()
    for c in got["checkpoints"]:
        c["age"] = _age(c.get("signed_at"))
    return render(request, "checkpoints.html", session, title="Checkpoints", note=latest.encode() if latest else None,
                  **got)


@router.get("/trust")
def trust(request: Request, state: State) -> Response:
    session = who(request, state, "/trust")
    if isinstance(session, Response):
        return session
    return render(request, "trust.html", session, title="Trust root", served=state.ledger.trust_root())


@router.get("/entries")
def entry_jump(request: Request, state: State) -> Response:
    session = who(request, state, "/entries")
    if isinstance(session, Response):
        return session
    index = _int(request.query_params.get("index"), 0, MAX_INDEX)
    if index is None:
        return bad(request, session, "index: expected an entry number")
    return _headers(RedirectResponse(f"/entries/{index}", status_code=303))


def _entry_index(raw: str, state: AppState) -> int | None:
    index = _int(raw, 0, MAX_INDEX)
    return index if index is not None and index < state.ledger.size() else None


@router.get("/entries/{raw}")
def entry_page(request: Request, state: State, raw: str) -> Response:
    session = who(request, state, "/entries")
    if isinstance(session, Response):
        return session
    index = _entry_index(raw, state)
    if index is None:
        return render(request, "error.html", session, 404, title="No such entry",
                      message=f"The log has {state.ledger.size()} entries, numbered from 0.")
    data = state.ledger.entry(index)
    entry = parse_entry(data)
    try:
        statement = parse_statement(entry.statement)
        kind, sid = statement.type, statement.id
    except LedgerError:
        kind, sid = "unknown", None
    return render(request, "entry.html", session, title=f"Entry {index}", index=index, entry=entry, kind=kind,
                  statement_id=sid, leaf=leaf_hash(data).hex(), size=state.ledger.size())


@router.get("/entries/{raw}/proof.json")
def entry_proof(request: Request, state: State, raw: str) -> Response:
    """What the page checks in the browser: the entry's bytes, its inclusion proof and the checkpoint."""
    session = web_store(request, state).get(request.cookies.get(COOKIE))
    if session is None or not _may(session, "/entries"):
        return _headers(JSONResponse({"error": "not allowed"}, status_code=403))
    index = _entry_index(raw, state)
    if index is None:
        return _headers(JSONResponse({"error": "no such entry"}, status_code=404))
    try:
        signed = state.checkpoint_covering(index, state.settings.wait_timeout)
    except LedgerError:
        return _headers(JSONResponse({"error": "no checkpoint covers this entry yet"}, status_code=503))
    proof = state.ledger.inclusion_proof(index, signed.checkpoint.size)
    return _headers(JSONResponse({"index": index, "entry_b64": b64encode(state.ledger.entry(index)),
                                  "tree_size": proof["tree_size"], "path": proof["path"],
                                  "checkpoint": signed.encode()}))

