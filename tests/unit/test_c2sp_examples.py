"""Every note, cosignature, request and policy example of the pinned C2SP specs parses here
(tests/vectors/c2sp/, copied verbatim; SOURCES.md says from where). Where a spec elides bytes
("[...]") the example cannot parse as what it stands for, and the test says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.core.checkpoint import parse_checkpoint_body, parse_checkpoint_text
from ledger.core.cosignature import COSIGNATURE_V1_LINE_BYTES, cosigned_message
from ledger.core.errors import NoteError, PolicyError, ProtocolError
from ledger.core.keys import parse_vkey
from ledger.core.note import parse_note, verify_by
from ledger.core.tlog_policy import parse_policy
from ledger.core.tlog_proof import parse_tlog_proof
from ledger.core.witness_protocol import AddCheckpoint, parse_add_checkpoint, parse_cosignature_answer

EXAMPLES = Path(__file__).resolve().parents[1] / "vectors" / "c2sp"
SOFA_ROOT = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="


def example(name: str) -> str:
    return (EXAMPLES / name).read_text("utf-8")


def test_signed_note_example_verifies() -> None:
    """signed-note's vkey example verifies its note example."""
    note = parse_note(example("signed-note.example.note"))
    verify_by(note, parse_vkey(example("signed-note.example.vkey").strip()))
    assert note.text == "This is an example message.\n"


def test_signed_note_poem_parses_with_its_empty_line() -> None:
    """signed-note's first example: a text holding an empty line, split at the last blank line."""
    note = parse_note(example("signed-note.quasimodo.note"))
    assert note.text.endswith("\n\ned è subito sera.\n")
    assert [s.name for s in note.signatures] == ["quasimodo.example/salvatore"]
    assert len(note.signatures[0].signature) == 64


def test_checkpoint_example_parses() -> None:
    """tlog-checkpoint's example: a note whose text is origin, size, root."""
    note = parse_note(example("tlog-checkpoint.example.note"))
    cp = parse_checkpoint_text(note.text)
    assert (cp.origin, cp.size) == ("example.com/behind-the-sofa", 20852163)


def test_cosignature_example_parses_and_its_message_is_ours() -> None:
    """tlog-cosignature's example: the 76-byte cosignature line parses, its timestamp is the one of the
    spec's signed-message example, and cosigned_message builds that message byte for byte."""
    note = parse_note(example("tlog-cosignature.example.note"))
    witness = note.signatures[1]
    assert witness.name == "witness.example.com/w1"
    assert len(witness.signature) + 4 == COSIGNATURE_V1_LINE_BYTES
    timestamp = int.from_bytes(witness.signature[:8], "big")
    assert timestamp == 1679315147
    assert cosigned_message(note.text, timestamp).decode() == example("tlog-cosignature.signed-message.txt")


def test_add_checkpoint_request_example_parses_and_encodes_back() -> None:
    """tlog-witness's request example: old size, four proof hashes, a checkpoint signed twice; our
    encoder writes the same bytes back."""
    body = example("tlog-witness.add-checkpoint.request").encode()
    request = parse_add_checkpoint(body)
    assert request.old_size == 20852014 and len(request.proof) == 4
    note = parse_note(request.checkpoint)
    assert parse_checkpoint_text(note.text).size == 20852163
    assert len(note.signatures) == 2
    assert AddCheckpoint(request.old_size, request.proof, request.checkpoint).encode() == body


@pytest.mark.parametrize("name", ["tlog-witness.add-checkpoint.response", "tlog-mirror.response"])
def test_cosignature_answer_examples_parse(name: str) -> None:
    """The 200 answers of tlog-witness and tlog-mirror: three 76-byte signature lines."""
    lines = parse_cosignature_answer(example(name).encode())
    assert len(lines) == 3 and all(len(s.signature) == 72 for s in lines)


@pytest.mark.parametrize("name", ["tlog-witness.sign-subtree.response"])
def test_elided_examples_are_refused_as_malformed(name: str) -> None:
    """The sign-subtree examples elide their signatures ("[...]"): no parser can take those bytes."""
    with pytest.raises(ProtocolError):
        parse_cosignature_answer(example(name).encode())


def test_sign_subtree_request_checkpoint_text_parses() -> None:
    """The sign-subtree request's checkpoint text parses; its elided cosignature line is malformed."""
    text = example("tlog-witness.sign-subtree.request")
    checkpoint = text.split("\n\n", 1)[1]
    assert parse_checkpoint_body(checkpoint.split("\n\n")[0] + "\n").checkpoint.size == 14
    with pytest.raises(NoteError, match="base64"):
        parse_note(checkpoint)


def test_policy_example_parses_with_keys_in_place_of_its_placeholders() -> None:
    """tlog-policy's example elides its keys (<vkey>): with real keys put in, it is the two-level
    quorum it describes; as printed, the placeholder is refused with the line named."""
    from ledger.core.cosignature import CosignerSigner
    from ledger.core.keys import SignerKey

    text = example("tlog-policy.example.policy")
    with pytest.raises(PolicyError, match="policy line 1"):
        parse_policy(text)
    keys = iter([str(SignerKey(f"log.example/{0}", bytes([1]) * 32).verifier)] + [
        str(CosignerSigner(f"w{i}.example", bytes([i + 2]) * 32).verifier) for i in range(6)])
    filled = "\n".join(line.replace("<vkey>", next(keys)) if "<vkey>" in line else line for line in text.split("\n"))
    policy = parse_policy(filled)
    assert [w.name for w in policy.witnesses] == ["X1", "X2", "X3", "Y1", "Y2", "Y3"]
    assert policy.quorum == "X-and-Y"
    assert (policy.group("X-witnesses").threshold, policy.group("Y-witnesses").threshold) == (2, 1)
    assert policy.group("X-and-Y").threshold == 2
    assert policy.satisfied({"X1", "X3", "Y2"}) and not policy.satisfied({"X1", "X2", "X3"})
    assert not policy.satisfied({"X1", "Y1", "Y2", "Y3"})


def test_tlog_proof_example_parses_up_to_its_elided_signatures() -> None:
    """tlog-proof's example: header, extra, index, five hashes and a checkpoint whose text parses; its
    signature lines are elided in the spec ("[...]"), so the note itself is malformed."""
    proof = parse_tlog_proof(example("tlog-proof.example.tlog-proof"))
    assert proof.index == 73894 and len(proof.path) == 5
    assert proof.extra is not None and proof.extra.startswith(b"age-v1.2.1-darwin-arm64.tar.gz")
    text = proof.checkpoint.split("\n\n")[0] + "\n"
    assert parse_checkpoint_text(text).origin == "example.com/fancylog"
    with pytest.raises(NoteError):
        parse_note(proof.checkpoint)


def test_checkpoint_root_of_the_examples_is_the_same_tree() -> None:
    """The checkpoint, cosignature and witness examples all show the same tree head."""
    for name in ("tlog-checkpoint.example.note", "tlog-cosignature.example.note"):
        assert SOFA_ROOT in example(name)
