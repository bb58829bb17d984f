"""After release: corrections linked to what they correct, recipients' dispositions and use-freeze
attestations, and erasure of openings — refused while a hold applies, the chain left intact."""

from __future__ import annotations

import pytest
from domainfix import AGENCY, CRIMINAL

from ledger.authoring import disclosure as dc
from ledger.core.statement import parse_statement
from ledger.domain.bulk import bulk_request, read_chunks, submit_bulk
from ledger.domain.refusals import RuleRefusal
from ledger.domain.service import DisclosureService
from ledger.sealed import SealedKeys, SealedStore
from ledger.store.fsck import fsck


@pytest.fixture
def service(domain_any):
    keys = SealedKeys.random()
    with SealedStore(domain_any.ledger.settings.db_url, keys) as sealed:
        yield DisclosureService(domain_any.ledger, sealed, keys)


def _released(d, service):
    k = {
        "requester": d.principal("ice.dhs.gov/director", ["requester"], agency=AGENCY, category="agency_head"),
        "reviewer": d.principal("irs.gov/officer-1", ["reviewer"], agency="IRS"),
        "releaser": d.principal("irs.gov/releaser-1", ["releaser"], agency="IRS"),
        "matcher": d.principal("irs.gov/matcher", ["matcher"], agency="IRS"),
        "court": d.principal("uscourts.gov/judge", ["court"]),
        "recipient": d.principal("ice.dhs.gov/records-officer", ["recipient"], agency=AGENCY),
        "admin": d.admin,
    }
    service.submit(*_s(dc.safeguard_status(d.principal("tigta.gov/a", ["oversight"]), AGENCY, ssr_approved=True)))
    req = dc.request(k["requester"], exception="6103(i)(2)", agency=AGENCY, statute=CRIMINAL,
                     purpose="criminal_investigation", purpose_text="fictional", fields=["name", "address"],
                     recipients=[d.recipient()],
                     lines=[dc.Line(f"9{i:08d}", f"Name {i}", f"{i} Elm St, Boston, MA 02110") for i in range(2)],
                     seed=service.issue_seed(k["requester"].name, "request"))
    service.submit(req.note, req.openings)
    d.attest(req.statement_id)
    d.match_all(k["matcher"], req.statement_id, 2)
    rev = dc.review(k["reviewer"], req.statement_id, [(0, "approve", "ok"), (1, "approve", "ok")],
                    d.flags(req.statement_id))
    service.submit(rev.note)
    rel = dc.release(k["releaser"], req.statement_id, rev.statement_id, [0, 1], ["name", "address"], [0], b"file")
    service.submit(rel.note)
    return req, rel, k


def _s(sub):
    return sub.note, sub.openings


def test_correction_links_to_what_it_corrects(domain_any, service):
    """A correction of a release count lands linked; one naming nothing is blocked."""
    d = domain_any
    _req, rel, k = _released(d, service)
    fix = dc.correction(k["releaser"], rel.statement_id, "released_count", 47289, 47489, "recount",
                        seed=service.issue_seed(k["releaser"].name, "correction"))
    appended = service.submit(*_s(fix))
    assert d.engine.state.corrections[rel.statement_id] == [("released_count", 47289, 47489)]
    assert parse_statement(fix.note).body["corrects"] == rel.statement_id and appended.index > 0
    with pytest.raises(RuleRefusal) as info:
        service.submit(*_s(dc.correction(k["releaser"], "no-such-statement", "released_count", 1, 2, "x",
                                         seed=service.issue_seed(k["releaser"].name, "correction"))))
    assert info.value.rules == ["ref.corrects"]


