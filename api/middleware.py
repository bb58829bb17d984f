"""ASGI middleware: a body-size limit (413 problem) and deadline (408), and JSON access logs without
personal data.

The access log holds method, path (no query string), status and duration — never bodies,
headers or query strings, which may carry a TIN or a token.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import Problem

access_log = logging.getLogger("api.access")


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, whether announced or streamed, and bodies
    that have not arrived whole ``timeout`` seconds after the headers with 408, closing the connection
    (a client trickling a byte every few seconds holds nothing for longer)."""

    def __init__(self, app: ASGIApp, limit: int, timeout: float = 20.0) -> None:
        self.app = app
        self.limit = limit
        self.timeout = timeout

    def _too_large(self) -> Problem:
        return Problem(413, "body-too-large", "Request body too large",
                       f"request bodies are limited to {self.limit} bytes")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await _send_problem(send, self._too_large() if length.isdigit() else
                                Problem(400, "bad-request", "Bad Content-Length", "Content-Length is not a number"))
            return
        body = bytearray()
        more = True
        deadline = asyncio.get_running_loop().time() + self.timeout
        while more:
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                await _send_problem(send, Problem(408, "body-timeout", "Request body too slow",
                                                  f"the whole body must arrive within {self.timeout:g} seconds"),
                                    close=True)
                return
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.limit:
                await _send_problem(send, self._too_large())
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _send_problem(send: Send, problem: Problem, close: bool = False) -> None:
    data = json.dumps(problem.body()).encode()
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(data)).encode())]
    if close:  # the rest of the body may still be on its way: the server closes the connection after this
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


def route_template(scope: Scope) -> str:
    """The matched route's template (``/v1/entries/{index}``), never the raw path; ``unmatched`` if none."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path else "unmatched"


class AccessLog:
    """One JSON line per request on the ``api.access`` logger; reports each request to ``observe``
    as (route template, method, status, seconds) for the metrics."""

    def __init__(self, app: ASGIApp, observe: Callable[[str, str, int, float], None] | None = None) -> None:
        self.app = app
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            seconds = time.perf_counter() - start
            record = {"event": "access", "method": scope.get("method"), "path": scope.get("path"),
                      "status": status, "duration_ms": round(seconds * 1000, 2)}
            access_log.info(json.dumps(record, ensure_ascii=True))
            if self.observe is not None:
                self.observe(route_template(scope), str(scope.get("method", "")), status, seconds)


HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def http_observer(app: Any) -> Callable[[str, str, int, float], None]:
    """What ``AccessLog`` reports each request to: the app's HTTP duration histogram, by route
    template, method and status (no label carries a path's values)."""

    def observe(route: str, method: str, status: int, seconds: float) -> None:
        state = getattr(app.state, "dl", None)
        if state is not None:
            known = method if method in HTTP_METHODS else "other"  # a client may send any method name
            state.metrics.prom.http_seconds.labels(route, known, str(status)).observe(seconds)

    return observe
