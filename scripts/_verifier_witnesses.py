"""The court's verifier, ``--policy FILE``: the checkpoint must meet a witness policy the court pinned.

The checks themselves are the core's (ledger.core.witnessed.check_witness_policy, docs/VERIFYING.md § 8);
this part reads the policy (listed in the report with its SHA-256) and reports what was found.
A malformed pinned policy is a usage error; a policy shipped inside a bundle (witness.policy) is
evidence, so a malformed one fails the verification.
"""

from __future__ import annotations

import hashlib

from _verifier_inputs import Inputs
from _verifier_terminal import UsageError

from ledger.core.errors import LedgerError
from ledger.core.keys import VerifierKey
from ledger.core.pipeline import CheckFailed
from ledger.core.tlog_policy import WitnessPolicy, parse_policy
from ledger.core.verify_report import Report
from ledger.core.witnessed import check_witness_policy

SHIPPED_POLICY = "witness.policy"  # a bundle's own witness policy: compared with --policy, never applied


def pinned_policy(path: str, inputs: Inputs) -> WitnessPolicy:
    """The policy given with --policy, read once and listed in the report (with what it requires)."""
    data = inputs.read(path, "witness policy", "--policy", ("policy",))  # a checkpoint, an export…: exit 2
    try:
        policy = parse_policy(data)
    except LedgerError as e:
        raise UsageError(f"--policy {path!r} is not a witness policy (c2sp.org/tlog-policy): {e}") from None
    inputs.report.witness_policy = {
        "sha256": hashlib.sha256(data).hexdigest(),
        "quorum": policy.describe(),
        "witnesses": [f"{w.name}: {w.key}" for w in policy.witnesses],
        "cosigned": None,
    }
    return policy


def check_witnesses(checkpoint: bytes, trust_root: VerifierKey, pinned: WitnessPolicy, shipped: bytes | None,
                    report: Report) -> None:
    """The checkpoint's cosignatures meet the pinned policy; a shipped policy names no other witness."""
    report.stage = "witnesses"
    try:
        shipped_policy = parse_policy(shipped) if shipped is not None else None
    except LedgerError as e:
        raise CheckFailed(f"the witness policy shipped as {SHIPPED_POLICY} is malformed: {e}") from None
    try:
        witnessed = check_witness_policy(checkpoint, trust_root, pinned, shipped_policy)
    except LedgerError as e:
        raise CheckFailed(str(e)) from None
    report.passed("witnesses", witnessed.summary())
    if report.witness_policy is not None:
        report.witness_policy["cosigned"] = [c.describe() for c in witnessed.cosigned]
    if shipped_policy is not None:
        report.notes.append(f"the bundle's {SHIPPED_POLICY} names no witness outside --policy; --policy decided")
