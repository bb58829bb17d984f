"""ledger.core.times: YYYY-MM-DDTHH:MM:SS.ffffffZ, UTC, exactly six fraction digits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ledger.core.errors import TimeFormatError
from ledger.core.times import format_time, parse_time, utc_now


def test_format_has_six_digits_and_z() -> None:
    """A UTC time is written with six fraction digits and a Z."""
    moment = datetime(2025, 8, 1, 12, 0, 5, 42, tzinfo=UTC)
    assert format_time(moment) == "2025-08-01T12:00:05.000042Z"


def test_whole_seconds_still_get_six_digits() -> None:
    """A time with no microseconds still has .000000."""
    assert format_time(datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2025-01-02T03:04:05.000000Z"


def test_other_zones_are_converted_to_utc() -> None:
    """An aware time in another zone is converted to UTC before formatting."""
    eastern = timezone(timedelta(hours=-4))
    assert format_time(datetime(2025, 8, 1, 8, 0, 0, 1, tzinfo=eastern)) == "2025-08-01T12:00:00.000001Z"


def test_naive_datetimes_are_refused() -> None:
    """A naive datetime has no defined instant and is refused."""
    with pytest.raises(TimeFormatError, match="naive"):
        format_time(datetime(2025, 8, 1, 12, 0, 0))


def test_round_trip() -> None:
    """parse_time(format_time(t)) == t for an aware UTC time."""
    moment = datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC)
    assert parse_time(format_time(moment)) == moment
    assert parse_time(format_time(moment)).tzinfo == UTC


def test_utc_now_is_aware_utc() -> None:
    """utc_now is an aware UTC datetime that formats and parses back."""
    now = utc_now()
    assert now.utcoffset() == timedelta(0)
    assert parse_time(format_time(now)) == now


def test_isoformat_is_refused() -> None:
    """Python's isoformat() (with +00:00, or without microseconds) is not the contract's format."""
    moment = datetime(2025, 8, 1, 12, 0, 0, 123456, tzinfo=UTC)
    with pytest.raises(TimeFormatError):
        parse_time(moment.isoformat())
    with pytest.raises(TimeFormatError):
        parse_time(moment.replace(microsecond=0).isoformat())
    with pytest.raises(TimeFormatError):
        parse_time(moment.replace(tzinfo=None).isoformat())


@pytest.mark.parametrize(
    "text",
    [
        "2025-08-01T12:00:00Z",
        "2025-08-01T12:00:00.12345Z",
        "2025-08-01T12:00:00.1234567Z",
        "2025-08-01T12:00:00.123Z",
        "2025-08-01T12:00:00.123456",
        "2025-08-01T12:00:00.123456z",
        "2025-08-01T12:00:00.123456+00:00",
        "2025-08-01 12:00:00.123456Z",
        "2025-08-01t12:00:00.123456Z",
        "2025-8-01T12:00:00.123456Z",
        " 2025-08-01T12:00:00.123456Z",
        "2025-08-01T12:00:00.123456Z\n",
        "+2025-08-01T12:00:00.123456Z",
        "",
    ],
)
def test_other_forms_are_refused(text: str) -> None:
    """Anything but exactly six fraction digits and an uppercase Z is refused."""
    with pytest.raises(TimeFormatError):
        parse_time(text)


@pytest.mark.parametrize(
    "text",
    [
        "2025-02-29T00:00:00.000000Z",
        "2025-13-01T00:00:00.000000Z",
        "2025-08-32T00:00:00.000000Z",
        "2025-08-01T24:00:00.000000Z",
        "2025-08-01T12:60:00.000000Z",
        "2016-12-31T23:59:60.000000Z",
        "0000-01-01T00:00:00.000000Z",
    ],
)
def test_impossible_dates_are_refused(text: str) -> None:
    """Well-shaped strings that are not real instants (leap seconds included) are refused."""
    with pytest.raises(TimeFormatError, match="not a real"):
        parse_time(text)


@pytest.mark.parametrize(
    "text",
    [
        "\u0662\u0660\u0662\u0665-08-01T12:00:00.123456Z",  # Arabic-Indic digits
        "２０２５-08-01T12:00:00.123456Z",  # fullwidth digits
        "2025-08-01T12:00:00.12345\u0669Z",
    ],
)
def test_non_ascii_digits_are_refused(text: str) -> None:
    """Only ASCII digits are digits here (a regex \\d would also match other scripts')."""
    with pytest.raises(TimeFormatError):
        parse_time(text)


def test_non_strings_are_refused() -> None:
    """A datetime object is not a contract time string."""
    with pytest.raises(TimeFormatError):
        parse_time(datetime.now(UTC))  # type: ignore[arg-type]


def test_string_order_is_time_order() -> None:
    """Because the format is fixed-width UTC, comparing strings compares instants."""
    a = datetime(2025, 8, 1, 9, 59, 59, 999999, tzinfo=UTC)
    b = a + timedelta(microseconds=1)
    assert format_time(a) < format_time(b)