def test_disposition_and_use_freeze(domain_any, service):
    """Recipients attest disposition of a release and a use freeze under an order forbidding use."""
    d = domain_any
    _req, rel, k = _released(d, service)
    service.submit(*_s(dc.disposition(k["recipient"], rel.statement_id, "destroyed", 2)))
    order = dc.court_order(k["court"], kind="injunction", court="D. Mass.", docket="26-cv-1",
                           covers={"agencies": [AGENCY]}, forbids=["use"],
                           seed=service.issue_seed(k["court"].name, "court_order"))
    service.submit(*_s(order))
    service.submit(*_s(dc.use_freeze(k["recipient"], order.statement_id, AGENCY)))
    with pytest.raises(RuleRefusal) as info:
        service.submit(*_s(dc.disposition(k["recipient"], "not-a-release", "destroyed", 1)))
    assert info.value.rules == ["ref.release"]


def test_erasure_refused_under_hold_then_erases_openings(domain_any, service):
    """Erasure is refused while a legal hold covers the request; after vacatur the openings go, the chain stays."""
    d = domain_any
    req, _rel, k = _released(d, service)
    commitments = [o.commitment for o in req.openings]
    hold = dc.court_order(k["court"], kind="legal_hold", court="D. Mass.", docket="26-cv-2",
                          covers={"requests": [req.statement_id]}, forbids=["use"],
                          seed=service.issue_seed(k["court"].name, "court_order"))
    service.submit(*_s(hold))
    admins = [k["admin"], d.principal("ledger.test.example/admin-2", ["administrator"])]
    with pytest.raises(RuleRefusal) as info:
        service.submit(*_s(dc.erasure(admins, req.statement_id, commitments, "retention_expired")))
    assert info.value.rules == ["hold.erasure"]
    assert len(service.sealed.get_many(commitments)) == len(commitments)
    service.submit(*_s(dc.vacatur(k["court"], hold.statement_id)))
    service.submit(*_s(dc.erasure(admins, req.statement_id, commitments, "retention_expired")))
    assert service.sealed.get_many(commitments) == {}
    assert fsck(d.ledger.store).ok


def test_erasure_of_bulk_lines_reseals_their_chunks_groups(domain_any, service):
    """A bulk chunk's openings are sealed as one group: erasing some lines' openings decrypts the
    groups holding them, drops exactly those and seals the rest again; other lines still open."""
    d = domain_any
    requester = d.principal("ice.dhs.gov/director", ["requester"], agency=AGENCY, category="agency_head")
    service.submit(*_s(dc.safeguard_status(d.principal("tigta.gov/a", ["oversight"]), AGENCY, ssr_approved=True)))
    lines = [dc.Line(f"9{i:08d}", f"Name {i}", f"{i} Elm St, Boston, MA 02110") for i in range(300)]
    bulk = bulk_request(requester, exception="6103(i)(2)", agency=AGENCY, statute=CRIMINAL,
                        purpose="criminal_investigation", purpose_text="fictional", fields=["name", "address"],
                        recipients=[d.recipient()], lines=lines,
                        seed=service.issue_seed(requester.name, "request"))
    submit_bulk(service.submit_batch, bulk)
    chunks = [c for _, c in read_chunks(d.ledger, d.engine.state.parts[bulk.statement_id])]
    groups = [c.id for c in chunks]
    line_commitments = [[v for f, v in sorted(item.items()) if f in ("tin", "name", "address", "reason") and v]
                        for c in chunks for item in c.envelope["body"]["lines"]]
    gone = line_commitments[5] + line_commitments[200]  # one line in chunk 0, one in chunk 1
    kept = line_commitments[6] + line_commitments[299]
    before = service.sealed.count()
    assert len(service.openings(gone + kept, groups)) == len(gone + kept)
    admins = [d.admin, d.principal("ledger.test.example/admin-2", ["administrator"])]
    service.submit(*_s(dc.erasure(admins, bulk.statement_id, gone, "retention_expired")))
    assert service.openings(gone, groups) == {}
    assert {o.commitment for o in service.openings(kept, groups).values()} == set(kept)
    assert service.sealed.count() == before - len(gone)
    first_chunk = sum(len(cs) for cs in line_commitments[:128])
    assert len(service.sealed.group_openings(groups[:1])[groups[0]]) == first_chunk - len(line_commitments[5])
    assert fsck(d.ledger.store).ok
