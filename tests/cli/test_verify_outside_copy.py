"""`disclosure-ledger verify` against the outside checkpoint copy, on SQLite and PostgreSQL: a database
restored from an older backup is shorter than the last checkpoint ever signed, and verify fails naming
both sizes (as `checkpoint` refuses to sign over it)."""

from __future__ import annotations

import json

import pytest
from clifix import cli_env, ok, run

ORIGIN = "ledger.test.example/disclosures"


@pytest.fixture
def env(backend_url, tmp_path, monkeypatch):
    return cli_env(tmp_path, monkeypatch, backend_url)


def test_verify_fails_on_a_log_shorter_than_the_outside_checkpoint_copy(env, capsys):
    """Finding 7: verify reported `ok` on a database rolled back below the outside copy's size."""
    ok(capsys, "init", "--origin", ORIGIN)
    ok(capsys, "keys", "new", "tigta.gov/auditor-1", "--role", "oversight")
    ok(capsys, "checkpoint")
    ok(capsys, "backup", "--out", str(env / "old.backup"))
    old_size = json.loads(ok(capsys, "checkpoint").split("\n")[1])
    ok(capsys, "keys", "new", "tigta.gov/auditor-2", "--role", "oversight")
    ok(capsys, "keys", "new", "tigta.gov/auditor-3", "--role", "oversight")
    new_size = json.loads(ok(capsys, "checkpoint").split("\n")[1])
    assert new_size > old_size
    assert "ok:" in ok(capsys, "verify")
    run(capsys, "restore", str(env / "old.backup"), "--force")
    code, out, err = run(capsys, "verify")
    assert code == 1 and "ok:" not in out, (out, err)
    assert f"{old_size} entries" in err and f"{new_size}" in err, err
