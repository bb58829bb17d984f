"""`disclosure-ledger client KIND --key NAME --input FILE.json`: the statements a person signs besides a
request, a review, a release and a court order — each from a JSON input file, whose complete example
`client KIND --example` prints (docs/CLIENT.md lists them all).

The input holds the statement's values in clear; the builder commits to those the log must not show
(a correction's reason, an inspection's subject and purpose: those kinds take ``--seed ANSWER.json``,
the ledger's answer to ``client seed-request --type correction|inspection``), and a ``file`` field
names a file of which only the SHA-256 is signed. A mistake in the input — a file that cannot be read,
a missing, unknown or mistyped field, a value the statement's schema refuses — is one line naming the
file and the field (exit 2), and nothing is signed.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.authoring import disclosure as dc
from ledger.authoring.errors import UsageError
from ledger.core.errors import LedgerError
from ledger.core.keys import SignerKey
from ledger.salts import SaltSeed

# Field types: "id" a statement id, "str" text, "int" a non-negative integer, "bool", "ints" a list of
# integers, "strs" a list of strings, "int|str", "str?" text or null, "path" a file (only its hash is signed).
_TYPES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "id": ("a statement id (a string)", lambda v: isinstance(v, str) and bool(v)),
    "str": ("a string", lambda v: isinstance(v, str) and bool(v)),
    "str?": ("a string or null", lambda v: v is None or (isinstance(v, str) and bool(v))),
    "path": ("a file path (a string)", lambda v: isinstance(v, str) and bool(v)),
    "int": ("a non-negative integer", lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0),
    "bool": ("true or false", lambda v: isinstance(v, bool)),
    "ints": ("a list of non-negative integers",
             lambda v: isinstance(v, list) and all(isinstance(x, int) and not isinstance(x, bool) and x >= 0
                                                   for x in v)),
    "strs": ("a non-empty list of strings", lambda v: isinstance(v, list) and bool(v)
             and all(isinstance(x, str) and x for x in v)),
    "int|str": ("an integer or a string", lambda v: isinstance(v, (int, str)) and not isinstance(v, bool)),
}


@dataclass(frozen=True)
class Kind:
    """One statement kind signed from a JSON input."""

    command: str  # the `client` subcommand
    type: str  # the statement type
    signer: str  # who signs it (the role the default policy names)
    help: str
    fields: dict[str, str]  # name -> field type; a name ending in '?' is optional
    example: dict[str, Any]
    build: Callable[[Any, dict[str, Any], SaltSeed | None], dc.Submission]  # Any: a key, or an erasure's keys
    seeded: bool = False


def _file_bytes(value: str, field: str, source: Path) -> bytes:
    try:
        return Path(value).read_bytes()
    except OSError as e:
        raise UsageError(f"{source}: field '{field}': cannot read the file {value!r} ({e.strerror})") from None


KINDS: tuple[Kind, ...] = (
    Kind("attestation", "recipient_attestation", "recipient",
         "(a named recipient) attest, with your own key, personal and direct engagement and sole use",
         {"request": "id", "recipient": "int"},
         {"request": "REQUEST-ID", "recipient": 0},
         lambda key, x, seed: dc.recipient_attestation(key, x["request"], x["recipient"])),
    Kind("safeguard-status", "safeguard_status", "oversight or reviewer",
         "record a recipient agency's § 6103(p)(4) safeguard status (SSR approval, open findings)",
         {"agency": "str", "ssr_approved": "bool", "open_findings": "int", "cap_implementation_date": "str?"},
         {"agency": "DHS/ICE", "ssr_approved": True, "open_findings": 0, "cap_implementation_date": None},
         lambda key, x, seed: dc.safeguard_status(key, x["agency"], ssr_approved=x["ssr_approved"],
                                                  open_findings=x["open_findings"],
                                                  cap_implementation_date=x["cap_implementation_date"])),
    Kind("withdrawal", "withdrawal", "requester (the one who signed the request)",
         "withdraw a request you filed", {"request": "id"}, {"request": "REQUEST-ID"},
         lambda key, x, seed: dc.withdrawal(key, x["request"])),
    Kind("supporting-document", "supporting_document", "reviewer",
         "record a supporting document of a request (e.g. a felony warrant): only its SHA-256 is signed",
         {"request": "id", "kind": "str", "file": "path"},
         {"request": "REQUEST-ID", "kind": "felony_warrant", "file": "warrant.pdf"},
         lambda key, x, seed: dc.supporting_document(key, x["request"], x["kind"], x["file"])),
    Kind("receipt", "receipt", "recipient",
         "acknowledge receipt of a released file: only its SHA-256 is signed",
         {"release": "id", "file": "path"}, {"release": "RELEASE-ID", "file": "delivered.csv"},
         lambda key, x, seed: dc.receipt(key, x["release"], x["file"])),
    Kind("disposition", "disposition", "recipient",
         "report what became of released records: returned, destroyed or retained, and how many",
         {"release": "id", "disposition": "str", "count": "int"},
         {"release": "RELEASE-ID", "disposition": "destroyed", "count": 3},
         lambda key, x, seed: dc.disposition(key, x["release"], x["disposition"], x["count"])),
    Kind("use-freeze", "use_freeze", "recipient",
         "attest that your agency froze its use of released records under a court order that forbids use",
         {"order": "id", "agency": "str"}, {"order": "ORDER-ID", "agency": "DHS/ICE"},
         lambda key, x, seed: dc.use_freeze(key, x["order"], x["agency"])),
    Kind("vacatur", "vacatur", "court", "vacate a court order", {"order": "id"}, {"order": "ORDER-ID"},
         lambda key, x, seed: dc.vacatur(key, x["order"])),
    Kind("correction", "correction", "reviewer, releaser or operator",
         "correct an earlier statement's count or field (the reason is committed to: takes --seed)",
         {"corrects": "id", "field": "str", "old_value": "int|str", "new_value": "int|str", "reason": "str"},
         {"corrects": "RELEASE-ID", "field": "count", "old_value": 47289, "new_value": 47489,
          "reason": "the release count was mistyped in the report"},
         lambda key, x, seed: dc.correction(key, x["corrects"], x["field"], x["old_value"], x["new_value"],
                                            x["reason"], seed=seed), seeded=True),
    Kind("return-for-correction", "return_for_correction", "reviewer",
         "return a request to its requester for correction, naming the lines to correct (also: officer return)",
         {"request": "id", "reason": "str", "lines": "ints"},
         {"request": "REQUEST-ID", "reason": "addresses_missing", "lines": [3]},
         lambda key, x, seed: dc.return_for_correction(key, x["request"], x["reason"], x["lines"])),
    Kind("inspection", "inspection", "oversight, court or operator",
         "record an authorised read of a taxpayer's history (subject and purpose are committed to: takes --seed)",
         {"view": "str", "subject_pseudonym": "str", "role": "str", "purpose": "str", "reader?": "str?"},
         {"view": "taxpayer_history", "subject_pseudonym": "3f2a" * 16, "role": "oversight",
          "purpose": "TIGTA audit of the 2026 (i)(2) releases", "reader": None},
         lambda key, x, seed: dc.inspection(key, view=x["view"], subject_pseudonym=x["subject_pseudonym"],
                                            role=x["role"], purpose=x["purpose"], reader=x.get("reader"),
                                            seed=seed), seeded=True),
    Kind("erasure", "erasure", "two administrators",
         "erase the openings of a request's own commitments (--cosign: the second administrator; refused while "
         "a hold applies; the log keeps them)",
         {"request": "id", "commitments": "strs", "reason": "str"},
         {"request": "REQUEST-ID", "commitments": ["a1b2c3d4" * 8], "reason": "retention_expired"},
         lambda key, x, seed: dc.erasure(key, x["request"], x["commitments"], x["reason"])),
)
BY_COMMAND = {k.command: k for k in KINDS}


def add_parsers(cs: Any) -> None:
    """One `client KIND` parser per kind."""
    for kind in KINDS:
        p = cs.add_parser(kind.command, help=f"({kind.signer}) {kind.help}",
                          description=f"Sign a {kind.type} statement ({kind.signer} signs it) from a JSON input "
                                      f"file; `--example` prints a complete input. Prints the submission for "
                                      "`disclosure-ledger submit` or POST /v1/statements.")
        p.add_argument("--key", help="your key name in the keyring")
        p.add_argument("--input", type=Path, help="the statement's values (JSON; see --example)")
        if kind.seeded:
            p.add_argument("--seed", type=Path,
                           help=f"the ledger's answer to `client seed-request --type {kind.type}` (JSON)")
        p.add_argument("--example", action="store_true", help="print a complete example input, sign nothing")
        if kind.type == "erasure":
            p.add_argument("--cosign", action="append", default=[], metavar="NAME",
                           help="a second administrator's key name in the keyring (an erasure takes two)")
            p.add_argument("--cosigner", action="append", default=[], metavar="NAME",
                           help="a second administrator who signs on their own machine (`client cosign`): with "
                                "--out, the erasure is written to a signing batch instead of printed")
            p.add_argument("--out", type=Path, metavar="BATCH",
                           help="the new signing batch to write (with --cosigner; docs/FORMAT.md § 19.3)")


def example_text(kind: Kind) -> str:
    """The example input, as `--example` prints it (JSON, nothing else)."""
    return json.dumps(kind.example, indent=2)


def read_input(path: Path, kind: Kind) -> dict[str, Any]:
    """The input file's values, checked field by field (UsageError naming the file and the field)."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise UsageError(f"{path}: cannot read the input file ({e.strerror})") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise UsageError(f"{path}: not JSON ({type(e).__name__}); see: client {kind.command} --example") from None
    if not isinstance(value, dict):
        raise UsageError(f"{path}: expected a JSON object; see: client {kind.command} --example")
    names = {n.rstrip("?") for n in kind.fields}
    unknown = sorted(set(value) - names)
    if unknown:
        raise UsageError(f"{path}: unknown field {unknown[0]!r} (a {kind.command} input has: "
                         f"{', '.join(sorted(names))})")
    for name, type_ in kind.fields.items():
        optional = name.endswith("?")
        name = name.rstrip("?")
        if name not in value:
            if optional:
                continue
            raise UsageError(f"{path}: missing field {name!r}; see: client {kind.command} --example")
        expected, ok = _TYPES[type_]
        if not ok(value[name]):
            raise UsageError(f"{path}: field {name!r}: expected {expected}, found {json.dumps(value[name])[:40]}")
    for name, type_ in kind.fields.items():
        if type_ == "path":
            value[name] = _file_bytes(value[name], name, path)
    return value


