"""Browser sessions: an API token exchanged for a random session id in an HttpOnly, SameSite=Strict
cookie (Secure over TLS), with a per-session CSRF token for every form.

Sessions live in the process's memory (a restart signs everyone out). The token is kept server
side and re-checked on every request, so a revoked or expired token ends its sessions at once.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

from fastapi import Request
from starlette.responses import Response

from api.tokens import Principal, TokenError, TokenStore

COOKIE = "dl_session"
PRE_COOKIE = "dl_signin"  # the sign-in form's CSRF token (double submit, before there is a session)
IDLE_SECONDS = 30 * 60
MAX_SESSIONS = 10_000


@dataclass
class Session:
    sid: str
    token: str
    principal: Principal
    csrf: str
    last_seen: float


@dataclass
class Sessions:
    items: dict[str, Session] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self, token: str, principal: Principal) -> Session:
        s = Session(secrets.token_urlsafe(32), token, principal, secrets.token_urlsafe(32), time.monotonic())
        with self.lock:
            if len(self.items) >= MAX_SESSIONS:
                self._expire()
            self.items[s.sid] = s
        return s

    def _expire(self) -> None:
        now = time.monotonic()
        for sid in [k for k, v in self.items.items() if now - v.last_seen > IDLE_SECONDS]:
            del self.items[sid]

    def get(self, sid: str | None, tokens: TokenStore) -> Session | None:
        if not sid:
            return None
        with self.lock:
            s = self.items.get(sid)
            if s is None:
                return None
            if time.monotonic() - s.last_seen > IDLE_SECONDS:
                del self.items[sid]
                return None
        try:
            principal = tokens.authenticate(s.token)
        except TokenError:
            self.drop(sid)
            return None
        s.principal = principal
        s.last_seen = time.monotonic()
        return s

    def drop(self, sid: str | None) -> None:
        if sid:
            with self.lock:
                self.items.pop(sid, None)


def sessions(request: Request) -> Sessions:
    store: Sessions | None = getattr(request.app.state, "web_sessions", None)
    if store is None:
        store = Sessions()
        request.app.state.web_sessions = store
    return store


def secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def set_cookie(response: Response, request: Request, name: str, value: str, path: str = "/") -> None:
    response.set_cookie(name, value, httponly=True, samesite="strict", secure=secure(request), path=path)


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def same_origin(request: Request) -> bool:
    """A POST whose Origin (when the browser sends one) is this site."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host
