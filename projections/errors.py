"""Errors of the projections package: one base class, re-raised from third-party errors."""

from __future__ import annotations

from eventsourcing.persistence import IntegrityError

from ledger.core.errors import LedgerError


class ProjectionError(LedgerError):
    """Base class of every error the projections raise."""


class UnknownView(ProjectionError):
    """A projection name that does not exist."""


class BadQuery(ProjectionError):
    """A query argument that cannot be used (bad date, limit, cursor, TIN …); nothing is read or changed."""


class TrackingConflict(ProjectionError, IntegrityError):
    """Another runner advanced the same projection between our read of its position and our commit.

    Also eventsourcing's ``IntegrityError``: that is how its ``TrackingRecorder`` contract reports a
    position that cannot be recorded (``ViewTracking.insert_tracking``)."""

    def __init__(self, name: str, expected: int) -> None:
        super().__init__(f"projection {name!r} is no longer at position {expected}: another runner advanced it")
        self.name = name
        self.expected = expected


class AlreadyApplied(TrackingConflict):
    """``insert_tracking`` of an entry the projection has already applied (or passed over)."""

    def __init__(self, name: str, index: int, position: int) -> None:
        ProjectionError.__init__(
            self, f"projection {name!r} already applied entry {index}: it is at position {position}")
        self.name = name
        self.expected = index
        self.position = position


class ProjectionDatabaseError(ProjectionError):
    """A database error while reading the log or writing a view."""
