"""Worker processes for the concurrency tests (a module, so spawned processes can import it)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ledger.authoring.trust import signed
from ledger.config import Settings
from ledger.core.keys import parse_signer_key
from ledger.domain.refusals import AppendRefused
from ledger.store.ledger import Ledger


def append_worker(url: str, key_dir: str, key_text: str, count: int, until_refused: bool) -> dict:
    """Append `count` statements (or until refused); report what landed."""
    settings = replace(Settings(url, Path(key_dir), Path(key_dir) / "last-checkpoint.txt"), create_tables=False)
    key = parse_signer_key(key_text)
    landed: list[tuple[int, str]] = []
    refused: str | None = None
    with Ledger(settings) as ledger:
        for i in range(count):
            try:
                a = ledger.append(signed([key], "request", {"worker": key.name, "n": i}))
            except AppendRefused as e:
                refused = e.rule
                if until_refused:
                    break
                raise
            landed.append((a.index, a.statement_id))
    return {"name": key.name, "landed": landed, "refused": refused}
