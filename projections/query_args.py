"""The arguments of the view queries, checked before anything is read: limits and cursors of
pages, date bounds (``recorded_at``, UTC; ``since`` inclusive, ``until`` exclusive), the shapes
of ids and codes. Every refusal is a ``BadQuery`` naming the argument, never echoing much of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from projections.errors import BadQuery

MAX_LIMIT = 1000
CURSOR_RE = re.compile(r"(0|[1-9][0-9]{0,17})(\.(0|[1-9][0-9]{0,9})){0,2}\Z")
HEX64_RE = re.compile(r"[0-9a-f]{64}\Z")
ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z")
CODE_RE = re.compile(r"[A-Za-z0-9_ ./()+:-]{1,80}\Z")


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_after: str | None = None


@dataclass(frozen=True)
class DateRange:
    since: str | None = None
    until: str | None = None

    def where(self, column: sa.ColumnElement[Any]) -> list[sa.ColumnElement[bool]]:
        out: list[sa.ColumnElement[bool]] = []
        if self.since is not None:
            out.append(column >= self.since)
        if self.until is not None:
            out.append(column < self.until)
        return out


def _bound(value: date | datetime | str | None, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        text = value
        try:
            value = date.fromisoformat(text)
        except ValueError:
            raise BadQuery(f"{name}: expected YYYY-MM-DD, found {text[:40]!r}") from None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise BadQuery(f"{name}: a datetime must carry a time zone")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%dT00:00:00.000000Z")
    raise BadQuery(f"{name}: expected a date, found {type(value).__name__}")


def dates(since: date | datetime | str | None = None, until: date | datetime | str | None = None) -> DateRange:
    r = DateRange(_bound(since, "since"), _bound(until, "until"))
    if r.since is not None and r.until is not None and r.until < r.since:
        raise BadQuery("until is before since")
    return r


def page_limit(limit: int) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise BadQuery(f"limit: expected 1..{MAX_LIMIT}, found {limit!r}")
    return limit


def parse_cursor(after: str | None, parts: int) -> tuple[int, ...] | None:
    if after is None:
        return None
    if not isinstance(after, str) or not CURSOR_RE.match(after) or after.count(".") != parts - 1:
        raise BadQuery(f"after: not a cursor of this list ({str(after)[:40]!r})")
    return tuple(int(x) for x in after.split("."))


def check_arg(pattern: re.Pattern[str], value: str | None, name: str) -> None:
    if value is not None and (not isinstance(value, str) or not pattern.match(value)):
        raise BadQuery(f"{name}: malformed value")


def split_csv(csv: str | None) -> list[str]:
    return [x for x in (csv or "").split(",") if x]
