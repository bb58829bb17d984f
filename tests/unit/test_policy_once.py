"""The default policy is written once (ledger/policy.json); everything else imports a frozen copy."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ledger.policy import DEFAULT_POLICY, TRUST_POLICY, trust_policy

ROOT = Path(__file__).resolve().parents[2]


def test_the_trust_types_are_frozen_and_part_of_the_default() -> None:
    """TRUST_POLICY cannot be changed in place; the default policy and trust_policy() start from it."""
    with pytest.raises(TypeError):
        TRUST_POLICY["genesis"] = ("anyone",)  # type: ignore[index]
    assert {k: tuple(v) for k, v in DEFAULT_POLICY.items() if k in TRUST_POLICY} == dict(TRUST_POLICY)
    small = trust_policy(memo=["requester"])
    small["genesis"].append("anyone")  # a fresh copy: the frozen table is untouched
    assert TRUST_POLICY["genesis"] == ("ledger",) and small["memo"] == ["requester"]


def test_no_other_file_spells_the_table_out() -> None:
    """The trust rows appear, as data, only in ledger/policy.json (the generated verifier aside)."""
    row = '"ledger_key_rotation": ["ledger", "administrator"]'
    found = subprocess.run(["git", "grep", "-lF", row], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert [f for f in found if f != "tests/unit/test_policy_once.py"] == ["ledger/policy.json"], found
