"""What each open request waits for, from the domain state alone (the officer's queue).

A request is open from its filing until every line its review approved is released, or until it is
withdrawn or wholly refused. What it waits for is named by a code, in the order the lifecycle needs it:

    chunks                        the rest of a bulk request's chunks
    match_result                  the matcher's result (``disclosure-ledger matcher run``)
    review                        the disclosure officer's review (``officer sheet`` / ``officer review``)
    review_chunks                 the rest of a bulk review's chunks
    recipient_attestation:K       recipient K's own attestation (``client attestation``)
    safeguard_status:AGENCY       an approved safeguard status of the agency (``client safeguard-status``)
    court_order                   a court order in force that the request relies on
    supporting_document:KIND      a recorded supporting document (``client supporting-document``)
    release                       the release of the approved lines (``client release``)
    resubmission                  returned for correction, or a version-1 request (recipients without their
                                  principals, never released): a request that resubmits it
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger.domain.schemas import REQUEST_VERSION, request_version
from ledger.domain.state import APPROVE, DomainState, RequestFacts
from ledger.rules.catalog import CATALOG


@dataclass(frozen=True)
class Waiting:
    request: RequestFacts
    waits_for: tuple[str, ...]


def _release_preconditions(state: DomainState, req: RequestFacts) -> list[str]:
    rule = CATALOG.get(req.body["exception"])
    if rule is None:
        return []
    out: list[str] = []
    if rule.recipient_attestation:
        out.extend(f"recipient_attestation:{k}" for k in range(len(req.body["recipients"])) if k not in req.attested)
    if rule.safeguards:
        agency = req.body["agency"]
        status: dict[str, Any] | None = state.safeguards.get(agency)
        if status is None or not status["ssr_approved"] or (status["open_findings"]
                                                             and not status["cap_implementation_date"]):
            out.append(f"safeguard_status:{agency}")
    if rule.court_order:
        order = state.orders.get(req.body["court_order"] or "")
        if order is None or order.vacated_at is not None:
            out.append("court_order")
    out.extend(f"supporting_document:{doc}" for doc in sorted(rule.documents) if doc not in req.documents)
    return out


def waits_for(state: DomainState, req: RequestFacts, resubmitted: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """What the request waits for next (empty: nothing, it is finished); ``resubmitted``: the ids of
    requests a later request resubmits."""
    if req.withdrawn:
        return ()
    if req.returned is not None:
        return () if req.id in resubmitted else ("resubmission",)
    if not req.complete:
        return ("chunks",)
    if not req.match_complete:
        return ("match_result",)
    if req.review_id is None:
        return ("review",)
    if not req.review_complete:
        return ("review_chunks",)
    approved = {k for k, decision in enumerate(req.decisions) if decision == APPROVE}
    if not approved - req.released_lines:
        return ()
    if request_version(req.body) < REQUEST_VERSION:
        return () if req.id in resubmitted else ("resubmission",)
    return (*_release_preconditions(state, req), "release")


def open_requests(state: DomainState) -> list[Waiting]:
    """Every open request with what it waits for, oldest first."""
    resubmitted = frozenset(r.body["resubmits"] for r in state.requests.values() if r.body.get("resubmits"))
    out = [Waiting(req, w) for req in state.requests.values() if (w := waits_for(state, req, resubmitted))]
    return sorted(out, key=lambda x: x.request.index)
