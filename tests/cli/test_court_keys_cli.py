"""A court's keys from the command line: the clerk named at genesis (`init --court-clerk`) countersigns
its judges (`keys new --countersign`); the administrator alone registers none (a `blocked` entry)."""

from __future__ import annotations

import json

import pytest
from clifix import cli_env, run

ORIGIN = "ledger.test.example/disclosures"


@pytest.fixture
def env(backend_url, tmp_path, monkeypatch):
    return cli_env(tmp_path, monkeypatch, backend_url)


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
