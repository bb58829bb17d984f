"""RFC 9457 problem details: every refusal the API gives, and the mapping from ledger errors.

The mapping from domain errors to HTTP statuses lives here and nowhere else (STYLE § 3).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger.core.errors import LedgerError
from ledger.domain.refusals import AppendRefused, RuleRefusal
from ledger.domain.seeds import SeedRefused
from ledger.store.errors import CheckpointRefused, NotInitialised, NotWitnessed
from usecases.oversight_read import BadPurpose, ViewsBehind

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://disclosure-ledger.example/problems/"
RETRY_AFTER = 10  # seconds a client is told to wait before asking again for a witnessed checkpoint


class Problem(Exception):
    """An HTTP refusal with a problem type (the last part of its type URI), title and detail."""

    def __init__(self, status: int, kind: str, title: str, detail: str = "", **extra: Any) -> None:
        self.status = status
        self.kind = kind
        self.title = title
        self.detail = detail
        self.extra = extra
        self.headers: dict[str, str] = {}
        super().__init__(f"{status} {kind}: {detail}")

    def body(self, instance: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"type": TYPE_BASE + self.kind, "title": self.title, "status": self.status}
        if self.detail:
            out["detail"] = self.detail
        if instance:
            out["instance"] = instance
        out.update(self.extra)
        return out


def unauthorized(detail: str) -> Problem:
    p = Problem(401, "unauthorized", "Missing or invalid API token", detail)
    p.headers["WWW-Authenticate"] = 'Bearer realm="disclosure-ledger"'
    return p


def forbidden(role: str, allowed: tuple[str, ...]) -> Problem:
    return Problem(403, "forbidden", "Role not allowed",
                   f"role {role!r} may not use this endpoint (allowed: {', '.join(allowed)})")


def refusal_problem(e: AppendRefused) -> Problem:
    """A statement the ledger refused and did not store (docs/FORMAT.md § 7.8)."""
    rule = e.rule
    if rule in ("ledger.duplicate_id", "ledger.refused_id"):
        return Problem(409, "statement-id-conflict", "Statement id already used or refused", str(e), rule=rule)
    if rule == "ledger.behind_checkpoint":
        return Problem(503, "ledger-behind-checkpoint", "The ledger refuses appends", str(e), rule=rule)
    if rule == "signature" or rule.startswith(("trust.", "time")):
        return Problem(403, "statement-not-trusted", "Signature or trust check failed; nothing stored", str(e),
                       rule=rule)
    return Problem(400, "statement-malformed", "Malformed statement or openings; nothing stored", str(e), rule=rule)


def seed_problem(e: SeedRefused) -> Problem:
    """A salt seed the ledger will not issue (FORMAT § 13.1); nothing stored."""
    status, kind, title = {
        "salts.id_used": (409, "statement-id-conflict", "Statement id already used"),
        "salts.id_taken": (409, "statement-id-conflict", "Statement id already has a seed"),
        "salts.too_many": (429, "too-many-seeds", "Too many unused seeds"),
    }.get(e.rule, (400, "seed-request-refused", "Seed request refused"))
    if e.rule in ("salts.signature", "salts.unknown_key", "salts.revoked_key", "salts.role"):
        status, kind, title = 403, "seed-request-not-trusted", "Signature or trust check failed"
    return Problem(status, kind, title, str(e), rule=e.rule)


def rule_problem(e: RuleRefusal) -> Problem:
    """A validly signed statement a § 6103 rule refused: stored once as a `blocked` entry."""
    return Problem(422, "rule-refusal", "Refused by a rule; recorded as a blocked entry", str(e),
                   rule=e.rules[0] if e.rules else "", rules=list(e.rules), blocked_index=e.blocked_index,
                   statement_id=e.statement_id)


def not_witnessed(e: NotWitnessed, retry_after: float, **extra: Any) -> Problem:
    """A checkpoint a quorum of witnesses cosigned does not cover what was asked (yet). With an append,
    ``extra`` says what was stored: the statement stands; only its checkpoint is missing."""
    p = Problem(503, "not-witnessed", "No checkpoint cosigned by a quorum of witnesses covers it yet", str(e),
                **extra)
    p.headers["Retry-After"] = str(max(1, round(retry_after)))
    return p


def views_behind(e: ViewsBehind) -> Problem:
    """A taxpayer read recorded (its inspection stands) but not answered: the views did not reach the
    inspection within the bound. Asking again records another read."""
    p = Problem(503, "views-behind", "The views have not reached this read; nothing was read",
                f"{e}; see /v1/oversight/status", inspection_index=e.inspection, views_position=e.position)
    p.headers["Retry-After"] = str(max(1, round(e.timeout)))
    p.headers["X-Inspection-Index"] = str(e.inspection)
    return p


def bad_purpose(e: BadPurpose) -> Problem:
    return Problem(400, "bad-request", "Invalid purpose", f"purpose: {e}")  # e never repeats the purpose


# Paths of the JSON API (and its documentation and probes): their errors are always problem details.
API_PATHS = ("/v1/", "/docs", "/redoc", "/openapi.json", "/healthz", "/readyz", "/metrics")


def wants_page(request: Request | None) -> bool:
    """A browser asking for a dashboard path (not the JSON API): its errors are HTML pages."""
    if request is None or request.url.path.startswith(API_PATHS) or request.url.path.endswith(".json"):
        return False
    return "text/html" in request.headers.get("accept", "")


def problem_response(p: Problem, request: Request | None = None) -> Response:
    """The problem as RFC 9457 JSON; for a browser on a dashboard path, the dashboard's error page
    (``app.state.error_page``, set by the app) with the same status."""
    page = getattr(request.app.state, "error_page", None) if request is not None else None
    if page is not None and wants_page(request):
        response: Response = page(request, p.status, p.title, p.detail)
        for k, v in (p.headers or {}).items():
            response.headers[k] = v
        return response
    return JSONResponse(p.body(), status_code=p.status, media_type=PROBLEM_JSON, headers=p.headers or None)


def install_handlers(app: FastAPI) -> None:
    """Every error leaves as problem details; nothing else escapes as a 5xx page."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> Response:
        return problem_response(exc, request)

    @app.exception_handler(RuleRefusal)
    async def _rule(request: Request, exc: RuleRefusal) -> Response:
        return problem_response(rule_problem(exc), request)

    @app.exception_handler(SeedRefused)
    async def _seed(request: Request, exc: SeedRefused) -> Response:
        return problem_response(seed_problem(exc), request)

    @app.exception_handler(AppendRefused)
    async def _refused(request: Request, exc: AppendRefused) -> Response:
        return problem_response(refusal_problem(exc), request)

    @app.exception_handler(CheckpointRefused)
    async def _checkpoint(request: Request, exc: CheckpointRefused) -> Response:
        return problem_response(Problem(503, "checkpoint-refused", "The ledger refuses to sign a checkpoint", str(exc)),
                                request)

    @app.exception_handler(NotWitnessed)
    async def _not_witnessed(request: Request, exc: NotWitnessed) -> Response:
        return problem_response(not_witnessed(exc, RETRY_AFTER), request)

    @app.exception_handler(ViewsBehind)
    async def _views_behind(request: Request, exc: ViewsBehind) -> Response:
        return problem_response(views_behind(exc), request)

    @app.exception_handler(BadPurpose)
    async def _bad_purpose(request: Request, exc: BadPurpose) -> Response:
        return problem_response(bad_purpose(exc), request)

    @app.exception_handler(NotInitialised)
    async def _uninitialised(request: Request, exc: NotInitialised) -> Response:
        return problem_response(Problem(503, "not-initialised", "The ledger has no genesis entry", str(exc)), request)

    @app.exception_handler(LedgerError)
    async def _ledger(request: Request, exc: LedgerError) -> Response:
        return problem_response(Problem(400, "bad-request", "The ledger refused the request", str(exc)), request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        # Never echo the input back: a body may hold a TIN.
        where = sorted({".".join(str(p) for p in err.get("loc", ())) for err in exc.errors()})
        detail = "invalid request: " + "; ".join(where[:10])
        return problem_response(Problem(422, "invalid-request", "Request does not match the schema", detail), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        kinds = {400: "bad-request", 404: "not-found", 405: "method-not-allowed", 413: "body-too-large"}
        p = Problem(exc.status_code, kinds.get(exc.status_code, "http-error"), str(exc.detail))
        if exc.headers:
            p.headers.update(exc.headers)
        return problem_response(p, request)
