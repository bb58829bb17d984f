"""Scenario builder for § 6103 domain tests: principals with registered offices, and a
complete request -> match -> review -> release path for any exception in the catalog,
with hooks to remove one precondition at a time."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from ledger.authoring import disclosure as dc
from ledger.authoring.trust import key_registration
from ledger.config import Settings
from ledger.core.commitments import commit
from ledger.core.keys import SignerKey
from ledger.policy import DEFAULT_POLICY
from ledger.rules.catalog import CATALOG, STATUTES, ExceptionRule
from ledger.rules.engine import RuleEngine, server_red_flags
from ledger.salts import SaltSeed
from ledger.store.chain import Appended
from ledger.store.ledger import Ledger

ORIGIN = "ledger.test.example/disclosures"
AGENCY = "DHS/ICE"
CRIMINAL = "8 USC 1253(a)(1)"
CIVIL = "8 USC 1227(a)"
TAX = "26 USC 7201"
NON_TAX_CRIMINAL_FOR_TAX_TEST = "18 USC 1343"


COURTS = ("D. Mass.", "D.D.C.", "S.D. Tex.", "1st Cir.")  # each with a clerk's key named at genesis


@dataclass
class Domain:
    ledger: Ledger
    admin: SignerKey
    keys: dict[str, SignerKey] = field(default_factory=dict)
    clerks: dict[str, SignerKey] = field(default_factory=dict)  # court -> its clerk (genesis)
    agencies: dict[str, SignerKey] = field(default_factory=dict)  # agency -> a key of it that countersigns
    admins: list[SignerKey] = field(default_factory=list)  # administrators after the genesis one
    officials: dict[str, SignerKey] | None = None  # agency -> its official (an agency-anchored genesis)

    @property
    def engine(self) -> RuleEngine:
        return self.ledger.rules  # type: ignore[return-value]

    def principal(self, name: str, roles: list[str], **attributes: Any) -> SignerKey:
        """A key registered as the rules want it: a court key (its ``court`` defaults to D. Mass.)
        countersigned by its court's clerk; a key of an agency with an official (an agency-anchored
        genesis) by that official, else a recipient by a key of its agency (a liaison is registered
        first if the agency has none); an administrator by a second one."""
        key = SignerKey.generate(name)
        countersigners = []
        if "court" in roles:
            countersigners.append(self.clerks[attributes.setdefault("court", COURTS[0])])
        if self.officials is not None and attributes.get("agency") in self.officials:
            countersigners.append(self.officials[attributes["agency"]])
        elif "recipient" in roles:
            agency = attributes.get("agency", AGENCY)
            if agency not in self.agencies:
                slug = agency.replace("/", "-").lower()
                self.principal(f"liaison.{slug}.example.gov/officer", ["requester"], agency=agency, category="none")
            countersigners.append(self.agencies[agency])
        if "administrator" in roles and self.admins:
            countersigners.append(self.admins[0])
        self.ledger.append(key_registration(self.admin, key, roles, attributes, countersigners))
        self.keys[name] = key
        if isinstance(attributes.get("agency"), str) and "administrator" not in roles:
            self.agencies.setdefault(attributes["agency"], key)
        if "administrator" in roles:
            self.admins.append(key)
        return key

    def submit(self, sub: dc.Submission) -> Appended:
        return self.ledger.append(sub.note)

    def match_all(self, matcher: SignerKey, request_id: str, n: int, basis=("address", "name", "tin"),
                  address_class="street", usable=True) -> Appended:
        lines = [{"line": k, "matched": bool(basis), "match_basis": sorted(basis), "method": "+".join(
            sorted(b.upper() for b in basis)) or "NONE", "address_class": address_class, "address_usable": usable,
            "irs_address_differs": False, "taxpayer": commit("tin", f"9{k:08d}").commitment if basis else None}
            for k in range(n)]
        flags = [] if usable else ["placeholder_addresses"]
        body = {"request": request_id, "matcher_version": "test-matcher-1", "address_rules_version": "addr-test",
                "lines": lines, "red_flags": flags}
        from ledger.authoring.trust import signed

        return self.ledger.append(signed([matcher], "match_result", body))

    def recipient_key(self, agency: str = AGENCY) -> SignerKey:
        """The recipient principal of an agency that tests name in their requests' slots (registered once)."""
        name = f"recipient.{agency.replace('/', '-').lower()}.example.gov/officer"
        return self.keys.get(name) or self.principal(name, ["recipient"], agency=agency)

    def recipient(self, name: str = "Agent", agency: str = AGENCY, *args: Any, **kwargs: Any) -> dc.Recipient:
        """A recipient slot naming the agency's recipient principal (``recipient_key``)."""
        return dc.Recipient(name, agency, *args, principal=self.recipient_key(agency).name, **kwargs)

    def attest(self, request_id: str, recipient: int = 0, agency: str = AGENCY) -> None:
        """The named recipient signs their own attestation (the agency's recipient principal)."""
        self.submit(dc.recipient_attestation(self.recipient_key(agency), request_id, recipient))

    def flags(self, request_id: str) -> list[str]:
        return server_red_flags(self.engine.state.requests[request_id])


