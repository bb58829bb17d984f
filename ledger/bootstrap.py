"""The composition root: a ledger with the § 6103 rules engine, as every entry point uses it."""

from __future__ import annotations

from ledger.config import Settings
from ledger.rules.engine import RuleEngine
from ledger.store.ledger import Ledger


def open_ledger(settings: Settings) -> Ledger:
    """A ledger whose appends run the § 6103 rules inside the appending transaction."""
    return Ledger(settings, rules=RuleEngine())
