"""The verification pipeline as a library (ledger.core.export_verify.verify_log): the same verdict,
in the same words, as the court's command line on every export vector."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from verifier_helpers import VECTORS, run_json, vector_args, vector_dirs

from ledger.core.export_verify import verify_log
from ledger.core.keys import parse_vkey
from ledger.core.verify_report import Report


def _library(d: Path, workers: int = 1, chunk: int = 1000) -> Report:
    previous = d / "previous-checkpoint.txt"
    return verify_log(
        str(d / "export.jsonl"),
        (d / "checkpoint.txt").read_bytes(),
        parse_vkey((d / "vkey.txt").read_text().strip()),
        previous=previous.read_bytes() if previous.exists() else None,
        workers=workers,
        chunk=chunk,
    )


def _export_only(d: Path) -> bool:
    """A vector the library covers: an export and checkpoints, no proof files to check."""
    return (d / "export.jsonl").exists() and not any(
        (d / name).exists() for name in ("consistency-proof.json", "inclusion-proof.json")
    )


EXPORT_VECTORS = [d for d in vector_dirs() if _export_only(d)]
COMPARED = ("ok", "exit", "index", "message", "reason", "trust_root", "origin", "checkpoint_size",
            "checkpoint_root", "size", "signatures", "uncommitted", "root", "checks")


def _verdict(report: dict[str, Any]) -> dict[str, Any]:
    return {key: report[key] for key in COMPARED}


def test_the_vectors_hold_failures_and_passes() -> None:
    """The comparison below covers both verdicts, and failures at several stages."""
    reports = [_library(d) for d in EXPORT_VECTORS]
    assert {r.exit for r in reports} == {0, 1}
    assert {r.stage for r in reports if r.exit} >= {"checkpoint", "entries", "log vs checkpoint"}
    assert len(EXPORT_VECTORS) >= 30


@pytest.mark.parametrize("d", EXPORT_VECTORS, ids=lambda d: d.name)
def test_the_library_gives_the_commands_verdict(d: Path) -> None:
    """verify_log on a vector: the same exit, failing entry, reason, plain message and checks as the CLI."""
    code, cli = run_json([*vector_args(d), "--workers", "1"])
    report = _library(d)
    assert report.exit == code
    assert _verdict(report.as_json()) == _verdict(cli)


@pytest.mark.parametrize("name", ["happy-path", "entry-3-bit-flip", "entry-2-deleted"])
def test_the_process_pool_gives_the_same_verdict(name: str) -> None:
    """Small chunks over two worker processes: the same report as one process reading it whole."""
    d = VECTORS / name
    one, pooled = _library(d), _library(d, workers=2, chunk=1)
    assert _verdict(pooled.as_json()) == _verdict(one.as_json())
