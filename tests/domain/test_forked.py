"""Principals in processes of their own (bench.forked, MatcherPrincipal.match_bulk_split),
on SQLite and PostgreSQL: the same story, the same counts, lines in order; a failing or refused
principal stops cleanly and lands nothing more; openings cross processes with their commitments
recomputed."""

from __future__ import annotations

import dataclasses
import gc
import pickle
import time

import pytest

from bench.forked import PrincipalProcessError, submit_bulk_forked
from demo import bulk_story
from ledger.authoring import disclosure as dc
from ledger.core.bundle_format import statement_commitments
from ledger.core.commitments import commit
from ledger.core.keys import SignerKey
from ledger.core.statement import parse_statement
from ledger.domain.bulk import bulk_request, read_chunks, statement_items
from ledger.domain.masterfile import MasterFile
from ledger.domain.refusals import AppendRefused
from ledger.heap import WORKER_GC_THRESHOLDS
from ledger.store.errors import StoreError
from ledger.store.fsck import fsck

LINES = 3_000  # 24 chunks: the matcher's two processes take 12 each


def test_forked_story_counts_and_order(bulk_world, tmp_path):
    d, service, keys = bulk_world
    story = bulk_story.run(service, keys, MasterFile.generate(900, 11), LINES, tmp_path, seed=7, forked=True)
    assert story.counts == bulk_story.expected_counts(story.kinds)
    assert story.child_cpu_seconds["match"] > 0  # the work was done in the principals' processes
    state = d.ledger.rules.state
    match = parse_statement(_note_of(d.ledger, story.match_id))
    items = list(statement_items(d.ledger, match, state.parts))
    # the two matcher ranges were merged in order, and each line's verdict is its own
    assert [it["line"] for it in items] == list(range(LINES))
    assert [it["matched"] for it in items] == [k != "unknown" for k in story.kinds]
    assert fsck(d.ledger.store).ok


def test_the_service_counts_its_wait_for_the_principal(bulk_world):
    """waited_seconds: the time this process sat idle for the principal's messages (a slow build shows)."""
    _d, service, keys = bulk_world
    lines = [dc.Line(f"9002{k:05d}", f"Name {k}", "1 Main St, Springfield, IL 62701", ("2024",), "reason")
             for k in range(200)]
    seed = _seed(service, keys)

    def build():
        time.sleep(1.0)  # the principal is slow to start: the service waits
        return bulk_request(keys["ice.dhs.gov/acting-director"], exception="6103(i)(2)", agency="DHS/ICE",
                            statute="8 USC 1253(a)(1)", purpose="criminal_investigation", purpose_text="x",
                            fields=["name", "address"], recipients=[dc.Recipient("Agent", "DHS/ICE")], lines=lines,
                            seed=seed)

    start = time.perf_counter()
    out = submit_bulk_forked(service.submit_batch, build)
    total = time.perf_counter() - start
    assert len(out.appended) == 3  # the manifest and two chunks
    assert 0.9 <= out.waited_seconds < total  # (the child may begin its sleep just before the first wait)


def test_the_principals_process_settles_its_heap(bulk_world, tmp_path):
    """The principal's process freezes what it inherited and raises its collector's thresholds
    (``settle_worker_heap``); this process's collector is left as it was."""
    _d, service, keys = bulk_world
    before = gc.get_threshold(), gc.get_freeze_count()
    lines = [dc.Line(f"9004{k:05d}", f"Name {k}", "1 Main St, Springfield, IL 62701", ("2024",), "reason")
             for k in range(10)]
    seed, seen = _seed(service, keys), tmp_path / "gc-state"

    def build():  # runs in the principal's process: it writes down its collector's state
        seen.write_text(f"gc-{gc.get_threshold()[0]}-{'frozen' if gc.get_freeze_count() > 0 else 'not-frozen'}")
        return bulk_request(keys["ice.dhs.gov/acting-director"], exception="6103(i)(2)", agency="DHS/ICE",
                            statute="8 USC 1253(a)(1)", purpose="criminal_investigation", purpose_text="x",
                            fields=["name", "address"], recipients=[dc.Recipient("Agent", "DHS/ICE")], lines=lines,
                            seed=seed)

    out = submit_bulk_forked(service.submit_batch, build)
    assert out.statement_id == seed.statement_id
    assert seen.read_text() == f"gc-{WORKER_GC_THRESHOLDS[0]}-frozen"
    assert (gc.get_threshold(), gc.get_freeze_count()) == before


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


def _seed(service, keys):
    """The requester's salt seed, issued here before the principal's process is forked."""
    return service.issue_seed(keys["ice.dhs.gov/acting-director"].name, "request")


