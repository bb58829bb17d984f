"""One refusal per rule id that no other test names: each case builds the smallest log that breaks
exactly that rule and checks the `blocked` entry names it (docs/RULES.md § 14 lists them all)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from domainfix import AGENCY, CRIMINAL, Domain

from ledger.authoring import disclosure as dc
from ledger.authoring.trust import key_registration, key_revocation, key_rotation, signed
from ledger.core.entry import parse_entry
from ledger.core.keys import SignerKey
from ledger.core.lines import CHUNK_LINES
from ledger.core.statement import parse_statement
from ledger.domain.bulk import bulk_request
from ledger.domain.refusals import RuleRefusal
from ledger.rules.catalog import LAW_VERSION

LINES = [dc.Line(f"9{k:08d}", f"Name {k}", f"{k} Elm St, Boston, MA 02110") for k in range(2)]


class World:
    """A (i)(2) request of two lines, filed and matched, with the officials around it."""

    def __init__(self, d: Domain) -> None:
        self.d = d
        self.requester = d.principal("ice.dhs.gov/director", ["requester"], agency=AGENCY, category="agency_head")
        self.reviewer = d.principal("irs.gov/officer-1", ["reviewer"], agency="IRS")
        self.releaser = d.principal("irs.gov/releaser-1", ["releaser"], agency="IRS")
        self.matcher = d.principal("irs.gov/matcher", ["matcher"], agency="IRS")
        self.judge = d.principal("uscourts.gov/mad/judge-a", ["court"], court="D. Mass.")
        self.agent = d.principal("ice.dhs.gov/agent-0", ["recipient"], agency=AGENCY)
        d.submit(dc.safeguard_status(d.principal("tigta.gov/a", ["oversight"]), AGENCY, ssr_approved=True))
        self.req = self.request()
        d.submit(self.req)

    def request(self, **over) -> dc.Submission:
        args = dict(exception="6103(i)(2)", agency=AGENCY, statute=CRIMINAL, purpose="criminal_investigation",
                    purpose_text="p", fields=["name", "address"], recipients=[dc.Recipient("Agent", AGENCY)],
                    lines=LINES)
        return dc.request(self.requester, **{**args, **over})

    @property
    def rid(self) -> str:
        return self.req.statement_id

    def matched(self) -> None:
        self.d.match_all(self.matcher, self.rid, len(LINES))

    def reviewed(self) -> dc.Submission:
        self.matched()
        rev = dc.review(self.reviewer, self.rid, [(k, "approve", "ok") for k in range(len(LINES))],
                        self.d.flags(self.rid))
        self.d.submit(rev)
        return rev

    def append(self, note: str) -> None:
        self.d.ledger.append(note)


def _bulk_manifest(w: World, n: int = CHUNK_LINES + 1):
    lines = [dc.Line(f"8{k:08d}", f"Bulk {k}", f"{k} Oak St, Boston, MA 02110") for k in range(n)]
    bulk = bulk_request(w.requester, exception="6103(i)(2)", agency=AGENCY, statute=CRIMINAL,
                        purpose="criminal_investigation", purpose_text="p", fields=["name", "address"],
                        recipients=[dc.Recipient("Agent", AGENCY, principal=w.agent.name)], lines=lines)
    w.append(bulk.manifest.note)
    return bulk


def _chunk_body(bulk, c: int) -> dict:
    return parse_statement(bulk.chunk(c).note).envelope["body"]


CASES: dict[str, Callable[[World], None]] = {
    "6103(i)(2).fields": lambda w: w.d.submit(w.request(fields=["return"])),
    "request.exception_unknown": lambda w: w.d.submit(w.request(exception="6103(z)")),
    "request.agency": lambda w: w.d.submit(w.request(agency="DOJ/FBI", recipients=[dc.Recipient("A", "DOJ/FBI")])),
    "request.single_signer": lambda w: w.append(signed(
        [w.requester, w.d.principal("ice.dhs.gov/deputy", ["requester"], agency=AGENCY, category="agency_head")],
        "request", parse_statement(w.request().note).envelope["body"])),
    "ref.resubmits": lambda w: w.d.submit(w.request(resubmits="no-such-request")),
    "ref.request": lambda w: w.d.submit(dc.withdrawal(w.requester, "no-such-request")),
    "sod.withdrawal": lambda w: w.d.submit(dc.withdrawal(w.d.principal(
        "ice.dhs.gov/deputy", ["requester"], agency=AGENCY, category="agency_head"), w.rid)),
    "return.lines": lambda w: w.d.submit(dc.return_for_correction(w.reviewer, w.rid, "fix", [7])),
    "match.already_matched": lambda w: (w.matched(), w.matched()),
    "match.lines": lambda w: w.append(signed([w.matcher], "match_result", {
        "request": w.rid, "matcher_version": "m", "address_rules_version": "a", "red_flags": [],
        "lines": [{"line": 0, "matched": False, "match_basis": [], "method": "NONE", "address_class": "street",
                   "address_usable": True, "irs_address_differs": False, "taxpayer": None}]})),
    "match.consistent": lambda w: w.append(signed([w.matcher], "match_result", {
        "request": w.rid, "matcher_version": "m", "address_rules_version": "a", "red_flags": [],
        "lines": [{"line": k, "matched": True, "match_basis": [], "method": "NONE", "address_class": "street",
                   "address_usable": True, "irs_address_differs": False, "taxpayer": None} for k in range(2)]})),
    "match.address_basis": lambda w: w.d.match_all(w.matcher, w.rid, 2, usable=False, address_class="junk"),
    "match.unmatched": lambda w: (w.d.match_all(w.matcher, w.rid, 2, basis=()), w.d.submit(dc.review(
        w.reviewer, w.rid, [(0, "approve", "ok"), (1, "approve", "ok")], w.d.flags(w.rid)))),
    "review.not_matched": lambda w: w.d.submit(dc.review(w.reviewer, w.rid, [(0, "approve", "ok")], [])),
    "review.already_reviewed": lambda w: (w.reviewed(), w.d.submit(dc.review(
        w.d.principal("irs.gov/officer-2", ["reviewer"], agency="IRS"), w.rid, [(0, "refuse", "no"),
                                                                                  (1, "refuse", "no")], []))),
    "review.lines": lambda w: (w.matched(), w.d.submit(dc.review(w.reviewer, w.rid, [(0, "approve", "ok")],
                                                                  w.d.flags(w.rid)))),
    "review.law_version": lambda w: (w.matched(), w.append(signed([w.reviewer], "review", {
        "request": w.rid, "law_version": LAW_VERSION + "-old", "red_flags": w.d.flags(w.rid),
        "lines": [{"line": k, "decision": "approve", "reason": "ok"} for k in range(2)]}))),
    "release.not_reviewed": lambda w: (w.matched(), w.d.submit(dc.release(
        w.releaser, w.rid, "no-review", [0], ["name"], [0], b"f"))),
    "release.recipients": lambda w: w.d.submit(dc.release(
        w.releaser, w.rid, w.reviewed().statement_id, [0], ["name"], [3], b"f")),
    "release.lines": lambda w: w.append(signed([w.releaser], "release", {
        "request": w.rid, "review": w.reviewed().statement_id, "fields": ["name"],
        "recipients": [0], "file_sha256": "0" * 64, "channel": "secure-file-transfer",
        "bulk": {"line_count": 5, "chunk_count": 1, "lines_root": "0" * 64}})),
    "vacatur.already": lambda w: (lambda o: (w.d.submit(o), w.d.submit(dc.vacatur(w.judge, o.statement_id)),
                                            w.d.submit(dc.vacatur(w.judge, o.statement_id))))(
        dc.court_order(w.judge, kind="injunction", court="D. Mass.", docket="d", covers={"requests": [w.rid]})),
    "ref.order": lambda w: w.d.submit(dc.vacatur(w.judge, "no-such-order")),
    "attestation.recipient": lambda w: w.d.submit(dc.recipient_attestation(w.agent, w.rid, 5)),
    "attestation.incomplete": lambda w: w.append(signed([w.agent], "recipient_attestation", {
        "request": w.rid, "recipient": 0, "personally_and_directly_engaged": False, "solely_for_use": True})),
    "bulk.incomplete": lambda w: (lambda b: w.d.submit(dc.withdrawal(w.requester, b.statement_id)))(
        _bulk_manifest(w)),
    "bulk.manifest": lambda w: w.append(signed([w.requester], "chunk", {**_chunk_body(
        _bulk_manifest(w), 0), "of": "no-such-manifest"})),
    "bulk.kind": lambda w: w.append(signed([w.requester], "chunk", {**_chunk_body(
        _bulk_manifest(w), 0), "kind": "release", "lines": list(range(CHUNK_LINES))})),
    "bulk.signers": lambda w: w.append(signed([w.d.principal(
        "ice.dhs.gov/other", ["requester"], agency=AGENCY, category="agency_head")], "chunk",
        _chunk_body(_bulk_manifest(w), 0))),
    "bulk.size": lambda w: w.append(signed([w.requester], "chunk", (lambda body: {
        **body, "lines": body["lines"][:5]})(_chunk_body(_bulk_manifest(w), 0)))),
}


def _bulk_lines(w: World) -> None:
    """A bulk release whose lines go backwards across its chunks."""
    from ledger.domain.bulk import bulk_release, bulk_review

    n = CHUNK_LINES + 2
    bulk = _bulk_manifest(w, n)
    for c in range(2):
        w.append(bulk.chunk(c).note)
    rid = bulk.statement_id
    w.d.match_all(w.matcher, rid, n)
    review = bulk_review(w.reviewer, rid, [(k, "approve", "ok") for k in range(n)], w.d.flags(rid))
    w.append(review.manifest.note)
    for c in range(2):
        w.append(review.chunk(c).note)
    w.d.submit(dc.recipient_attestation(w.agent, rid, 0))
    release = bulk_release(w.releaser, rid, review.statement_id, list(range(n)), ["name"], [0], b"f")
    w.append(release.manifest.note)
    first = parse_statement(release.chunk(0).note).envelope["body"]
    w.append(release.chunk(0).note)
    last = parse_statement(release.chunk(1).note).envelope["body"]
    w.append(signed([w.releaser], "chunk", {**last, "lines": [first["lines"][0], first["lines"][1]]}))


def _sod_return(w: World) -> None:
    both = w.d.principal("ice.dhs.gov/both", ["requester", "reviewer"], agency=AGENCY, category="agency_head")
    req = w.request()
    w.append(signed([both], "request", parse_statement(req.note).envelope["body"], statement_id="own-1"))
    w.d.submit(dc.return_for_correction(both, "own-1", "fix"))


def _sod_document(w: World) -> None:
    both = w.d.principal("ice.dhs.gov/both", ["requester", "reviewer"], agency=AGENCY, category="agency_head")
    w.append(signed([both], "request", parse_statement(w.request().note).envelope["body"], statement_id="own-1"))
    w.d.submit(dc.supporting_document(both, "own-1", "consent", b"consent"))


CASES["bulk.lines"] = _bulk_lines
CASES["sod.return"] = _sod_return
CASES["sod.document"] = _sod_document


def _second_admin(w: World) -> SignerKey:
    return w.d.principal("ledger.test.example/admin-2", ["administrator"])


def _registration_second_admin(w: World) -> None:
    _second_admin(w)
    w.append(key_registration(w.d.admin, SignerKey.generate("ledger.test.example/admin-3"), ["administrator"]))


def _revocation_second_admin(w: World) -> None:
    second = _second_admin(w)
    w.d.principal("ledger.test.example/admin-3", ["administrator"])
    w.append(key_revocation(w.d.admin, second.name, second.verifier))


def _rotation_court(w: World) -> None:
    w.append(key_rotation(w.d.admin, w.judge.verifier, SignerKey.generate(w.judge.name)))


def _rotation_recipient(w: World) -> None:
    w.append(key_rotation(w.d.admin, w.agent.verifier, SignerKey.generate(w.agent.name)))


def _rotation_second_admin(w: World) -> None:
    second = _second_admin(w)
    w.append(key_rotation(w.d.admin, second.verifier, SignerKey.generate(second.name)))


CASES.update({
    "registration.second_administrator": _registration_second_admin,
    "revocation.second_administrator": _revocation_second_admin,
    "rotation.court_countersign": _rotation_court,
    "rotation.recipient_countersign": _rotation_recipient,
    "rotation.second_administrator": _rotation_second_admin,
})


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_refuses(domain_any, rule):
    w = World(domain_any)
    with pytest.raises(RuleRefusal) as info:
        CASES[rule](w)
    assert rule in info.value.rules, info.value
    entry = parse_statement(parse_entry(w.d.ledger.entry(info.value.blocked_index)).statement)
    assert entry.type == "blocked" and rule in entry.body["rules"]
