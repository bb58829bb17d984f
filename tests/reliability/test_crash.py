"""Crash safety at reduced size: a writer SIGKILLed at seeded random moments, 5 times per backend,
never loses or changes an acknowledged entry (bench/crash_harness.py; full size in README "Reliability")."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import crash_harness


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_sigkilled_writer_loses_nothing_acknowledged(backend, tmp_path):
    pg_url = None
    if backend == "postgres":
        from storefix import postgres_base_url

        pg_url = postgres_base_url()
    [result] = crash_harness.run(5, seed=20261127, backends=[backend], pg_url=pg_url, work=tmp_path)
    assert result.problems == []
    assert (result.trials, result.kills) == (5, 5)
    assert result.acknowledged > 0 and result.ack_checks >= result.acknowledged
    assert (result.lost, result.forks, result.duplicate_ids, result.fsck_failures) == (0, 0, 0, 0)
    assert result.entries >= result.acknowledged + crash_harness.SETUP_ENTRIES
