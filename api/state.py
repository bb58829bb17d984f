"""What the running app holds: the ledger, the disclosure service, the token store, the read side, counters."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from fastapi import Request

from api.metrics import OUTCOMES, ProcessMetrics
from api.ratelimit import LookupLimit
from api.settings import ApiSettings
from api.tokens import TokenStore
from ledger.core.checkpoint import SignedCheckpoint
from ledger.domain.service import DisclosureService
from ledger.sealed import SealedKeys
from ledger.store.errors import CheckpointRefused, NotWitnessed
from ledger.store.ledger import Ledger
from usecases.oversight_read import ReadSide

log = logging.getLogger("api")


@dataclass
class Metrics:
    """What this process counts for /metrics (api/metrics.py); no label carries personal data.

    ``count(metrics.appends, outcome)`` counts a statement by outcome (stored, duplicate,
    blocked, refused, inspection); ``prom`` holds the Prometheus counters and histograms.
    """

    appends: Counter[str] = field(default_factory=Counter)  # by outcome, this process only
    lock: threading.Lock = field(default_factory=threading.Lock)
    prom: ProcessMetrics = field(default_factory=ProcessMetrics)

    def count(self, counter: Counter[str], key: str) -> None:
        with self.lock:
            counter[key] += 1
        if counter is self.appends:
            self.prom.statements.labels(key if key in OUTCOMES else "other").inc()


@dataclass
class AppState:
    settings: ApiSettings
    ledger: Ledger
    service: DisclosureService
    tokens: TokenStore
    sealed_keys: SealedKeys
    reads: ReadSide  # the views, the oversight read, the log's re-check: built once at start-up
    lookups: LookupLimit | None = None  # taxpayer lookups per token (api.ratelimit)
    metrics: Metrics = field(default_factory=Metrics)
    started: float = field(default_factory=time.monotonic)

    def lookup_allowed(self, token_id: str, surface: str) -> float | None:
        """Take one taxpayer lookup from the token's allowance: None, or the seconds until it has one
        again (counted in ``dl_taxpayer_lookups_limited_total``; the log line names the token id)."""
        retry = self.lookups.take(token_id) if self.lookups is not None else None
        if retry is not None:
            self.metrics.prom.lookups_limited.labels(surface).inc()
            log.warning("taxpayer lookups limited for token %s (%s) for %.0f s", token_id, surface, retry)
        return retry

    def checkpoint_covering(self, index: int, timeout: float) -> SignedCheckpoint:
        """The first published checkpoint whose tree includes entry ``index``.

        The publisher (this process's background thread or another's) publishes about once a
        second; a waiter gives it that long. Unwitnessed, the waiter then runs a round itself (the
        publisher lease serialises it with every other signer). With a witness policy it only
        waits — rounds talk to the witnesses, and one at a time is enough — and, past ``timeout``,
        raises NotWitnessed.
        """
        ledger = self.ledger
        start = time.monotonic()
        deadline = start + timeout
        own_turn = start + min(timeout, self.settings.ledger.checkpoint_interval + 0.1)
        while True:
            latest = ledger.latest_checkpoint()
            if latest is not None and latest.checkpoint.size > index:
                return latest
            now = time.monotonic()
            if now >= deadline:
                break
            if now >= own_turn and not ledger.publisher.witnessed:
                signed = ledger.publish(lease_timeout=min(1.0, deadline - now))
                if signed is not None and signed.checkpoint.size > index:
                    return signed
            time.sleep(0.02)
        if ledger.publisher.witnessed:
            raise NotWitnessed(f"no checkpoint a quorum of witnesses cosigned covers entry {index} after "
                               f"{timeout:g} s: {ledger.publisher.status().describe()}")
        raise CheckpointRefused(f"no checkpoint covers entry {index} after {timeout:g} s")

    def sign_if_behind(self) -> None:
        """Background duty: entries that arrived after the last checkpoint get one (if this process
        holds the publisher lease; otherwise the holder publishes them)."""
        ledger = self.ledger
        if ledger.publisher.witnessed:
            ledger.raise_floor(ledger.publisher.status().high_water)  # what a witness showed holds here too
        ledger.publish()  # a round returns at once when the latest published checkpoint covers the log


def get_state(request: Request) -> AppState:
    """The running app's state (the routers' ``State`` dependency)."""
    state: AppState = request.app.state.dl
    return state