def _request_build(keys, n, drop_opening_of_chunk=None, seed=None):
    lines = [dc.Line(f"9003{k:05d}", f"Name {k}", "1 Main St, Springfield, IL 62701", ("2024",), "reason")
             for k in range(n)]

    def build():
        bulk = bulk_request(keys["ice.dhs.gov/acting-director"], exception="6103(i)(2)", agency="DHS/ICE",
                            statute="8 USC 1253(a)(1)", purpose="criminal_investigation", purpose_text="x",
                            fields=["name", "address"], recipients=[dc.Recipient("Agent", "DHS/ICE")], lines=lines,
                            seed=seed)
        if drop_opening_of_chunk is None:
            return bulk
        source = bulk.source

        def short(c):
            items, openings = source(c)
            return items, (openings[:-1] if c == drop_opening_of_chunk else openings)
        return dataclasses.replace(bulk, source=short)
    return build


def test_the_service_prepares_in_a_second_process(bulk_world):
    """stages=(prepare, finish): the checks and the encryption run in the service's second process,
    the store and the append here; the result is the same entries and the same sealed openings."""
    d, service, keys = bulk_world
    before, sealed_before = d.ledger.size(), service.sealed.count()
    seed = _seed(service, keys)
    out = submit_bulk_forked(service.submit_batch, _request_build(keys, 600, seed=seed), batch_chunks=2,
                             stages=service.stages([seed.statement_id]))
    assert len(out.appended) == 1 + 5 and d.ledger.size() == before + 6  # the manifest and five chunks
    assert [a.index for a in out.appended] == list(range(before, before + 6))
    manifest_openings = len(statement_commitments(parse_statement(out.manifest_note)))  # its recipients
    assert service.sealed.count() == sealed_before + 600 * 4 + manifest_openings  # each line's four, once
    parts = d.ledger.rules.state.parts
    items = list(statement_items(d.ledger, parse_statement(out.manifest_note), parts))
    chunks = [c.id for _, c in read_chunks(d.ledger, parts[out.statement_id][:1])]
    assert service.openings([it["tin"] for it in items[:3]]) == {}  # a chunk's openings are its group's
    opened = service.openings([it["tin"] for it in items[:3]], chunks)
    assert sorted(o.value for o in opened.values()) == ["900300000", "900300001", "900300002"]
    assert fsck(d.ledger.store).ok


def test_a_batch_the_second_process_refuses_lands_nothing(bulk_world):
    """A refusal in prepare (a chunk's opening missing) reaches the caller as AppendRefused with its
    rule; nothing was stored, neither entries nor openings."""
    d, service, keys = bulk_world
    before, sealed_before = d.ledger.size(), service.sealed.count()
    seed = _seed(service, keys)
    with pytest.raises(AppendRefused) as refused:
        submit_bulk_forked(service.submit_batch, _request_build(keys, 300, drop_opening_of_chunk=0, seed=seed),
                           stages=service.stages([seed.statement_id]))
    assert refused.value.rule == "openings.missing"
    assert d.ledger.size() == before and service.sealed.count() == sealed_before


def test_a_refusal_when_appending_erases_the_prepared_openings(bulk_world):
    """Refused by the ledger (the signer's key revoked after its seed was issued) after the second
    process prepared it: the openings finish stored for that batch are erased again."""
    from ledger.authoring.trust import key_revocation

    d, service, keys = bulk_world
    seed = _seed(service, keys)
    requester = keys["ice.dhs.gov/acting-director"]
    d.ledger.append(key_revocation(d.admin, requester.name, requester.verifier))
    before, sealed_before = d.ledger.size(), service.sealed.count()
    with pytest.raises(AppendRefused) as refused:
        submit_bulk_forked(service.submit_batch, _request_build(keys, 300, seed=seed), batch_chunks=1,
                           stages=service.stages([seed.statement_id]))
    assert refused.value.rule == "trust.revoked_key"
    assert d.ledger.size() == before and service.sealed.count() == sealed_before


def test_a_failing_second_process_is_reported(bulk_world):
    d, service, keys = bulk_world
    before = d.ledger.size()

    def prepare(notes, openings):
        raise ValueError("out of memory, say")

    with pytest.raises(PrincipalProcessError, match="checker: ValueError: out of memory, say"):
        submit_bulk_forked(service.submit_batch, _request_build(keys, 300), stages=(prepare, service.finish))
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
    from ledger.core.entry import parse_entry

    index = ledger.statement_index(statement_id)
    assert index is not None
    return parse_entry(ledger.entry(index)).statement
