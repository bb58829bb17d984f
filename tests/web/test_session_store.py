"""The session store and the sign-in throttle on each backend (SQLite, PostgreSQL): what is stored,
expiry, revocation, and the throttle's waits — with a settable clock, not a mock."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from api.tokens import TokenStore
from api.web.session import (
    FAILURE_WINDOW,
    IDLE_SECONDS,
    MAX_AGE_SECONDS,
    MAX_DELAY,
    MAX_FAILURES,
    WebStore,
    address_bucket,
    csrf_of,
    delay,
    token_bucket,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def stores(backend_url):
    tokens = TokenStore(backend_url)
    clock = Clock()
    yield tokens, WebStore(tokens, clock), clock, backend_url
    tokens.close()


def test_a_session_survives_a_new_store_and_ends_at_sign_out(stores):
    """A second process (a new store on the same database) finds the session; drop ends it for both."""
    tokens, store, clock, url = stores
    token, row = tokens.create("test.example/auditor", "oversight", timedelta(hours=1))
    session = store.create(tokens.authenticate(token))
    assert session.csrf == csrf_of(session.sid) != session.sid
    other_tokens = TokenStore(url)
    try:
        other = WebStore(other_tokens, clock)
        found = other.get(session.sid)
        assert found is not None and found.principal.name == "test.example/auditor" and found.csrf == session.csrf
        with store.engine.connect() as conn:
            stored = list(conn.execute(sa.select(store.sessions)))
        assert len(stored) == 1 and session.sid not in repr(stored) and token not in repr(stored)
        assert stored[0].token_id == row.token_id
        other.drop(session.sid)
        assert store.get(session.sid) is None and other.get(session.sid) is None
    finally:
        other_tokens.close()
    assert store.get("nope") is None and store.get(None) is None and store.get("x" * 500) is None


def test_sessions_expire_and_end_with_their_token(stores):
    """Idle too long, open too long, or its token revoked: the session is gone."""
    tokens, store, clock, _ = stores
    token, row = tokens.create("test.example/court", "court", timedelta(hours=24))
    principal = tokens.authenticate(token)
    idle = store.create(principal)
    clock.now += IDLE_SECONDS - 5
    assert store.get(idle.sid) is not None  # used: its idle time starts again
    clock.now += IDLE_SECONDS - 5
    assert store.get(idle.sid) is not None
    clock.now += IDLE_SECONDS + 1
    assert store.get(idle.sid) is None
    old, born = store.create(principal), clock.now
    while store.get(old.sid) is not None:  # kept busy, it still ends at MAX_AGE_SECONDS
        clock.now += IDLE_SECONDS - 60
        assert clock.now - born <= MAX_AGE_SECONDS + IDLE_SECONDS
    assert clock.now - born > MAX_AGE_SECONDS
    live = store.create(principal)
    assert store.get(live.sid) is not None
    assert tokens.revoke(row.token_id)
    assert store.get(live.sid) is None


def test_failed_sign_ins_slow_a_bucket_down_and_never_lock_it_out(stores):
    """MAX_FAILURES failures are free; then each try waits delay(n) after the last failure (doubling, at
    most MAX_DELAY); a bucket left alone for FAILURE_WINDOW starts again; other buckets are unaffected."""
    _, store, clock, _ = stores
    bucket = address_bucket("192.0.2.7")
    for n in range(1, MAX_FAILURES):
        assert store.failed(bucket) == n
        assert store.wait_for(bucket) == 0
    assert [delay(n) for n in range(MAX_FAILURES, MAX_FAILURES + 4)] == [1, 2, 4, 8]
    assert delay(MAX_FAILURES + 30) == MAX_DELAY < FAILURE_WINDOW
    assert store.failed(bucket) == MAX_FAILURES
    assert store.wait_for(bucket) == 1 and store.wait_for(address_bucket("192.0.2.8")) == 0
    clock.now += 1
    assert store.wait_for(bucket) == 0
    assert store.failed(bucket) == MAX_FAILURES + 1 and store.wait_for(bucket) == 2
    for _ in range(20):
        store.failed(bucket)
    assert store.wait_for(bucket) == MAX_DELAY  # slowed, never locked out for the window
    clock.now += MAX_DELAY
    assert store.wait_for(bucket) == 0
    clock.now += FAILURE_WINDOW
    assert store.failed(bucket) == 1  # a new start
    token = token_bucket("0123456789abcdef")
    assert store.failed(token, bucket) == 1
    store.succeeded(token)
    assert store.wait_for(token) == 0
    with store.engine.connect() as conn:
        stored = list(conn.execute(sa.select(store.failures)))
    assert len(stored) == 1 and "192.0.2.7" not in repr(stored) and "0123456789abcdef" not in repr(stored)
