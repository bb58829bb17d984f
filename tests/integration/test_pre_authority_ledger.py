"""A database written before courts, recipients, erasures and supporting documents were bound to their
authorities (tests/fixtures/pre_authority, the demo scenario) opens, verifies and replays today."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ledger.bootstrap import open_ledger
from ledger.config import Settings
from ledger.core.checkpoint import open_checkpoint
from ledger.core.entry import parse_entry
from ledger.core.keys import parse_vkey
from ledger.core.statement import parse_statement
from ledger.store.fsck import fsck

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "pre_authority"


def test_pre_authority_database_opens_verifies_and_replays(tmp_path):
    expected = json.loads((FIXTURE / "expected.json").read_text())
    shutil.copy(FIXTURE / "ledger.sqlite3", tmp_path / "ledger.sqlite3")
    settings = Settings.from_env(db_url=f"sqlite:///{tmp_path / 'ledger.sqlite3'}", var=tmp_path)
    with open_ledger(settings) as ledger:
        assert ledger.size() == expected["entries"]
        report = fsck(ledger.store)
        assert report.ok, report.problems
        genesis = parse_statement(parse_entry(ledger.entry(0)).statement)
        signed = open_checkpoint(expected["checkpoint"], parse_vkey(genesis.body["checkpoint_vkey"]))
        assert signed.checkpoint.size == report.size and signed.checkpoint.root == report.root
        # the rules replay every entry as a fact: the court's injunction, the releases before it
        state = ledger.synced_rules().state
        assert [o.kind for o in state.orders.values()] == ["injunction"]
        assert all(o.vacated_at is None for o in state.orders.values())
        assert state.releases and all(r in state.requests for r in state.releases.values())
