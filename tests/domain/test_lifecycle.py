"""Separation of duties, roles, match rules and legal holds — each tried and refused."""

from __future__ import annotations

import multiprocessing as mp
import time

import pytest
from domainfix import AGENCY, CRIMINAL, run_exception

from ledger.authoring import disclosure as dc
from ledger.core.entry import parse_entry
from ledger.core.statement import parse_statement
from ledger.domain.refusals import AppendRefused, RuleRefusal
from ledger.store.fsck import fsck

CODE = "6103(i)(2)"


def _setup(d, lines=2, **match):
    req_key = d.principal("ice.dhs.gov/director", ["requester", "reviewer"], agency=AGENCY, category="agency_head")
    rev = d.principal("irs.gov/officer-1", ["reviewer", "releaser"], agency="IRS")
    rel = d.principal("irs.gov/releaser-1", ["releaser"], agency="IRS")
    matcher = d.principal("irs.gov/matcher", ["matcher"], agency="IRS")
    court = d.principal("uscourts.gov/judge", ["court"])
    tigta = d.principal("tigta.gov/auditor", ["oversight"])
    d.submit(dc.safeguard_status(tigta, AGENCY, ssr_approved=True))
    req = dc.request(req_key, exception=CODE, agency=AGENCY, statute=CRIMINAL, purpose="criminal_investigation",
                     purpose_text="p", fields=["name", "address"], recipients=[d.recipient()],
                     lines=[dc.Line(f"9{k:08d}", f"Name {k}", f"{k} Elm St, Boston, MA 02110") for k in range(lines)])
    d.submit(req)
    d.attest(req.statement_id)
    d.match_all(matcher, req.statement_id, lines, **match)
    return req, {"requester": req_key, "reviewer": rev, "releaser": rel, "court": court, "matcher": matcher}


def _review(d, req, reviewer, lines=2, decision="approve"):
    rev = dc.review(reviewer, req.statement_id, [(k, decision, "ok") for k in range(lines)], d.flags(req.statement_id))
    d.submit(rev)
    return rev


def _blocked(d, info, rule):
    assert rule in info.value.rules, info.value
    entry = parse_statement(parse_entry(d.ledger.entry(info.value.blocked_index)).statement)
    assert entry.type == "blocked" and rule in entry.body["rules"]


def test_requester_cannot_review_own_request(domain_any):
    """A principal holding both roles still may not review a request they filed."""
    d = domain_any
    req, k = _setup(d)
    with pytest.raises(RuleRefusal) as info:
        _review(d, req, k["requester"])
    _blocked(d, info, "sod.reviewer_is_requester")


def test_reviewer_cannot_release(domain_any):
    """The reviewer of a request may not also release it."""
    d = domain_any
    req, k = _setup(d)
    rev = _review(d, req, k["reviewer"])
    with pytest.raises(RuleRefusal) as info:
        d.submit(dc.release(k["reviewer"], req.statement_id, rev.statement_id, [0, 1], ["name", "address"], [0], b"f"))
    _blocked(d, info, "sod.releaser")


def test_role_not_allowed_stores_nothing(domain_any):
    """A matcher signing a release fails the policy: refused, nothing stored."""
    d = domain_any
    req, k = _setup(d)
    rev = _review(d, req, k["reviewer"])
    size = d.ledger.size()
    with pytest.raises(AppendRefused) as info:
        d.submit(dc.release(k["matcher"], req.statement_id, rev.statement_id, [0], ["address"], [0], b"f"))
    assert info.value.rule == "trust.role"
    assert d.ledger.size() == size


def test_tin_only_match_never_releases_address(domain_any):
    """Approving an address release for a TIN-only match is blocked."""
    d = domain_any
    req, k = _setup(d, basis=("tin",))
    with pytest.raises(RuleRefusal) as info:
        _review(d, req, k["reviewer"])
    _blocked(d, info, "match.tin_only")


def test_placeholder_address_never_released(domain_any):
    """An unusable requester-supplied address blocks approval of an address release."""
    d = domain_any
    req, k = _setup(d, basis=("tin",), address_class="placeholder", usable=False)
    with pytest.raises(RuleRefusal) as info:
        _review(d, req, k["reviewer"])
    _blocked(d, info, "match.address_unusable")


def test_refused_lines_cannot_be_released(domain_any):
    """Only approved lines are released."""
    d = domain_any
    req, k = _setup(d)
    rev = _review(d, req, k["reviewer"], decision="refuse")
    with pytest.raises(RuleRefusal) as info:
        d.submit(dc.release(k["releaser"], req.statement_id, rev.statement_id, [0], ["address"], [0], b"f"))
    _blocked(d, info, "release.unapproved_lines")


