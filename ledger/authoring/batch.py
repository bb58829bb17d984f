"""Statements signed on more than one machine: the signing batch (``dl-signing-batch/v1``, docs/FORMAT.md § 19.3).

A statement whose envelope names several signers (an imported record's importer and its oversight
countersigner, the two administrators of a cutover or an erasure) need not be signed from one keyring.
The first signer writes a **batch**: the statements with the signature lines made so far, the
openings of their commitments, and the verifier keys of those who signed. Each further signer checks
it on their own machine (every statement names them and is not yet signed by them, and every
signature already there verifies, under its key, over the signed text), sees what it holds, and adds
their signature line (``client cosign``). The operator submits the completed batch, all or none.

A statement of a batch is a C2SP signed note like any other (FORMAT § 4); it is simply missing some
of the lines its envelope lists. Nothing here talks to the ledger.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from ledger.authoring.errors import UsageError
from ledger.core.canonical import canonical_bytes, parse_canonical
from ledger.core.commitments import Opening
from ledger.core.errors import LedgerError
from ledger.core.keys import SignerKey, VerifierKey, check_key_name, parse_vkey
from ledger.core.note import Note, add_signatures, check_ed25519_line, parse_note, sign_note, verify_by
from ledger.core.statement import MAX_STATEMENT_BYTES, check_envelope, make_envelope, parse_statement
from ledger.core.times import format_time, parse_time, utc_now

FORMAT = "dl-signing-batch/v1"
# How long the statements of a batch stay valid (their not_after): the time the other signers have.
# A statement that commits to personal data must also land before its salt seed expires (one day).
VALID_FOR = timedelta(days=1)
MEMBERS = frozenset({"format", "statements", "openings", "signer_vkeys"})


class BatchError(UsageError):
    """A batch that cannot be signed or submitted: one line naming the file and the statement (exit 2)."""


@dataclass(frozen=True)
class Pending:
    """One statement of a batch: a well-formed signed note whose signature lines are those of some of
    the signers its envelope lists (each at most once), in the order they signed."""

    note: Note
    envelope: dict[str, Any] = field(compare=False)

    @property
    def type(self) -> str:
        return str(self.envelope["type"])

    @property
    def id(self) -> str:
        return str(self.envelope["id"])

    @property
    def signers(self) -> list[str]:
        return list(self.envelope["signers"])

    @property
    def signed(self) -> list[str]:
        return [s.name for s in self.note.signatures]

    @property
    def missing(self) -> list[str]:
        return [n for n in self.signers if n not in self.signed]

    def encode(self) -> str:
        return self.note.encode()


def parse_pending(text: str) -> Pending:
    """A statement some of whose signers have signed: note syntax, canonical envelope, and each signature
    line a listed signer's (once), canonical Ed25519 (the checks ``parse_statement`` makes, bar the one
    that every signer has signed). Raises LedgerError."""
    if not isinstance(text, str):
        raise LedgerError(f"expected a signed note (a string), found {type(text).__name__}")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_STATEMENT_BYTES:
        raise LedgerError(f"statement is more than {MAX_STATEMENT_BYTES} bytes")
    note = parse_note(text)
    envelope = check_envelope(parse_canonical(note.text[:-1].encode("utf-8")))
    seen: set[str] = set()
    for line in note.signatures:
        check_key_name(line.name)
        check_ed25519_line(line)
        if line.name not in envelope["signers"]:
            raise LedgerError(f"a signature line by {line.name}, who is not a listed signer")
        if line.name in seen:
            raise LedgerError(f"two signature lines by {line.name}")
        seen.add(line.name)
    return Pending(note, envelope)


def sign_for_later(type_: str, id_: str, keys: Sequence[SignerKey], later: Sequence[str], body: dict[str, Any],
                   valid_for: timedelta = VALID_FOR) -> str:
    """A statement whose envelope lists ``keys`` then ``later`` (names who sign on their own machines),
    signed by ``keys`` alone, valid for ``valid_for``."""
    envelope = make_envelope(type_, id_, [*(k.name for k in keys), *later], body, valid_for=valid_for)
    note = sign_note(canonical_bytes(envelope).decode("utf-8") + "\n", keys).encode()
    parse_pending(note)
    return note


@dataclass(frozen=True)
class Batch:
    """Statements to be signed by further signers, their openings, and the keys of those who signed."""

    statements: tuple[Pending, ...]
    openings: tuple[Opening, ...] = ()
    signer_vkeys: Mapping[str, VerifierKey] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "statements": [s.encode() for s in self.statements],
                "openings": [o.to_json() for o in self.openings],
                "signer_vkeys": {name: str(k) for name, k in sorted(self.signer_vkeys.items())}}

    @property
    def complete(self) -> bool:
        return all(not s.missing for s in self.statements)

    def describe(self, number: int) -> str:
        s = self.statements[number]
        return f"statement {number + 1} of {len(self.statements)} ({s.type} {s.id})"


def is_batch(value: Any) -> bool:
    return isinstance(value, dict) and value.get("format") == FORMAT


def batch_from_json(value: Any, where: object) -> Batch:
    """A batch from its JSON value; BatchError naming ``where`` and the member or statement at fault."""
    if not is_batch(value):
        raise BatchError(f"{where}: not a signing batch (a JSON object with \"format\": \"{FORMAT}\")")
    unknown = sorted(set(value) - MEMBERS)
    missing = sorted({"statements"} - set(value))
    if unknown or missing:
        raise BatchError(f"{where}: " + (f"unknown member {unknown[0]!r}" if unknown else "no statements"))
    notes, openings, vkeys = value["statements"], value.get("openings", []), value.get("signer_vkeys", {})
    if not isinstance(notes, list) or not notes:
        raise BatchError(f"{where}: statements must be a non-empty list of signed notes")
    if not isinstance(openings, list) or not isinstance(vkeys, dict):
        raise BatchError(f"{where}: openings must be a list and signer_vkeys an object")
    statements = []
    for number, text in enumerate(notes):
        try:
            statements.append(parse_pending(text))
        except LedgerError as e:
            raise BatchError(f"{where}: statement {number + 1} of {len(notes)}: {e}") from None
    ids = [s.id for s in statements]
    twice = next((i for i in ids if ids.count(i) > 1), None)
    if twice is not None:
        raise BatchError(f"{where}: statement id {twice} is in the batch twice")
    try:
        opened = tuple(Opening.from_json(o) for o in openings)
    except LedgerError as e:
        raise BatchError(f"{where}: an opening: {e}") from None
    keys: dict[str, VerifierKey] = {}
    for name, text in vkeys.items():
        try:
            key = parse_vkey(text) if isinstance(text, str) else None
        except LedgerError as e:
            raise BatchError(f"{where}: signer_vkeys[{name!r}]: {e}") from None
        if key is None or key.name != name:
            raise BatchError(f"{where}: signer_vkeys[{name!r}] is not a verifier key named {name}")
        keys[name] = key
    return Batch(tuple(statements), opened, keys)


def read_batch(path: Path) -> Batch:
    """The batch in a file; BatchError (one line) when it cannot be read or is not a batch."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise BatchError(f"{path}: cannot be read ({e.strerror})") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise BatchError(f"{path}: not JSON ({type(e).__name__})") from None
    return batch_from_json(value, path)


