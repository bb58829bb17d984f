"""`disclosure-ledger import-accounting` and `legacy-cutover`: the accounting from before the ledger.

    legacy-cutover DATE [--cosign ADMIN | --cosigner ADMIN --out BATCH]
                                                         the policy in force, with its legacy_cutover set
    import-accounting FILE --key IMPORTER --countersigner OVERSIGHT --out BATCH
                                                         past disclosures (JSON Lines) as legacy_release
                                                         statements signed by the importer, written to a
                                                         batch the oversight principal countersigns on
                                                         their own machine (client cosign)
    import-accounting --submit COSIGNED                  append the countersigned batch, all or none
    import-accounting FILE --key IMPORTER --countersign OVERSIGHT [--dry-run]
                                                         both keys in this keyring (demos, tests)

The file is checked whole before anything is signed: a bad line, or a disclosure dated on or after the
cutover the log holds, is one line naming it and exit 2, with nothing appended or written. The statements
are submitted together (all or none), their openings sealed under the operator's sealed-store keys.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ledger.authoring.batch import complete_notes, new_batch, read_batch, write_batch
from ledger.authoring.errors import UsageError
from ledger.client.keyring import Keyring
from ledger.domain.accounting import (
    AccountingError,
    LegacyDisclosure,
    cutover_policy,
    legacy_release,
    read_accounting,
)
from ledger.store.ledger import Ledger

OVERSIGHT_ROLE = "oversight"  # the role that countersigns an imported record (rule legacy.countersign)


def add_parser(sub: Any) -> None:
    imp = sub.add_parser(
        "import-accounting", help="record past disclosures (an agency's accounting from before the ledger) as "
                                  "legacy_release entries, signed by an importer and countersigned by oversight",
        description="Read FILE (JSON Lines, one released taxpayer line per line: docs/FORMAT.md § 17.10.1) and "
                    "record each past disclosure as a legacy_release entry (at most 150 lines each), signed by "
                    "--key (a key with the importer role) and countersigned by an oversight key. Each "
                    "disclosure must be dated before the policy's legacy_cutover (set with legacy-cutover). "
                    "Two machines (recommended): --countersigner NAME --out BATCH signs with the importer's "
                    "key alone and writes BATCH (mode 0600: it holds the openings; FORMAT § 19.3), nothing "
                    "appended; the oversight principal runs `client cosign BATCH --key NAME --out COSIGNED` "
                    "on their own machine; then --submit COSIGNED appends it, all or none. One keyring (demos, "
                    "tests): --countersign NAME signs with both keys and appends. Needs the sealed-store keys "
                    "(LEDGER_SEALED_KEY_DIR). A bad file: one line naming the line, exit 2, nothing appended.",
        epilog="example: import-accounting examples/accounting-2025.jsonl --key irs.gov/accounting/importer-01 "
               "--countersigner tigta.gov/auditor-1 --out batch.json; (TIGTA) client cosign batch.json --key "
               "tigta.gov/auditor-1 --out cosigned.json; import-accounting --submit cosigned.json")
    imp.add_argument("file", type=Path, nargs="?", help="the accounting file (JSON Lines)")
    imp.add_argument("--key", metavar="NAME", help="the importer's key name in the keyring")
    imp.add_argument("--countersigner", metavar="NAME",
                     help="the oversight principal who countersigns every record on their own machine (with --out)")
    imp.add_argument("--out", type=Path, metavar="BATCH",
                     help="write the importer-signed batch to this new file (mode 0600) instead of appending")
    imp.add_argument("--submit", type=Path, metavar="COSIGNED",
                     help="append a countersigned batch (from client cosign), all or none")
    imp.add_argument("--countersign", metavar="NAME",
                     help="(demos, tests) the oversight principal's key name in this same keyring: sign with "
                          "both keys and append")
    imp.add_argument("--dry-run", action="store_true", help="check the file and say what would be imported")
    cut = sub.add_parser(
        "legacy-cutover", help="set the policy's legacy_cutover: past disclosures may be imported only if "
                               "dated before it",
        description="Append a policy statement: the policy in force with its legacy_cutover set to DATE. "
                    "Setting it for the first time or moving it later takes two administrators (--admin and "
                    "--cosign); moving it earlier, one. The second administrator may sign on their own "
                    "machine: --cosigner NAME --out BATCH writes the statement signed by --admin alone to "
                    "BATCH, nothing appended; they run `client cosign BATCH --key NAME --out COSIGNED`; "
                    "`submit COSIGNED` appends it.")
    cut.add_argument("date", help="YYYY-MM-DD: the first day the ledger records disclosures itself")
    cut.add_argument("--cosign", action="append", default=[], metavar="NAME",
                     help="a second administrator's key name in the keyring")
    cut.add_argument("--cosigner", action="append", default=[], metavar="NAME",
                     help="a second administrator who signs on their own machine (with --out)")
    cut.add_argument("--out", type=Path, metavar="BATCH",
                     help="write the statement to this new file for the --cosigner to sign, instead of appending")


def run_cutover(args: argparse.Namespace, ledger: Ledger, keyring: Keyring) -> int:
    if bool(args.cosigner) != (args.out is not None):
        raise UsageError("legacy-cutover: --cosigner and --out go together (the statement is written for the "
                         "cosigner to sign, not appended)")
    admin = keyring.administrator(ledger.trust(), args.admin)
    signers = [admin, *(keyring.get(n) for n in args.cosign)]
    try:
        note = cutover_policy(signers, ledger.trust().policy, args.date, later=args.cosigner)
    except AccountingError as e:
        raise UsageError(str(e)) from None
    if args.out is not None:
        write_batch(args.out, new_batch([note], [], signers))
        print(f"wrote {args.out}: legacy_cutover {args.date}, signed by {', '.join(k.name for k in signers)}; "
              f"now `client cosign {args.out} --key {args.cosigner[0]} --out COSIGNED` (their machine), then "
              "`submit COSIGNED`", file=sys.stderr)
        return 0
    appended = ledger.append(note)
    print(f"legacy_cutover {args.date} in force from entry {appended.index}", file=sys.stderr)
    return 0


def _mode(args: argparse.Namespace) -> str:
    """Which import this is ("submit", "batch", "one-keyring"), or a UsageError naming the mix-up."""
    if args.submit is not None:
        if args.file or args.key or args.countersign or args.countersigner or args.out or args.dry_run:
            raise UsageError("import-accounting --submit COSIGNED takes nothing else (the batch holds it all)")
        return "submit"
    if args.file is None or not args.key:
        raise UsageError("import-accounting needs FILE and --key IMPORTER, with --countersigner OVERSIGHT --out "
                         "BATCH (or --countersign OVERSIGHT in one keyring), or --submit COSIGNED")
    if args.countersign and (args.countersigner or args.out):
        raise UsageError("import-accounting: --countersign (both keys here) or --countersigner with --out "
                         "(the oversight principal signs elsewhere), not both")
    if args.countersign:
        return "one-keyring"
    if not args.countersigner or (args.out is None and not args.dry_run):
        raise UsageError("import-accounting needs --countersigner OVERSIGHT --out BATCH (or --countersign "
                         "OVERSIGHT with both keys in this keyring)")
    return "batch"


def _checked(args: argparse.Namespace, ledger: Ledger) -> tuple[list[LegacyDisclosure], str]:
    """The file's disclosures, each dated before the cutover in force (UsageError, one line, otherwise)."""
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
    return records, cutover


