"""The prepared ledger the insider state machine starts every example from, and its principals.

One ledger (SQLite, with its sealed store and service keys in one directory) is written once
per session through the disclosure service, the way a deployment writes it, and each example
runs on a copy of that directory. Its genesis names each court's clerk and each agency's official
(an agency-anchored log: every key of DOJ/FBI or the IRS is countersigned by its official), so no
court or agency key is the administrator's alone. It holds, on DOJ/FBI requests with three recipient
slots each:

- ``held``: released in part, then put under a D. Mass. legal hold (its openings may not be erased);
- ``enjoined``: reviewed and attested, its release forbidden by a D. Mass. injunction;
- ``released``: one line released to slot 0; slots 0 and 1 attested by their own principals,
  slot 2 not attested;
- ``i1``: an (i)(1) request under an ex parte order of D. Mass. that names it, one line released;
- ``i5``: an (i)(5) request under an ex parte order that names it, matched but not reviewed and
  without its felony warrant;
- an ex parte order granted in advance for a request id not filed yet (``pregranted``), and, where
  the rules still accept one, a blanket (i)(1) ex parte order naming no request (``blanket``).

Every role of the policy has an honest principal, who does ordinary work, and a compromised
one (``EVIL``), whose key the machine signs with. The compromised court is another district's
(S.D. Tex.), so every order in the fixture is outside its authority; the compromised requester
filed the held and the enjoined requests; the compromised recipient holds slot 0 of every request.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger.authoring import disclosure as dc
from ledger.authoring.trust import key_registration, signed
from ledger.config import Settings
from ledger.core.keys import SignerKey
from ledger.domain.address import ADDRESS_RULES_VERSION
from ledger.domain.refusals import AppendRefused, RuleRefusal
from ledger.domain.service import DisclosureService
from ledger.policy import DEFAULT_POLICY
from ledger.rules.engine import RuleEngine, server_red_flags
from ledger.sealed import SealedKeys, SealedStore
from ledger.store.ledger import Ledger

ORIGIN = "ledger.insider.example/disclosures"
AGENCY = "DOJ/FBI"
OTHER_AGENCY = "DHS/ICE"
HOME_COURT = "D. Mass."
EVIL_COURT = "S.D. Tex."
CRIMINAL = "18 USC 1343"
FIELDS = ["name", "address"]
LINES = 4          # lines per fixture request: 0-2 approved, 3 refused
SLOTS = 3          # recipient slots per fixture request

ADMIN = ORIGIN + "/admin"
# Each court's clerk, named at genesis where the ledger knows clerks: the key that countersigns the
# registration of that court's judges.
CLERKS = {HOME_COURT: "uscourts.gov/clerk-mad", EVIL_COURT: "uscourts.gov/clerk-txsd"}
# Each agency's official, named at genesis where the ledger knows officials (an agency-anchored log): the
# key that countersigns the registration of every key of that agency.
OFFICIALS = {AGENCY: "fbi.gov/official", "IRS": "irs.gov/official"}
SLOT_PRINCIPALS = ("fbi.gov/agent-0", "fbi.gov/agent-1", "fbi.gov/agent-2")

# name -> (roles, attributes) of every principal the fixture registers
PRINCIPALS: dict[str, tuple[list[str], dict[str, Any]]] = {
    ORIGIN + "/admin-b": (["administrator"], {}),
    "doj.gov/aag-criminal": (["requester"], {"agency": AGENCY, "category": "doj_listed_official"}),
    "doj.gov/usa-massachusetts": (["requester"], {"agency": AGENCY, "category": "doj_listed_official"}),
    "irs.gov/reviewer-a": (["reviewer"], {"agency": "IRS"}),
    "irs.gov/reviewer-b": (["reviewer"], {"agency": "IRS"}),
    "irs.gov/reviewer-c": (["reviewer"], {"agency": "IRS"}),
    "irs.gov/releaser-a": (["releaser"], {"agency": "IRS"}),
    "irs.gov/releaser-c": (["releaser"], {"agency": "IRS"}),
    "irs.gov/matcher-a": (["matcher"], {"agency": "IRS"}),
    "irs.gov/matcher-c": (["matcher"], {"agency": "IRS"}),
    "uscourts.gov/mad-judge": (["court"], {"court": HOME_COURT}),
    "uscourts.gov/txsd-judge": (["court"], {"court": EVIL_COURT}),
    **{name: (["recipient"], {"agency": AGENCY}) for name in SLOT_PRINCIPALS},
    "tigta.gov/auditor-a": (["oversight"], {}),
    "tigta.gov/auditor-c": (["oversight"], {}),
    "ops.ledger.example/operator-a": (["operator"], {}),
    "ops.ledger.example/operator-c": (["operator"], {}),
    "irs.gov/importer-c": (["importer"], {"agency": "IRS"}),
}

# The compromised key of each role.
EVIL: dict[str, str] = {
    "administrator": ADMIN,
    "requester": "doj.gov/aag-criminal",
    "reviewer": "irs.gov/reviewer-c",
    "releaser": "irs.gov/releaser-c",
    "matcher": "irs.gov/matcher-c",
    "recipient": SLOT_PRINCIPALS[0],
    "court": "uscourts.gov/txsd-judge",
    "oversight": "tigta.gov/auditor-c",
    "operator": "ops.ledger.example/operator-c",
    "importer": "irs.gov/importer-c",
}

# The honest principals who keep the office running while the machine plays the insider.
HONEST = {
    "requester": "doj.gov/usa-massachusetts",
    "reviewer": "irs.gov/reviewer-a",      # reviews
    "documents": "irs.gov/reviewer-b",     # records supporting documents (never the one who approves)
    "releaser": "irs.gov/releaser-a",
    "matcher": "irs.gov/matcher-a",
    "court": "uscourts.gov/mad-judge",
    "oversight": "tigta.gov/auditor-a",
}


# Requests whose review is the compromised reviewer's assignment: the honest office does not review them.
ASSIGNED = {"req-i5": "irs.gov/reviewer-c"}


def accepts(function: Any, parameter: str) -> bool:
    return parameter in inspect.signature(function).parameters


def register(admin: SignerKey, key: SignerKey, roles: list[str], attributes: dict[str, Any],
             keys: dict[str, SignerKey]) -> str:
    """A registration countersigned the way the rules want it where they want it: a court key by its
    court's clerk; a key of an agency by its official (an agency-anchored log), else a recipient key by a
    key of its agency registered before it."""
    if not accepts(key_registration, "countersigners"):
        return key_registration(admin, key, roles, attributes)
    countersigners = []
    if "court" in roles and attributes.get("court") in CLERKS:
        countersigners.append(keys[CLERKS[attributes["court"]]])
    if attributes.get("agency") in OFFICIALS and OFFICIALS[attributes["agency"]] in keys:
        countersigners.append(keys[OFFICIALS[attributes["agency"]]])
    elif "recipient" in roles:
        countersigners.append(keys[HONEST["requester"]])
    return key_registration(admin, key, roles, attributes, countersigners)


def recipient_fields() -> set[str]:
    return {f.name for f in dataclasses.fields(dc.Recipient)}


def recipients(n: int = SLOTS, agency: str = AGENCY, principals: tuple[str, ...] = SLOT_PRINCIPALS,
               ) -> list[dc.Recipient]:
    """``n`` recipient slots, slot k for ``principals[k]``. A request body that names each slot's
    principal (when the client builder knows the field) names it; an older body leaves the principal
    to the fixture's own record (``SLOT_PRINCIPALS``)."""
    named = "principal" in recipient_fields()
    out = []
    for k in range(n):
        extra = {"principal": principals[k % len(principals)]} if named else {}
        out.append(dc.Recipient(f"Agent {k}", agency, True, True, 2, **extra))
    return out


