"""`disclosure-ledger salt-seed FILE` (the operator answers a principal's signed seed request without
HTTP) and the check that keeps `append` to statements without commitments (docs/FORMAT.md § 13.1)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ledger.authoring.errors import UsageError
from ledger.core.bundle_format import commitment_slots
from ledger.core.errors import LedgerError
from ledger.core.statement import parse_statement


def add_parser(sub: Any) -> None:
    ss = sub.add_parser("salt-seed", help="(operator) answer a principal's signed seed request: the seed, sealed to "
                                          "their key (FORMAT § 13.1)")
    ss.add_argument("file", help="the seed request note ('-' for stdin)")


def run(args: argparse.Namespace, service: Any) -> int:
    """Print the answer (JSON) to the seed request in ``args.file``; SeedRefused says why not."""
    print(json.dumps(service.seeds.answer(read(args.file))))
    return 0


def read(path: str) -> str:
    """A text file's content, or '-' for stdin; a file that cannot be read is a usage error."""
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{path}: cannot be read ({type(e).__name__})") from None


def refuse_commitments(text: str) -> None:
    """`append` bypasses the disclosure service: refuse a statement that carries commitments (its
    openings and salts would go unchecked). Unparseable text is left to the append to refuse."""
    try:
        commits = bool(commitment_slots(parse_statement(text)))
    except LedgerError:
        return
    if commits:
        raise UsageError("this statement commits to personal data: `submit` it with its openings (its salts are "
                         "checked against the seed the ledger issued)")
