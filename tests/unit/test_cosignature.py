"""ledger.core.cosignature: cosignature/v1 lines, checked against vectors made with Go (cosignature-v1.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ledger.core.cosignature import (
    CosignerKey,
    CosignerSigner,
    cosigned_message,
    parse_cosigner_signer,
    parse_cosigner_vkey,
)
from ledger.core.errors import KeyFormatError, SignatureError
from ledger.core.keys import parse_vkey
from ledger.core.note import NoteSignature, parse_note, verify_by

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "cosignature-v1.json").read_text("utf-8"))
COSIGNATURES = [pytest.param(v, c, id=f"{v['desc']}/{c['witness']}") for v in VECTORS["vectors"]
                for c in v["cosignatures"]]


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["desc"])
def test_cosigned_note_verifies_under_the_log_key(vector: dict[str, Any]) -> None:
    """Each cosigned note opens with the log's key alone: the three cosignature lines are ignored."""
    note = parse_note(vector["cosigned_note"])
    assert note.text == vector["checkpoint_body"]
    verify_by(note, parse_vkey(vector["log_vkey"]))
    assert note.encode() == vector["cosigned_note"]


@pytest.mark.parametrize(("vector", "cosig"), COSIGNATURES)
def test_each_cosignature_verifies_with_its_timestamp(vector: dict[str, Any], cosig: dict[str, Any]) -> None:
    """Every witness line of every vector verifies under its vkey and carries the vector's timestamp."""
    key = parse_cosigner_vkey(cosig["vkey"])
    note = parse_note(vector["cosigned_note"])
    (line,) = [s for s in note.signatures if key.owns(s)]
    assert key.verify(note.text, line) == cosig["timestamp"]
    assert cosigned_message(note.text, cosig["timestamp"]).decode() == cosig["signed_message"]


@pytest.mark.parametrize(("vector", "cosig"), COSIGNATURES)
def test_our_signer_writes_the_same_line_byte_for_byte(vector: dict[str, Any], cosig: dict[str, Any]) -> None:
    """Given the vector's seed and timestamp, our signer writes Go's line exactly, and its vkey is the same."""
    signer = CosignerSigner(cosig["witness"], bytes.fromhex(cosig["seed_hex"]))
    assert str(signer.verifier) == cosig["vkey"]
    assert signer.cosign(vector["checkpoint_body"], cosig["timestamp"]).line() == cosig["signature_line"]


def test_a_witness_key_is_not_a_log_key() -> None:
    """A type-0x04 vkey is refused where a log key is wanted, and the reverse (different key IDs too)."""
    cosig = VECTORS["vectors"][0]["cosignatures"][0]
    with pytest.raises(KeyFormatError):
        parse_vkey(cosig["vkey"])
    with pytest.raises(KeyFormatError, match="cosignature/v1"):
        parse_cosigner_vkey(VECTORS["vectors"][0]["log_vkey"])


def test_ml_dsa_witness_key_is_refused_as_unsupported() -> None:
    """An ML-DSA-44 vkey (type 0x06) is named as unsupported, not as malformed."""
    import base64

    blob = base64.b64encode(bytes([6]) + bytes(1312)).decode()
    with pytest.raises(KeyFormatError, match="ML-DSA-44"):
        parse_cosigner_vkey(f"pq.example/w1+00000000+{blob}")


@pytest.mark.parametrize("mutate", ["text", "timestamp", "signature", "key_id"])
def test_tampered_cosignature_fails(mutate: str) -> None:
    """Changing the text, the timestamp, a signature bit, or claiming another key makes it fail."""
    signer = CosignerSigner("witness.example/w1", bytes(range(32)))
    text = "log.example\n3\n" + "A" * 43 + "=\n"
    line = signer.cosign(text, 1_700_000_000)
    key = signer.verifier
    if mutate == "text":
        text = text.replace("\n3\n", "\n4\n")
    elif mutate == "timestamp":
        line = NoteSignature(line.name, line.key_id, (1_700_000_001).to_bytes(8, "big") + line.signature[8:])
    elif mutate == "signature":
        line = NoteSignature(line.name, line.key_id, line.signature[:20] + bytes([line.signature[20] ^ 1])
                             + line.signature[21:])
    else:
        key = CosignerSigner("witness.example/w1", bytes(32)).verifier
    with pytest.raises(SignatureError):
        key.verify(text, line)


def test_cosignature_line_of_the_wrong_length_is_refused() -> None:
    """A line with the witness's name and key ID but 68 bytes (a plain note signature) is refused."""
    signer = CosignerSigner("witness.example/w1", bytes(range(32)))
    line = signer.cosign("a\n", 5)
    short = NoteSignature(line.name, line.key_id, line.signature[8:])
    with pytest.raises(SignatureError, match="expected 76 bytes"):
        signer.verifier.verify("a\n", short)


def test_signer_key_string_round_trips_and_hides_the_seed() -> None:
    """PRIVATE+KEY+…+base64(0x04||seed) parses back to the same signer; repr shows no seed."""
    signer = CosignerSigner.generate("witness.gao.example/w2")
    assert parse_cosigner_signer(signer.to_string()) == signer
    assert signer.seed.hex() not in repr(signer)
    assert isinstance(signer.verifier, CosignerKey)


def test_timestamp_past_2_63_is_refused() -> None:
    """A timestamp above 2^63 - 1 cannot be signed or verified."""
    signer = CosignerSigner("w.example/w", bytes(range(32)))
    with pytest.raises(SignatureError):
        cosigned_message("a\n", 2**63)
    line = signer.cosign("a\n", 1)
    big = NoteSignature(line.name, line.key_id, (2**63).to_bytes(8, "big") + line.signature[8:])
    with pytest.raises(SignatureError, match="2\\^63"):
        signer.verifier.verify("a\n", big)
