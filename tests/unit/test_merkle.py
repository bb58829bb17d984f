"""ledger.core.merkle: RFC 6962 hashing, MTH, the frontier and subtree decompositions."""

from __future__ import annotations

import hashlib

import pytest

from ledger.core.merkle import (
    EMPTY_ROOT,
    Frontier,
    fold_right,
    leaf_hash,
    node_hash,
    perfect_ranges,
    root_from_leaf_hashes,
    split_point,
)

LEAVES = [leaf_hash(i.to_bytes(2, "big")) for i in range(70)]


def mth(hashes: list[bytes]) -> bytes:
    """MTH straight from RFC 6962 § 2.1 (recursive), as an independent reference."""
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return hashlib.sha256(b"\x01" + mth(hashes[:k]) + mth(hashes[k:])).digest()


def test_leaf_and_node_hash_formulas() -> None:
    """leaf = SHA-256(0x00 || data); node = SHA-256(0x01 || left || right); empty = SHA-256('')."""
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert node_hash(b"L" * 32, b"R" * 32) == hashlib.sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT


def test_leaf_and_node_are_domain_separated() -> None:
    """A leaf whose data is two hashes does not hash like the node over them."""
    a, b = LEAVES[0], LEAVES[1]
    assert leaf_hash(a + b) != node_hash(a, b)


@pytest.mark.parametrize(("n", "k"), [(2, 1), (3, 2), (4, 2), (5, 4), (8, 4), (9, 8), (1025, 1024)])
def test_split_point_is_largest_power_of_two_below_n(n: int, k: int) -> None:
    """split_point(n) is the largest power of two strictly less than n."""
    assert split_point(n) == k


@pytest.mark.parametrize("size", range(len(LEAVES) + 1))
def test_root_matches_recursive_definition(size: int) -> None:
    """root_from_leaf_hashes equals the recursive RFC 6962 MTH for sizes 0 to 70."""
    assert root_from_leaf_hashes(LEAVES[:size]) == mth(LEAVES[:size])


def test_frontier_root_after_each_append() -> None:
    """A growing frontier's root equals MTH of the leaves so far, at every size."""
    frontier = Frontier()
    assert frontier.root() == EMPTY_ROOT
    for size, leaf in enumerate(LEAVES, 1):
        frontier.append(leaf)
        assert frontier.size == size
        assert len(frontier.nodes) == bin(size).count("1")
        assert frontier.root() == mth(LEAVES[:size])


def test_frontier_reports_every_completed_subtree() -> None:
    """on_node receives (level, index, hash) of every perfect subtree, each hash its range's MTH."""
    seen: list[tuple[int, int, bytes]] = []
    frontier = Frontier()
    for leaf in LEAVES[:37]:
        frontier.append(leaf, lambda level, index, h: seen.append((level, index, h)))
    expected = {
        (level, index)
        for level in range(6)
        for index in range(37 >> level)
    }
    assert {(level, index) for level, index, _ in seen} == expected
    assert len(seen) == len(expected)
    for level, index, h in seen:
        assert h == mth(LEAVES[index << level : (index + 1) << level])


def test_frontier_resumes_from_stored_nodes() -> None:
    """A frontier rebuilt from its size and right-edge nodes continues exactly as the original."""
    size = 45
    nodes = [mth(LEAVES[i << lvl : (i + 1) << lvl]) for lvl, i in Frontier.coordinates(size)]
    resumed = Frontier(size, nodes)
    assert resumed.root() == mth(LEAVES[:size])
    for leaf in LEAVES[size:]:
        resumed.append(leaf)
    assert resumed.root() == mth(LEAVES)


def test_frontier_refuses_wrong_node_count() -> None:
    """A frontier of size n needs exactly popcount(n) nodes."""
    with pytest.raises(ValueError, match="nodes"):
        Frontier(5, [LEAVES[0]])


@pytest.mark.parametrize(
    ("size", "coords"),
    [(0, []), (1, [(0, 0)]), (6, [(2, 0), (1, 2)]), (7, [(2, 0), (1, 2), (0, 6)]), (8, [(3, 0)])],
)
def test_frontier_coordinates(size: int, coords: list[tuple[int, int]]) -> None:
    """coordinates(n) lists the (level, index) of the right-edge perfect subtrees, left first."""
    assert Frontier.coordinates(size) == coords


@pytest.mark.parametrize("size", range(1, 40))
def test_perfect_ranges_of_a_whole_tree_are_its_coordinates(size: int) -> None:
    """Decomposing [0, n) gives the frontier's coordinates."""
    assert perfect_ranges(0, size) == Frontier.coordinates(size)


def subtree_ranges(lo: int, hi: int) -> list[tuple[int, int]]:
    """Every [a, b) range that RFC 6962 MTH recursion visits in a tree [lo, hi)."""
    out = [(lo, hi)]
    if hi - lo > 1:
        k = split_point(hi - lo)
        out += subtree_ranges(lo, lo + k) + subtree_ranges(lo + k, hi)
    return out


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 13, 21, 64, 70])
def test_fold_of_perfect_parts_is_subtree_hash(size: int) -> None:
    """For every subtree of an RFC 6962 tree, folding its perfect parts gives its MTH."""
    for start, end in subtree_ranges(0, size):
        parts = [mth(LEAVES[i << lvl : (i + 1) << lvl]) for lvl, i in perfect_ranges(start, end)]
        assert sum(1 << lvl for lvl, _ in perfect_ranges(start, end)) == end - start
        assert fold_right(parts) == mth(LEAVES[start:end])
