"""Acceptance: scripts/verify_ledger.py copied alone into an empty folder, in a fresh virtual
environment holding only pynacl and rfc8785, verifies a real export (and refuses a tampered one),
gives every test vector's exact plain message and exit status, refuses every file of the wrong
kind with exit 2, and writes a report that names it by its own SHA-256.

Slow-ish (creating the environment and installing two packages takes a few seconds to half a
minute, then one run per vector) but it runs in CI: it is the court's situation exactly.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from verifier_helpers import ROOT, SCRIPTS, VECTORS, vector_dirs

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("court-venv")]  # one worker builds the one venv
USAGE = ROOT / "tests" / "vectors" / "usage"
USAGE_VECTORS = sorted(p for p in USAGE.iterdir() if p.is_dir())


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


def _relative_args(d: Path) -> list[str]:
    """The verifier's arguments for a vector folder, relative to it (the messages name files as given)."""
    args = ["--vkey", "vkey.txt", "--checkpoint", "checkpoint.txt", "--export", "export.jsonl"]
    for flag, name in (("--previous-checkpoint", "previous-checkpoint.txt"),
                       ("--consistency-proof", "consistency-proof.json"),
                       ("--inclusion-proof", "inclusion-proof.json"), ("--entry", "entry.bin")):
        if (d / name).exists():
            args += [flag, name]
    return args


@pytest.mark.parametrize("vector", vector_dirs(), ids=[d.name for d in vector_dirs()])
def test_every_vector_gives_its_message_and_exit_status(court: tuple[Path, Path], vector: Path) -> None:
    """Each vector through the lone script: the expected exit status, failing entry and exact plain message,
    in the JSON report and on the text report's RESULT line."""
    folder, python = court
    files = folder / "vectors" / vector.name
    shutil.copytree(vector, files)
    want = json.loads((vector / "expected.json").read_text())
    script = str(folder / "verify_ledger.py")
    proc = _run([str(python), "-I", script, *_relative_args(vector), "--workers", "1", "--json"], files)
    report = json.loads(proc.stdout)
    assert (proc.returncode, report["exit"], report["index"]) == (want["exit"], want["exit"], want["index"]), report
    assert report["message"] == want["message"]
    text = _run([str(python), "-I", script, *_relative_args(vector), "--workers", "1"], files)
    assert text.returncode == want["exit"]
    if want["exit"]:
        where = f"at entry {want['index']}" if want["index"] is not None else "(not about one entry)"
        assert f"RESULT: FAILED {where}: {want['message']} (exit 1)" in text.stdout
    else:
        assert text.stdout.endswith("RESULT: OK (exit 0)\n")


@pytest.mark.parametrize("vector", USAGE_VECTORS, ids=[d.name for d in USAGE_VECTORS])
def test_every_file_of_the_wrong_kind_is_exit_2(court: tuple[Path, Path], vector: Path) -> None:
    """Each usage vector through the lone script: exit 2, its exact message once on stderr, nothing on stdout."""
    folder, python = court
    files = folder / "usage" / vector.name
    shutil.copytree(vector, files)
    want = json.loads((vector / "expected.json").read_text())
    proc = _run([str(python), "-I", str(folder / "verify_ledger.py"), *want["args"]], files)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == f"verify_ledger.py: error: {want['message']}\n"


def test_the_report_names_the_script_that_ran(court: tuple[Path, Path]) -> None:
    """--report in the court's environment: the verifier's SHA-256 is the lone script's, the files' are theirs."""
    folder, python = court
    files = folder / "report"
    shutil.copytree(VECTORS / "happy-path", files)
    proc = _run([str(python), "-I", str(folder / "verify_ledger.py"), *_relative_args(files), "--report", "r"], files)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((files / "r.json").read_text())
    assert report["verifier"]["sha256"] == hashlib.sha256((folder / "verify_ledger.py").read_bytes()).hexdigest()
    assert {f["path"]: f["sha256"] for f in report["files"]} == {
        name: hashlib.sha256((files / name).read_bytes()).hexdigest()
        for name in ("vkey.txt", "checkpoint.txt", "export.jsonl")}
    assert (files / "r.txt").read_text().startswith("DISCLOSURE LEDGER VERIFICATION REPORT")
