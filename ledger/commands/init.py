"""What `disclosure-ledger init` says once the ledger exists: what to publish, and what to do next."""

from __future__ import annotations

import sys

from ledger.store.ledger import Ledger


def next_steps(ledger: Ledger, admin_name: str) -> str:
    """The operator's next steps after ``init`` (printed on stderr; stdout keeps the entry and checkpoint)."""
    s = ledger.settings
    return f"""
The ledger {ledger.origin} is created in {s.redacted_url()}.

Publish now (courts, monitors and witnesses verify everything against it; give it out of band):
  the trust root, the checkpoint verifier key:
    {ledger.trust_root()}
  (again at any time: disclosure-ledger vkey), and the first checkpoint printed above.

Keep private, and back up to escrow: {s.key_dir} (the ledger's statement and checkpoint keys)
and the administrator key {admin_name} in the keyring (docs/OPERATIONS.md § 4).

Next:
  1. make the sealed-store keys once, and escrow them (OPERATIONS § 5.3):
       disclosure-ledger sealed-keys new --out /srv/disclosure-ledger/sealed-keys
       export LEDGER_SEALED_KEY_DIR=/srv/disclosure-ledger/sealed-keys
       disclosure-ledger sealed-keys escrow --out /media/escrow/sealed-keys.json
  2. register each principal's key (keys proof on their machine, keys register here; or keys new):
       disclosure-ledger keys new irs.gov/disclosure/officer-0042 --role reviewer --attr agency=IRS
  3. serve the API (disclosure-ledger serve) or take signed statements with disclosure-ledger submit FILE;
  4. check the log on a schedule: disclosure-ledger verify (exit 1 names the first bad entry).
"""


def print_next_steps(ledger: Ledger, admin_name: str) -> None:
    print(next_steps(ledger, admin_name), file=sys.stderr)
