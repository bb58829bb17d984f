"""The real bulk write path (demo.bulk_story: a bulk request filed, matched, reviewed and
released in chunks through the disclosure service) as the views report it, against counts
computed from the line kinds the story drew."""

from __future__ import annotations

import pytest
from pjfix import runner

from demo import bulk_story
from ledger.authoring import disclosure as dc
from ledger.core.lines import chunk_count
from ledger.domain.masterfile import MasterFile
from ledger.domain.refusals import RuleRefusal
from ledger.domain.service import DisclosureService
from ledger.sealed import SealedKeys, SealedStore
from projections.queries import Queries

LINES = 700  # 6 chunks per bulk statement


def test_bulk_story_counts(settings, tmp_path):
    """Requested / matched / approved / refused / released and the (p)(3)(C) bulk column match."""
    from domainfix import open_domain

    d = open_domain(settings)
    keys = SealedKeys.random()
    service = DisclosureService(d.ledger, SealedStore(settings.db_url, keys), keys)
    try:
        principals = bulk_story.register(service, d.admin)
        story = bulk_story.run(service, principals, MasterFile.generate(900, 11), LINES, tmp_path, seed=7)
        expected = bulk_story.expected_counts(story.kinds)
        # A second release of an already released line is blocked, and the blocked entry names the request.
        first_released = story.kinds.index("exact")
        again = dc.release(principals["irs.gov/disclosure/release-0007"], story.request_id, story.review_id,
                           [first_released], ["name", "address"], [0], b"again")
        with pytest.raises(RuleRefusal):
            service.submit(again.note)
        r = runner(settings.db_url, page=7)
        r.catch_up()
        q = Queries(r.views)
        status = q.request_status(story.request_id)
        assert status["bulk"] and status["lines_recorded"] == LINES
        for key in ("requested", "matched", "approved", "refused", "released"):
            assert status[key] == expected[key], key
        assert [x["release_id"] for x in status["releases"]] == story.release_ids
        year = int(status["recorded_at"][:4])
        row = next(x for x in q.annual_report(year) if x["exception"] == status["exception"])
        assert row["bulk"] == row["total"] == expected["released"]
        assert row["instances_without_pseudonym"] == 0  # pseudonyms stored per chunk at ingest
        audit = q.release_audit(release_ids=story.release_ids)
        assert audit["lines_released"] == expected["released"] and audit["no_usable_address"] == 0
        assert status["filed_index"] > status["index"]
        assert [(b["statement_id"], b["rules"]) for b in status["blocked"]] == [
            (again.statement_id, ["release.already_released"])]
        assert chunk_count(LINES) > 1
    finally:
        d.ledger.close()
