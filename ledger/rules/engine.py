"""The rules engine: deny by default, every refusal named.

Runs inside the appending transaction (docs/FORMAT.md § 7.3) with the trust state and the
domain state as of that index. Each check returns (rule id, explanation); any violation
turns the statement into a ledger-signed `blocked` entry. Rule ids are
``<exception>.<precondition>`` for catalog preconditions (e.g. ``6103(i)(2).criminal_statute``)
and ``<area>.<rule>`` for the rules every release obeys (``sod.*``, ``match.*``, ``hold.*``).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from ledger.core.lines import CHUNK_LINES, item_leaf
from ledger.core.statement import Statement
from ledger.core.trust import TrustState
from ledger.domain.schemas import REQUEST_VERSION, check_body, request_version
from ledger.domain.state import (
    BASIS_BITS,
    DOMAIN_TYPES,
    M_ADDRESS,
    M_MATCHED,
    M_NAME,
    M_USABLE,
    DomainState,
    RequestFacts,
)
from ledger.rules.authority import AuthorityChecks
from ledger.rules.catalog import CATALOG, LAW_VERSION, STATUTES, ExceptionRule

Violation = tuple[str, str]
# The body members by which a statement names another statement (legacy.final looks at each).
REF_FIELDS = ("request", "review", "release", "corrects", "resubmits", "court_order", "order", "of")
BULK_LINES = 100          # red flag: a request naming this many taxpayers or more
CASELOAD_LIMIT = 150      # red flag: "personally and directly engaged" in more matters than this


@dataclass(frozen=True)
class Thresholds:
    bulk_lines: int = BULK_LINES
    caseload_limit: int = CASELOAD_LIMIT


def signer_attributes(trust: TrustState, name: str, index: int) -> dict[str, Any]:
    record = trust.active(name, index)
    return dict(record.attributes) if record else {}


def server_red_flags(req: RequestFacts, thresholds: Thresholds = Thresholds()) -> list[str]:
    """Red flags the server computes for a request (the reviewer must log exactly these)."""
    body = req.body
    flags = set(req.match_flags)
    if req.line_count >= thresholds.bulk_lines:
        flags.add("bulk_request")
    if any(r["caseload"] > thresholds.caseload_limit and r["personally_and_directly_engaged"]
           for r in body["recipients"]):
        flags.add("implausible_caseload")
    statute = STATUTES.get(body["statute"] or "")
    rule = CATALOG.get(body["exception"])
    if rule is not None and rule.criminal_statute and (statute is None or not statute.criminal):
        flags.add("civil_purpose_under_criminal_authority")
    if body["resubmits"]:
        flags.add("resubmission")
    if req.tin_only_lines:
        flags.add("tin_only_match")
    if req.unusable_lines:
        flags.add("unusable_address")
    return sorted(flags)


class RuleEngine(AuthorityChecks):
    """Replays the domain facts and checks each new statement against them (the authority checks —
    courts, registrations, policy, erasures, supporting documents — are in ledger.rules.authority)."""

    types = DOMAIN_TYPES

    def __init__(self, thresholds: Thresholds = Thresholds()) -> None:
        self.thresholds = thresholds
        self.state = DomainState()

    def reset(self) -> None:
        self.state = DomainState()

    def apply(self, stmt: Statement, index: int, trust: TrustState) -> None:
        if stmt.type in DOMAIN_TYPES:
            self.state.apply(stmt, index)
        if stmt.type == "recipient_attestation":
            # Which key signed it: a release counts the attestation only while that key is the
            # principal's valid key (not once it is revoked or rotated away).
            record = trust.active(stmt.signers[0], index)
            if record is not None:
                body = stmt.envelope["body"]
                self.state.requests[body["request"]].attested_keys[body["recipient"]] = record.key.public_key

    def refers_to(self, stmt: Statement) -> str | None:
        """The request a statement is about (for a `blocked` entry's ``refers_to``), if any."""
        body = stmt.envelope["body"]
        if stmt.type == "chunk":
            bulk = self.state.bulk.get(body.get("of", ""))
            return bulk.request if bulk is not None else None
        if stmt.type == "request":
            return body.get("resubmits") if isinstance(body.get("resubmits"), str) else None
        ref = body.get("request")
        return ref if isinstance(ref, str) else None

    def check_schema(self, stmt: Statement) -> None:
        """Malformed bodies are refused outright (nothing stored)."""
        check_body(stmt.type, stmt.envelope["body"])

    def check(self, stmt: Statement, index: int, trust: TrustState) -> list[Violation]:
        final = self._imported_refs(stmt)
        if final:
            return final
        method = getattr(self, f"_check_{stmt.type}", None)
        if method is None:
            return []
        return method(stmt, index, trust)  # type: ignore[no-any-return]

    # ---- the accounting from before the ledger ------------------------------------------
    def _imported_refs(self, stmt: Statement) -> list[Violation]:
        """Nothing builds on an imported record: no statement names a legacy_release as the request,
        review, release, order or statement it is about (its lines were released before the ledger)."""
        if not self.state.imported or stmt.type not in DOMAIN_TYPES:
            return []
        body = stmt.envelope["body"]
        named = [body.get(k) for k in REF_FIELDS]
        covers = body.get("covers") if stmt.type == "court_order" else None
        if isinstance(covers, dict) and isinstance(covers.get("requests"), list):
            named.extend(covers["requests"])
        hit = next((ref for ref in named if isinstance(ref, str) and ref in self.state.imported), None)
        if hit is None:
            return []
        return [("legacy.final", f"{hit} is an imported record of a disclosure made before the ledger "
                                 f"(entry {self.state.imported[hit]}): nothing may refer to it")]

    def _check_legacy_release(self, stmt: Statement, index: int, trust: TrustState) -> list[Violation]:
        body = stmt.envelope["body"]
        out: list[Violation] = []
        importers = {n for n in stmt.signers if self._has_role(trust, n, index, "importer")}
        overseers = {n for n in stmt.signers
                     if n not in importers and self._has_role(trust, n, index, "oversight")}
        if not importers or not overseers:
            out.append(("legacy.countersign", "an imported record is signed by an importer and countersigned "
                                              "by an oversight principal (another key)"))
        others = set(stmt.signers) - importers - overseers
        if others:
            out.append(("legacy.countersign", f"{sorted(others)[0]} is neither an importer nor an oversight "
                                              "principal: only they sign an imported record"))
        cutover = trust.legacy_cutover
        if cutover is None:
            out.append(("legacy.after_cutover", "the policy in force sets no legacy_cutover: no disclosure "
                                                "can be imported"))
        elif body["disclosed_on"] >= cutover:
            out.append(("legacy.after_cutover", f"disclosed on {body['disclosed_on']}, not before the policy's "
                                                f"cutover {cutover}: the ledger records those itself"))
        return out

    @staticmethod
    def _has_role(trust: TrustState, name: str, index: int, role: str) -> bool:
        record = trust.active(name, index)
        return record is not None and role in record.roles

    # ---- helpers ---------------------------------------------------------------
    def _request(self, request_id: str, out: list[Violation]) -> RequestFacts | None:
        req = self.state.requests.get(request_id)
        if req is None:
            out.append(("ref.request", f"no request {request_id} in the log"))
        elif req.withdrawn:
            out.append(("request.withdrawn", f"request {request_id} was withdrawn"))
        elif req.returned is not None:
            out.append(("request.returned", f"request {request_id} was returned for correction (entry "
                                            f"{req.returned}); file a corrected request that resubmits it"))
        elif not req.complete:
            out.append(("bulk.incomplete", f"request {request_id} is missing chunks: it is filed at its last chunk"))
        return req

    @staticmethod
    def _line_numbers(kind: str, body: dict[str, Any], req: RequestFacts, out: list[Violation]) -> None:
        """A match result or review covers every line of the request exactly once."""
        bulk = body.get("bulk")
        if bulk is not None:
            ok = bulk["line_count"] == req.line_count
        else:
            ok = sorted(line["line"] for line in body["lines"]) == list(range(req.line_count))
        if not ok:
            rule = "match.lines" if kind == "match_result" else "review.lines"
            out.append((rule, f"a {kind} covers every line 0..{req.line_count - 1} exactly once"))

    # ---- request -------------------------------------------------------------------
    def _check_request(self, stmt: Statement, index: int, trust: TrustState) -> list[Violation]:
        body = stmt.envelope["body"]
        out: list[Violation] = []
        rule = CATALOG.get(body["exception"])
        if rule is None:
            return [("request.exception_unknown",
                     f"{body['exception']!r} is not in the exception catalog ({LAW_VERSION}): deny by default")]
        if len(stmt.signers) != 1:
            out.append(("request.single_signer", "a request is signed by the requesting official alone"))
        attrs = signer_attributes(trust, stmt.signers[0], index)
        if attrs.get("agency") != body["agency"]:
            out.append(("request.agency", f"the signer is registered for agency {attrs.get('agency')!r}, "
                                          f"the request names {body['agency']!r}"))
        out.extend(self._filing_preconditions(rule, body, attrs, stmt.id))
        if request_version(body) >= REQUEST_VERSION:
            out.extend(self._recipient_principals(body["recipients"], index, trust))
        if "lines" in body:
            out.extend(self._request_lines(rule, 0, body["lines"]))
        if body["resubmits"] and body["resubmits"] not in self.state.requests:
            out.append(("ref.resubmits", f"the resubmitted request {body['resubmits']} is not in the log"))
        return out

    @staticmethod
    def _recipient_principals(recipients: list[dict[str, Any]], index: int, trust: TrustState) -> list[Violation]:
        """Each slot names a principal registered, at filing, for the slot's agency with a role that may
        attest; no principal holds two slots."""
        out: list[Violation] = []
        attesting = set(trust.policy.get("recipient_attestation", ()))
        for i, r in enumerate(recipients):
            record = trust.active(r["principal"], index)
            if record is None:
                out.append(("request.recipient_principal", f"recipient {i} names {r['principal']}, who has no "
                                                           "valid key in the log"))
            elif record.attributes.get("agency") != r["agency"] or not attesting & set(record.roles):
                out.append(("request.recipient_principal", f"recipient {i} names {r['principal']}, who is not "
                            f"registered as a recipient of {r['agency']}"))
        seen: dict[str, int] = {}
        for i, r in enumerate(recipients):
            if r["principal"] in seen:
                out.append(("request.recipients_distinct", f"recipients {seen[r['principal']]} and {i} both name "
                            f"{r['principal']}: one principal holds one slot"))
            seen.setdefault(r["principal"], i)
        return out

    def _filing_preconditions(
        self, rule: ExceptionRule, body: dict[str, Any], attrs: dict[str, Any], stmt_id: str
    ) -> list[Violation]:
        code = rule.code
        out: list[Violation] = []
        category = attrs.get("category")
        if category not in rule.requester_categories:
            out.append((f"{code}.requester_category", f"the signer's registered category {category!r} may not "
                        f"request under {code} (allowed: {sorted(rule.requester_categories)})"))
        if body["purpose"] not in rule.purposes:
            out.append((f"{code}.purpose", f"purpose {body['purpose']!r} is not allowed under {code} "
                        f"(allowed: {sorted(rule.purposes)})"))
        statute = STATUTES.get(body["statute"] or "")
        if rule.criminal_statute and (statute is None or not statute.criminal or statute.tax):
            out.append((f"{code}.criminal_statute", f"{body['statute']!r} is not a designated non-tax criminal "
                        "statute in the statute catalog"))
        if rule.tax_statute and (statute is None or not statute.tax):
            out.append((f"{code}.tax_statute", f"{body['statute']!r} is not a tax statute in the catalog"))
        if rule.court_order and not self._order_grants(body["court_order"], stmt_id):
            out.append((f"{code}.court_order", f"{code} needs an ex parte court order in force in the log "
                        "that names this request"))
        if rule.recipient_attestation and not all(
            r["personally_and_directly_engaged"] and r["solely_for_use"] for r in body["recipients"]
        ):
            out.append((f"{code}.recipient_attestation", "every recipient must be attested personally and "
                        "directly engaged, solely for use in the proceeding"))
        if rule.recipients_same_agency and any(r["agency"] != body["agency"] for r in body["recipients"]):
            out.append((f"{code}.recipients_same_agency", "recipients must be officers of the requesting agency"))
        bad_fields = sorted(set(body["fields"]) - rule.allowed_fields)
        if bad_fields:
            out.append((f"{code}.fields", f"fields {bad_fields} cannot be disclosed under {code}"))
        return out

    @staticmethod
    def _request_lines(rule: ExceptionRule, first: int, lines: list[dict[str, Any]]) -> list[Violation]:
        if rule.address_per_line:
            missing = [k for k, line in enumerate(lines, first) if not line["address"] or not line["name"]]
            if missing:
                return [(f"{rule.code}.address_per_line", f"lines {missing[:10]} carry no requester-supplied "
                         "name and address")]
        return []

    # ---- lifecycle -------------------------------------------------------------------
    def _check_withdrawal(self, stmt: Statement, index: int, trust: TrustState) -> list[Violation]:
        out: list[Violation] = []
        req = self._request(stmt.envelope["body"]["request"], out)
        if req is not None and req.signer not in stmt.signers:
            out.append(("sod.withdrawal", "only the requesting official withdraws a request"))
        return out

    def _check_return_for_correction(self, stmt: Statement, index: int, trust: TrustState) -> list[Violation]:
        body = stmt.envelope["body"]
        out: list[Violation] = []
        req = self._request(body["request"], out)
        if req is None:
            return out
        if stmt.signers[0] == req.signer:
            out.append(("sod.return", "the requester does not return their own request"))
        if req.review_id is not None:
            out.append(("review.already_reviewed", f"request {req.id} was already reviewed ({req.review_id})"))
        bad = [k for k in body["lines"] if k >= req.line_count]
        if bad:
            out.append(("return.lines", f"lines {bad[:10]} are outside the request"))
        return out

    def _check_match_result(self, stmt: Statement, index: int, trust: TrustState) -> list[Violation]:
        body = stmt.envelope["body"]
        out: list[Violation] = []
        req = self._request(body["request"], out)
        if req is None:
            return out
        if req.match_id is not None:
            out.append(("match.already_matched", f"request {req.id} already has a match result; record a "
                                                  "correction instead"))
        self._line_numbers("match_result", body, req, out)
        if "lines" in body:
            out.extend(self._match_lines(body["lines"]))
        return out

    @staticmethod
    def _match_lines(lines: list[dict[str, Any]]) -> list[Violation]:
        out: list[Violation] = []
        for line in lines:
            basis = set(line["match_basis"])
            if line["matched"] != bool(basis) or (not line["matched"] and line["taxpayer"] is not None):
                out.append(("match.consistent", f"line {line['line']}: matched, basis and taxpayer disagree"))
            if "address" in basis and not line["address_usable"]:
                out.append(("match.address_basis", f"line {line['line']}: an unusable address cannot be a "
                                                    "basis of a match"))
        return out

    def _check_review(self, stmt: Statement, index: int, trust: TrustState) -> list[Violation]:
        body = stmt.envelope["body"]
        out: list[Violation] = []
        req = self._request(body["request"], out)
        if req is None:
            return out
        reviewer = stmt.signers[0]
        if reviewer == req.signer:
            out.append(("sod.reviewer_is_requester", "the requester may not review their own request"))
        out.extend(self._document_approver(req, stmt.signers))
        if req.review_id is not None:
            out.append(("review.already_reviewed", f"request {req.id} was already reviewed ({req.review_id}); "
                                                   "record a correction instead"))
        if not req.match_complete:
            out.append(("review.not_matched", "a request is reviewed after the matcher's results are logged"))
            return out
        self._line_numbers("review", body, req, out)
        if body["law_version"] != LAW_VERSION:
            out.append(("review.law_version", f"reviewed against {body['law_version']!r}, the rules are "
                                              f"{LAW_VERSION!r}"))
        if "lines" in body:
            out.extend(self._review_lines(req, body["lines"]))
        flags = server_red_flags(req, self.thresholds)
        if sorted(body["red_flags"]) != flags:
            out.append(("review.red_flags", f"the review must log the server's red flags {flags}"))
        return out

    def _review_lines(self, req: RequestFacts, lines: list[dict[str, Any]]) -> list[Violation]:
        out: list[Violation] = []
        for line in lines:
            if line["decision"] == "approve":
                out.extend(self._line_releasable(req, line["line"]))
        return out

    def _line_releasable(self, req: RequestFacts, k: int) -> list[Violation]:
        bits = req.match[k] if 0 <= k < len(req.match) else 0
        if not bits & M_MATCHED:
            return [("match.unmatched", f"line {k} matched no taxpayer")]
        rule = CATALOG.get(req.body["exception"])
        needs_address = "address" in req.body["fields"] or (rule is not None and rule.address_per_line)
        if needs_address:
            if not bits & M_USABLE:
                return [("match.address_unusable", f"line {k}: the requester-supplied address is not a usable "
                                                   "address")]
            if not bits & M_NAME or not bits & M_ADDRESS:
                basis = [f for f, bit in BASIS_BITS.items() if bits & bit]
                return [("match.tin_only", f"line {k}: matched on {basis}; an address is released "
                                           "only on a match of the requester-supplied name and address")]
        return []

    def _check_release(self, stmt: Statement, index: int, trust: TrustState) -> list[Violation]:
        body = stmt.envelope["body"]
        out: list[Violation] = []
        req = self._request(body["request"], out)
        if req is None:
            return out
        rule = CATALOG.get(req.body["exception"])
        if rule is None:
            out.append(("request.exception_unknown", f"{req.body['exception']!r} is no longer in the catalog "
                                                     f"({LAW_VERSION}): deny by default"))
            return out
        releaser = stmt.signers[0]
        if req.review_id is None or req.review_id != body["review"] or not req.review_complete:
            out.append(("release.not_reviewed", "a release cites the request's (complete) review"))
            return out
        if releaser in (req.signer, req.reviewer):
            out.append(("sod.releaser", "requester, reviewer and releaser of one request are three principals"))
        out.extend(self._document_approver(req, stmt.signers))
        fields = set(body["fields"])
        if not fields <= set(req.body["fields"]) & rule.allowed_fields:
            out.append((f"{rule.code}.fields", f"fields {sorted(fields)} exceed what was requested and what "
                                               f"{rule.code} allows"))
        if "lines" in body:
            out.extend(self._release_lines(req, body["lines"], fields))
        elif body["bulk"]["line_count"] > req.line_count:
            out.append(("release.lines", f"a release of {body['bulk']['line_count']} lines from a request of "
                                         f"{req.line_count}"))
        if any(r >= len(req.body["recipients"]) for r in body["recipients"]):
            out.append(("release.recipients", "recipients must be named in the request"))
        elif request_version(req.body) < REQUEST_VERSION:
            out.append(("release.request_version", f"request {req.id} names its recipients without the principals "
                        "who receive the data (request body version 1): file it again as version "
                        f"{REQUEST_VERSION}, resubmitting it"))
        elif rule.recipient_attestation:
            out.extend(self._attestations(rule, req, body["recipients"], index, trust))
        if rule.court_order and not self._order_grants(req.body["court_order"], req.id):
            out.append((f"{rule.code}.court_order", "the court order the request relies on is not in force, or "
                                                    "does not name it"))
        for doc in sorted(rule.documents):
            if doc not in req.documents:
                out.append((f"{rule.code}.document:{doc}", f"{rule.code} needs a recorded {doc} before release"))
        if rule.safeguards:
            out.extend(self._safeguards(rule, req))
        out.extend(self._holds(req))
        return out

    @staticmethod
    def _attestations(rule: ExceptionRule, req: RequestFacts, slots: list[int], index: int,
                      trust: TrustState) -> list[Violation]:
        """Every recipient released to attested with their own key, and that key is still theirs."""
        out: list[Violation] = []
        named = req.body["recipients"]
        missing = [r for r in slots if req.attested.get(r) != named[r]["principal"]]
        if missing:
            out.append((f"{rule.code}.recipient_attestation", f"recipients {missing} have not signed their own "
                        "attestation (personally and directly engaged, solely for use)"))
        revoked = []
        for r in slots:
            if r in missing:
                continue
            record = trust.active(named[r]["principal"], index)
            if record is None or record.key.public_key != req.attested_keys.get(r):
                revoked.append(r)
        if revoked:
            out.append(("release.attestation_revoked", f"the keys that signed the attestations of recipients "
                        f"{revoked} were revoked or replaced before this release: they attest again with their "
                        "valid key"))
        return out

    def _order_grants(self, order_id: str | None, request_id: str) -> bool:
        """An ex parte order in force that names the request ((i)(1), (i)(5))."""
        order = self.state.orders.get(order_id or "")
        return (order is not None and order.kind == "ex_parte_order" and order.vacated_at is None
                and request_id in order.covers.get("requests", []))

    def _holds(self, req: RequestFacts) -> list[Violation]:
        return [("hold.active", f"court order {order.id} ({order.kind}, entry {order.index}) forbids this release")
                for order in self.state.active_orders("release") if order.covers_request(req)]

    def _release_lines(self, req: RequestFacts, lines: list[int], fields: set[str]) -> list[Violation]:
        out: list[Violation] = []
        extra = [k for k in lines if not req.approved(k)]
        if extra:
            out.append(("release.unapproved_lines", f"lines {extra[:10]} were not approved"))
        again = [k for k in lines if 0 <= k < len(req.released) and req.released[k]]
        if again:
            out.append(("release.already_released", f"lines {again[:10]} were already released"))
        if "address" in fields:
            for k in lines:
                if req.approved(k):
                    out.extend(self._line_releasable(req, k))
        return out

    # ---- bulk chunks -------------------------------------------------------------------
    def _check_chunk(self, stmt: Statement, index: int, trust: TrustState) -> list[Violation]:
        body = stmt.envelope["body"]
        bulk = self.state.bulk.get(body["of"])
        if bulk is None:
            return [("bulk.manifest", f"{body['of']} is not a bulk statement waiting for chunks")]
        if body["kind"] != bulk.kind:
            return [("bulk.kind", f"{bulk.id} is a {bulk.kind}, the chunk says {body['kind']}")]
        if stmt.signers != bulk.signers:
            return [("bulk.signers", "a chunk is signed by exactly the signers of its manifest")]
        if body["chunk"] != bulk.next_chunk:
            return [("bulk.order", f"chunk {body['chunk']} of {bulk.id} arrived; chunk {bulk.next_chunk} is next")]
        items = body["lines"]
        last = body["chunk"] == bulk.chunk_count - 1
        expected = bulk.line_count - body["first_line"] if last else CHUNK_LINES
        if len(items) != expected:
            return [("bulk.size", f"chunk {body['chunk']} holds {len(items)} items, expected {expected}")]
        out: list[Violation] = []
        if last:
            root = bulk.tree.root_with([item_leaf(item, parsed=True) for item in items])
            if root.hex() != bulk.lines_root:
                out.append(("bulk.root", f"the {bulk.line_count} items hash to {root.hex()[:16]}…, the manifest "
                                         f"says {bulk.lines_root[:16]}…"))
        req = self.state.requests[bulk.request]
        if bulk.kind == "request":
            rule = CATALOG.get(req.body["exception"])
            if rule is not None:
                out.extend(self._request_lines(rule, body["first_line"], items))
        elif bulk.kind == "match_result":
            out.extend(self._match_lines(items))
        elif bulk.kind == "review":
            out.extend(self._review_lines(req, items))
        else:
            if items[0] <= bulk.last_item or any(a >= b for a, b in pairwise(items)):
                out.append(("bulk.lines", "a bulk release lists its lines in strictly increasing order"))
            out.extend(self._release_lines(req, items, set(bulk.fields)))
            out.extend(self._holds(req))
            rule = CATALOG.get(req.body["exception"])
            if rule is not None and rule.recipient_attestation and request_version(req.body) >= REQUEST_VERSION:
                out.extend(self._attestations(rule, req, bulk.recipients, index, trust))
        return out

    def _safeguards(self, rule: ExceptionRule, req: RequestFacts) -> list[Violation]:
        agency = req.body["agency"]
        status = self.state.safeguards.get(agency)
        if status is None or not status["ssr_approved"]:
            return [(f"{rule.code}.safeguards", f"{agency} has no approved safeguard security report")]
        if status["open_findings"] and not status["cap_implementation_date"]:
            return [(f"{rule.code}.safeguards", f"{agency} has open safeguard findings without a corrective "
                                                "action plan date")]
        return []

    def _check_recipient_attestation(self, stmt: Statement, index: int, trust: TrustState) -> list[Violation]:
        body = stmt.envelope["body"]
        out: list[Violation] = []
        req = self._request(body["request"], out)
        if req is None:
            return out
        recipients = req.body["recipients"]
        if body["recipient"] >= len(recipients):
            return [("attestation.recipient", f"the request names {len(recipients)} recipients")]
        principal = recipients[body["recipient"]].get("principal")  # None in a version-1 request
        if principal is not None and stmt.signers != [principal]:
            out.append(("attestation.principal", f"recipient {body['recipient']}'s slot names {principal}: only "
                                                 "that principal's own key attests for it"))
        attrs = signer_attributes(trust, stmt.signers[0], index)
        if attrs.get("agency") != recipients[body["recipient"]]["agency"]:
            out.append(("attestation.agency", "a recipient attests for themselves, as an officer of the agency "
                                              "the request names for them"))
        if not (body["personally_and_directly_engaged"] and body["solely_for_use"]):
            out.append(("attestation.incomplete", "the attestation must affirm personal and direct engagement "
                                                  "and use solely for the proceeding"))
        return out

    def _check_correction(self, stmt: Statement, index: int, trust: TrustState) -> list[Violation]:
        if stmt.envelope["body"]["corrects"] not in self.state.statements:
            return [("ref.corrects", "a correction names a § 6103 statement in the log")]
        return []

    def _check_disposition(self, stmt: Statement, index: int, trust: TrustState) -> list[Violation]:
        if stmt.envelope["body"]["release"] not in self.state.releases:
            return [("ref.release", "no such release in the log")]
        return []

    def _check_use_freeze(self, stmt: Statement, index: int, trust: TrustState) -> list[Violation]:
        order = self.state.orders.get(stmt.envelope["body"]["order"])
        if order is None or "use" not in order.forbids:
            return [("ref.order", "a use-freeze attestation names a court order that forbids use")]
        return []

    def _check_receipt(self, stmt: Statement, index: int, trust: TrustState) -> list[Violation]:
        if stmt.envelope["body"]["release"] not in self.state.releases:
            return [("ref.release", "no such release in the log")]
        return []
