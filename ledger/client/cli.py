"""`disclosure-ledger client …`: a principal builds and signs § 6103 statements with a key
from their own keyring; the output is a submission (the signed note and the openings of
its commitments) to send to the ledger. Nothing here talks to the ledger.

Spec files are JSON. A request spec:
    {"exception": "6103(i)(2)", "agency": "DHS/ICE", "statute": "8 USC 1253(a)(1)",
     "purpose": "criminal_investigation", "purpose_text": "...", "fields": ["name", "address"],
     "recipients": [{"name": "...", "agency": "DHS/ICE", "caseload": 3}],
     "lines": [{"tin": "...", "name": "...", "address": "...", "periods": ["2024"], "reason": "..."}],
     "case_ids": ["..."], "court_order": null, "resubmits": null}
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ledger.client import disclosure as dc
from ledger.client.keyring import Keyring


def submission_json(sub: dc.Submission) -> str:
    """The wire form of a submission: {"statement": note, "openings": [...]}."""
    return json.dumps({"statement": sub.note, "openings": [o.to_json() for o in sub.openings]}, ensure_ascii=False)


def add_parser(sub: Any) -> None:
    client = sub.add_parser("client", help="(principal side) build and sign § 6103 statements")
    cs = client.add_subparsers(dest="client_command", required=True)
    req = cs.add_parser("request", help="sign a written request from a JSON spec")
    req.add_argument("--key", required=True, help="your key name in the keyring")
    req.add_argument("--spec", type=Path, required=True)
    rev = cs.add_parser("review", help="sign a review: decisions from a JSON list [[line, decision, reason], ...]")
    rev.add_argument("--key", required=True)
    rev.add_argument("--request", required=True)
    rev.add_argument("--decisions", type=Path, required=True)
    rev.add_argument("--flag", action="append", default=[], help="a red flag the server computed (repeat)")
    rel = cs.add_parser("release", help="sign a release of approved lines")
    rel.add_argument("--key", required=True)
    rel.add_argument("--request", required=True)
    rel.add_argument("--review", required=True)
    rel.add_argument("--lines", required=True, help="comma-separated line numbers")
    rel.add_argument("--fields", required=True, help="comma-separated fields")
    rel.add_argument("--recipients", default="0", help="comma-separated recipient numbers of the request")
    rel.add_argument("--file", type=Path, required=True, help="the delivered file (only its SHA-256 is signed)")
    order = cs.add_parser("court-order", help="sign a court order (ex parte order, injunction, legal hold)")
    order.add_argument("--key", required=True)
    order.add_argument("--kind", required=True, choices=["ex_parte_order", "injunction", "legal_hold"])
    order.add_argument("--court", required=True)
    order.add_argument("--docket", required=True)
    order.add_argument("--covers", type=Path, required=True, help='JSON: {"agencies": [...], "exceptions": [...]}')
    order.add_argument("--forbids", default="release", help="comma-separated: release,use")


def run(args: argparse.Namespace, keyring: Keyring) -> int:
    key = keyring.get(args.key)
    cmd = args.client_command
    if cmd == "request":
        spec = json.loads(args.spec.read_text(encoding="utf-8"))
        lines = [dc.Line(x.get("tin"), x.get("name"), x.get("address"), tuple(x.get("periods", ["2024"])),
                         x.get("reason")) for x in spec.pop("lines")]
        recipients = [dc.Recipient(r["name"], r["agency"], r.get("personally_and_directly_engaged", True),
                                   r.get("solely_for_use", True), r.get("caseload", 1)) for r in spec.pop("recipients")]
        sub = dc.request(key, lines=lines, recipients=recipients, **spec)
    elif cmd == "review":
        decisions = [tuple(d) for d in json.loads(args.decisions.read_text(encoding="utf-8"))]
        sub = dc.review(key, args.request, decisions, args.flag)
    elif cmd == "release":
        sub = dc.release(key, args.request, args.review, [int(x) for x in args.lines.split(",")],
                         args.fields.split(","), [int(x) for x in args.recipients.split(",")],
                         args.file.read_bytes())
    else:
        covers = json.loads(args.covers.read_text(encoding="utf-8"))
        sub = dc.court_order(key, kind=args.kind, court=args.court, docket=args.docket, covers=covers,
                             forbids=args.forbids.split(","))
    print(submission_json(sub))
    return 0
