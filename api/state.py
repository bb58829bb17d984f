"""What the running app holds: the ledger, the disclosure service, the token store, counters."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from api.settings import ApiSettings
from api.tokens import TokenStore
from ledger.checkpoint import SignedCheckpoint
from ledger.domain.service import DisclosureService
from ledger.sealed import SealedKeys
from ledger.store.errors import CheckpointRefused
from ledger.store.ledger import Ledger

# The projections package's query for one taxpayer's access history, keyed by pseudonym.
# Not built yet (issue 6): until it is wired, /v1/oversight/taxpayer answers 501.
TaxpayerHistory = Callable[[str], Sequence[Mapping[str, Any]]]


@dataclass
class Metrics:
    """Counters for /metrics (no labels that could carry personal data)."""

    requests: Counter[str] = field(default_factory=Counter)  # by status class, e.g. "2xx"
    appends: Counter[str] = field(default_factory=Counter)  # by outcome: stored, duplicate, blocked, refused
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, counter: Counter[str], key: str) -> None:
        with self.lock:
            counter[key] += 1


@dataclass
class AppState:
    settings: ApiSettings
    ledger: Ledger
    service: DisclosureService
    tokens: TokenStore
    sealed_keys: SealedKeys
    history: TaxpayerHistory | None
    metrics: Metrics = field(default_factory=Metrics)
    started: float = field(default_factory=time.monotonic)
    _checkpoint_lock: threading.Lock = field(default_factory=threading.Lock)

    def checkpoint_covering(self, index: int, timeout: float) -> SignedCheckpoint:
        """The first stored checkpoint whose tree includes entry ``index``, signing one if none comes in time.

        Checkpoints are signed at most about once a second by the appends themselves; a waiter
        gives them that long, then signs one (serialised, so two waiters never race the keeper).
        """
        deadline = time.monotonic() + min(timeout, self.settings.ledger.checkpoint_interval + 0.1)
        while True:
            latest = self.ledger.latest_checkpoint()
            if latest is not None and latest.checkpoint.size > index:
                return latest
            if time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        with self._checkpoint_lock:
            latest = self.ledger.latest_checkpoint()
            if latest is not None and latest.checkpoint.size > index:
                return latest
            try:
                return self.ledger.checkpoint()
            except CheckpointRefused:
                # Another signer (an append's own checkpoint) got there first with a larger size.
                latest = self.ledger.latest_checkpoint()
                if latest is not None and latest.checkpoint.size > index:
                    return latest
                raise

    def sign_if_behind(self) -> None:
        """Background duty: entries that arrived after the last checkpoint get one."""
        with self._checkpoint_lock:
            latest = self.ledger.latest_checkpoint()
            if latest is None or latest.checkpoint.size < self.ledger.size():
                self.ledger.checkpoint()
