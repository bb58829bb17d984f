"""`disclosure-ledger api-token …`: tokens are made on the command line, stored hashed, listed, revoked."""

from __future__ import annotations

import json

import sqlalchemy as sa

from api.tokens import TokenError, TokenStore
from ledger.cli import main


def test_token_commands_create_list_revoke(tmp_path, monkeypatch, capsys):
    """create prints the secret once; the table holds only its hash; list never shows it; revoke ends it."""
    monkeypatch.setenv("LEDGER_VAR", str(tmp_path / "var"))
    monkeypatch.delenv("LEDGER_DB_URL", raising=False)
    assert main(["api-token", "create", "tigta.gov/auditor-7", "--role", "oversight", "--days", "1"]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("dlt_")
    url = f"sqlite:///{tmp_path / 'var' / 'ledger.sqlite3'}"
    store = TokenStore(url)
    try:
        assert store.authenticate(token).name == "tigta.gov/auditor-7"
        with store.engine.connect() as conn:
            dump = json.dumps([list(map(str, r)) for r in conn.execute(sa.select(store.table))])
        secret = token.rsplit("_", 1)[1]
        assert secret not in dump and token not in dump
        assert main(["api-token", "list"]) == 0
        listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert listed[0]["role"] == "oversight" and secret not in json.dumps(listed)
        assert main(["api-token", "revoke", listed[0]["id"]]) == 0
        assert main(["api-token", "revoke", listed[0]["id"]]) == 1
        try:
            store.authenticate(token)
            raise AssertionError("a revoked token authenticated")
        except TokenError as e:
            assert str(e) == "revoked token"
    finally:
        store.close()
    assert main(["api-token", "create", "bad principal", "--role", "court"]) == 1
    assert main(["api-token", "create", "x.gov/a", "--role", "court", "--days", "400"]) == 1
