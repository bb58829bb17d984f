"""Inclusion and consistency proofs exactly as RFC 9162 § 2.1.3–2.1.4.

Generation needs only MTH of subtrees [a, b), which the caller supplies through a
``range_hash`` function; verification is pure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ledger.core.errors import ProofError, RootMismatchError
from ledger.core.merkle import node_hash, split_point

RangeHash = Callable[[int, int], bytes]


def inclusion_path(index: int, size: int, range_hash: RangeHash) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 6962 § 2.1.1."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is outside a tree of size {size}")
    path: list[bytes] = []

    def walk(m: int, lo: int, hi: int) -> None:
        n = hi - lo
        if n == 1:
            return
        k = split_point(n)
        if m < k:
            walk(m, lo, lo + k)
            path.append(range_hash(lo + k, hi))
        else:
            walk(m - k, lo + k, hi)
            path.append(range_hash(lo, lo + k))

    walk(index, 0, size)
    return path


def consistency_path(old_size: int, new_size: int, range_hash: RangeHash) -> list[bytes]:
    """PROOF(old_size, D[0:new_size]) of RFC 6962 § 2.1.2."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"cannot prove size {old_size} consistent with size {new_size}")
    if old_size == 0 or old_size == new_size:
        return []
    path: list[bytes] = []

    def subproof(m: int, lo: int, hi: int, complete: bool) -> None:
        n = hi - lo
        if m == n:
            if not complete:
                path.append(range_hash(lo, hi))
            return
        k = split_point(n)
        if m <= k:
            subproof(m, lo, lo + k, complete)
            path.append(range_hash(lo + k, hi))
        else:
            subproof(m - k, lo + k, hi, False)
            path.append(range_hash(lo, lo + k))

    subproof(old_size, 0, new_size, True)
    return path


def _check_hashes(path: Sequence[bytes], what: str) -> None:
    for i, h in enumerate(path):
        if not isinstance(h, (bytes, bytearray)) or len(h) != 32:
            raise ProofError(f"{what}[{i}] is not a 32-byte hash")


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    """RFC 9162 § 2.1.3.2: the root implied by an inclusion proof."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is outside a tree of size {size}")
    _check_hashes([leaf, *path], "inclusion proof")
    fn, sn = index, size - 1
    r = leaf
    for p in path:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree allows")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree requires")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes) -> None:
    """Raise unless path proves leaf at index in the tree of size with root."""
    calculated = root_from_inclusion(index, size, leaf, path)
    if calculated != root:
        raise RootMismatchError(root, calculated)


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, path: Sequence[bytes]
) -> None:
    """RFC 9162 § 2.1.4.2: raise unless path proves old tree is a prefix of the new."""
    _check_hashes([old_root, new_root, *path], "consistency proof")
    if not 0 <= old_size <= new_size:
        raise ProofError(f"old size {old_size} is larger than new size {new_size}")
    if old_size == new_size:
        if path:
            raise ProofError("consistency proof between equal sizes must be empty")
        if old_root != new_root:
            raise RootMismatchError(new_root, old_root)
        return
    if old_size == 0:
        if path:
            raise ProofError("consistency proof from the empty tree must be empty")
        return
    if not path:
        raise ProofError("consistency proof is empty")
    proof = list(path)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is the first node
        proof.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than the trees allow")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than the trees require")
    if fr != old_root:
        raise RootMismatchError(old_root, fr, "old root")
    if sr != new_root:
        raise RootMismatchError(new_root, sr, "new root")
