"""Bulk form (FORMAT § 17.7): a manifest plus 128-item chunks is read like the inline form."""

from __future__ import annotations

from logbuild import LogBuilder
from pjfix import runner

from projections.queries import Queries


def test_bulk_request_match_review_release(settings):
    """A 130-line request in two chunks: filed at its last chunk; released lines carry pseudonyms."""
    log = LogBuilder.open(settings)
    try:
        log.request(130, "DHS/ICE", "6103(i)(2)", [True, False])
        log.request(2, "DHS/ICE", "6103(i)(2)", [True])
        log.match(0, [1, 2, None], [0, 2])
        log.review(0, [True, True, False])
        released: set = set()
        log.release(0, [True], released)
        r = runner(settings.db_url, page=3)
        r.catch_up()
        q = Queries(r.views)
        rid = log.requests[0].id
        status = q.request_status(rid)
        assert status["bulk"] and status["requested"] == status["lines_recorded"] == 130
        assert status["filed_index"] > status["index"]  # the last chunk, not the manifest
        assert status["matched"] == 87  # lines k % 3 == 2 (43 of them) matched nobody
        assert status["approved"] + status["refused"] == 130
        assert status["refused"] == 43 and status["released"] == 130  # no rules engine: the log says so
        year = int(status["recorded_at"][:4])
        row = next(x for x in q.annual_report(year) if x["exception"] == "6103(i)(2)")
        assert row["requests"] == 2 and row["bulk"] == 130 and row["other"] == 0
        assert row["instances_without_pseudonym"] == sum(1 for k in range(130) if k % 3 == 2)
        assert row["taxpayers"] == 2  # taxpayers 1 and 2 recur across lines
        audit = q.release_audit(release_ids=[status["releases"][0]["release_id"]], limit=1000)
        assert audit["lines_released"] == 130
        assert audit["no_usable_address"] == 65  # odd lines: no address supplied, classed placeholder
        assert len(audit["lines"].items) == 130
    finally:
        log.ledger.close()
