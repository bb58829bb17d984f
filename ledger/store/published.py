"""The ledger's checkpoints: the published ones, and the one publisher's rounds (ledger.store.publisher).

A mixin of ``ledger.store.ledger.Ledger``, which provides what is declared below.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from ledger.config import Settings
from ledger.core.checkpoint import SignedCheckpoint, open_with_any
from ledger.core.keys import VerifierKey
from ledger.core.trust import TrustState
from ledger.store.errors import CheckpointRefused, NotInitialised, NotWitnessed
from ledger.store.publisher import Publisher
from ledger.store.service_keys import ServiceKeys

log = logging.getLogger("ledger.store")
LEASE_WAIT = 30.0  # seconds a caller that must sign (init, rotation, the CLI) waits for the publisher lease


class PublishedCheckpoints:
    """Checkpoints as the ledger publishes them: read, published by a round, and the floors below
    which the log may not shrink (the last signed checkpoint, what a witness cosigned)."""

    settings: Settings
    store: Store
    publisher: Publisher
    inline_checkpoints: bool
    _last_checkpoint_at: float

    if TYPE_CHECKING:  # provided by the Ledger and its LogReader
        from ledger.store.db import Store

        def size(self) -> int: ...
        @property
        def keys(self) -> ServiceKeys: ...
        def trust(self) -> TrustState: ...

    def checkpoint(self, force: bool = False) -> SignedCheckpoint:
        """The latest published checkpoint covering the log.

        Unwitnessed (no policy): signs one for the current size when the latest is behind, as the
        one publisher (ledger.store.publisher). With a witness policy it never signs: the latest
        checkpoint a quorum cosigned, or NotWitnessed. ``force`` signs (and, with witnesses, gets
        cosigned) the current size again, e.g. with new keys after a rotation.
        """
        if self.size() == 0:
            raise NotInitialised("the ledger is empty")
        if self.publisher.witnessed and not force:
            return self.publisher.require_published()
        latest = self.latest_checkpoint()
        if latest is not None and latest.checkpoint.size == self.size() and not force and \
                not self.behind_last_checkpoint():
            return latest
        signed = self.publish(force=force, lease_timeout=LEASE_WAIT)
        if signed is None:
            if self.publisher.witnessed:
                raise NotWitnessed(self.publisher.status().describe())
            raise CheckpointRefused(f"another process held the publisher lease for {LEASE_WAIT:.0f} s")
        return signed

    def publish(self, *, force: bool = False, lease_timeout: float = 0.0) -> SignedCheckpoint | None:
        """One publication round (Publisher.publish): the published checkpoint, or None."""
        return self.publisher.publish(force=force, lease_timeout=lease_timeout)

    def note_signed(self, size: int) -> None:
        """A checkpoint of ``size`` was signed: the log may never be shorter from now on."""
        self.raise_floor(size)
        self._last_checkpoint_at = time.monotonic()

    def raise_floor(self, size: int) -> None:
        """Appends are refused while the log is shorter than ``size`` (signed, or cosigned by a witness)."""
        self.store.chain.min_size = max(int(self.store.chain.min_size), size)

    def behind_last_checkpoint(self) -> int:
        """How many entries the log lacks against the last checkpoint signed (0 when it is not behind)."""
        return max(0, int(self.store.chain.min_size) - self.size())

    def latest_checkpoint(self) -> SignedCheckpoint | None:
        history = self.checkpoints(limit=1)
        return history[0] if history else None

    def checkpoints(self, limit: int = 100) -> list[SignedCheckpoint]:
        """Stored checkpoints, newest first."""
        with self.store.reading() as db:
            rows = db.all(f"SELECT note FROM {db.t('dl_checkpoints')} ORDER BY size DESC LIMIT %s", (limit,))
        keys = [k.verifier for k in self.keys.checkpoint]
        if len(rows) > 1:
            keys += self.trust().checkpoint_keys  # older checkpoints may carry only retired keys
        return [open_with_any(r[0], keys) for r in rows]

    def trust_root(self) -> VerifierKey:
        """The checkpoint verifier key a court pins."""
        return self.keys.checkpoint[0].verifier

