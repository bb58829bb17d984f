"""The first half of `make run` (the second serves the API): on first run, initialise a ledger on
the embedded SQLite default and load the demo scenario (the 2025 story at small scale, fictional
people); on every run, re-verify the stored log and print the signed checkpoint and the trust root."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TextIO

from demo import scenario
from ledger.bootstrap import open_ledger
from ledger.client.keyring import Keyring
from ledger.config import Settings, private_files
from ledger.sealed import SealedKeys, SealedStore


def sealed_keys(var: Path) -> SealedKeys:
    key_dir = Path(os.environ.get("LEDGER_SEALED_KEY_DIR", var / "sealed-keys"))
    if (key_dir / "sealed.key").exists():
        return SealedKeys.from_dir(key_dir)
    return SealedKeys.generate(key_dir)  # demo only: a real operator escrows these first


def print_demo_tins(tins: dict[str, str], file: TextIO = sys.stderr) -> None:
    """What to look up first: demo TINs (fictional) and what each shows, and how to get a token."""
    print("demo TINs to look up (fictional people), at http://127.0.0.1:8000/taxpayer:", file=file)
    for what, tin in tins.items():
        print(f"  {tin}  {what}", file=file)
    print("sign in with a token: .venv/bin/disclosure-ledger api-token create tigta.gov/auditor-1 --role oversight",
          file=file)


def main() -> int:
    private_files()  # the database, its WAL files and the keys: 0600
    var = Path(os.environ.get("LEDGER_VAR", "var"))
    settings = Settings.from_env(var=var)
    keyring = Keyring(Path(os.environ.get("LEDGER_KEYRING", var / "keyring")))
    secrets = sealed_keys(var)
    with open_ledger(settings) as ledger, SealedStore(settings.db_url, secrets) as sealed:
        if ledger.size() == 0:
            report = scenario.load(ledger, sealed, secrets, keyring)
            print(f"loaded the demo into {settings.redacted_url()}: {report.lines_requested} lines requested, "
                  f"{report.lines_released} released; blocked: "
                  + "; ".join(f"{label} ({', '.join(rules)})" for label, rules in report.blocked), file=sys.stderr)
            print(f"released {report.lines_released_monthly} lines of small requests through 2026; "
                  f"imported {report.lines_imported} lines of the 2025 accounting (before the cutover "
                  f"{scenario.CUTOVER})", file=sys.stderr)
        print_demo_tins(scenario.demo_tins(), file=sys.stderr)
        checkpoint = ledger.checkpoint()
        report_ok = ledger.fsck()
        print(f"log size {ledger.size()}; stored log verifies: {report_ok.ok}", file=sys.stderr)
        print("trust root (checkpoint verifier key):", ledger.trust_root(), file=sys.stderr)
        print(f"checkpoints: {ledger.publisher.status().describe()}", file=sys.stderr)
        print(checkpoint.encode(), end="")
        return 0 if report_ok.ok else 1


if __name__ == "__main__":
    sys.exit(main())