def write_batch(path: Path, batch: Batch) -> None:
    """Write a new file, mode 0600 (it may hold openings: personal data); an existing file is refused."""
    text = json.dumps(batch.to_json(), ensure_ascii=False, indent=1) + "\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BatchError(f"{path}: already exists (a batch is written to a new file)") from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def new_batch(notes: Sequence[str], openings: Sequence[Opening], signers: Sequence[SignerKey]) -> Batch:
    """The batch of notes just signed by ``signers`` (their verifier keys travel with it)."""
    return Batch(tuple(parse_pending(n) for n in notes), tuple(openings),
                 {k.name: k.verifier for k in signers})


def check_signatures(batch: Batch, where: object, pinned: Mapping[str, VerifierKey] | None = None) -> None:
    """Every signature line of every statement verifies over the signed text under its signer's key:
    ``pinned`` (keys the checker got from the ledger's own list) or else the batch's ``signer_vkeys``."""
    pinned = pinned or {}
    for name, key in pinned.items():
        carried = batch.signer_vkeys.get(name)
        if carried is not None and carried != key:
            raise BatchError(f"{where}: the batch's key for {name} ({carried.key_id:08x}) is not the one given "
                             f"with --vkey ({key.key_id:08x})")
    for number, stmt in enumerate(batch.statements):
        for name in stmt.signed:
            signer = pinned.get(name) or batch.signer_vkeys.get(name)
            if signer is None:
                raise BatchError(f"{where}: {batch.describe(number)}: no key to check the signature of {name} "
                                 "(the batch carries none; pass --vkey)")
            try:
                verify_by(stmt.note, signer)
            except LedgerError:
                raise BatchError(f"{where}: {batch.describe(number)}: the signature of {name} does not verify "
                                 "over the signed text (altered after signing?)") from None


def check_valid(batch: Batch, where: object) -> None:
    """No statement of the batch has expired (its not_after is past)."""
    now = utc_now()
    for number, stmt in enumerate(batch.statements):
        if parse_time(stmt.envelope["not_after"]) < now:
            raise BatchError(f"{where}: {batch.describe(number)} expired at {stmt.envelope['not_after']} "
                             f"(now {format_time(now)}): the first signer writes a new batch")


