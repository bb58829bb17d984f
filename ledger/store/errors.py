"""Errors raised by the store."""

from __future__ import annotations

from ledger.core.errors import LedgerError


class StoreError(LedgerError):
    """Base class of store failures."""


class Conflict(StoreError):
    """An append names a statement id already stored (an exact resubmission, or another statement
    under a used id): nothing was stored; the ledger then looks up which."""


class NeedsMigration(StoreError):
    """The database was written by an earlier release; `disclosure-ledger migrate` brings it up to date."""


class CheckpointRefused(StoreError):
    """The ledger will not sign a checkpoint inconsistent with the last one it signed."""


class NotWitnessed(StoreError):
    """A witness policy is configured and no checkpoint covering what was asked met its quorum (yet)."""


class NotInitialised(StoreError):
    """The ledger has no genesis yet."""
