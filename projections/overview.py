"""The dashboard overview's counts, exact however long the log: requests and the pending ones (lines
not yet decided, not withdrawn), and the most recent red flags. Read-only over the views."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from projections.db import Database, database_errors
from projections.tables import view_tables

MAX_SHOWN = 50


def pending_requests(views: Database, limit: int = MAX_SHOWN) -> dict[str, Any]:
    """``requests`` (all the ledger recorded itself), ``imported`` (past disclosures imported as accounting,
    never pending), ``pending`` (how many have lines neither approved nor refused and are not
    withdrawn) and ``items``: the oldest ``limit`` pending ones with their counts."""
    t = view_tables(views.schema)
    rq, ln = t.request, t.line
    decided = sa.func.coalesce(sa.func.sum(sa.case((ln.c.decision.in_(("approve", "refuse")), 1), else_=0)), 0)
    approved = sa.func.coalesce(sa.func.sum(sa.case((ln.c.decision == "approve", 1), else_=0)), 0)
    refused = sa.func.coalesce(sa.func.sum(sa.case((ln.c.decision == "refuse", 1), else_=0)), 0)
    per_request = (sa.select(rq.c.request_id, rq.c.idx, rq.c.agency, rq.c.exception,
                             rq.c.line_count.label("requested"), approved.label("approved"),
                             refused.label("refused"))
                   .select_from(rq.outerjoin(ln, ln.c.request_id == rq.c.request_id))
                   .where(rq.c.withdrawn_idx.is_(None), rq.c.imported.is_(False))
                   .group_by(rq.c.request_id, rq.c.idx, rq.c.agency, rq.c.exception, rq.c.line_count)
                   .having(decided < rq.c.line_count).subquery())
    with database_errors(), views.engine.connect() as conn:
        total = int(conn.execute(sa.select(sa.func.count()).select_from(rq)
                                 .where(rq.c.imported.is_(False))).scalar_one())
        imported = int(conn.execute(sa.select(sa.func.count()).select_from(rq)
                                    .where(rq.c.imported.is_(True))).scalar_one())
        pending = int(conn.execute(sa.select(sa.func.count()).select_from(per_request)).scalar_one())
        rows = [dict(r) for r in conn.execute(sa.select(per_request).order_by(per_request.c.idx)
                                              .limit(limit)).mappings()]
    for r in rows:
        r["index"] = r.pop("idx")
        r["approved"], r["refused"] = int(r["approved"]), int(r["refused"])
    return {"requests": total, "imported": imported, "pending": pending, "items": rows}


def recent_red_flags(views: Database, n: int = 10) -> list[dict[str, Any]]:
    """The ``n`` most recent red flags, oldest of them first, with their request's agency and exception."""
    t = view_tables(views.schema)
    f, rq = t.red_flag, t.request
    query = (sa.select(f.c.idx.label("index"), f.c.recorded_at, f.c.flag, f.c.source, f.c.request_id,
                       rq.c.agency, rq.c.exception)
             .join(rq, rq.c.request_id == f.c.request_id).order_by(f.c.idx.desc(), f.c.flag.desc()).limit(n))
    with database_errors(), views.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()][::-1]
