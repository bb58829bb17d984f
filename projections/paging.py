"""Numbered pages over the query API's keyset cursors: for a list and a filter, the total number
of rows and the ``after`` cursor that starts the row at a given offset.

``Queries`` pages forward only (``after`` = the last key seen). A page of the dashboard is
``offset // size``; to show it, ``slot`` finds the key of the row just before ``offset`` under the
*same* filter and order as the ``Queries`` method, which then reads the page itself. Read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from projections.db import Database, database_errors
from projections.errors import BadQuery
from projections.query_args import CODE_RE, check_arg, dates
from projections.tables import ViewTables, view_tables

LISTS = ("requests", "disclosures", "release_audit", "checkpoints", "blocked")


@dataclass(frozen=True)
class Slot:
    """``total`` rows match; pass ``after`` (None: from the start) to read from the offset asked."""

    total: int
    after: str | None


def _requests(t: ViewTables, f: dict[str, Any]) -> tuple[Any, list[Any], list[Any]]:
    rq = t.request
    where = [*dates(f.get("since"), f.get("until")).where(rq.c.recorded_at)]
    if f.get("agency") is not None:
        where.append(rq.c.agency == f["agency"])
    if f.get("exception") is not None:
        where.append(rq.c.exception == f["exception"])
    return rq, where, [rq.c.idx]


def _disclosures(t: ViewTables, f: dict[str, Any]) -> tuple[Any, list[Any], list[Any]]:
    rel, rq, rr = t.release, t.request, t.release_recipient
    where = [*dates(f.get("since"), f.get("until")).where(rel.c.disclosed_at)]
    if f.get("agency") is not None:
        where.append(rq.c.agency == f["agency"])
    if f.get("exception") is not None:
        where.append(rq.c.exception == f["exception"])
    if f.get("recipient_agency") is not None:
        where.append(rel.c.release_id.in_(sa.select(rr.c.release_id).where(rr.c.agency == f["recipient_agency"])))
    return rel.join(rq, rq.c.request_id == rel.c.request_id), where, [rel.c.idx]


def _release_audit(t: ViewTables, f: dict[str, Any]) -> tuple[Any, list[Any], list[Any]]:
    rl, ln = t.release_line, t.line
    where = [*dates(f.get("since"), f.get("until")).where(rl.c.disclosed_at)]
    if f.get("agency") is not None:
        where.append(rl.c.agency == f["agency"])
    if f.get("exception") is not None:
        where.append(rl.c.exception == f["exception"])
    joined = rl.join(ln, sa.and_(ln.c.request_id == rl.c.request_id, ln.c.line == rl.c.line))
    return joined, where, [rl.c.idx, rl.c.line]


def _checkpoints(t: ViewTables, f: dict[str, Any]) -> tuple[Any, list[Any], list[Any]]:
    return t.checkpoint, [], [t.checkpoint.c.size.desc()]


def _blocked(t: ViewTables, f: dict[str, Any]) -> tuple[Any, list[Any], list[Any]]:
    b = t.blocked
    where = [*dates(f.get("since"), f.get("until")).where(b.c.recorded_at)]
    if f.get("statement_type") is not None:
        where.append(b.c.statement_type == f["statement_type"])
    return b, where, [b.c.idx]


_BUILD = {"requests": _requests, "disclosures": _disclosures, "release_audit": _release_audit,
          "checkpoints": _checkpoints, "blocked": _blocked}


def slot(views: Database, name: str, offset: int, **filters: Any) -> Slot:
    """The total of list ``name`` under ``filters`` and the cursor that starts at row ``offset``."""
    if name not in _BUILD:
        raise BadQuery(f"list: expected one of {', '.join(LISTS)}")
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise BadQuery("offset: expected a whole number")
    for key in ("agency", "exception", "recipient_agency", "statement_type"):
        check_arg(CODE_RE, filters.get(key), key)
    source, where, order = _BUILD[name](view_tables(views.schema), filters)
    keys = [o.element if isinstance(o, sa.UnaryExpression) else o for o in order]
    with database_errors(), views.engine.connect() as conn:
        total = int(conn.execute(sa.select(sa.func.count()).select_from(source).where(*where)).scalar_one())
        if offset == 0 or offset > total:
            return Slot(total, None)
        row = conn.execute(sa.select(*keys).select_from(source).where(*where).order_by(*order)
                           .offset(offset - 1).limit(1)).one()
    return Slot(total, ".".join(str(int(v)) for v in row))

