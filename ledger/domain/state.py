"""The § 6103 facts the rules read, rebuilt from the log in index order.

Only what a precondition needs is kept: requests (who filed, under what, which lines
carry an address commitment), the matcher's per-line results, reviews, releases,
court orders and holds, supporting documents and recipients' safeguard status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ledger.statement import Statement

DOMAIN_TYPES = frozenset({
    "request", "withdrawal", "match_result", "review", "release", "court_order", "vacatur",
    "supporting_document", "safeguard_status", "receipt", "correction", "disposition", "use_freeze",
    "erasure", "inspection", "recipient_attestation",
})


@dataclass
class RequestFacts:
    id: str
    index: int
    signer: str
    body: dict[str, Any]
    withdrawn: bool = False
    documents: set[str] = field(default_factory=set)
    match: dict[int, dict[str, Any]] = field(default_factory=dict)
    match_flags: set[str] = field(default_factory=set)
    review_id: str | None = None
    reviewer: str | None = None
    decisions: dict[int, str] = field(default_factory=dict)
    releases: list[tuple[str, str]] = field(default_factory=list)  # (release id, releaser)
    released_lines: set[int] = field(default_factory=set)
    attested: dict[int, str] = field(default_factory=dict)  # recipient number -> attesting principal

    @property
    def line_count(self) -> int:
        return len(self.body["lines"])


@dataclass
class OrderFacts:
    id: str
    index: int
    kind: str
    covers: dict[str, list[str]]
    forbids: list[str]
    vacated_at: int | None = None

    def covers_request(self, request: RequestFacts, agency: str | None = None) -> bool:
        body = request.body
        return (
            request.id in self.covers.get("requests", [])
            or body["exception"] in self.covers.get("exceptions", [])
            or body["purpose"] in self.covers.get("purposes", [])
            or (agency or body["agency"]) in self.covers.get("agencies", [])
        )


@dataclass
class DomainState:
    requests: dict[str, RequestFacts] = field(default_factory=dict)
    orders: dict[str, OrderFacts] = field(default_factory=dict)
    safeguards: dict[str, dict[str, Any]] = field(default_factory=dict)
    releases: dict[str, str] = field(default_factory=dict)  # release id -> request id
    statements: dict[str, tuple[str, int]] = field(default_factory=dict)  # domain statement id -> (type, index)
    corrections: dict[str, list[tuple[str, Any, Any]]] = field(default_factory=dict)  # corrected id -> changes
    erased: set[str] = field(default_factory=set)  # commitments whose openings were erased

    def apply(self, stmt: Statement, index: int) -> None:
        body = stmt.envelope["body"]
        t = stmt.type
        self.statements[stmt.id] = (t, index)
        if t == "correction":
            self.corrections.setdefault(body["corrects"], []).append(
                (body["field"], body["old_value"], body["new_value"]))
        elif t == "erasure":
            self.erased.update(body["commitments"])
        elif t == "request":
            self.requests[stmt.id] = RequestFacts(stmt.id, index, stmt.signers[0], body)
        elif t == "withdrawal":
            self.requests[body["request"]].withdrawn = True
        elif t == "match_result":
            req = self.requests[body["request"]]
            for line in body["lines"]:
                req.match[line["line"]] = line
            req.match_flags.update(body["red_flags"])
        elif t == "review":
            req = self.requests[body["request"]]
            req.review_id, req.reviewer = stmt.id, stmt.signers[0]
            req.decisions = {line["line"]: line["decision"] for line in body["lines"]}
        elif t == "release":
            req = self.requests[body["request"]]
            req.releases.append((stmt.id, stmt.signers[0]))
            req.released_lines.update(body["lines"])
            self.releases[stmt.id] = req.id
        elif t == "court_order":
            self.orders[stmt.id] = OrderFacts(stmt.id, index, body["kind"], body["covers"], body["forbids"])
        elif t == "vacatur":
            self.orders[body["order"]].vacated_at = index
        elif t == "supporting_document":
            self.requests[body["request"]].documents.add(body["kind"])
        elif t == "recipient_attestation":
            self.requests[body["request"]].attested[body["recipient"]] = stmt.signers[0]
        elif t == "safeguard_status":
            self.safeguards[body["agency"]] = body

    def active_orders(self, forbidding: str) -> list[OrderFacts]:
        return [o for o in self.orders.values()
                if o.vacated_at is None and o.kind in ("injunction", "legal_hold") and forbidding in o.forbids]
