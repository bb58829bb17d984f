"""Recipients bound to their principals, over HTTP (SQLite and PostgreSQL).

Each recipient slot of a request names the principal who will receive the data; only that
principal's own key attests for the slot, one principal holds at most one slot, and an
attestation whose key was revoked before the release does not count.
"""

from __future__ import annotations

from typing import Any

from domainfix import AGENCY, CRIMINAL

from ledger.authoring import disclosure as dc
from ledger.authoring.trust import key_revocation
from ledger.core.keys import SignerKey

EXCEPTION = "6103(i)(2)"


def _post(api, sub: dc.Submission) -> Any:
    return api.client.post("/v1/statements", json=api.submission(sub))


def _rules(r) -> list[str]:
    assert r.status_code == 422, r.text
    return r.json()["rules"]


def _agents(api, n: int = 3) -> list[SignerKey]:
    return [api.domain.principal(f"ice.dhs.gov/agent-{i}", ["recipient"], agency=AGENCY) for i in range(n)]


def _request(api, principals: list[str | None], signer: SignerKey | None = None) -> dc.Submission:
    """A one-line (i)(2) request naming one recipient slot per principal."""
    signer = signer or api.requester
    recipients = [dc.Recipient(f"Agent {i}", AGENCY, True, True, 2, principal=p) for i, p in enumerate(principals)]
    return dc.request(signer, exception=EXCEPTION, agency=AGENCY, statute=CRIMINAL,
                      purpose="criminal_investigation", purpose_text="fictional purpose", fields=["name", "address"],
                      recipients=recipients,
                      lines=[dc.Line("900-70-0001", "Fictional One", "1 Elm St, Boston, MA 02110", ("2024",), "case")],
                      case_ids=["FICT-1"], seed=api.seed(signer))


def _reviewed(api, request: dc.Submission) -> dict[str, SignerKey]:
    """File ``request`` over HTTP, then match it (the matcher inside the service), record the
    agency's safeguards and review it: everything a release needs except the attestations."""
    d = api.domain
    assert _post(api, request).status_code == 201
    staff = {role: d.principal(f"irs.gov/{role}-{request.statement_id[:8]}", [role], agency="IRS")
             for role in ("matcher", "reviewer", "releaser")}
    oversight = d.principal(f"tigta.gov/auditor-{request.statement_id[:8]}", ["oversight"])
    d.match_all(staff["matcher"], request.statement_id, 1)
    assert _post(api, dc.safeguard_status(oversight, AGENCY, ssr_approved=True)).status_code == 201
    review = dc.review(staff["reviewer"], request.statement_id, [(0, "approve", "ok")], d.flags(request.statement_id))
    assert _post(api, review).status_code == 201
    staff["review"] = review.statement_id  # type: ignore[assignment]
    return staff


def _release(api, request: dc.Submission, staff: dict[str, Any], recipients: list[int]) -> dc.Submission:
    return dc.release(staff["releaser"], request.statement_id, staff["review"], [0], ["name", "address"], recipients,
                      b"fictional delivered file")


def _released(api, request_id: str) -> list[Any]:
    return api.ledger.synced_rules().state.requests[request_id].releases


def test_one_agent_cannot_attest_for_every_recipient(api):
    """Regression: one agent signed the attestations of recipients 0, 1 and 2, and the release to all
    three landed. Now the attestations for the slots of others are refused, and so is the release."""
    agents = _agents(api)
    request = _request(api, [a.name for a in agents])
    staff = _reviewed(api, request)
    mallory = agents[0]
    accepted = _post(api, dc.recipient_attestation(mallory, request.statement_id, 0))
    assert accepted.status_code == 201, accepted.text
    for slot in (1, 2):
        assert "attestation.principal" in _rules(_post(api, dc.recipient_attestation(mallory, request.statement_id,
                                                                                     slot)))
    rules = _rules(_post(api, _release(api, request, staff, [0, 1, 2])))
    assert f"{EXCEPTION}.recipient_attestation" in rules
    assert _released(api, request.statement_id) == []
    # each recipient's own attestation is what lets the release land
    for slot in (1, 2):
        assert _post(api, dc.recipient_attestation(agents[slot], request.statement_id, slot)).status_code == 201
    landed = _post(api, _release(api, request, staff, [0, 1, 2]))
    assert landed.status_code == 201, landed.text


def test_one_principal_cannot_hold_two_slots(api):
    """A request naming one principal in two slots is refused at filing."""
    agents = _agents(api, 2)
    sub = _request(api, [agents[0].name, agents[1].name, agents[0].name])
    assert "request.recipients_distinct" in _rules(_post(api, sub))


def test_slot_principal_must_be_registered_for_its_agency(api):
    """A slot names a registered principal of the agency the slot names (not an unknown name, not
    an officer of another agency)."""
    other = api.domain.principal("fbi.doj.gov/agent", ["recipient"], agency="DOJ/FBI")
    for principal in ("nobody.example.gov/agent", other.name):
        assert "request.recipient_principal" in _rules(_post(api, _request(api, [principal])))


def test_attestation_by_a_key_revoked_before_the_release_does_not_count(api):
    """An attestation stays in the log, but a release after its key was revoked no longer counts it."""
    agents = _agents(api, 2)
    request = _request(api, [a.name for a in agents])
    staff = _reviewed(api, request)
    for slot, agent in enumerate(agents):
        assert _post(api, dc.recipient_attestation(agent, request.statement_id, slot)).status_code == 201
    api.ledger.append(key_revocation(api.domain.admin, agents[1].name, agents[1].verifier, "key compromised"))
    rules = _rules(_post(api, _release(api, request, staff, [0, 1])))
    assert "release.attestation_revoked" in rules
    assert _released(api, request.statement_id) == []
    # recipient 0 alone, whose key is valid, may still receive
    assert _post(api, _release(api, request, staff, [0])).status_code == 201
