"""A signer's or operator's mistakes in what they gave a command."""

from __future__ import annotations

from ledger.core.errors import LedgerError


class UsageError(LedgerError):
    """A mistake on the command line or in an input file (exit 2): one line naming the file, field or value."""
