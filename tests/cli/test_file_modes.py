"""Finding 5 (regression): ledger.sqlite3 with its -wal and -shm, backup dumps and other files were created
world-readable (0644). Every file the `disclosure-ledger` command and `serve` create is now 0600 and every
directory 0700, whatever the umask they were started with; a database made before is tightened when opened."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ledger.cli import main
from ledger.sealed import SealedKeys

ORIGIN = "ledger.test.example/disclosures"
DIRECTOR = "ice.dhs.gov/director"
SPEC = {"exception": "6103(i)(2)", "agency": "DHS/ICE", "statute": "8 USC 1253(a)(1)",
        "purpose": "criminal_investigation", "purpose_text": "fictional", "fields": ["name", "address"],
        "recipients": [{"name": "Agent A", "agency": "DHS/ICE", "caseload": 2}],
        "lines": [{"tin": "900-70-0001", "name": "Fictional One", "address": "1 Elm St, Boston, MA 02110",
                   "periods": ["2024"], "reason": "open case"}],
        "case_ids": ["FICT-1"], "court_order": None, "resubmits": None}


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """Start as a shell usually does (umask 022); the command must not rely on it."""
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


def _open_to_others(root: Path) -> list[str]:
    found = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & 0o077:
            found.append(f"{path.relative_to(root.parent)} {mode:o}")
    return found


def _ok(capsys, *argv: str) -> str:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, (argv, err)
    return out


def test_every_file_the_command_creates_is_private(tmp_path, monkeypatch, capsys, permissive_umask):
    """init, keys, seed, request, submit, export, backup, bundle with openings, escrow and restore, views:
    each file and directory they leave is its owner's alone."""
    var, out, inputs = tmp_path / "var", tmp_path / "out", tmp_path / "inputs"
    inputs.mkdir()
    monkeypatch.setenv("LEDGER_VAR", str(var))
    monkeypatch.delenv("LEDGER_DB_URL", raising=False)
    monkeypatch.setenv("LEDGER_SEALED_KEY_DIR", str(var / "sealed"))
    monkeypatch.setenv("LEDGER_ESCROW_PASSPHRASE", "correct horse battery staple 2026")
    _ok(capsys, "init", "--origin", ORIGIN)
    os.umask(0o022)  # each command sets its own: start each from the permissive one
    SealedKeys.generate(var / "sealed")
    _ok(capsys, "keys", "new", DIRECTOR, "--role", "requester", "--attr", "agency=DHS/ICE",
        "--attr", "category=agency_head")
    (inputs / "seed-request.txt").write_text(
        _ok(capsys, "client", "seed-request", "--key", DIRECTOR, "--type", "request", "--origin", ORIGIN))
    (inputs / "seed.json").write_text(_ok(capsys, "salt-seed", str(inputs / "seed-request.txt")))
    (inputs / "spec.json").write_text(json.dumps(SPEC))
    sub = _ok(capsys, "client", "request", "--key", DIRECTOR, "--spec", str(inputs / "spec.json"),
              "--seed", str(inputs / "seed.json"))
    (inputs / "sub.json").write_text(sub)
    request_id = json.loads(sub)["statement"].split('"id":"')[1].split('"')[0]
    os.umask(0o022)
    _ok(capsys, "submit", str(inputs / "sub.json"))
    out.mkdir(mode=0o700)
    for argv in (("export", "--out", str(out / "export.jsonl")),
                 ("backup", "--out", str(out / "ledger.backup")),
                 ("bundle", request_id, "--out", str(out / "bundle"), "--openings"),
                 ("sealed-keys", "escrow", "--out", str(out / "escrow.json")),
                 ("sealed-keys", "restore", str(out / "escrow.json"), "--out", str(out / "restored")),
                 ("projections", "rebuild"),
                 ("checkpoint",)):
        os.umask(0o022)
        _ok(capsys, *argv)
    made = {p.name for p in [*var.rglob("*"), *out.rglob("*")]}
    assert {"ledger.sqlite3", "export.jsonl", "ledger.backup", "escrow.json", "sealed.key", "pseudonym.key",
            "bundle.json", "openings.jsonl", "last-checkpoint.txt"} <= made, sorted(made)
    assert _open_to_others(var) == [] and _open_to_others(out) == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_service_creates_private_files(tmp_path):
    """`serve` started with umask 022 on an empty directory: its database and, while it runs, the WAL
    files (SQLite removes them when the last connection closes) are 0600."""
    var = tmp_path / "var"
    SealedKeys.generate(tmp_path / "sealed")
    port = _free_port()
    env = {**os.environ, "LEDGER_SEALED_KEY_DIR": str(tmp_path / "sealed"), "LEDGER_VAR": str(var)}
    env.pop("LEDGER_DB_URL", None)
    cli = str(Path(sys.executable).parent / "disclosure-ledger")
    with (tmp_path / "serve.log").open("wb") as log:
        proc = subprocess.Popen([cli, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT,
                                umask=0o022, start_new_session=True)
    try:
        deadline = time.monotonic() + 45
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "serve did not start"
            time.sleep(0.2)
        httpx.post(f"http://127.0.0.1:{port}/v1/salt-seeds", json={"request": "x"}, timeout=10)  # a write path
        running = {p.name for p in var.rglob("*")}
        assert {"ledger.sqlite3", "ledger.sqlite3-wal", "ledger.sqlite3-shm"} <= running, sorted(running)
        assert _open_to_others(var) == []
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert (var / "ledger.sqlite3").exists()
    assert _open_to_others(var) == []


def test_a_database_made_before_is_tightened(tmp_path, monkeypatch, capsys, permissive_umask):
    """A ledger file left 0644 by an older version is 0600 after any command opens it."""
    monkeypatch.setenv("LEDGER_VAR", str(tmp_path / "var"))
    monkeypatch.delenv("LEDGER_DB_URL", raising=False)
    _ok(capsys, "init", "--origin", ORIGIN)
    db = tmp_path / "var" / "ledger.sqlite3"
    db.chmod(0o644)
    _ok(capsys, "verify")
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
