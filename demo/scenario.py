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
from datetime import UTC, datetime, timedelta
from typing import Any

from demo.principals import register_all
from ledger.authoring import disclosure as dc
from ledger.client.keyring import Keyring
from ledger.core.keys import SignerKey
from ledger.core.statement import parse_statement
from ledger.domain.masterfile import MasterFile
from ledger.domain.matching import MatcherPrincipal
from ledger.domain.refusals import RuleRefusal
from ledger.domain.service import DisclosureService
from ledger.policy import DEFAULT_POLICY
from ledger.rules.engine import server_red_flags

ORIGIN = "ledger.irs.example/disclosures"
AGENCY = "DHS/ICE"
PLACEHOLDERS = ["Failed to Provide", "NA NA", "Unknown Address", "FAILED TO PROVIDE", "N/A", "Don't Care", "00000"]
CLERKS = {"uscourts.gov/mad/clerk": "D. Mass."}  # each court's clerk, named at genesis
# Each agency's official, named at genesis: the log is agency-anchored, and every key of an agency is
# countersigned by its official.
OFFICIALS = {"ice.dhs.gov/official": AGENCY, "irs.gov/disclosure/official": "IRS", "tigta.gov/official": "TIGTA"}
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
    lines_imported: int = 0
    lines_released_monthly: int = 0  # by the small requests released through 2026
    tins: dict[str, str] = field(default_factory=dict)  # what a demo TIN shows -> the TIN (fictional)


def _key(keyring: Keyring, name: str) -> SignerKey:
    return keyring.get(name) if keyring.has(name) else keyring.new(name)


def _match(service: DisclosureService, matcher: Any, req: Any) -> list[int]:
    """The matcher matches a filed request and its result is submitted; returns the lines matched on
    name and a usable address (the ones a reviewer may approve)."""
    match = matcher.match_request(parse_statement(req.note), {o.commitment: o for o in req.openings},
                                  seed=service.issue_seed(matcher.key.name, "match_result"))
    service.submit(match.note, match.openings)
    return [m["line"] for m in parse_statement(match.note).envelope["body"]["lines"]
            if m["address_usable"] and {"name", "address"} <= set(m["match_basis"])]


def register_principals(service: DisclosureService, admin: SignerKey, keyring: Keyring) -> dict[str, SignerKey]:
    """The demo's principals: the judge countersigned by the D. Mass. clerk, every key of an agency
    (the director, the agents, the IRS staff, the auditor) by its agency's official (all named at genesis)."""
    clerks = {court: _key(keyring, name) for name, court in CLERKS.items()}
    officials = {agency: _key(keyring, name) for name, agency in OFFICIALS.items()}
    return register_all(service.ledger.append, admin, PRINCIPALS, lambda name: _key(keyring, name), clerks,
                        officials)


def _attempt(service: DisclosureService, sub: dc.Submission, label: str, report: ScenarioReport) -> bool:
    try:
        service.submit(sub.note, sub.openings)
        return True
    except RuleRefusal as refusal:
        report.blocked.append((label, refusal.rules))
        return False


LINES = 60  # lines of the placeholder request


def run(service: DisclosureService, keys: dict[str, SignerKey], master: MasterFile, seed: int = 2025,
        lines: int = LINES) -> ScenarioReport:
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
    engine = service.ledger.rules
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
    monthly_releases(service, keys, matcher, people[lines + 3:], report)
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
    ok4 = _match(service, matcher, r4)
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
    officials = [(str(_key(keyring, name).verifier), agency) for name, agency in OFFICIALS.items()]
    ledger.initialise(ORIGIN, str(admin.verifier), DEFAULT_POLICY, court_clerks=clerks, agency_officials=officials)
    service = DisclosureService(ledger, sealed, secrets)
    keys = register_principals(service, admin, keyring)
    imported = import_accounting(service, admin, keyring, keys)
    report = run(service, keys, master or MasterFile.generate(MASTER_RECORDS, SEED), seed=SEED)
    report.lines_imported = imported
    return report


