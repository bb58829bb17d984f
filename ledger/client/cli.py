"""`disclosure-ledger client …`: a principal builds and signs § 6103 statements with a key
from their own keyring; the output is a submission (the signed note and the openings of
its commitments) to send to the ledger. Nothing here talks to the ledger.

A statement that commits to personal data (a request, a court order) is built from the salt
seed the ledger issued for it (docs/FORMAT.md § 13.1): ``client seed-request`` signs the
request for one, the ledger answers (``POST /v1/salt-seeds``, or ``disclosure-ledger salt-seed``
on the operator's side), and ``--seed ANSWER.json`` builds the statement from the answer;
``client request --example`` prints the whole sequence.

Spec files are JSON. A request spec:
    {"exception": "6103(i)(2)", "agency": "DHS/ICE", "statute": "8 USC 1253(a)(1)",
     "purpose": "criminal_investigation", "purpose_text": "...", "fields": ["name", "address"],
     "recipients": [{"name": "...", "agency": "DHS/ICE", "caseload": 3}],
     "lines": [{"tin": "...", "name": "...", "address": "...", "periods": ["2024"], "reason": "..."}],
     "case_ids": ["..."], "court_order": null, "resubmits": null}

Every other statement a person signs (attestation, safeguard status, withdrawal, …) is signed from a
JSON input by ``ledger.client.statements_cli``; `client KIND --example` prints a complete input of
every kind, and docs/CLIENT.md documents them all.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path
from typing import Any

from ledger.authoring import batch
from ledger.authoring import disclosure as dc
from ledger.authoring.errors import UsageError
from ledger.client import statements_cli
from ledger.client.keyring import Keyring, KeyringError
from ledger.core.errors import LedgerError
from ledger.core.keys import SignerKey, parse_vkey
from ledger.salts import SEEDED_TYPES, SaltSeed, open_seed_answer, seed_request

__all__ = ["UsageError", "add_parser", "run", "submission_json"]

EXAMPLE_SPEC = {
    "exception": "6103(i)(2)", "agency": "DHS/ICE", "statute": "8 USC 1253(a)(1)", "purpose": "criminal_investigation",
    "purpose_text": "Investigation of failure to depart (fictional)", "fields": ["name", "address"],
    "recipients": [{"name": "Fictional Agent", "agency": "DHS/ICE", "principal": "ice.dhs.gov/agent-0",
                    "personally_and_directly_engaged": True, "solely_for_use": True, "caseload": 3}],
    "lines": [{"tin": "900-70-0001", "name": "Fictional One", "address": "1 Elm St, Boston, MA 02110",
               "periods": ["2024"], "reason": "open criminal case (fictional)"},
              {"tin": "900-70-0002", "name": "Fictional Two", "address": "22 Oak Ave, Austin, TX 78701",
               "periods": ["2024"], "reason": "open criminal case (fictional)"},
              {"tin": "900-70-0003", "name": "Fictional Three", "address": "303 Pine Rd, Denver, CO 80202",
               "periods": ["2023", "2024"], "reason": "open criminal case (fictional)"},
              {"tin": "900-70-0004", "name": "Fictional Four", "address": "Failed to Provide",
               "periods": ["2024"], "reason": "open criminal case (fictional)"}],
    "case_ids": ["FICT-2026-0001"], "court_order": None, "resubmits": None,
}
EXAMPLE = """\
# 1. Ask the ledger for the salt seed of the statement you will sign (its id is yours to choose,
#    or a fresh UUID); the request is a note signed with your key, never appended to the log:
disclosure-ledger client seed-request --key ice.dhs.gov/director --type request \\
    --origin ledger.irs.example/disclosures > seed-request.txt
# 2. Send it; the answer holds the seed sealed to your key (only your key opens it):
curl -s -X POST https://ledger.example/v1/salt-seeds -H 'content-type: application/json' \\
    --data "$(jq -Rs '{request: .}' seed-request.txt)" > seed.json
