"""An agency's keys are its own, through the HTTP API (SQLite and PostgreSQL), in an agency-anchored log
(genesis names each agency's official): the administrator alone can neither make a key of an agency nor
take over one by rotation, so it cannot vouch for a recipient key of its own making and attest for a
recipient's slot. A refusal is 422 naming the rule, stored as `blocked`."""

from __future__ import annotations

from typing import Any

import pytest
from apifix import open_api
from domainfix import AGENCY, CRIMINAL

from ledger.authoring import disclosure as dc
from ledger.authoring.trust import key_registration, key_revocation, key_rotation
from ledger.core.entry import parse_entry
from ledger.core.keys import SignerKey
from ledger.core.statement import parse_statement

OTHER = "DOJ/OTHER"  # an agency genesis does not name


@pytest.fixture
def anchored(settings):
    a, close = open_api(settings, agencies=(AGENCY, "IRS"))
    yield a
    close()


def _post(api, note: str) -> Any:
    return api.client.post("/v1/statements", json={"statement": note})


def _refused(api, note: str, rule: str) -> None:
    r = _post(api, note)
    assert r.status_code == 422, r.text
    assert r.json()["rules"] == [rule]
    blocked = parse_statement(parse_entry(api.ledger.entry(api.ledger.size() - 1)).statement)
    assert blocked.type == "blocked" and blocked.body["rules"] == [rule]


def _accepted(api, note: str) -> None:
    r = _post(api, note)
    assert r.status_code == 201, r.text


def test_the_administrator_alone_cannot_take_over_a_recipients_slot(anchored):
    """Regression: the administrator registered a requester key of the agency alone, revoked a recipient
    principal, registered a new key under the recipient's name countersigned by the requester key it made,
    and attested for the recipient's slot. Now the first step is refused (registration.agency_countersign),
    and with it every later one: the administrator holds no key of the agency to countersign with."""
    api, d = anchored, anchored.domain
    agent = d.principal("ice.dhs.gov/agent-0", ["recipient"], agency=AGENCY)  # countersigned by the official
    request = dc.request(api.requester, exception="6103(i)(2)", agency=AGENCY, statute=CRIMINAL,
                         purpose="criminal_investigation", purpose_text="fictional purpose", fields=["name"],
                         recipients=[dc.Recipient("Agent 0", AGENCY, True, True, 2, principal=agent.name)],
                         lines=[dc.Line("900-70-0001", "Fictional One", "1 Elm St, Boston, MA 02110", ("2024",),
                                        "case")], case_ids=["FICT-1"], seed=api.seed(api.requester))
    r = api.client.post("/v1/statements", json=api.submission(request))
    assert r.status_code == 201, r.text

    puppet = SignerKey.generate("ice.dhs.gov/puppet")
    _refused(api, key_registration(d.admin, puppet, ["requester"], {"agency": AGENCY, "category": "agency_head"}),
             "registration.agency_countersign")
    assert api.ledger.trust().current(puppet.name) is None
    # The revocation itself is the administrator's business; the takeover key is not.
    _accepted(api, key_revocation(d.admin, agent.name, agent.verifier))
    stolen = SignerKey.generate(agent.name)
    _refused(api, key_registration(d.admin, stolen, ["recipient"], {"agency": AGENCY}),
             "registration.recipient_countersign")
    r = api.client.post("/v1/statements", json=api.submission(
        dc.recipient_attestation(stolen, request.statement_id, 0)))
    assert r.status_code == 403 and r.json()["rule"] == "trust.revoked_key", r.text
    assert not api.ledger.synced_rules().state.requests[request.statement_id].attested_keys


def test_the_administrator_alone_cannot_rotate_an_agency_key_into_its_own_hands(anchored):
    """A rotation keeps the key's agency: the administrator and a new key it holds are not enough
    (rotation.agency_countersign); the agency's official countersigning, they are."""
    api, d = anchored, anchored.domain
    director = api.requester
    mine = SignerKey.generate(director.name)
    _refused(api, key_rotation(d.admin, director.verifier, mine), "rotation.agency_countersign")
    assert api.ledger.trust().current(director.name).key == director.verifier
    reviewer = d.principal("irs.gov/reviewer-1", ["reviewer"], agency="IRS")
    _refused(api, key_rotation(d.admin, reviewer.verifier, SignerKey.generate(reviewer.name)),
             "rotation.agency_countersign")
    # a key of another agency does not vouch for this one
    _refused(api, key_rotation(d.admin, director.verifier, mine, [reviewer]), "rotation.agency_countersign")
    _accepted(api, key_rotation(d.admin, director.verifier, mine, [d.officials[AGENCY]]))
    assert api.ledger.trust().current(director.name).key == mine.verifier


def test_an_officials_countersignature_makes_an_agency_key(anchored):
    """A requester of a named agency is registered with its official's countersignature, and a later key
    of that agency with the countersignature of a key registered so (not the new key's own)."""
    api, d = anchored, anchored.domain
    official = d.officials[AGENCY]
    head = SignerKey.generate("ice.dhs.gov/deputy")
    _accepted(api, key_registration(d.admin, head, ["requester"], {"agency": AGENCY, "category": "agency_head"},
                                    [official]))
    agent = SignerKey.generate("ice.dhs.gov/agent-7")
    _accepted(api, key_registration(d.admin, agent, ["recipient"], {"agency": AGENCY}, [head]))
    trust = api.ledger.trust()
    assert trust.current(official.name).roles == ("agency_official",)
    assert trust.current(official.name).attributes == {"agency": AGENCY, "official": True}
    assert trust.agency_anchored


def test_an_agency_genesis_does_not_name_gets_its_first_key_from_two_administrators(anchored):
    """An agency with no key yet: one administrator is not enough, two are; its next key is countersigned
    by that one (two administrators no longer suffice once the agency has a key)."""
    api, d = anchored, anchored.domain
    first = SignerKey.generate("doj.gov/other-head")
    attrs = {"agency": OTHER, "category": "doj_listed_official"}
    _refused(api, key_registration(d.admin, first, ["requester"], attrs), "registration.agency_countersign")
    second = d.principal("ledger.test.example/admin-2", ["administrator"])
    _accepted(api, key_registration(d.admin, first, ["requester"], attrs, [second]))
    later = SignerKey.generate("doj.gov/other-deputy")
    _refused(api, key_registration(d.admin, later, ["requester"], attrs, [second]),
             "registration.agency_countersign")
    _accepted(api, key_registration(d.admin, later, ["requester"], attrs, [first]))
