"""Principals in processes of their own (ledger.domain.forked, MatcherPrincipal.match_bulk_split),
on SQLite and PostgreSQL: the same story, the same counts, lines in order; a failing or refused
principal stops cleanly and lands nothing more; openings cross processes with their commitments
recomputed."""

from __future__ import annotations

import pickle
import time

import pytest

from ledger.client import disclosure as dc
from ledger.commitments import commit
from ledger.demo import bulk_story
from ledger.domain.bulk import bulk_request, statement_items
from ledger.domain.forked import PrincipalProcessError, submit_bulk_forked
from ledger.domain.masterfile import MasterFile
from ledger.keys import SignerKey
from ledger.statement import parse_statement
from ledger.store.errors import AppendRefused, StoreError
from ledger.store.fsck import fsck

LINES = 3_000  # 24 chunks: the matcher's two processes take 12 each


def test_forked_story_counts_and_order(bulk_world, tmp_path):
    d, service, keys = bulk_world
    story = bulk_story.run(service, keys, MasterFile.generate(900, 11), LINES, tmp_path, seed=7, forked=True)
    assert story.counts == bulk_story.expected_counts(story.kinds)
    assert story.child_cpu_seconds["match"] > 0  # the work was done in the principals' processes
    state = d.ledger.recorder.chain.rules.state
    match = parse_statement(_note_of(d.ledger, story.match_id))
    items = list(statement_items(d.ledger, match, state.parts))
    # the two matcher ranges were merged in order, and each line's verdict is its own
    assert [it["line"] for it in items] == list(range(LINES))
    assert [it["matched"] for it in items] == [k != "unknown" for k in story.kinds]
    assert fsck(d.ledger.recorder).ok


def test_the_service_counts_its_wait_for_the_principal(bulk_world):
    """waited_seconds: the time this process sat idle for the principal's messages (a slow build shows)."""
    _d, service, keys = bulk_world
    lines = [dc.Line(f"9002{k:05d}", f"Name {k}", "1 Main St, Springfield, IL 62701", ("2024",), "reason")
             for k in range(200)]

    def build():
        time.sleep(1.0)  # the principal is slow to start: the service waits
        return bulk_request(keys["ice.dhs.gov/acting-director"], exception="6103(i)(2)", agency="DHS/ICE",
                            statute="8 USC 1253(a)(1)", purpose="criminal_investigation", purpose_text="x",
                            fields=["name", "address"], recipients=[dc.Recipient("Agent", "DHS/ICE")], lines=lines)

    start = time.perf_counter()
    out = submit_bulk_forked(service.submit_batch, build)
    total = time.perf_counter() - start
    assert len(out.appended) == 3  # the manifest and two chunks
    assert 0.9 <= out.waited_seconds < total  # (the child may begin its sleep just before the first wait)


def test_a_failing_principal_lands_nothing(bulk_world):
    d, service, _keys = bulk_world
    before = d.ledger.size()

    def build():
        raise ValueError("the requester's file is unreadable")

    with pytest.raises(PrincipalProcessError, match="ValueError: the requester's file is unreadable"):
        submit_bulk_forked(service.submit_batch, build)
    assert d.ledger.size() == before


def test_a_refused_batch_stops_the_principal(bulk_world):
    d, service, _keys = bulk_world
    before = d.ledger.size()
    stranger = SignerKey.generate("nobody.example/requester")  # never registered
    lines = [dc.Line(f"9001{k:05d}", f"Name {k}", "1 Main St, Springfield, IL 62701", ("2024",), "reason")
             for k in range(300)]

    def build():
        return bulk_request(stranger, exception="6103(i)(2)", agency="DHS/ICE", statute="8 USC 1253(a)(1)",
                            purpose="criminal_investigation", purpose_text="x", fields=["name", "address"],
                            recipients=[dc.Recipient("Agent", "DHS/ICE")], lines=lines)

    with pytest.raises((AppendRefused, StoreError)):
        submit_bulk_forked(service.submit_batch, build, batch_chunks=1)
    assert d.ledger.size() == before


def test_an_opening_is_rebuilt_when_unpickled():
    opening = commit("tin", "123456789")
    again = pickle.loads(pickle.dumps(opening))
    assert again.commitment == opening.commitment and again.salt == opening.salt
    # a value changed in transit gets the commitment of what arrived, never the one it claimed
    forged = pickle.loads(pickle.dumps(opening).replace(b"123456789", b"987654321"))
    assert forged.value == "987654321"
    assert forged.commitment == commit("tin", "987654321", opening.salt).commitment != opening.commitment


def _note_of(ledger, statement_id):
    from ledger.entry import parse_entry

    index = ledger.statement_index(statement_id)
    assert index is not None
    return parse_entry(ledger.entry(index)).statement