def demo_tins() -> dict[str, str]:
    """Demo TINs and what each one's history shows (the same on every run: the data is seeded)."""
    master = MasterFile.generate(MASTER_RECORDS, SEED)
    people = list(master.records)
    random.Random(SEED).shuffle(people)  # noqa: S311 - the order run() draws them in
    return {"imported from the 2025 accounting: placeholder address, matched on the TIN alone": DEMO_TIN,
            "imported from the 2025 accounting: only a city for an address, matched on the TIN alone": "900-70-0021",
            "released by the ledger on 2026-01-14 (matched on the requester's name and address)":
            people[LINES + 3].tin}


# ---- the accounting from before the ledger, and a year of releases -------------------------------
CUTOVER = "2026-01-01"  # the ledger records disclosures itself from this day (the policy's legacy_cutover)
SECOND_ADMIN = f"{ORIGIN}/admin-2"
IMPORTER = "irs.gov/accounting/importer-01"
AUDITOR = "tigta.gov/auditor-01"
# The 2025 release as the IRS's own accounting records it (fictional people): on 7 August 2025 addresses
# went to ICE for lines whose requested address was a placeholder, a fragment or nothing, matched on the
# TIN alone, besides a few matched on the requester's full name and address.
LEGACY_ADDRESSES = (
    ["Failed to Provide", "NA NA", "Unknown Address", "FAILED TO PROVIDE", "N/A"] * 4     # placeholders
    + ["Boston, MA", "02110", "Main St", "Houston TX 77002", "Chicago IL", "Suite 200"]   # fragments
    + [None, None, None]                                                                 # nothing at all
    + ["12 Main St, Boston, MA 02110", "450 Elm Ave, Houston, TX 77002", "PO Box 12, Dallas, TX 75201",
       "77 Lake Shore Dr, Chicago, IL 60611", "9 Harbor Rd, Miami, FL 33131"]             # usable, matched so
)
LEGACY_DAYS = ("2025-08-07", "2025-08-21")
# (month, day) of the ledger's own releases in 2026, each a small request released on that day
MONTHS = ((1, 14), (3, 3), (4, 22), (6, 9), (8, 18), (10, 6), (11, 17))
DEMO_TIN = "900-70-0001"  # docs/API.md's example: an imported 2025 release, placeholder address, TIN alone


def accounting_rows() -> list[dict[str, Any]]:
    """The demo's accounting file (FORMAT § 17.10.1), as dicts: one released line each."""
    rows = []
    for k, address in enumerate(LEGACY_ADDRESSES, 1):
        tin = f"900-70-{k:04d}"
        full = address is not None and k > len(LEGACY_ADDRESSES) - 5
        rows.append({"source": "irs-2025-accounting", "disclosed_on": LEGACY_DAYS[k % 7 == 0],
                     "agency": AGENCY, "exception": "6103(i)(2)", "purpose": "criminal_investigation",
                     "fields": ["name", "address"], "tin": tin, "name": f"Fictional Taxpayer {k}", "address": address,
                     "match_basis": ["address", "name", "tin"] if full else ["tin"], "matched_tin": tin})
    return rows


def import_accounting(service: DisclosureService, admin: SignerKey, keyring: Keyring,
                      keys: dict[str, SignerKey]) -> int:
    """A second administrator; the policy's cutover set by both; the importer (an IRS key, vouched for
    by the IRS's official), countersigned by TIGTA's auditor, records the 2025 release. Returns the lines imported."""
    import json

    from ledger.authoring.trust import key_registration
    from ledger.domain.accounting import cutover_policy, legacy_release, read_accounting

    admin2, importer = _key(keyring, SECOND_ADMIN), _key(keyring, IMPORTER)
    service.ledger.append(key_registration(admin, admin2, ["administrator"], {}))
    irs_official = next(_key(keyring, name) for name, agency in OFFICIALS.items() if agency == "IRS")
    service.ledger.append(key_registration(admin, importer, ["importer"], {"agency": "IRS", "office": "Disclosure"},
                                           [irs_official]))  # an IRS key: the IRS's official vouches for it
    service.ledger.append(cutover_policy([admin, admin2], DEFAULT_POLICY, CUTOVER))
    records = read_accounting(json.dumps(row) for row in accounting_rows())
    subs = [legacy_release([importer, keys[AUDITOR]], r, service.issue_seed(importer.name, "legacy_release"))
            for r in records]
    service.submit_batch([s.note for s in subs], [o for s in subs for o in s.openings])
    return sum(len(r.lines) for r in records)


