"""The first half of `make run` (the second serves the API): on first run, initialise a ledger on
the embedded SQLite default and load the demo scenario (the 2025 story at small scale, fictional
people); on every run, re-verify the stored log and print the signed checkpoint and the trust root."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ledger.bootstrap import open_ledger
from ledger.client.keyring import Keyring
from ledger.config import Settings
from ledger.demo import scenario
from ledger.domain.masterfile import MasterFile
from ledger.domain.service import DisclosureService
from ledger.policy import DEFAULT_POLICY
from ledger.sealed import SealedKeys, SealedStore
from ledger.store.fsck import fsck

SEED = 2025


def sealed_keys(var: Path) -> SealedKeys:
    key_dir = Path(os.environ.get("LEDGER_SEALED_KEY_DIR", var / "sealed-keys"))
    if (key_dir / "sealed.key").exists():
        return SealedKeys.from_dir(key_dir)
    return SealedKeys.generate(key_dir)  # demo only: a real operator escrows these first


def main() -> int:
    var = Path(os.environ.get("LEDGER_VAR", "var"))
    settings = Settings.from_env(var=var)
    keyring = Keyring(Path(os.environ.get("LEDGER_KEYRING", var / "keyring")))
    secrets = sealed_keys(var)
    with open_ledger(settings) as ledger, SealedStore(settings.db_url, secrets) as sealed:
        if ledger.size() == 0:
            admin_name = f"{scenario.ORIGIN}/admin"
            admin = keyring.get(admin_name) if keyring.has(admin_name) else keyring.new(admin_name)
            ledger.initialise(scenario.ORIGIN, str(admin.verifier), DEFAULT_POLICY)
            service = DisclosureService(ledger, sealed, secrets)
            keys = scenario.register_principals(service, admin, keyring)
            report = scenario.run(service, keys, MasterFile.generate(400, SEED), seed=SEED)
            print(f"loaded the demo into {settings.redacted_url()}: {report.lines_requested} lines requested, "
                  f"{report.lines_released} released; blocked: "
                  + "; ".join(f"{label} ({', '.join(rules)})" for label, rules in report.blocked), file=sys.stderr)
        checkpoint = ledger.checkpoint()
        report_ok = fsck(ledger.recorder)
        print(f"log size {ledger.size()}; stored log verifies: {report_ok.ok}", file=sys.stderr)
        print("trust root (checkpoint verifier key):", ledger.trust_root(), file=sys.stderr)
        print(checkpoint.encode(), end="")
        return 0 if report_ok.ok else 1


if __name__ == "__main__":
    sys.exit(main())
