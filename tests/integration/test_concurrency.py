"""Concurrent writers in separate processes never fork the chain, duplicate an index or
leave a gap; a key revoked while they run signs nothing after its revocation; checkpoints
signed during the run are each consistent with the next (concurrent writers)."""

from __future__ import annotations

import itertools
import multiprocessing as mp
import time

import pytest
from workers import append_worker

from ledger.authoring.trust import key_revocation
from ledger.core.entry import parse_entry
from ledger.core.proofs import verify_consistency
from ledger.core.statement import parse_statement
from ledger.store.fsck import fsck

WORKERS = 4
APPENDS = 250


@pytest.mark.slow
def test_four_processes_one_chain_and_revocation_holds(world):
    """4 processes x 250 appends land at unique contiguous indices; a victim key revoked mid-run lands nothing after."""
    ledger = world.ledger
    keys = [world.register(f"agency{i}.example.gov/official", ["requester"]) for i in range(WORKERS)]
    victim = world.register("victim.example.gov/official", ["requester"])
    start_size = ledger.size()
    checkpoints: list = []  # checkpoints signed during the run, each checked against the next
    ctx = mp.get_context("spawn")
    key_dir = str(world.settings.key_dir)
    with ctx.Pool(WORKERS + 1) as pool:
        jobs = [pool.apply_async(append_worker, (world.settings.db_url, key_dir, k.to_string(), APPENDS, False))
                for k in keys]
        victim_job = pool.apply_async(append_worker, (world.settings.db_url, key_dir, victim.to_string(), 5000, True))
        deadline = time.monotonic() + 120
        # Revoke once the log has grown and the victim has landed something (on a loaded machine
        # the victim's process may start after the others have done 200 appends).
        seen, victim_landed = start_size, False
        while (ledger.size() < start_size + 200 or not victim_landed) and time.monotonic() < deadline:
            for _, data in ledger.iter_entries(seen):
                seen += 1
                victim_landed = victim_landed or parse_statement(parse_entry(data).statement).signers == [victim.name]
            checkpoints.append(ledger.checkpoint().checkpoint)  # signed while the writers run
            time.sleep(0.05)
        checkpoints.append(ledger.checkpoint().checkpoint)
        current = ledger.trust().current(victim.name)
        revocation = ledger.append(key_revocation(world.admin, victim.name, current.key))
        results = [j.get(timeout=300) for j in jobs]
        victim_result = victim_job.get(timeout=300)
    checkpoints.append(ledger.checkpoint().checkpoint)

    assert victim_result["refused"] == "trust.revoked_key"
    entries = [parse_entry(d) for _, d in ledger.iter_entries()]
    assert [e.index for e in entries] == list(range(len(entries)))
    for before, after in itertools.pairwise(entries):
        assert after.prev == before.leaf_hash.hex()
    landed = [idx for r in results for idx, _ in r["landed"]]
    assert len(landed) == WORKERS * APPENDS
    assert len(set(landed)) == len(landed)
    by_index = {e.index: parse_statement(e.statement) for e in entries}
    for r in results:
        for idx, sid in r["landed"]:
            assert by_index[idx].id == sid
    victim_indices = [e.index for e in entries if by_index[e.index].signers == [victim.name]]
    assert victim_indices, "the victim should have landed something before the revocation"
    assert max(victim_indices) < revocation.index
    assert len(entries) == start_size + WORKERS * APPENDS + len(victim_indices) + 1
    report = fsck(ledger.store)
    assert report.ok, report.problems
    # Every checkpoint signed during the run is consistent with the next one (RFC 9162 proof) and
    # with the final log: one linear history, no fork seen by anyone who kept an early checkpoint.
    assert len({c.size for c in checkpoints}) >= 3
    for old, new in itertools.pairwise(checkpoints):
        proof = ledger.consistency_proof(old.size, new.size)
        verify_consistency(old.size, new.size, old.root, new.root, [bytes.fromhex(h) for h in proof["path"]])
    assert checkpoints[-1].size == len(entries)