def dated(sub: dc.Submission, signers: list[SignerKey], day: datetime) -> dc.Submission:
    """The same statement (its id, body and commitments) signed as issued on ``day``: the ledger accepts an
    issued_at in the past while its not_after is still ahead (docs/FORMAT.md § 4), never one in the future."""
    from ledger.core.statement import make_envelope, sign_statement
    from ledger.core.times import utc_now

    stmt = parse_statement(sub.note)
    day = min(day, utc_now())  # never in the future (a demo loaded before that day signs it now)
    envelope = make_envelope(stmt.type, stmt.id, stmt.signers, stmt.envelope["body"], issued_at=day,
                             valid_for=utc_now() - day + timedelta(hours=1))
    return dc.Submission(sign_statement(envelope, signers), sub.openings, sub.statement_id)


def monthly_releases(service: DisclosureService, keys: dict[str, SignerKey], matcher: MatcherPrincipal,
                     people: list[Any], report: ScenarioReport) -> None:
    """Small, lawful requests through 2026, each filed, matched, reviewed and released on its own days, so
    the charts and the (p)(3)(C) year show when disclosures happened (the signed issued_at)."""
    ice = keys["ice.dhs.gov/director"]
    reviewer = keys["irs.gov/disclosure/officer-0042"]
    releaser = keys["irs.gov/disclosure/release-0007"]
    engine = service.ledger.rules
    agents = [dc.Recipient(f"Fictional Agent {i}", AGENCY, caseload=5, principal=f"ice.dhs.gov/agent-{i}")
              for i in range(3)]
    year = 2026
    for n, (month, day) in enumerate(MONTHS):
        when = datetime(year, month, day, 15, 0, tzinfo=UTC)
        group = people[3 * n: 3 * n + 2 + n % 2]
        lines = [dc.Line(p.tin, p.name, p.address, ("2025",), f"Open criminal case {month}-{k} (fictional)")
                 for k, p in enumerate(group)]
        req = dc.request(ice, exception="6103(i)(2)", agency=AGENCY, statute="8 USC 1326",
                         purpose="criminal_investigation", purpose_text=f"Case file {month} (fictional)",
                         fields=["name", "address"], recipients=agents, lines=lines,
                         case_ids=[f"FICT-{year}-{month:02d}"], seed=service.issue_seed(ice.name, "request"))
        req = dated(req, [ice], when - timedelta(days=9))
        service.submit(req.note, req.openings)
        _attest(service, keys, req.statement_id)
        ok = _match(service, matcher, req)
        flags = server_red_flags(engine.state.requests[req.statement_id]) if engine else []
        review = dc.review(reviewer, req.statement_id, [(k, "approve" if k in ok else "refuse",
                                                         "ok" if k in ok else "not_matched")
                                                        for k in range(len(lines))], flags)
        service.submit(dated(review, [reviewer], when - timedelta(days=2)).note)
        if ok:
            rel = dc.release(releaser, req.statement_id, review.statement_id, ok, ["name", "address"], [0, 1, 2],
                             f"release {month}".encode())
            if _attempt(service, dated(rel, [releaser], when), f"release of {year}-{month:02d}", report):
                report.lines_released_monthly += len(ok)
                report.tins.setdefault("released by the ledger in 2026", group[ok[0]].tin)
                _read(service, keys[AUDITOR], group[ok[0]].tin, when + timedelta(days=6))


def _read(service: DisclosureService, auditor: SignerKey, tin: str, day: datetime) -> None:
    """TIGTA's auditor reads a released taxpayer's history, signed on ``day`` (every read is logged)."""
    read = dc.inspection(auditor, view="taxpayer_history", subject_pseudonym=service.keys.pseudonym(tin),
                         role="oversight", purpose="TIGTA review of (i)(2) releases (fictional)",
                         seed=service.issue_seed(auditor.name, "inspection"))
    service.submit(dated(read, [auditor], day).note, read.openings)
