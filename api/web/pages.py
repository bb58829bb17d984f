"""What every page shares: who may see it, its headers, its template context, and its preamble.

The preamble (the session, else sign in; the role, else 403) is one dependency, ``page(path)``,
that hands the handler a ``Page``. A page that cannot go on (signed out, wrong role, bad input,
views unavailable) raises ``Refused`` with the response to send instead, and ``PageRoute`` sends
it, so a handler reads from top to bottom as the page it serves.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from api.deps import State
from api.state import AppState
from api.web import labels
from api.web.session import COOKIE, Session, web_store
from projections.errors import BadQuery, ProjectionError
from projections.queries import Queries

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals.update(coded=labels.coded, coded_list=labels.coded_list, label=labels.label,
                             plural=labels.plural, exceptions=labels.EXCEPTIONS)

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
ROLES = {path: roles for path, _, roles in PAGES} | {"/entries": READERS, "/blocked": READERS}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")

T = TypeVar("T")


def headers(response: Response) -> Response:
    """``response`` with the headers every page carries (no caching, the CSP, no framing)."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"  # no-referrer would make Origin "null" on POSTs
    response.headers["X-Frame-Options"] = "DENY"
    return response


def csv_file(text: str, name: str) -> Response:
    """A CSV download (the API's layout, ``api.routes.views.to_csv``) with the pages' headers."""
    response = headers(Response(text, media_type="text/csv; charset=utf-8"))
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


def render(request: Request, name: str, session: Session | None, status: int = 200, **context: Any) -> Response:
    """Template ``name`` with the navigation the session's role may follow."""
    nav = [(p, label) for p, label, roles in PAGES if session is not None and session.principal.role in roles]
    kept = {k: v for k, v in request.query_params.items() if k not in ("page", "size") and v}
    context.update(session=session, nav=nav, path=request.url.path, can=lambda p: may(session, p),
                   query="?" + urlencode(kept) if kept else "")  # the filters a table's CSV link keeps
    return headers(templates.TemplateResponse(request, name, context, status_code=status))


def may(session: Session | None, path: str) -> bool:
    """Whether the session's role may see the page at ``path``."""
    return session is not None and session.principal.role in ROLES.get(path, ())


def session_of(request: Request, state: AppState) -> Session | None:
    """The live session of the request's cookie, if any."""
    return web_store(request, state).get(request.cookies.get(COOKIE))


ERROR_TITLES = {400: "Bad input", 401: "Not signed in", 403: "Not allowed", 404: "No such page",
                405: "Not allowed here", 413: "Too much sent", 422: "Bad input", 429: "Too many tries",
                500: "Something went wrong", 503: "Unavailable"}
ERROR_MESSAGES = {404: "There is no page at this address.",
                  405: "This page cannot be reached that way.",
                  422: "The address or the form is not what this page takes.",
                  500: "The server could not show this page; the error was logged. Try again, or go back."}


def error_page(request: Request, status: int, title: str, detail: str) -> Response:
    """The dashboard's error page for an error raised outside a page (an unknown path, a malformed
    request, an unexpected failure): HTML with the navigation, never the API's JSON."""
    session = None
    state = getattr(request.app.state, "dl", None)
    if state is not None:
        try:
            session = session_of(request, state)
        except Exception:  # the error page must not fail in turn (say, the database is down)
            session = None
    message = ERROR_MESSAGES.get(status) or detail or title
    return render(request, "error.html", session, status, title=ERROR_TITLES.get(status, title), message=message)


class Refused(Exception):  # not an error: what a page sends instead of itself
    """Raised with the response to send instead of the page (sign-in, 400, 403, 503)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class PageRoute(APIRoute):
    """A route that sends the response of a ``Refused`` raised by its dependencies or its handler."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except Refused as refused:
                return refused.response

        return route


def web_router() -> APIRouter:
    """A router of dashboard pages: out of the OpenAPI schema, and ``Refused`` becomes its response."""
    return APIRouter(include_in_schema=False, route_class=PageRoute)


@dataclass(frozen=True)
class Page:
    """A request for a page, by a session whose role may see it."""

    request: Request
    state: AppState
    session: Session

    def render(self, name: str, status: int = 200, **context: Any) -> Response:
        return render(self.request, name, self.session, status, **context)

    def refuse(self, status: int, title: str, message: str) -> Refused:
        """The error page to raise instead of this one."""
        return Refused(self.render("error.html", status, title=title, message=message))

    def bad(self, message: str) -> Refused:
        return self.refuse(400, "Bad input", message)

    def query(self, fn: Callable[[Queries], T]) -> T:
        """``fn(queries)`` on caught-up views; bad input becomes a 400 page, not a 5xx."""
        try:
            return fn(self.state.reads.fresh())
        except BadQuery as e:
            raise self.bad(str(e)) from None
        except ProjectionError:
            raise self.refuse(503, "Views unavailable", "The projections could not be read; try again.") from None


def page(path: str) -> Any:
    """The preamble of the page at ``path`` as a dependency: its session (else sign in), its role (else 403)."""

    def preamble(request: Request, state: State) -> Page:
        session = session_of(request, state)
        if session is None:
            raise Refused(headers(RedirectResponse("/signin", status_code=303)))
        if not may(session, path):
            raise Refused(render(request, "error.html", session, 403, title="Not allowed",
                                 message=f"The role {session.principal.role} may not see this page."))
        return Page(request, state, session)

    return Depends(preamble)