def cosign(batch: Batch, key: SignerKey, where: object, pinned: Mapping[str, VerifierKey] | None = None) -> Batch:
    """The batch with ``key``'s signature line added to every statement, after checking that each names
    ``key`` as a signer, is not yet signed by it, has not expired, and that every signature already there
    verifies. BatchError (nothing signed) otherwise."""
    for number, stmt in enumerate(batch.statements):
        if key.name not in stmt.signers:
            raise BatchError(f"{where}: {batch.describe(number)} does not name {key.name} as a signer "
                             f"(its signers: {', '.join(stmt.signers)}); nothing signed")
        if key.name in stmt.signed:
            raise BatchError(f"{where}: {batch.describe(number)} is already signed by {key.name}; nothing signed")
    check_signatures(batch, where, pinned)
    check_valid(batch, where)
    signed = []
    for stmt in batch.statements:
        note = add_signatures(stmt.note, [key])
        if not [n for n in stmt.missing if n != key.name]:
            parse_statement(note.encode())  # complete: the checks the ledger will run on its shape
        signed.append(Pending(note, stmt.envelope))
    return Batch(tuple(signed), batch.openings, {**batch.signer_vkeys, key.name: key.verifier})


def complete_notes(batch: Batch, where: object) -> list[str]:
    """The notes of a batch every listed signer signed; BatchError naming the first signature missing."""
    for number, stmt in enumerate(batch.statements):
        if stmt.missing:
            lacking = ", ".join(stmt.missing)
            raise BatchError(f"{where}: {batch.describe(number)} lacks the signature of {lacking}: have it "
                             f"countersigned (disclosure-ledger client cosign {where} --key {stmt.missing[0]} "
                             "--out COSIGNED); nothing appended")
    check_valid(batch, where)
    return [s.encode() for s in batch.statements]


def summary(batch: Batch, pinned: Mapping[str, VerifierKey] | None = None) -> list[str]:
    """What a batch holds, in lines to print (never an opening's value): by type, the count and what the
    bodies say in clear (for imported records, the dates, agencies and line count), each statement's id,
    signers and signatures, and the keys that signed."""
    out = []
    types = sorted({s.type for s in batch.statements})
    for type_ in types:
        of = [s for s in batch.statements if s.type == type_]
        out.append(f"{len(of)} {type_} statement{'s' if len(of) != 1 else ''}{_about(type_, of)}")
    for number, stmt in enumerate(batch.statements):
        signed = ", ".join(stmt.signed) or "nobody"
        out.append(f"  {number + 1}. {stmt.type} {stmt.id}{_one(stmt)}: signers {', '.join(stmt.signers)}; "
                   f"signed by {signed}; valid until {stmt.envelope['not_after']}")
    for name, key in sorted(batch.signer_vkeys.items()):
        said = ("the one given with --vkey" if pinned and name in pinned else
                "compare it with the key the log registered (`disclosure-ledger keys list`), or pass it as --vkey")
        out.append(f"key of {name}: {key} ({said})")
    out.append(f"{len(batch.openings)} openings (the values behind the commitments; never printed)")
    return out


def _about(type_: str, stmts: Sequence[Pending]) -> str:
    bodies = [s.envelope["body"] for s in stmts]
    if type_ == "legacy_release":
        days = sorted(str(b.get("disclosed_on")) for b in bodies)
        lines = sum(len(b.get("lines") or []) for b in bodies)
        agencies = sorted({str(b.get("agency")) for b in bodies})
        sources = sorted({str(b.get("source")) for b in bodies})
        return (f": disclosed {days[0]} to {days[-1]}, {lines} line{'s' if lines != 1 else ''}, "
                f"agencies {', '.join(agencies)}, source {', '.join(sources)}")
    if type_ == "policy":
        cutovers = sorted({str(b.get("legacy_cutover")) for b in bodies})
        return f": legacy_cutover {', '.join(cutovers)}"
    if type_ == "erasure":
        n = sum(len(b.get("commitments") or []) for b in bodies)
        return f": {n} commitment{'s' if n != 1 else ''} to erase"
    return ""


def _one(stmt: Pending) -> str:
    body = stmt.envelope["body"]
    if stmt.type == "legacy_release":
        n = len(body.get("lines") or [])
        return f" (disclosed {body.get('disclosed_on')}, {n} line{'s' if n != 1 else ''}, {body.get('agency')} " \
               f"{body.get('exception')})"
    if stmt.type == "erasure":
        return f" (request {body.get('request')}, reason {body.get('reason')})"
    return ""
