"""The exception catalog and the statute catalog, as data.

Each exception lists the preconditions a release under it must meet; each precondition
is a named check in ``ledger.rules.engine``. ``LAW_VERSION`` names the text encoded here
(domain-6103.md: an early-2023 OLRC snapshot of 26 U.S.C. § 6103, with 2025–2026 case law
marked UNVERIFIED where it is). Changing a rule means changing this data and its version:
each review records the version it was checked against (and must match the engine's).
"""

from __future__ import annotations

from dataclasses import dataclass, field

LAW_VERSION = "6103-olrc-2023+dl-2026.1"

# Requester categories come from the signer's key registration attributes ("category"),
# recorded by an administrator — never from the request itself.
AGENCY_HEAD = "agency_head"
INSPECTOR_GENERAL = "inspector_general"
DOJ_LISTED = "doj_listed_official"
PRESIDENT = "president"
COMMITTEE_CHAIR = "committee_chair"
JCT_CHIEF_OF_STAFF = "jct_chief_of_staff"
STATE_TAX_HEAD = "state_tax_head"
TREASURY_EMPLOYEE = "treasury_employee"
TAXPAYER_DESIGNEE = "taxpayer_designee"
PROGRAM_AGENCY = "program_agency"
IRS_OFFICIAL = "irs_official"
LAW_ENFORCEMENT_HEAD = "law_enforcement_head"

PURPOSE_CRIMINAL = "criminal_investigation"
PURPOSE_TAX_ADMIN = "tax_administration"
PURPOSE_STATE_TAX = "state_tax_administration"
PURPOSE_LOCATE_FUGITIVE = "locate_fugitive"
PURPOSE_TERRORISM = "terrorism"
PURPOSE_OVERSIGHT = "congressional_oversight"
PURPOSE_CONSENT = "taxpayer_consent"
PURPOSE_BENEFITS = "program_eligibility"
PURPOSE_OFFSET = "debt_offset"
PURPOSE_MAILING = "mailing_address"
PURPOSE_EMERGENCY = "emergency"
PURPOSE_CIVIL = "civil_enforcement"
PURPOSE_PRESIDENTIAL = "presidential_request"


@dataclass(frozen=True)
class Statute:
    """A statute a request may cite; the catalog says whether it is a non-tax criminal provision."""

    cite: str
    criminal: bool
    tax: bool
    title: str


STATUTES: dict[str, Statute] = {s.cite: s for s in [
    Statute("8 USC 1253(a)(1)", True, False, "Failure to depart after a final removal order (criminal penalty)"),
    Statute("8 USC 1326", True, False, "Reentry of removed aliens"),
    Statute("8 USC 1324", True, False, "Bringing in and harboring certain aliens"),
    Statute("18 USC 1546", True, False, "Fraud and misuse of visas, permits, and other documents"),
    Statute("18 USC 1343", True, False, "Wire fraud"),
    Statute("18 USC 1956", True, False, "Laundering of monetary instruments"),
    Statute("18 USC 2339B", True, False, "Material support to designated foreign terrorist organizations"),
    Statute("21 USC 841", True, False, "Controlled substances: prohibited acts"),
    Statute("8 USC 1227(a)", False, False, "Deportable aliens (civil removal ground)"),
    Statute("8 USC 1229a", False, False, "Removal proceedings (civil)"),
    Statute("8 USC 1231", False, False, "Detention and removal of aliens ordered removed (civil)"),
    Statute("26 USC 7201", True, True, "Attempt to evade or defeat tax"),
    Statute("26 USC 7206", True, True, "Fraud and false statements (tax)"),
    Statute("26 USC 6501", False, True, "Limitations on assessment (tax)"),
]}


@dataclass(frozen=True)
class ExceptionRule:
    """One § 6103 exception: who may ask, why, for what, and what must exist before release."""

    code: str
    title: str
    requester_categories: frozenset[str]
    purposes: frozenset[str]
    allowed_fields: frozenset[str]
    criminal_statute: bool = False          # cited statute must be a non-tax criminal provision
    tax_statute: bool = False               # cited statute must be a tax provision
    court_order: bool = False               # an ex parte court order covering the request
    documents: frozenset[str] = frozenset()  # supporting documents recorded before release
    address_per_line: bool = False          # each line must carry a usable requester-supplied address
    recipient_attestation: bool = False     # recipients personally and directly engaged, solely for use
    recipients_same_agency: bool = False    # recipients belong to the requesting agency
    safeguards: bool = False                # § 6103(p)(4) recipient safeguards apply
    accounting_required: bool = True        # § 6103(p)(3)(A) accounting
    notes: tuple[str, ...] = field(default=())

    def preconditions(self) -> list[str]:
        """Named preconditions of this exception, in the order they are checked."""
        names = ["requester_category", "purpose"]
        if self.criminal_statute:
            names.append("criminal_statute")
        if self.tax_statute:
            names.append("tax_statute")
        if self.court_order:
            names.append("court_order")
        names.extend(f"document:{d}" for d in sorted(self.documents))
        if self.address_per_line:
            names.append("address_per_line")
        if self.recipient_attestation:
            names.append("recipient_attestation")
        if self.recipients_same_agency:
            names.append("recipients_same_agency")
        if self.safeguards:
            names.append("safeguards")
        return names


