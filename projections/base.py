"""What a projection is: a name, the tables it owns, how it reads its source and applies a page.

The runner (``projections.runner``) wraps ``apply`` in one transaction with the projection's
tracking row, so a page is applied exactly once or not at all.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from projections.source import LogEntry, LogSource
from projections.tables import ViewTables


class Projection(ABC):
    """A read model: owns some ``pj_`` tables, advances a position over its source."""

    name: str = ""

    @abstractmethod
    def tables(self, t: ViewTables) -> list[sa.Table]:
        """The tables this projection alone writes (dropped and recreated by a rebuild)."""

    @abstractmethod
    def head(self, source: LogSource) -> int:
        """The position the projection is complete at, now."""

    @abstractmethod
    def read(self, source: LogSource, position: int, page: int) -> tuple[Sequence[Any], int]:
        """Up to ``page`` items after ``position``, and the position after them."""

    @abstractmethod
    def apply(self, conn: sa.Connection, t: ViewTables, items: Sequence[Any]) -> None:
        """Write the rows for ``items`` (inside the runner's transaction)."""


class EntryProjection(Projection):
    """A projection of log entries; its position is the number of entries applied.

    ``types``: the statement types it reads; other entries are passed over (not parsed), but
    counted in its position all the same.
    """

    types: frozenset[str] = frozenset()

    def head(self, source: LogSource) -> int:
        return source.head()

    def read(self, source: LogSource, position: int, page: int) -> tuple[Sequence[LogEntry], int]:
        return source.read(position, page, self.types)
