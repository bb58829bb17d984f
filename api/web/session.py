"""Browser sessions and the sign-in rate limit, kept in the ledger's database (next to ``api_tokens``)
so that they hold across restarts and across several uvicorn workers.

* A session is a random id in an HttpOnly, SameSite=Strict cookie (Secure over TLS). The table
  ``web_sessions`` keeps only SHA-256 of that id — a copy of the database does not sign anybody
  in — with the id of the API token it was opened with (never the token), its start and its last
  use. Each request re-checks that token's row, so revoking or expiring the token ends its
  sessions at once; a session also ends after ``IDLE_SECONDS`` unused or ``MAX_AGE_SECONDS`` in all,
  and sign-out deletes its row.
* The CSRF token of a session's forms is HMAC-SHA256(session id, "csrf"): derived, not stored, and
  unknown to anybody who cannot read the HttpOnly cookie.
* ``web_signin_throttle`` slows failed sign-ins down rather than locking anybody out. It counts
  failures per *bucket*: a client address, and the token id a well-formed token names (never the
  token, never its secret; a bucket is stored as SHA-256 of its name). ``MAX_FAILURES`` failures
  are free; after the n-th, the bucket waits ``delay(n)`` seconds (1, 2, 4, … at most
  ``MAX_DELAY``) before its next try, and a bucket with no failure for ``FAILURE_WINDOW`` seconds
  starts again. A try is refused (HTTP 429, the token not checked) while the token id's bucket
  waits, or while the address waits and the token names no known token id. So brute force from an
  address (random tokens) slows down exponentially, guessing one token's secret slows down from
  any address, and somebody with a valid token signs in from an address others mistyped at.

Why a table and not a signed cookie: a signed cookie needs one more secret to configure and
cannot be revoked at sign-out before it expires; the table needs nothing new and revokes at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from fastapi import Request
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from starlette.responses import Response

from api.state import AppState
from api.tokens import Principal, TokenStore
from ledger.core.times import parse_time, utc_now

COOKIE = "dl_session"
PRE_COOKIE = "dl_signin"  # the sign-in form's CSRF token (double submit, before there is a session)
IDLE_SECONDS = 30 * 60
MAX_AGE_SECONDS = 12 * 3600
TOUCH_SECONDS = 60  # last use is written at most once a minute per session
MAX_FAILURES = 5  # failures of a bucket (an address, a token id) before it must wait between tries
MAX_DELAY = 5 * 60  # the longest wait between two tries of a bucket
FAILURE_WINDOW = 15 * 60  # a bucket without a failure for this long starts again


def delay(failures: int) -> int:
    """Seconds a bucket with ``failures`` failures waits after the last one before its next try."""
    return 0 if failures < MAX_FAILURES else min(2 ** (failures - MAX_FAILURES), MAX_DELAY)


def address_bucket(client: str) -> str:
    return "address:" + client


def token_bucket(token_id: str) -> str:
    return "token:" + token_id


class SessionStoreError(Exception):
    """The sessions' tables could not be read or written."""


@dataclass(frozen=True)
class Session:
    sid: str
    principal: Principal
    csrf: str


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def csrf_of(sid: str) -> str:
    return hmac.new(sid.encode(), b"dl-web-csrf", hashlib.sha256).hexdigest()


