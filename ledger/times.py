"""Times (contract point 5): YYYY-MM-DDTHH:MM:SS.ffffffZ, UTC, six fraction digits."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from ledger.errors import TimeFormatError

_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z\Z")


def format_time(moment: datetime) -> str:
    """Format an aware datetime in the contract's form."""
    if moment.tzinfo is None:
        raise TimeFormatError("expected an aware datetime, found a naive one")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """Parse a contract time, refusing every other form."""
    if not isinstance(text, str) or not _TIME_RE.match(text):
        raise TimeFormatError(f"expected YYYY-MM-DDTHH:MM:SS.ffffffZ, found {str(text)[:40]!r}")
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise TimeFormatError(f"not a real date and time: {text!r}") from None


def utc_now() -> datetime:
    """The current time, UTC."""
    return datetime.now(timezone.utc)
