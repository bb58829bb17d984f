"""How ``disclosure-ledger serve`` runs uvicorn: a connection limit and a deadline for request headers.

uvicorn closes an idle kept-alive connection after ``timeout_keep_alive`` seconds, but waits for a
request's headers for ever: a client sending one header byte every few seconds would hold a
connection, and with enough of them every slot of ``limit_concurrency``. ``HeaderDeadline`` closes a
connection whose next request's headers have not all arrived ``header_timeout`` seconds after the
connection opened or its previous response completed. Bodies have their own deadline in the app
(``api.middleware.BodyLimit``: 408). A reverse proxy in front should enforce the same (OPERATIONS § 17).
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol


class HeaderDeadline(H11Protocol):
    """uvicorn's h11 protocol, closing connections whose request headers come too slowly."""

    header_timeout = 10.0  # set by ``configure`` in each serving process, before connections arrive

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def _arm(self) -> None:
        waiting_after = self.cycle  # the request in progress (None before the first)
        self.loop.call_later(self.header_timeout, self._expire, waiting_after)

    def _expire(self, waiting_after: Any) -> None:
        # No new request began since the deadline was armed: its headers did not arrive in time.
        if self.cycle is waiting_after and not self.transport.is_closing():
            self.transport.close()


def configure(header_timeout: float) -> None:
    """Set the header deadline for the connections this process serves."""
    HeaderDeadline.header_timeout = header_timeout


def config(app: Any, *, host: str, port: int, max_connections: int, **options: Any) -> uvicorn.Config:
    """uvicorn's configuration for the service: our protocol, the connection limit, no uvicorn access
    log (it would print query strings; ours, ``api.access``, does not)."""
    return uvicorn.Config(app, host=host, port=port, http=HeaderDeadline, limit_concurrency=max_connections,
                          access_log=False, log_level="info", **options)
