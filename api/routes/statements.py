"""Writes: a signed statement (or a batch) with its openings. The signature is the authentication."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Literal

from fastapi import APIRouter, Response

from api.deps import State
from api.errors import RETRY_AFTER, Problem, not_witnessed
from api.metrics import label
from api.schemas import AppendedOut, BatchIn, BatchOut, SeedOut, SeedRequestIn, SubmissionIn, problems
from api.state import AppState
from ledger.core.commitments import Opening
from ledger.core.errors import LedgerError
from ledger.domain.refusals import AppendRefused, RuleRefusal
from ledger.domain.seeds import SeedRefused
from ledger.store.errors import NotWitnessed
from ledger.store.ledger import Appended

router = APIRouter(prefix="/v1/statements", tags=["statements"])
seeds = APIRouter(prefix="/v1/salt-seeds", tags=["statements"])
Wait = Literal["checkpoint"]


def _openings(items: Sequence[Any]) -> list[Opening]:
    try:
        return [Opening.from_json(o.model_dump()) for o in items]
    except LedgerError as e:
        raise Problem(400, "statement-malformed", "Malformed statement or openings; nothing stored", str(e),
                      rule="openings.format") from None


def _out(a: Appended, checkpoint: str | None = None) -> AppendedOut:
    return AppendedOut(index=a.index, leaf_hash=a.leaf_hash.hex(), statement_id=a.statement_id,
                       recorded_at=a.recorded_at, duplicate=a.duplicate, checkpoint=checkpoint)


def _counted(state: AppState, kind: str, call: Any) -> Any:
    """Run an append, timing it and counting a refusal by its reason (or a blocked one by its rule)."""
    prom = state.metrics.prom
    start = time.perf_counter()
    try:
        return call()
    except RuleRefusal as e:
        state.metrics.count(state.metrics.appends, "blocked")
        prom.blocked.labels(label(e.rules[0] if e.rules else "none")).inc()
        raise
    except AppendRefused as e:
        state.metrics.count(state.metrics.appends, "refused")
        prom.refused.labels(label(e.rule)).inc()
        raise
    finally:
        prom.append_seconds.labels(kind).observe(time.perf_counter() - start)


@router.post(
    "", status_code=201, response_model=AppendedOut,
    responses={200: {"description": "an exact resubmission: the original entry", "model": AppendedOut},
               **problems(400, 403, 409, 413, 422, 503)},
    summary="Append one signed statement with the openings of its commitments",
)
def submit(body: SubmissionIn, state: State, response: Response, wait: Wait | None = None) -> AppendedOut:
    openings = _openings(body.openings)
    appended: Appended = _counted(state, "statement", lambda: state.service.submit(body.statement, openings))
    state.metrics.count(state.metrics.appends, "duplicate" if appended.duplicate else "stored")
    if appended.duplicate:
        response.status_code = 200
    checkpoint = None
    if wait == "checkpoint":
        checkpoint = _covering(state, appended.index, [appended])
    return _out(appended, checkpoint)


def _covering(state: AppState, index: int, stored: list[Appended]) -> str:
    """The published checkpoint covering ``index``; a 503 not-witnessed naming what was stored, past the wait."""
    try:
        return state.checkpoint_covering(index, state.settings.wait_timeout).encode()
    except NotWitnessed as e:
        raise not_witnessed(e, RETRY_AFTER, stored=[{"index": a.index, "statement_id": a.statement_id}
                                                    for a in stored]) from None


def _append_batch(state: AppState, body: BatchIn) -> list[Appended]:
    # The disclosure service checks every statement's openings, seals them, appends the batch in
    # one transaction (all or none) and stores the pseudonyms of bulk match chunks.
    openings = [o for s in body.statements for o in _openings(s.openings)]
    return list(state.service.submit_batch([s.statement for s in body.statements], openings))


@router.post(
    "/batch", status_code=201, response_model=BatchOut,
    responses={200: {"description": "an exact resubmission of the whole batch", "model": BatchOut},
               **problems(400, 403, 409, 413, 422, 503)},
    summary="Append statements in one transaction, all or none",
)
def submit_batch(body: BatchIn, state: State, response: Response, wait: Wait | None = None) -> BatchOut:
    appended: list[Appended] = _counted(state, "batch", lambda: _append_batch(state, body))
    for a in appended:
        state.metrics.count(state.metrics.appends, "duplicate" if a.duplicate else "stored")
    if appended and all(a.duplicate for a in appended):
        response.status_code = 200
    checkpoint = None
    if wait == "checkpoint" and appended:
        checkpoint = _covering(state, max(a.index for a in appended), appended)
    return BatchOut(appended=[_out(a) for a in appended], checkpoint=checkpoint)


@seeds.post(
    "", status_code=201, response_model=SeedOut, responses=problems(400, 403, 409, 413, 422, 429),
    summary="Issue the salt seed for a statement the caller will sign (the signed request is the authentication)",
)
def issue_seed(body: SeedRequestIn, state: State) -> SeedOut:
    try:
        return SeedOut.model_validate(state.service.seeds.answer(body.request))
    except SeedRefused as e:  # counted with the statements refused, by its rule (salts.signature, ...)
        state.metrics.prom.refused.labels(label(e.rule)).inc()
        raise
