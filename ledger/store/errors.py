"""Errors raised by the store."""

from __future__ import annotations

from ledger.errors import LedgerError


class StoreError(LedgerError):
    """Base class of store failures."""


class AppendRefused(StoreError):
    """A statement that stores nothing: bad signature, unknown or revoked key, role, shape."""

    def __init__(self, message: str, rule: str, statement_id: str | None = None) -> None:
        self.rule = rule
        self.statement_id = statement_id  # which statement of a batch, when known
        super().__init__(message)


class RuleRefusal(StoreError):
    """A validly signed statement a rule refuses; it is recorded as a ledger-signed `blocked` entry."""

    def __init__(self, statement_id: str, rules: list[str], message: str) -> None:
        self.statement_id = statement_id
        self.rules = rules
        self.blocked_index: int | None = None
        super().__init__(message)


class CheckpointRefused(StoreError):
    """The ledger will not sign a checkpoint inconsistent with the last one it signed."""


class NotWitnessed(StoreError):
    """A witness policy is configured and no checkpoint covering what was asked met its quorum (yet)."""


class NotInitialised(StoreError):
    """The ledger has no genesis yet."""
