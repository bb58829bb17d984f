"""Appending, chaining, proving and checkpointing: the same contract on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import itertools
import json

from ledger.core.b64 import b64decode
from ledger.core.canonical import parse_canonical
from ledger.core.checkpoint import open_checkpoint
from ledger.core.entry import ZERO_HASH_HEX, parse_entry
from ledger.core.merkle import leaf_hash, root_from_leaf_hashes
from ledger.core.proofs import verify_consistency, verify_inclusion
from ledger.core.statement import parse_statement
from ledger.core.times import parse_time
from ledger.store.fsck import fsck


def _entries(world):
    return [parse_entry(data) for _, data in world.ledger.iter_entries()]


def test_indices_are_contiguous_and_prev_links(world):
    """Every entry's index is its position and prev is the previous entry's leaf hash."""
    for i in range(20):
        world.ledger.append(world.statement(n=i))
    entries = _entries(world)
    assert [e.index for e in entries] == list(range(len(entries)))
    assert entries[0].prev == ZERO_HASH_HEX
    for before, after in itertools.pairwise(entries):
        assert after.prev == before.leaf_hash.hex()
        assert parse_time(after.recorded_at) >= parse_time(before.recorded_at)


def test_entry_holds_exact_submitted_statement(world):
    """The entry's statement is byte-for-byte the note the principal signed."""
    note = world.statement(n=7)
    appended = world.ledger.append(note)
    entry = parse_entry(world.ledger.entry(appended.index))
    assert entry.statement == note
    assert entry.leaf_hash == appended.leaf_hash
    assert parse_statement(entry.statement).signers == [world.requester.name]


def test_exact_resubmission_returns_original_index(world):
    """Resubmitting a stored statement returns its index and stores nothing."""
    note = world.statement(n=1)
    first = world.ledger.append(note)
    before = world.export_bytes()
    again = world.ledger.append(note)
    assert (again.index, again.duplicate) == (first.index, True)
    assert world.export_bytes() == before


def test_batch_is_one_transaction_with_consecutive_indices(world):
    """append_batch lands all statements at consecutive indices."""
    notes = [world.statement(n=i) for i in range(50)]
    results = world.ledger.append_batch(notes)
    assert [r.index for r in results] == list(range(results[0].index, results[0].index + 50))


def test_checkpoint_signed_and_matches_root(world):
    """The checkpoint verifies against the trust root and commits to the RFC 6962 root."""
    for i in range(9):
        world.ledger.append(world.statement(n=i))
    signed = world.ledger.checkpoint()
    cp = open_checkpoint(signed.encode(), world.ledger.trust_root()).checkpoint
    leaves = [e.leaf_hash for e in _entries(world)]
    assert cp.size == len(leaves)
    assert cp.root == root_from_leaf_hashes(leaves)
    assert cp.origin == world.ledger.origin


def test_proofs_from_stored_tree_verify_at_every_size(world):
    """Inclusion and consistency proofs read from the tree table verify for all sizes."""
    for i in range(13):
        world.ledger.append(world.statement(n=i))
    leaves = [leaf_hash(d) for _, d in world.ledger.iter_entries()]
    n = len(leaves)
    for size in range(1, n + 1):
        root = root_from_leaf_hashes(leaves[:size])
        assert world.ledger.root_at(size) == root
        for index in range(0, size, 3):
            proof = world.ledger.inclusion_proof(index, size)
            assert proof["root"] == root.hex()
            verify_inclusion(index, size, leaves[index], [bytes.fromhex(h) for h in proof["path"]], root)
        for old in range(0, size + 1, 2):
            c = world.ledger.consistency_proof(old, size)
            verify_consistency(old, size, bytes.fromhex(c["old_root"]), bytes.fromhex(c["new_root"]),
                               [bytes.fromhex(h) for h in c["path"]])


def test_export_lines_are_canonical_and_complete(world):
    """Each export line is JCS of {entry_b64, index} + LF, one per entry."""
    for i in range(5):
        world.ledger.append(world.statement(n=i))
    buf = io.BytesIO()
    count = world.ledger.export(buf)
    lines = buf.getvalue().split(b"\n")
    assert lines[-1] == b"" and len(lines) - 1 == count == world.ledger.size()
    for i, line in enumerate(lines[:-1]):
        obj = parse_canonical(line)
        assert obj["index"] == i
        assert b64decode(obj["entry_b64"]) == world.ledger.entry(i)


def test_fsck_passes_on_a_healthy_log(world):
    """verify re-checks every signature, the chain, stored tree nodes and checkpoints."""
    for i in range(30):
        world.ledger.append(world.statement(n=i))
    world.ledger.checkpoint()
    report = fsck(world.ledger.store)
    assert report.ok, report.problems
    assert report.size == world.ledger.size()
    assert report.checkpoints_checked >= 1


def test_prove_json_shape(world):
    """Proof JSON uses the documented keys and lowercase hex."""
    world.ledger.append(world.statement())
    p = world.ledger.inclusion_proof(1)
    assert set(p) == {"index", "tree_size", "leaf_hash", "root", "path"}
    c = world.ledger.consistency_proof(1)
    assert set(c) == {"old_size", "new_size", "old_root", "new_root", "path"}
    assert json.dumps(p) == json.dumps(p).lower()
