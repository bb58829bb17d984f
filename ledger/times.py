"""Times (contract point 5): YYYY-MM-DDTHH:MM:SS.ffffffZ, UTC, six fraction digits."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from ledger.errors import TimeFormatError

# [0-9], not \d: in a str pattern \d also matches non-ASCII digits (e.g. U+0662).
_TIME_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})\.([0-9]{6})Z\Z")


def format_time(moment: datetime) -> str:
    """Format an aware datetime in the contract's form."""
    if moment.tzinfo is None:
        raise TimeFormatError("expected an aware datetime, found a naive one")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """Parse a contract time, refusing every other form."""
    match = _TIME_RE.match(text) if isinstance(text, str) else None
    if match is None:
        raise TimeFormatError(f"expected YYYY-MM-DDTHH:MM:SS.ffffffZ, found {str(text)[:40]!r}")
    try:
        # year, month, day, hour, minute, second, microsecond: much faster than strptime.
        year, month, day, hour, minute, second, micro = map(int, match.groups())
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)
    except ValueError:
        raise TimeFormatError(f"not a real date and time: {text!r}") from None


def utc_now() -> datetime:
    """The current time, UTC."""
    return datetime.now(UTC)
