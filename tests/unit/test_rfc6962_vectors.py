"""Known-answer tests: RFC 6962 / RFC 9162 vectors and the C2SP signed-note example
(tests/vectors/rfc6962.json, see tests/vectors/SOURCES.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ledger.core.keys import parse_vkey
from ledger.core.merkle import EMPTY_ROOT, leaf_hash, node_hash, root_from_leaf_hashes
from ledger.core.note import parse_note, verify_by
from ledger.core.proofs import (
    consistency_path,
    inclusion_path,
    verify_consistency,
    verify_inclusion,
)

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent.parent / "vectors" / "rfc6962.json").read_text("utf-8")
)
LEAF_INPUTS = [bytes.fromhex(h) for h in VECTORS["leaf_inputs_hex"]]
LEAF_HASHES = [bytes.fromhex(h) for h in VECTORS["leaf_hashes"]]


def range_hash(start: int, end: int) -> bytes:
    """MTH of leaves [start, end) of the vector tree."""
    return root_from_leaf_hashes(LEAF_HASHES[start:end])


def test_empty_tree_root() -> None:
    """The empty tree's root is SHA-256 of the empty string."""
    expected = bytes.fromhex(VECTORS["hasher"]["empty_tree_root"]["expected"])
    assert root_from_leaf_hashes([]) == expected
    assert expected == EMPTY_ROOT


def test_leaf_hash_of_empty_leaf() -> None:
    """The leaf hash of an empty entry is SHA-256(0x00)."""
    vector = VECTORS["hasher"]["leaf_empty"]
    assert leaf_hash(bytes.fromhex(vector["leaf_input_hex"])).hex() == vector["expected"]


def test_leaf_hash_of_ascii_leaf() -> None:
    """The leaf hash is SHA-256(0x00 || entry) for a non-empty entry."""
    vector = VECTORS["hasher"]["leaf_L123456"]
    assert leaf_hash(vector["leaf_input_ascii"].encode("ascii")).hex() == vector["expected"]


def test_node_hash_concatenates_raw_children() -> None:
    """An interior node hashes 0x01 || left || right without any length framing."""
    vector = VECTORS["hasher"]["node_N123_N456"]
    left, right = vector["left_ascii"].encode("ascii"), vector["right_ascii"].encode("ascii")
    assert node_hash(left, right).hex() == vector["expected"]


@pytest.mark.parametrize("index", range(len(LEAF_INPUTS)))
def test_leaf_hashes_of_the_vector_tree(index: int) -> None:
    """Each vector leaf hashes to the published leaf hash."""
    assert leaf_hash(LEAF_INPUTS[index]) == LEAF_HASHES[index]


@pytest.mark.parametrize("size", sorted(int(s) for s in VECTORS["root_by_tree_size"]))
def test_root_for_every_size(size: int) -> None:
    """MTH of the first `size` vector leaves is the published root, sizes 0 to 8."""
    expected = VECTORS["root_by_tree_size"][str(size)]
    assert root_from_leaf_hashes(LEAF_HASHES[:size]).hex() == expected


@pytest.mark.parametrize(
    "vector", VECTORS["inclusion_happy_path"], ids=lambda v: v["source"].split("testdata/")[1]
)
def test_inclusion_happy_path_is_generated(vector: dict[str, Any]) -> None:
    """inclusion_path over the vector tree yields exactly the published audit path."""
    path = inclusion_path(vector["leaf_index"], vector["tree_size"], range_hash)
    assert [p.hex() for p in path] == vector["audit_path"]
    assert LEAF_HASHES[vector["leaf_index"]].hex() == vector["leaf_hash"]
    assert VECTORS["root_by_tree_size"][str(vector["tree_size"])] == vector["root"]


@pytest.mark.parametrize(
    "vector", VECTORS["inclusion_happy_path"], ids=lambda v: v["source"].split("testdata/")[1]
)
def test_inclusion_happy_path_verifies(vector: dict[str, Any]) -> None:
    """verify_inclusion accepts the published audit path."""
    verify_inclusion(
        vector["leaf_index"],
        vector["tree_size"],
        bytes.fromhex(vector["leaf_hash"]),
        [bytes.fromhex(p) for p in vector["audit_path"]],
        bytes.fromhex(vector["root"]),
    )


@pytest.mark.parametrize(
    "vector", VECTORS["consistency_happy_path"], ids=lambda v: v["source"].split("testdata/")[1]
)
def test_consistency_happy_path_is_generated(vector: dict[str, Any]) -> None:
    """consistency_path over the vector tree yields exactly the published proof."""
    path = consistency_path(vector["first"], vector["second"], range_hash)
    assert [p.hex() for p in path] == vector["consistency_path"]
    assert VECTORS["root_by_tree_size"][str(vector["first"])] == vector["first_hash"]
    assert VECTORS["root_by_tree_size"][str(vector["second"])] == vector["second_hash"]


@pytest.mark.parametrize(
    "vector", VECTORS["consistency_happy_path"], ids=lambda v: v["source"].split("testdata/")[1]
)
def test_consistency_happy_path_verifies(vector: dict[str, Any]) -> None:
    """verify_consistency accepts the published proof."""
    verify_consistency(
        vector["first"],
        vector["second"],
        bytes.fromhex(vector["first_hash"]),
        bytes.fromhex(vector["second_hash"]),
        [bytes.fromhex(p) for p in vector["consistency_path"]],
    )


def test_signed_note_example_verifies() -> None:
    """The C2SP signed-note example parses and verifies under its published verifier key."""
    example = VECTORS["signed_note_example"]
    vkey = parse_vkey(example["vkey"])
    assert vkey.name == "example.com/foo"
    assert f"{vkey.key_id:08x}" == "530d903a"
    assert str(vkey) == example["vkey"]
    note = parse_note(example["note"])
    assert note.text == "This is an example message.\n"
    assert note.encode() == example["note"]
    signature = verify_by(note, vkey)
    assert signature.name == "example.com/foo"
