"""Why the ledger refuses a statement: the domain's two answers to an append.

``AppendRefused``: nothing is stored (bad signature, unknown or revoked key, role, shape, a
duplicate or previously refused id). ``RuleRefusal``: the statement is validly signed but a rule of
the statute or the policy refuses it; the ledger records that as a ledger-signed ``blocked`` entry.
They depend on nothing but the ledger's error base, so the store, the service, the API and the CLI
all raise and catch the same classes.
"""

from __future__ import annotations

from ledger.core.errors import LedgerError


class Refusal(LedgerError):
    """Base class of the ledger's refusals of a statement."""


class AppendRefused(Refusal):
    """A statement that stores nothing: bad signature, unknown or revoked key, role, shape."""

    def __init__(self, message: str, rule: str, statement_id: str | None = None) -> None:
        self.rule = rule
        self.statement_id = statement_id  # which statement of a batch, when known
        super().__init__(message)


class RuleRefusal(Refusal):
    """A validly signed statement a rule refuses; it is recorded as a ledger-signed `blocked` entry."""

    def __init__(self, statement_id: str, rules: list[str], message: str) -> None:
        self.statement_id = statement_id
        self.rules = rules
        self.blocked_index: int | None = None
        super().__init__(message)