@dataclass
class Prepared:
    """The prepared ledger's directory and everything the machine needs to act on a copy of it."""

    directory: Path
    sealed_keys: SealedKeys
    keys: dict[str, SignerKey]
    requests: dict[str, str]                 # label -> request id
    orders: dict[str, str]                   # label -> order id
    pregranted: str                          # the request id the pregranted order names
    commitments: dict[str, list[str]]        # request id -> commitments whose openings are sealed
    fixture_size: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)  # (what, rule) the fixture could not record

    def settings(self, directory: Path) -> Settings:
        return Settings(f"sqlite:///{directory / 'ledger.sqlite3'}", directory / "service-keys",
                        directory / "service-keys" / "last-checkpoint.txt")

    def copy_to(self, directory: Path) -> Settings:
        shutil.copytree(self.directory, directory)
        return self.settings(directory)


class Opened:
    """A ledger copy opened with its rules engine, sealed store and disclosure service."""

    def __init__(self, settings: Settings, sealed_keys: SealedKeys) -> None:
        self.ledger = Ledger(settings, rules=RuleEngine())
        self.sealed = SealedStore(settings.db_url, sealed_keys)
        self.service = DisclosureService(self.ledger, self.sealed, sealed_keys)

    def close(self) -> None:
        self.sealed.close()
        self.ledger.close()


