"""Worker processes for the concurrent-injunction test."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from ledger.config import Settings
from ledger.domain.refusals import RuleRefusal
from ledger.rules.engine import RuleEngine
from ledger.store.ledger import Ledger


def release_worker(url: str, key_dir: str, notes: list[str], pause: float = 0.0) -> dict:
    """Append ``notes`` in order, ``pause`` seconds apart (so that a statement submitted meanwhile by
    the test lands among them, however fast the machine)."""
    settings = replace(Settings(url, Path(key_dir), Path(key_dir) / "last-checkpoint.txt"), create_tables=False)
    landed, blocked = [], []
    with Ledger(settings, rules=RuleEngine()) as ledger:
        for note in notes:
            try:
                landed.append(ledger.append(note).index)
            except RuleRefusal as e:
                blocked.append((e.blocked_index, e.rules))
            time.sleep(pause)
    return {"landed": landed, "blocked": blocked}
