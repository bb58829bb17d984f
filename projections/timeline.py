"""Disclosures over time: instances of disclosure (lines released) per period and per requesting
agency, exception or recipient agency — the dashboard's time chart.

Read-only over the views (``pj_release_line``, ``pj_release_recipient``); dates filter on the
release line's ``recorded_at`` as everywhere else (``since`` inclusive, ``until`` exclusive).
The period is a day, a month or a year, whichever keeps the chart readable for the span of the
selected data (``granularity``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa

from projections.db import Database, database_errors
from projections.errors import BadQuery
from projections.query_args import CODE_RE, check_arg, dates
from projections.tables import view_tables

BY = ("agency", "exception", "recipient_agency")
PERIOD_CHARS = {"day": 10, "month": 7, "year": 4}  # prefix of recorded_at (YYYY-MM-DDT…)
MAX_DAYS = 62  # at most this many days between the first and last release: one bar group per day
MAX_MONTHS = 36  # else per month up to three years, else per year


@dataclass(frozen=True)
class Timeline:
    """``cells[(period, key)] = instances``; periods and keys sorted; ``period`` is day|month|year."""

    by: str
    period: str
    periods: list[str]
    keys: list[str]
    cells: dict[tuple[str, str], int] = field(default_factory=dict)

    def total(self, key: str | None = None) -> int:
        return sum(v for (_, k), v in self.cells.items() if key is None or k == key)

    def rows(self) -> list[dict[str, Any]]:
        """One dict per (period, key) with instances, for a table or a CSV."""
        return [{"period": p, self.by: k, "instances": self.cells[(p, k)]}
                for p in self.periods for k in self.keys if (p, k) in self.cells]


def granularity(first: str | None, last: str | None) -> str:
    """day, month or year for data recorded between ``first`` and ``last`` (recorded_at strings)."""
    if not first or not last:
        return "day"
    a, b = date.fromisoformat(first[:10]), date.fromisoformat(last[:10])
    if (b - a).days <= MAX_DAYS:
        return "day"
    months = (b.year - a.year) * 12 + b.month - a.month
    return "month" if months < MAX_MONTHS else "year"


def disclosures_over_time(views: Database, by: str = "agency", *, agency: str | None = None,
                          exception: str | None = None, since: date | str | None = None,
                          until: date | str | None = None, period: str | None = None) -> Timeline:
    """Instances of disclosure per period and per ``by`` (the same selection as
    ``Queries.disclosure_totals``, so each key's sum equals its ``instances`` there)."""
    if by not in BY:
        raise BadQuery("by: expected agency, exception or recipient_agency")
    if period is not None and period not in PERIOD_CHARS:
        raise BadQuery("period: expected day, month or year")
    check_arg(CODE_RE, agency, "agency")
    check_arg(CODE_RE, exception, "exception")
    rng = dates(since, until)
    t = view_tables(views.schema)
    rl, rr = t.release_line, t.release_recipient
    where = [*rng.where(rl.c.disclosed_at)]
    if agency is not None:
        where.append(rl.c.agency == agency)
    if exception is not None:
        where.append(rl.c.exception == exception)
    if by == "recipient_agency":
        source: Any = rl.join(rr, rr.c.release_id == rl.c.release_id)
        key: Any = rr.c.agency
    else:
        source, key = rl, rl.c[by]
    with database_errors(), views.engine.connect() as conn:
        if period is None:
            span = conn.execute(sa.select(sa.func.min(rl.c.disclosed_at), sa.func.max(rl.c.disclosed_at))
                                .select_from(source).where(*where)).one()
            period = granularity(span[0], span[1])
        bucket = sa.func.substr(rl.c.disclosed_at, 1, PERIOD_CHARS[period])
        rows = conn.execute(sa.select(bucket.label("period"), key.label("key"), sa.func.count().label("n"))
                            .select_from(source).where(*where)
                            .group_by(bucket, key).order_by(bucket, key)).all()
    cells = {(str(p), "—" if k is None else str(k)): int(n) for p, k, n in rows}
    return Timeline(by, period, sorted({p for p, _ in cells}), sorted({k for _, k in cells}), cells)
