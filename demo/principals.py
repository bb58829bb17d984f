"""Registering the demo's principals the way the rules want it (docs/RULES.md § 14): a court key
countersigned by a key of its court (the clerk named at genesis); in an agency-anchored log every key
of an agency by that agency's official named at genesis, otherwise a recipient key by a key of its
agency registered before it; every other key by the administrator alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ledger.authoring.trust import key_registration
from ledger.core.keys import SignerKey


def register_all(append: Callable[[str], Any], admin: SignerKey,
                 principals: dict[str, tuple[list[str], dict[str, str]]], key_for: Callable[[str], SignerKey],
                 clerks: dict[str, SignerKey] | None = None,
                 officials: dict[str, SignerKey] | None = None) -> dict[str, SignerKey]:
    """Register ``principals`` (name -> (roles, attributes)) in order; ``clerks``: court -> its clerk;
    ``officials``: agency -> its official (an agency-anchored log's genesis names them)."""
    keys: dict[str, SignerKey] = {}
    for name, (roles, attributes) in principals.items():
        key = key_for(name)
        countersigners = []
        if "court" in roles:
            countersigners.append((clerks or {})[attributes["court"]])
        if officials is not None and "agency" in attributes:
            countersigners.append(officials[attributes["agency"]])
        elif "recipient" in roles:
            agency = attributes["agency"]
            countersigners.append(next(keys[n] for n, (r, a) in principals.items()
                                       if n in keys and "recipient" not in r and a.get("agency") == agency))
        append(key_registration(admin, key, roles, attributes, countersigners))
        keys[name] = key
    return keys
