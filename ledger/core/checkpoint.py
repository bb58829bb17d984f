"""C2SP tlog-checkpoint notes (docs/FORMAT.md § 11): ``<origin>\\n<size>\\n<base64 root>\\n``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ledger.core.b64 import b64decode, b64encode
from ledger.core.errors import CheckpointFormatError, SignatureError
from ledger.core.keys import SignerKey, VerifierKey
from ledger.core.note import Note, parse_note, sign_note, verify_by

_SIZE_RE = re.compile(r"(0|[1-9][0-9]{0,18})\Z")


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: origin, size and root."""

    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{b64encode(self.root)}\n"


def parse_checkpoint_text(text: str) -> Checkpoint:
    """Parse the body of a checkpoint note; no extension lines are allowed."""
    lines = text.split("\n")
    if len(lines) != 4 or lines[3] != "":
        raise CheckpointFormatError(
            f"expected exactly 3 lines (origin, size, root), found {len(lines) - 1}"
        )
    return _three_lines(*lines[:3])


@dataclass(frozen=True)
class CheckpointBody:
    """Any log's checkpoint text (c2sp.org/tlog-checkpoint): origin, size, root and extension lines."""

    checkpoint: Checkpoint
    extensions: tuple[str, ...]


def parse_checkpoint_body(text: str) -> CheckpointBody:
    """Parse the text of another log's checkpoint, whose opaque extension lines are allowed.

    This ledger's own checkpoints have none (``parse_checkpoint_text``); a witness follows logs
    it did not write, and signs their extension lines with the rest (c2sp.org/tlog-cosignature).
    """
    if not text.endswith("\n"):
        raise CheckpointFormatError("checkpoint text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointFormatError(f"expected at least 3 lines (origin, size, root), found {len(lines)}")
    if any(not line for line in lines[3:]):
        raise CheckpointFormatError("a checkpoint's extension lines must not be empty")
    return CheckpointBody(_three_lines(*lines[:3]), tuple(lines[3:]))


def _three_lines(origin: str, size_text: str, root_text: str) -> Checkpoint:
    if not origin:
        raise CheckpointFormatError("checkpoint origin is empty")
    if not _SIZE_RE.match(size_text):
        raise CheckpointFormatError(f"expected a decimal tree size, found {size_text[:40]!r}")
    root = b64decode(root_text)
    if len(root) != 32:
        raise CheckpointFormatError(f"expected a 32-byte root, found {len(root)} bytes")
    return Checkpoint(origin, int(size_text), root)


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint with its signed note."""

    checkpoint: Checkpoint
    note: Note

    def encode(self) -> str:
        return self.note.encode()


def sign_checkpoint(checkpoint: Checkpoint, keys: Sequence[SignerKey]) -> SignedCheckpoint:
    """Sign a checkpoint with the checkpoint key(s); each key name must equal the origin."""
    for key in keys:
        if key.name != checkpoint.origin:
            raise CheckpointFormatError(
                f"checkpoint key name must equal origin {checkpoint.origin!r}, found {key.name!r}"
            )
    return SignedCheckpoint(checkpoint, sign_note(checkpoint.text(), keys))


def open_checkpoint(data: str | bytes, trust_root: VerifierKey) -> SignedCheckpoint:
    """Parse a signed checkpoint and verify it against the trust root (other signatures are ignored)."""
    note = parse_note(data)
    checkpoint = parse_checkpoint_text(note.text)
    if checkpoint.origin != trust_root.name:
        raise SignatureError(
            f"checkpoint origin {checkpoint.origin!r} differs from the trust root's name {trust_root.name!r}"
        )
    verify_by(note, trust_root)
    return SignedCheckpoint(checkpoint, note)


def open_with_any(data: str | bytes, keys: Sequence[VerifierKey]) -> SignedCheckpoint:
    """Open a checkpoint signed by at least one of several keys (a rotation's overlap)."""
    errors = []
    for key in keys:
        try:
            return open_checkpoint(data, key)
        except (SignatureError, CheckpointFormatError) as e:
            errors.append(str(e))
    raise SignatureError("checkpoint verifies with none of the keys: " + "; ".join(errors))
