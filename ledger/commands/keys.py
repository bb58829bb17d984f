"""The roles a key may be registered with: those the policy in force names (`keys new|register|proof --role`).

A role no statement type names lets its key sign nothing, and a registration is in the log for ever:
a misspelt role (``approver`` for ``releaser``) is refused before anything is signed or appended.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ledger.authoring.errors import UsageError
from ledger.core.trust import LEDGER_ROLE
from ledger.policy import DEFAULT_POLICY


def policy_roles(policy: Mapping[str, Iterable[str]]) -> list[str]:
    """Every role a policy lets sign some statement type (the ledger's own role excluded), sorted."""
    return sorted({role for roles in policy.values() for role in roles} - {LEDGER_ROLE})


ROLE_HELP = ("a role the policy in force names (repeatable); the default policy's: "
             + ", ".join(policy_roles(DEFAULT_POLICY)))


def check_roles(roles: Iterable[str], policy: Mapping[str, Iterable[str]]) -> None:
    """UsageError (exit 2) naming each role the policy does not name, and the roles it does."""
    known = policy_roles(policy)
    unknown = [r for r in roles if r not in known]
    if unknown:
        raise UsageError(f"no such role in the policy in force: {', '.join(unknown)} (roles: {', '.join(known)})")
