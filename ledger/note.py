"""C2SP signed notes: text, a blank line, then one line per signature.

A signature line is ``— <key name> <base64(keyhash(4) || ed25519 signature(64))>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from ledger.b64 import b64decode, b64encode
from ledger.errors import NoteError, SignatureError
from ledger.keys import SignerKey, VerifierKey, check_key_name

SIG_PREFIX = "\u2014 "
MAX_SIGNATURES = 100
_CONTROL_RE = re.compile("[\x00-\x09\x0b-\x1f\x7f]")  # every C0 control but LF, and DEL


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: key name, key ID and the raw signature."""

    name: str
    key_id: int
    signature: bytes

    def line(self) -> str:
        blob = self.key_id.to_bytes(4, "big") + self.signature
        return f"{SIG_PREFIX}{self.name} {b64encode(blob)}\n"


@dataclass(frozen=True)
class Note:
    """A parsed signed note; text is exactly the signed bytes."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def encode(self) -> str:
        return self.text + "\n" + "".join(s.line() for s in self.signatures)


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    if "\n\n" in text:
        raise NoteError("note text must not contain a blank line")
    control = _CONTROL_RE.search(text)
    if control:
        raise NoteError(f"note text contains control character U+{ord(control.group()):04X}")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a str can hold lone surrogates, which UTF-8 cannot
            raise NoteError("note text is not valid Unicode (lone surrogate)") from None


def parse_note(data: str | bytes) -> Note:
    """Parse a signed note; refuse anything C2SP does not allow."""
    if isinstance(data, (bytes, bytearray)):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("note is not valid UTF-8") from None
    split = data.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no blank line before its signatures")
    text, sig_block = data[: split + 1], data[split + 2 :]
    _check_text(text)
    if not sig_block.endswith("\n"):
        raise NoteError("signature block must end with a newline")
    lines = sig_block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"more than {MAX_SIGNATURES} signature lines")
    sigs = []
    for number, line in enumerate(lines, 1):
        if not line.startswith(SIG_PREFIX):
            raise NoteError(f"signature line {number} does not start with '— '")
        rest = line[len(SIG_PREFIX) :]
        parts = rest.split(" ")
        if len(parts) != 2:
            raise NoteError(f"signature line {number}: expected '— name base64', found {rest[:80]!r}")
        name, blob_text = parts
        check_key_name(name)
        blob = b64decode(blob_text)
        if len(blob) != 68:
            raise NoteError(
                f"signature line {number}: expected 68 bytes (key hash + Ed25519), found {len(blob)}"
            )
        sigs.append(NoteSignature(name, int.from_bytes(blob[:4], "big"), blob[4:]))
    if not sigs:
        raise NoteError("note has no signatures")
    return Note(text, tuple(sigs))


def sign_note(text: str, signers: Iterable[SignerKey]) -> Note:
    """Sign a note text with each key, in order."""
    _check_text(text)
    message = text.encode("utf-8")
    sigs = tuple(
        NoteSignature(k.name, k.verifier.key_id, k.sign(message)) for k in signers
    )
    if not sigs:
        raise NoteError("a note needs at least one signer")
    return Note(text, sigs)


def add_signatures(note: Note, signers: Iterable[SignerKey]) -> Note:
    """Add signatures to an already-signed note (cosigning)."""
    extra = sign_note(note.text, signers).signatures
    return Note(note.text, note.signatures + extra)


def verify_by(note: Note, key: VerifierKey) -> NoteSignature:
    """Return the one valid signature by key; raise SignatureError if there is none."""
    message = note.text.encode("utf-8")
    matching = [s for s in note.signatures if s.name == key.name and s.key_id == key.key_id]
    if not matching:
        raise SignatureError(f"no signature by {key.name} ({key.key_id:08x})")
    if len(matching) > 1:
        raise SignatureError(f"more than one signature by {key.name} ({key.key_id:08x})")
    key.verify(message, matching[0].signature)
    return matching[0]


class SignatureLineLike(Protocol):
    """A signature line as ``match_signature_lines`` reads it (NoteSignature, or a lighter record)."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...


_Line = TypeVar("_Line", bound=SignatureLineLike)


def match_signatures(note: Note, keys: Sequence[VerifierKey]) -> list[NoteSignature]:
    """The one signature line of each key, in key order, with no line left over.

    Raises SignatureError when a key has no line or several, or a line belongs to no key.
    Checks no Ed25519 signature: ``verify_exactly`` does, and a verifier that runs the
    Ed25519 checks in parallel calls this first, in order.
    """
    return match_signature_lines(note.signatures, keys)


def match_signature_lines(lines: Sequence[_Line], keys: Sequence[VerifierKey]) -> list[_Line]:
    """``match_signatures`` on a note's signature lines alone."""
    matched = []
    for key in keys:
        matching = [s for s in lines if s.name == key.name and s.key_id == key.key_id]
        if not matching:
            raise SignatureError(f"no signature by {key.name} ({key.key_id:08x})")
        if len(matching) > 1:
            raise SignatureError(f"more than one signature by {key.name} ({key.key_id:08x})")
        matched.append(matching[0])
    if len(lines) != len(keys):
        wanted = {(k.name, k.key_id) for k in keys}
        extra = [s for s in lines if (s.name, s.key_id) not in wanted]
        names = ", ".join(f"{s.name} ({s.key_id:08x})" for s in extra)
        raise SignatureError(f"signature lines by keys that are not listed signers: {names}")
    return matched


def verify_exactly(note: Note, keys: Sequence[VerifierKey]) -> None:
    """Every key signed exactly once and no other signature line is present."""
    message = note.text.encode("utf-8")
    for key, signature in zip(keys, match_signatures(note, keys), strict=True):
        key.verify(message, signature.signature)
