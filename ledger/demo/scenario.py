"""Replay the 2025 story at small scale, deterministically, on fictional people.

Every principal here signs on the service's side of the demo, so each takes the salt seed of a
statement that commits to personal data from the service's Python API (``issue_seed``); a
principal elsewhere asks with a signed seed request (docs/FORMAT.md § 13.1).

June 2025: requests naming millions of people were rejected; a third, naming ~1.28 million,
was approved and ~47,000 addresses went out, most of them matched on TIN alone because the
request lines said "Failed to Provide" or "NA NA". Here the same shapes meet the rules:

1. an over-broad request with missing addresses is refused at filing (blocked);
2. a resubmission citing a civil removal provision is refused at filing (blocked);
3. a request whose address fields are filled with placeholders is filed; the matcher
   finds most lines match on TIN only; the reviewer approves only the lines matched on the
   requester's own name and address; the approved lines are released;
4. an attempt to release every line, as happened in 2025, is blocked;
5. a court enjoins further releases (February 2026); a later release attempt is blocked.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from ledger.client import disclosure as dc
from ledger.client.keyring import Keyring
from ledger.demo.principals import register_all
from ledger.domain.masterfile import MasterFile
from ledger.domain.matching import MatcherPrincipal
from ledger.domain.service import DisclosureService
from ledger.keys import SignerKey
from ledger.policy import DEFAULT_POLICY
from ledger.rules.engine import server_red_flags
from ledger.statement import parse_statement
from ledger.store.errors import RuleRefusal

ORIGIN = "ledger.irs.example/disclosures"
AGENCY = "DHS/ICE"
PLACEHOLDERS = ["Failed to Provide", "NA NA", "Unknown Address", "FAILED TO PROVIDE", "N/A", "Don't Care", "00000"]
CLERKS = {"uscourts.gov/mad/clerk": "D. Mass."}  # each court's clerk, named at genesis
PRINCIPALS: dict[str, tuple[list[str], dict[str, str]]] = {
    "ice.dhs.gov/director": (["requester"], {"agency": AGENCY, "category": "agency_head"}),
    "irs.gov/disclosure/officer-0042": (["reviewer"], {"agency": "IRS", "office": "Disclosure"}),
    "irs.gov/disclosure/release-0007": (["releaser"], {"agency": "IRS", "office": "Disclosure"}),
    "irs.gov/matcher": (["matcher"], {"agency": "IRS", "office": "Matching"}),
    "uscourts.gov/mad/judge-a": (["court"], {"court": "D. Mass."}),
    "tigta.gov/auditor-01": (["oversight"], {"agency": "TIGTA"}),
    **{f"ice.dhs.gov/agent-{i}": (["recipient"], {"agency": AGENCY}) for i in range(3)},
}


@dataclass
class ScenarioReport:
    requests: dict[str, str] = field(default_factory=dict)
    blocked: list[tuple[str, list[str]]] = field(default_factory=list)
    lines_requested: int = 0
    lines_released: int = 0


def _key(keyring: Keyring, name: str) -> SignerKey:
    return keyring.get(name) if keyring.has(name) else keyring.new(name)


def register_principals(service: DisclosureService, admin: SignerKey, keyring: Keyring) -> dict[str, SignerKey]:
    """The demo's principals: the judge countersigned by the D. Mass. clerk (named at genesis), the
    agents by the ICE director."""
    clerks = {court: _key(keyring, name) for name, court in CLERKS.items()}
    return register_all(service.ledger.append, admin, PRINCIPALS, lambda name: _key(keyring, name), clerks)


def _attempt(service: DisclosureService, sub: dc.Submission, label: str, report: ScenarioReport) -> bool:
    try:
        service.submit(sub.note, sub.openings)
        return True
    except RuleRefusal as refusal:
        report.blocked.append((label, refusal.rules))
        return False


def run(service: DisclosureService, keys: dict[str, SignerKey], master: MasterFile, seed: int = 2025,
        lines: int = 60) -> ScenarioReport:
    rng = random.Random(seed)  # noqa: S311 - fictional demo data, not a secret
    report = ScenarioReport()
    ice = keys["ice.dhs.gov/director"]
    reviewer = keys["irs.gov/disclosure/officer-0042"]
    releaser = keys["irs.gov/disclosure/release-0007"]
    court = keys["uscourts.gov/mad/judge-a"]
    matcher = MatcherPrincipal(keys["irs.gov/matcher"], master)
    people = list(master.records)
    rng.shuffle(people)
    agents = [dc.Recipient(f"Fictional Agent {i}", AGENCY, caseload=rng.randint(2, 40),
                           principal=f"ice.dhs.gov/agent-{i}") for i in range(3)]
    common: dict[str, Any] = {"exception": "6103(i)(2)", "agency": AGENCY, "purpose": "criminal_investigation",
              "purpose_text": "Investigation of failure to depart (fictional)", "fields": ["name", "address"],
              "recipients": agents}

    service.submit(dc.safeguard_status(keys["tigta.gov/auditor-01"], AGENCY, ssr_approved=True).note)

    # 1. over-broad, addresses missing
    broad = [dc.Line(p.tin, p.name, None if rng.random() < 0.7 else p.address, ("2023", "2024"),
                     "Subject is subject to a final order of removal") for p in people[: lines * 2]]
    r1 = dc.request(ice, statute="8 USC 1253(a)(1)", lines=broad, case_ids=["FICT-2025-0001"],
                    seed=service.issue_seed(ice.name, "request"), **common)
    _attempt(service, r1, "over-broad request", report)
    # 2. civil removal provision cited
    r2 = dc.request(ice, statute="8 USC 1231", lines=broad[:lines], case_ids=["FICT-2025-0002"],
                    seed=service.issue_seed(ice.name, "request"), **common)
    _attempt(service, r2, "civil statute", report)
    # 3. placeholders in the address field
    chosen = people[:lines]
    request_lines = []
    for p in chosen:
        address = rng.choice(PLACEHOLDERS) if rng.random() < 0.85 else p.address
        request_lines.append(dc.Line(p.tin, p.name, address, ("2024",),
                                     "Subject is subject to a final order of removal"))
    r3 = dc.request(ice, statute="8 USC 1253(a)(1)", lines=request_lines, case_ids=["FICT-2025-0003"],
                    seed=service.issue_seed(ice.name, "request"), **common)
    service.submit(r3.note, r3.openings)
    # one agent signing for a colleague: only the principal each slot names attests for it
    _attempt(service, dc.recipient_attestation(keys["ice.dhs.gov/agent-0"], r3.statement_id, 1),
             "attestation signed for another recipient", report)
    _attest(service, keys, r3.statement_id)
    report.requests["placeholder request"] = r3.statement_id
    report.lines_requested = len(request_lines)
    stmt = parse_statement(r3.note)
    match = matcher.match_request(stmt, {o.commitment: o for o in r3.openings},
                                  seed=service.issue_seed(matcher.key.name, "match_result"))
    service.submit(match.note, match.openings)
    match_lines = parse_statement(match.note).envelope["body"]["lines"]
    approvable = [m["line"] for m in match_lines
                  if m["matched"] and m["address_usable"] and {"name", "address"} <= set(m["match_basis"])]
    decisions = [(m["line"], "approve" if m["line"] in approvable else "refuse",
                  "ok" if m["line"] in approvable else ("tin_only_match" if m["match_basis"] == ["tin"]
                                                        else "address_unusable"))
                 for m in match_lines]
    engine = service.ledger.recorder.chain.rules
    flags = server_red_flags(engine.state.requests[r3.statement_id]) if engine else []
    review = dc.review(reviewer, r3.statement_id, decisions, flags)
    service.submit(review.note)
    # 4. release everything, as in 2025: blocked
    everything = dc.release(releaser, r3.statement_id, review.statement_id, list(range(len(match_lines))),
                            ["name", "address"], [0, 1, 2], b"all addresses")
    _attempt(service, everything, "release of every line", report)
    if approvable:
        lawful = dc.release(releaser, r3.statement_id, review.statement_id, approvable, ["name", "address"],
                            [0, 1, 2], b"approved addresses")
        if _attempt(service, lawful, "lawful release", report):
            report.lines_released = len(approvable)
    # 5. injunction, then a blocked release attempt on a new, clean request
    order = dc.court_order(court, kind="injunction", court="D. Mass.", docket="1:25-cv-00000 (fictional)",
                           covers={"agencies": [AGENCY]}, forbids=["release", "use"],
                           seed=service.issue_seed(court.name, "court_order"))
    service.submit(order.note, order.openings)
    clean = [dc.Line(p.tin, p.name, p.address, ("2024",), f"Open criminal case {i} (fictional)")
             for i, p in enumerate(people[lines: lines + 3])]
    r4 = dc.request(ice, statute="8 USC 1326", lines=clean, case_ids=["FICT-2026-0004"],
                    resubmits=r3.statement_id, seed=service.issue_seed(ice.name, "request"), **common)
    service.submit(r4.note, r4.openings)
    _attest(service, keys, r4.statement_id)
    m4 = matcher.match_request(parse_statement(r4.note), {o.commitment: o for o in r4.openings},
                               seed=service.issue_seed(matcher.key.name, "match_result"))
    service.submit(m4.note, m4.openings)
    ok4 = [m["line"] for m in parse_statement(m4.note).envelope["body"]["lines"]
           if m["address_usable"] and {"name", "address"} <= set(m["match_basis"])]
    rev4 = dc.review(reviewer, r4.statement_id,
                     [(k, "approve" if k in ok4 else "refuse", "ok" if k in ok4 else "not_matched")
                      for k in range(len(clean))],
                     server_red_flags(engine.state.requests[r4.statement_id]) if engine else [])
    service.submit(rev4.note)
    if ok4:
        after = dc.release(releaser, r4.statement_id, rev4.statement_id, ok4, ["address"], [0], b"after order")
        _attempt(service, after, "release after the injunction", report)
    report.requests["request after injunction"] = r4.statement_id
    return report


def _attest(service: DisclosureService, keys: dict[str, SignerKey], request_id: str) -> None:
    """Each named agent signs their own attestation (personally and directly engaged, solely for use)."""
    for i in range(3):
        service.submit(dc.recipient_attestation(keys[f"ice.dhs.gov/agent-{i}"], request_id, i).note)



SEED = 2025
MASTER_RECORDS = 400


def load(ledger: Any, sealed: Any, secrets: Any, keyring: Keyring,
         master: MasterFile | None = None) -> ScenarioReport:
    """Initialise an empty ledger and load the demo through the disclosure service (what `make run`
    does on first start; tests load the same data). The master file defaults to the demo's seeded one."""
    admin_name = f"{ORIGIN}/admin"
    admin = keyring.get(admin_name) if keyring.has(admin_name) else keyring.new(admin_name)
    clerks = [(str(_key(keyring, name).verifier), court) for name, court in CLERKS.items()]
    ledger.initialise(ORIGIN, str(admin.verifier), DEFAULT_POLICY, court_clerks=clerks)
    service = DisclosureService(ledger, sealed, secrets)
    keys = register_principals(service, admin, keyring)
    return run(service, keys, master or MasterFile.generate(MASTER_RECORDS, SEED), seed=SEED)
