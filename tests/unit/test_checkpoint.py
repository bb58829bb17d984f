"""ledger.core.checkpoint: C2SP tlog-checkpoint notes, no extension lines, signed by the origin's key."""

from __future__ import annotations

import pytest
from corebuild import ORIGIN, key

from ledger.core.b64 import b64encode
from ledger.core.checkpoint import Checkpoint, open_checkpoint, parse_checkpoint_text, sign_checkpoint
from ledger.core.errors import CheckpointFormatError, EncodingError, SignatureError
from ledger.core.merkle import EMPTY_ROOT, leaf_hash
from ledger.core.note import add_signatures, sign_note

CHECKPOINT_KEY = key(ORIGIN)
ROOT = leaf_hash(b"root")
ROOT_B64 = b64encode(ROOT)


def test_text_is_origin_size_root() -> None:
    """The checkpoint body is '<origin>\\n<size>\\n<base64 root>\\n'."""
    assert Checkpoint(ORIGIN, 42, ROOT).text() == f"{ORIGIN}\n42\n{ROOT_B64}\n"


def test_sign_and_open_round_trip() -> None:
    """A signed checkpoint opens under the trust root and gives back origin, size and root."""
    signed = sign_checkpoint(Checkpoint(ORIGIN, 42, ROOT), [CHECKPOINT_KEY])
    opened = open_checkpoint(signed.encode(), CHECKPOINT_KEY.verifier)
    assert opened.checkpoint == Checkpoint(ORIGIN, 42, ROOT)
    assert opened.note == signed.note
    assert open_checkpoint(signed.encode().encode("utf-8"), CHECKPOINT_KEY.verifier) == opened


def test_empty_tree_checkpoint() -> None:
    """Size 0 with the empty root is a valid checkpoint."""
    text = Checkpoint(ORIGIN, 0, EMPTY_ROOT).text()
    assert parse_checkpoint_text(text) == Checkpoint(ORIGIN, 0, EMPTY_ROOT)


def test_extension_line_is_refused() -> None:
    """C2SP allows extension lines; this ledger's checkpoints have none."""
    with pytest.raises(CheckpointFormatError, match="exactly 3 lines"):
        parse_checkpoint_text(f"{ORIGIN}\n42\n{ROOT_B64}\nextension\n")


def test_extension_line_in_signed_note_is_refused() -> None:
    """A validly signed checkpoint note with an extension line is refused when opened."""
    note = sign_note(f"{ORIGIN}\n42\n{ROOT_B64}\nextension\n", [CHECKPOINT_KEY])
    with pytest.raises(CheckpointFormatError):
        open_checkpoint(note.encode(), CHECKPOINT_KEY.verifier)


@pytest.mark.parametrize("text", [f"{ORIGIN}\n42\n", f"{ORIGIN}\n42\n{ROOT_B64}", f"{ORIGIN}\n{ROOT_B64}\n"])
def test_missing_lines_are_refused(text: str) -> None:
    """Fewer than three lines, or no final newline, is refused."""
    with pytest.raises(CheckpointFormatError):
        parse_checkpoint_text(text)


@pytest.mark.parametrize("size", ["042", "00", "-1", "+1", " 1", "1 ", "1.0", "0x10", "", "1" * 20, "٤٢"])
def test_bad_sizes_are_refused(size: str) -> None:
    """The size is a plain ASCII decimal without leading zeros (0 itself is fine)."""
    with pytest.raises(CheckpointFormatError, match="decimal tree size"):
        parse_checkpoint_text(f"{ORIGIN}\n{size}\n{ROOT_B64}\n")


def test_largest_size_is_accepted() -> None:
    """Nineteen digits (beyond any real log) still parse."""
    assert parse_checkpoint_text(f"{ORIGIN}\n{'9' * 19}\n{ROOT_B64}\n").size == 10**19 - 1


def test_empty_origin_is_refused() -> None:
    """The origin line must not be empty."""
    with pytest.raises(CheckpointFormatError, match="origin"):
        parse_checkpoint_text(f"\n42\n{ROOT_B64}\n")


@pytest.mark.parametrize("root", [b64encode(b"\x00" * 31), b64encode(b"\x00" * 33), ""])
def test_root_must_be_32_bytes(root: str) -> None:
    """The root is exactly 32 bytes."""
    with pytest.raises(CheckpointFormatError, match="32-byte root"):
        parse_checkpoint_text(f"{ORIGIN}\n42\n{root}\n")


def test_root_must_be_strict_base64() -> None:
    """The root must be strict standard base64."""
    for bad in (ROOT_B64.rstrip("="), " " + ROOT_B64, "-" + ROOT_B64[1:]):
        with pytest.raises(EncodingError):
            parse_checkpoint_text(f"{ORIGIN}\n42\n{bad}\n")


def test_wrong_origin_is_refused() -> None:
    """A checkpoint whose origin differs from the trust root's name is refused, however signed."""
    other = key("other.example/log")
    signed = sign_checkpoint(Checkpoint("other.example/log", 42, ROOT), [other])
    with pytest.raises(SignatureError, match="origin"):
        open_checkpoint(signed.encode(), CHECKPOINT_KEY.verifier)


def test_wrong_key_is_refused() -> None:
    """A checkpoint signed by another key of the same name is refused."""
    impostor = key(ORIGIN, 1)
    signed = sign_checkpoint(Checkpoint(ORIGIN, 42, ROOT), [impostor])
    with pytest.raises(SignatureError, match="no signature"):
        open_checkpoint(signed.encode(), CHECKPOINT_KEY.verifier)


def test_tampered_size_is_refused() -> None:
    """Changing the size of a signed checkpoint breaks its signature."""
    encoded = sign_checkpoint(Checkpoint(ORIGIN, 42, ROOT), [CHECKPOINT_KEY]).encode()
    with pytest.raises(SignatureError, match="does not verify"):
        open_checkpoint(encoded.replace("\n42\n", "\n43\n", 1), CHECKPOINT_KEY.verifier)


def test_signing_key_must_be_named_after_the_origin() -> None:
    """sign_checkpoint refuses a key whose name is not the origin."""
    with pytest.raises(CheckpointFormatError, match="must equal origin"):
        sign_checkpoint(Checkpoint(ORIGIN, 42, ROOT), [key("irs.gov/admin")])


def test_both_keys_sign_during_a_rotation_overlap() -> None:
    """Signed by the old and the new checkpoint key, a checkpoint opens under either."""
    new_key = key(ORIGIN, 1)
    signed = sign_checkpoint(Checkpoint(ORIGIN, 42, ROOT), [CHECKPOINT_KEY, new_key])
    open_checkpoint(signed.encode(), CHECKPOINT_KEY.verifier)
    open_checkpoint(signed.encode(), new_key.verifier)


def test_other_signatures_are_ignored() -> None:
    """A cosignature by some other key (a witness) does not stop the checkpoint from opening."""
    signed = sign_checkpoint(Checkpoint(ORIGIN, 42, ROOT), [CHECKPOINT_KEY])
    cosigned = add_signatures(signed.note, [key("witness.example/w1")])
    assert open_checkpoint(cosigned.encode(), CHECKPOINT_KEY.verifier).checkpoint.size == 42
