"""Property tests of RFC 9162 inclusion and consistency proofs over random trees.

Generated proofs verify; any single-bit flip in a proof hash, the leaf hash or a root is
refused with ProofError; so is any change of index or size, except where the changed
claim is, by construction, the same hash computation as the original.

Those exceptions are real: the iterative verifier of RFC 9162 § 2.1.3.2 / § 2.1.4.2
sees only the *shape* of a proof (which side each hash is on, and which hashes make up
the old root), and different tree sizes can share a shape. E.g. the proof of leaf 0 in
a tree of 3 leaves is also, hash for hash, a valid proof of leaf 0 in a "tree of 4"
whose root is the same value; consistency 2 -> 3 likewise passes as 2 -> 4. A size
claim is only as good as the signed checkpoint that carries it. The oracle below
derives the shape independently from the recursive definitions of RFC 6962 § 2.1.1
(PATH) and § 2.1.2 (PROOF / SUBPROOF): a changed claim must verify exactly when its
shape equals the original's, and fail otherwise. (Changing the index alone never keeps
the shape.) An old size of 0 is always consistent with an empty proof, whatever roots
are given, as in transparency-dev/merkle.
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.core.errors import ProofError
from ledger.core.merkle import leaf_hash, root_from_leaf_hashes
from ledger.core.proofs import (
    consistency_path,
    inclusion_path,
    root_from_inclusion,
    verify_consistency,
    verify_inclusion,
)

MAX_SIZE = 300
EXAMPLES = settings(max_examples=200, deadline=None)

# ---- an independent oracle: proof shapes from the RFC 6962 recursions -----------------


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


@cache
def inclusion_shape(m: int, n: int) -> tuple[int, Any]:
    """(length, expression) of PATH(m, D[n]); the expression is over "leaf" and path positions."""
    if n == 1:
        return 0, "leaf"
    k = _split(n)
    if m < k:
        length, expr = inclusion_shape(m, k)
        return length + 1, ("node", expr, length)
    length, expr = inclusion_shape(m - k, n - k)
    return length + 1, ("node", length, expr)


@cache
def consistency_shape(m: int, n: int, complete: bool = True) -> tuple[int, Any, Any]:
    """(length, old-root expression, new-root expression) of SUBPROOF(m, D[n], complete)."""
    if m == n:
        if complete:
            return 0, "old_root", "old_root"
        return 1, 0, 0
    k = _split(n)
    if m <= k:
        length, old, new = consistency_shape(m, k, complete)
        return length + 1, old, ("node", new, length)
    length, old, new = consistency_shape(m - k, n - k, False)
    return length + 1, ("node", length, old), ("node", length, new)


def inclusion_claim_holds(index: int, size: int, original: tuple[int, int]) -> bool:
    """Whether the original proof is, hash for hash, also a proof for (index, size)."""
    return 0 <= index < size and inclusion_shape(index, size) == inclusion_shape(*original)


def consistency_claim_holds(old: int, new: int, original: tuple[int, int], roots_equal: bool) -> bool:
    """Whether the original proof (and roots) also prove old -> new."""
    m0, n0 = original
    empty_proof = m0 in (0, n0)
    if not 0 <= old <= new:
        return False
    if old == new:
        return empty_proof and roots_equal
    if old == 0:
        return empty_proof
    return not empty_proof and consistency_shape(old, new) == consistency_shape(m0, n0)


# ---- random trees ----------------------------------------------------------------------


class Tree:
    """A tree of random leaves with MTH over any range."""

    def __init__(self, seed: bytes, size: int) -> None:
        self.leaves = [leaf_hash(seed + i.to_bytes(4, "big")) for i in range(size)]

    def range_hash(self, start: int, end: int) -> bytes:
        return root_from_leaf_hashes(self.leaves[start:end])

    def root(self, size: int) -> bytes:
        return root_from_leaf_hashes(self.leaves[:size])


@st.composite
def trees(draw: st.DrawFn, min_size: int = 1) -> Tree:
    size = draw(st.integers(min_size, MAX_SIZE))
    return Tree(draw(st.binary(min_size=8, max_size=8)), size)


@st.composite
def inclusion_cases(draw: st.DrawFn) -> tuple[int, int, bytes, list[bytes], bytes]:
    tree = draw(trees())
    size = len(tree.leaves)
    index = draw(st.integers(0, size - 1))
    path = inclusion_path(index, size, tree.range_hash)
    return index, size, tree.leaves[index], path, tree.root(size)


@st.composite
def consistency_cases(draw: st.DrawFn) -> tuple[int, int, bytes, bytes, list[bytes]]:
    tree = draw(trees())
    new = len(tree.leaves)
    old = draw(st.integers(0, new))
    path = consistency_path(old, new, tree.range_hash)
    return old, new, tree.root(old), tree.root(new), path


def flip(h: bytes, bit: int) -> bytes:
    out = bytearray(h)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


bits = st.integers(0, 255)

# ---- inclusion -------------------------------------------------------------------------


@EXAMPLES
@given(inclusion_cases())
def test_inclusion_proof_verifies(case: tuple[int, int, bytes, list[bytes], bytes]) -> None:
    """A generated inclusion proof verifies, and has the length RFC 6962 PATH gives."""
    index, size, leaf, path, root = case
    assert len(path) == inclusion_shape(index, size)[0]
    verify_inclusion(index, size, leaf, path, root)
    assert root_from_inclusion(index, size, leaf, path) == root


@EXAMPLES
@given(inclusion_cases(), st.data())
def test_inclusion_bit_flip_anywhere_is_refused(
    case: tuple[int, int, bytes, list[bytes], bytes], data: st.DataObject
) -> None:
    """Flipping one bit of any path element, of the leaf hash or of the root is refused."""
    index, size, leaf, path, root = case
    for position in range(len(path)):
        mutated = list(path)
        mutated[position] = flip(path[position], data.draw(bits, label=f"bit of path[{position}]"))
        with pytest.raises(ProofError):
            verify_inclusion(index, size, leaf, mutated, root)
    with pytest.raises(ProofError):
        verify_inclusion(index, size, flip(leaf, data.draw(bits, label="bit of leaf")), path, root)
    with pytest.raises(ProofError):
        verify_inclusion(index, size, leaf, path, flip(root, data.draw(bits, label="bit of root")))


@EXAMPLES
@given(inclusion_cases(), st.data())
def test_inclusion_other_index_is_refused(
    case: tuple[int, int, bytes, list[bytes], bytes], data: st.DataObject
) -> None:
    """The same proof claimed for any other index (in or out of range) is refused."""
    index, size, leaf, path, root = case
    other = data.draw(st.integers(-2, size + 2).filter(lambda i: i != index), label="other index")
    assert not inclusion_claim_holds(other, size, (index, size))
    with pytest.raises(ProofError):
        verify_inclusion(other, size, leaf, path, root)


@EXAMPLES
@given(inclusion_cases(), st.data())
def test_inclusion_other_size_verifies_only_with_the_same_shape(
    case: tuple[int, int, bytes, list[bytes], bytes], data: st.DataObject
) -> None:
    """The same proof claimed for another tree size is refused unless the shape is identical."""
    index, size, leaf, path, root = case
    other = data.draw(st.integers(0, 2 * size + 2).filter(lambda n: n != size), label="other size")
    if inclusion_claim_holds(index, other, (index, size)):
        verify_inclusion(index, other, leaf, path, root)
    else:
        with pytest.raises(ProofError):
            verify_inclusion(index, other, leaf, path, root)


def test_inclusion_same_shape_example() -> None:
    """Leaf 0 of 3 and leaf 0 of 4 share a proof shape: the size is bound only by the checkpoint."""
    tree = Tree(b"example!", 3)
    path = inclusion_path(0, 3, tree.range_hash)
    verify_inclusion(0, 4, tree.leaves[0], path, tree.root(3))
    with pytest.raises(ProofError):
        verify_inclusion(0, 5, tree.leaves[0], path, tree.root(3))


# ---- consistency -----------------------------------------------------------------------


@EXAMPLES
@given(consistency_cases())
def test_consistency_proof_verifies(case: tuple[int, int, bytes, bytes, list[bytes]]) -> None:
    """A generated consistency proof verifies, and has the length RFC 6962 PROOF gives."""
    old, new, old_root, new_root, path = case
    expected_length = consistency_shape(old, new)[0] if 0 < old < new else 0
    assert len(path) == expected_length
    verify_consistency(old, new, old_root, new_root, path)


@EXAMPLES
@given(consistency_cases(), st.data())
def test_consistency_bit_flip_anywhere_is_refused(
    case: tuple[int, int, bytes, bytes, list[bytes]], data: st.DataObject
) -> None:
    """Flipping one bit of any proof element or of either root is refused.

    From old size 0 (and a larger new size) there is nothing to check: every tree extends
    the empty one, so neither root is looked at.
    """
    old, new, old_root, new_root, path = case
    for position in range(len(path)):
        mutated = list(path)
        mutated[position] = flip(path[position], data.draw(bits, label=f"bit of path[{position}]"))
        with pytest.raises(ProofError):
            verify_consistency(old, new, old_root, new_root, mutated)
    flipped_old = flip(old_root, data.draw(bits, label="bit of old root"))
    flipped_new = flip(new_root, data.draw(bits, label="bit of new root"))
    if old == 0 < new:
        verify_consistency(old, new, flipped_old, new_root, path)
        verify_consistency(old, new, old_root, flipped_new, path)
        return
    with pytest.raises(ProofError):
        verify_consistency(old, new, flipped_old, new_root, path)
    with pytest.raises(ProofError):
        verify_consistency(old, new, old_root, flipped_new, path)


@EXAMPLES
@given(consistency_cases(), st.data())
def test_consistency_other_old_size_verifies_only_with_the_same_shape(
    case: tuple[int, int, bytes, bytes, list[bytes]], data: st.DataObject
) -> None:
    """The same proof claimed from another old size is refused unless the claim is the same computation."""
    old, new, old_root, new_root, path = case
    other = data.draw(st.integers(-1, new + 2).filter(lambda m: m != old), label="other old size")
    if consistency_claim_holds(other, new, (old, new), old_root == new_root):
        verify_consistency(other, new, old_root, new_root, path)
    else:
        with pytest.raises(ProofError):
            verify_consistency(other, new, old_root, new_root, path)


@EXAMPLES
@given(consistency_cases(), st.data())
def test_consistency_other_new_size_verifies_only_with_the_same_shape(
    case: tuple[int, int, bytes, bytes, list[bytes]], data: st.DataObject
) -> None:
    """The same proof claimed to another new size is refused unless the claim is the same computation."""
    old, new, old_root, new_root, path = case
    other = data.draw(st.integers(0, 2 * new + 2).filter(lambda n: n != new), label="other new size")
    if consistency_claim_holds(old, other, (old, new), old_root == new_root):
        verify_consistency(old, other, old_root, new_root, path)
    else:
        with pytest.raises(ProofError):
            verify_consistency(old, other, old_root, new_root, path)


def test_consistency_same_shape_example() -> None:
    """Consistency 2 -> 3 and 2 -> 4 share a proof shape; 2 -> 5 does not."""
    tree = Tree(b"example!", 3)
    path = consistency_path(2, 3, tree.range_hash)
    verify_consistency(2, 4, tree.root(2), tree.root(3), path)
    with pytest.raises(ProofError):
        verify_consistency(2, 5, tree.root(2), tree.root(3), path)


@EXAMPLES
@given(trees(min_size=2), st.data())
def test_consistency_proof_of_wrong_old_tree_is_refused(tree: Tree, data: st.DataObject) -> None:
    """A proof made for the true old tree does not verify an old root of a different leaf set."""
    new = len(tree.leaves)
    old = data.draw(st.integers(1, new - 1), label="old size")
    path = consistency_path(old, new, tree.range_hash)
    forked = list(tree.leaves[:old])
    forked[data.draw(st.integers(0, old - 1), label="forked leaf")] = hashlib.sha256(b"fork").digest()
    with pytest.raises(ProofError):
        verify_consistency(old, new, root_from_leaf_hashes(forked), tree.root(new), path)
