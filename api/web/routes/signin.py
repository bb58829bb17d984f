"""Static files, sign-in (with its throttle: ``api.web.session``) and sign-out."""

from __future__ import annotations

import secrets

from fastapi import Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import State, auth_log
from api.tokens import TokenError
from api.web.pages import HERE, headers, render, session_of, web_router
from api.web.params import form
from api.web.session import (
    COOKIE,
    PRE_COOKIE,
    WebStore,
    address_bucket,
    client_of,
    same,
    same_origin,
    set_cookie,
    token_bucket,
    web_store,
)

STATIC = {"app.css": "text/css", "verify.js": "text/javascript"}

router = web_router()


@router.get("/static/{name}")
def static(name: str) -> Response:
    if name not in STATIC:
        return Response(status_code=404)
    response = FileResponse(HERE / "static" / name, media_type=STATIC[name])
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@router.get("/signin")
def signin_page(request: Request, state: State) -> Response:
    if session_of(request, state) is not None:
        return headers(RedirectResponse("/", status_code=303))
    return _signin(request)


def _signin(request: Request, error: str | None = None, status: int = 200) -> Response:
    csrf = secrets.token_urlsafe(32)
    response = render(request, "signin.html", None, status, csrf=csrf, error=error, title="Sign in")
    set_cookie(response, request, PRE_COOKIE, csrf, path="/signin")
    return response


@router.post("/signin")
async def signin(request: Request, state: State) -> Response:
    data = await form(request)
    if not same_origin(request) or not same(data.get("csrf"), request.cookies.get(PRE_COOKIE)):
        return _signin(request, "The form expired; please sign in again.", 403)
    token = data.get("token", "").strip()
    store, client = web_store(request, state), client_of(request)
    token_id = await run_in_threadpool(state.tokens.known_id, token)
    wait = await run_in_threadpool(_wait, store, client, token_id)
    if wait:  # the token is not even checked
        response = _signin(request, f"Too many failed sign-ins: try again in {_duration(wait)}.", 429)
        response.headers["Retry-After"] = str(wait)
        return response
    try:
        principal = await run_in_threadpool(state.tokens.authenticate, token)
    except TokenError as e:  # the page says no more than this; the server's log says which check failed
        auth_log.info("sign-in refused: %s%s", e, f" (token id {e.token_id})" if e.token_id else "")
        buckets = [address_bucket(client)] + ([token_bucket(token_id)] if token_id else [])
        await run_in_threadpool(store.failed, *buckets)
        return _signin(request, "That token was not accepted (unknown, expired, revoked or malformed).", 401)
    await run_in_threadpool(store.succeeded, token_bucket(principal.token_id))
    await run_in_threadpool(store.drop, request.cookies.get(COOKIE))  # a fresh id at every sign-in
    session = await run_in_threadpool(store.create, principal)
    response = headers(RedirectResponse("/", status_code=303))
    set_cookie(response, request, COOKIE, session.sid)
    response.delete_cookie(PRE_COOKIE, path="/signin")
    return response


def _wait(store: WebStore, client: str, token_id: str | None) -> int:
    """Seconds this try must wait (0: check the token now). A known token id is throttled by its own
    failures only, so a valid token signs in from an address others mistyped at; a token naming no
    known id (a guess) waits for the address."""
    if token_id is not None:
        return store.wait_for(token_bucket(token_id))
    return store.wait_for(address_bucket(client))


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = (seconds + 59) // 60
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


@router.post("/signout")
async def signout(request: Request, state: State) -> Response:
    data = await form(request)
    store = web_store(request, state)
    session = store.get(request.cookies.get(COOKIE))
    if session is not None and same_origin(request) and same(data.get("csrf"), session.csrf):
        store.drop(session.sid)
    elif session is not None:
        return render(request, "error.html", session, 403, title="Not signed out",
                      message="The sign-out form was not this session's (CSRF check failed).")
    response = headers(RedirectResponse("/signin", status_code=303))
    response.delete_cookie(COOKIE, path="/")
    return response
