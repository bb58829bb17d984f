"""A bulk request's whole life through the disclosure service, and its evidence bundle.

A 300-line § 6103(i)(2) request (3 chunks) filed in bulk form, a recipient's attestation, a
court order covering it, a bulk match result (3 chunks, a ``tin`` opening per line), a safeguard
status, a bulk review (3 chunks) and a bulk release of 295 lines (3 chunks, lines 5..9 held
back), a receipt; plus an unrelated request that must stay out of the bundle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domainfix import AGENCY, CRIMINAL, Domain, open_domain

from ledger.authoring import disclosure as dc
from ledger.domain.address import ADDRESS_RULES_VERSION
from ledger.domain.bulk import bulk_release, bulk_request, bulk_review, bulk_statement, list_source, submit_bulk
from ledger.domain.bundle import write_bundle
from ledger.domain.service import DisclosureService
from ledger.sealed import SealedKeys, SealedStore

LINES = 300
HELD_BACK = range(5, 10)


@dataclass
class Scenario:
    domain: Domain
    service: DisclosureService
    store: SealedStore
    keys: SealedKeys
    ids: dict[str, str] = field(default_factory=dict)
    other_request: str = ""

    def bundle(self, out: Path, *, lines: tuple[int, ...] = (3, 200), openings: bool = True) -> Any:
        return write_bundle(self.domain.ledger, self.ids["request"], out, lines=lines,
                            openings=self.service.openings if openings else None)

    def close(self) -> None:
        self.store.close()
        self.domain.ledger.close()


def tin(k: int) -> str:
    return f"9{k:08d}"


def build_scenario(settings: Any) -> Scenario:
    d = open_domain(settings)
    keys = SealedKeys.random()
    store = SealedStore(settings.db_url, keys)
    service = DisclosureService(d.ledger, store, keys)
    sc = Scenario(d, service, store, keys)
    requester = d.principal("ice.dhs.gov/director", ["requester"], agency=AGENCY, category="agency_head")
    reviewer = d.principal("irs.gov/disclosure/officer-0042", ["reviewer"], agency="IRS")
    releaser = d.principal("irs.gov/disclosure/release-0007", ["releaser"], agency="IRS")
    matcher = d.principal("irs.gov/matcher", ["matcher"], agency="IRS")
    court = d.principal("uscourts.gov/judge-dcd", ["court"], court="D.D.C.")
    oversight = d.principal("tigta.gov/auditor", ["oversight"])

    lines = [dc.Line(tin(k), f"Fictional Person {k}", f"{100 + k} Main St, Springfield, IL 62701", ("2024",),
                     f"reason {k}") for k in range(LINES)]
    req = bulk_request(requester, exception="6103(i)(2)", agency=AGENCY, statute=CRIMINAL,
                       purpose="criminal_investigation", purpose_text="a fictional investigation",
                       fields=["address"], recipients=[d.recipient("Agent One", AGENCY, True, True, 3)],
                       lines=lines, case_ids=["case-1"], seed=service.issue_seed(requester.name, "request"))
    submit_bulk(service.submit_batch, req, batch_chunks=2)
    rid = sc.ids["request"] = req.statement_id

    other = dc.request(requester, exception="6103(i)(2)", agency=AGENCY, statute=CRIMINAL,
                       purpose="criminal_investigation", purpose_text="another", fields=["address"],
                       recipients=[d.recipient("Agent Two", AGENCY, True, True, 3)],
                       lines=[dc.Line(tin(7), "Someone Else", "1 Elm St, Springfield, IL 62701")],
                       seed=service.issue_seed(requester.name, "request"))
    service.submit(other.note, other.openings)
    sc.other_request = other.statement_id

    order = dc.court_order(court, kind="ex_parte_order", court="D.D.C.", docket="1:26-mj-0042",
                           covers={"requests": [rid]}, forbids=[], seed=service.issue_seed(court.name, "court_order"))
    service.submit(order.note, order.openings)
    sc.ids["order"] = order.statement_id
    d.attest(rid)

    match_seed = service.issue_seed(matcher.name, "match_result")
    openings = {k: match_seed.commit("tin", tin(k), k) for k in range(LINES)}
    items = [{"line": k, "matched": True, "match_basis": ["address", "name", "tin"], "method": "ADDRESS+NAME+TIN",
              "address_class": "street", "address_usable": True, "irs_address_differs": False,
              "taxpayer": openings[k].commitment} for k in range(LINES)]
    match = bulk_statement([matcher], "match_result", {"request": rid, "matcher_version": "test-matcher-1",
                                                       "address_rules_version": ADDRESS_RULES_VERSION, "red_flags": []},
                           LINES, list_source(items, lambda k: [openings[k]]), statement_id=match_seed.statement_id)
    submit_bulk(service.submit_batch, match)
    sc.ids["match"] = match.statement_id

    service.submit(dc.safeguard_status(oversight, AGENCY, ssr_approved=True).note)
    review = bulk_review(reviewer, rid, [(k, "approve", "ok") for k in range(LINES)], d.flags(rid))
    submit_bulk(service.submit_batch, review)
    sc.ids["review"] = review.statement_id
    released = [k for k in range(LINES) if k not in HELD_BACK]
    release = bulk_release(releaser, rid, review.statement_id, released, ["address"], [0], b"delivered file")
    submit_bulk(service.submit_batch, release)
    sc.ids["release"] = release.statement_id
    recipient = d.keys[f"recipient.{AGENCY.replace('/', '-').lower()}.example.gov/officer"]
    service.submit(dc.receipt(recipient, release.statement_id, b"delivered file").note)
    return sc