#    (on the operator's side, without HTTP: disclosure-ledger salt-seed seed-request.txt > seed.json)
# 3. Build and sign the request: its id is the seed's, every salt derives from the seed:
disclosure-ledger client request --key ice.dhs.gov/director --spec spec.json --seed seed.json > submission.json
# 4. Submit it, with its openings, before the seed expires (expires_at in seed.json):
curl -s -X POST https://ledger.example/v1/statements -H 'content-type: application/json' -d @submission.json
#    (or: disclosure-ledger submit submission.json)
# Each recipient names its principal: the registered key name of the person who receives the data;
# only that key may attest for the recipient (request body version 2).
# spec.json (fictional):
"""


def submission_json(sub: dc.Submission) -> str:
    """The wire form of a submission: {"statement": note, "openings": [...]}."""
    return json.dumps({"statement": sub.note, "openings": [o.to_json() for o in sub.openings]}, ensure_ascii=False)


def add_parser(sub: Any) -> None:
    client = sub.add_parser("client", help="(principal side) build and sign § 6103 statements")
    cs = client.add_subparsers(dest="client_command", required=True)
    sr = cs.add_parser("seed-request", help="sign a request for the salt seed of a statement you will sign")
    sr.add_argument("--key", required=True, help="your key name in the keyring")
    sr.add_argument("--type", required=True, choices=sorted(SEEDED_TYPES), help="the statement's type")
    sr.add_argument("--origin", required=True, help="the ledger's origin (first line of its checkpoint)")
    sr.add_argument("--id", help="the statement's id (default: a fresh UUID)")
    req = cs.add_parser("request", help="sign a written request from a JSON spec (--example: the whole sequence)")
    req.add_argument("--key", help="your key name in the keyring")
    req.add_argument("--spec", type=Path)
    req.add_argument("--seed", type=Path, help="the ledger's answer to your seed request (JSON)")
    req.add_argument("--example", action="store_true", help="print the steps and an example spec, sign nothing")
    rev = cs.add_parser("review", help="sign a review: decisions from a JSON list [[line, decision, reason], ...]")
    rev.add_argument("--key")
    rev.add_argument("--request")
    rev.add_argument("--decisions", type=Path, help="JSON: [[line, \"approve\"|\"refuse\", reason code], ...]")
    rev.add_argument("--flag", action="append", default=[], help="a red flag the server computed (repeat)")
    rel = cs.add_parser("release", help="sign a release of approved lines")
    rel.add_argument("--key")
    rel.add_argument("--request")
    rel.add_argument("--review")
    rel.add_argument("--lines", help="comma-separated line numbers")
    rel.add_argument("--fields", help="comma-separated fields")
    rel.add_argument("--recipients", default="0", help="comma-separated recipient numbers of the request")
    rel.add_argument("--file", type=Path, help="the delivered file (only its SHA-256 is signed)")
    order = cs.add_parser("court-order", help="sign a court order (ex parte order, injunction, legal hold)")
    order.add_argument("--key")
    order.add_argument("--kind", choices=["ex_parte_order", "injunction", "legal_hold"])
    order.add_argument("--court")
    order.add_argument("--docket")
    order.add_argument("--covers", type=Path, help='JSON: {"agencies": [...], "exceptions": [...]}')
    order.add_argument("--forbids", default="release", help="comma-separated: release,use")
    order.add_argument("--seed", type=Path, help="the ledger's answer to your seed request (JSON)")
    for p in (rev, rel, order):
        p.add_argument("--example", action="store_true", help="print a complete example, sign nothing")
    statements_cli.add_parsers(cs)
    co = cs.add_parser(
        "cosign", help="(a further signer, on your own machine) check a signing batch, see what it holds, add "
                       "your signature to each of its statements",
        description="Read BATCH (a signing batch, docs/FORMAT.md § 19.3: written by `import-accounting "
                    "--countersigner … --out`, `legacy-cutover --cosigner … --out`, or an earlier cosign), print "
                    "what it holds (statement types, count, ids, signers; for imported records the dates, "
                    "agencies and line count; never an opening), check it, and write it to --out with your "
                    "signature line added to every statement. Refused in one line (exit 2), nothing written: a "
                    "statement that does not list --key as a signer, one --key already signed, one whose "
                    "signatures do not verify over its signed text under the signers' keys (the batch's, or "
                    "--vkey), or one that has expired.",
        epilog="example: disclosure-ledger client cosign batch.json --key tigta.gov/auditor-1 --vkey "
               "irs.gov/accounting/importer-01+1a2b3c4d+AZ… --out cosigned.json")
    co.add_argument("batch", type=Path, help="the batch to countersign (JSON)")
    co.add_argument("--key", required=True, metavar="NAME", help="your key name in the keyring")
    co.add_argument("--out", type=Path, metavar="COSIGNED", help="the new file to write (mode 0600)")
    co.add_argument("--vkey", action="append", default=[], metavar="VKEY",
                    help="a signer's verifier key as the log registered it (`keys list`, the dashboard's "
                         "trust page): the batch's key for that name must be this one (repeatable)")
    co.add_argument("--dry-run", action="store_true", help="check the batch and show what it holds, sign nothing")


_NEEDS = {"review": ("key", "request", "decisions"), "release": ("key", "request", "review", "lines", "fields", "file"),
          "court-order": ("key", "kind", "court", "docket", "covers", "seed")}
EXAMPLES = {
    "review": ("# disclosure-ledger client review --key irs.gov/disclosure/officer-0042 --request REQUEST-ID \\\n"
               "#     --decisions decisions.json --flag unusable_address > submission.json\n"
               "# --flag: each red flag `officer queue` shows for the request (the review must log them all)\n"
               "# (or, from the review sheet: disclosure-ledger officer review REQUEST-ID --csv sheet.csv --key …)\n"
               "# decisions.json: [line, decision (approve|refuse), reason code], one per line of the request:\n",
               [[0, "approve", "ok"], [1, "approve", "ok"], [2, "approve", "ok"], [3, "refuse", "address_unusable"]]),
    "release": ("# disclosure-ledger client release --key irs.gov/disclosure/releaser-7 --request REQUEST-ID \\\n"
                "#     --review REVIEW-ID --lines 0,1,2 --fields name,address --recipients 0 --file delivered.csv \\\n"
                "#     > submission.json\n"
                "# --file: the file delivered to the recipients (only its SHA-256 is signed); no JSON input.\n", None),
    "court-order": ("# disclosure-ledger client seed-request --key uscourts.gov/dcd/judge-1 --type court_order \\\n"
                    "#     --origin ledger.irs.example/disclosures > seed-request.txt   (answer: seed.json)\n"
                    "# disclosure-ledger client court-order --key uscourts.gov/dcd/judge-1 --kind injunction \\\n"
                    "#     --court D.D.C. --docket 1:26-cv-00042 --covers covers.json --forbids release,use \\\n"
                    "#     --seed seed.json > submission.json\n"
                    "# covers.json (any of requests, exceptions, agencies, purposes):\n",
                    {"agencies": ["DHS/ICE"], "exceptions": ["6103(i)(2)"]}),
}


def _seed(path: Path, key: SignerKey) -> SaltSeed:
    try:
        answer = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise UsageError(f"--seed {path}: not a readable JSON answer ({type(e).__name__})") from None
    try:
        return open_seed_answer(key, answer)
    except LedgerError as e:
        raise UsageError(f"--seed {path}: {e}") from None


def _spec(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise UsageError(f"{path}: not a readable JSON file ({type(e).__name__})") from None


def _key(keyring: Keyring, name: str) -> SignerKey:
    try:
        return keyring.get(name)
    except KeyringError as e:
        raise UsageError(f"--key {name}: {e}") from None


def _numbers(option: str, text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",")]
    except ValueError:
        raise UsageError(f"{option}: expected comma-separated line numbers, found {text[:40]!r}") from None


def _file(option: str, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise UsageError(f"{option} {path}: cannot be read ({e.strerror})") from None


def _cosign(args: argparse.Namespace, keyring: Keyring) -> int:
    """`client cosign`: check the batch, show it, add the key's signature line to every statement."""
    if (args.out is None) == (not args.dry_run):
        raise UsageError("client cosign needs --out COSIGNED (or --dry-run: check and show, sign nothing)")
    pinned = {}
    for text in args.vkey:
        try:
            vkey = parse_vkey(text.strip())
        except LedgerError as e:
            raise UsageError(f"--vkey {text[:60]!r}: {e}") from None
        pinned[vkey.name] = vkey
    key = _key(keyring, args.key)
    if args.out is not None and args.out.exists():
        raise UsageError(f"{args.out}: already exists (the countersigned batch is written to a new file)")
    source = batch.read_batch(args.batch)
    signed = batch.cosign(source, key, args.batch, pinned)
    count = len(source.statements)
    print(f"{args.batch}: {count} statement{'s' if count != 1 else ''} for {key.name} to sign")
    for line in batch.summary(source, pinned):
        print(f"  {line}")
    if args.dry_run:
        print("checked; nothing signed (--dry-run)")
        return 0
    batch.write_batch(args.out, signed)
    rest = sorted({n for s in signed.statements for n in s.missing})
    after = (f"still to sign: {', '.join(rest)} (client cosign {args.out} --key NAME)" if rest else
             f"every signer has signed: submit it on the ledger's side (disclosure-ledger submit {args.out})")
    print(f"signed {count} statement{'s' if count != 1 else ''} as {key.name}: wrote {args.out} (mode 0600); {after}")
    return 0