def _submit(service: DisclosureService, sub: dc.Submission | str) -> Any:
    if isinstance(sub, str):
        return service.submit(sub)
    return service.submit(sub.note, sub.openings)


def match_submission(service: DisclosureService, matcher: SignerKey, request_id: str, n: int,
                     basis: tuple[str, ...] = ("address", "name", "tin"), usable: bool = True,
                     tins: list[str] | None = None) -> dc.Submission:
    """A match result of every line of a request, its taxpayer commitments salted from an issued seed. The
    requests here give every line a street address and the TIN ``9{k:08d}``: with ``usable`` and the
    default TINs the result is what the matcher would sign (the service re-derives those members);
    ``usable=False`` misreports the address, which the service blocks (``match.address_usable``)."""
    seed = service.issue_seed(matcher.name, "match_result")
    lines, openings = [], []
    for k in range(n):
        matched = bool(basis)
        taxpayer = None
        if matched:
            opening = seed.commit("tin", (tins or [])[k] if tins and k < len(tins) else f"9{k:08d}", k, 0)
            openings.append(opening)
            taxpayer = opening.commitment
        lines.append({"line": k, "matched": matched, "match_basis": sorted(basis),
                      "method": "+".join(sorted(b.upper() for b in basis)) or "NONE", "address_class": "street",
                      "address_usable": usable, "irs_address_differs": False, "taxpayer": taxpayer})
    body = {"request": request_id, "matcher_version": "insider-matcher-1",
            "address_rules_version": ADDRESS_RULES_VERSION, "lines": lines, "red_flags": []}
    return dc.Submission(signed([matcher], "match_result", body, seed.statement_id), tuple(openings),
                         seed.statement_id)


def request_submission(service: DisclosureService, signer: SignerKey, *, exception: str, statute: str | None,
                       purpose: str, court_order: str | None, n: int = LINES, slots: int = SLOTS,
                       agency: str = AGENCY, recipient_agency: str = AGENCY, statement_id: str | None = None,
                       principals: tuple[str, ...] = SLOT_PRINCIPALS) -> dc.Submission:
    seed = service.issue_seed(signer.name, "request", statement_id)
    tag = uuid.uuid4().hex[:6]
    return dc.request(signer, exception=exception, agency=agency, statute=statute, purpose=purpose,
                      purpose_text=f"fictional purpose {tag}", fields=FIELDS,
                      recipients=recipients(slots, recipient_agency, principals),
                      lines=[dc.Line(f"9{k:08d}", f"Fictional Person {tag} {k}", f"{k + 1} Elm St, Boston, MA 02110",
                                     ("2024",), f"open case {k}") for k in range(n)],
                      case_ids=[f"CASE-{tag}"], court_order=court_order, seed=seed)


def court_order_submission(service: DisclosureService, judge: SignerKey, kind: str, court: str,
                           covers: dict[str, list[str]], forbids: list[str],
                           statement_id: str | None = None) -> dc.Submission:
    seed = service.issue_seed(judge.name, "court_order", statement_id)
    return dc.court_order(judge, kind=kind, court=court, docket=f"1:26-cv-{uuid.uuid4().hex[:5]}", covers=covers,
                          forbids=forbids, seed=seed)


def review_submission(service: DisclosureService, reviewer: SignerKey, request_id: str,
                      decisions: list[tuple[int, str, str]]) -> dc.Submission:
    state = service.ledger.synced_rules().state
    flags = server_red_flags(state.requests[request_id]) if request_id in state.requests else []
    return dc.review(reviewer, request_id, decisions, flags)


