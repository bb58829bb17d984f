"""Rotating the ledger's own keys: a new statement and checkpoint key, then the end of the overlap."""

from __future__ import annotations

from collections.abc import Callable

from ledger.core.errors import LedgerError
from ledger.store.chain import Appended
from ledger.store.ledger import Ledger
from ledger.store.service_keys import ServiceKeys


def rotate_ledger_keys(ledger: Ledger, admin_name: str, countersign: Callable[[str], str]) -> Appended:
    """Rotate the ledger's statement and checkpoint keys.

    The new statement key signs the rotation (proof of possession), an administrator
    countersigns, and from then on checkpoints carry both the new and the old checkpoint
    key's signatures until the old one is retired (``retire_old_checkpoint_keys``).
    """
    from ledger.authoring.trust import ledger_key_rotation_proof

    old = ledger.keys
    new = ServiceKeys.generate(ledger.origin)
    pending = ServiceKeys(new.statement, (new.checkpoint[0], *old.checkpoint))
    pending_dir = ledger.settings.key_dir / "pending"
    pending.save(pending_dir)  # never lose a key the log is about to name
    note = countersign(ledger_key_rotation_proof(new.statement, new.checkpoint[0].verifier, admin_name))
    appended = ledger.append(note)
    pending.save(ledger.settings.key_dir)
    for f in pending_dir.iterdir():
        f.unlink()
    pending_dir.rmdir()
    ledger.reload_keys()
    ledger.publish(force=True, lease_timeout=30.0)  # with witnesses: published once a quorum cosigns
    return appended


def retire_old_checkpoint_keys(ledger: Ledger) -> None:
    """End the overlap: sign checkpoints with the newest checkpoint key only.

    With a witness policy that lists the log's keys, the newest must be listed first: checkpoints
    signed by it alone would otherwise meet no verifier holding that policy."""
    keys = ledger.keys
    policy = ledger.publisher.policy
    newest = keys.checkpoint[0].verifier
    if policy is not None and policy.logs and newest not in policy.log_keys:
        raise LedgerError(f"the witness policy ({ledger.settings.witness_policy}) does not list the new checkpoint key "
                          f"{newest}: add `log {newest}` to it (and every witness: `witness add-log --vkey`) first")
    ServiceKeys(keys.statement, keys.checkpoint[:1]).save(ledger.settings.key_dir)
    ledger.reload_keys()
