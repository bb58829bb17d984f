"""Running `disclosure-ledger` in process for CLI tests: the environment a command reads (its ledger under a
temporary folder, the sealed-store keys made there) and its exit code with what it printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.cli import main
from ledger.sealed import SealedKeys


def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str | None = None) -> Path:
    """LEDGER_VAR and the sealed-store keys under ``tmp_path``; the database at ``db_url`` (None: the
    SQLite default under LEDGER_VAR); no keyring from the caller's environment."""
    monkeypatch.setenv("LEDGER_VAR", str(tmp_path / "var"))
    if db_url is None:
        monkeypatch.delenv("LEDGER_DB_URL", raising=False)
    else:
        monkeypatch.setenv("LEDGER_DB_URL", db_url)
    monkeypatch.setenv("LEDGER_SEALED_KEY_DIR", str(tmp_path / "sealed"))
    monkeypatch.delenv("LEDGER_KEYRING", raising=False)
    SealedKeys.generate(tmp_path / "sealed")
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Exit code, standard output and standard error of one command."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def ok(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Standard output of a command that must succeed."""
    code, out, err = run(capsys, *argv)
    assert code == 0, (argv, err)
    return out