def prepare(directory: Path) -> Prepared:
    """Write the prepared ledger under ``directory`` (which must not exist) and describe it."""
    directory.mkdir(parents=True)
    sealed_keys = SealedKeys.random()
    keys = {ADMIN: SignerKey.generate(ADMIN)}
    keys.update({name: SignerKey.generate(name) for name in PRINCIPALS})
    clerks = accepts(Ledger.initialise, "court_clerks")
    if clerks:
        keys.update({name: SignerKey.generate(name) for name in CLERKS.values()})
    officials = accepts(Ledger.initialise, "agency_officials")
    if officials:
        keys.update({name: SignerKey.generate(name) for name in OFFICIALS.values()})
    # Fixed ids, so that a derandomised run makes the same choices in every session.
    ids = {label: f"req-{label}" for label in ("held", "enjoined", "released", "i1", "i5")}
    pregranted = "req-pregranted"
    prepared = Prepared(directory, sealed_keys, keys, ids, {}, pregranted, {})
    settings = prepared.settings(directory)
    ledger = Ledger(settings, rules=RuleEngine())
    if clerks:
        anchors: dict[str, Any] = {"agency_officials": [(str(keys[name].verifier), agency)
                                                        for agency, name in OFFICIALS.items()]} if officials else {}
        ledger.initialise(ORIGIN, str(keys[ADMIN].verifier), DEFAULT_POLICY,
                          court_clerks=[(str(keys[name].verifier), court) for court, name in CLERKS.items()], **anchors)
    else:
        ledger.initialise(ORIGIN, str(keys[ADMIN].verifier), DEFAULT_POLICY)
    ledger.close()
    opened = Opened(settings, sealed_keys)
    service = opened.service
    k = keys.__getitem__
    try:
        for name, (roles, attributes) in PRINCIPALS.items():
            _submit(service, register(k(ADMIN), k(name), roles, attributes, keys))

        def record(label: str, sub: dc.Submission | str) -> bool:
            try:
                _submit(service, sub)
                return True
            except (RuleRefusal, AppendRefused) as e:
                prepared.refused.append((label, ",".join(getattr(e, "rules", [getattr(e, "rule", "?")]))))
                return False

        judge = k(HONEST["court"])
        _submit(service, dc.safeguard_status(k(HONEST["oversight"]), AGENCY, ssr_approved=True))
        for label, covers in (("i1", {"requests": [ids["i1"]]}), ("i5", {"requests": [ids["i5"]]}),
                              ("pregranted", {"requests": [pregranted]}),
                              ("blanket", {"exceptions": ["6103(i)(1)"]})):
            sub = court_order_submission(service, judge, "ex_parte_order", HOME_COURT, covers, [], f"order-{label}")
            if record(f"order {label}", sub):
                prepared.orders[label] = sub.statement_id
        filings = {
            "held": (EVIL["requester"], "6103(i)(2)", CRIMINAL, "criminal_investigation", None),
            "enjoined": (EVIL["requester"], "6103(i)(2)", CRIMINAL, "criminal_investigation", None),
            "released": (HONEST["requester"], "6103(i)(2)", CRIMINAL, "criminal_investigation", None),
            "i1": (HONEST["requester"], "6103(i)(1)", CRIMINAL, "criminal_investigation", prepared.orders["i1"]),
            "i5": (HONEST["requester"], "6103(i)(5)", None, "locate_fugitive", prepared.orders["i5"]),
        }
        for label, (signer, exception, statute, purpose, order) in filings.items():
            sub = request_submission(service, k(signer), exception=exception, statute=statute, purpose=purpose,
                                     court_order=order, statement_id=ids[label])
            _submit(service, sub)
            prepared.commitments[ids[label]] = [o.commitment for o in sub.openings]
            _submit(service, dc.recipient_attestation(k(SLOT_PRINCIPALS[0]), ids[label], 0))
            match = match_submission(service, k(HONEST["matcher"]), ids[label], LINES)
            _submit(service, match)
            prepared.commitments[ids[label]] += [o.commitment for o in match.openings]
        _submit(service, dc.recipient_attestation(k(SLOT_PRINCIPALS[1]), ids["released"], 1))
        decisions = [(0, "approve", "ok"), (1, "approve", "ok"), (2, "approve", "ok"), (3, "refuse", "no_match")]
        reviewer, releaser = k(HONEST["reviewer"]), k(HONEST["releaser"])
        for label in ("held", "enjoined", "released", "i1"):
            rev = review_submission(service, reviewer, ids[label], decisions)
            _submit(service, rev)
            if label != "enjoined":
                _submit(service, dc.release(releaser, ids[label], rev.statement_id, [0], FIELDS, [0],
                                            b"delivered " + label.encode()))
        hold = court_order_submission(service, judge, "legal_hold", HOME_COURT, {"requests": [ids["held"]]}, ["use"],
                                      "order-hold")
        _submit(service, hold)
        prepared.orders["hold"] = hold.statement_id
        injunction = court_order_submission(service, judge, "injunction", HOME_COURT,
                                            {"requests": [ids["enjoined"]]}, ["release"], "order-injunction")
        _submit(service, injunction)
        prepared.orders["injunction"] = injunction.statement_id
        prepared.fixture_size = service.ledger.size()
    finally:
        opened.close()
    return prepared


def clone(prepared: Prepared) -> Prepared:
    """A shallow copy whose mutable records an example may change without touching the session's."""
    return copy.copy(prepared)