def test_review_must_log_server_red_flags(domain_any):
    """A review that omits the server's red flags is blocked."""
    d = domain_any
    req, k = _setup(d)
    bad = dc.review(k["reviewer"], req.statement_id, [(0, "approve", "ok"), (1, "approve", "ok")], ["made_up"])
    with pytest.raises(RuleRefusal) as info:
        d.submit(bad)
    _blocked(d, info, "review.red_flags")


def test_injunction_blocks_release_until_vacated(domain_any):
    """A legal hold covering the agency forbids the release; after vacatur it lands."""
    d = domain_any
    req, k = _setup(d)
    rev = _review(d, req, k["reviewer"])
    order = dc.court_order(k["court"], kind="injunction", court="D. Mass.", docket="25-cv-1",
                           covers={"agencies": [AGENCY]}, forbids=["release", "use"])
    d.submit(order)
    release = dc.release(k["releaser"], req.statement_id, rev.statement_id, [0, 1], ["name", "address"], [0], b"f")
    with pytest.raises(RuleRefusal) as info:
        d.submit(release)
    _blocked(d, info, "hold.active")
    d.submit(dc.vacatur(k["court"], order.statement_id))
    again = dc.release(k["releaser"], req.statement_id, rev.statement_id, [0, 1], ["name", "address"], [0], b"f")
    d.submit(again)
    assert fsck(d.ledger.store).ok


def test_withdrawn_request_cannot_be_reviewed(domain_any):
    """After withdrawal, review is refused."""
    d = domain_any
    req, k = _setup(d)
    d.submit(dc.withdrawal(k["requester"], req.statement_id))
    with pytest.raises(RuleRefusal) as info:
        _review(d, req, k["reviewer"])
    _blocked(d, info, "request.withdrawn")


def test_complete_i2_path_on_each_backend(domain_any):
    """The (i)(2) happy path runs on SQLite and PostgreSQL alike."""
    ids = run_exception(domain_any, CODE)
    assert domain_any.engine.state.requests[ids["request"]].released_lines == {0, 1, 2}


@pytest.mark.slow
def test_injunction_recorded_during_concurrent_releases(domain_any):
    """Releases appended by 3 processes while an injunction lands: none lands after it."""
    d = domain_any
    req_key = d.principal("ice.dhs.gov/director", ["requester"], agency=AGENCY, category="agency_head")
    reviewer = d.principal("irs.gov/officer-1", ["reviewer"], agency="IRS")
    releasers = [d.principal(f"irs.gov/releaser-{i}", ["releaser"], agency="IRS") for i in range(3)]
    matcher = d.principal("irs.gov/matcher", ["matcher"], agency="IRS")
    court = d.principal("uscourts.gov/judge", ["court"])
    d.submit(dc.safeguard_status(d.principal("tigta.gov/a", ["oversight"]), AGENCY, ssr_approved=True))
    notes: list[list[str]] = [[], [], []]
    for i in range(90):
        req = dc.request(req_key, exception=CODE, agency=AGENCY, statute=CRIMINAL, purpose="criminal_investigation",
                         purpose_text="p", fields=["address"], recipients=[d.recipient()],
                         lines=[dc.Line(f"9{i:08d}", f"N {i}", f"{i} Oak St, Austin, TX 73301")])
        d.submit(req)
        d.attest(req.statement_id)
        d.match_all(matcher, req.statement_id, 1)
        rev = dc.review(reviewer, req.statement_id, [(0, "approve", "ok")], d.flags(req.statement_id))
        d.submit(rev)
        w = i % 3
        notes[w].append(dc.release(releasers[w], req.statement_id, rev.statement_id, [0], ["address"], [0],
                                   b"f").note)
    from release_workers import release_worker

    start = d.ledger.size()
    ctx = mp.get_context("spawn")
    with ctx.Pool(3) as pool:
        jobs = [pool.apply_async(release_worker, (d.ledger.settings.db_url, str(d.ledger.settings.key_dir), n, 0.02))
                for n in notes]
        deadline = time.monotonic() + 120
        while d.ledger.size() < start + 20 and time.monotonic() < deadline:
            time.sleep(0.02)
        order = dc.court_order(court, kind="legal_hold", court="D. Mass.", docket="25-cv-2",
                               covers={"exceptions": [CODE]}, forbids=["release"])
        hold = d.submit(order)
        results = [j.get(timeout=300) for j in jobs]
    landed = sorted(i for r in results for i in r["landed"])
    blocked = [b for r in results for b in r["blocked"]]
    assert landed and blocked, "the hold should land in the middle of the releases"
    assert max(landed) < hold.index
    assert all(idx > hold.index and "hold.active" in rules for idx, rules in blocked)
    assert len(landed) + len(blocked) == 90
    assert fsck(d.ledger.store).ok


