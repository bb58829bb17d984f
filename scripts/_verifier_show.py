"""--show: entries of an export or an evidence bundle decoded for a person, verifying nothing
(docs/VERIFYING.md § 4, step 6); the words are ledger.core.readable's.

This is a part of scripts/verify_ledger.py; scripts/build_verifier.py bundles it with the
integrity core (ledger/core/) and the rest of the command line into that one standalone file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable
from typing import Any

from _verifier_inputs import Inputs
from _verifier_terminal import UsageError

from ledger.core.diagnosis import DECODED_HEADER, line_entry, line_index
from ledger.core.errors import LedgerError
from ledger.core.readable import DECODED_NOTE, decode_entry, decoded_export, describe_entry, describe_line
from ledger.core.verify_report import EXIT_FAILED, EXIT_OK, Report


def show(args: argparse.Namespace) -> int:
    """Print entries of an export or a bundle decoded for a person (0), or say why one cannot be (1)."""
    if args.bundle is not None:
        Inputs(Report()).bundle_folder(args.bundle)
        path, flag = os.path.join(args.bundle, "entries.jsonl"), "--bundle"
        if not os.path.isfile(path):
            raise UsageError(f"--bundle {args.bundle!r} holds no entries.jsonl: give a bundle's folder")
    else:
        path, flag = args.export, "--export"
        Inputs(Report()).export_head(path)
    try:
        with open(path, "rb") as f:
            return _show_all(f, args.json) if args.show == "all" else _show_one(f, int(args.show), args.json, flag)
    except OSError as e:
        raise UsageError(f"cannot read {path!r}: {e.strerror or e}") from None


def _show_all(lines: Iterable[bytes], as_json: bool) -> int:
    status = EXIT_OK
    if not as_json:
        for text in decoded_export(lines):
            sys.stdout.write(text)
            status = EXIT_FAILED if text.startswith("\nline ") else status
        return status
    for position, line in enumerate(lines):
        data = line_entry(line)
        try:
            if data is None:
                raise LedgerError("not an export line that can be decoded")
            value: dict[str, Any] = decode_entry(data)
        except LedgerError as e:
            value, status = {"line": position + 1, "error": str(e)}, EXIT_FAILED
        print(json.dumps(value, ensure_ascii=False))
    return status


def _show_one(lines: Iterable[bytes], wanted: int, as_json: bool, flag: str) -> int:
    at_position = chosen = None
    count = 0
    for position, line in enumerate(lines):
        count += 1
        if position == wanted:
            at_position = (position, line)
        if line_index(line) == wanted:
            chosen = (position, line)
            break
    chosen = chosen or at_position
    if chosen is None:
        raise UsageError(f"the file given as {flag} holds no entry {wanted} ({count} lines)")
    position, line = chosen
    data = line_entry(line)
    try:
        if data is None:
            raise LedgerError("not an export line that can be decoded")
        shown = decode_entry(data)
        text = describe_entry(data)
    except LedgerError as e:
        if as_json:
            print(json.dumps({"line": position + 1, "error": str(e)}, ensure_ascii=False))
        else:
            sys.stdout.write(describe_line(line, position))
        return EXIT_FAILED
    if as_json:
        print(json.dumps(shown, ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(DECODED_HEADER + "\n" + DECODED_NOTE + "\n" + text)
    return EXIT_OK
