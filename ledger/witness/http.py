"""The witness's HTTP layer: a plain ASGI application served by uvicorn, nothing else.

    POST /add-checkpoint               c2sp.org/tlog-witness add-checkpoint (submission prefix "/")
    GET  /<hex SHA-256 of origin>/checkpoint   the latest cosigned checkpoint (monitoring prefix "/")
    GET  /                             the witness's name and verifier key, as text

No authentication: the spec has none beyond the log's signature on the checkpoint. Bodies over
MAX_BODY are refused (413) before they are read to the end. The database work runs in a worker
thread, so a slow disk does not stall the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from ledger.core.note import MAX_NOTE_BYTES
from ledger.core.witness_protocol import ADD_CHECKPOINT, MAX_PROOF_LINES
from ledger.witness.service import Answer, Witness

# The old size line, 63 proof lines and the largest note this witness parses.
MAX_BODY = 32 + MAX_PROOF_LINES * 45 + 1 + MAX_NOTE_BYTES
_MONITOR_RE = re.compile(r"/([0-9a-f]{64})/checkpoint\Z")
log = logging.getLogger("ledger.witness")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class WitnessApp:
    """ASGI: route, read the body with its limit, answer."""

    def __init__(self, witness: Witness) -> None:
        self.witness = witness
        self.about = (f"c2sp.org/tlog-witness witness {witness.signer.name}\n"
                      f"vkey {witness.signer.verifier}\n"
                      f"POST /{ADD_CHECKPOINT}; GET /<hex SHA-256 of origin>/checkpoint\n").encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            answer = await self._answer(scope, receive)
        except Exception as e:  # the database went away, or a bug: answer, and say what kind in the log
            log.error("%s %s failed: %s", scope["method"], scope["path"], type(e).__name__)
            answer = Answer.text(503, "the witness cannot answer now (its database is unavailable?); try again")
        headers = [(b"content-type", answer.content_type.encode()), (b"content-length", str(len(answer.body)).encode()),
                   (b"cache-control", b"no-store")]
        if answer.status == 405:
            headers.append((b"allow", b"POST" if scope["path"] == f"/{ADD_CHECKPOINT}" else b"GET, HEAD"))
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else answer.body})

    async def _answer(self, scope: Scope, receive: Receive) -> Answer:
        path, method = scope["path"], scope["method"]
        if path == f"/{ADD_CHECKPOINT}":
            if method != "POST":
                return Answer.text(405, "add-checkpoint takes a POST")
            body = await _read_body(receive, MAX_BODY)
            if body is None:
                return Answer.text(413, f"the request body is larger than {MAX_BODY} bytes")
            answer = await asyncio.to_thread(self.witness.add_checkpoint, body)
            log.info("add-checkpoint %d %s(%d bytes)", answer.status, answer.sizes + " " if answer.sizes else "",
                     len(body))
            return answer
        match = _MONITOR_RE.match(path)
        if match or path == "/":
            if method not in ("GET", "HEAD"):
                return Answer.text(405, "this path takes a GET")
            if match:
                return await asyncio.to_thread(self.witness.latest, match.group(1))
            return Answer(200, self.about)
        return Answer.text(404, "not found: POST /add-checkpoint or GET /<hex SHA-256 of origin>/checkpoint")


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it passes the limit."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(parts)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


def serve(witness: Witness, host: str, port: int) -> None:
    """Serve until stopped; say where on stderr first (port 0 takes a free port)."""
    import uvicorn

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)  # connections wait in the backlog until uvicorn accepts them
    bound = sock.getsockname()[1]
    where = f"[{host}]" if family == socket.AF_INET6 else host
    print(f"witness {witness.signer.name} listening on http://{where}:{bound}", file=sys.stderr, flush=True)
    config = uvicorn.Config(WitnessApp(witness), lifespan="on", log_level="info", access_log=False,
                            timeout_keep_alive=30)
    uvicorn.Server(config).run(sockets=[sock])


class ThreadServer:
    """The witness served by uvicorn in a thread of this process, on a free loopback port (tests,
    benchmarks, drills). ``stop()`` ends it."""

    def __init__(self, witness: Witness, host: str = "127.0.0.1") -> None:
        import threading
        import time

        import uvicorn

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, 0))
        sock.listen(128)
        self.url = f"http://{host}:{sock.getsockname()[1]}"
        config = uvicorn.Config(WitnessApp(witness), lifespan="off", log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
