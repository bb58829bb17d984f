"""The store's own contract, on SQLite and PostgreSQL: what it adds to eventsourcing's datastores.

One appender at a time holds the log's write lock while readers go on; an append returns where each
statement landed; an id already stored is settled before any rule runs; a refusal stores nothing.
"""

from __future__ import annotations

import threading
import time

import pytest

from ledger.authoring.trust import signed
from ledger.core.statement import parse_statement
from ledger.domain.refusals import AppendRefused
from ledger.store.chain import AppendRequest
from ledger.store.errors import Conflict
from ledger.store.ledger import Ledger


def _request(world, stmts):
    return AppendRequest([parse_statement(n) for n in stmts], [None] * len(stmts))


def test_append_returns_where_each_statement_landed(world):
    size = world.ledger.size()
    notes = [world.statement(n=i) for i in range(3)]
    results = world.ledger.store.append(_request(world, notes))
    assert [r.index for r in results] == [size, size + 1, size + 2]
    assert [r.statement_id for r in results] == [parse_statement(n).id for n in notes]
    assert all(not r.duplicate for r in results)
    for r in results:
        assert world.ledger.entry(r.index)  # stored, at that index
    assert world.ledger.size() == size + 3


def test_an_id_already_stored_is_settled_before_the_rules_run(world):
    calls = []

    def rules(stmt, index, trust, db):
        calls.append(stmt.id)
        return ["test.refuse_all"]

    note = world.statement(n=1)
    world.ledger.append(note)  # stored before the rules are in force
    world.with_rules(rules)
    before = world.row_counts()
    with pytest.raises(Conflict):
        world.ledger.store.append(_request(world, [note]))
    assert calls == [] and world.row_counts() == before  # no rule saw it, no blocked entry
    again = world.ledger.append(note)  # the ledger answers with the original
    assert again.duplicate and calls == []


def test_a_refused_append_stores_nothing(world):
    stranger_note = signed([world.admin], "request", {"n": 1})  # the administrator may not file requests
    before = world.export_bytes()
    with pytest.raises(AppendRefused):
        world.ledger.store.append(_request(world, [world.statement(n=2), stranger_note]))
    assert world.export_bytes() == before


def test_one_appender_at_a_time_and_readers_go_on(world):
    """While one transaction holds the log's write lock, another store's append waits for it and a
    reader does not; the waiting append lands after, on the head the first one left."""
    other = Ledger(world.settings)
    try:
        landed: list[int] = []
        note = world.statement(n=99)
        with world.ledger.store.appending():
            worker = threading.Thread(target=lambda: landed.extend(
                a.index for a in other.store.append(_request(world, [note]))))
            worker.start()
            time.sleep(0.5)
            assert not landed and worker.is_alive()  # waiting for the lock
            start = time.monotonic()
            assert other.size() == world.ledger.size()  # a read does not wait
            assert time.monotonic() - start < 0.4
        worker.join(timeout=30)
        assert landed == [world.ledger.size() - 1]
        assert world.ledger.fsck().ok
    finally:
        other.close()


def test_nothing_outside_the_store_imports_its_insides():
    """The chain writer, the tree, the schema and the database module are the store's own: the rest of
    the code (the CLI, the domain, the API, the projections, the scripts) goes through the Ledger."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    inside = {"ledger.store.chain", "ledger.store.tree", "ledger.store.schema", "ledger.store.db"}
    found = []
    for package in ("ledger", "api", "projections", "usecases", "scripts"):
        for path in (root / package).rglob("*.py"):
            if path.is_relative_to(root / "ledger" / "store"):
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                found += [f"{path.relative_to(root)}: {n}" for n in names if n in inside]
    assert found == []
