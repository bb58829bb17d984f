"""An attestation counts at a release only while the key that signed it is still the recipient's key."""

from __future__ import annotations

import pytest
from domainfix import AGENCY, CRIMINAL

from ledger.authoring import disclosure as dc
from ledger.authoring.trust import key_registration, key_revocation, key_rotation
from ledger.core.keys import SignerKey
from ledger.domain.refusals import RuleRefusal

CODE = "6103(i)(2)"


def _reviewed(d, principal: str):
    requester = d.principal("ice.dhs.gov/director", ["requester"], agency=AGENCY, category="agency_head")
    reviewer = d.principal("irs.gov/officer-1", ["reviewer"], agency="IRS")
    releaser = d.principal("irs.gov/releaser-1", ["releaser"], agency="IRS")
    matcher = d.principal("irs.gov/matcher", ["matcher"], agency="IRS")
    d.submit(dc.safeguard_status(d.principal("tigta.gov/a", ["oversight"]), AGENCY, ssr_approved=True))
    req = dc.request(requester, exception=CODE, agency=AGENCY, statute=CRIMINAL, purpose="criminal_investigation",
                     purpose_text="p", fields=["address"],
                     recipients=[dc.Recipient("Agent", AGENCY, principal=principal)],
                     lines=[dc.Line("900000001", "N", "1 Oak St, Austin, TX 73301")])
    d.submit(req)
    d.match_all(matcher, req.statement_id, 1)
    rev = dc.review(reviewer, req.statement_id, [(0, "approve", "ok")], d.flags(req.statement_id))
    d.submit(rev)
    return req, rev, releaser


def test_a_rotated_key_s_attestation_is_made_again_with_the_new_key(domain_any):
    d = domain_any
    agent = d.principal("ice.dhs.gov/agent-0", ["recipient"], agency=AGENCY)
    req, rev, releaser = _reviewed(d, agent.name)
    d.submit(dc.recipient_attestation(agent, req.statement_id, 0))
    new = SignerKey.generate(agent.name)
    d.ledger.append(key_rotation(d.admin, agent.verifier, new, countersigners=[d.agencies[AGENCY]]))
    with pytest.raises(RuleRefusal) as refused:
        d.submit(dc.release(releaser, req.statement_id, rev.statement_id, [0], ["address"], [0], b"f"))
    assert refused.value.rules == ["release.attestation_revoked"]
    d.submit(dc.recipient_attestation(new, req.statement_id, 0))
    d.submit(dc.release(releaser, req.statement_id, rev.statement_id, [0], ["address"], [0], b"f"))


def test_a_name_registered_again_after_revocation_does_not_inherit_the_old_attestation(domain_any):
    d = domain_any
    agent = d.principal("ice.dhs.gov/agent-0", ["recipient"], agency=AGENCY)
    req, rev, releaser = _reviewed(d, agent.name)
    d.submit(dc.recipient_attestation(agent, req.statement_id, 0))
    d.ledger.append(key_revocation(d.admin, agent.name, agent.verifier, "compromised"))
    d.ledger.append(key_registration(d.admin, SignerKey.generate(agent.name), ["recipient"], {"agency": AGENCY},
                                     [d.agencies[AGENCY]]))
    with pytest.raises(RuleRefusal) as refused:
        d.submit(dc.release(releaser, req.statement_id, rev.statement_id, [0], ["address"], [0], b"f"))
    assert refused.value.rules == ["release.attestation_revoked"]


def test_only_the_named_principal_attests_even_of_the_same_agency(domain_any):
    """A colleague of the same agency, with the recipient role, is refused for another's slot (and the
    slot's own principal is accepted); the refusal is a blocked entry naming the rule."""
    d = domain_any
    agent = d.principal("ice.dhs.gov/agent-0", ["recipient"], agency=AGENCY)
    colleague = d.principal("ice.dhs.gov/agent-1", ["recipient"], agency=AGENCY)
    req, _, _ = _reviewed(d, agent.name)
    with pytest.raises(RuleRefusal) as refused:
        d.submit(dc.recipient_attestation(colleague, req.statement_id, 0))
    assert refused.value.rules == ["attestation.principal"]
    assert req.statement_id not in [r for r in d.engine.state.requests if d.engine.state.requests[r].attested]
    d.submit(dc.recipient_attestation(agent, req.statement_id, 0))
    assert d.engine.state.requests[req.statement_id].attested == {0: agent.name}


def test_a_bulk_release_stops_at_the_chunk_after_a_recipient_key_is_revoked(domain_any):
    """The attestations are checked at the bulk release's manifest and again at every chunk, like holds:
    a recipient's key revoked between two chunks stops the rest of the release."""
    from ledger.core.commitments import commit
    from ledger.domain.bulk import bulk_release, bulk_request, bulk_review, bulk_statement, list_source, submit_bulk

    d = domain_any
    n = 300
    agent = d.principal("ice.dhs.gov/agent-0", ["recipient"], agency=AGENCY)
    requester = d.principal("ice.dhs.gov/director", ["requester"], agency=AGENCY, category="agency_head")
    reviewer = d.principal("irs.gov/officer-1", ["reviewer"], agency="IRS")
    releaser = d.principal("irs.gov/releaser-1", ["releaser"], agency="IRS")
    matcher = d.principal("irs.gov/matcher", ["matcher"], agency="IRS")
    d.submit(dc.safeguard_status(d.principal("tigta.gov/a", ["oversight"]), AGENCY, ssr_approved=True))

    def batch(notes, openings):
        return d.ledger.append_batch(notes)

    req = bulk_request(requester, exception=CODE, agency=AGENCY, statute=CRIMINAL, purpose="criminal_investigation",
                       purpose_text="p", fields=["address"],
                       recipients=[dc.Recipient("Agent", AGENCY, principal=agent.name)],
                       lines=[dc.Line(f"9{k:08d}", f"N {k}", f"{k} Oak St, Austin, TX 73301") for k in range(n)])
    submit_bulk(batch, req)
    rid = req.statement_id
    d.submit(dc.recipient_attestation(agent, rid, 0))
    items = [{"line": k, "matched": True, "match_basis": ["address", "name"], "method": "NAME+ADDRESS",
              "address_class": "street", "address_usable": True, "irs_address_differs": False,
              "taxpayer": commit("tin", f"9{k:08d}").commitment} for k in range(n)]
    submit_bulk(batch, bulk_statement([matcher], "match_result", {"request": rid, "matcher_version": "m",
                                      "address_rules_version": "a", "red_flags": []}, n, list_source(items)))
    review = bulk_review(reviewer, rid, [(k, "approve", "ok") for k in range(n)], d.flags(rid))
    submit_bulk(batch, review)
    release = bulk_release(releaser, rid, review.statement_id, list(range(n)), ["address"], [0], b"f")
    d.ledger.append_batch([release.manifest.note, release.chunk(0).note])
    d.ledger.append(key_revocation(d.admin, agent.name, agent.verifier, "compromised"))
    with pytest.raises(RuleRefusal) as refused:
        d.ledger.append(release.chunk(1).note)
    assert refused.value.rules == ["release.attestation_revoked"]
