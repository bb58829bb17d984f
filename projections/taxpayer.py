"""A taxpayer's history beyond ``Queries.taxpayer_history``: its totals over a date range, and the
blocked attempts about requests that name the taxpayer.

A ``blocked`` entry keeps only the refused statement's hash, type, signers, rules and
``refers_to`` — the request it was about (FORMAT § 7.8). A refused *release* or *review* of a
request that names the taxpayer (a matched line carrying their pseudonym) is therefore shown in
that taxpayer's history; which of the request's lines it would have covered is not recorded. A
request refused at filing was never matched, so no pseudonym ties it to anybody: it cannot appear.
Read-only; pseudonyms only.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import sqlalchemy as sa

from projections.db import Database, database_errors
from projections.query_args import HEX64_RE, check_arg, dates
from projections.tables import view_tables

MAX_BLOCKED = 500


def history_counts(views: Database, pseudonym: str, *, since: date | str | None = None,
                   until: date | str | None = None) -> dict[str, int]:
    """Request lines, refused lines, released lines, inspections and blocked attempts for the
    pseudonym in the range (the same selection as ``Queries.taxpayer_history``)."""
    check_arg(HEX64_RE, pseudonym, "pseudonym")
    rng = dates(since, until)
    t = view_tables(views.schema)
    ln, rq, rl, ins = t.line, t.request, t.release_line, t.inspection
    lines = (sa.select(sa.func.count(), sa.func.sum(sa.case((ln.c.decision == "refuse", 1), else_=0)))
             .select_from(ln.join(rq, rq.c.request_id == ln.c.request_id))
             .where(ln.c.pseudonym == pseudonym, *rng.where(rq.c.recorded_at)))
    releases = sa.select(sa.func.count()).where(rl.c.pseudonym == pseudonym, *rng.where(rl.c.disclosed_at))
    reads = sa.select(sa.func.count()).where(ins.c.pseudonym == pseudonym, *rng.where(ins.c.recorded_at))
    with database_errors(), views.engine.connect() as conn:
        n_lines, n_refused = conn.execute(lines).one()
        n_releases = conn.execute(releases.select_from(rl)).scalar_one()
        n_reads = conn.execute(reads.select_from(ins)).scalar_one()
        n_blocked = conn.execute(_blocked(t, pseudonym, since, until, count=True)).scalar_one()
    return {"request": int(n_lines or 0), "refused": int(n_refused or 0), "release": int(n_releases or 0),
            "inspection": int(n_reads or 0), "blocked": int(n_blocked or 0)}


def _blocked(t: Any, pseudonym: str, since: date | str | None, until: date | str | None,
             count: bool = False) -> sa.Select[Any]:
    b, ln, rq = t.blocked, t.line, t.request
    naming = sa.select(ln.c.request_id).where(ln.c.pseudonym == pseudonym).distinct()
    where = [b.c.refers_to.in_(naming), *dates(since, until).where(b.c.recorded_at)]
    if count:
        return sa.select(sa.func.count()).select_from(b).where(*where)
    return (sa.select(b.c.idx.label("index"), b.c.recorded_at, b.c.statement_type, b.c.statement_id,
                      b.c.signers, b.c.rules, b.c.refers_to, rq.c.agency, rq.c.exception)
            .select_from(b.outerjoin(rq, rq.c.request_id == b.c.refers_to))
            .where(*where).order_by(b.c.idx).limit(MAX_BLOCKED))


def blocked_attempts(views: Database, pseudonym: str, *, since: date | str | None = None,
                     until: date | str | None = None) -> list[dict[str, Any]]:
    """Rule-refused statements about requests naming the pseudonym, oldest first (at most
    ``MAX_BLOCKED``; ``history_counts`` gives the total)."""
    check_arg(HEX64_RE, pseudonym, "pseudonym")
    t = view_tables(views.schema)
    with database_errors(), views.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(_blocked(t, pseudonym, since, until)).mappings()]
    for r in rows:
        r["signers"], r["rules"] = json.loads(r["signers"]), json.loads(r["rules"])
    return rows