def one_line_request(signer: SignerKey, statute: str = CRIMINAL, tin: str = "900-70-0001",
                     name: str = "Fictional One", address: str = "1 Elm St, Boston, MA 02110",
                     seed: SaltSeed | None = None) -> dc.Submission:
    """A one-line (i)(2) request about a fictional person; with a civil statute the rules refuse it (blocked).
    ``seed``: the salt seed the ledger issued (the disclosure service refuses the request without one)."""
    return dc.request(signer, exception="6103(i)(2)", agency=AGENCY, statute=statute,
                      purpose="criminal_investigation", purpose_text="fictional purpose",
                      fields=["name", "address"], recipients=[dc.Recipient("Agent A", AGENCY, True, True, 2)],
                      lines=[dc.Line(tin, name, address, ("2024",), "open case")],
                      case_ids=["FICT-1"], court_order=None, seed=seed)


def http_seed(post: Any, signer: SignerKey, origin: str, statement_type: str = "request") -> SaltSeed | None:
    """The salt seed for a new statement of ``signer``, asked over HTTP (``post(path, json=...)``, e.g. a
    TestClient's or httpx's); None when the ledger refuses the seed request (an unknown key, say)."""
    import uuid

    from ledger.salts import open_seed_answer, seed_request

    r = post("/v1/salt-seeds", json={"request": seed_request(signer, origin, statement_type, str(uuid.uuid4()))})
    return open_seed_answer(signer, r.json()) if r.status_code == 201 else None


def open_domain(settings: Settings, agencies: tuple[str, ...] | None = None) -> Domain:
    """A new ledger with court clerks named at genesis; with ``agencies``, an official of each too (an
    agency-anchored log: every key of an agency is countersigned by a key of that agency)."""
    ledger = Ledger(settings, rules=RuleEngine())
    admin = SignerKey.generate(ORIGIN + "/admin")
    clerks = {court: SignerKey.generate(f"uscourts.gov/clerk-{k}") for k, court in enumerate(COURTS)}
    officials = None if agencies is None else {
        agency: SignerKey.generate(f"official.{agency.replace('/', '-').lower()}.example.gov/officer")
        for agency in agencies}
    ledger.initialise(ORIGIN, str(admin.verifier), DEFAULT_POLICY,
                      court_clerks=[(str(key.verifier), court) for court, key in clerks.items()],
                      agency_officials=None if officials is None else [
                          (str(key.verifier), agency) for agency, key in officials.items()])
    return Domain(ledger, admin, clerks=clerks, officials=officials)


