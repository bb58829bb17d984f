"""A court's keys from the command line: the clerk named at genesis (`init --court-clerk`) countersigns
its judges (`keys new --countersign`); the administrator alone registers none (a `blocked` entry)."""

from __future__ import annotations

import json

import pytest

from ledger.cli import main
from ledger.sealed import SealedKeys

ORIGIN = "ledger.test.example/disclosures"


@pytest.fixture
def env(backend_url, tmp_path, monkeypatch):
    monkeypatch.setenv("LEDGER_VAR", str(tmp_path / "var"))
    monkeypatch.setenv("LEDGER_DB_URL", backend_url)
    monkeypatch.setenv("LEDGER_SEALED_KEY_DIR", str(tmp_path / "sealed"))
    monkeypatch.delenv("LEDGER_KEYRING", raising=False)
    SealedKeys.generate(tmp_path / "sealed")
    return tmp_path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_court_keys_are_countersigned_by_their_clerk(env, capsys):
    assert run(capsys, "init", "--origin", ORIGIN, "--court-clerk", "uscourts.gov/mad/clerk=D. Mass.")[0] == 0
    code, _, err = run(capsys, "keys", "new", "uscourts.gov/mad/judge-x", "--role", "court", "--attr", "court=D. Mass.")
    assert code != 0 and "registration.court_countersign" in err, err
    code, out, err = run(capsys, "keys", "new", "uscourts.gov/mad/judge-a", "--role", "court",
                         "--attr", "court=D. Mass.", "--countersign", "uscourts.gov/mad/clerk")
    assert code == 0, err
    assert json.loads(out)["index"] == 2  # genesis, the refused registration's blocked entry, this one
    code, out, _ = run(capsys, "keys", "list")
    assert "uscourts.gov/mad/clerk" in out and "uscourts.gov/mad/judge-a" in out
