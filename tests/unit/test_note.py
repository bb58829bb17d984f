"""ledger.core.note: C2SP signed notes, parsed strictly and verified exactly."""

from __future__ import annotations

import pytest
from corebuild import flip_signature_bit, key

from ledger.core.b64 import b64encode
from ledger.core.errors import FormatError, NoteError, SignatureError
from ledger.core.note import (
    MAX_SIGNATURES,
    Note,
    NoteSignature,
    add_signatures,
    parse_note,
    sign_note,
    verify_by,
    verify_exactly,
)

ALICE = key("irs.gov/alice")
BOB = key("irs.gov/bob")
TEXT = "line one\nline two\n"


def signed(text: str = TEXT, *signers: object) -> str:
    return sign_note(text, signers or (ALICE,)).encode()  # type: ignore[arg-type]


def sig_line(name: str, blob: bytes) -> str:
    return f"\u2014 {name} {b64encode(blob)}\n"


def test_encoding_is_text_blank_line_signatures() -> None:
    """A note is the text, a blank line, then one '— name base64(keyhash||sig)' line per signer."""
    note = sign_note(TEXT, [ALICE, BOB])
    lines = note.encode().split("\n")
    assert lines[:3] == ["line one", "line two", ""]
    assert lines[3].startswith("\u2014 irs.gov/alice ")
    assert lines[4].startswith("\u2014 irs.gov/bob ")
    assert lines[5] == ""
    assert note.signatures[0].key_id == ALICE.verifier.key_id


def test_parse_round_trips_and_keeps_text_exact() -> None:
    """parse_note(note.encode()) gives back the same text and signatures, from str or bytes."""
    note = sign_note(TEXT, [ALICE, BOB])
    assert parse_note(note.encode()) == note
    assert parse_note(note.encode().encode("utf-8")) == note


def test_verify_by_returns_the_matching_signature() -> None:
    """verify_by finds and checks the signature of exactly that key."""
    note = parse_note(signed(TEXT, ALICE, BOB))
    assert verify_by(note, BOB.verifier).name == "irs.gov/bob"


def test_verify_exactly_accepts_all_listed_signers() -> None:
    """verify_exactly passes when each listed key signed once and nobody else did."""
    verify_exactly(parse_note(signed(TEXT, ALICE, BOB)), [BOB.verifier, ALICE.verifier])


def test_missing_blank_line_is_refused() -> None:
    """A note without the blank line before its signatures is refused."""
    body = signed().replace("\n\n", "\n")
    with pytest.raises(NoteError, match="blank line"):
        parse_note(body)


def test_note_without_signatures_is_refused() -> None:
    """Text and a blank line but no signature line is refused, and so is signing with no key."""
    with pytest.raises(NoteError):
        parse_note(TEXT + "\n")
    with pytest.raises(NoteError, match="at least one"):
        sign_note(TEXT, [])


def test_signature_block_must_end_with_newline() -> None:
    """The last signature line must end with a newline."""
    with pytest.raises(NoteError, match="newline"):
        parse_note(signed()[:-1])


def test_text_not_ending_in_newline_is_refused() -> None:
    """A text that does not end with a newline cannot be signed."""
    with pytest.raises(NoteError, match="end with a newline"):
        sign_note("no newline", [ALICE])


def test_blank_line_inside_text_is_kept() -> None:
    """signed-note lets a text hold empty lines: the last blank line separates the signatures.

    (No statement or checkpoint of this ledger has one: their own parsers refuse it.)"""
    note = parse_note(signed("a\n\nb\n"))
    assert note.text == "a\n\nb\n"
    verify_by(note, ALICE.verifier)
    with pytest.raises(SignatureError, match="does not verify"):
        verify_by(parse_note(signed("a\nb\n").replace("a\nb\n", "a\n\nb\n", 1)), ALICE.verifier)


@pytest.mark.parametrize("char", ["\x00", "\t", "\r", "\x1b", "\x1f", "\x7f"])
def test_control_characters_in_text_are_refused(char: str) -> None:
    """Control characters other than newline are refused in note text."""
    with pytest.raises(NoteError, match="control character"):
        sign_note(f"a{char}b\n", [ALICE])
    good = signed("aXb\n")
    with pytest.raises(NoteError, match="control character"):
        parse_note(good.replace("aXb", f"a{char}b", 1))


def test_invalid_utf8_is_refused() -> None:
    """A note that is not valid UTF-8 is refused."""
    data = signed("aXb\n").encode("utf-8").replace(b"X", b"\xff", 1)
    with pytest.raises(NoteError, match="UTF-8"):
        parse_note(data)


@pytest.mark.parametrize(
    "line",
    [
        "- irs.gov/alice {blob}\n",  # hyphen instead of em dash
        "\u2014irs.gov/alice {blob}\n",  # no space after the dash
        "\u2014 irs.gov/alice  {blob}\n",  # two spaces
        "\u2014 irs.gov/alice {blob} extra\n",  # three fields
        "\u2014 irs.gov/alice\n",  # no signature
        "\u2014 {blob}\n",  # no name
        "\n",  # empty line among signatures
    ],
    ids=["hyphen", "no-space", "two-spaces", "three-fields", "no-sig", "no-name", "empty"],
)
def test_malformed_signature_lines_are_refused(line: str) -> None:
    """A signature line that is not exactly '— name base64' is refused."""
    good = signed()
    blob = good.rsplit(" ", 1)[1].strip()
    with pytest.raises(FormatError):
        parse_note(good + line.format(blob=blob))


def test_signature_line_with_bad_name_is_refused() -> None:
    """A signer name with '+' is refused in a signature line, whoever's line it is."""
    with pytest.raises(NoteError, match=r"'\+'"):
        parse_note(TEXT + "\n" + sig_line("irs.gov/a+b", b"\x00" * 68))


