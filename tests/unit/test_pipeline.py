"""ledger.core.pipeline and ledger.core.proof_files: the verifier's checks called as a library."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ledger.core.checkpoint import open_checkpoint
from ledger.core.errors import UnreadableInputError
from ledger.core.export_lines import export_line, parse_export_line
from ledger.core.export_verify import verify_log
from ledger.core.keys import parse_vkey
from ledger.core.merkle import EMPTY_ROOT, leaf_hash, root_from_leaf_hashes
from ledger.core.pipeline import CheckFailed, check_export
from ledger.core.proof_files import check_inclusion_file
from ledger.core.verify_report import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Report

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "verify"
HAPPY = VECTORS / "happy-path"


def _entries(path: Path) -> list[bytes]:
    return [parse_export_line(line, i) for i, line in enumerate(path.read_bytes().splitlines(keepends=True))]


def test_check_export_records_roots_at_the_marks_and_hashes_every_byte() -> None:
    """Roots at the sizes asked for are the RFC 6962 roots of those prefixes; the digest is the file's."""
    path = HAPPY / "export.jsonl"
    entries = _entries(path)
    seen: list[tuple[int, int]] = []
    digest = hashlib.sha256()
    result = check_export(str(path), {0, 3, len(entries)}, chunk=2, progress=lambda b, n: seen.append((b, n)),
                          digest=digest)
    assert result.failure is None and result.size == len(entries) > 3
    assert result.roots[0] == EMPTY_ROOT
    for size in (3, len(entries)):
        assert result.roots[size] == root_from_leaf_hashes([leaf_hash(e) for e in entries[:size]])
    assert set(result.roots) == {0, 3, len(entries)}
    assert result.signatures >= len(entries)
    assert digest.digest() == hashlib.sha256(path.read_bytes()).digest()
    assert sum(b for b, _ in seen) == path.stat().st_size and seen[-1][1] == len(entries)


def test_check_export_stops_at_the_first_failing_entry(tmp_path: Path) -> None:
    """A renumbered line fails at its place, with the line parser's reason; earlier entries stand."""
    entries = _entries(HAPPY / "export.jsonl")
    path = tmp_path / "export.jsonl"
    path.write_bytes(b"".join(export_line(i, e) for i, e in enumerate(entries[:4])) + export_line(9, entries[4]))
    result = check_export(str(path), set())
    assert result.failure == (4, "export line index out of sequence (expected 4, found 9)")
    assert result.size == 4


def test_an_unreadable_export_is_a_typed_error_not_a_failure(tmp_path: Path) -> None:
    """A missing file raises UnreadableInputError; verify_log reports it as a usage error (exit 2)."""
    missing = str(tmp_path / "none.jsonl")
    with pytest.raises(UnreadableInputError, match="cannot read export"):
        check_export(missing, set())
    vkey = parse_vkey((HAPPY / "vkey.txt").read_text().strip())
    report = verify_log(missing, (HAPPY / "checkpoint.txt").read_bytes(), vkey)
    assert report.exit == EXIT_USAGE and report.reason is not None and "cannot read export" in report.reason


def test_verify_log_verifies_the_happy_path_and_names_a_flipped_entry() -> None:
    """The whole check as one call: VERIFIED on the happy path, FAILED at entry 3 with one bit flipped."""
    for name, exit_status, index in (("happy-path", EXIT_OK, None), ("entry-3-bit-flip", EXIT_FAILED, 3)):
        d = VECTORS / name
        vkey = parse_vkey((d / "vkey.txt").read_text().strip())
        report = verify_log(str(d / "export.jsonl"), (d / "checkpoint.txt").read_bytes(), vkey)
        assert (report.exit, report.index) == (exit_status, index), name
    assert [name for name, _ in report.checks] == ["checkpoint"]  # stopped at the entries


def test_the_inclusion_proof_file_check_passes_and_refuses_another_entry() -> None:
    """check_inclusion_file: the valid vector passes; the proof with another entry fails naming both."""
    d = VECTORS / "inclusion-proof-valid"
    vkey = parse_vkey((d / "vkey.txt").read_text().strip())
    signed = open_checkpoint((d / "checkpoint.txt").read_bytes(), vkey)
    report = Report()
    proof, entry = (d / "inclusion-proof.json").read_bytes(), (d / "entry.bin").read_bytes()
    check_inclusion_file(signed, proof, entry, report)
    assert [name for name, _ in report.checks] == ["inclusion"]
    other = _entries(d / "export.jsonl")
    index = next(i for i, e in enumerate(other) if e == entry.removesuffix(b"\n"))
    with pytest.raises(CheckFailed, match="the entry is entry"):
        check_inclusion_file(signed, proof, other[(index + 1) % len(other)], report)
