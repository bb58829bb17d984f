"""Oversight reads of the projections (docs/PROJECTIONS.md § 3): disclosures, requests, blocked
statements, the § 6103(p)(3)(C) report, the unlawful-release audit, red flags, safeguards, the
views' lag, and the public checkpoint history.

Only HTTP here: arguments are passed to ``projections.queries.Queries`` as they are; its
``BadQuery`` is a 400 problem, a views database error a 503. Tables come as JSON pages
(``items``, ``next_after``) or, with ``?format=csv`` or ``Accept: text/csv``, as CSV.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from api.csvsafe import neutralise_formula
from api.deps import Reader, State, page_limit, require
from api.errors import Problem
from api.schemas import CURSOR_CHARS, ViewsStatusOut, ViewStatusOut, problems
from api.state import AppState
from api.tokens import Principal
from api.view_schemas import (
    AnnualReportOut,
    BlockedPageOut,
    CheckpointHistoryOut,
    DisclosuresOut,
    DisclosureTotalsOut,
    JctOut,
    RedFlagCountsOut,
    RedFlagsOut,
    ReleaseAuditOut,
    RequestsOut,
    RequestStatusOut,
    SafeguardsOut,
)
from projections.errors import BadQuery, ProjectionError
from projections.live import LiveViews
from projections.queries import Queries
from projections.query_args import Page

log = logging.getLogger("api")
Out = TypeVar("Out", bound=BaseModel)
router = APIRouter(prefix="/v1/oversight", tags=["oversight"])
public = APIRouter(prefix="/v1", tags=["verification"])
Anyone = Annotated[Principal, Depends(require("oversight", "court", "operator"))]

CSV_TYPE = "text/csv; charset=utf-8"
TABLE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}, "text/csv": {"schema": {"type": "string"}}},
          "description": "JSON, or CSV with ?format=csv / Accept: text/csv (a page's cursor in X-Next-After)"}}
READ_PROBLEMS = problems(400, 401, 403, 503)

Format = Annotated[Literal["json", "csv"], Query(alias="format", description="csv: the rows as CSV")]
Since = Annotated[date | None, Query(description="recorded on or after this day (UTC)")]
Until = Annotated[date | None, Query(description="recorded before this day (UTC)")]
Limit = Annotated[int, Query(ge=1, description="rows per page (at most LEDGER_API_MAX_PAGE)")]
After = Annotated[str | None, Query(max_length=CURSOR_CHARS, description="the previous page's next_after")]
Code = Annotated[str | None, Query(max_length=80)]


@contextmanager
def reading() -> Iterator[None]:
    """Projection errors as problems: a refused argument is 400, a database error 503."""
    try:
        yield
    except BadQuery as e:
        raise Problem(400, "bad-query", "Query argument refused", str(e)) from None
    except ProjectionError as e:  # the message hides bound values, but it is not for callers
        log.error("views: %s", type(e).__name__)
        raise Problem(503, "views-unavailable", "The views cannot be read now", "see /v1/oversight/status") from None


def views_of(state: AppState) -> LiveViews:
    return state.reads.views


def queries(state: AppState) -> Queries:
    return views_of(state).queries


def cell(value: Any) -> str:
    """One CSV cell: empty for null, true/false, lists and objects as compact JSON; never a
    formula (a cell starting with =, +, -, @, tab or CR gets a leading apostrophe)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return neutralise_formula(str(value))


def to_csv(rows: Sequence[dict[str, Any]]) -> str:
    """Rows as CSV (RFC 4180, CRLF); columns: every key, in the order first seen. No rows: empty."""
    columns: dict[str, None] = {}
    for r in rows:
        columns.update(dict.fromkeys(r))
    out = io.StringIO()
    w = csv.writer(out)
    if columns:
        w.writerow(columns)
    for r in rows:
        w.writerow([cell(r.get(c)) for c in columns])
    return out.getvalue()


def wants_csv(request: Request, fmt: str) -> bool:
    return fmt == "csv" or "text/csv" in request.headers.get("accept", "")


def csv_response(rows: Sequence[dict[str, Any]], name: str, next_after: str | None = None) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}.csv"'}
    if next_after is not None:
        headers["X-Next-After"] = next_after
    return Response(to_csv(rows), media_type=CSV_TYPE, headers=headers)


def page_out(request: Request, fmt: str, page: Page, name: str, model: type[Out]) -> Out | Response:
    """A page as ``model`` (its rows validated against their typed model), or as CSV."""
    if wants_csv(request, fmt):
        return csv_response(page.items, name, page.next_after)
    return model.model_validate({"items": page.items, "next_after": page.next_after})