def run(args: argparse.Namespace, keyring: Keyring) -> int:
    cmd = args.client_command
    if cmd == "cosign":
        return _cosign(args, keyring)
    if cmd in statements_cli.BY_COMMAND:
        done = statements_cli.run(args, lambda name: _key(keyring, name), _seed)
        if done is not None:
            print(submission_json(done))
        return 0
    if cmd == "request" and args.example:
        print(EXAMPLE + json.dumps(EXAMPLE_SPEC, indent=2))
        return 0
    if cmd in EXAMPLES and args.example:
        text, value = EXAMPLES[cmd]
        if isinstance(value, list):  # one decision a line, as an officer would write them
            body = "[\n" + ",\n".join(f"  {json.dumps(row)}" for row in value) + "\n]\n"
        else:
            body = json.dumps(value, indent=2) + "\n" if value is not None else ""
        print(text + body, end="")
        return 0
    if cmd == "request" and not (args.key and args.spec and args.seed):
        raise UsageError("client request needs --key, --spec and --seed (see: client request --example)")
    missing = [f"--{n}" for n in _NEEDS.get(cmd, ()) if not getattr(args, n)]
    if missing:
        raise UsageError(f"client {cmd} needs {', '.join(missing)} (see: client {cmd} --example)")
    key = _key(keyring, args.key)
    if cmd == "seed-request":
        print(seed_request(key, args.origin, args.type, args.id or str(uuid.uuid4())), end="")
        return 0
    if cmd == "request":
        spec = _spec(args.spec)
        try:
            lines = [dc.Line(x.get("tin"), x.get("name"), x.get("address"), tuple(x.get("periods", ["2024"])),
                             x.get("reason")) for x in spec.pop("lines")]
            recipients = [dc.Recipient(r["name"], r["agency"], r.get("personally_and_directly_engaged", True),
                                       r.get("solely_for_use", True), r.get("caseload", 1), r.get("principal"))
                          for r in spec.pop("recipients")]
            if len({r.principal is None for r in recipients}) > 1:
                raise UsageError(f"{args.spec}: every recipient names its principal, or none does (a version-1 "
                                 "request); see: client request --example")
            sub = dc.request(key, lines=lines, recipients=recipients, seed=_seed(args.seed, key), **spec)
            if all(r.principal is None for r in recipients):
                print("warning: no recipient names its principal (the key name of the person who receives "
                      "the data): this is a version-1 request, which the ledger files but never releases",
                      file=sys.stderr)
        except (KeyError, TypeError, AttributeError) as e:  # the message is not repeated: it may quote a value
            missing_ = f" (missing {e})" if isinstance(e, KeyError) else ""
            raise UsageError(f"{args.spec}: not a request spec{missing_}; see: client request --example") from None
    elif cmd == "review":
        decisions = _spec(args.decisions)
        if not isinstance(decisions, list) or not all(isinstance(d, list) and len(d) == 3 for d in decisions):
            raise UsageError(f"{args.decisions}: expected a JSON list of [line, decision, reason]; "
                             "see: client review --example")
        sub = dc.review(key, args.request, [tuple(d) for d in decisions], args.flag)
    elif cmd == "release":
        sub = dc.release(key, args.request, args.review, _numbers("--lines", args.lines), args.fields.split(","),
                         _numbers("--recipients", args.recipients), _file("--file", args.file))
    else:
        covers = _spec(args.covers)
        sub = dc.court_order(key, kind=args.kind, court=args.court, docket=args.docket, covers=covers,
                             forbids=args.forbids.split(","), seed=_seed(args.seed, key))
    where = getattr(args, {"request": "spec", "review": "decisions", "court-order": "covers"}.get(cmd, ""), None)
    print(submission_json(statements_cli.check_signed(sub, where or f"client {cmd}")))
    return 0
