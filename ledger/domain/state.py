"""The § 6103 facts the rules read, rebuilt from the log in index order.

Only what a precondition needs is kept: requests (who filed, under what, which lines carry a
name and an address commitment), the matcher's per-line results, reviews, releases, court
orders and holds (and the court that issued them), supporting documents (and who recorded them),
recipients' safeguard status, and which request's statements carry each commitment (what an erasure
may touch: ledger.domain.ownership). Per-line facts are
one byte per line (``bytearray``), so a request naming 1.3 million taxpayers costs a few
megabytes, not the hundreds of megabytes of its statements. Bulk statements (FORMAT § 17.7)
fill the same arrays chunk by chunk; a bulk statement is complete at its last chunk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ledger.core.lines import LinesTree, item_leaf
from ledger.core.statement import Statement
from ledger.domain.ownership import CommitmentOwners, head_commitments, line_commitments

DOMAIN_TYPES = frozenset({
    "request", "withdrawal", "match_result", "review", "release", "court_order", "vacatur",
    "supporting_document", "safeguard_status", "receipt", "correction", "disposition", "use_freeze",
    "erasure", "inspection", "recipient_attestation", "chunk", "return_for_correction", "legacy_release",
})

# request line flags
HAS_NAME, HAS_ADDRESS = 1, 2
# match line flags (0: no result yet)
M_PRESENT, M_MATCHED, M_TIN, M_NAME, M_ADDRESS, M_USABLE, M_DOB = 1, 2, 4, 8, 16, 32, 64
BASIS_BITS = {"tin": M_TIN, "name": M_NAME, "address": M_ADDRESS, "dob": M_DOB}
# review decisions (0: none yet)
APPROVE, REFUSE = 1, 2
DECISION_CODES = {"approve": APPROVE, "refuse": REFUSE}


def request_line_flags(line: dict[str, Any]) -> int:
    return (HAS_NAME if line["name"] else 0) | (HAS_ADDRESS if line["address"] else 0)


def match_line_flags(line: dict[str, Any]) -> int:
    bits = M_PRESENT | (M_MATCHED if line["matched"] else 0) | (M_USABLE if line["address_usable"] else 0)
    for f in line["match_basis"]:
        bits |= BASIS_BITS[f]
    return bits


@dataclass
class BulkFacts:
    """A bulk statement being filled by its chunks."""

    id: str
    kind: str
    index: int
    signers: list[str]
    request: str  # the request it belongs to (itself for a request)
    line_count: int
    chunk_count: int
    lines_root: str
    next_chunk: int = 0
    last_item: int = -1  # a bulk release's last released line so far (items strictly increase)
    fields: list[str] = field(default_factory=list)  # a bulk release's fields
    recipients: list[int] = field(default_factory=list)  # a bulk release's recipients
    tree: LinesTree = field(default_factory=LinesTree)


@dataclass
class RequestFacts:
    id: str
    index: int
    signer: str
    body: dict[str, Any]  # the request's body without its lines
    line_count: int
    lines: bytearray  # request line flags
    complete: bool = True
    filed_at: int = -1
    withdrawn: bool = False
    returned: int | None = None  # index of a return_for_correction
    documents: set[str] = field(default_factory=set)
    document_signers: set[str] = field(default_factory=set)  # who recorded its supporting documents
    match_id: str | None = None
    match_complete: bool = False
    match: bytearray = field(default_factory=bytearray)
    match_flags: set[str] = field(default_factory=set)
    tin_only_lines: int = 0
    unusable_lines: int = 0
    review_id: str | None = None
    review_complete: bool = False
    reviewer: str | None = None
    decisions: bytearray = field(default_factory=bytearray)
    releases: list[tuple[str, str]] = field(default_factory=list)  # (release id, releaser)
    released: bytearray = field(default_factory=bytearray)
    attested: dict[int, str] = field(default_factory=dict)  # recipient number -> attesting principal
    attested_keys: dict[int, bytes] = field(default_factory=dict)  # recipient number -> the attesting public key

    @property
    def released_lines(self) -> set[int]:
        return {k for k, v in enumerate(self.released) if v}

    def approved(self, k: int) -> bool:
        return 0 <= k < self.line_count and self.decisions[k] == APPROVE


@dataclass
class OrderFacts:
    id: str
    index: int
    kind: str
    covers: dict[str, list[str]]
    forbids: list[str]
    vacated_at: int | None = None
    court: str = ""  # the issuing court the order names
    signers: tuple[str, ...] = ()

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
    bulk: dict[str, BulkFacts] = field(default_factory=dict)  # incomplete bulk statements by id
    parts: dict[str, list[int]] = field(default_factory=dict)  # bulk statement id -> its chunks' indices
    bulk_requests: dict[str, str] = field(default_factory=dict)  # bulk statement id -> its request's id
    owners: CommitmentOwners = field(default_factory=CommitmentOwners)  # commitment -> requests carrying it
    imported: dict[str, int] = field(default_factory=dict)  # legacy_release id -> index: final, nothing refers

    def apply(self, stmt: Statement, index: int) -> None:
        body = stmt.envelope["body"]
        t = stmt.type
        self.statements[stmt.id] = (t, index)
        if t == "legacy_release":
            self.imported[stmt.id] = index
            return
        if t in ("request", "match_result", "review", "release"):
            self._apply_lifecycle(stmt, body, index)
        elif t == "chunk":
            self._apply_chunk(body, index)
        elif t == "correction":
            self.corrections.setdefault(body["corrects"], []).append(
                (body["field"], body["old_value"], body["new_value"]))
        elif t == "erasure":
            self.erased.update(body["commitments"])
        elif t == "withdrawal":
            self.requests[body["request"]].withdrawn = True
        elif t == "return_for_correction":
            self.requests[body["request"]].returned = index
        elif t == "court_order":
            self.orders[stmt.id] = OrderFacts(stmt.id, index, body["kind"], body["covers"], body["forbids"],
                                              court=body["court"], signers=tuple(stmt.signers))
        elif t == "vacatur":
            self.orders[body["order"]].vacated_at = index
        elif t == "supporting_document":
            req = self.requests[body["request"]]
            req.documents.add(body["kind"])
            req.document_signers.update(stmt.signers)
        elif t == "recipient_attestation":
            self.requests[body["request"]].attested[body["recipient"]] = stmt.signers[0]
        elif t == "safeguard_status":
            self.safeguards[body["agency"]] = body

    def _apply_lifecycle(self, stmt: Statement, body: dict[str, Any], index: int) -> None:
        t = stmt.type
        bulk = body.get("bulk")
        if t == "request":
            n = bulk["line_count"] if bulk else len(body["lines"])
            head = {k: v for k, v in body.items() if k not in ("lines", "bulk")}
            req = RequestFacts(stmt.id, index, stmt.signers[0], head, n, bytearray(n), complete=bulk is None,
                               filed_at=-1 if bulk else index)
            self.requests[stmt.id] = req
            self.owners.add(req.id, head_commitments(body))
        else:
            req = self.requests[body["request"]]
        if t == "match_result":
            req.match_id, req.match = stmt.id, bytearray(req.line_count)
            req.match_flags.update(body["red_flags"])
            req.match_complete = bulk is None
        elif t == "review":
            req.review_id, req.reviewer, req.decisions = stmt.id, stmt.signers[0], bytearray(req.line_count)
            req.review_complete = bulk is None
        elif t == "release":
            req.releases.append((stmt.id, stmt.signers[0]))
            if not req.released:
                req.released = bytearray(req.line_count)
            self.releases[stmt.id] = req.id
        if bulk:
            self.bulk_requests[stmt.id] = req.id
            self.bulk[stmt.id] = BulkFacts(stmt.id, t, index, list(stmt.signers), req.id, bulk["line_count"],
                                           bulk["chunk_count"], bulk["lines_root"], fields=body.get("fields", []),
                                           recipients=body.get("recipients", []) if t == "release" else [])
        else:
            self.apply_items(t, req, 0, body["lines"])
            self.owners.add(req.id, line_commitments(t, body["lines"]))

    def _apply_chunk(self, body: dict[str, Any], index: int) -> None:
        bulk = self.bulk[body["of"]]
        self.parts.setdefault(bulk.id, []).append(index)
        req = self.requests[bulk.request]
        items = body["lines"]
        self.apply_items(bulk.kind, req, body["first_line"], items)
        self.owners.add(req.id, line_commitments(bulk.kind, items))
        bulk.tree.add_chunk([item_leaf(item, parsed=True) for item in items])  # items of a parsed chunk
        bulk.next_chunk += 1
        if bulk.kind == "release":
            bulk.last_item = items[-1]
        if bulk.next_chunk == bulk.chunk_count:  # the last chunk: the bulk statement is complete
            del self.bulk[bulk.id]
            if bulk.kind == "request":
                req.complete, req.filed_at = True, index
            elif bulk.kind == "match_result":
                req.match_complete = True
            elif bulk.kind == "review":
                req.review_complete = True

    @staticmethod
    def apply_items(kind: str, req: RequestFacts, first: int, items: list[Any]) -> None:
        if kind == "request":
            for k, line in enumerate(items, first):
                req.lines[k] = request_line_flags(line)
        elif kind == "match_result":
            for line in items:
                bits = match_line_flags(line)
                req.match[line["line"]] = bits
                if bits & M_MATCHED and line["match_basis"] == ["tin"]:
                    req.tin_only_lines += 1
                if not bits & M_USABLE:
                    req.unusable_lines += 1
        elif kind == "review":
            for line in items:
                req.decisions[line["line"]] = DECISION_CODES[line["decision"]]
        elif kind == "release":
            for k in items:
                req.released[k] = 1

    def active_orders(self, forbidding: str) -> list[OrderFacts]:
        return [o for o in self.orders.values()
                if o.vacated_at is None and o.kind in ("injunction", "legal_hold") and forbidding in o.forbids]
