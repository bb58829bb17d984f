"""The composition root of the HTTP service: ``create_app(settings, sealed_keys)``."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response

from api.errors import Problem, install_handlers, problem_response
from api.middleware import AccessLog, BodyLimit, http_observer
from api.ratelimit import LookupLimit
from api.routes import log as log_routes
from api.routes import ops, oversight, statements, views
from api.schemas import problems
from api.settings import ApiSettings
from api.state import AppState, Metrics
from api.tokens import TokenStore
from api.web.pages import error_page
from api.web.routes import router as web_router
from ledger.bootstrap import open_ledger
from ledger.core.errors import LedgerError
from ledger.domain.service import DisclosureService
from ledger.sealed import SealedKeys, SealedStore
from ledger.store.ledger import Ledger
from projections.db import open_database
from projections.errors import TrackingConflict
from projections.live import LiveViews
from projections.queries import Queries
from projections.runner import Runner
from projections.source import LogSource
from usecases.oversight_read import ReadSide

log = logging.getLogger("api")
VIEWS_INTERVAL = 0.5  # seconds between the background catch-ups of the projections when idle


def create_app(settings: ApiSettings, sealed_keys: SealedKeys, *, ledger: Ledger | None = None,
               views_db_url: str | None = None, views_interval: float | None = VIEWS_INTERVAL) -> FastAPI:
    """The FastAPI app over the ledger the settings name (or ``ledger``, which the caller closes).

    ``sealed_keys`` (no default) seal openings and compute pseudonyms. The oversight reads —
    the JSON API's and the dashboard's, through the one read side (``usecases.oversight_read``)
    built here at start-up — query the projections in ``views_db_url`` (default: the ledger's
    database); a background thread applies new entries to them every ``views_interval`` seconds
    (``None``: no thread — the taxpayer read still catches up to its own inspection, for at most
    ``settings.catch_up_timeout`` seconds). Configuration is read by the caller, once; nothing
    here reads the environment, and nothing connects to a database until the app starts (its
    lifespan).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_ledger = ledger is None
        the_ledger = open_ledger(settings.ledger) if ledger is None else ledger
        create = settings.ledger.create_tables  # False in `serve --workers N`: the parent created them
        sealed = SealedStore(settings.ledger.db_url, sealed_keys, create_tables=create)
        tokens = TokenStore(settings.ledger.db_url, create_tables=create)
        source = open_database(settings.ledger.db_url)
        views_db = open_database(views_db_url) if views_db_url else source
        live = LiveViews(Queries(views_db), Runner(LogSource(source), views_db))
        lookups = LookupLimit(tokens, settings.taxpayer_lookups, settings.taxpayer_window, create_tables=create)
        service = DisclosureService(the_ledger, sealed, sealed_keys)
        metrics = Metrics()
        reads = ReadSide(the_ledger, service, live, settings.catch_up_timeout,
                         on_inspection=lambda: metrics.count(metrics.appends, "inspection"))
        state = AppState(settings, the_ledger, service, tokens, sealed_keys, reads, lookups, metrics)
        app.state.dl = state
        try:
            live.create()
        except Exception as e:  # the database may come later: the catch-up and the reads retry
            log.error("projections not created: %s", type(e).__name__)
        stop = threading.Event()
        threads = []
        if settings.background_checkpoints:
            the_ledger.inline_checkpoints = False  # the thread below signs; no request waits for it
            threads.append(threading.Thread(target=_sign_behind, args=(state, stop), name="checkpoint-signer",
                                            daemon=True))
        if views_interval is not None:
            threads.append(threading.Thread(target=_follow_log, args=(state, stop, views_interval),
                                            name="projections", daemon=True))
        for t in threads:
            t.start()
        try:
            yield
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=5)
            the_ledger.inline_checkpoints = True  # a caller's ledger goes back as it came
            if views_db is not source:
                views_db.close()
            source.close()
            tokens.close()
            sealed.close()
            if own_ledger:
                the_ledger.close()

    app = FastAPI(title="Disclosure Ledger API", version="1", lifespan=lifespan,
                  description="A tamper-evident ledger of § 6103 disclosures. See docs/API.md.")
    install_handlers(app)
    app.state.error_page = error_page  # a browser's error on a dashboard path is a page, not JSON

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.error("unexpected %s on %s", type(exc).__name__, request.url.path)  # no message: it may hold input
        return problem_response(Problem(500, "internal", "Internal error", "the error was logged"), request)

    app.include_router(statements.router)
    app.include_router(statements.seeds)
    app.include_router(log_routes.public)
    app.include_router(log_routes.restricted)
    app.include_router(oversight.router)
    app.include_router(views.router)
    app.include_router(views.public)
    app.include_router(ops.router)
    app.include_router(web_router)  # the browser dashboard (api/web), with its static files

    _problem_openapi(app)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes, timeout=settings.body_timeout)
    app.add_middleware(AccessLog, observe=http_observer(app))  # outermost: logs the 413s too
    return app


def _problem_openapi(app: FastAPI) -> None:
    """Document FastAPI's validation errors as what they are here: 422 problem details."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description,
                                 routes=app.routes)
            for operation in (op for item in schema["paths"].values() for op in item.values()):
                responses = operation.setdefault("responses", {})
                if "422" in responses or operation.get("parameters") or operation.get("requestBody"):
                    responses["422"] = problems(422)[422]
                if operation.get("requestBody"):
                    responses.setdefault("400", problems(400)[400])
                    responses.setdefault("408", problems(408)[408])
                    responses.setdefault("413", problems(413)[413])
            schema.get("components", {}).get("schemas", {}).pop("HTTPValidationError", None)
            schema.get("components", {}).get("schemas", {}).pop("ValidationError", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _sign_behind(state: AppState, stop: threading.Event) -> None:
    """Sign a checkpoint for entries that arrived after the last one (appends sign at most once a second)."""
    interval = max(state.settings.ledger.checkpoint_interval, 0.2)
    while not stop.wait(interval):
        try:
            state.sign_if_behind()
        except LedgerError as e:  # e.g. a restored older database: readiness shows it, the log says why
            log.error("checkpoint not signed: %s", e)
        except Exception as e:
            log.error("checkpoint signer: %s", type(e).__name__)


def _follow_log(state: AppState, stop: threading.Event, interval: float) -> None:
    """Apply new entries to the projections, a page at a time, while the app runs."""
    while not stop.is_set():
        try:
            if state.reads.views.step():
                continue  # more may be waiting: no pause between pages of a backlog
        except TrackingConflict:
            pass  # another worker process applied this page first (serve --workers N): nothing is wrong
        except Exception as e:  # a database hiccup: status shows the lag; the next round retries
            log.error("projections catch-up: %s", type(e).__name__)
        stop.wait(interval)
