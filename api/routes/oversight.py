"""Oversight reads of a taxpayer's history: HTTP only. The read itself — recorded first as an
``inspection`` (FORMAT § 17.4.10), the views caught up to it within a bound, then the history (view 1,
docs/PROJECTIONS.md § 3) — is ``usecases.oversight_read``, the same path the dashboard takes. Its
``BadPurpose`` is a 400 problem, ``ViewsBehind`` a 503 (``api.errors``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from api.deps import State, require
from api.errors import Problem
from api.routes.views import TABLE, csv_response, reading
from api.schemas import TaxpayerQueryIn, problems
from api.tokens import Principal
from api.view_schemas import InspectionOut, TaxpayerHistoryOut
from ledger.core.errors import LedgerError

router = APIRouter(prefix="/v1/oversight", tags=["oversight"])
Inspector = Annotated[Principal, Depends(require("oversight", "court"))]


@router.post("/taxpayer", response_model=TaxpayerHistoryOut,
             responses={**TABLE, **problems(400, 401, 403, 429, 503)},
             summary="A taxpayer's access history, by TIN in the body; the read is recorded first")
def taxpayer_history(request: Request, body: TaxpayerQueryIn, state: State,
                     who: Inspector) -> TaxpayerHistoryOut | Response:
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
    with reading():
        read = state.reads.taxpayer_history(who, subject, body.purpose, since=body.since, until=body.until,
                                            limit=body.limit, after=body.after)
    headers = {"X-Inspection-Index": str(read.inspection.index)}
    if "text/csv" in request.headers.get("accept", ""):
        response = csv_response(read.items, "taxpayer-history", read.next_after)
        response.headers.update(headers)
        return response
    recorded = read.inspection
    return TaxpayerHistoryOut.model_validate({
        "inspection": InspectionOut(index=recorded.index, leaf_hash=recorded.leaf_hash.hex(),
                                    statement_id=recorded.statement_id),
        "caught_up": True, "items": read.items, "next_after": read.next_after})