def rows_out(request: Request, fmt: str, rows: list[dict[str, Any]], name: str, model: type[Out]) -> Out | Response:
    """A whole table as ``model``, or as CSV."""
    if wants_csv(request, fmt):
        return csv_response(rows, name)
    return model.model_validate({"items": rows})


# ---- the views' lag --------------------------------------------------------------------------
@router.get("/status", response_model=ViewsStatusOut, responses=READ_PROBLEMS,
            summary="Each view's position against the log head (oversight, court, operator)")
def status(state: State, who: Anyone) -> ViewsStatusOut:
    with reading():
        found = views_of(state).status()
    return ViewsStatusOut(log_size=state.ledger.size(),
                          views=[ViewStatusOut(name=s.name, position=s.position, head=s.head, lag=s.lag)
                                 for s in found])


# ---- 2. disclosures ----------------------------------------------------------------------------
@router.get("/disclosures/totals", response_model=DisclosureTotalsOut, response_model_exclude_unset=True,
            responses={**TABLE, **READ_PROBLEMS},
            summary="Releases, instances and distinct taxpayers by agency, exception or recipient agency")
def disclosure_totals(request: Request, state: State, who: Reader,
                      by: Literal["agency", "exception", "recipient_agency"] = "agency", agency: Code = None,
                      exception: Code = None, since: Since = None, until: Until = None,
                      fmt: Format = "json") -> DisclosureTotalsOut | Response:
    with reading():
        rows = queries(state).disclosure_totals(by, agency=agency, exception=exception, since=since, until=until)
    return rows_out(request, fmt, rows, f"disclosure-totals-{by}", DisclosureTotalsOut)


@router.get("/disclosures", response_model=DisclosuresOut, responses={**TABLE, **READ_PROBLEMS},
            summary="Releases, oldest first, with counts and recipients")
def disclosures(request: Request, state: State, who: Reader, agency: Code = None, exception: Code = None,
                recipient_agency: Code = None, since: Since = None, until: Until = None, limit: Limit = 100,
                after: After = None, fmt: Format = "json") -> DisclosuresOut | Response:
    with reading():
        page = queries(state).disclosures(agency=agency, exception=exception, recipient_agency=recipient_agency,
                                          since=since, until=until, limit=page_limit(state, limit), after=after)
    return page_out(request, fmt, page, "disclosures", DisclosuresOut)


# ---- 3. requests and blocked statements -----------------------------------------------------------
@router.get("/requests", response_model=RequestsOut, responses={**TABLE, **READ_PROBLEMS},
            summary="Requests with their status, in log order")
def requests(request: Request, state: State, who: Reader, agency: Code = None, exception: Code = None,
             since: Since = None, until: Until = None, limit: Limit = 100, after: After = None,
             fmt: Format = "json") -> RequestsOut | Response:
    with reading():
        page = queries(state).requests(agency=agency, exception=exception, since=since, until=until,
                                       limit=page_limit(state, limit), after=after)
    return page_out(request, fmt, page, "requests", RequestsOut)


@router.get("/requests/{request_id}", response_model=RequestStatusOut, responses=problems(400, 401, 403, 404, 503),
            summary="One request's status: lines, matches, decisions, releases, red flags, resubmissions")
def request_status(state: State, who: Reader,
                   request_id: Annotated[str, Path(min_length=1, max_length=128)]) -> RequestStatusOut:
    with reading():
        found = queries(state).request_status(request_id)
    if found is None:
        raise Problem(404, "no-such-request", "No such request in the views",
                      "unknown request id (or the views have not reached it yet)")
    return RequestStatusOut.model_validate(found)


@router.get("/blocked", response_model=BlockedPageOut, responses={**TABLE, **READ_PROBLEMS},
            summary="Statements refused by a rule (recorded as blocked entries)")
def blocked(request: Request, state: State, who: Reader, statement_type: Code = None, since: Since = None,
            until: Until = None, limit: Limit = 100, after: After = None,
            fmt: Format = "json") -> BlockedPageOut | Response:
    with reading():
        page = queries(state).blocked(statement_type=statement_type, since=since, until=until,
                                      limit=page_limit(state, limit), after=after)
    return page_out(request, fmt, page, "blocked", BlockedPageOut)


# ---- 4. § 6103(p)(3)(C) --------------------------------------------------------------------------
Year = Annotated[int, Path(ge=1900, le=9998, description="calendar year")]