def test_signature_line_with_bad_base64_is_refused() -> None:
    """A signature that is not padded standard base64 is refused."""
    good = signed()
    with pytest.raises(NoteError, match="base64"):
        parse_note(good[:-2] + "\n")  # drops the '=' padding of the last line


@pytest.mark.parametrize("length", [67, 69, 36, 76, 2432])
def test_unknown_key_lines_of_any_length_are_kept(length: int) -> None:
    """A line of another length is kept (a cosignature, a post-quantum signature) and ignored by verify_by."""
    note = parse_note(signed() + sig_line("witness.example/w1", b"\x01" * length))
    assert len(note.signatures[1].signature) == length - 4
    verify_by(note, ALICE.verifier)


@pytest.mark.parametrize("length", [67, 69, 36, 76])
def test_known_key_line_of_wrong_length_is_refused(length: int) -> None:
    """A line with a known key's name and key ID carries exactly 4 + 64 bytes, or the note is refused."""
    blob = ALICE.verifier.key_hash + b"\x01" * (length - 4)
    note = parse_note(TEXT + "\n" + sig_line("irs.gov/alice", blob))
    with pytest.raises(SignatureError, match="expected 68 bytes"):
        verify_by(note, ALICE.verifier)
    with pytest.raises(SignatureError, match="expected 68 bytes"):
        verify_exactly(note, [ALICE.verifier])


def test_signature_under_five_bytes_is_refused() -> None:
    """signed-note: a signature is 4 + n bytes; fewer than 5 makes the note malformed."""
    with pytest.raises(NoteError, match="at least 5 bytes"):
        parse_note(signed() + sig_line("witness.example/w1", b"\x01" * 4))


def test_too_many_signatures_are_refused() -> None:
    """More than MAX_SIGNATURES signature lines are refused; exactly that many are parsed."""
    line = signed().split("\n\n")[1]
    assert len(parse_note(TEXT + "\n" + line * MAX_SIGNATURES).signatures) == MAX_SIGNATURES
    with pytest.raises(NoteError, match="more than"):
        parse_note(TEXT + "\n" + line * (MAX_SIGNATURES + 1))


def test_tampered_text_fails_verification() -> None:
    """Changing one character of the text makes the signature fail."""
    note = parse_note(signed().replace("one", "One"))
    with pytest.raises(SignatureError, match="does not verify"):
        verify_by(note, ALICE.verifier)


def test_tampered_signature_fails_verification() -> None:
    """Flipping one bit of the signature makes it fail."""
    note = parse_note(flip_signature_bit(signed(), bit=77))
    with pytest.raises(SignatureError, match="does not verify"):
        verify_by(note, ALICE.verifier)


def test_signature_by_another_key_of_the_same_name_is_not_found() -> None:
    """A signature under the right name but another key (another key ID) is not that key's."""
    impostor = key("irs.gov/alice", 1)
    with pytest.raises(SignatureError, match=r"no signature by irs\.gov/alice"):
        verify_by(parse_note(signed(TEXT, impostor)), ALICE.verifier)


def test_forged_key_id_fails_verification() -> None:
    """Claiming a key's ID on another key's signature fails the Ed25519 check."""
    other = sign_note(TEXT, [key("irs.gov/alice", 1)]).signatures[0]
    forged = Note(TEXT, (NoteSignature("irs.gov/alice", ALICE.verifier.key_id, other.signature),))
    with pytest.raises(SignatureError, match="does not verify"):
        verify_by(parse_note(forged.encode()), ALICE.verifier)


def test_duplicate_signature_by_one_key_is_refused() -> None:
    """Two signature lines by the same key are refused by verify_by."""
    note = add_signatures(sign_note(TEXT, [ALICE]), [ALICE])
    with pytest.raises(SignatureError, match="more than one"):
        verify_by(parse_note(note.encode()), ALICE.verifier)


def test_verify_exactly_refuses_an_extra_signature_line() -> None:
    """A valid signature by a key that is not listed is refused (the ledger admits no extras)."""
    note = parse_note(signed(TEXT, ALICE, BOB))
    with pytest.raises(SignatureError, match="not listed"):
        verify_exactly(note, [ALICE.verifier])


def test_verify_exactly_refuses_a_missing_signer() -> None:
    """A listed key with no signature line is refused."""
    note = parse_note(signed(TEXT, ALICE))
    with pytest.raises(SignatureError, match=r"no signature by irs\.gov/bob"):
        verify_exactly(note, [ALICE.verifier, BOB.verifier])


def test_add_signatures_cosigns_the_same_text() -> None:
    """add_signatures appends signatures over the same text."""
    note = add_signatures(sign_note(TEXT, [ALICE]), [BOB])
    assert [s.name for s in note.signatures] == ["irs.gov/alice", "irs.gov/bob"]
    verify_exactly(parse_note(note.encode()), [ALICE.verifier, BOB.verifier])


def test_last_blank_line_separates_signatures() -> None:
    """The signature block starts after the last blank line; unicode text is signed as UTF-8."""
    note = parse_note(signed("été — ok\n"))
    assert note.text == "été — ok\n"
    verify_by(note, ALICE.verifier)


def test_lone_surrogate_in_text_is_refused() -> None:
    """A str note holding a lone surrogate (not encodable as UTF-8) is a NoteError, not a crash."""
    with pytest.raises(NoteError, match="surrogate"):
        sign_note("a\ud800\n", [ALICE])
    good = signed("aXb\n")
    with pytest.raises(NoteError, match="surrogate"):
        parse_note(good.replace("aXb", "a\udc00b", 1))