def _oversight(ledger: Ledger, name: str) -> None:
    """A countersigner the log knows as an oversight principal now (the rules ask it of the entry)."""
    current = ledger.trust().current(name)
    if current is None or OVERSIGHT_ROLE not in current.roles:
        raise UsageError(f"--countersigner {name}: no key with the {OVERSIGHT_ROLE} role is registered under "
                         "that name (disclosure-ledger keys list)")


def run_import(args: argparse.Namespace, ledger: Ledger, keyring: Keyring, service: Any) -> int:
    mode = _mode(args)
    if mode == "submit":
        return _submit(args.submit, ledger, service)
    records, cutover = _checked(args, ledger)
    lines = sum(len(r.lines) for r in records)
    if mode == "batch":
        _oversight(ledger, args.countersigner)
    if args.dry_run:
        print(f"{args.file}: {len(records)} disclosures, {lines} lines, all before {cutover}; nothing imported")
        return 0
    importer = keyring.get(args.key)
    if mode == "batch":
        if args.out.exists():
            raise UsageError(f"{args.out}: already exists (a batch is written to a new file)")
        subs = [legacy_release([importer], r, service.issue_seed(importer.name, "legacy_release"),
                               countersigner=args.countersigner) for r in records]
        write_batch(args.out, new_batch([s.note for s in subs], [o for s in subs for o in s.openings], [importer]))
        print(f"wrote {args.out} (mode 0600: it holds the openings): {len(records)} disclosures ({lines} lines) "
              f"from {args.file} signed by {importer.name}, for {args.countersigner} to countersign within a day "
              f"(client cosign {args.out} --key {args.countersigner} --out COSIGNED), then import-accounting "
              "--submit COSIGNED; nothing appended")
        return 0
    overseer = keyring.get(args.countersign)
    subs = [legacy_release([importer, overseer], r, service.issue_seed(importer.name, "legacy_release"))
            for r in records]
    appended = service.submit_batch([s.note for s in subs], [o for s in subs for o in s.openings])
    print(f"imported {len(records)} disclosures ({lines} lines) from {args.file} as entries "
          f"{appended[0].index}..{appended[-1].index}")
    return 0


def _submit(path: Path, ledger: Ledger, service: Any) -> int:
    """Append a countersigned batch of imported records, all or none."""
    batch = read_batch(path)
    other = next((s for s in batch.statements if s.type != "legacy_release"), None)
    if other is not None:
        raise UsageError(f"{path}: holds a {other.type} statement ({other.id}), not only imported records: "
                         "submit it with `disclosure-ledger submit`")
    notes = complete_notes(batch, path)
    cutover = ledger.trust().legacy_cutover
    day = {s.id: str(s.envelope["body"].get("disclosed_on")) for s in batch.statements}
    late = next((s for s in batch.statements if cutover is None or day[s.id] >= cutover), None)
    if late is not None:
        raise UsageError(f"{path}: {late.id} is dated {day[late.id]}, not before the policy's legacy_cutover "
                         f"({cutover or 'none set'}); nothing imported")
    appended = service.submit_batch(notes, batch.openings)
    lines = sum(len(s.envelope["body"].get("lines") or []) for s in batch.statements)
    print(f"imported {len(notes)} disclosures ({lines} lines) from {path} as entries "
          f"{appended[0].index}..{appended[-1].index}")
    return 0
