"""ledger.core.proofs: RFC 9162 inclusion and consistency proofs, and their typed refusals.

Cases are named after the tampering, as in transparency-dev/merkle's testdata.
"""

from __future__ import annotations

import pytest

from ledger.core.errors import ProofError, RootMismatchError
from ledger.core.merkle import leaf_hash, root_from_leaf_hashes
from ledger.core.proofs import (
    consistency_path,
    inclusion_path,
    root_from_inclusion,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [leaf_hash(bytes([i])) for i in range(16)]


def range_hash(start: int, end: int) -> bytes:
    return root_from_leaf_hashes(LEAVES[start:end])


def root(size: int) -> bytes:
    return root_from_leaf_hashes(LEAVES[:size])


def flip(h: bytes, bit: int = 3) -> bytes:
    return bytes([h[0] ^ (1 << bit)]) + h[1:]


def test_every_leaf_of_every_small_tree_has_a_verifying_proof() -> None:
    """For sizes 1..16, every leaf's inclusion proof verifies."""
    for size in range(1, 17):
        for index in range(size):
            verify_inclusion(index, size, LEAVES[index], inclusion_path(index, size, range_hash), root(size))


def test_every_pair_of_small_trees_has_a_verifying_consistency_proof() -> None:
    """For all 0 <= m <= n <= 16, the consistency proof verifies."""
    for new in range(0, 17):
        for old in range(0, new + 1):
            verify_consistency(old, new, root(old), root(new), consistency_path(old, new, range_hash))


def test_single_leaf_tree_has_empty_proof() -> None:
    """In a tree of one leaf the leaf hash is the root and the proof is empty."""
    assert inclusion_path(0, 1, range_hash) == []
    verify_inclusion(0, 1, LEAVES[0], [], LEAVES[0])


@pytest.mark.parametrize(("index", "size"), [(-1, 5), (5, 5), (0, 0), (9, 3)])
def test_index_outside_the_tree_is_refused(index: int, size: int) -> None:
    """Generating or verifying a proof for an index outside [0, size) is refused."""
    with pytest.raises(ProofError, match="outside"):
        inclusion_path(index, size, range_hash)
    with pytest.raises(ProofError, match="outside"):
        root_from_inclusion(index, size, LEAVES[0], [])


def test_wrong_leaf_is_a_root_mismatch() -> None:
    """wrong-leaf: another leaf's hash with a valid path gives a RootMismatchError with both roots."""
    path = inclusion_path(2, 7, range_hash)
    with pytest.raises(RootMismatchError) as caught:
        verify_inclusion(2, 7, LEAVES[3], path, root(7))
    assert caught.value.expected == root(7)
    assert caught.value.calculated == root_from_inclusion(2, 7, LEAVES[3], path)


def test_modified_proof_element_is_refused() -> None:
    """modified-proof[1]-bit-@3: one flipped bit in a path element is refused."""
    path = inclusion_path(2, 7, range_hash)
    path[1] = flip(path[1])
    with pytest.raises(RootMismatchError):
        verify_inclusion(2, 7, LEAVES[2], path, root(7))


def test_proof_with_extra_element_is_refused() -> None:
    """appended-proof: a path longer than the tree allows is refused."""
    path = [*inclusion_path(2, 7, range_hash), LEAVES[0]]
    with pytest.raises(ProofError, match="longer"):
        verify_inclusion(2, 7, LEAVES[2], path, root(7))


def test_truncated_proof_is_refused() -> None:
    """truncated-proof: a path shorter than the tree requires is refused."""
    path = inclusion_path(2, 7, range_hash)[:-1]
    with pytest.raises(ProofError, match="shorter"):
        verify_inclusion(2, 7, LEAVES[2], path, root(7))


def test_empty_proof_for_a_larger_tree_is_refused() -> None:
    """empty-proof: claiming the leaf is the root of a larger tree is refused."""
    with pytest.raises(ProofError, match="shorter"):
        verify_inclusion(0, 2, LEAVES[0], [], LEAVES[0])


@pytest.mark.parametrize("bad", [b"", b"\x00" * 31, b"\x00" * 33, "00" * 32])
def test_non_hash_path_elements_are_refused(bad: object) -> None:
    """Path elements and leaves must be 32-byte hashes."""
    path = inclusion_path(2, 7, range_hash)
    with pytest.raises(ProofError, match="32-byte"):
        verify_inclusion(2, 7, LEAVES[2], [*path[:1], bad, *path[2:]], root(7))  # type: ignore[list-item]
    with pytest.raises(ProofError, match="32-byte"):
        verify_inclusion(2, 7, bad, path, root(7))  # type: ignore[arg-type]


def test_consistency_of_equal_or_empty_trees_is_empty() -> None:
    """PROOF(0, n) and PROOF(n, n) are empty."""
    assert consistency_path(0, 9, range_hash) == []
    assert consistency_path(9, 9, range_hash) == []


def test_consistency_path_refuses_shrinking() -> None:
    """A proof from a larger tree to a smaller one cannot be generated."""
    with pytest.raises(ProofError):
        consistency_path(5, 4, range_hash)
    with pytest.raises(ProofError):
        consistency_path(-1, 4, range_hash)


def test_consistency_refuses_old_size_above_new() -> None:
    """Verification refuses old size > new size."""
    with pytest.raises(ProofError, match="larger"):
        verify_consistency(5, 4, root(5), root(4), [])


def test_equal_sizes_need_equal_roots() -> None:
    """Between equal sizes the roots must be equal."""
    with pytest.raises(RootMismatchError):
        verify_consistency(4, 4, root(4), flip(root(4)), [])


def test_equal_sizes_need_empty_proof() -> None:
    """Between equal sizes the proof must be empty."""
    with pytest.raises(ProofError, match="empty"):
        verify_consistency(4, 4, root(4), root(4), [LEAVES[0]])


def test_from_empty_tree_needs_empty_proof() -> None:
    """From size 0 the proof must be empty."""
    with pytest.raises(ProofError, match="empty"):
        verify_consistency(0, 4, root(0), root(4), [LEAVES[0]])


def test_empty_consistency_proof_is_refused() -> None:
    """empty-proof: 0 < m < n with no proof is refused."""
    with pytest.raises(ProofError, match="empty"):
        verify_consistency(3, 7, root(3), root(7), [])


def test_consistency_with_wrong_old_root_names_it() -> None:
    """wrong-old-root: a RootMismatchError says 'old root'."""
    path = consistency_path(3, 7, range_hash)
    with pytest.raises(RootMismatchError, match="old root"):
        verify_consistency(3, 7, flip(root(3)), root(7), path)


def test_consistency_with_wrong_new_root_names_it() -> None:
    """wrong-new-root: a RootMismatchError says 'new root'."""
    path = consistency_path(3, 7, range_hash)
    with pytest.raises(RootMismatchError, match="new root"):
        verify_consistency(3, 7, root(3), flip(root(7)), path)


def test_consistency_with_modified_element_is_refused() -> None:
    """modified-proof[0]-bit-@3: a flipped bit in the first element is refused."""
    path = consistency_path(3, 7, range_hash)
    path[0] = flip(path[0])
    with pytest.raises(RootMismatchError):
        verify_consistency(3, 7, root(3), root(7), path)


def test_consistency_with_extra_element_is_refused() -> None:
    """appended-proof: one more element than the trees allow is refused."""
    path = [*consistency_path(3, 7, range_hash), LEAVES[0]]
    with pytest.raises(ProofError, match="longer"):
        verify_consistency(3, 7, root(3), root(7), path)


def test_consistency_with_truncated_proof_is_refused() -> None:
    """truncated-proof: one element fewer than the trees require is refused."""
    path = consistency_path(3, 7, range_hash)[:-1]
    with pytest.raises(ProofError, match="shorter"):
        verify_consistency(3, 7, root(3), root(7), path)


def test_power_of_two_old_tree_is_prepended_not_sent() -> None:
    """When m is a power of two the old root is not in the proof; sending it anyway is refused."""
    path = consistency_path(4, 7, range_hash)
    assert root(4) not in path
    verify_consistency(4, 7, root(4), root(7), path)
    with pytest.raises(ProofError):
        verify_consistency(4, 7, root(4), root(7), [root(4), *path])


def test_fork_is_detected() -> None:
    """An old tree that is not a prefix of the new one (a fork) is refused."""
    forked = list(LEAVES[:5])
    forked[1] = leaf_hash(b"rewritten")
    path = consistency_path(5, 9, range_hash)
    with pytest.raises(RootMismatchError):
        verify_consistency(5, 9, root_from_leaf_hashes(forked), root(9), path)


@pytest.mark.parametrize("bad", [b"\x00" * 31, "00" * 32])
def test_consistency_refuses_non_hash_inputs(bad: object) -> None:
    """Roots and proof elements must be 32-byte hashes."""
    path = consistency_path(3, 7, range_hash)
    with pytest.raises(ProofError, match="32-byte"):
        verify_consistency(3, 7, bad, root(7), path)  # type: ignore[arg-type]
    with pytest.raises(ProofError, match="32-byte"):
        verify_consistency(3, 7, root(3), root(7), [bad, *path[1:]])  # type: ignore[list-item]
