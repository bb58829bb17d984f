"""Authority bindings: courts act only within their own court, the administrator alone is neither a
court nor an agency nor two administrators, and a supporting document is recorded by someone other
than the official who approves on it. Each refusal is a `blocked` entry naming its rule."""

from __future__ import annotations

import pytest
from domainfix import AGENCY, CRIMINAL, open_domain

from ledger.authoring import disclosure as dc
from ledger.authoring.trust import key_registration, key_rotation, signed
from ledger.core.entry import parse_entry
from ledger.core.keys import SignerKey
from ledger.core.statement import parse_statement
from ledger.domain.refusals import RuleRefusal
from ledger.policy import DEFAULT_POLICY


def _refused(d, submit, rule: str) -> None:
    with pytest.raises(RuleRefusal) as info:
        submit()
    assert rule in info.value.rules, info.value
    entry = parse_statement(parse_entry(d.ledger.entry(info.value.blocked_index)).statement)
    assert entry.type == "blocked" and rule in entry.body["rules"]


def _i1_request(requester, order_id, statement_id=None):
    return dc.request(requester, exception="6103(i)(1)", agency=AGENCY, statute=CRIMINAL,
                      purpose="criminal_investigation", purpose_text="fictional", fields=["name", "tin"],
                      recipients=[dc.Recipient("Agent", AGENCY)], lines=[dc.Line("900700001", "Fictional One",
                                                                              "1 Elm St, Boston, MA 02110")],
                      court_order=order_id, statement_id=statement_id)


def test_court_orders_are_bound_to_the_issuing_court_and_the_request_they_grant(domain_any):
    """Finding 4: an order naming a court the signer does not belong to is refused; an ex parte order
    must name the request it grants (no exception- or agency-wide order), and (i)(1)'s precondition is
    met only by an order naming that very request."""
    d = domain_any
    requester = d.principal("doj.gov/usao-1", ["requester"], agency=AGENCY, category="doj_listed_official")
    judge = d.principal("uscourts.gov/mad/judge-a", ["court"], court="D. Mass.")
    foreign = dc.court_order(judge, kind="injunction", court="S.D. Tex.", docket="4:26-cv-1",
                             covers={"agencies": [AGENCY]})
    _refused(d, lambda: d.submit(foreign), "court_order.court")
    blanket = dc.court_order(judge, kind="ex_parte_order", court="D. Mass.", docket="1:26-mj-1",
                             covers={"exceptions": ["6103(i)(1)"]}, forbids=[])
    _refused(d, lambda: d.submit(blanket), "court_order.ex_parte_scope")
    named = dc.court_order(judge, kind="ex_parte_order", court="D. Mass.", docket="1:26-mj-2",
                           covers={"requests": ["granted-request-1"]}, forbids=[])
    d.submit(named)
    _refused(d, lambda: d.submit(_i1_request(requester, named.statement_id, "another-request-1")),
             "6103(i)(1).court_order")
    d.submit(_i1_request(requester, named.statement_id, "granted-request-1"))


def test_the_administrator_alone_is_not_a_court_an_agency_or_two_administrators(domain_any):
    """Finding 5: the administrator's key alone cannot register a judge or a recipient, widen who may
    sign a vacatur, or erase."""
    d = domain_any
    judge = SignerKey.generate("uscourts.gov/txs/judge-x")
    _refused(d, lambda: d.ledger.append(key_registration(d.admin, judge, ["court"], {"court": "S.D. Tex."})),
             "registration.court_countersign")
    agent = SignerKey.generate("ice.dhs.gov/agent-x")
    _refused(d, lambda: d.ledger.append(key_registration(d.admin, agent, ["recipient"], {"agency": AGENCY})),
             "registration.recipient_countersign")
    wider = {**DEFAULT_POLICY, "vacatur": ["court", "administrator"]}
    _refused(d, lambda: d.ledger.append(signed([d.admin], "policy", {"policy": wider})), "policy.second_administrator")
    requester = d.principal("ice.dhs.gov/director", ["requester"], agency=AGENCY, category="agency_head")
    req = dc.request(requester, exception="6103(i)(2)", agency=AGENCY, statute=CRIMINAL,
                     purpose="criminal_investigation", purpose_text="fictional", fields=["name", "address"],
                     recipients=[dc.Recipient("Agent", AGENCY)],
                     lines=[dc.Line("900700001", "Fictional One", "1 Elm St, Boston, MA 02110")])
    d.submit(req)
    body = {"request": req.statement_id, "commitments": [req.openings[0].commitment], "reason": "retention_expired"}
    _refused(d, lambda: d.ledger.append(signed([d.admin], "erasure", body)), "erasure.second_administrator")


