"""CSV downloads of the dashboard's tables, in the session (no token to paste into curl).

Each is the JSON API's table for the same filters, every page of it, written by the API's own CSV
writer (``api.routes.views.to_csv``: the same columns, null as empty, lists as JSON, no cell a
spreadsheet formula), with the API's pseudonym rule: a released line's taxpayer is the reader's own
re-keyed pseudonym (``taxpayer_ref``), never the raw one. A taxpayer's history is downloaded from its
page (``POST /taxpayer.csv``, in ``routes/taxpayer.py``), a read recorded like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi.responses import Response

from api.routes.views import to_csv
from api.web.pages import Page, csv_file, page, web_router
from api.web.params import filters, to_int
from projections.query_args import Page as RowsPage

router = web_router()
MAX_ROWS = 200_000  # rows in one download, at most
CHUNK = 1000

BY = ("agency", "exception", "recipient_agency")


def every_row(fetch: Callable[[str | None], RowsPage]) -> list[dict[str, Any]]:
    """Every row of a paged list (``fetch(after)`` returns one page), up to MAX_ROWS."""
    rows: list[dict[str, Any]] = []
    after = None
    while len(rows) < MAX_ROWS:
        got = fetch(after)
        rows += got.items
        after = got.next_after
        if after is None or not got.items:
            break
    return rows


@router.get("/requests.csv")
def requests_csv(p: Annotated[Page, page("/requests")]) -> Response:
    f = filters(p.request)
    rows = p.query(lambda q: every_row(lambda after: q.requests(**f, limit=CHUNK, after=after)))
    return csv_file(to_csv(rows), "requests")


@router.get("/disclosures.csv")
def disclosures_csv(p: Annotated[Page, page("/disclosures")]) -> Response:
    f = filters(p.request)
    rows = p.query(lambda q: every_row(lambda after: q.disclosures(**f, limit=CHUNK, after=after)))
    return csv_file(to_csv(rows), "disclosures")


@router.get("/disclosures/totals.csv")
def totals_csv(p: Annotated[Page, page("/disclosures")]) -> Response:
    f = filters(p.request)
    by = p.request.query_params.get("by") or "agency"
    if by not in BY:
        raise p.bad("by: expected agency, exception or recipient_agency")
    rows = p.query(lambda q: q.disclosure_totals(by, **f))
    return csv_file(to_csv(rows), f"disclosure-totals-{by}")


@router.get("/audit.csv")
def audit_csv(p: Annotated[Page, page("/audit")]) -> Response:
    f = filters(p.request)

    def fetch(q: Any) -> list[dict[str, Any]]:
        return every_row(lambda after: q.release_audit(**f, limit=CHUNK, after=after)["lines"])

    rows = p.query(fetch)
    keys, reader = p.state.sealed_keys, p.session.principal.name
    for row in rows:  # the API's rule: pseudonyms never leave raw, each reader gets their own (docs/API.md)
        raw = row.pop("pseudonym")
        row["taxpayer_ref"] = keys.reader_pseudonym(reader, raw) if raw else None
    return csv_file(to_csv(rows), "release-audit")


@router.get("/blocked.csv")
def blocked_csv(p: Annotated[Page, page("/blocked")]) -> Response:
    f = filters(p.request)
    rng = {"since": f["since"], "until": f["until"]}
    rows = p.query(lambda q: every_row(lambda after: q.blocked(**rng, limit=CHUNK, after=after)))
    return csv_file(to_csv(rows), "blocked")


@router.get("/safeguards.csv")
def safeguards_csv(p: Annotated[Page, page("/disclosures")]) -> Response:
    return csv_file(to_csv(p.query(lambda q: q.safeguard_posture())), "safeguards")


@router.get("/annual-report.csv")
def annual_report_csv(p: Annotated[Page, page("/annual")]) -> Response:
    year = to_int(p.request.query_params.get("year"), 1900, 9998)
    if year is None:
        raise p.bad("year: expected a calendar year (1900-9998)")
    return csv_file(to_csv(p.query(lambda q: q.annual_report(year))), f"annual-report-{year}")


@router.get("/checkpoints.csv")
def checkpoints_csv(p: Annotated[Page, page("/checkpoints")]) -> Response:
    rows = p.query(lambda q: every_row(lambda after: q.checkpoints(limit=CHUNK, after=after)))
    return csv_file(to_csv(rows), "checkpoints")
