"""C2SP signed notes: text, a blank line, then one line per signature.

A signature line is ``— <key name> <base64(key ID (4) || signature)>``. The parser keeps every
well-formed line, whoever made it: c2sp.org/signed-note says verifiers MUST ignore signatures
from keys they do not know, and those may be of any type and length (a cosignature/v1 line is
4 + 8 + 64 bytes, an ML-DSA-44 one 4 + 8 + 2,420). A line is malformed, and the whole note
refused, only when signed-note says so: it is not ``— name base64``, the name is empty or holds a
Unicode space or ``+``, or the base64 does not decode (padding bits need not be zero) to at least
5 bytes. Lines of keys the verifier knows are held to more: canonical base64, 4 + 64 bytes and an
Ed25519 signature that verifies (``verify_by``, ``match_signature_lines``).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from ledger.core.b64 import b64decode, b64encode
from ledger.core.errors import EncodingError, NoteError, SignatureError
from ledger.core.keys import SignerKey, VerifierKey

SIG_PREFIX = "\u2014 "
# signed-note: verifiers MUST accept at least 16 signatures and SHOULD cap their number or the
# note's size; Go's sumdb/note stops at 100 lines. The size leaves room for 16 post-quantum
# signature lines (nearly 5 kB each, a third more in base64) beside the largest statement text.
MAX_SIGNATURES = 100
MAX_NOTE_BYTES = 196_608
ED25519_LINE_BYTES = 68  # key ID (4) + Ed25519 signature (64)
_CONTROL_RE = re.compile("[\x00-\x09\x0b-\x1f\x7f]")  # every C0 control but LF, and DEL
_LINE_CONTROL_RE = re.compile("[\x00-\x09\x0b-\x1f]")  # signed-note: no control below U+0020 but LF
_PLAIN_NAME_RE = re.compile(r"[!-*,-~]+\Z")  # printable ASCII without space or '+': the common case
# Go's unicode.IsSpace, which signed-note's reference implementation applies to key names: the
# Unicode White_Space property, written out so that no Unicode table version changes the rule.
UNICODE_SPACES = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
_PADDED_B64_RE = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?\Z")


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: key name, key ID and the signature bytes after the key ID.

    ``b64`` is the line's base64 as it was read (or the canonical encoding of a line made
    here), so that a note is written back byte for byte; ``canonical`` says whether it is
    the one canonical encoding (zero padding bits), which known keys' lines must be.
    """

    name: str
    key_id: int
    signature: bytes
    b64: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.b64:
            object.__setattr__(self, "b64", b64encode(self.key_id.to_bytes(4, "big") + self.signature))

    @property
    def canonical(self) -> bool:
        return self.b64 == b64encode(self.key_id.to_bytes(4, "big") + self.signature)

    def line(self) -> str:
        return f"{SIG_PREFIX}{self.name} {self.b64}\n"


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
    control = _CONTROL_RE.search(text)
    if control:
        raise NoteError(f"note text contains control character U+{ord(control.group()):04X}")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a str can hold lone surrogates, which UTF-8 cannot
            raise NoteError("note text is not valid Unicode (lone surrogate)") from None


def check_signature_name(name: str) -> str:
    """Return name if signed-note allows it as a key name: non-empty, no Unicode space, no '+'."""
    if _PLAIN_NAME_RE.match(name):
        return name
    if not name:
        raise NoteError("a signature line has an empty key name")
    if "+" in name:
        raise NoteError(f"key name {name[:80]!r} holds a '+'")
    space = next((c for c in name if c in UNICODE_SPACES), None)
    if space is not None:
        raise NoteError(f"key name {name[:80]!r} holds the space U+{ord(space):04X}")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise NoteError("a key name is not valid Unicode (lone surrogate)") from None
    return name


def decode_signature_blob(text: str) -> bytes:
    """The bytes of a signature line's base64: standard alphabet, padded.

    Padding bits need not be zero (signed-note does not ask it, and Go's decoder accepts them), but
    such a line can only be an unknown key's (``NoteSignature.canonical``).
    """
    try:
        return b64decode(text)
    except EncodingError:
        pass
    if not _PADDED_B64_RE.match(text) or not text:
        raise NoteError(f"signature is not standard padded base64: {text[:80]!r}")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as e:  # pragma: no cover - the pattern already filters
        raise NoteError(f"signature is not base64: {e}") from None


def _parse_line(line: str, number: int) -> NoteSignature:
    if not line.startswith(SIG_PREFIX):
        raise NoteError(f"signature line {number} does not start with '— '")
    rest = line[len(SIG_PREFIX) :]
    parts = rest.split(" ")
    if len(parts) != 2:
        raise NoteError(f"signature line {number}: expected '— name base64', found {rest[:80]!r}")
    name, blob_text = parts
    try:
        check_signature_name(name)
        blob = decode_signature_blob(blob_text)
    except NoteError as e:
        raise NoteError(f"signature line {number}: {e}") from None
    if len(blob) < 5:
        raise NoteError(f"signature line {number}: expected at least 5 bytes (key ID and signature), "
                        f"found {len(blob)}")
    return NoteSignature(name, int.from_bytes(blob[:4], "big"), blob[4:], blob_text)


def parse_note(data: str | bytes) -> Note:
    """Parse a signed note: keep every well-formed signature line, refuse a malformed note."""
    if isinstance(data, (bytes, bytearray)):
        if len(data) > MAX_NOTE_BYTES:
            raise NoteError(f"note is {len(data)} bytes, at most {MAX_NOTE_BYTES} are allowed")
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("note is not valid UTF-8") from None
    elif len(data) * 4 > MAX_NOTE_BYTES and len(data.encode("utf-8", "surrogatepass")) > MAX_NOTE_BYTES:
        raise NoteError(f"note is more than {MAX_NOTE_BYTES} bytes")
    split = data.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no blank line before its signatures")
    text, sig_block = data[: split + 1], data[split + 2 :]
    _check_text(text)
    if not sig_block.endswith("\n"):
        raise NoteError("signature block must end with a newline")
    control = _LINE_CONTROL_RE.search(sig_block, 0, len(sig_block) - 1)
    if control:
        raise NoteError(f"signature lines contain control character U+{ord(control.group()):04X}")
    lines = sig_block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"more than {MAX_SIGNATURES} signature lines")
    sigs = tuple(_parse_line(line, number) for number, line in enumerate(lines, 1))
    if not sigs:  # pragma: no cover - a block ending in LF holds at least one line
        raise NoteError("note has no signatures")
    return Note(text, sigs)


def check_ed25519_line(line: NoteSignature) -> bytes:
    """The Ed25519 signature of a known key's line: canonical base64 of exactly 4 + 64 bytes."""
    if len(line.signature) != ED25519_LINE_BYTES - 4:
        raise SignatureError(
            f"signature line by {line.name} ({line.key_id:08x}): expected {ED25519_LINE_BYTES} bytes "
            f"(key hash + Ed25519), found {len(line.signature) + 4}"
        )
    if not line.canonical:
        raise SignatureError(
            f"signature line by {line.name} ({line.key_id:08x}): base64 with non-zero padding bits "
            "is not canonical"
        )
    return line.signature


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
    key.verify(message, check_ed25519_line(matching[0]))
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
        key.verify(message, check_ed25519_line(signature))