@router.get("/annual-report/{year}", response_model=AnnualReportOut, responses={**TABLE, **READ_PROBLEMS},
            summary="§ 6103(p)(3)(C): per requesting agency and subsection, for a calendar year")
def annual_report(request: Request, state: State, who: Reader, year: Year,
                  fmt: Format = "json") -> AnnualReportOut | Response:
    with reading():
        rows = queries(state).annual_report(year)
    return rows_out(request, fmt, rows, f"annual-report-{year}", AnnualReportOut)


@router.get("/annual-report/{year}/jct", response_model=JctOut, responses={**TABLE, **READ_PROBLEMS},
            summary="The annual report in the Joint Committee on Taxation's layout")
def jct_table(request: Request, state: State, who: Reader, year: Year, fmt: Format = "json") -> JctOut | Response:
    with reading():
        rows = queries(state).jct_table(year)
    return rows_out(request, fmt, rows, f"jct-{year}", JctOut)


# ---- 5. unlawful-release audit ------------------------------------------------------------------
@router.get("/release-audit", response_model=ReleaseAuditOut, responses={**TABLE, **READ_PROBLEMS},
            summary="Both measures (no usable address; potentially incomplete) and the released lines")
def release_audit(request: Request, state: State, who: Reader,
                  release_id: Annotated[list[str] | None, Query(max_length=1000,
                                                                description="restrict to these releases")] = None,
                  agency: Code = None, exception: Code = None, since: Since = None, until: Until = None,
                  limit: Limit = 100, after: After = None, fmt: Format = "json") -> ReleaseAuditOut | Response:
    with reading():
        audit = queries(state).release_audit(release_ids=release_id, agency=agency, exception=exception,
                                             since=since, until=until, limit=page_limit(state, limit), after=after)
    lines: Page = audit.pop("lines")
    for row in lines.items:  # pseudonyms never leave raw: re-keyed for this reader (docs/API.md, Pseudonyms)
        raw = row.pop("pseudonym")
        row["taxpayer_ref"] = state.sealed_keys.reader_pseudonym(who.name, raw) if raw else None
    if wants_csv(request, fmt):
        return csv_response(lines.items, "release-audit", lines.next_after)
    return ReleaseAuditOut.model_validate({**audit, "items": lines.items, "next_after": lines.next_after})


# ---- 6. red flags and safeguards ------------------------------------------------------------------
@router.get("/red-flags", response_model=RedFlagsOut, responses={**TABLE, **READ_PROBLEMS},
            summary="Red flags raised on requests (by the matcher or a reviewer)")
def red_flags(request: Request, state: State, who: Reader, flag: Code = None, since: Since = None,
              until: Until = None, limit: Limit = 100, after: After = None,
              fmt: Format = "json") -> RedFlagsOut | Response:
    with reading():
        page = queries(state).red_flags(flag=flag, since=since, until=until, limit=page_limit(state, limit),
                                        after=after)
    return page_out(request, fmt, page, "red-flags", RedFlagsOut)


@router.get("/red-flags/counts", response_model=RedFlagCountsOut, responses={**TABLE, **READ_PROBLEMS},
            summary="Requests per red flag")
def red_flag_counts(request: Request, state: State, who: Reader, since: Since = None, until: Until = None,
                    fmt: Format = "json") -> RedFlagCountsOut | Response:
    with reading():
        rows = queries(state).red_flag_counts(since=since, until=until)
    return rows_out(request, fmt, rows, "red-flag-counts", RedFlagCountsOut)


@router.get("/safeguards", response_model=SafeguardsOut, responses={**TABLE, **READ_PROBLEMS},
            summary="The latest safeguard status per agency")
def safeguards(request: Request, state: State, who: Reader, agency: Code = None,
               fmt: Format = "json") -> SafeguardsOut | Response:
    with reading():
        rows = queries(state).safeguard_posture(agency)
    return rows_out(request, fmt, rows, "safeguards", SafeguardsOut)


# ---- 7. checkpoint history (public, like the checkpoints themselves) ------------------------------
@public.get("/checkpoints/history", response_model=CheckpointHistoryOut, responses={**TABLE, **problems(400, 503)},
            summary="Signed checkpoints (size, root, signed_at), newest first, from the views")
def checkpoint_history(request: Request, state: State, limit: Limit = 100, after: After = None,
                       fmt: Format = "json") -> CheckpointHistoryOut | Response:
    with reading():
        page = queries(state).checkpoints(limit=page_limit(state, limit), after=after)
    return page_out(request, fmt, page, "checkpoints", CheckpointHistoryOut)
