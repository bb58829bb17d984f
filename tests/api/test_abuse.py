"""The service under abuse, served by a real uvicorn as `disclosure-ledger serve` runs it (api.server):
slow bodies and slow headers are cut by their deadlines while the service keeps answering; connections
past the limit get 503 at once; taxpayer lookups are limited per token across the API and the dashboard.

Finding 2 (regression): 12 connections trickling a byte every 5 s were all still held after 52 s, with
no concurrency limit. Everything here talks to 127.0.0.1 only and stops by itself within seconds.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from apifix import fast, make_tokens
from domainfix import AGENCY, open_domain

from api import server
from api.app import create_app
from api.settings import ApiSettings
from ledger.sealed import SealedKeys

DEADLINE = 1.5  # seconds, for both the body and the headers
TRICKLERS = 20


class Served:
    def __init__(self, base: str, port: int, app: Any, ledger: Any, tokens: dict[str, str]) -> None:
        self.base, self.port, self.app, self.ledger, self.tokens = base, port, app, ledger, tokens


@pytest.fixture
def served(settings, request) -> Iterator[Served]:
    options = {"body_timeout": DEADLINE, "header_timeout": DEADLINE, "max_connections": 64,
               "background_checkpoints": False, **getattr(request, "param", {})}
    settings = fast(settings)
    domain = open_domain(settings)
    domain.principal("ice.dhs.gov/director", ["requester"], agency=AGENCY, category="agency_head")
    api_settings = ApiSettings(settings, **options)
    app = create_app(api_settings, SealedKeys.random(), ledger=domain.ledger, views_interval=None)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server.configure(api_settings.header_timeout)
    uv = server.config(app, host="127.0.0.1", port=port, max_connections=api_settings.max_connections,
                       timeout_keep_alive=1)
    uv.log_level = "warning"
    instance = server.uvicorn.Server(uv)
    thread = threading.Thread(target=instance.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not instance.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the test server did not start"
        time.sleep(0.05)
    try:
        yield Served(f"http://127.0.0.1:{port}", port, app, domain.ledger, make_tokens(settings))
    finally:
        instance.should_exit = True
        thread.join(timeout=15)
        server.configure(10.0)
        domain.ledger.close()
        sock.close()


def _connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setblocking(True)
    return s


def _answer(s: socket.socket, timeout: float) -> bytes:
    """What the server sent until it closed the connection (or ``timeout`` passed: then what came)."""
    s.settimeout(timeout)
    got = b""
    try:
        while chunk := s.recv(4096):
            got += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return got


def test_finding_trickling_connections_are_cut_and_the_service_keeps_answering(served):
    """20 connections trickle (10 a body, 10 their headers) a byte every 0.3 s: meanwhile /healthz answers
    promptly; after the deadline each body is answered 408 and closed, each slow header closed; after them
    the service still answers."""
    bodies = [_connect(served.port) for _ in range(TRICKLERS // 2)]
    headers = [_connect(served.port) for _ in range(TRICKLERS // 2)]
    for s in bodies:
        s.sendall(b"POST /v1/statements HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 1000\r\n\r\n{")
    started = time.monotonic()
    stop = threading.Event()
    cut: dict[int, float] = {}

    def trickle() -> None:
        while not stop.is_set():
            for i, s in enumerate([*bodies, *headers]):
                if i in cut:
                    continue
                try:
                    s.sendall(b"x" if i < len(bodies) else b"X-Slow: 1\r\n"[:1])
                except OSError:
                    cut[i] = time.monotonic() - started
            stop.wait(0.3)

    sender = threading.Thread(target=trickle, daemon=True)
    sender.start()
    try:
        latencies = []
        with httpx.Client(base_url=served.base, timeout=5) as http:
            while time.monotonic() - started < DEADLINE * 0.8:  # before the deadline, all 20 held
                t = time.monotonic()
                assert http.get("/healthz").status_code == 200
                latencies.append(time.monotonic() - t)
                time.sleep(0.1)
        assert latencies and max(latencies) < 1.0
        answers = [_answer(s, DEADLINE * 3) for s in bodies]
        closed = [_answer(s, DEADLINE * 3) for s in headers]
        took = time.monotonic() - started
    finally:
        stop.set()
        sender.join(timeout=5)
        for s in [*bodies, *headers]:
            s.close()
    assert all(a.startswith(b"HTTP/1.1 408 ") and b"body-timeout" in a for a in answers), answers[:2]
    assert all(c == b"" for c in closed)  # closed without an answer: no request ever began
    assert took < DEADLINE * 3
    with httpx.Client(base_url=served.base, timeout=5) as http:
        assert http.get("/healthz").status_code == 200
        assert http.get("/v1/checkpoint").status_code == 200


@pytest.mark.parametrize("served", [{"max_connections": 4}], indirect=True)
def test_connections_past_the_limit_get_503_until_the_deadline_frees_them(served):
    """With 4 connections held by slow headers, a fifth request is answered 503 at once; once the header
    deadline has closed them, requests are served again."""
    held = [_connect(served.port) for _ in range(4)]
    for s in held:
        s.sendall(b"GET /healthz HTTP/1.1\r\n")
    time.sleep(0.2)
    try:
        t = time.monotonic()
        r = httpx.get(served.base + "/healthz", timeout=5)
        assert r.status_code == 503 and time.monotonic() - t < 1.0
        for s in held:
            assert _answer(s, DEADLINE * 3) == b""
        assert httpx.get(served.base + "/healthz", timeout=5).status_code == 200
    finally:
        for s in held:
            s.close()


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.mark.parametrize("served", [{"taxpayer_lookups": 3, "taxpayer_window": 3600.0}], indirect=True)
def test_taxpayer_lookups_are_limited_per_token_across_api_and_dashboard(served):
    """3 lookups per token: two through the API and one through the dashboard (same token) are read and
    recorded; the fourth, on either surface, is 429 and records nothing; another token is unaffected; the
    refusals are counted in dl_taxpayer_lookups_limited_total."""
    body = {"tin": "900-70-0001", "purpose": "fictional audit"}
    auth = {"Authorization": f"Bearer {served.tokens['oversight']}"}
    with httpx.Client(base_url=served.base, timeout=10) as http:
        for _ in range(2):
            assert http.post("/v1/oversight/taxpayer", json=body, headers=auth).status_code == 200
        web = httpx.Client(base_url=served.base, timeout=10)
        page = web.get("/signin")
        assert web.post("/signin", data={"csrf": CSRF.search(page.text).group(1),
                                         "token": served.tokens["oversight"]}).status_code == 303
        form = {"csrf": CSRF.search(web.get("/taxpayer").text).group(1), **body}
        assert web.post("/taxpayer", data=form).status_code == 200
        size = served.ledger.size()
        refused = http.post("/v1/oversight/taxpayer", json=body, headers=auth)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
        assert refused.json()["type"].endswith("/rate-limited")
        assert web.post("/taxpayer", data=form).status_code == 429
        assert served.ledger.size() == size  # nothing read, nothing recorded
        court = {"Authorization": f"Bearer {served.tokens['court']}"}
        assert http.post("/v1/oversight/taxpayer", json=body, headers=court).status_code == 200
        metrics = http.get("/metrics", headers={"Authorization": f"Bearer {served.tokens['operator']}"}).text
        web.close()
    assert re.search(r'dl_taxpayer_lookups_limited_total\{surface="api"\} 1\.0', metrics)
    assert re.search(r'dl_taxpayer_lookups_limited_total\{surface="web"\} 1\.0', metrics)


def test_the_limit_resets_with_its_window(settings):
    """The window is fixed: a token's count starts again in the next one; counts are per token."""
    from api.ratelimit import LookupLimit
    from api.tokens import TokenStore

    now = [1000.0]
    store = TokenStore(settings.db_url)
    try:
        limit = LookupLimit(store, 2, 60.0, clock=lambda: now[0])
        assert [limit.take("a"), limit.take("a")] == [None, None]
        assert limit.take("a") == pytest.approx(20.0) and limit.take("b") is None
        now[0] = 1021.0  # the next window
        assert limit.take("a") is None
    finally:
        store.close()


def test_settings_refuse_nonsense():
    from pathlib import Path

    from ledger.config import ConfigError, Settings

    ledger = Settings("sqlite:///x.sqlite3", Path("k"), Path("c"))
    for bad in ({"body_timeout": 0}, {"max_connections": 0}, {"taxpayer_lookups": 0}):
        with pytest.raises(ConfigError):
            ApiSettings(ledger, **bad)
    env = {"LEDGER_API_BODY_TIMEOUT": "5", "LEDGER_API_MAX_CONNECTIONS": "9", "LEDGER_API_TAXPAYER_LOOKUPS": "7"}
    got = ApiSettings.from_env(ledger, env)
    assert (got.body_timeout, got.max_connections, got.taxpayer_lookups) == (5.0, 9, 7)