def check_signed(sub: dc.Submission, where: object) -> dc.Submission:
    """The statement's body against its type's schema, as the ledger will check it: a UsageError naming
    ``where`` (the input file) and the field, before anything is sent."""
    from ledger.core.statement import parse_statement
    from ledger.domain.schemas import check_body

    stmt = parse_statement(sub.note)
    try:
        check_body(stmt.type, stmt.body)
    except LedgerError as e:
        raise UsageError(f"{where}: {e}") from None
    return sub


def sign(kind: Kind, key: SignerKey | list[SignerKey], path: Path, seed: SaltSeed | None) -> dc.Submission:
    """Build, sign and check the statement; a value the builder or the schema refuses is a UsageError."""
    values = read_input(path, kind)
    try:
        sub = kind.build(key, values, seed)
    except LedgerError as e:
        raise UsageError(f"{path}: {e}") from None
    return check_signed(sub, path)


def run(args: argparse.Namespace, key_of: Callable[[str], SignerKey],
        seed_of: Callable[[Path, SignerKey], SaltSeed]) -> dc.Submission | None:
    """Sign the statement `client KIND` asks for (None: the example was printed)."""
    kind = BY_COMMAND[args.client_command]
    if args.example:
        print(example_text(kind))
        return None
    seeded = " and --seed" if kind.seeded else ""
    if not args.key or not args.input or (kind.seeded and not args.seed):
        raise UsageError(f"client {kind.command} needs --key, --input{seeded} (see: client {kind.command} --example)")
    key = key_of(args.key)
    seed = seed_of(args.seed, key) if kind.seeded else None
    cosigners = [key_of(name) for name in getattr(args, "cosign", [])]
    later = getattr(args, "cosigner", [])
    if later or getattr(args, "out", None) is not None:
        _sign_for_later(kind, [key, *cosigners], later, args.input, args.out)
        return None
    return sign(kind, [key, *cosigners] if cosigners else key, args.input, seed)


def _sign_for_later(kind: Kind, keys: list[SignerKey], later: list[str], path: Path, out: Path | None) -> None:
    """An unseeded statement signed by ``keys``, listing ``later`` to sign on their own machines, written
    to a new signing batch (``ledger.authoring.batch``)."""
    from ledger.authoring import batch
    from ledger.core.statement import parse_statement
    from ledger.domain.schemas import check_body

    if not later or out is None:
        raise UsageError(f"client {kind.command}: --cosigner and --out go together")
    if out.exists():
        raise UsageError(f"{out}: already exists (a batch is written to a new file)")
    try:
        built = kind.build(keys, read_input(path, kind), None)
        body = parse_statement(built.note).body
        check_body(kind.type, body)
        note = batch.sign_for_later(kind.type, str(uuid.uuid4()), keys, later, body)
    except LedgerError as e:
        raise UsageError(f"{path}: {e}") from None
    batch.write_batch(out, batch.new_batch([note], built.openings, keys))
    print(f"wrote {out}: a {kind.type} signed by {', '.join(k.name for k in keys)}; now `client cosign {out} "
          f"--key {later[0]} --out COSIGNED` (their machine), then `disclosure-ledger submit COSIGNED`",
          file=sys.stderr)
