"""Authority: whose records a statement may touch, and whether its signers may touch them.

The checks here bind each statement to the records of the request, order or court it names, and
each signer to what its key was registered for — so that no single key (an administrator's, a
judge's, an agency's) can act for a court, an agency or a second administrator:

- a court acts only for the court its key's registered ``court`` attribute names, or, to lift an
  order, for a court its ``reviews`` attribute names (an appellate court); an ex parte order names
  the requests it grants;
- a registration that makes a court key is countersigned by a key of that court (a clerk named at
  genesis, or a judge registered so before); one that makes a recipient, by a key of that agency;
  in a log whose genesis names agency officials, one that makes any key of an agency, by a key of
  that agency (an official named at genesis, or a key registered so before) — or, for the first
  key of an agency that has none, by two administrators;
- widening who may sign the statements that make or lift authority, erasing, importing past
  disclosures, setting or moving later the policy's ``legacy_cutover``, and adding, replacing or
  removing an administrator take two administrators;
- an erasure lists only commitments its own request's statements carry, and none of the requests
  carrying them is held;
- the official who approves on a supporting document did not record it.

Rule ids are ``<area>.<rule>``; docs/RULES.md § 14 has the table of every statement type.
"""

from __future__ import annotations

from typing import Any

from ledger.core.statement import Statement
from ledger.core.trust import ADMIN_ROLE, COURT_ROLE, TrustState, check_policy
from ledger.domain.state import DomainState, OrderFacts, RequestFacts

Violation = tuple[str, str]
HOLD_KINDS = ("injunction", "legal_hold")
# Statement types that make or lift authority: a policy letting more roles sign one of them needs
# two administrators.
GUARDED_TYPES = ("vacatur", "erasure", "court_order", "key_registration", "key_rotation", "key_revocation",
                 "policy", "legacy_release")


def administrators(trust: TrustState, names: list[str], index: int) -> set[str]:
    """The distinct names among ``names`` holding a valid administrator key at ``index``."""
    out = set()
    for name in names:
        record = trust.active(name, index)
        if record is not None and ADMIN_ROLE in record.roles:
            out.add(name)
    return out


def administrator_count(trust: TrustState, index: int) -> int:
    return sum(1 for records in trust.keys.values()
               if any(r.valid_at(index) and ADMIN_ROLE in r.roles for r in records))


def court_of(trust: TrustState, name: str, index: int) -> str | None:
    """The court a valid court key belongs to (None: not a court key, or an administrator's)."""
    record = trust.active(name, index)
    if record is None or COURT_ROLE not in record.roles or ADMIN_ROLE in record.roles:
        return None
    court = record.attributes.get("court")
    return court if isinstance(court, str) else None


def reviews(trust: TrustState, name: str, index: int) -> list[str]:
    """The courts whose orders a court key may lift on review (its registered ``reviews``)."""
    record = trust.active(name, index)
    value = record.attributes.get("reviews") if record is not None and COURT_ROLE in record.roles else None
    return [c for c in value if isinstance(c, str)] if isinstance(value, list) else []


def agency_of(trust: TrustState, name: str, index: int) -> str | None:
    """The agency a valid, non-administrator key was registered for."""
    record = trust.active(name, index)
    if record is None or ADMIN_ROLE in record.roles:
        return None
    agency = record.attributes.get("agency")
    return agency if isinstance(agency, str) else None


def has_member(trust: TrustState, agency: str, index: int, besides: str) -> bool:
    """Whether ``agency`` has a valid, non-administrator key at ``index`` other than ``besides``'s."""
    return any(agency_of(trust, name, index) == agency for name in trust.keys if name != besides)


def holds_on(state: DomainState, req: RequestFacts) -> list[OrderFacts]:
    return [o for o in state.orders.values()
            if o.vacated_at is None and o.kind in HOLD_KINDS and o.covers_request(req)]


