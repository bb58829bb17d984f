"""Shared by the tests of the court's verifier: where things are, and running it in-process.

The tests run the *generated* scripts/verify_ledger.py (what a court runs), imported as a
module from scripts/ so that worker processes can import it by name too.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
VECTORS = ROOT / "tests" / "vectors" / "verify"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

import verify_ledger  # noqa: E402


def vector_dirs() -> list[Path]:
    return sorted(p for p in VECTORS.iterdir() if p.is_dir())


def vector_args(d: Path) -> list[str]:
    """The verifier's arguments for a vector folder: every file it holds."""
    args = ["--vkey", str(d / "vkey.txt"), "--checkpoint", str(d / "checkpoint.txt"),
            "--export", str(d / "export.jsonl")]
    if (d / "previous-checkpoint.txt").exists():
        args += ["--previous-checkpoint", str(d / "previous-checkpoint.txt")]
    if (d / "consistency-proof.json").exists():
        args += ["--consistency-proof", str(d / "consistency-proof.json")]
    if (d / "inclusion-proof.json").exists():
        args += ["--inclusion-proof", str(d / "inclusion-proof.json"), "--entry", str(d / "entry.bin")]
    return args


def run(args: list[str]) -> tuple[int, str, str]:
    """main(args) in-process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = verify_ledger.main(args)
    return code, out.getvalue(), err.getvalue()


def run_json(args: list[str]) -> tuple[int, dict[str, Any]]:
    """main(args + --json) in-process: (exit status, the JSON report)."""
    code, out, _ = run([*args, "--json"])
    return code, json.loads(out)


def expected(d: Path) -> dict[str, Any]:
    return json.loads((d / "expected.json").read_text())
