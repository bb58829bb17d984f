"""`disclosure-ledger sealed-keys …`: making, escrow and restore of the sealed-store and pseudonym keys.

    sealed-keys new --out DIR            make the two keys, once: DIR/sealed.key and DIR/pseudonym.key (0600)
    sealed-keys ids [--bundle FILE]      key ids of the configured keys (or of a bundle, no passphrase needed)
    sealed-keys escrow --out FILE        the configured keys, encrypted under a passphrase (Argon2id)
    sealed-keys restore FILE --out DIR   write sealed.key and pseudonym.key from a bundle into DIR

The keys are read from LEDGER_SEALED_KEY_DIR or LEDGER_SEALED_KEY_FILE + LEDGER_PSEUDONYM_KEY_FILE
(no default). The passphrase comes from the environment variable ``--passphrase-env`` names
(LEDGER_ESCROW_PASSPHRASE unless told otherwise), or is asked for on a terminal; it is never a
command-line argument (other users could read it in the process list) and never printed.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any

from ledger.core.canonical import parse_canonical
from ledger.core.errors import LedgerError
from ledger.sealed import SealedKeys, escrow_bundle, restore_escrow

PASSPHRASE_ENV = "LEDGER_ESCROW_PASSPHRASE"  # noqa: S105 - the name of a variable, not a secret


def add_parser(sub: Any) -> None:
    p = sub.add_parser("sealed-keys", help="escrow and restore the sealed-store and pseudonym keys (OPERATIONS § 5.3)")
    cmds = p.add_subparsers(dest="sealed_keys_command", required=True)
    new = cmds.add_parser("new", help="make the sealed-store and pseudonym keys, once (then escrow them)",
                          description="Write two fresh random keys, sealed.key and pseudonym.key, into DIR (a new "
                                      "or empty directory, 0700; files 0600). Never overwrites a key.")
    new.add_argument("--out", type=Path, required=True, metavar="DIR", help="the directory for the two key files")
    ids = cmds.add_parser("ids", help="print the key ids of the configured keys, or of an escrow bundle")
    ids.add_argument("--bundle", type=Path, help="an escrow bundle (its ids are public)")
    esc = cmds.add_parser("escrow", help="write the configured keys into a passphrase-encrypted bundle")
    esc.add_argument("--out", type=Path, required=True, help="a new file")
    esc.add_argument("--passphrase-env", default=PASSPHRASE_ENV, metavar="NAME",
                     help=f"the environment variable holding the passphrase (default {PASSPHRASE_ENV})")
    res = cmds.add_parser("restore", help="write the keys of a bundle into a directory")
    res.add_argument("bundle", type=Path)
    res.add_argument("--out", type=Path, required=True, help="directory for sealed.key and pseudonym.key (new files)")
    res.add_argument("--passphrase-env", default=PASSPHRASE_ENV, metavar="NAME",
                     help=f"the environment variable holding the passphrase (default {PASSPHRASE_ENV})")


def _passphrase(env_name: str, confirm: bool) -> str:
    value = os.environ.get(env_name)
    if value:
        return value
    if not sys.stdin.isatty():
        raise LedgerError(f"no passphrase: set {env_name} or run on a terminal to be asked")
    first = getpass.getpass("escrow passphrase: ")
    if confirm and getpass.getpass("again: ") != first:
        raise LedgerError("the passphrases differ")
    return first


def _ids(keys: SealedKeys) -> dict[str, str]:
    return {"pseudonym": keys.pseudonym_key_id, "sealed": keys.sealed_key_id}


def _new(out: Path) -> int:
    """Make the two keys in ``out``; refuse a directory that already holds either key file."""
    if out.exists() and not out.is_dir():
        raise LedgerError(f"{out} exists and is not a directory")
    keys = SealedKeys.random()
    keys.save(out)  # mode 0700 for a new directory, 0600 files, O_EXCL: never overwrites a key
    out.chmod(0o700)
    print(json.dumps({"created": _ids(keys), "dir": str(out)}, sort_keys=True))
    print(f"Escrow these keys now, before the first statement is submitted: losing either loses every opening "
          f"and pseudonym sealed under it. Set LEDGER_SEALED_KEY_DIR={out} and run "
          f"`disclosure-ledger sealed-keys escrow --out FILE` (OPERATIONS § 5.3).", file=sys.stderr)
    return 0


def run(args: argparse.Namespace) -> int:
    """Run one `sealed-keys` command; errors are LedgerError subclasses (the CLI prints them)."""
    action = args.sealed_keys_command
    if action == "new":
        return _new(args.out)
    if action == "ids":
        if args.bundle is not None:
            try:
                ids = parse_canonical(args.bundle.read_bytes())["key_ids"]
            except (OSError, KeyError, TypeError) as e:
                raise LedgerError(f"not an escrow bundle: {type(e).__name__}") from None
        else:
            ids = _ids(SealedKeys.from_env())
        print(json.dumps(ids, sort_keys=True))
        return 0
    if action == "escrow":
        keys = SealedKeys.from_env()
        if args.out.exists():
            raise LedgerError(f"refusing to overwrite {args.out}")
        bundle = escrow_bundle(keys, _passphrase(args.passphrase_env, confirm=True))
        fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(bundle)
        print(json.dumps({"escrowed": _ids(keys), "bundle": str(args.out)}, sort_keys=True))
        return 0
    try:
        bundle_bytes = args.bundle.read_bytes()
    except OSError as e:
        raise LedgerError(f"cannot read {args.bundle}: {e.strerror}") from None
    keys = restore_escrow(bundle_bytes, _passphrase(args.passphrase_env, confirm=False))
    keys.save(args.out)  # refuses to overwrite key files
    print(json.dumps({"restored": _ids(keys), "dir": str(args.out)}, sort_keys=True))
    return 0
