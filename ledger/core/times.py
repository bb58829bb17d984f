"""Times (docs/FORMAT.md § 3): YYYY-MM-DDTHH:MM:SS.ffffffZ, UTC, six fraction digits."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from ledger.core.errors import TimeFormatError

# [0-9], not \d: in a str pattern \d also matches non-ASCII digits (e.g. U+0662).
_TIME_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})\.([0-9]{6})Z\Z")


def format_time(moment: datetime) -> str:
    """Format an aware datetime in the form of docs/FORMAT.md § 3."""
    if moment.tzinfo is None:
        raise TimeFormatError("expected an aware datetime, found a naive one")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """Parse a contract time, refusing every other form."""
    match = _TIME_RE.match(text) if isinstance(text, str) else None
    if match is None:
        raise TimeFormatError(f"expected YYYY-MM-DDTHH:MM:SS.ffffffZ, found {str(text)[:40]!r}")
    if text[11:13] == "24":  # datetime() refuses hour 24; newer fromisoformat reads it as midnight
        raise TimeFormatError(f"not a real date and time: {text!r}")
    try:
        # The pattern has fixed the form; fromisoformat (C) reads it as datetime(...) would,
        # refusing the same impossible dates, and reads the Z as UTC. Much faster than strptime.
        return datetime.fromisoformat(text)
    except ValueError:
        raise TimeFormatError(f"not a real date and time: {text!r}") from None


def utc_now() -> datetime:
    """The current time, UTC."""
    return datetime.now(UTC)
