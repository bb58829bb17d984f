"""Oversight reads of a taxpayer's history. Every read is first recorded in the ledger as an
`inspection` statement signed by the ledger's statement key for the reader (FORMAT § 17.4.10;
``api.history``, shared with the dashboard), then the history is read from the projections
(view 1, docs/PROJECTIONS.md § 3) once they include it, each inspection naming who read and why."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from api.deps import State, require
from api.errors import Problem
from api.history import BadPurpose, record_inspection, with_inspectors
from api.routes.views import TABLE, csv_response, reading, views_of
from api.schemas import TaxpayerQueryIn, problems
from api.tokens import Principal
from api.view_schemas import InspectionOut, TaxpayerHistoryOut
from ledger.core.errors import LedgerError

router = APIRouter(prefix="/v1/oversight", tags=["oversight"])
Inspector = Annotated[Principal, Depends(require("oversight", "court"))]
CATCH_UP_TIMEOUT = 2.0  # seconds a read waits for the views to include its own inspection


@router.post("/taxpayer", response_model=TaxpayerHistoryOut,
             responses={**TABLE, **problems(400, 401, 403, 429, 503)},
             summary="A taxpayer's access history, by TIN in the body; the read is recorded first")
def taxpayer_history(request: Request, body: TaxpayerQueryIn, state: State,
                     who: Inspector) -> TaxpayerHistoryOut | Response:
    views = views_of(state)
    retry = state.lookup_allowed(who.token_id, "api")
    if retry is not None:
        limited = Problem(429, "rate-limited", "Too many taxpayer lookups",
                          f"this token may look up {state.settings.taxpayer_lookups} taxpayers per "
                          f"{state.settings.taxpayer_window:g} seconds; nothing was read or recorded")
        limited.headers["Retry-After"] = str(int(retry + 0.999))
        raise limited
    try:
        subject = state.sealed_keys.pseudonym(body.tin)
    except LedgerError as e:  # messages never repeat the TIN
        raise Problem(400, "bad-request", "Invalid TIN", f"tin: {e}") from None
    try:
        recorded = record_inspection(state, who, subject, body.purpose)  # before anything is read: fail closed
    except BadPurpose as e:  # messages never repeat the purpose; a refused append is not the caller's
        raise Problem(400, "bad-request", "Invalid purpose", f"purpose: {e}") from None
    with reading():
        caught_up = views.catch_up_to(recorded.index, CATCH_UP_TIMEOUT)  # the reader sees their own read
        page = views.queries.taxpayer_history(subject, since=body.since, until=body.until, limit=body.limit,
                                              after=body.after)
    with_inspectors(state, page.items)  # each inspection: who read (the principal) and why
    headers = {"X-Inspection-Index": str(recorded.index)}
    if "text/csv" in request.headers.get("accept", ""):
        response = csv_response(page.items, "taxpayer-history", page.next_after)
        response.headers.update(headers)
        return response
    return TaxpayerHistoryOut.model_validate({
        "inspection": InspectionOut(index=recorded.index, leaf_hash=recorded.leaf_hash.hex(),
                                    statement_id=recorded.statement_id),
        "caught_up": caught_up, "items": page.items, "next_after": page.next_after})
