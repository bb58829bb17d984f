"""The query API: pagination, date filters, typed errors for bad input, inspections linked by
the ingest pseudonym, match results held back until their pseudonyms land, exact tracking."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from logbuild import LogBuilder, h
from pjfix import dump, runner

from projections.errors import BadQuery, TrackingConflict, UnknownView
from projections.queries import Queries
from projections.source import LogSource


@pytest.fixture
def log(settings):
    b = LogBuilder.open(settings)
    yield b
    b.ledger.close()


def _history_log(log: LogBuilder) -> None:
    released: set = set()
    for i in range(4):
        log.request(5, "DHS/ICE" if i % 2 else "DOJ/FBI", "6103(i)(2)", [True, False])
        log.match(i, [7, 7, None, i, 7], [0, 2])  # taxpayer 7 on three lines of every request
        log.review(i, [True, True, False])
        log.release(i, [True], released)
    log.inspection(7)
    log.inspection(3)


def test_history_pages_cover_every_event_once(log, settings):
    """Paging a taxpayer's history with a small limit returns every event exactly once, in order."""
    _history_log(log)
    r = runner(settings.db_url)
    r.catch_up()
    q = Queries(r.views)
    pseudonym = h("pseudonym", 7)
    everything = q.taxpayer_history(pseudonym, limit=1000).items
    assert [e["kind"] for e in everything].count("request") == 12
    assert [e["kind"] for e in everything].count("release") == 12
    assert [e["kind"] for e in everything].count("inspection") == 1  # linked through dl_pseudonyms (idx, 0)
    paged, after = [], None
    while True:
        page = q.taxpayer_history(pseudonym, limit=5, after=after)
        paged.extend(page.items)
        if page.next_after is None:
            break
        after = page.next_after
    assert paged == everything
    keys = [(e["index"], e["kind"], e.get("line", 0)) for e in everything]
    assert len(set(keys)) == len(keys)
    assert q.taxpayer_history(h("pseudonym", 999)).items == []
    future = q.taxpayer_history(pseudonym, since="2999-01-01")
    assert future.items == []


def test_disclosures_by_agency_and_recipient(log, settings):
    """Totals by agency, exception and recipient agency count releases, lines and taxpayers."""
    _history_log(log)
    r = runner(settings.db_url)
    r.catch_up()
    q = Queries(r.views)
    by_agency = {x["agency"]: x for x in q.disclosure_totals("agency")}
    assert by_agency["DHS/ICE"]["releases"] == 2 and by_agency["DHS/ICE"]["instances"] == 10
    by_recipient = {x["recipient_agency"]: x for x in q.disclosure_totals("recipient_agency")}
    assert set(by_recipient) == {"DHS/ICE", "DOJ/FBI"}
    page = q.disclosures(agency="DOJ/FBI", limit=1)
    assert len(page.items) == 1 and page.next_after is not None
    rest = q.disclosures(agency="DOJ/FBI", limit=1, after=page.next_after)
    assert rest.items[0]["index"] > page.items[0]["index"]


BAD_CALLS = [
    lambda q: q.taxpayer_history("not-hex"),
    lambda q: q.taxpayer_history("a" * 64, limit=0),
    lambda q: q.taxpayer_history("a" * 64, limit=10_000),
    lambda q: q.taxpayer_history("a" * 64, after="1.x"),
    lambda q: q.taxpayer_history("a" * 64, since="2026-02-30"),
    lambda q: q.disclosures(since="2026-02-01", until="2026-01-01"),
    lambda q: q.disclosure_totals("tin"),
    lambda q: q.annual_report("2025"),
    lambda q: q.request_status("bad id with spaces"),
    lambda q: q.release_audit(release_ids="one-id"),
    lambda q: q.checkpoints(after="-1"),
]


def test_bad_input_is_a_typed_error_and_changes_nothing(log, settings):
    """Each malformed argument raises BadQuery; the views are unchanged."""
    _history_log(log)
    r = runner(settings.db_url)
    r.catch_up()
    before = dump(r.views)
    for i, call in enumerate(BAD_CALLS):
        with pytest.raises(BadQuery):
            call(Queries(r.views))
            pytest.fail(f"bad call {i} was accepted")
    assert dump(r.views) == before


def test_unknown_projection_name(log, settings):
    with pytest.raises(UnknownView):
        runner(settings.db_url).rebuild("nope")


def test_match_without_pseudonyms_is_held_back(log, settings):
    """A fresh match result whose pseudonyms have not landed stops the page before it."""
    log.request(2, "DHS/ICE", "6103(i)(2)", [True])
    head_before_match = log.ledger.size()
    log._append("matcher", "match_result", {
        "request": log.requests[0].id, "matcher_version": "m", "address_rules_version": "a", "red_flags": [],
        "lines": [{"line": 0, "matched": True, "match_basis": ["tin"], "method": "TIN", "address_class": "street",
                   "address_usable": True, "irs_address_differs": False, "taxpayer": h("x")}]})
    r = runner(settings.db_url)
    r.catch_up()
    assert r.tracking.position("disclosures") == head_before_match  # waiting for the service's rows
    r.source = LogSource(r.source.db, grace=timedelta(0))  # past the grace period: applied without them
    r.catch_up()
    assert r.tracking.position("disclosures") == log.ledger.size()


def test_a_runner_that_lost_the_race_writes_nothing(log, settings):
    """If another runner advanced the projection, the page is refused and rolled back."""
    _history_log(log)
    a, b = runner(settings.db_url, page=4), runner(settings.db_url, page=4)
    a.create()
    p = a.projections["disclosures"]
    stale = a.tracking.position(p.name)
    for _ in range(4):
        b.step(b.projections["disclosures"])
    before = dump(a.views)
    with a.views.engine.begin() as conn, pytest.raises(TrackingConflict):
        a.tracking.lock(conn, p.name, stale)
    assert dump(a.views) == before
    with a.views.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(a.t.line)).scalar() > 0
    assert a.tracking.max_tracking_id(p.name) == a.tracking.position(p.name) - 1


def test_a_group_step_from_a_stale_position_writes_nothing(log, settings):
    """Projections stepped together from a position one of them has left: refused, rolled back, none moved."""
    _history_log(log)
    a, b = runner(settings.db_url, page=4), runner(settings.db_url, page=4)
    a.create()
    group = [a.projections["disclosures"], a.projections["inspections"]]
    stale = a.tracking.position("disclosures")
    assert a.tracking.positions(["disclosures", "inspections"]) == {"disclosures": stale, "inspections": stale}
    b.step(b.projections["inspections"])  # only one of the two moves on
    moved = a.tracking.position("inspections")
    assert moved > stale
    before = dump(a.views)
    with pytest.raises(TrackingConflict):
        a.step_group(group, stale)
    assert dump(a.views) == before
    assert a.tracking.positions(["disclosures", "inspections"]) == {"disclosures": stale, "inspections": moved}
    assert a.step_group([group[0]], stale) == moved - stale  # alone, from its own position, it steps