def test_inspection_is_logged_with_commitments_only(domain_any, tmp_path):
    """An oversight read of a taxpayer's history is a signed entry; the pseudonym is committed, not clear."""
    from ledger.domain.service import DisclosureService
    from ledger.sealed import SealedKeys, SealedStore

    d = domain_any
    auditor = d.principal("tigta.gov/auditor-9", ["oversight"], agency="TIGTA")
    keys = SealedKeys.random()
    with SealedStore(d.ledger.settings.db_url, keys) as sealed:
        service = DisclosureService(d.ledger, sealed, keys)
        pseudonym = keys.pseudonym("900700001")
        sub = dc.inspection(auditor, view="taxpayer_history", subject_pseudonym=pseudonym, role="oversight",
                            purpose="audit of (i)(2) releases", seed=service.issue_seed(auditor.name, "inspection"))
        appended = service.submit(sub.note, sub.openings)
        entry = d.ledger.entry(appended.index)
        assert pseudonym.encode() not in entry and b"audit of" not in entry
        from ledger.core.entry import parse_entry
        from ledger.core.statement import parse_statement

        assert parse_statement(parse_entry(entry).statement).body["reader"] == "tigta.gov/auditor-9"  # who looked
        with d.ledger.store.reading() as db:  # whose history: stored at ingest, outside the log
            assert db.all(f"SELECT line, pseudonym FROM {db.t('dl_pseudonyms')} WHERE idx = %s",
                          (appended.index,)) == [(0, pseudonym)]
        not_a_pseudonym = dc.inspection(auditor, view="taxpayer_history", subject_pseudonym="900700001",
                                        role="oversight", purpose="x",
                                        seed=service.issue_seed(auditor.name, "inspection"))
        size = d.ledger.size()
        with pytest.raises(AppendRefused) as refused:
            service.submit(not_a_pseudonym.note, not_a_pseudonym.openings)
        assert refused.value.rule == "openings.subject" and d.ledger.size() == size
        with pytest.raises(AppendRefused):
            service.submit(sub.note.replace("taxpayer_history", "x"), sub.openings)  # altered after signing
        assert d.ledger.size() == size


def test_release_needs_the_recipients_own_attestation(domain_any):
    """The requester's word is not enough: without the recipient's signed attestation the release is blocked."""
    d = domain_any
    req_key = d.principal("ice.dhs.gov/director", ["requester"], agency=AGENCY, category="agency_head")
    reviewer = d.principal("irs.gov/officer-1", ["reviewer"], agency="IRS")
    releaser = d.principal("irs.gov/releaser-1", ["releaser"], agency="IRS")
    matcher = d.principal("irs.gov/matcher", ["matcher"], agency="IRS")
    d.submit(dc.safeguard_status(d.principal("tigta.gov/a", ["oversight"]), AGENCY, ssr_approved=True))
    req = dc.request(req_key, exception=CODE, agency=AGENCY, statute=CRIMINAL, purpose="criminal_investigation",
                     purpose_text="p", fields=["address"], recipients=[d.recipient()],
                     lines=[dc.Line("900000001", "N", "1 Oak St, Austin, TX 73301")])
    d.submit(req)
    d.match_all(matcher, req.statement_id, 1)
    rev = dc.review(reviewer, req.statement_id, [(0, "approve", "ok")], d.flags(req.statement_id))
    d.submit(rev)
    release = dc.release(releaser, req.statement_id, rev.statement_id, [0], ["address"], [0], b"f")
    with pytest.raises(RuleRefusal) as info:
        d.submit(release)
    _blocked(d, info, f"{CODE}.recipient_attestation")
    outsider = d.principal("other.example.gov/officer", ["recipient"], agency="DOJ/OTHER")
    with pytest.raises(RuleRefusal) as info:
        d.submit(dc.recipient_attestation(outsider, req.statement_id, 0))
    _blocked(d, info, "attestation.agency")
    d.attest(req.statement_id)
    d.submit(dc.release(releaser, req.statement_id, rev.statement_id, [0], ["address"], [0], b"f"))


def test_blocked_entries_name_the_request_they_were_about(domain_any):
    """A refused release is recorded as `blocked` with refers_to = its request (for counts per request)."""
    from ledger.core.entry import parse_entry
    from ledger.core.statement import parse_statement
    from ledger.domain.refusals import RuleRefusal

    d = domain_any
    ids = run_exception(d, "6103(i)(2)")
    releaser = ids["keys"]["releaser"]
    again = dc.release(releaser, ids["request"], ids["review"], [0], ["name", "address"], [0], b"again")
    with pytest.raises(RuleRefusal) as refused:
        d.submit(again)
    blocked = parse_statement(parse_entry(d.ledger.entry(refused.value.blocked_index)).statement)
    assert blocked.body["refers_to"] == ids["request"] and blocked.body["statement_id"] == again.statement_id