class AuthorityChecks:
    """The authority checks of the rules engine (mixed into ledger.rules.engine.RuleEngine)."""

    state: DomainState

    # ---- courts ------------------------------------------------------------------
    def _check_court_order(self, stmt: Statement, index: int, trust: TrustState) -> list[Violation]:
        body = stmt.envelope["body"]
        out: list[Violation] = []
        outside = [n for n in stmt.signers if court_of(trust, n, index) != body["court"]]
        if outside:
            out.append(("court_order.court", f"{outside[0]} is not registered as a key of {body['court']!r}: "
                                             "an order is issued only by a key of the court it names"))
        if body["kind"] == "ex_parte_order":
            covers = body["covers"]
            if not covers.get("requests") or any(v for k, v in covers.items() if k != "requests"):
                out.append(("court_order.ex_parte_scope", "an ex parte order names the requests it grants, and "
                                                          "nothing wider (no exception, agency or purpose)"))
        return out

    def _check_vacatur(self, stmt: Statement, index: int, trust: TrustState) -> list[Violation]:
        order = self.state.orders.get(stmt.envelope["body"]["order"])
        if order is None:
            return [("ref.order", "no such court order in the log")]
        out: list[Violation] = []
        if order.vacated_at is not None:
            out.append(("vacatur.already", f"order {order.id} was already vacated"))
        for name in stmt.signers:
            if not (name in order.signers or court_of(trust, name, index) == order.court
                    or order.court in reviews(trust, name, index)):
                out.append(("vacatur.court", f"{name} is neither of {order.court!r}, which issued order "
                                             f"{order.id}, nor registered to review its orders"))
                break
        return out

    # ---- registrations, rotations, revocations, policy --------------------------------
    def _countersigned(self, stmt: Statement, index: int, trust: TrustState, name: str, roles: tuple[str, ...],
                       attrs: dict[str, Any], ids: tuple[str, str, str, str]) -> list[Violation]:
        """A key that will be a court's or a recipient agency's needs a countersignature of theirs (in an
        agency-anchored log, any key of an agency); one that will be an administrator's, a second
        administrator (once there are two). ``ids``: the rule ids (court, recipient, administrator,
        agency) of the statement type."""
        others = [n for n in stmt.signers if n != name]
        out: list[Violation] = []
        if COURT_ROLE in roles or "court" in attrs or "reviews" in attrs:
            court = attrs.get("court")
            if not isinstance(court, str) or not any(court_of(trust, n, index) == court for n in others):
                out.append((ids[0], f"a court key ({court!r}) needs the countersignature of a key of that court "
                                    "(its clerk, or a judge registered so)"))
        if "recipient" in roles:
            agency = attrs.get("agency")
            if not isinstance(agency, str) or not any(agency_of(trust, n, index) == agency for n in others):
                out.append((ids[1], f"a recipient key ({agency!r}) needs the countersignature of a key of that "
                                    "agency"))
        elif trust.agency_anchored and "agency" in attrs:
            out.extend(self._agency_countersigned(index, trust, name, attrs["agency"], others, ids[3]))
        if ADMIN_ROLE in roles and len(administrators(trust, others, index)) < min(
                2, administrator_count(trust, index)):
            out.append((ids[2], "an administrator key needs the signatures of two administrators"))
        return out

    @staticmethod
    def _agency_countersigned(index: int, trust: TrustState, name: str, agency: Any, others: list[str],
                              rule: str) -> list[Violation]:
        """In an agency-anchored log (genesis names agency officials), a key carrying an ``agency``
        attribute — whatever its roles, an administrator's too, since the attribute is what lets a key
        file for an agency — is countersigned by a valid non-administrator key of that agency other than
        itself; an agency with no such key gets its first one on two administrators' signatures."""
        if isinstance(agency, str) and agency:
            if any(agency_of(trust, n, index) == agency for n in others):
                return []
            if not has_member(trust, agency, index, name) and len(administrators(trust, others, index)) >= 2:
                return []
        return [(rule, f"a key of agency {agency!r} needs the countersignature of a key of that agency (its "
                       "official named at genesis, or a key registered so); an agency's first key, two "
                       "administrators' signatures")]

    def _check_key_registration(self, stmt: Statement, index: int, trust: TrustState) -> list[Violation]:
        body = stmt.envelope["body"]
        attrs = body.get("attributes") or {}
        return self._countersigned(stmt, index, trust, body["name"], tuple(body["roles"]), attrs, (
            "registration.court_countersign", "registration.recipient_countersign",
            "registration.second_administrator", "registration.agency_countersign"))

    def _check_key_rotation(self, stmt: Statement, index: int, trust: TrustState) -> list[Violation]:
        body = stmt.envelope["body"]
        old = trust.active(body["name"], index)
        if old is None:
            return []  # the trust checks refuse it
        return self._countersigned(stmt, index, trust, body["name"], old.roles, old.attributes, (
            "rotation.court_countersign", "rotation.recipient_countersign", "rotation.second_administrator",
            "rotation.agency_countersign"))

    def _check_key_revocation(self, stmt: Statement, index: int, trust: TrustState) -> list[Violation]:
        record = trust.active(stmt.envelope["body"]["name"], index)
        if record is not None and ADMIN_ROLE in record.roles and len(
                administrators(trust, stmt.signers, index)) < min(2, administrator_count(trust, index)):
            return [("revocation.second_administrator", "an administrator key is revoked by two "
                                                        "administrators")]
        return []

    def _check_policy(self, stmt: Statement, index: int, trust: TrustState) -> list[Violation]:
        new = check_policy(stmt.envelope["body"].get("policy"))
        wider = [t for t in GUARDED_TYPES if not set(new.get(t, ())) <= set(trust.policy.get(t, ()))]
        cutover = stmt.envelope["body"].get("legacy_cutover")
        if isinstance(cutover, str) and (trust.legacy_cutover is None or cutover > trust.legacy_cutover):
            wider.append("legacy_cutover")  # a later cutover lets more of the past be imported
        if wider and len(administrators(trust, stmt.signers, index)) < 2:
            return [("policy.second_administrator", f"the policy lets more roles sign {wider}: that takes two "
                                                    "administrators' signatures")]
        return []

    # ---- erasure -------------------------------------------------------------------
    def _check_erasure(self, stmt: Statement, index: int, trust: TrustState) -> list[Violation]:
        """An erasure drops openings only of commitments its own request's statements carry, only while
        no hold covers any request carrying them, and only on two administrators' signatures."""
        body = stmt.envelope["body"]
        out: list[Violation] = []
        if len(administrators(trust, stmt.signers, index)) < 2:
            out.append(("erasure.second_administrator", "an erasure is signed by two administrators"))
        req = self.state.requests.get(body["request"])
        if req is None:
            return [*out, ("ref.request", f"no request {body['request']} in the log")]
        owners = self.state.owners.owners(body["commitments"])
        foreign = [c for c in body["commitments"] if req.id not in owners.get(c, ())]
        if foreign:
            out.append(("erasure.not_owned", f"{len(foreign)} listed commitments are not carried by request "
                                             f"{req.id}'s own statements (first: {foreign[0][:16]}…)"))
        carrying = {req.id}.union(*owners.values()) if owners else {req.id}
        for rid in sorted(carrying):
            held = holds_on(self.state, self.state.requests[rid])
            if held:
                out.append(("hold.erasure", f"court order {held[0].id} (entry {held[0].index}) holds request "
                                            f"{rid}'s records: erasure is refused while it applies"))
        return out

    # ---- supporting documents ------------------------------------------------------------
    @staticmethod
    def _document_approver(req: RequestFacts, signers: list[str]) -> list[Violation]:
        """The official approving (reviewing) or releasing did not record the request's documents."""
        if set(signers) & req.document_signers:
            return [("sod.document_approver", "a supporting document is recorded by someone other than the "
                                              "official who approves or releases on it")]
        return []

    def _check_supporting_document(self, stmt: Statement, index: int, trust: TrustState) -> list[Violation]:
        out: list[Violation] = []
        req = self._request(stmt.envelope["body"]["request"], out)  # type: ignore[attr-defined]
        if req is not None:
            if stmt.signers[0] == req.signer:
                out.append(("sod.document", "supporting documents are recorded by the IRS, not the requester"))
            approvers = {req.reviewer, *(name for _, name in req.releases)} - {None}
            if approvers & set(stmt.signers):
                out.append(("sod.document_approver", "a supporting document is recorded by someone other than "
                                                     "the official who approves or releases on it"))
        return out
