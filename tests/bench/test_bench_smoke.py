"""The read and verify benchmarks still run, at a tiny size (their figures are not checked here:
timings belong to bench/, compared against a baseline in the same run)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], tmp_path: Path) -> str:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_bench_oversight_read_runs_on_sqlite(tmp_path: Path) -> None:
    """The synthetic rows it bulk-loads match the views' columns, and every read answers."""
    out = _run(["bench/bench_oversight_read.py", "--rows", "2000", "--lookups", "20", "--round", "10",
                "--backends", "sqlite"], tmp_path)
    assert "sqlite" in out and "p99" in out and "goal p99" in out, out


@pytest.mark.postgres
def test_bench_oversight_read_runs_on_postgres(tmp_path: Path) -> None:
    """The same on PostgreSQL (COPY into a fresh schema, dropped at the end)."""
    out = _run(["bench/bench_oversight_read.py", "--rows", "2000", "--lookups", "20", "--round", "10",
                "--backends", "postgres"], tmp_path)
    assert "postgres" in out and "p99" in out, out


def test_bench_verify_runs(tmp_path: Path) -> None:
    """It builds a small export and compares the court's verifier with raw Ed25519."""
    out = _run(["bench/bench_verify.py", "--sizes", "300", "--workers", "1"], tmp_path)
    assert "ratio entries/raw" in out, out
