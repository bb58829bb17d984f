"""Worker processes for the concurrent-injunction test."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ledger.config import Settings
from ledger.rules.engine import RuleEngine
from ledger.store.errors import RuleRefusal
from ledger.store.ledger import Ledger


def release_worker(url: str, key_dir: str, notes: list[str]) -> dict:
    settings = replace(Settings(url, Path(key_dir), Path(key_dir) / "last-checkpoint.txt"), create_tables=False)
    landed, blocked = [], []
    with Ledger(settings, rules=RuleEngine()) as ledger:
        for note in notes:
            try:
                landed.append(ledger.append(note).index)
            except RuleRefusal as e:
                blocked.append((e.blocked_index, e.rules))
    return {"landed": landed, "blocked": blocked}
