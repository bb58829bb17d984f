"""`disclosure-ledger release-file REQUEST --review ID --out FILE`: the file a release delivers.

On the operator's side, with the sealed-store keys: writes the disclosure file for the request's
recipients (docs/FORMAT.md, "The delivered file") — exactly the lines the review approved and no
release has delivered yet, each with exactly the released fields (default: the fields the request
asked for, of name, address and tin). The releaser then signs the release over the file
(``disclosure-ledger client release … --file FILE``: its ``file_sha256`` is the file's), and
``bundle --delivered FILE`` gives the court the file to check against what was approved.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from ledger.authoring.errors import UsageError
from ledger.core.delivered import DELIVERED_FIELDS, delivered_file
from ledger.core.entry import parse_entry
from ledger.core.errors import LedgerError
from ledger.core.statement import Statement, parse_statement
from ledger.domain.bulk import statement_items
from ledger.domain.state import APPROVE
from ledger.store.ledger import Ledger


def add_parser(sub: Any) -> None:
    rf = sub.add_parser("release-file", help="(operator, sealed-store keys) write the disclosure file of a reviewed "
                                             "request: its approved lines x the released fields",
                        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    rf.add_argument("request", help="the request's statement id")
    rf.add_argument("--review", required=True, help="the review's statement id (the request's review)")
    rf.add_argument("--out", type=Path, required=True, help="a new file (mode 0600)")
    rf.add_argument("--fields", help=f"comma-separated, of {', '.join(DELIVERED_FIELDS)} (default: the request's)")


def _statement(ledger: Ledger, statement_id: str) -> Statement:
    index = ledger.statement_index(statement_id)
    if index is None:
        raise LedgerError(f"no statement {statement_id} in the log")
    return parse_statement(parse_entry(ledger.entry(index)).statement)


def _groups(stmt: Statement) -> list[str]:
    """The ids of a bulk statement's chunks (where its openings are sealed, one group per chunk)."""
    bulk = stmt.envelope["body"].get("bulk")
    return [f"{stmt.id}.c{c}" for c in range(int(bulk["chunk_count"]))] if bulk else []


def run(args: argparse.Namespace, ledger: Ledger, service: Any) -> int:
    engine = ledger.synced_rules()
    state = getattr(engine, "state", None)
    if state is None:
        raise LedgerError("this ledger has no § 6103 rules engine")
    req = state.requests.get(args.request)
    if req is None:
        raise LedgerError(f"no request {args.request} in the log")
    if req.review_id != args.review:
        raise LedgerError(f"{args.review} is not the review of request {req.id} (its review: {req.review_id})")
    if not req.review_complete:
        raise LedgerError(f"the review {args.review} is not complete in the log")
    fields = args.fields.split(",") if args.fields else [f for f in req.body["fields"] if f in DELIVERED_FIELDS]
    unknown = [f for f in fields if f not in DELIVERED_FIELDS or f not in req.body["fields"]]
    if unknown or not fields:
        raise UsageError(f"--fields: {unknown[0] if unknown else 'none'} is not a field the request asked for "
                         f"among {', '.join(DELIVERED_FIELDS)}")
    lines = [k for k in range(req.line_count) if req.decisions[k] == APPROVE
             and not (req.released and req.released[k])]
    if not lines:
        raise LedgerError(f"request {req.id} has no approved line left to release")
    if args.out.exists():
        raise UsageError(f"--out {args.out}: refusing to overwrite an existing file")
    request = _statement(ledger, req.id)
    wanted = set(lines)
    request_items = [item for k, item in enumerate(statement_items(ledger, request, state.parts)) if k in wanted]
    taxpayer: dict[int, str | None] = {}
    groups = _groups(request)
    if "tin" in fields:
        if req.match_id is None:
            raise LedgerError(f"request {req.id} has no match result")
        match = _statement(ledger, req.match_id)
        taxpayer = {item["line"]: item["taxpayer"] for item in statement_items(ledger, match, state.parts)
                    if item["line"] in wanted}
        groups += _groups(match)
    commitments = [c for item in request_items for f in fields if f != "tin" and (c := item.get(f))]
    commitments += [c for c in taxpayer.values() if c]
    opened = service.openings(commitments, groups)
    rows = []
    for k, item in zip(lines, request_items, strict=True):
        row: dict[str, Any] = {"line": k}
        for f in fields:
            commitment = taxpayer.get(k) if f == "tin" else item.get(f)
            opening = opened.get(commitment) if commitment else None
            if opening is None:
                raise LedgerError(f"line {k}: no opening of its {f} (erased, or never supplied): nothing written")
            row[f] = opening.value
        rows.append(row)
    data = delivered_file(req.id, args.review, fields, rows)
    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    print(json.dumps({"file": str(args.out), "sha256": hashlib.sha256(data).hexdigest(), "request": req.id,
                      "review": args.review, "lines": lines, "fields": fields}))
    print(f"wrote {len(lines)} lines x {len(fields)} fields to {args.out}; the releaser signs it with: "
          f"disclosure-ledger client release --key RELEASER --request {req.id} --review {args.review} "
          f"--lines {','.join(map(str, lines))} --fields {','.join(fields)} --file {args.out}", file=sys.stderr)
    return 0
