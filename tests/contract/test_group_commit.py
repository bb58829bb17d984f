"""Group commit: concurrent appends in one process share transactions, yet each statement
keeps its own outcome — refusals are taken out of the group, rule refusals recorded once."""

from __future__ import annotations

import threading

from ledger.authoring.trust import signed
from ledger.core.entry import parse_entry
from ledger.core.keys import SignerKey
from ledger.core.statement import parse_statement
from ledger.domain.refusals import AppendRefused, RuleRefusal
from ledger.store.fsck import fsck


def test_concurrent_appends_each_get_their_own_outcome(world):
    """16 threads append good, rule-refused and badly signed statements at once."""
    world.with_rules(lambda stmt, index, trust, db: (
        ["test.forbidden"] if stmt.body.get("forbidden") else []))
    stranger = SignerKey.generate("stranger.example/x")
    notes = []
    for i in range(160):
        if i % 10 == 3:
            notes.append(("rule", signed([world.requester], "request", {"forbidden": True, "n": i})))
        elif i % 10 == 7:
            notes.append(("trust", signed([stranger], "request", {"n": i})))
        else:
            notes.append(("ok", signed([world.requester], "request", {"n": i})))
    outcomes: dict[int, object] = {}
    start = world.ledger.size()

    def worker(offset: int) -> None:
        for i in range(offset, len(notes), 16):
            try:
                outcomes[i] = world.ledger.append(notes[i][1])
            except (AppendRefused, RuleRefusal) as e:
                outcomes[i] = e

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, (kind, _) in enumerate(notes):
        outcome = outcomes[i]
        if kind == "ok":
            assert not isinstance(outcome, Exception), outcome
        elif kind == "rule":
            assert isinstance(outcome, RuleRefusal) and outcome.rules == ["test.forbidden"]
        else:
            assert isinstance(outcome, AppendRefused) and outcome.rule == "trust.unknown_key"
    ok = [outcomes[i] for i, (k, _) in enumerate(notes) if k == "ok"]
    blocked = [outcomes[i] for i, (k, _) in enumerate(notes) if k == "rule"]
    assert len({a.index for a in ok}) == len(ok) == 128
    assert len({b.blocked_index for b in blocked}) == len(blocked) == 16
    assert world.ledger.size() == start + 128 + 16
    for a in ok:
        assert parse_entry(world.ledger.entry(a.index)).statement == notes[[n for _, n in notes].index(
            parse_entry(world.ledger.entry(a.index)).statement)][1]
    for b in blocked:
        assert parse_statement(parse_entry(world.ledger.entry(b.blocked_index)).statement).type == "blocked"
    assert fsck(world.ledger.store).ok


def test_same_statement_submitted_twice_at_once(world):
    """Two threads submitting the same statement: one entry, both told its index."""
    note = world.statement(n=1)
    results = []
    threads = [threading.Thread(target=lambda: results.append(world.ledger.append(note))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.index for r in results}) == 1
    assert sum(not r.duplicate for r in results) == 1
