"""The verifier on every vector in tests/vectors/verify/: exact exit status, index and reason."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from verifier_helpers import ROOT, SCRIPTS, expected, run, run_json, vector_args, vector_dirs

VECTORS = vector_dirs()
HAPPY = [d for d in VECTORS if expected(d)["exit"] == 0]
TAMPERED = [d for d in VECTORS if expected(d)["exit"] != 0]


def _check(d: Path, code: int, report: dict[str, object]) -> None:
    want = expected(d)
    assert code == want["exit"], report
    assert report["exit"] == want["exit"]
    assert report["ok"] is (want["exit"] == 0)
    assert report["index"] == want["index"], report
    if want["reason_contains"] is not None:
        assert want["reason_contains"] in str(report["reason"]), report
    assert report["message"] == want["message"], report


def test_there_is_a_happy_path_and_at_least_25_tampered_vectors() -> None:
    """The suite has the happy path and at least 25 tampered variants, each with its expectations."""
    names = {d.name for d in VECTORS}
    assert "happy-path" in names
    assert len(TAMPERED) >= 25
    for d in VECTORS:
        assert {"export.jsonl", "checkpoint.txt", "vkey.txt", "expected.json"} <= {p.name for p in d.iterdir()}


@pytest.mark.parametrize("d", VECTORS, ids=[d.name for d in VECTORS])
def test_vector(d: Path) -> None:
    """Each vector gives exactly its expected exit status, first failing index and reason."""
    code, report = run_json([*vector_args(d), "--workers", "1"])
    _check(d, code, report)


PARALLEL = ["happy-path", "entry-3-bit-flip", "signature-bit-flip", "cosignature-bit-flip", "prev-broken",
            "truncated-tail", "appended-unsigned", "signed-after-revocation", "trailing-partial-line",
            "checkpoint-key-rotated"]


@pytest.mark.parametrize("name", PARALLEL)
def test_vector_with_a_process_pool(name: str) -> None:
    """With worker processes and tiny chunks the answer is the same (the earliest failure wins)."""
    d = ROOT / "tests" / "vectors" / "verify" / name
    code, report = run_json([*vector_args(d), "--workers", "2", "--chunk-size", "1"])
    _check(d, code, report)


def test_signature_failure_is_reported_before_a_later_chain_failure() -> None:
    """entry-3-bit-flip breaks entry 3's signature and entry 4's prev: entry 3 is named."""
    d = ROOT / "tests" / "vectors" / "verify" / "entry-3-bit-flip"
    code, report = run_json([*vector_args(d), "--workers", "3", "--chunk-size", "1"])
    assert (code, report["index"]) == (1, 3)
    assert "does not verify" in report["reason"]


def test_happy_path_report() -> None:
    """The human report lists every check and ends with RESULT: OK; --json has the figures."""
    d = ROOT / "tests" / "vectors" / "verify" / "happy-path"
    code, out, _ = run(vector_args(d))
    assert code == 0
    for check in ("checkpoint", "entries", "key lineage", "root"):
        assert f"ok    {check}" in out
    assert out.rstrip().endswith("RESULT: OK (exit 0)")
    _, report = run_json(vector_args(d))
    assert report["size"] == report["checkpoint_size"] == 10
    assert report["uncommitted"] == 0
    assert report["signatures"] == 14
    assert report["root"] == report["checkpoint_root"]


def test_uncommitted_entries_are_verified_and_reported() -> None:
    """Entries after the checkpoint's size are checked, and counted as not yet committed."""
    code, report = run_json(vector_args(ROOT / "tests" / "vectors" / "verify" / "entries-past-checkpoint"))
    assert code == 0
    assert (report["size"], report["checkpoint_size"], report["uncommitted"]) == (10, 8, 2)


def test_failure_report_names_the_entry() -> None:
    """A failing vector's text report names the first failing entry, says why plainly, and keeps the detail."""
    code, out, _ = run(vector_args(ROOT / "tests" / "vectors" / "verify" / "signed-after-revocation"))
    assert code == 1
    message = "entry 10 is signed by tigta.gov/agent-0007, whose key had been revoked before it"
    assert f"RESULT: FAILED at entry 10: {message} (exit 1)" in out
    assert "detail: trust.revoked_key: the key of tigta.gov/agent-0007 was revoked before entry 10" in out


def test_every_failing_vector_has_a_plain_message_of_its_own() -> None:
    """No vector falls through to the generic wording; every message names what failed, not a code."""
    for d in TAMPERED:
        message = expected(d)["message"]
        assert message and "fails a check" not in message, d.name
        assert "trust." not in message and "RFC 8785 encoding of" not in message, d.name
        if expected(d)["index"] is not None:
            assert "entr" in message or "line" in message or "file" in message, d.name


def test_vectors_are_what_the_generator_writes() -> None:
    """The checked-in vectors equal a fresh run of scripts/gen_vectors.py (deterministic)."""
    proc = subprocess.run([sys.executable, str(SCRIPTS / "gen_vectors.py"), "--check"], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("name,code", [("happy-path", 0), ("entry-2-deleted", 1)])
def test_as_a_subprocess(name: str, code: int) -> None:
    """`python scripts/verify_ledger.py ...` exits 0 on the happy path and 1 on a tampered export."""
    d = ROOT / "tests" / "vectors" / "verify" / name
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, str(SCRIPTS / "verify_ledger.py"), *vector_args(d), "--workers", "2"],
                          capture_output=True, text=True, cwd=d, env=env, timeout=120)
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert ("RESULT: OK" if code == 0 else "RESULT: FAILED at entry 2") in proc.stdout