IDENTITY = frozenset({"name", "address", "tin"})
NON_TRI = frozenset({"name", "address", "tin", "non_tri"})
RETURN = frozenset({"name", "address", "tin", "non_tri", "return", "tri"})

CATALOG: dict[str, ExceptionRule] = {r.code: r for r in [
    ExceptionRule("6103(c)", "Taxpayer's designee or consent", frozenset({TAXPAYER_DESIGNEE}),
                  frozenset({PURPOSE_CONSENT}), RETURN, documents=frozenset({"consent"}),
                  accounting_required=False),
    ExceptionRule("6103(d)", "State tax officials", frozenset({STATE_TAX_HEAD}), frozenset({PURPOSE_STATE_TAX}),
                  RETURN, documents=frozenset({"state_agreement"}), safeguards=True),
    ExceptionRule("6103(f)", "Committees of Congress", frozenset({COMMITTEE_CHAIR, JCT_CHIEF_OF_STAFF}),
                  frozenset({PURPOSE_OVERSIGHT}), RETURN, documents=frozenset({"closed_session"})),
    ExceptionRule("6103(g)(1)", "The President", frozenset({PRESIDENT}), frozenset({PURPOSE_PRESIDENTIAL}),
                  RETURN, documents=frozenset({"personal_signature"}), address_per_line=True,
                  notes=("recipients must be named in the request",)),
    ExceptionRule("6103(h)(2)", "DOJ, tax administration proceedings", frozenset({DOJ_LISTED}),
                  frozenset({PURPOSE_TAX_ADMIN}), RETURN, tax_statute=True, documents=frozenset({"tax_matter"})),
    ExceptionRule("6103(h)(3)", "DOJ, tax administration (referral)", frozenset({DOJ_LISTED, IRS_OFFICIAL}),
                  frozenset({PURPOSE_TAX_ADMIN}), RETURN, tax_statute=True, documents=frozenset({"irs_referral"})),
    ExceptionRule("6103(i)(1)", "Non-tax criminal: ex parte court order", frozenset({DOJ_LISTED}),
                  frozenset({PURPOSE_CRIMINAL}), RETURN, criminal_statute=True, court_order=True,
                  recipient_attestation=True, recipients_same_agency=True, safeguards=True),
    ExceptionRule("6103(i)(2)", "Non-tax criminal: written request for non-TRI",
                  frozenset({AGENCY_HEAD, INSPECTOR_GENERAL, DOJ_LISTED}), frozenset({PURPOSE_CRIMINAL}), NON_TRI,
                  criminal_statute=True, address_per_line=True, recipient_attestation=True,
                  recipients_same_agency=True, safeguards=True),
    ExceptionRule("6103(i)(3)", "IRS-initiated disclosure of non-TRI", frozenset({IRS_OFFICIAL}),
                  frozenset({PURPOSE_CRIMINAL, PURPOSE_EMERGENCY}), NON_TRI, safeguards=True),
    ExceptionRule("6103(i)(5)", "Locating fugitives: ex parte court order", frozenset({DOJ_LISTED}),
                  frozenset({PURPOSE_LOCATE_FUGITIVE}), RETURN, court_order=True,
                  documents=frozenset({"felony_warrant"}), recipient_attestation=True, safeguards=True),
    ExceptionRule("6103(i)(7)", "Terrorism", frozenset({LAW_ENFORCEMENT_HEAD, DOJ_LISTED}),
                  frozenset({PURPOSE_TERRORISM}), NON_TRI, criminal_statute=True, recipient_attestation=True,
                  safeguards=True),
    ExceptionRule("6103(k)(3)", "Disclosure to correct misstatement (JCT approval)", frozenset({IRS_OFFICIAL}),
                  frozenset({PURPOSE_TAX_ADMIN}), RETURN, documents=frozenset({"jct_approval"})),
    ExceptionRule("6103(l)(7)", "Federal, state and local benefit programs", frozenset({PROGRAM_AGENCY}),
                  frozenset({PURPOSE_BENEFITS}), frozenset({"name", "address", "tin", "income"}), safeguards=True,
                  accounting_required=False),
    ExceptionRule("6103(l)(10)", "Debt offset", frozenset({PROGRAM_AGENCY}), frozenset({PURPOSE_OFFSET}),
                  frozenset({"name", "address", "tin", "offset"}), safeguards=True, accounting_required=False),
    ExceptionRule("6103(m)", "Taxpayer identity and mailing address", frozenset({AGENCY_HEAD, PROGRAM_AGENCY}),
                  frozenset({PURPOSE_MAILING}), frozenset({"name", "address", "tin"}), accounting_required=False),
]}
