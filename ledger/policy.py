"""The default genesis policy: for each statement type, the roles allowed to sign it.

A verifier reads the policy from the log (genesis, then `policy` statements); this is
only what `disclosure-ledger init` writes. The table is written once, in ledger/policy.json.
Domain types are listed so the § 6103 lifecycle can be recorded from the first day; their
body rules live in ledger/domain.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib.resources import files
from types import MappingProxyType

ROLES = (
    "administrator",  # registers, rotates and revokes keys; changes the policy
    "requester",      # an official who may file a written request under an exception
    "reviewer",       # IRS disclosure officer
    "releaser",       # IRS releasing official
    "matcher",        # the server-side matcher principal
    "court",          # records orders, injunctions, holds
    "recipient",      # a named recipient's officials: receipts, dispositions, safeguards
    "oversight",      # inspectors general, JCT, GAO, committees: inspections
    "operator",       # runs the service; corrections of operational facts
    "importer",       # records past disclosures (legacy_release), countersigned by oversight
)

_DATA = json.loads(files("ledger").joinpath("policy.json").read_text(encoding="utf-8"))

# The trust model's types and their signers, frozen: every log has them, whatever else its policy lists.
TRUST_POLICY: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {kind: tuple(roles) for kind, roles in _DATA["trust"].items()})

# What `disclosure-ledger init` writes: the trust model's types, then the § 6103 lifecycle. A
# bulk statement's `chunk`s are signed by the same roles as the statement; `legacy_release` (the
# accounting from before the ledger) is countersigned by an oversight key (ledger.rules.engine:
# legacy.*) and dated before the policy's legacy_cutover.
DEFAULT_POLICY: dict[str, list[str]] = {
    kind: list(roles) for kind, roles in {**_DATA["trust"], **_DATA["disclosure"]}.items()}


def trust_policy(**more: list[str]) -> dict[str, list[str]]:
    """A fresh policy of the trust model's types plus ``more`` (type=roles): what tests and the
    vector generators put in a small log's genesis."""
    return {**{kind: list(roles) for kind, roles in TRUST_POLICY.items()}, **{k: list(v) for k, v in more.items()}}
