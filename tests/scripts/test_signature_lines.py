"""The signature-line rule of signed notes, one table (tests/vectors/note-signature-lines.json) for the
core (ledger/core/note.py) and the court's one-file verifier; tests/web/test_verify_js.py runs the same
table through the dashboard's verify.js, and tests/integration/test_go_note.py through Go."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from verifier_helpers import ROOT, verify_ledger

from ledger.core.checkpoint import open_checkpoint
from ledger.core.errors import LedgerError
from ledger.core.keys import parse_vkey

TABLE_FILE = ROOT / "tests" / "vectors" / "note-signature-lines.json"
TABLE = json.loads(TABLE_FILE.read_text("utf-8"))


def note_of(case: dict[str, Any]) -> str:
    lines: list[str] = []
    for item in case["lines"]:
        lines += [item["line"]] * item["times"] if isinstance(item, dict) else [item]
    return TABLE["text"] + "\n" + "".join(x + "\n" for x in lines)


CASES = [pytest.param(c, id=c["name"]) for c in TABLE["cases"]]


def test_table_is_what_its_generator_writes() -> None:
    """The checked-in table equals a fresh run of tests/vectors/make_signature_lines.py."""
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "vectors" / "make_signature_lines.py"), "--check"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, "note-signature-lines.json is stale: run tests/vectors/make_signature_lines.py"


@pytest.mark.parametrize("case", CASES)
def test_core_follows_the_table(case: dict[str, Any]) -> None:
    """ledger.core.checkpoint.open_checkpoint with the log key alone accepts or refuses as the table says."""
    key = parse_vkey(TABLE["log_vkey"])
    try:
        open_checkpoint(note_of(case).encode("utf-8"), key)
        got = "accept"
    except LedgerError:
        got = "refuse"
    assert got == case["expect"], case.get("why", case["name"])


@pytest.mark.parametrize("case", CASES)
def test_generated_verifier_follows_the_table(case: dict[str, Any]) -> None:
    """scripts/verify_ledger.py's own copy of the core does exactly the same."""
    key = verify_ledger.parse_vkey(TABLE["log_vkey"])
    try:
        verify_ledger.open_checkpoint(note_of(case).encode("utf-8"), key)
        got = "accept"
    except verify_ledger.LedgerError:
        got = "refuse"
    assert got == case["expect"], case["name"]


def test_table_covers_both_verdicts_and_the_caps() -> None:
    """The table holds accepted and refused cases, the line cap and the size cap."""
    names = {c["name"] for c in TABLE["cases"]}
    assert {c["expect"] for c in TABLE["cases"]} == {"accept", "refuse"}
    assert {"100 lines", "101 lines", "cosignature/v1 line (76 bytes)"} <= names
    assert any("size cap" in n for n in names)
    assert Path(TABLE_FILE).stat().st_size < 100_000