class WebStore:
    """``web_sessions`` and ``web_signin_throttle``, through the token store's engine."""

    def __init__(self, tokens: TokenStore, clock: Callable[[], float] = time.time) -> None:
        self.tokens, self.engine, self.clock = tokens, tokens.engine, clock
        metadata = sa.MetaData(schema=tokens.table.schema)
        self.sessions = sa.Table(
            "web_sessions", metadata,
            sa.Column("sid_sha256", sa.String(64), primary_key=True),
            sa.Column("token_id", sa.String(32), nullable=False),
            sa.Column("created", sa.Float, nullable=False),
            sa.Column("last_seen", sa.Float, nullable=False),
        )
        self.failures = sa.Table(
            "web_signin_throttle", metadata,
            sa.Column("bucket_sha256", sa.String(64), primary_key=True),
            sa.Column("failures", sa.Integer, nullable=False),
            sa.Column("last_failure", sa.Float, nullable=False),
        )
        for attempt in range(3):  # several workers may create the tables at once: the loser looks again
            try:
                with self.engine.begin() as conn:
                    metadata.create_all(conn)
                break
            except SQLAlchemyError as e:
                if attempt == 2:
                    raise SessionStoreError(f"session tables: database error {type(e).__name__}") from None
                time.sleep(0.1)

    # ---- sessions ------------------------------------------------------------------------------
    def create(self, principal: Principal) -> Session:
        sid, now = secrets.token_urlsafe(32), self.clock()
        s = self.sessions.c
        with self.engine.begin() as conn:
            conn.execute(self.sessions.delete().where(
                sa.or_(s.last_seen < now - IDLE_SECONDS, s.created < now - MAX_AGE_SECONDS)))
            conn.execute(self.sessions.insert().values(sid_sha256=_digest(sid), token_id=principal.token_id,
                                                       created=now, last_seen=now))
        return Session(sid, principal, csrf_of(sid))

    def get(self, sid: str | None) -> Session | None:
        """The live session of the cookie's id, or None (unknown, idle, too old, token invalid)."""
        if not sid or len(sid) > 100:
            return None
        now, key, s = self.clock(), _digest(sid), self.sessions.c
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(self.sessions).where(s.sid_sha256 == key)).first()
        if row is None:
            return None
        principal = self._principal(row.token_id)
        if principal is None or now - row.last_seen > IDLE_SECONDS or now - row.created > MAX_AGE_SECONDS:
            self._delete(key)
            return None
        if now - row.last_seen > TOUCH_SECONDS:
            with self.engine.begin() as conn:
                conn.execute(self.sessions.update().where(s.sid_sha256 == key).values(last_seen=now))
        return Session(sid, principal, csrf_of(sid))

    def _principal(self, token_id: str) -> Principal | None:
        t = self.tokens.table
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.token_id == token_id)).first()
        if row is None or row.revoked_at is not None or parse_time(row.expires_at) <= utc_now():
            return None
        return Principal(row.token_id, row.principal, row.role, row.expires_at)

    def drop(self, sid: str | None) -> None:
        if sid and len(sid) <= 100:
            self._delete(_digest(sid))

    def _delete(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(self.sessions.delete().where(self.sessions.c.sid_sha256 == key))

    # ---- sign-in throttle ---------------------------------------------------------------------
    def wait_for(self, bucket: str) -> int:
        """Seconds until ``bucket`` may try to sign in again (0: now)."""
        f, now = self.failures.c, self.clock()
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(self.failures).where(f.bucket_sha256 == _digest(bucket))).first()
        if row is None or now - row.last_failure >= FAILURE_WINDOW:
            return 0
        left = row.last_failure + delay(row.failures) - now
        return max(1, int(left + 0.999)) if left > 0 else 0

    def failed(self, *buckets: str) -> int:
        """Count a failed sign-in against each bucket; returns the failures of the first one."""
        counts = [self._fail(b) for b in buckets]
        return counts[0] if counts else 0

    def _fail(self, bucket: str) -> int:
        f, now, key = self.failures.c, self.clock(), _digest(bucket)
        for _ in range(3):  # another worker may insert the same bucket meanwhile
            try:
                with self.engine.begin() as conn:
                    done = conn.execute(self.failures.update().where(
                        f.bucket_sha256 == key, f.last_failure > now - FAILURE_WINDOW,
                    ).values(failures=f.failures + 1, last_failure=now))
                    if not done.rowcount:
                        conn.execute(self.failures.delete().where(f.bucket_sha256 == key))
                        conn.execute(self.failures.insert().values(bucket_sha256=key, failures=1, last_failure=now))
                    count = conn.execute(sa.select(f.failures).where(f.bucket_sha256 == key)).scalar_one()
                return int(count)
            except IntegrityError:
                continue
        return MAX_FAILURES

    def succeeded(self, bucket: str) -> None:
        """Forget ``bucket``'s failures (a token's, at its sign-in; the address keeps its count, so a
        valid token of one's own does not reset the brute force one tries from there)."""
        with self.engine.begin() as conn:
            conn.execute(self.failures.delete().where(self.failures.c.bucket_sha256 == _digest(bucket)))


def web_store(request: Request, state: AppState) -> WebStore:
    """The app's session store, over the app's token store (made on first use)."""
    store: WebStore | None = getattr(request.app.state, "web_sessions", None)
    if store is None or store.tokens is not state.tokens:
        store = WebStore(state.tokens)
        request.app.state.web_sessions = store
    return store


def client_of(request: Request) -> str:
    """The address failed sign-ins are counted against (behind a proxy: run uvicorn with
    ``--proxy-headers --forwarded-allow-ips`` so that this is the client's, not the proxy's)."""
    return request.client.host if request.client is not None else "unknown"


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
