"""For operators: liveness, readiness and metrics — never log contents."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from api.deps import Operator, State
from api.metrics import CONTENT_TYPE
from api.schemas import HealthOut, ReadyOut, problems
from ledger.core.entry import parse_entry
from ledger.core.times import parse_time, utc_now

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=HealthOut, summary="Liveness: the process answers")
def healthz() -> HealthOut:
    return HealthOut(status="ok")


@router.get("/readyz", response_model=ReadyOut, responses={503: {"model": ReadyOut}},
            summary="Readiness: the database answers and no entry waits too long for a checkpoint")
def readyz(state: State) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        size = state.ledger.size()
        checks["database"] = "ok"
    except Exception as e:  # any database failure means not ready; the message is for the operator
        checks["database"] = f"unreachable ({type(e).__name__})"
        return JSONResponse(ReadyOut(status="not_ready", checks=checks).model_dump(), status_code=503)
    # A restored older database: the log is shorter than the last checkpoint signed (kept outside
    # the database). The ledger refuses appends and checkpoints then.
    publication = state.ledger.publisher.status()
    behind = max(state.ledger.behind_last_checkpoint(), publication.high_water - size)
    checks["log"] = "ok" if not behind else (
        f"behind the last checkpoint signed or cosigned by a witness by {behind} entries: restored from an old backup?")
    latest = state.ledger.latest_checkpoint()
    if latest is None:
        checks["checkpoint"] = "none signed"
    elif latest.checkpoint.size >= size:
        checks["checkpoint"] = "ok"
    else:
        waiting_since = parse_time(parse_entry(state.ledger.entry(latest.checkpoint.size)).recorded_at)
        age = utc_now() - waiting_since
        limit = timedelta(seconds=state.settings.checkpoint_max_age)
        checks["checkpoint"] = "ok" if age <= limit else (
            f"{size - latest.checkpoint.size} entries wait {age.total_seconds():.0f}s for a checkpoint")
    if publication.witnessed:
        checks["witnesses"] = "ok" if publication.problem is None else publication.describe()
    ready = all(v == "ok" for v in checks.values())
    body = ReadyOut(status="ready" if ready else "not_ready", checks=checks, witnesses=publication.describe())
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response, responses={
    200: {"content": {"text/plain": {"schema": {"type": "string"}}}}, **problems(401, 403)},
    summary="Prometheus text metrics (operator token; docs/OPERATIONS.md § 14)")
def metrics(state: State, _who: Operator) -> Response:
    return Response(state.metrics.prom.scrape(state), media_type=CONTENT_TYPE)
