"""The API's settings, read once at the composition root. No secret has a default."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from ledger.config import ConfigError, Settings

MIB = 1 << 20


@dataclass(frozen=True)
class ApiSettings:
    """What the HTTP service needs beyond the ledger's own settings."""

    ledger: Settings
    max_body_bytes: int = MIB  # larger request bodies get 413
    max_page: int = 1000  # most entries or checkpoints one listing returns
    checkpoint_max_age: float = 60.0  # /readyz fails when entries wait longer than this for a checkpoint
    wait_timeout: float = 10.0  # ?wait=checkpoint gives up after this many seconds
    background_checkpoints: bool = True  # sign a checkpoint for entries that arrive after the last one
    body_timeout: float = 20.0  # a request's whole body must arrive within this many seconds, else 408
    header_timeout: float = 10.0  # a connection's request headers must arrive within this many seconds
    max_connections: int = 200  # per process: more open connections get 503 (uvicorn's limit_concurrency)
    taxpayer_lookups: int = 60  # taxpayer lookups one token may make per window (API and dashboard together)
    taxpayer_window: float = 3600.0  # seconds
    catch_up_timeout: float = 2.0  # seconds a taxpayer read waits for the views to include its inspection, else 503

    def __post_init__(self) -> None:
        if self.max_body_bytes < 1024 or self.max_page < 1 or self.checkpoint_max_age <= 0 or self.wait_timeout <= 0:
            raise ConfigError("API limits must be positive (max_body_bytes at least 1024)")
        if min(self.body_timeout, self.header_timeout, self.taxpayer_window, self.catch_up_timeout) <= 0 \
                or self.max_connections < 1 or self.taxpayer_lookups < 1:
            raise ConfigError("API timeouts, the connection limit and the lookup limit must be positive")

    @classmethod
    def from_env(cls, ledger: Settings, environ: Mapping[str, str] | None = None) -> ApiSettings:
        """LEDGER_API_MAX_BODY_BYTES, LEDGER_API_MAX_PAGE, LEDGER_API_CHECKPOINT_MAX_AGE, LEDGER_API_WAIT_TIMEOUT,
        LEDGER_API_BODY_TIMEOUT, LEDGER_API_HEADER_TIMEOUT, LEDGER_API_MAX_CONNECTIONS,
        LEDGER_API_TAXPAYER_LOOKUPS, LEDGER_API_TAXPAYER_WINDOW, LEDGER_API_CATCH_UP_TIMEOUT
        (docs/OPERATIONS.md § 1)."""
        env = os.environ if environ is None else environ
        try:
            return cls(
                ledger,
                max_body_bytes=int(env.get("LEDGER_API_MAX_BODY_BYTES", MIB)),
                max_page=int(env.get("LEDGER_API_MAX_PAGE", 1000)),
                checkpoint_max_age=float(env.get("LEDGER_API_CHECKPOINT_MAX_AGE", 60.0)),
                wait_timeout=float(env.get("LEDGER_API_WAIT_TIMEOUT", 10.0)),
                body_timeout=float(env.get("LEDGER_API_BODY_TIMEOUT", 20.0)),
                header_timeout=float(env.get("LEDGER_API_HEADER_TIMEOUT", 10.0)),
                max_connections=int(env.get("LEDGER_API_MAX_CONNECTIONS", 200)),
                taxpayer_lookups=int(env.get("LEDGER_API_TAXPAYER_LOOKUPS", 60)),
                taxpayer_window=float(env.get("LEDGER_API_TAXPAYER_WINDOW", 3600.0)),
                catch_up_timeout=float(env.get("LEDGER_API_CATCH_UP_TIMEOUT", 2.0)),
            )
        except ValueError as e:
            raise ConfigError(f"bad API setting: {e}") from None
