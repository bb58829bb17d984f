"""`disclosure-ledger import-accounting` and `legacy-cutover`: the accounting from before the ledger.

    legacy-cutover DATE [--cosign ADMIN]                 the policy in force, with its legacy_cutover set
    import-accounting FILE --key IMPORTER --countersign OVERSIGHT [--dry-run]
                                                         past disclosures (JSON Lines) as legacy_release entries

The file is checked whole before anything is signed: a bad line, or a disclosure dated on or after the
cutover the log holds, is one line naming it and exit 2, with nothing appended. The statements are then
submitted together (all or none), their openings sealed under the operator's sealed-store keys.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ledger.client.errors import UsageError
from ledger.client.keyring import Keyring
from ledger.domain.accounting import AccountingError, cutover_policy, legacy_release, read_accounting
from ledger.errors import LedgerError
from ledger.store.ledger import Ledger
from ledger.trust import ADMIN_ROLE


def add_parser(sub: Any) -> None:
    imp = sub.add_parser(
        "import-accounting", help="record past disclosures (an agency's accounting from before the ledger) as "
                                  "legacy_release entries, signed by an importer and countersigned by oversight",
        description="Read FILE (JSON Lines, one released taxpayer line per line: docs/FORMAT.md § 17.10.1) and "
                    "record each past disclosure as a legacy_release entry (at most 150 lines each), signed by "
                    "--key (a key with the importer role) and countersigned by --countersign (an oversight key), "
                    "both in the keyring. Each disclosure must be dated before the policy's legacy_cutover "
                    "(set with legacy-cutover). Needs the sealed-store keys (LEDGER_SEALED_KEY_DIR). A bad "
                    "file: one line naming the line, exit 2, nothing appended.")
    imp.add_argument("file", type=Path, help="the accounting file (JSON Lines)")
    imp.add_argument("--key", required=True, metavar="NAME", help="the importer's key name in the keyring")
    imp.add_argument("--countersign", required=True, metavar="NAME",
                     help="the oversight principal's key name in the keyring (countersigns every record)")
    imp.add_argument("--dry-run", action="store_true", help="check the file and say what would be imported")
    cut = sub.add_parser(
        "legacy-cutover", help="set the policy's legacy_cutover: past disclosures may be imported only if "
                               "dated before it",
        description="Append a policy statement: the policy in force with its legacy_cutover set to DATE. "
                    "Setting it for the first time or moving it later takes two administrators (--admin and "
                    "--cosign); moving it earlier, one.")
    cut.add_argument("date", help="YYYY-MM-DD: the first day the ledger records disclosures itself")
    cut.add_argument("--cosign", action="append", default=[], metavar="NAME",
                     help="a second administrator's key name in the keyring")


def _administrator(ledger: Ledger, keyring: Keyring, name: str | None) -> Any:
    if name:
        return keyring.get(name)
    trust = ledger.trust()
    for candidate in trust.keys:
        current = trust.current(candidate)
        if current and ADMIN_ROLE in current.roles and keyring.has(candidate):
            return keyring.get(candidate)
    raise LedgerError(f"no administrator key in keyring {keyring.path}; pass --admin NAME")


def run_cutover(args: argparse.Namespace, ledger: Ledger, keyring: Keyring) -> int:
    admin = _administrator(ledger, keyring, args.admin)
    signers = [admin, *(keyring.get(n) for n in args.cosign)]
    try:
        note = cutover_policy(signers, ledger.trust().policy, args.date)
    except AccountingError as e:
        raise UsageError(str(e)) from None
    appended = ledger.append(note)
    print(f"legacy_cutover {args.date} in force from entry {appended.index}", file=sys.stderr)
    return 0


def run_import(args: argparse.Namespace, ledger: Ledger, keyring: Keyring, service: Any) -> int:
    try:
        with open(args.file, encoding="utf-8") as f:
            records = read_accounting(f)
    except UnicodeDecodeError:
        raise UsageError(f"{args.file}: not UTF-8 text") from None
    except AccountingError as e:
        raise UsageError(f"{args.file} {e}") from None
    cutover = ledger.trust().legacy_cutover
    if cutover is None:
        raise UsageError("the policy in force sets no legacy_cutover: set it first (disclosure-ledger "
                         "legacy-cutover DATE --cosign ADMIN)")
    late = next((r for r in records if r.disclosed_on >= cutover), None)
    if late is not None:
        raise UsageError(f"{args.file} line {late.first_input_line}: disclosed on {late.disclosed_on}, not before "
                         f"the policy's legacy_cutover {cutover}; nothing imported")
    lines = sum(len(r.lines) for r in records)
    if args.dry_run:
        print(f"{args.file}: {len(records)} disclosures, {lines} lines, all before {cutover}; nothing imported")
        return 0
    importer, overseer = keyring.get(args.key), keyring.get(args.countersign)
    subs = [legacy_release([importer, overseer], r, service.issue_seed(importer.name, "legacy_release"))
            for r in records]
    appended = service.submit_batch([s.note for s in subs], [o for s in subs for o in s.openings])
    print(f"imported {len(records)} disclosures ({lines} lines) from {args.file} as entries "
          f"{appended[0].index}..{appended[-1].index}")
    return 0
