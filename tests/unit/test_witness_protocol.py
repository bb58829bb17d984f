"""ledger.core.witness_protocol: the bytes of add-checkpoint requests and answers (c2sp.org/tlog-witness)."""

from __future__ import annotations

import hashlib

import pytest

from ledger.core.errors import ProtocolError
from ledger.core.witness_protocol import (
    AddCheckpoint,
    monitoring_path,
    parse_add_checkpoint,
    parse_cosignature_answer,
    parse_size_answer,
)

NOTE = "log.example\n3\n" + "A" * 43 + "=\n\n\u2014 log.example " + "B" * 91 + "=\n"


def test_layout_old_line_proof_lines_empty_line_checkpoint() -> None:
    """old <size>, one base64 hash per line, an empty line, the checkpoint: nothing else."""
    body = AddCheckpoint(2, (b"\x01" * 32, b"\x02" * 32), NOTE).encode()
    lines = body.decode().split("\n")
    assert lines[0] == "old 2" and len(lines[1]) == len(lines[2]) == 44 and lines[3] == ""
    assert body.decode().endswith(NOTE)
    assert parse_add_checkpoint(body) == AddCheckpoint(2, (b"\x01" * 32, b"\x02" * 32), NOTE)


def test_old_zero_without_proof() -> None:
    """'old 0', then at once the empty line."""
    assert AddCheckpoint(0, (), NOTE).encode() == ("old 0\n\n" + NOTE).encode()


@pytest.mark.parametrize("body", [
    b"", b"old\n\n", b"old 01\n\n", b"old -1\n\n", b"Old 1\n\n", b"old 1 \n\n", b"old 1\n",
    b"old 1\nnot base64\n\n", b"old 1\n" + b"AAAA\n\n", b"old 99999999999999999999\n\n", b"\xff",
    b"old 1\n" + b"A" * 43 + b"=\n" * 64 + b"\n",
], ids=["empty", "no-size", "leading-zero", "negative", "capital", "trailing-space", "no-empty-line",
        "junk-proof", "short-hash", "huge", "not-utf8", "64-proof-lines"])
def test_malformed_bodies_are_protocol_errors(body: bytes) -> None:
    """Anything off the layout is a ProtocolError (a 400)."""
    with pytest.raises(ProtocolError):
        parse_add_checkpoint(body)


def test_63_proof_lines_are_allowed_64_are_not_sent() -> None:
    """The client may send at most 63 proof lines."""
    parse_add_checkpoint(b"old 1\n" + (b"A" * 43 + b"=\n") * 63 + b"\n" + NOTE.encode())
    with pytest.raises(ProtocolError):
        AddCheckpoint(1, (b"\0" * 32,) * 64, NOTE).encode()


def test_size_answer_and_cosignature_answer() -> None:
    """A 409 body is '<size>\\n'; a 200 body is signature lines."""
    assert parse_size_answer(b"20852014\n") == 20852014
    for bad in (b"12", b"012\n", b"12\n\n"):
        with pytest.raises(ProtocolError):
            parse_size_answer(bad)
    with pytest.raises(ProtocolError):
        parse_cosignature_answer(b"")
    with pytest.raises(ProtocolError):
        parse_cosignature_answer(b"hello\n")


def test_monitoring_path_is_the_hex_sha256_of_the_origin() -> None:
    """<hex SHA-256 of the origin line>/checkpoint, lowercase."""
    assert monitoring_path("log.example") == hashlib.sha256(b"log.example").hexdigest() + "/checkpoint"
