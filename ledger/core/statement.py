"""Statements (docs/FORMAT.md § 6): a signed note whose text is JCS(envelope) + "\\n".

Envelope: {"v":1,"type","id","signers","issued_at","not_after","body"}. This module
answers "what bytes does a principal sign?" and nothing else checks them twice.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from ledger.core.canonical import canonical_bytes, parse_canonical
from ledger.core.errors import NoteError, StatementError
from ledger.core.keys import SignerKey, check_key_name
from ledger.core.note import ED25519_LINE_BYTES, Note, parse_note, sign_note
from ledger.core.times import format_time, parse_time, utc_now

MAX_STATEMENT_BYTES = 60_000
ENVELOPE_KEYS = frozenset({"v", "type", "id", "signers", "issued_at", "not_after", "body"})
_TYPE_RE = re.compile(r"[a-z][a-z0-9_]{0,63}\Z")
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z")


@dataclass(frozen=True)
class Statement:
    """A parsed, structurally valid statement. ``raw`` is the exact note text."""

    raw: str
    note: Note
    envelope: dict[str, Any]
    sha256: bytes = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha256", hashlib.sha256(self.raw.encode("utf-8")).digest())

    @cached_property
    def type(self) -> str:
        return str(self.envelope["type"])

    @cached_property
    def id(self) -> str:
        return str(self.envelope["id"])

    @property
    def signers(self) -> list[str]:
        return list(self.envelope["signers"])

    @property
    def body(self) -> dict[str, Any]:
        return dict(self.envelope["body"])

    @cached_property
    def issued_at(self) -> datetime:
        return parse_time(self.envelope["issued_at"])

    @cached_property
    def not_after(self) -> datetime:
        return parse_time(self.envelope["not_after"])


def check_envelope(envelope: Any) -> dict[str, Any]:
    """Refuse envelopes that break the shape docs/FORMAT.md § 6 gives."""
    if not isinstance(envelope, dict):
        raise StatementError(f"envelope must be an object, found {type(envelope).__name__}")
    keys = set(envelope)
    if keys != ENVELOPE_KEYS:
        missing = sorted(ENVELOPE_KEYS - keys)
        extra = sorted(keys - ENVELOPE_KEYS)
        raise StatementError(f"envelope keys: missing {missing}, unexpected {extra}")
    if envelope["v"] != 1 or isinstance(envelope["v"], bool):
        raise StatementError(f"envelope v: expected 1, found {envelope['v']!r}")
    if not isinstance(envelope["type"], str) or not _TYPE_RE.match(envelope["type"]):
        raise StatementError(f"envelope type: expected [a-z][a-z0-9_]*, found {envelope['type']!r}")
    if not isinstance(envelope["id"], str) or not _ID_RE.match(envelope["id"]):
        raise StatementError(
            f"envelope id: expected 1-128 of [A-Za-z0-9._:-], found {str(envelope['id'])[:80]!r}"
        )
    signers = envelope["signers"]
    if not isinstance(signers, list) or not signers:
        raise StatementError("envelope signers: expected a non-empty list of key names")
    for name in signers:
        check_key_name(name)
    if len(set(signers)) != len(signers):
        raise StatementError("envelope signers: a name is listed twice")
    issued = parse_time(envelope["issued_at"])
    not_after = parse_time(envelope["not_after"])
    if not_after < issued:
        raise StatementError("envelope not_after is before issued_at")
    if not isinstance(envelope["body"], dict):
        raise StatementError("envelope body must be an object")
    return envelope


def parse_statement(data: str | bytes) -> Statement:
    """Parse a statement note: size, note syntax, canonical envelope, envelope shape."""
    raw_bytes, note, envelope = parse_statement_parts(data)
    return Statement(raw_bytes.decode("utf-8"), note, envelope)


def parse_statement_parts(data: str | bytes) -> tuple[bytes, Note, dict[str, Any]]:
    """``parse_statement`` without building the Statement: (UTF-8 bytes, note, envelope)."""
    try:
        raw_bytes = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    except UnicodeEncodeError:  # a str can hold lone surrogates, which UTF-8 cannot
        raise StatementError("statement is not valid Unicode (lone surrogate)") from None
    if len(raw_bytes) > MAX_STATEMENT_BYTES:
        raise StatementError(
            f"statement is {len(raw_bytes)} bytes, at most {MAX_STATEMENT_BYTES} are allowed"
        )
    note = parse_note(raw_bytes)
    for number, line in enumerate(note.signatures, 1):
        # Every line of a statement is a listed signer's (docs/FORMAT.md § 6), so each is held
        # to what a known key's line must be: canonical base64 of 4 + 64 bytes.
        if len(line.signature) != ED25519_LINE_BYTES - 4:
            raise NoteError(f"signature line {number}: expected {ED25519_LINE_BYTES} bytes (key hash + Ed25519), "
                            f"found {len(line.signature) + 4}")
        if not line.canonical:
            raise NoteError(f"signature line {number}: base64 with non-zero padding bits is not canonical")
        check_key_name(line.name)
    envelope = check_envelope(parse_canonical(note.text[:-1].encode("utf-8")))
    if "\n" in note.text[:-1]:  # pragma: no cover - canonical JSON has no raw newline
        raise StatementError("statement text must be one line")
    signed_names = [s.name for s in note.signatures]
    if sorted(signed_names) != sorted(envelope["signers"]):
        raise StatementError(
            f"signature lines {sorted(signed_names)} do not match the listed signers "
            f"{sorted(envelope['signers'])}"
        )
    return raw_bytes, note, envelope


def make_envelope(
    type_: str,
    id_: str,
    signers: Sequence[str],
    body: dict[str, Any],
    *,
    issued_at: datetime | None = None,
    valid_for: timedelta = timedelta(hours=1),
) -> dict[str, Any]:
    """Build an envelope with contract times."""
    issued = issued_at or utc_now()
    return check_envelope(
        {
            "v": 1,
            "type": type_,
            "id": id_,
            "signers": list(signers),
            "issued_at": format_time(issued),
            "not_after": format_time(issued + valid_for),
            "body": body,
        }
    )


def sign_statement(envelope: dict[str, Any], keys: Sequence[SignerKey]) -> str:
    """Sign an envelope with each key; the result is the note text to submit."""
    check_envelope(envelope)
    text = canonical_bytes(envelope).decode("utf-8") + "\n"
    note = sign_note(text, keys).encode()
    parse_statement(note)  # the same checks a server will run
    return note
