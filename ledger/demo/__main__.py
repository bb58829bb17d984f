"""`make run` until the API exists: initialise a ledger on the embedded SQLite default,
record a few demo statements and print the signed checkpoint and the trust root.

The demo statements carry only commitments (random salts over fictional values), never
return information: the § 6103 statement schemas arrive with the domain layer.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sys
from pathlib import Path

from ledger.canonical import canonical_bytes
from ledger.client.keyring import Keyring
from ledger.client.trust import key_registration, signed
from ledger.config import Settings
from ledger.policy import DEFAULT_POLICY
from ledger.store.fsck import fsck
from ledger.store.ledger import Ledger

ORIGIN = "ledger.irs.example/disclosures"
PRINCIPALS = {
    "ice.dhs.gov/director": (["requester"], {"agency": "DHS/ICE", "office": "Director"}),
    "irs.gov/disclosure/officer-0042": (["reviewer"], {"agency": "IRS", "office": "Disclosure"}),
    "irs.gov/disclosure/release-0007": (["releaser"], {"agency": "IRS", "office": "Disclosure"}),
}


def commitment(field: str, value: str) -> str:
    """hex(SHA-256("dl/commit/v1\\n" || salt || JCS({"field", "value"}))) with a fresh salt."""
    salt = secrets.token_bytes(16)
    return hashlib.sha256(b"dl/commit/v1\n" + salt + canonical_bytes({"field": field, "value": value})).hexdigest()


def main() -> int:
    var = Path(os.environ.get("LEDGER_VAR", "var"))
    settings = Settings.from_env(var=var)
    keyring = Keyring(Path(os.environ.get("LEDGER_KEYRING", var / "keyring")))
    with Ledger(settings) as ledger:
        admin_name = f"{ORIGIN}/admin"
        if ledger.size() == 0:
            admin = keyring.get(admin_name) if keyring.has(admin_name) else keyring.new(admin_name)
            ledger.initialise(ORIGIN, str(admin.verifier), DEFAULT_POLICY)
            for name, (roles, attrs) in PRINCIPALS.items():
                key = keyring.get(name) if keyring.has(name) else keyring.new(name)
                ledger.append(key_registration(admin, key, roles, attrs))
            print(f"initialised {settings.redacted_url()} with origin {ORIGIN}", file=sys.stderr)
        requester = keyring.get("ice.dhs.gov/director")
        reviewer = keyring.get("irs.gov/disclosure/officer-0042")
        releaser = keyring.get("irs.gov/disclosure/release-0007")
        lines = 3
        request = signed([requester], "request", {
            "exception": "6103(i)(2)",
            "line_count": lines,
            "line_commitments": [commitment("line", f"demo-line-{i}") for i in range(lines)],
            "purpose_commitment": commitment("purpose", "demo purpose"),
        })
        r = ledger.append(request)
        ledger.append(signed([reviewer], "review", {"request_index": r.index, "approved": 2, "refused": 1}))
        ledger.append(signed([releaser], "release", {"request_index": r.index, "released": 2,
                                                     "file_sha256": hashlib.sha256(b"demo").hexdigest()}))
        checkpoint = ledger.checkpoint()
        report = fsck(ledger.recorder)
        print(f"log size {ledger.size()}; stored log verifies: {report.ok}", file=sys.stderr)
        print("trust root (checkpoint verifier key):", ledger.trust_root(), file=sys.stderr)
        print(checkpoint.encode(), end="")
        return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
