"""RFC 6962 / RFC 9162 Merkle tree hashing (docs/FORMAT.md § 9).

leaf = SHA-256(0x00 || entry), node = SHA-256(0x01 || left || right),
empty tree = SHA-256("").
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962 leaf hash of entry bytes."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly less than n (n >= 2)."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH over a list of leaf hashes."""
    frontier = Frontier()
    for h in hashes:
        frontier.append(h)
    return frontier.root()


class Frontier:
    """The right edge of a growing tree: one perfect-subtree hash per set bit of size.

    Appending a leaf is amortised O(1); the root is O(log n). ``on_node`` receives
    (level, index, hash) for every perfect subtree completed, leaves included, which
    is how the store writes its tree table.
    """

    def __init__(self, size: int = 0, nodes: Sequence[bytes] = ()) -> None:
        # nodes[i] is the hash of the i-th perfect subtree from the left (largest first).
        if len(nodes) != bin(size).count("1"):
            raise ValueError(f"a frontier of size {size} has {bin(size).count('1')} nodes, got {len(nodes)}")
        self.size = size
        self.nodes: list[bytes] = list(nodes)

    def append(
        self, leaf: bytes, on_node: Callable[[int, int, bytes], None] | None = None
    ) -> None:
        index = self.size
        h = leaf
        level = 0
        if on_node:
            on_node(0, index, h)
        while (index >> level) & 1:
            h = node_hash(self.nodes.pop(), h)
            level += 1
            if on_node:
                on_node(level, index >> level, h)
        self.nodes.append(h)
        self.size += 1

    def root(self) -> bytes:
        if not self.nodes:
            return EMPTY_ROOT
        h = self.nodes[-1]
        for left in reversed(self.nodes[:-1]):
            h = node_hash(left, h)
        return h

    @staticmethod
    def coordinates(size: int) -> list[tuple[int, int]]:
        """(level, index) of the perfect subtrees on the right edge of a tree of size, left first."""
        coords = []
        start = 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                coords.append((level, start >> level))
                start += 1 << level
        return coords


def perfect_ranges(start: int, end: int) -> list[tuple[int, int]]:
    """Decompose [start, end) of an RFC 6962 subtree into (level, index) perfect subtrees, left first."""
    out = []
    while start < end:
        level = (start & -start).bit_length() - 1 if start else (end - start).bit_length() - 1
        while (1 << level) > end - start:
            level -= 1
        out.append((level, start >> level))
        start += 1 << level
    return out


def fold_right(hashes: Iterable[bytes]) -> bytes:
    """Hash of a right-edge subtree from its perfect parts, left first."""
    parts = list(hashes)
    h = parts[-1]
    for left in reversed(parts[:-1]):
        h = node_hash(left, h)
    return h
