"""The disclosures projection: requests, their lines (match, decision), releases and the
per-taxpayer release rows, red flags and blocked attempts.

Statements are read in index order, inline (``lines``) or in bulk form (a manifest with
``bulk``, then ``chunk`` statements, FORMAT § 17.7). A chunk's lines are applied when the
chunk lands; a bulk request counts as filed at its last chunk. Statements that refer to
something the projection does not know (possible only in a log written without the rules
engine) are skipped, identically on every run, so a rebuild equals the incremental build.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from ledger.rules.catalog import CATALOG
from projections.base import EntryProjection
from projections.errors import ProjectionError
from projections.source import LogEntry
from projections.tables import ViewTables


def accounting_required(exception: str | None) -> bool:
    """Whether releases under ``exception`` need § 6103(p)(3)(A) accounting (the rules catalog).

    An exception the catalog does not know counts as accounted for: the safe side for an
    oversight report is to show a disclosure, not to drop it.
    """
    rule = CATALOG.get(exception or "")
    return True if rule is None else rule.accounting_required


def _csv(values: Sequence[Any]) -> str:
    return ",".join(str(v) for v in values)


class DisclosuresProjection(EntryProjection):
    name = "disclosures"
    types = frozenset({"request", "withdrawal", "match_result", "review", "release", "chunk", "blocked",
                       "legacy_release"})

    def tables(self, t: ViewTables) -> list[sa.Table]:
        return [t.statement, t.request, t.request_recipient, t.line, t.release, t.release_recipient,
                t.release_line, t.red_flag, t.blocked]

    def apply(self, conn: sa.Connection, t: ViewTables, items: Sequence[Any]) -> None:
        page = _Page(conn, t)
        for entry in items:
            page.apply(entry)
        page.flush()


class _Page:
    """One page's writes; lookups go to the transaction, so they see this page's own rows."""

    def __init__(self, conn: sa.Connection, t: ViewTables) -> None:
        self.conn = conn
        self.t = t
        self._requests: dict[str, dict[str, Any] | None] = {}
        # pj_line rows first seen in this page, written once by flush(): a rebuild then inserts a
        # line with its match and decision instead of inserting it and updating it twice.
        self._new_lines: dict[tuple[str, int], dict[str, Any]] = {}

    def flush(self) -> None:
        if self._new_lines:
            self.conn.execute(sa.insert(self.t.line), list(self._new_lines.values()))
            self._new_lines = {}

    def update_lines(self, request_id: str, rows: list[dict[str, Any]]) -> None:
        """Set columns of pj_line rows (keyed by ``line``), in this page's buffer or in the table."""
        stored = []
        for r in rows:
            buffered = self._new_lines.get((request_id, r["line"]))
            if buffered is not None:
                buffered.update((k, v) for k, v in r.items() if k != "line")
            else:
                stored.append({"b_request": request_id, "b_line": r["line"],
                               **{k: v for k, v in r.items() if k != "line"}})
        if stored:
            ln = self.t.line
            self.conn.execute(
                sa.update(ln).where(ln.c.request_id == sa.bindparam("b_request"), ln.c.line == sa.bindparam("b_line"))
                .values({k: sa.bindparam(k) for k in stored[0] if not k.startswith("b_")}), stored)

    # ---- lookups --------------------------------------------------------------------
    def request(self, request_id: str) -> dict[str, Any] | None:
        if request_id not in self._requests:
            r = self.t.request
            row = self.conn.execute(sa.select(r).where(r.c.request_id == request_id)).mappings().first()
            self._requests[request_id] = dict(row) if row else None
        return self._requests[request_id]

    def statement(self, statement_id: str) -> dict[str, Any] | None:
        s = self.t.statement
        row = self.conn.execute(sa.select(s).where(s.c.statement_id == statement_id)).mappings().first()
        return dict(row) if row else None

    def _remember(self, e: LogEntry, request_id: str | None) -> None:
        bulk = e.body.get("bulk")
        chunk_count = int(bulk["chunk_count"]) if isinstance(bulk, dict) else None
        self.conn.execute(sa.insert(self.t.statement), [{
            "statement_id": e.id, "stype": e.type, "idx": e.index,
            "request_id": request_id, "chunk_count": chunk_count}])

    # ---- dispatch ---------------------------------------------------------------------
    def apply(self, e: LogEntry) -> None:
        handler = _HANDLERS.get(e.type)
        if handler is not None:
            handler(self, e)

    def on_request(self, e: LogEntry) -> None:
        b = e.body
        bulk = b.get("bulk")
        self._remember(e, e.id)
        self.conn.execute(sa.insert(self.t.request), [{
            "request_id": e.id, "idx": e.index, "recorded_at": e.recorded_at,
            "filed_idx": None if bulk else e.index, "filed_at": None if bulk else e.recorded_at,
            "signer": e.signers[0], "agency": b["agency"], "exception": b["exception"],
            "purpose": b["purpose"], "statute": b["statute"], "fields": _csv(b["fields"]),
            "court_order": b["court_order"], "resubmits": b["resubmits"],
            "line_count": int(bulk["line_count"]) if bulk else len(b["lines"]), "bulk": bool(bulk),
            "withdrawn_idx": None}])
        self._requests.pop(e.id, None)
        self.conn.execute(sa.insert(self.t.request_recipient), [
            {"request_id": e.id, "position": i, "agency": r["agency"], "name_commitment": r["name"],
             "caseload": r["caseload"], "principal": r.get("principal")} for i, r in enumerate(b["recipients"])])
        if not bulk:
            self.request_lines(e.id, e.index, 0, b["lines"])

    def request_lines(self, request_id: str, request_idx: int, first: int, items: list[dict[str, Any]]) -> None:
        for k, item in enumerate(items):
            key = (request_id, first + k)
            if key in self._new_lines:
                raise ProjectionError(f"request {request_id} line {first + k} is given twice")
            self._new_lines[key] = {
                "request_id": request_id, "line": first + k, "request_idx": request_idx,
                "has_tin": item["tin"] is not None, "has_name": item["name"] is not None,
                "has_address": item["address"] is not None, "match_idx": None, "matched": None,
                "match_basis": None, "method": None, "address_class": None, "address_usable": None,
                "irs_address_differs": None, "pseudonym": None, "review_idx": None, "decision": None,
                "decision_reason": None}

    def on_withdrawal(self, e: LogEntry) -> None:
        r = self.t.request
        self.conn.execute(sa.update(r).where(r.c.request_id == e.body["request"], r.c.withdrawn_idx.is_(None))
                          .values(withdrawn_idx=e.index))

    def _flags(self, e: LogEntry, request_id: str, source: str) -> None:
        flags = sorted(set(e.body.get("red_flags", [])))
        if flags:
            self.conn.execute(sa.insert(self.t.red_flag), [
                {"idx": e.index, "flag": f, "request_id": request_id, "source": source,
                 "recorded_at": e.recorded_at} for f in flags])

    def on_match_result(self, e: LogEntry) -> None:
        request_id = e.body["request"]
        if self.request(request_id) is None:
            return
        self._remember(e, request_id)
        self._flags(e, request_id, "match_result")
        if "lines" in e.body:
            self.match_lines(request_id, e, e.body["lines"])

    def match_lines(self, request_id: str, e: LogEntry, items: list[dict[str, Any]]) -> None:
        rows = [{"line": item["line"], "match_idx": e.index, "matched": item["matched"],
                 "match_basis": _csv(sorted(item["match_basis"])), "method": item["method"],
                 "address_class": item["address_class"], "address_usable": item["address_usable"],
                 "irs_address_differs": item["irs_address_differs"],
                 "pseudonym": e.pseudonyms.get(item["line"]) if item["taxpayer"] else None} for item in items]
        self.update_lines(request_id, rows)

    def on_review(self, e: LogEntry) -> None:
        request_id = e.body["request"]
        if self.request(request_id) is None:
            return
        self._remember(e, request_id)
        self._flags(e, request_id, "review")
        if "lines" in e.body:
            self.review_lines(request_id, e, e.body["lines"])

    def review_lines(self, request_id: str, e: LogEntry, items: list[dict[str, Any]]) -> None:
        self.update_lines(request_id, [{"line": item["line"], "review_idx": e.index, "decision": item["decision"],
                                        "decision_reason": item["reason"]} for item in items])

    def on_release(self, e: LogEntry) -> None:
        b = e.body
        request = self.request(b["request"])
        if request is None:
            return
        self._remember(e, b["request"])
        self.conn.execute(sa.insert(self.t.release), [{
            "release_id": e.id, "idx": e.index, "recorded_at": e.recorded_at, "request_id": b["request"],
            "review_id": b["review"], "signer": e.signers[0], "fields": _csv(b["fields"]),
            "channel": b["channel"], "file_sha256": b["file_sha256"], "bulk": "bulk" in b,
            "disclosed_at": e.issued_at or e.recorded_at, "imported": False}])
        rr = self.t.request_recipient
        named = {int(p): (a, n, who) for p, a, n, who in self.conn.execute(
            sa.select(rr.c.position, rr.c.agency, rr.c.name_commitment, rr.c.principal)
            .where(rr.c.request_id == b["request"]))}
        nobody = (None, None, None)
        self.conn.execute(sa.insert(self.t.release_recipient), [
            {"release_id": e.id, "position": p, "agency": named.get(p, nobody)[0],
             "name_commitment": named.get(p, nobody)[1], "principal": named.get(p, nobody)[2]}
            for p in sorted(set(b["recipients"]))])
        if "lines" in b:
            self.release_lines(e.id, e, b["lines"])

    def release_lines(self, release_id: str, e: LogEntry, lines: list[int]) -> None:
        rel = self.t.release
        release = self.conn.execute(sa.select(rel).where(rel.c.release_id == release_id)).mappings().first()
        if release is None or not lines:
            return
        request = self.request(release["request_id"])
        assert request is not None  # a release is recorded only for a known request
        ln = self.t.line
        pseudonyms: dict[int, str | None] = {}
        wanted = sorted(set(lines))
        rid = request["request_id"]
        for k in wanted:
            buffered = self._new_lines.get((rid, k))
            if buffered is not None:
                pseudonyms[k] = buffered["pseudonym"]
        in_table = [k for k in wanted if k not in pseudonyms]
        for start in range(0, len(in_table), 500):
            part = in_table[start:start + 500]
            for line, pseudonym in self.conn.execute(
                    sa.select(ln.c.line, ln.c.pseudonym).where(ln.c.request_id == request["request_id"],
                                                               ln.c.line.in_(part))):
                pseudonyms[int(line)] = pseudonym
        self.conn.execute(sa.insert(self.t.release_line), [
            {"release_id": release_id, "line": k, "idx": e.index, "recorded_at": e.recorded_at,
             "request_id": request["request_id"], "pseudonym": pseudonyms.get(k), "agency": request["agency"],
             "exception": request["exception"], "fields": release["fields"],
             "bulk": release["bulk"], "disclosed_at": release["disclosed_at"],
             "imported": release["imported"]} for k in wanted])

    def on_chunk(self, e: LogEntry) -> None:
        b = e.body
        manifest = self.statement(b["of"])
        if manifest is None or manifest["stype"] != b["kind"]:
            return
        items = b["lines"]
        if b["kind"] == "request":
            self.request_lines(b["of"], manifest["idx"], int(b["first_line"]), items)
            if manifest["chunk_count"] is not None and int(b["chunk"]) == manifest["chunk_count"] - 1:
                r = self.t.request
                self.conn.execute(sa.update(r).where(r.c.request_id == b["of"])
                                  .values(filed_idx=e.index, filed_at=e.recorded_at))
                self._requests.pop(b["of"], None)
        elif b["kind"] == "match_result":
            self.match_lines(manifest["request_id"], e, items)
        elif b["kind"] == "review":
            self.review_lines(manifest["request_id"], e, items)
        elif b["kind"] == "release":
            self.release_lines(b["of"], e, [int(k) for k in items])

    def on_legacy_release(self, e: LogEntry) -> None:
        """A disclosure made before the ledger, imported as accounting: recorded as a request with its
        lines (as requested, as matched) and one release of every line, each marked ``imported`` and
        dated by the disclosure's own date."""
        b = e.body
        day = f"{b['disclosed_on']}T00:00:00.000000Z"
        fields = _csv(b["fields"])
        self._remember(e, e.id)
        self.conn.execute(sa.insert(self.t.request), [{
            "request_id": e.id, "idx": e.index, "recorded_at": e.recorded_at, "filed_idx": e.index,
            "filed_at": day, "signer": e.signers[0], "agency": b["agency"], "exception": b["exception"],
            "purpose": b["purpose"] or "not_recorded", "statute": None, "fields": fields, "court_order": None,
            "resubmits": None, "line_count": len(b["lines"]), "bulk": False, "withdrawn_idx": None,
            "imported": True}])
        self._requests.pop(e.id, None)
        self.request_lines(e.id, e.index, 0, b["lines"])
        self.update_lines(e.id, [{
            "line": ln["line"], "match_idx": e.index, "matched": bool(ln["match_basis"]),
            "match_basis": _csv(sorted(ln["match_basis"])), "method": "imported",
            "address_class": ln["address_class"], "address_usable": ln["address_usable"],
            "pseudonym": e.pseudonyms.get(ln["line"]) if ln["taxpayer"] else None,
            "decision_reason": "imported"} for ln in b["lines"]])
        self.conn.execute(sa.insert(self.t.release), [{
            "release_id": e.id, "idx": e.index, "recorded_at": e.recorded_at, "request_id": e.id,
            "review_id": e.id, "signer": e.signers[0], "fields": fields, "channel": "imported",
            "file_sha256": None, "bulk": False, "disclosed_at": day, "imported": True}])
        self.release_lines(e.id, e, [ln["line"] for ln in b["lines"]])

    def on_blocked(self, e: LogEntry) -> None:
        b = e.body
        self.conn.execute(sa.insert(self.t.blocked), [{
            "idx": e.index, "recorded_at": e.recorded_at, "statement_id": b["statement_id"],
            "statement_type": b["statement_type"], "signers": json.dumps(b["signers"]),
            "rules": json.dumps(b["rules"]),
            "refers_to": b.get("refers_to") if isinstance(b.get("refers_to"), str) else None}])


_HANDLERS = {
    "request": _Page.on_request,
    "withdrawal": _Page.on_withdrawal,
    "match_result": _Page.on_match_result,
    "review": _Page.on_review,
    "release": _Page.on_release,
    "chunk": _Page.on_chunk,
    "blocked": _Page.on_blocked,
    "legacy_release": _Page.on_legacy_release,
}
