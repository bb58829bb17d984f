"""Errors of the projections package: one base class, re-raised from third-party errors."""

from __future__ import annotations

from ledger.errors import LedgerError


class ProjectionError(LedgerError):
    """Base class of every error the projections raise."""


class UnknownView(ProjectionError):
    """A projection name that does not exist."""


class BadQuery(ProjectionError):
    """A query argument that cannot be used (bad date, limit, cursor, TIN …); nothing is read or changed."""


class TrackingConflict(ProjectionError):
    """Another runner advanced the same projection between our read of its position and our commit."""

    def __init__(self, name: str, expected: int) -> None:
        super().__init__(f"projection {name!r} is no longer at position {expected}: another runner advanced it")
        self.name = name
        self.expected = expected


class ProjectionDatabaseError(ProjectionError):
    """A database error while reading the log or writing a view."""
