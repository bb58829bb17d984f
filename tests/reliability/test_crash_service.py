"""Crash safety through the HTTP service at reduced size: `disclosure-ledger serve` SIGKILLed (its whole
process group) with signed requests in flight, single and in batches, 2 times per database, never loses or changes an
acknowledged entry, its projections reach exactly the head after each restart, and a replayed
statement answers with its original entry (bench/crash_harness.py --target service; full size in
README "Reliability")."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import crash_harness

TRIALS = 2


@pytest.mark.slow
@pytest.mark.parametrize(("backend", "workers"), [
    ("sqlite", 1),
    pytest.param("postgres", 2, marks=pytest.mark.postgres),
])
def test_sigkilled_service_loses_nothing_acknowledged(backend, workers, tmp_path):
    """SIGKILL of serve under HTTP load: every 2xx-acknowledged entry survives, views catch up, nothing twice."""
    pg_url = None
    if backend == "postgres":
        from storefix import postgres_base_url

        pg_url = postgres_base_url()
    [result] = crash_harness.run(TRIALS, seed=20261128, backends=[backend], pg_url=pg_url, work=tmp_path,
                                 max_delay=1.0, target="service", workers=(workers,))
    assert result.problems == []
    assert (result.trials, result.kills, result.workers) == (TRIALS, TRIALS, workers)
    assert result.in_flight_at_kill >= TRIALS  # every kill cut at least one request short
    assert result.acknowledged > 0 and result.ack_checks >= result.acknowledged
    assert 0 < result.batched < result.acknowledged  # batch POSTs (openings sealed with them) and single ones
    assert (result.lost, result.forks, result.duplicate_ids, result.fsck_failures) == (0, 0, 0, 0)
    assert result.opening_checks == TRIALS  # the sealed store held exactly the logged requests' openings
    assert result.view_checks == TRIALS  # after every restart, including the one after the last kill
    assert result.replays == TRIALS - 1
    assert result.entries >= result.acknowledged + crash_harness.SETUP_ENTRIES
