"""`disclosure-ledger officer …`: the disclosure officer's commands.

    officer queue [--waiting-for WHAT]              open requests, oldest first: age, what each waits for
    officer sheet REQUEST --out SHEET.csv           one row per line: what the matcher logged, a suggestion
    officer review REQUEST --csv SHEET.csv --key K  the edited sheet becomes a signed review (bulk past 150 lines)
    officer review-csv REQUEST --out REVIEW.csv     the logged review back out to CSV
    officer return REQUEST --reason CODE --key K [--line N ...]
                                                    return the request to its requester for correction

The officer's key is read from their keyring (--keyring); the ledger signs nothing for them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ledger.authoring import disclosure as dc
from ledger.client.keyring import Keyring
from ledger.core.errors import LedgerError
from ledger.core.statement import Statement, parse_statement
from ledger.core.times import parse_time, utc_now
from ledger.domain.bulk import BulkSubmission, statement_items, submit_bulk
from ledger.domain.officer import read_decisions, review_from_decisions, write_review, write_sheet
from ledger.domain.waiting import open_requests
from ledger.rules.engine import RuleEngine, server_red_flags
from ledger.store.ledger import Ledger


def add_parser(sub: Any) -> None:
    off = sub.add_parser("officer", help="the disclosure officer's tools (queue, review sheets, returns)")
    cmds = off.add_subparsers(dest="officer_command", required=True)
    queue = cmds.add_parser("queue", help="open requests, oldest first, with their age and what each waits for "
                                          "(JSON lines)")
    queue.add_argument("--waiting-for", metavar="WHAT",
                       help="only requests waiting for WHAT: match_result, review, release, recipient_attestation, "
                            "safeguard_status, … (a code's part before ':')")
    sheet = cmds.add_parser("sheet", help="write the review sheet (CSV) of a matched request")
    sheet.add_argument("request")
    sheet.add_argument("--out", type=Path, required=True)
    review = cmds.add_parser("review", help="sign and submit the review in an edited sheet")
    review.add_argument("request")
    review.add_argument("--csv", type=Path, required=True)
    review.add_argument("--key", required=True, help="the officer's key name in the keyring")
    back = cmds.add_parser("review-csv", help="write a logged review back out to CSV")
    back.add_argument("request")
    back.add_argument("--out", type=Path, required=True)
    ret = cmds.add_parser("return", help="return a request to its requester for correction")
    ret.add_argument("request")
    ret.add_argument("--reason", required=True, help="a short code, e.g. addresses_missing")
    ret.add_argument("--key", required=True)
    ret.add_argument("--line", type=int, action="append", default=[], help="a line to correct (repeatable)")


def _engine(ledger: Ledger) -> RuleEngine:
    engine = ledger.synced_rules()
    if not isinstance(engine, RuleEngine):
        raise LedgerError("this ledger has no § 6103 rules engine")
    return engine


def _statement(ledger: Ledger, statement_id: str | None, what: str) -> Statement:
    index = ledger.statement_index(statement_id) if statement_id else None
    if index is None:
        raise LedgerError(f"no {what} in the log")
    from ledger.core.entry import parse_entry

    return parse_statement(parse_entry(ledger.entry(index)).statement)


def _age(seconds: float) -> str:
    minutes = int(seconds // 60)
    days, hours, minutes = minutes // 1440, minutes // 60 % 24, minutes % 60
    return f"{days}d {hours:02d}h" if days else f"{hours}h {minutes:02d}m"


def _queue(ledger: Ledger, engine: RuleEngine, waiting_for: str | None) -> int:
    """One JSON line per open request, oldest first: the request, its age (from the time its entry was
    recorded), what it waits for, and its red flags."""
    from ledger.core.entry import parse_entry

    now = utc_now()
    for item in open_requests(engine.state):
        if waiting_for and not any(w.split(":", 1)[0] == waiting_for for w in item.waits_for):
            continue
        req = item.request
        filed = parse_entry(ledger.entry(req.index)).recorded_at
        seconds = max(0.0, (now - parse_time(filed)).total_seconds())
        print(json.dumps({"request": req.id, "index": req.index, "exception": req.body["exception"],
                          "agency": req.body["agency"], "lines": req.line_count, "filed_at": filed,
                          "age": _age(seconds), "age_seconds": int(seconds), "waits_for": list(item.waits_for),
                          "red_flags": list(server_red_flags(req, engine.thresholds))}))
    return 0


def run(args: argparse.Namespace, ledger: Ledger, keyring: Keyring, service: Any) -> int:
    engine = _engine(ledger)
    state = engine.state
    cmd = args.officer_command
    if cmd == "queue":
        return _queue(ledger, engine, args.waiting_for)
    req = state.requests.get(args.request)
    if req is None:
        raise LedgerError(f"no request {args.request} in the log")
    if cmd == "sheet":
        if not req.match_complete:
            raise LedgerError(f"request {req.id} has no complete match result yet: the matcher has not answered it "
                              "(`officer queue` shows what each request waits for)")
        match = _statement(ledger, req.match_id, "match result")
        with args.out.open("w", encoding="utf-8", newline="") as f:
            n = write_sheet(statement_items(ledger, match, state.parts), req.body, f)
        print(f"wrote {n} rows to {args.out}", file=sys.stderr)
        return 0
    if cmd == "review-csv":
        review = _statement(ledger, req.review_id, "review of this request")
        with args.out.open("w", encoding="utf-8", newline="") as f:
            n = write_review(statement_items(ledger, review, state.parts), f)
        print(f"wrote {n} rows to {args.out}", file=sys.stderr)
        return 0
    key = keyring.get(args.key)
    if cmd == "review":
        with args.csv.open(encoding="utf-8", newline="") as f:
            decisions = read_decisions(f, req.line_count)
        sub = review_from_decisions(key, req.id, decisions, server_red_flags(req, engine.thresholds))
        if isinstance(sub, BulkSubmission):
            appended = submit_bulk(service.submit_batch, sub)
            print(json.dumps({"review": sub.statement_id, "first_index": appended[0].index,
                              "last_index": appended[-1].index, "statements": len(appended)}))
        else:
            a = service.submit(sub.note, sub.openings)
            print(json.dumps({"review": sub.statement_id, "index": a.index}))
        return 0
    if cmd == "return":
        sub_ = dc.return_for_correction(key, req.id, args.reason, args.line)
        a = service.submit(sub_.note)
        print(json.dumps({"return_for_correction": sub_.statement_id, "index": a.index}))
        return 0
    raise AssertionError(cmd)  # pragma: no cover