def test_supporting_document_is_not_recorded_by_the_official_who_approves_on_it(domain_any):
    """Finding 6: the reviewer who recorded a request's supporting document may not review it, and the
    reviewer of a request may not record its documents."""
    d = domain_any
    requester = d.principal("ice.dhs.gov/director", ["requester"], agency=AGENCY, category="taxpayer_designee")
    reviewer = d.principal("irs.gov/officer-1", ["reviewer"], agency="IRS")
    other = d.principal("irs.gov/officer-2", ["reviewer"], agency="IRS")
    matcher = d.principal("irs.gov/matcher", ["matcher"], agency="IRS")
    req = dc.request(requester, exception="6103(c)", agency=AGENCY, statute=None, purpose="taxpayer_consent",
                     purpose_text="fictional", fields=["name"], recipients=[dc.Recipient("Agent", AGENCY)],
                     lines=[dc.Line("900700001", "Fictional One", "1 Elm St, Boston, MA 02110")])
    d.submit(req)
    d.match_all(matcher, req.statement_id, 1)
    d.submit(dc.supporting_document(reviewer, req.statement_id, "consent", b"signed consent"))
    review = dc.review(reviewer, req.statement_id, [(0, "approve", "ok")], d.flags(req.statement_id))
    _refused(d, lambda: d.submit(review), "sod.document_approver")
    d.submit(dc.review(other, req.statement_id, [(0, "approve", "ok")], d.flags(req.statement_id)))
    late = dc.supporting_document(other, req.statement_id, "consent", b"another consent")
    _refused(d, lambda: d.submit(late), "sod.document_approver")


def test_an_appellate_court_lifts_only_the_orders_of_the_courts_it_reviews(domain_any):
    """A court key lifts another court's order only through a ``reviews`` attribute granted at its
    registration (countersigned by its own court)."""
    d = domain_any
    judge = d.principal("uscourts.gov/mad/judge-a", ["court"], court="D. Mass.")
    order = dc.court_order(judge, kind="injunction", court="D. Mass.", docket="1:26-cv-3",
                           covers={"agencies": [AGENCY]})
    d.submit(order)
    circuit = d.principal("uscourts.gov/ca1/judge-b", ["court"], court="1st Cir.")
    _refused(d, lambda: d.submit(dc.vacatur(circuit, order.statement_id)), "vacatur.court")
    panel = d.principal("uscourts.gov/ca1/judge-c", ["court"], court="1st Cir.", reviews=["D. Mass."])
    d.submit(dc.vacatur(panel, order.statement_id))
    assert d.engine.state.orders[order.statement_id].vacated_at is not None


@pytest.fixture
def anchored(settings):
    """A log whose genesis names the officials of DHS/ICE and the IRS (agency-anchored)."""
    d = open_domain(settings, (AGENCY, "IRS"))
    yield d
    d.ledger.close()


def test_a_log_without_agency_officials_keeps_the_earlier_rule(domain_any):
    """A genesis naming no officials (every log written before them): the administrator alone registers a
    requester or an IRS key of an agency, as before; only a recipient needs a key of its agency."""
    d = domain_any
    assert not d.ledger.trust().agency_anchored
    d.ledger.append(key_registration(d.admin, SignerKey.generate("ice.dhs.gov/deputy"), ["requester"],
                                     {"agency": AGENCY, "category": "agency_head"}))
    d.ledger.append(key_registration(d.admin, SignerKey.generate("irs.gov/officer-9"), ["reviewer"], {"agency": "IRS"}))


def test_in_an_anchored_log_every_key_of_an_agency_is_its_own(anchored):
    """Any role carrying an ``agency`` attribute — an IRS reviewer, an administrator key too — needs a key of
    that agency beside the administrator; an ``agency`` that is not a string names no agency at all."""
    d = anchored
    reviewer = SignerKey.generate("irs.gov/officer-9")
    _refused(d, lambda: d.ledger.append(key_registration(d.admin, reviewer, ["reviewer"], {"agency": "IRS"})),
             "registration.agency_countersign")
    # the DHS/ICE official is not the IRS's
    _refused(d, lambda: d.ledger.append(key_registration(d.admin, reviewer, ["reviewer"], {"agency": "IRS"},
                                                         [d.officials[AGENCY]])), "registration.agency_countersign")
    d.ledger.append(key_registration(d.admin, reviewer, ["reviewer"], {"agency": "IRS"}, [d.officials["IRS"]]))
    second = d.principal("ledger.test.example/admin-2", ["administrator"])
    filer = SignerKey.generate("ledger.test.example/admin-3")
    _refused(d, lambda: d.ledger.append(key_registration(
        d.admin, filer, ["administrator", "requester"], {"agency": AGENCY, "category": "agency_head"}, [second])),
        "registration.agency_countersign")
    odd = SignerKey.generate("ice.dhs.gov/odd")
    _refused(d, lambda: d.ledger.append(key_registration(d.admin, odd, ["requester"], {"agency": ["DHS/ICE"]},
                                                         [second, d.officials[AGENCY]])),
             "registration.agency_countersign")
    # an official's own rotation needs another key of its agency; the official alone cannot vouch for itself
    official = d.officials["IRS"]
    fresh = SignerKey.generate(official.name)
    _refused(d, lambda: d.ledger.append(key_rotation(d.admin, official.verifier, fresh)),
             "rotation.agency_countersign")
    d.ledger.append(key_rotation(d.admin, official.verifier, fresh, [reviewer]))
