"""Tampering with the stored rows is found by `verify`, which names the index; a restored
older database makes checkpoint signing refuse."""

from __future__ import annotations

import pytest

from ledger.domain.refusals import AppendRefused, RuleRefusal
from ledger.store.errors import CheckpointRefused
from ledger.store.fsck import fsck


def _fill(world, n=12):
    for i in range(n):
        world.ledger.append(world.statement(n=i))
    world.ledger.checkpoint()


def _exec(world, sql, rows):
    """Run a write statement directly on the database; {t[name]} stands for a qualified table."""
    with world.ledger.store.writing() as db:
        tables = {name: db.t(name) for name in ("dl_entries", "dl_refused")}
        db.many(sql.format(t=tables), rows)


def _problem(world):
    report = fsck(world.ledger.store)
    assert not report.ok
    return report.problems[0]


def test_bit_flip_in_entry_bytes_named(world):
    """Flipping one byte of a stored entry makes verify fail at that index."""
    _fill(world)
    data = bytearray(world.ledger.entry(7))
    data[data.index(b'"recorded_at"') + 20] ^= 0x01
    _exec(world, "UPDATE {t[dl_entries]} SET entry = %s WHERE idx = %s", [(bytes(data), 7)])
    assert _problem(world).index == 7


def test_deleted_row_named(world):
    """Deleting a stored entry makes verify fail at the missing index."""
    _fill(world)
    _exec(world, "DELETE FROM {t[dl_entries]} WHERE idx = %s", [(5,)])
    problem = _problem(world)
    assert problem.index == 5


def test_swapped_rows_named(world):
    """Swapping two entries' bytes makes verify fail at the first of them."""
    _fill(world)
    a, b = world.ledger.entry(4), world.ledger.entry(5)
    _exec(world, "UPDATE {t[dl_entries]} SET entry = %s WHERE idx = %s", [(b, 4), (a, 5)])
    assert _problem(world).index == 4


def test_tampered_tree_node_named(world):
    """A stored tree node that differs from the recomputed one is found."""
    _fill(world)
    # node (level 1, position 2) covers leaves 4-5 and is stored with entry 5
    _exec(world, "UPDATE {t[dl_entries]} SET nodes = %s WHERE idx = %s", [(bytes(32), 5)])
    assert _problem(world).index == 5


@pytest.mark.parametrize(("column", "value"), [
    ("stype", "inspection"),  # the trust replay selects entries by this column
    ("statement_id", "not-the-statement-id"),
    ("recorded_at", "2020-01-01T00:00:00Z"),
])
def test_tampered_entry_column_named(world, column, value):
    """Each column stored beside an entry's bytes must say what the bytes say: a key registration
    relabelled as another type would drop out of the trust replay, and verify names it."""
    _fill(world)
    _exec(world, f"UPDATE {{t[dl_entries]}} SET {column} = %s WHERE idx = %s", [(value, 1)])
    problem = _problem(world)
    assert problem.index == 1 and column in problem.reason


def _with_blocked(world):
    """A log with one rule-refused statement, so one `blocked` entry and its refused row."""
    from ledger.authoring.trust import signed

    world.with_rules(lambda stmt, index, trust, db: (
        ["test.no_forbidden"] if stmt.body.get("forbidden") else []))
    _fill(world, 4)
    with pytest.raises(RuleRefusal) as refusal:
        world.ledger.append(signed([world.requester], "request", {"forbidden": True}))
    assert fsck(world.ledger.store).ok
    return refusal.value.blocked_index


def test_refused_row_added_found(world):
    """A refused-statement row no `blocked` entry made (which would refuse an honest statement) is found."""
    _with_blocked(world)
    _exec(world, "INSERT INTO {t[dl_refused]} VALUES (%s,%s,%s)", [("an-honest-statement", 2, bytes(32))])
    assert "matches no blocked entry" in _problem(world).reason


def test_refused_row_deleted_found(world):
    """Deleting a `blocked` entry's refused row (which would let the refused statement back in) is found."""
    blocked_index = _with_blocked(world)
    _exec(world, "DELETE FROM {t[dl_refused]}", [()])
    problem = _problem(world)
    assert "refused-statement row is missing" in problem.reason and problem.index == blocked_index


def _snapshot(world):
    tables = ["dl_entries", "dl_refused", "dl_checkpoints"]
    with world.ledger.store.reading() as db:
        return {t: db.all(f"SELECT * FROM {db.t(t)}") for t in tables}


def _restore(world, snap):
    with world.ledger.store.writing() as db:
        for table, rows in snap.items():
            db.many(f"DELETE FROM {db.t(table)}", [()])
            if rows:
                db.many(f"INSERT INTO {db.t(table)} VALUES ({','.join(['%s'] * len(rows[0]))})", rows)


def test_restored_older_database_refuses_checkpoint(world):
    """After restoring an older copy of the database, the ledger will not sign a checkpoint."""
    _fill(world, 5)
    snap = _snapshot(world)
    _fill(world, 5)  # more entries, and a checkpoint over them (kept outside the database too)
    _restore(world, snap)
    with pytest.raises(CheckpointRefused):
        world.ledger.checkpoint(force=True)
    # and nothing may be appended to the restored log until the missing entries are back
    before = world.export_bytes()
    with pytest.raises(AppendRefused) as info:
        world.ledger.append(world.statement(n=100))
    assert info.value.rule == "ledger.behind_checkpoint"
    assert world.export_bytes() == before


def test_reopened_ledger_refuses_appends_to_a_restored_database(world, settings):
    """A fresh process on a restored older database refuses appends (the outside checkpoint says more)."""
    from ledger.store.ledger import Ledger

    _fill(world, 3)
    snap = _snapshot(world)
    _fill(world, 3)
    _restore(world, snap)
    with Ledger(settings) as again, pytest.raises(AppendRefused) as info:
        again.append(world.statement(n=7))
    assert info.value.rule == "ledger.behind_checkpoint"
