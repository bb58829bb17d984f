"""Plain-language labels for the codes the pages show: exceptions, purposes, requester categories,
red flags, refusal reasons, rule ids, statement types, released fields, address classes and views.

A page shows the label and keeps the code within reach: ``coded(kind, code)`` is the label with the
code on hover (``title``) and, for exceptions and rule ids (the codes an auditor cites), the code
beside it in a ``<code class="code">``. A code without a label of its own (a reviewer's own red flag,
a rule added later) is spelled out from its words, so no raw code reaches a page; the CSV downloads
keep the codes, as the API does.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from ledger.rules import catalog

EXCEPTIONS = {code: rule.title for code, rule in catalog.CATALOG.items()}

PURPOSES = {
    catalog.PURPOSE_CRIMINAL: "Criminal investigation",
    catalog.PURPOSE_TAX_ADMIN: "Tax administration",
    catalog.PURPOSE_STATE_TAX: "State tax administration",
    catalog.PURPOSE_LOCATE_FUGITIVE: "Locating a fugitive",
    catalog.PURPOSE_TERRORISM: "Terrorism investigation",
    catalog.PURPOSE_OVERSIGHT: "Congressional oversight",
    catalog.PURPOSE_CONSENT: "Taxpayer's consent",
    catalog.PURPOSE_BENEFITS: "Benefit program eligibility",
    catalog.PURPOSE_OFFSET: "Debt offset",
    catalog.PURPOSE_MAILING: "Mailing address",
    catalog.PURPOSE_EMERGENCY: "Emergency (danger of death or injury)",
    catalog.PURPOSE_CIVIL: "Civil enforcement",
    catalog.PURPOSE_PRESIDENTIAL: "Request of the President",
}

CATEGORIES = {
    catalog.AGENCY_HEAD: "Head of an agency",
    catalog.INSPECTOR_GENERAL: "Inspector general",
    catalog.DOJ_LISTED: "Listed Department of Justice official",
    catalog.PRESIDENT: "The President",
    catalog.COMMITTEE_CHAIR: "Chair of a congressional committee",
    catalog.JCT_CHIEF_OF_STAFF: "Chief of staff, Joint Committee on Taxation",
    catalog.STATE_TAX_HEAD: "Head of a state tax agency",
    catalog.TREASURY_EMPLOYEE: "Treasury employee",
    catalog.TAXPAYER_DESIGNEE: "Taxpayer's designee",
    catalog.PROGRAM_AGENCY: "Benefit program agency",
    catalog.IRS_OFFICIAL: "IRS official",
    catalog.LAW_ENFORCEMENT_HEAD: "Head of a law enforcement agency",
}

RED_FLAGS = {
    "placeholder_addresses": "Placeholder addresses (e.g. \"unknown\") on request lines",
    "requester_address_differs": "The requester's address differs from the IRS's",
    "boilerplate_reasons": "The same reason given for most lines",
    "bulk_request": "Bulk request (many lines)",
    "implausible_caseload": "Implausible caseload for a recipient said to be personally engaged",
    "civil_purpose_under_criminal_authority": "Civil statute cited under a criminal-investigation exception",
    "resubmission": "Resubmission of a refused or returned request",
    "tin_only_match": "Lines matched on the TIN alone",
    "unusable_address": "Lines without a usable address",
}

REASONS = {  # a review's reasons for refusing (or approving) a line
    "ok": "Meets the exception's requirements",
    "address_unusable": "No usable address supplied",
    "tin_only_match": "Matched on the TIN alone",
    "not_matched": "Not matched to a taxpayer",
    "unmatched": "Not matched to a taxpayer",
}

STATEMENTS = {
    "request": "Request", "withdrawal": "Withdrawal", "match_result": "Match result", "review": "Review",
    "release": "Release", "receipt": "Receipt", "court_order": "Court order", "vacatur": "Vacatur of a court order",
    "supporting_document": "Supporting document", "recipient_attestation": "Recipient's attestation",
    "return_for_correction": "Return for correction", "safeguard_status": "Safeguard status",
    "inspection": "Inspection", "correction": "Correction", "disposition": "Disposition",
    "use_freeze": "Use freeze", "erasure": "Erasure", "hold": "Hold", "chunk": "Bulk chunk",
    "key_registration": "Key registration", "key_rotation": "Key rotation", "key_revocation": "Key revocation",
    "policy": "Policy", "legacy_release": "Release before the ledger (imported)",
}

FIELDS = {"name": "name", "address": "address", "tin": "TIN", "non_tri": "non-return information",
          "tri": "return information", "return": "return", "income": "income", "offset": "offset"}

ADDRESS_CLASSES = {
    "street": "street address", "po_box": "PO box", "rural_route": "rural route", "military": "military address",
    "pr_urbanization": "Puerto Rico urbanization address", "missing": "missing", "placeholder": "placeholder",
    "junk": "not an address", "zip_only": "ZIP code only", "city_only": "city only", "street_only": "street only",
    "facility_only": "facility only", "foreign_or_unparseable": "foreign or unreadable",
}

VIEWS = {"taxpayer_history": "taxpayer history"}

STATUTES = {cite: statute.title for cite, statute in catalog.STATUTES.items()}

# What each rule checks, by its family (the part before the dot) and, where it says more, in full.
RULE_FAMILIES = {
    "request": "Request", "ref": "Reference", "sod": "Separation of duties", "match": "Match",
    "review": "Review", "release": "Release", "attestation": "Recipient attestation", "bulk": "Bulk request",
    "court_order": "Court order", "vacatur": "Vacatur", "erasure": "Erasure", "hold": "Hold",
    "policy": "Policy", "trust": "Key registry", "registration": "Key registration", "rotation": "Key rotation",
    "revocation": "Key revocation", "salts": "Salts", "statement": "Statement", "return": "Return for correction",
    "openings": "Openings", "ledger": "Ledger",
}
RULES = {
    "request.exception_unknown": "The exception cited is not in the catalog",
    "request.single_signer": "A request has one signer",
    "request.agency": "The signer's agency is the requesting agency",
    "request.recipient_principal": "Each recipient is a registered principal",
    "request.recipients_distinct": "Recipients are distinct",
    "request.returned": "The request was returned for correction",
    "request.withdrawn": "The request was withdrawn",
    "ref.request": "Refers to a request in the log",
    "ref.release": "Refers to a release in the log",
    "ref.order": "Refers to a court order in the log",
    "ref.resubmits": "Resubmits a request in the log",
    "ref.corrects": "Corrects a statement in the log",
    "sod.reviewer_is_requester": "The reviewer is not the requester",
    "sod.releaser": "The releaser is neither requester nor reviewer",
    "sod.document": "Documents approved by someone else",
    "sod.document_approver": "The document approver is not the releaser",
    "sod.withdrawal": "Only the requester withdraws",
    "sod.return": "Only the reviewer returns a request",
    "match.consistent": "The match is consistent",
    "match.address_basis": "An address match has an address",
    "match.rules_version": "The match uses this ledger's address rules",
    "match.address_class": "The matcher classed the requested address truly",
    "match.address_usable": "The matcher judged the address's usability truly",
    "match.basis_tin": "The matcher's TIN basis is the requester's TIN",
    "match.address_compared": "Only a usable address is compared",
    "match.address_unusable": "No usable address on an approved line",
    "match.tin_only": "An approved line matched on the TIN alone",
    "match.unmatched": "An approved line was not matched",
    "match.already_matched": "The request was matched already",
    "match.lines": "The match covers the request's lines",
    "review.already_reviewed": "The request was reviewed already",
    "review.not_matched": "Reviewed before it was matched",
    "review.lines": "The review covers the request's lines",
    "review.law_version": "The review names the rules' law version",
    "review.red_flags": "The review logs the server's red flags",
    "release.not_reviewed": "Released before it was reviewed",
    "release.unapproved_lines": "Releases lines the review did not approve",
    "release.already_released": "Releases lines already released",
    "release.recipients": "Releases to the request's recipients",
    "release.request_version": "The release matches the request's version",
    "release.attestation_revoked": "A recipient's attestation was revoked",
    "release.lines": "The release names its lines",
    "attestation.recipient": "The attesting recipient is named in the request",
    "attestation.principal": "The attestation is signed by the recipient named in the request",
    "attestation.agency": "The recipient belongs to the agency",
    "attestation.incomplete": "Every named recipient attests before release",
    "hold.active": "A hold (e.g. an injunction) stops the release",
    "hold.erasure": "A hold stops the erasure",
    "court_order.court": "The order is signed by a court",
    "court_order.ex_parte_scope": "The order covers the request",
    "vacatur.already": "The order was vacated already",
    "vacatur.court": "Vacated by the court that issued it",
    "erasure.second_administrator": "An erasure needs a second administrator",
    "erasure.not_owned": "Erases only the request's own commitments",
    "policy.second_administrator": "A policy needs a second administrator",
    "revocation.second_administrator": "A revocation needs a second administrator",
}
PRECONDITIONS = {  # <exception>.<precondition>
    "requester_category": "The requester's category may use this exception",
    "purpose": "The purpose is one this exception allows",
    "criminal_statute": "Cites a non-tax criminal statute",
    "tax_statute": "Cites a tax statute",
    "court_order": "An ex parte court order covers it",
    "address_per_line": "Each line carries a usable address",
    "recipient_attestation": "Recipients attest personal and direct engagement",
    "recipients_same_agency": "Recipients belong to the requesting agency",
    "safeguards": "The recipient's safeguards are approved",
    "fields": "Only the fields this exception allows",
}
DOCUMENTS = {
    "consent": "the taxpayer's consent", "state_agreement": "a state agreement", "closed_session": "a closed session",
    "personal_signature": "the President's personal signature", "tax_matter": "a tax matter",
    "irs_referral": "an IRS referral", "felony_warrant": "a felony warrant", "jct_approval": "JCT approval",
}

KINDS = {"exception": EXCEPTIONS, "purpose": PURPOSES, "category": CATEGORIES, "flag": RED_FLAGS,
         "reason": REASONS, "statement": STATEMENTS, "field": FIELDS, "address": ADDRESS_CLASSES,
         "view": VIEWS, "statute": STATUTES}


def spelled(code: str) -> str:
    """A code without a label of its own, in words: ``foo_bar`` → ``Foo bar``."""
    words = code.replace("_", " ").replace(".", ": ").strip()
    return words[:1].upper() + words[1:] if words else code


def rule_label(rule: str) -> str:
    """What a rule id checks, in words."""
    if rule in RULES:
        return RULES[rule]
    head, _, tail = rule.partition(".")
    if head in catalog.CATALOG:
        if tail.startswith("document:"):
            kind = tail.split(":", 1)[1]
            return f"A supporting document is recorded: {DOCUMENTS.get(kind, spelled(kind).lower())}"
        return PRECONDITIONS.get(tail, spelled(tail))
    family = RULE_FAMILIES.get(head)
    return f"{family}: {spelled(tail).lower()}" if family and tail else spelled(rule)


def label(kind: str, code: str | None) -> str:
    """The plain-language label of ``code`` of ``kind`` (kinds: ``KINDS`` and ``rule``)."""
    if code is None or code == "":
        return "—"
    if kind == "rule":
        return rule_label(code)
    found = KINDS[kind].get(code)
    return found if found is not None else spelled(code)


def coded(kind: str, code: str | None) -> Markup:
    """The label with the code on hover; exceptions, statutes and rule ids also show their code beside it."""
    if code is None or code == "":
        return Markup("—")
    text = label(kind, code)
    out = f'<span class="coded" title="{escape(code)}">{escape(text)}</span>'
    if kind in ("exception", "statute", "rule"):
        out += f' <code class="code">{escape(code)}</code>'
    return Markup(out)  # noqa: S704 - the label and the code went through escape()


def coded_list(kind: str, codes: list[str] | tuple[str, ...] | None, sep: str = "; ") -> Markup:
    """Several codes, each as ``coded``."""
    if not codes:
        return Markup("—")
    return escape(sep).join(coded(kind, c) for c in codes)  # Markup.join: each part is escaped or Markup


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 request line``, ``2 request lines``."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def all_codes() -> set[str]:
    """Every code a label here covers (for the test that no raw code reaches a page)."""
    codes: set[str] = set()
    for kind, table in KINDS.items():
        if kind != "field":  # "name", "address": plain words
            codes.update(table)
    codes.update(RULES)
    for code, rule in catalog.CATALOG.items():
        codes.update(f"{code}.{p}" for p in rule.preconditions())
        codes.add(f"{code}.fields")
    return codes
