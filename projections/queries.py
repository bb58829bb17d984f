"""The query API the HTTP API calls: plain dicts, paginated (``limit`` / ``after``), date filters.

Dates filter on when a disclosure happened — a release's signed ``issued_at``, an imported
record's date (``disclosed_at``) — and on the ledger's ``recorded_at`` for everything else
(UTC): ``since`` is inclusive, ``until`` exclusive; each is a ``date``, a ``datetime`` or an
ISO date string ``YYYY-MM-DD``. A page is ``Page(items, next_after)``: pass ``next_after``
back as ``after`` for the next page (``None``: no more). Bad arguments raise ``BadQuery`` before anything is read.

Nothing here decrypts: taxpayers are pseudonyms. ``taxpayer_history_by_tin`` is the only
function that sees a TIN, and only to compute its pseudonym with the operator's key; callers
must record that read as an ``inspection`` statement (the API does).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa

from ledger.core.errors import LedgerError
from ledger.sealed import SealedKeys
from projections.db import Database, database_errors
from projections.disclosures import accounting_required
from projections.errors import BadQuery
from projections.query_args import (
    CODE_RE,
    HEX64_RE,
    ID_RE,
    MAX_LIMIT,
    Page,
    check_arg,
    dates,
    page_limit,
    parse_cursor,
    split_csv,
)
from projections.tables import ViewTables, view_tables

# Address classes the matcher writes for a requester-supplied address that is a *fragment* of a
# real address (ledger/domain/address.py): the "potentially incomplete" measure.
INCOMPLETE_CLASSES = ("zip_only", "city_only", "street_only", "facility_only")


@dataclass
class Queries:
    """Read-only queries over the views' tables."""

    views: Database
    t: ViewTables = field(init=False)

    def __post_init__(self) -> None:
        self.t = view_tables(self.views.schema)

    def _all(self, query: sa.Executable, conn: sa.Connection | None = None) -> list[dict[str, Any]]:
        if conn is not None:
            with database_errors():
                return [dict(r) for r in conn.execute(query).mappings()]
        with database_errors(), self.views.engine.connect() as own:
            return [dict(r) for r in own.execute(query).mappings()]

    # ---- 1. taxpayer access history ------------------------------------------------------
    def taxpayer_history_by_tin(self, tin: str, keys: SealedKeys, **kwargs: Any) -> Page:
        """The history of the taxpayer whose TIN is given, via its pseudonym (the TIN is not kept)."""
        try:
            pseudonym = keys.pseudonym(tin)
        except LedgerError:
            raise BadQuery("tin: not a TIN (9 digits, optional spaces or hyphens)") from None
        return self.taxpayer_history(pseudonym, **kwargs)

    def taxpayer_history(self, pseudonym: str, *, since: date | str | None = None, until: date | str | None = None,
                         limit: int = 100, after: str | None = None) -> Page:
        """Every request line naming the taxpayer (with its match and decision), every release of
        their line, every recorded inspection of their history; oldest first.

        Events are ordered by (entry index, kind, line); kinds: request 0, release 1, inspection 2.
        """
        check_arg(HEX64_RE, pseudonym, "pseudonym")
        limit, rng, cur = page_limit(limit), dates(since, until), parse_cursor(after, 3)
        t = self.t

        def after_cond(idx: sa.ColumnElement[Any], rank: int, line: sa.ColumnElement[Any] | None) -> list[Any]:
            if cur is None:
                return []
            a, ra, la = cur
            if rank > ra:
                return [idx >= a]
            if rank < ra or line is None:
                return [idx > a]
            return [sa.or_(idx > a, sa.and_(idx == a, line > la))]

        ln, rq, rl, ins = t.line, t.request, t.release_line, t.inspection
        q_req = (sa.select(ln.c.request_idx.label("index"), rq.c.recorded_at, ln.c.request_id, ln.c.line,
                           rq.c.agency, rq.c.exception, rq.c.purpose, rq.c.statute, rq.c.fields,
                           rq.c.withdrawn_idx, rq.c.imported, ln.c.has_address, ln.c.match_idx, ln.c.matched,
                           ln.c.match_basis, ln.c.method, ln.c.address_class, ln.c.address_usable,
                           ln.c.review_idx, ln.c.decision, ln.c.decision_reason)
                 .join(rq, rq.c.request_id == ln.c.request_id)
                 .where(ln.c.pseudonym == pseudonym, *rng.where(rq.c.recorded_at),
                        *after_cond(ln.c.request_idx, 0, ln.c.line))
                 .order_by(ln.c.request_idx, ln.c.line).limit(limit))
        q_rel = (sa.select(rl.c.idx.label("index"), rl.c.recorded_at, rl.c.disclosed_at, rl.c.release_id,
                           rl.c.request_id, rl.c.line, rl.c.agency, rl.c.exception, rl.c.fields, rl.c.bulk,
                           rl.c.imported)
                 .where(rl.c.pseudonym == pseudonym, *rng.where(rl.c.disclosed_at),
                        *after_cond(rl.c.idx, 1, rl.c.line))
                 .order_by(rl.c.idx, rl.c.line).limit(limit))
        q_ins = (sa.select(ins.c.idx.label("index"), ins.c.recorded_at, ins.c.signer, ins.c.reader, ins.c.view,
                           ins.c.role)
                 .where(ins.c.pseudonym == pseudonym, *rng.where(ins.c.recorded_at),
                        *after_cond(ins.c.idx, 2, None))
                 .order_by(ins.c.idx).limit(limit))
        events: list[tuple[tuple[int, int, int], dict[str, Any]]] = []
        with database_errors(), self.views.engine.connect() as conn:
            found_req, releases, found_ins = self._all(q_req, conn), self._all(q_rel, conn), self._all(q_ins, conn)
            recipients = self._release_recipients({r["release_id"] for r in releases}, conn)
        for r in found_req:
            r["fields"], r["match_basis"] = split_csv(r["fields"]), split_csv(r["match_basis"])
            events.append(((r["index"], 0, r["line"]), {"kind": "request", **r}))
        for r in releases:
            r["fields"] = split_csv(r["fields"])
            r["recipients"] = recipients.get(r["release_id"], [])
            events.append(((r["index"], 1, r["line"]), {"kind": "release", **r}))
        for r in found_ins:
            events.append(((r["index"], 2, 0), {"kind": "inspection", **r}))
        events.sort(key=lambda e: e[0])
        page = events[:limit]
        more = len(events) > limit or (len(page) == limit)
        next_after = ".".join(str(x) for x in page[-1][0]) if page and more else None
        return Page([e for _, e in page], next_after)

    def _release_recipients(self, release_ids: Iterable[str],
                            conn: sa.Connection | None = None) -> dict[str, list[dict[str, Any]]]:
        ids = sorted(release_ids)
        if not ids:
            return {}
        rr = self.t.release_recipient
        out: dict[str, list[dict[str, Any]]] = {}
        query = sa.select(rr).where(rr.c.release_id.in_(ids)).order_by(rr.c.release_id, rr.c.position)
        for r in self._all(query, conn):
            out.setdefault(r.pop("release_id"), []).append(r)
        return out

    # ---- 2. disclosures by recipient agency / exception ---------------------------------
    def disclosure_totals(self, by: str = "agency", *, agency: str | None = None, exception: str | None = None,
                          since: date | str | None = None, until: date | str | None = None) -> list[dict[str, Any]]:
        """Releases, instances (lines released) and distinct taxpayers, grouped by the requesting
        ``agency``, the ``exception``, or the ``recipient_agency`` named in the release."""
        check_arg(CODE_RE, agency, "agency")
        check_arg(CODE_RE, exception, "exception")
        rng = dates(since, until)
        rl, rr = self.t.release_line, self.t.release_recipient
        where = [*rng.where(rl.c.disclosed_at)]
        if agency is not None:
            where.append(rl.c.agency == agency)
        if exception is not None:
            where.append(rl.c.exception == exception)
        measures = [sa.func.count(sa.distinct(rl.c.release_id)).label("releases"),
                    sa.func.count().label("instances"),
                    sa.func.count(sa.distinct(rl.c.pseudonym)).label("taxpayers"),
                    sa.func.sum(sa.case((rl.c.imported.is_(True), 1), else_=0)).label("imported")]
        if by in ("agency", "exception"):
            key = rl.c[by]
            query = sa.select(key.label(by), *measures).where(*where).group_by(key).order_by(key)
        elif by == "recipient_agency":
            query = (sa.select(rr.c.agency.label(by), *measures)
                     .join(rr, rr.c.release_id == rl.c.release_id).where(*where)
                     .group_by(rr.c.agency).order_by(rr.c.agency))
        else:
            raise BadQuery("by: expected agency, exception or recipient_agency")
        rows = self._all(query)
        for r in rows:
            r["imported"] = int(r["imported"] or 0)
        return rows

    def disclosures(self, *, agency: str | None = None, exception: str | None = None,
                    recipient_agency: str | None = None, since: date | str | None = None,
                    until: date | str | None = None, limit: int = 100, after: str | None = None) -> Page:
        """Releases, newest last, each with its request's agency/exception and its counts."""
        for v, n in ((agency, "agency"), (exception, "exception"), (recipient_agency, "recipient_agency")):
            check_arg(CODE_RE, v, n)
        limit, rng, cur = page_limit(limit), dates(since, until), parse_cursor(after, 1)
        rel, rq, rl, rr = self.t.release, self.t.request, self.t.release_line, self.t.release_recipient
        counts = (sa.select(rl.c.release_id, sa.func.count().label("instances"),
                            sa.func.count(sa.distinct(rl.c.pseudonym)).label("taxpayers"))
                  .group_by(rl.c.release_id).subquery())
        query = (sa.select(rel.c.release_id, rel.c.idx.label("index"), rel.c.disclosed_at, rel.c.recorded_at,
                           rel.c.request_id, rq.c.agency, rq.c.exception, rel.c.fields, rel.c.channel, rel.c.bulk,
                           rel.c.imported, rel.c.signer,
                           sa.func.coalesce(counts.c.instances, 0).label("instances"),
                           sa.func.coalesce(counts.c.taxpayers, 0).label("taxpayers"))
                 .join(rq, rq.c.request_id == rel.c.request_id)
                 .outerjoin(counts, counts.c.release_id == rel.c.release_id)
                 .where(*rng.where(rel.c.disclosed_at)))
        if agency is not None:
            query = query.where(rq.c.agency == agency)
        if exception is not None:
            query = query.where(rq.c.exception == exception)
        if recipient_agency is not None:
            query = query.where(rel.c.release_id.in_(sa.select(rr.c.release_id).where(rr.c.agency == recipient_agency)))
        if cur is not None:
            query = query.where(rel.c.idx > cur[0])
        rows = self._all(query.order_by(rel.c.idx).limit(limit))
        recipients = self._release_recipients(r["release_id"] for r in rows)
        for r in rows:
            r["fields"] = split_csv(r["fields"])
            r["recipients"] = recipients.get(r["release_id"], [])
        return Page(rows, str(rows[-1]["index"]) if len(rows) == limit else None)

    # ---- 3. request status -----------------------------------------------------------------
    def request_status(self, request_id: str) -> dict[str, Any] | None:
        """Counts per request (requested, matched, approved, refused, released), refusal reasons,
        red flags, releases, and the requests it resubmits / that resubmit it. None if unknown."""
        check_arg(ID_RE, request_id, "request_id")
        t = self.t
        found = self._all(sa.select(t.request).where(t.request.c.request_id == request_id))
        if not found:
            return None
        req = found[0]
        ln = t.line
        counts = self._all(sa.select(
            sa.func.count().label("lines_recorded"),
            sa.func.count(ln.c.match_idx).label("match_results"),
            sa.func.sum(sa.case((ln.c.matched.is_(True), 1), else_=0)).label("matched"),
            sa.func.sum(sa.case((ln.c.decision == "approve", 1), else_=0)).label("approved"),
            sa.func.sum(sa.case((ln.c.decision == "refuse", 1), else_=0)).label("refused"),
        ).where(ln.c.request_id == request_id))[0]
        reasons = self._all(sa.select(ln.c.decision_reason.label("reason"), sa.func.count().label("lines"))
                            .where(ln.c.request_id == request_id, ln.c.decision == "refuse")
                            .group_by(ln.c.decision_reason).order_by(ln.c.decision_reason))
        rl = t.release_line
        released = self._all(sa.select(sa.func.count(sa.distinct(rl.c.line)).label("n"))
                             .where(rl.c.request_id == request_id))[0]["n"]
        flags = self._all(sa.select(t.red_flag.c.flag, t.red_flag.c.source, t.red_flag.c.idx.label("index"))
                          .where(t.red_flag.c.request_id == request_id).order_by(t.red_flag.c.idx, t.red_flag.c.flag))
        releases = self._all(sa.select(t.release.c.release_id, t.release.c.idx.label("index"),
                                       t.release.c.disclosed_at, t.release.c.recorded_at, t.release.c.imported)
                             .where(t.release.c.request_id == request_id).order_by(t.release.c.idx))
        later = self._all(sa.select(t.request.c.request_id, t.request.c.idx.label("index"))
                          .where(t.request.c.resubmits == request_id).order_by(t.request.c.idx))
        blocked = self._all(sa.select(t.blocked.c.idx.label("index"), t.blocked.c.statement_type,
                                      t.blocked.c.statement_id, t.blocked.c.rules)
                            .where(t.blocked.c.refers_to == request_id).order_by(t.blocked.c.idx))
        for b in blocked:
            b["rules"] = json.loads(b["rules"])
        return {
            "request_id": request_id, "index": req["idx"], "recorded_at": req["recorded_at"],
            "filed_index": req["filed_idx"], "agency": req["agency"], "exception": req["exception"],
            "purpose": req["purpose"], "statute": req["statute"], "fields": split_csv(req["fields"]),
            "bulk": req["bulk"], "imported": bool(req["imported"]), "filed_at": req["filed_at"],
            "withdrawn_index": req["withdrawn_idx"],
            "requested": req["line_count"], "lines_recorded": counts["lines_recorded"],
            "matched": int(counts["matched"] or 0), "approved": int(counts["approved"] or 0),
            "refused": int(counts["refused"] or 0), "released": int(released),
            "refusal_reasons": reasons, "red_flags": flags, "releases": releases,
            "resubmits": req["resubmits"], "resubmitted_by": later,
            # Rule-refused statements about this request (a blocked entry's refers_to, FORMAT § 7.8).
            "blocked": blocked,
        }

    def requests(self, *, agency: str | None = None, exception: str | None = None,
                 since: date | str | None = None, until: date | str | None = None,
                 limit: int = 100, after: str | None = None) -> Page:
        check_arg(CODE_RE, agency, "agency")
        check_arg(CODE_RE, exception, "exception")
        limit, rng, cur = page_limit(limit), dates(since, until), parse_cursor(after, 1)
        rq = self.t.request
        query = sa.select(rq.c.request_id).where(*rng.where(rq.c.recorded_at))
        if agency is not None:
            query = query.where(rq.c.agency == agency)
        if exception is not None:
            query = query.where(rq.c.exception == exception)
        if cur is not None:
            query = query.where(rq.c.idx > cur[0])
        ids = [r["request_id"] for r in self._all(query.order_by(rq.c.idx).limit(limit))]
        items = [s for s in (self.request_status(i) for i in ids) if s is not None]
        return Page(items, str(items[-1]["index"]) if len(items) == limit else None)

    def blocked(self, *, statement_type: str | None = None, since: date | str | None = None,
                until: date | str | None = None, limit: int = 100, after: str | None = None) -> Page:
        """Rule-refused statements (id, type, signers, rule ids)."""
        check_arg(CODE_RE, statement_type, "statement_type")
        limit, rng, cur = page_limit(limit), dates(since, until), parse_cursor(after, 1)
        b = self.t.blocked
        query = sa.select(b).where(*rng.where(b.c.recorded_at))
        if statement_type is not None:
            query = query.where(b.c.statement_type == statement_type)
        if cur is not None:
            query = query.where(b.c.idx > cur[0])
        rows = self._all(query.order_by(b.c.idx).limit(limit))
        for r in rows:  # (refers_to: the request the refused statement was about, or None)
            r["index"] = r.pop("idx")
            r["signers"], r["rules"] = json.loads(r["signers"]), json.loads(r["rules"])
        return Page(rows, str(rows[-1]["index"]) if len(rows) == limit else None)

    # ---- 4. § 6103(p)(3)(C) -----------------------------------------------------------------
    def annual_report(self, year: int) -> list[dict[str, Any]]:
        """Per requesting agency and subsection, for calendar ``year``: requests filed, instances
        of disclosure (lines released), distinct taxpayers, bulk/other split and purposes — for the
        exceptions that need (p)(3)(A) accounting (rules catalog)."""
        if not isinstance(year, int) or isinstance(year, bool) or not 1900 <= year <= 9998:
            raise BadQuery("year: expected a calendar year")
        rng = dates(date(year, 1, 1), date(year + 1, 1, 1))
        rq, rl = self.t.request, self.t.release_line
        reqs = self._all(sa.select(rq.c.agency, rq.c.exception, sa.func.count().label("requests"))
                         .where(*rng.where(rq.c.filed_at)).group_by(rq.c.agency, rq.c.exception))
        purposes = self._all(sa.select(rq.c.agency, rq.c.exception, rq.c.purpose).distinct()
                             .where(*rng.where(rq.c.filed_at)))
        inst = self._all(sa.select(
            rl.c.agency, rl.c.exception, sa.func.count().label("instances"),
            sa.func.count(sa.distinct(rl.c.pseudonym)).label("taxpayers"),
            sa.func.sum(sa.case((rl.c.bulk.is_(True), 1), else_=0)).label("bulk"),
            sa.func.sum(sa.case((rl.c.pseudonym.is_(None), 1), else_=0)).label("without_pseudonym"),
            sa.func.sum(sa.case((rl.c.imported.is_(True), 1), else_=0)).label("imported"),
        ).where(*rng.where(rl.c.disclosed_at)).group_by(rl.c.agency, rl.c.exception))
        table: dict[tuple[str, str], dict[str, Any]] = {}

        def row(agency: str, exception: str) -> dict[str, Any]:
            return table.setdefault((agency, exception), {
                "agency": agency, "exception": exception, "requests": 0, "instances": 0, "taxpayers": 0,
                "bulk": 0, "other": 0, "total": 0, "instances_without_pseudonym": 0, "imported": 0,
                "purposes": []})

        for r in reqs:
            row(r["agency"], r["exception"])["requests"] = int(r["requests"])
        for r in purposes:
            row(r["agency"], r["exception"])["purposes"].append(r["purpose"])
        for r in inst:
            x = row(r["agency"], r["exception"])
            bulk = int(r["bulk"] or 0)
            x.update(instances=int(r["instances"]), taxpayers=int(r["taxpayers"]), bulk=bulk,
                     other=int(r["instances"]) - bulk, total=int(r["instances"]),
                     instances_without_pseudonym=int(r["without_pseudonym"] or 0), imported=int(r["imported"] or 0))
        out = [v for (_, exc), v in sorted(table.items()) if accounting_required(exc)]
        for v in out:
            v["purposes"] = sorted(v["purposes"])
        return out

    def jct_table(self, year: int) -> list[dict[str, Any]]:
        """The JCT's published layout (JCX-24-09): Disclosure To/For · IRC § 6103 subsection ·
        Bulk Master File Data · Other Disclosures · Total Number of Disclosures (+ distinct taxpayers)."""
        return [{"disclosure_to_for": r["agency"], "subsection": r["exception"], "bulk_master_file_data": r["bulk"],
                 "other_disclosures": r["other"], "total_number_of_disclosures": r["total"],
                 "taxpayers": r["taxpayers"], "imported": r["imported"]} for r in self.annual_report(year)]

    # ---- 5. unlawful-release audit ------------------------------------------------------------
    def release_audit(self, *, release_ids: Sequence[str] | None = None, agency: str | None = None,
                      exception: str | None = None, since: date | str | None = None, until: date | str | None = None,
                      limit: int = 100, after: str | None = None) -> dict[str, Any]:
        """Both 2026 measures over the selected released lines, with the lines each counts.

        * ``no_usable_address`` (the court's): the request line carried no requester-supplied
          address, or the matcher classed it not usable (``address_usable`` false), or it was
          never classed (no match result).
        * ``potentially_incomplete`` (narrower): an address was supplied and classed as a
          fragment of one — ``zip_only``, ``city_only``, ``street_only``, ``facility_only``;
          placeholders, junk and missing addresses are not counted (they are not addresses).
        Also ``tin_only``: lines matched on the TIN alone.
        """
        if release_ids is not None:
            if isinstance(release_ids, str) or len(release_ids) > MAX_LIMIT:
                raise BadQuery(f"release_ids: expected a list of at most {MAX_LIMIT} ids")
            for rid in release_ids:
                check_arg(ID_RE, rid, "release_ids[]")
        check_arg(CODE_RE, agency, "agency")
        check_arg(CODE_RE, exception, "exception")
        limit, rng, cur = page_limit(limit), dates(since, until), parse_cursor(after, 2)
        rl, ln = self.t.release_line, self.t.line
        no_usable = sa.or_(ln.c.has_address.is_(False), ln.c.address_usable.is_not(True))
        incomplete = sa.and_(ln.c.has_address.is_(True), ln.c.address_class.in_(INCOMPLETE_CLASSES))
        tin_only = ln.c.match_basis == "tin"
        where = [*rng.where(rl.c.disclosed_at)]
        if release_ids is not None:
            where.append(rl.c.release_id.in_(list(release_ids)))
        if agency is not None:
            where.append(rl.c.agency == agency)
        if exception is not None:
            where.append(rl.c.exception == exception)
        joined = rl.join(ln, sa.and_(ln.c.request_id == rl.c.request_id, ln.c.line == rl.c.line))
        totals = self._all(sa.select(
            sa.func.count().label("lines_released"),
            sa.func.sum(sa.case((no_usable, 1), else_=0)).label("no_usable_address"),
            sa.func.sum(sa.case((incomplete, 1), else_=0)).label("potentially_incomplete"),
            sa.func.sum(sa.case((tin_only, 1), else_=0)).label("tin_only"),
            sa.func.sum(sa.case((rl.c.imported.is_(True), 1), else_=0)).label("imported"),
        ).select_from(joined).where(*where))[0]
        query = (sa.select(rl.c.idx.label("index"), rl.c.disclosed_at, rl.c.recorded_at, rl.c.imported,
                           rl.c.release_id, rl.c.request_id, rl.c.line, rl.c.pseudonym,
                           ln.c.has_address, ln.c.address_class, ln.c.address_usable, ln.c.match_basis, ln.c.method,
                           no_usable.label("no_usable_address"), incomplete.label("potentially_incomplete"))
                 .select_from(joined).where(*where))
        if cur is not None:
            query = query.where(sa.or_(rl.c.idx > cur[0], sa.and_(rl.c.idx == cur[0], rl.c.line > cur[1])))
        lines = self._all(query.order_by(rl.c.idx, rl.c.line).limit(limit))
        for r in lines:
            r["match_basis"] = split_csv(r["match_basis"])
            r["no_usable_address"] = bool(r["no_usable_address"])
            r["potentially_incomplete"] = bool(r["potentially_incomplete"])
        return {
            "lines_released": int(totals["lines_released"] or 0),
            "no_usable_address": int(totals["no_usable_address"] or 0),
            "potentially_incomplete": int(totals["potentially_incomplete"] or 0),
            "tin_only": int(totals["tin_only"] or 0),
            "imported": int(totals["imported"] or 0),
            "lines": Page(lines, f"{lines[-1]['index']}.{lines[-1]['line']}" if len(lines) == limit else None),
        }

    # ---- 6. red flags and safeguards ------------------------------------------------------------
    def red_flags(self, *, flag: str | None = None, since: date | str | None = None, until: date | str | None = None,
                  limit: int = 100, after: str | None = None) -> Page:
        check_arg(CODE_RE, flag, "flag")
        limit, rng, cur = page_limit(limit), dates(since, until), parse_cursor(after, 1)
        f, rq = self.t.red_flag, self.t.request
        query = (sa.select(f.c.idx.label("index"), f.c.recorded_at, f.c.flag, f.c.source, f.c.request_id,
                           rq.c.agency, rq.c.exception)
                 .join(rq, rq.c.request_id == f.c.request_id).where(*rng.where(f.c.recorded_at)))
        if flag is not None:
            query = query.where(f.c.flag == flag)
        if cur is not None:
            query = query.where(f.c.idx > cur[0])
        # A page ends at an entry boundary, so the cursor (an index) never splits an entry's flags.
        rows = self._all(query.order_by(f.c.idx, f.c.flag).limit(limit + 50))
        if len(rows) > limit:
            cut = rows[limit - 1]["index"]
            rows = [r for r in rows if r["index"] <= cut]
            return Page(rows, str(cut))
        return Page(rows, None)

    def red_flag_counts(self, *, since: date | str | None = None,
                        until: date | str | None = None) -> list[dict[str, Any]]:
        rng = dates(since, until)
        f = self.t.red_flag
        return self._all(sa.select(f.c.flag, sa.func.count(sa.distinct(f.c.request_id)).label("requests"))
                         .where(*rng.where(f.c.recorded_at)).group_by(f.c.flag).order_by(f.c.flag))

    def safeguard_posture(self, agency: str | None = None) -> list[dict[str, Any]]:
        """The latest ``safeguard_status`` per agency (one agency if given)."""
        check_arg(CODE_RE, agency, "agency")
        s = self.t.safeguard
        latest = sa.select(s.c.agency, sa.func.max(s.c.idx).label("idx")).group_by(s.c.agency)
        if agency is not None:
            latest = latest.where(s.c.agency == agency)
        sub = latest.subquery()
        rows = self._all(sa.select(s).join(sub, sub.c.idx == s.c.idx).order_by(s.c.agency))
        for r in rows:
            r["index"] = r.pop("idx")
        return rows

    # ---- 7. checkpoints ---------------------------------------------------------------------------
    def checkpoints(self, *, limit: int = 100, after: str | None = None) -> Page:
        """Signed checkpoints, newest first; ``after`` is a size (the next page holds smaller ones)."""
        limit, cur = page_limit(limit), parse_cursor(after, 1)
        c = self.t.checkpoint
        query = sa.select(c)
        if cur is not None:
            query = query.where(c.c.size < cur[0])
        rows = self._all(query.order_by(c.c.size.desc()).limit(limit))
        return Page(rows, str(rows[-1]["size"]) if len(rows) == limit else None)
