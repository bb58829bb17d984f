"""Dependencies shared by the routers: the app state, and the bearer-token role check."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from api.errors import Problem, forbidden, unauthorized
from api.state import AppState, get_state
from api.tokens import Principal, TokenError

State = Annotated[AppState, Depends(get_state)]
auth_log = logging.getLogger("api.auth")
NOT_ACCEPTED = "a valid API token is required: Authorization: Bearer <token>"


def refuse_token(request: Request, reason: str, token_id: str | None = None) -> Problem:
    """401 with one answer for every failure; why goes to the server's log (never the token itself,
    only the public id of a known token that was revoked or expired)."""
    known = f" (token id {token_id})" if token_id else ""
    auth_log.info("401 on %s %s: %s%s", request.method, request.url.path, reason, known)
    return unauthorized(NOT_ACCEPTED)


def require(*roles: str) -> Callable[..., Principal]:
    """A dependency admitting a valid bearer token whose role is one of ``roles`` (401, else 403)."""

    def check(request: Request, state: State) -> Principal:
        header = request.headers.get("authorization")
        if not header:
            raise refuse_token(request, "no Authorization header")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise refuse_token(request, "not a Bearer Authorization header")
        try:
            principal = state.tokens.authenticate(token.strip())
        except TokenError as e:
            raise refuse_token(request, str(e), e.token_id) from None
        if principal.role not in roles:
            raise forbidden(principal.role, roles)
        request.state.principal = principal
        return principal

    return check


COURT_OR_OVERSIGHT = ("court", "oversight")
Reader = Annotated[Principal, Depends(require(*COURT_OR_OVERSIGHT))]
Operator = Annotated[Principal, Depends(require("operator"))]


def page_limit(state: AppState, limit: int) -> int:
    if limit < 1 or limit > state.settings.max_page:
        raise Problem(400, "bad-page-size", "Page size out of range",
                      f"limit must be between 1 and {state.settings.max_page}")
    return limit
