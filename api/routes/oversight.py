"""Oversight reads of a taxpayer's history. Every read is first recorded in the ledger as an
`inspection` statement signed by the ledger's statement key (FORMAT § 17.4.10)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.deps import State, require
from api.errors import Problem
from api.schemas import InspectionOut, TaxpayerHistoryOut, TaxpayerQueryIn, problems
from api.tokens import Principal
from ledger.client import disclosure as dc
from ledger.errors import LedgerError

router = APIRouter(prefix="/v1/oversight", tags=["oversight"])
Inspector = Annotated[Principal, Depends(require("oversight", "court"))]
VIEW = "taxpayer_history"


@router.post("/taxpayer", response_model=TaxpayerHistoryOut, responses=problems(400, 401, 403, 501, 503),
             summary="A taxpayer's access history, by TIN in the body; the read is recorded first")
def taxpayer_history(body: TaxpayerQueryIn, state: State, who: Inspector) -> TaxpayerHistoryOut:
    if state.history is None:
        # Nothing was read, so nothing is recorded. An empty list would read as "no disclosures".
        raise Problem(501, "projections-unavailable", "Taxpayer history is not available yet",
                      "the projections' query API is not wired into this service")
    try:
        subject = state.sealed_keys.pseudonym(body.tin)
        sub = dc.inspection(state.ledger.keys.statement, view=VIEW, subject_pseudonym=subject, role=who.role,
                            purpose=body.purpose, reader=who.name)
    except LedgerError as e:  # messages never repeat the TIN or the purpose
        raise Problem(400, "bad-request", "Invalid TIN or purpose", str(e)) from None
    recorded = state.service.submit(sub.note, sub.openings)  # before anything is read: fail closed
    state.metrics.count(state.metrics.appends, "inspection")
    history = [dict(row) for row in state.history(subject)]
    return TaxpayerHistoryOut(
        inspection=InspectionOut(index=recorded.index, leaf_hash=recorded.leaf_hash.hex(),
                                 statement_id=recorded.statement_id),
        history=history)