def statute_for(rule: ExceptionRule) -> str | None:
    if rule.criminal_statute:
        return CRIMINAL
    if rule.tax_statute:
        return TAX
    return None


def run_exception(d: Domain, code: str, drop: str | None = None, lines: int = 3) -> dict[str, Any]:
    """File, match, review and release under `code`; `drop` removes one precondition.

    Returns the ids; a RuleRefusal propagates from the statement the rules refuse.
    """
    rule = CATALOG[code]
    category = "none" if drop == "requester_category" else sorted(rule.requester_categories)[0]
    requester = d.principal(f"req-{code}.example.gov/official", ["requester"], agency=AGENCY, category=category)
    reviewer = d.principal(f"irs.gov/reviewer-{code}", ["reviewer"], agency="IRS")
    releaser = d.principal(f"irs.gov/releaser-{code}", ["releaser"], agency="IRS")
    recorder = d.principal(f"irs.gov/documents-{code}", ["reviewer"], agency="IRS")  # not the approver
    matcher = d.principal(f"irs.gov/matcher-{code}", ["matcher"], agency="IRS")
    court = d.principal(f"uscourts.gov/judge-{code}", ["court"])
    oversight = d.principal(f"tigta.gov/auditor-{code}", ["oversight"])
    order_id = None
    request_id = f"request-{uuid.uuid4()}"  # an ex parte order names the request it grants
    if rule.court_order and drop != "court_order":
        order = dc.court_order(court, kind="ex_parte_order", court="D. Mass.", docket="1:25-mj-0001",
                               covers={"requests": [request_id]}, forbids=[])
        d.submit(order)
        order_id = order.statement_id
    statute = statute_for(rule)
    if drop == "criminal_statute":
        statute = CIVIL
    if drop == "tax_statute":
        statute = NON_TAX_CRIMINAL_FOR_TAX_TEST
    purpose = "civil_enforcement" if drop == "purpose" else sorted(rule.purposes)[0]
    recipient_agency = "DOJ/OTHER" if drop == "recipients_same_agency" else AGENCY
    attested = drop != "recipient_attestation"
    the_lines = [dc.Line(f"9{k:08d}", f"Fictional Person {k}",
                         None if (drop == "address_per_line" and k == 1)
                         else f"{100 + k} Main St, Springfield, IL 62701",
                         ("2024",), f"reason {k}") for k in range(lines)]
    req = dc.request(requester, exception=code, agency=AGENCY, statute=statute, purpose=purpose,
                     purpose_text="demo purpose", fields=["name", "address"],
                     recipients=[d.recipient("Agent One", recipient_agency, attested, attested, 3)],
                     lines=the_lines, case_ids=["case-1"], court_order=order_id, statement_id=request_id)
    d.submit(req)
    if rule.recipient_attestation:
        d.attest(req.statement_id)
    d.match_all(matcher, req.statement_id, lines)
    for doc in sorted(rule.documents):
        if drop != f"document:{doc}":
            d.submit(dc.supporting_document(recorder, req.statement_id, doc, f"{doc}-document".encode()))
    if rule.safeguards and drop != "safeguards":
        d.submit(dc.safeguard_status(oversight, AGENCY, ssr_approved=True))
    rev = dc.review(reviewer, req.statement_id, [(k, "approve", "ok") for k in range(lines)],
                    d.flags(req.statement_id))
    d.submit(rev)
    rel = dc.release(releaser, req.statement_id, rev.statement_id, list(range(lines)), ["name", "address"], [0],
                     b"delivered file")
    d.submit(rel)
    return {"request": req.statement_id, "review": rev.statement_id, "release": rel.statement_id,
            "keys": {"requester": requester, "reviewer": reviewer, "releaser": releaser, "matcher": matcher,
                     "court": court, "oversight": oversight}}


assert all(s in STATUTES for s in (CRIMINAL, CIVIL, TAX, NON_TAX_CRIMINAL_FOR_TAX_TEST))
