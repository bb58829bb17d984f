"""Acceptance: scripts/verify_ledger.py copied alone into an empty folder, in a fresh virtual
environment holding only pynacl and rfc8785, verifies a real export (and refuses a tampered one).

Slow-ish (creating the environment and installing two packages takes a few seconds to half a
minute) but it runs in CI: it is the court's situation exactly.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from verifier_helpers import SCRIPTS, VECTORS

pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def court(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(folder holding only verify_ledger.py, python of a fresh venv with pynacl and rfc8785)."""
    base = tmp_path_factory.mktemp("court")
    folder = base / "verifier"
    folder.mkdir()
    shutil.copy(SCRIPTS / "verify_ledger.py", folder / "verify_ledger.py")
    venv = base / "venv"
    made = _run([sys.executable, "-m", "venv", str(venv)], base)
    assert made.returncode == 0, made.stderr
    python = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    installed = _run([str(python), "-m", "pip", "install", "--quiet", "pynacl", "rfc8785"], base)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return folder, python


def test_fresh_environment_holds_only_pynacl_and_rfc8785(court: tuple[Path, Path]) -> None:
    """The environment cannot import the project, its other dependencies, or tqdm."""
    folder, python = court
    for module in ("ledger", "eventsourcing", "sqlalchemy", "tqdm"):
        probe = _run([str(python), "-I", "-c", f"import {module}"], folder)
        assert probe.returncode != 0, f"{module} is importable in the fresh environment"
    packages = _run([str(python), "-m", "pip", "list", "--format=freeze"], folder).stdout.lower()
    names = {line.split("==")[0] for line in packages.split()}
    assert {"pynacl", "rfc8785"} <= names


@pytest.mark.parametrize("vector,code", [("happy-path", 0), ("checkpoint-key-rotated", 0),
                                         ("entry-3-bit-flip", 1), ("truncated-tail", 1)])
def test_copied_script_verifies_an_export(court: tuple[Path, Path], vector: str, code: int) -> None:
    """The lone script verifies a real export there: exit 0, or 1 for a tampered one."""
    folder, python = court
    files = folder / vector
    shutil.copytree(VECTORS / vector, files)
    proc = _run([str(python), "-I", str(folder / "verify_ledger.py"), "--vkey", str(files / "vkey.txt"),
                 "--checkpoint", str(files / "checkpoint.txt"), "--export", str(files / "export.jsonl"),
                 "--workers", "2", "--progress"], folder)
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert ("RESULT: OK" if code == 0 else "RESULT: FAILED") in proc.stdout
    assert "verify:" in proc.stderr  # the plain progress counter, tqdm being absent
