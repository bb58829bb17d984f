"""Bulk statements: line commitments, the manifest's root, and where a line sits (FORMAT § 17.7).

A bulk statement (a request naming 1.3 million taxpayers, its match results, its review, its
release) is a manifest holding ``{"line_count", "chunk_count", "lines_root"}`` plus ``chunk``
statements of ``CHUNK_LINES`` items each. An item's *line commitment* is the RFC 6962 leaf hash
of its canonical JSON; ``lines_root`` is the RFC 6962 root over all of them. Because
``CHUNK_LINES`` is a power of two, chunk *c* is a complete subtree of that tree, so the ordinary
inclusion path of item *k* is the path inside its chunk followed by the chunk's path in the root.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledger.core.canonical import canonical_bytes, canonical_bytes_of_checked
from ledger.core.errors import ProofError
from ledger.core.merkle import Frontier, leaf_hash, node_hash
from ledger.core.proofs import inclusion_path, verify_inclusion

CHUNK_LINES = 128  # a power of two: a chunk is a complete subtree of the manifest's tree
BULK_KINDS = ("request", "match_result", "review", "release")


def chunk_count(line_count: int) -> int:
    """How many chunks carry ``line_count`` items."""
    return -(-line_count // CHUNK_LINES)


def item_leaf(item: Any, parsed: bool = False) -> bytes:
    """The line commitment of one item: SHA-256(0x00 || JCS(item)).

    ``parsed``: the item was read from a document parse_canonical accepted (a chunk from the log or
    a bundle), so it is encoded without being checked a second time. A principal's own new items
    are checked here, before a manifest's root is computed over them and the manifest is sent.
    """
    return leaf_hash(canonical_bytes_of_checked(item) if parsed else canonical_bytes(item))


class LinesTree:
    """Builds ``lines_root`` incrementally, chunk by chunk, and keeps each chunk's subtree root.

    Only the chunk roots are kept: every chunk but the last is a complete subtree, so the root over
    the lines is the root over the chunk roots (:func:`root_of_chunks`), and each line is hashed
    into a tree once, inside its chunk."""

    def __init__(self) -> None:
        self.chunk_roots: list[bytes] = []
        self._size = 0

    @property
    def size(self) -> int:
        return self._size

    def add_chunk(self, leaves: Sequence[bytes]) -> None:
        self.chunk_roots.append(self._next_root(leaves))
        self._size += len(leaves)

    def root(self) -> bytes:
        return root_of_chunks(self.chunk_roots)

    def root_with(self, leaves: Sequence[bytes]) -> bytes:
        """The root once one more chunk of ``leaves`` is added, the tree left as it is."""
        return root_of_chunks([*self.chunk_roots, self._next_root(leaves)])

    def _next_root(self, leaves: Sequence[bytes]) -> bytes:
        if self._size % CHUNK_LINES:
            raise ProofError("only the last chunk may hold fewer than CHUNK_LINES items")
        return chunk_root(leaves)


def _root_over(hashes: Sequence[bytes]) -> bytes:
    """RFC 6962 root of a list of hashes taken as leaf hashes (a chunk's line commitments, or
    every chunk's subtree root)."""
    frontier = Frontier()
    for h in hashes:
        frontier.append(h)
    return frontier.root()


def chunk_root(leaves: Sequence[bytes]) -> bytes:
    """The subtree root of one chunk's line commitments (what ``LinesTree`` keeps per chunk)."""
    if not 0 < len(leaves) <= CHUNK_LINES:
        raise ProofError(f"a chunk holds 1 to {CHUNK_LINES} items, found {len(leaves)}")
    return _root_over(leaves)


def root_of_chunks(chunk_roots: Sequence[bytes]) -> bytes:
    """``lines_root`` from every chunk's subtree root, in order: because every chunk but the last
    is full and CHUNK_LINES is a power of two, the tree over the chunk roots is the upper part of
    the tree over the lines (the same fact ``line_path`` rests on)."""
    return _root_over(chunk_roots)


def lines_root(leaves: Sequence[bytes]) -> bytes:
    tree = LinesTree()
    for start in range(0, len(leaves), CHUNK_LINES):
        tree.add_chunk(leaves[start:start + CHUNK_LINES])
    return tree.root()


def line_path(k: int, chunk_leaves: Sequence[bytes], chunk_roots: Sequence[bytes], line_count: int) -> list[bytes]:
    """The RFC 6962 inclusion path of item ``k`` in the manifest's tree.

    Needs only the leaves of item k's own chunk and every chunk's subtree root: the path inside
    the chunk, then the chunk's path among the chunk roots (a tree of chunk roots is the upper
    part of the manifest's tree because every chunk but the last is full).
    """
    if not 0 <= k < line_count:
        raise ProofError(f"line {k} is outside a bulk statement of {line_count} lines")
    c, pos = divmod(k, CHUNK_LINES)
    if len(chunk_roots) != chunk_count(line_count):
        raise ProofError(f"{len(chunk_roots)} chunk roots for {line_count} lines")
    inner = inclusion_path(pos, len(chunk_leaves), _ranges(chunk_leaves))
    outer = inclusion_path(c, len(chunk_roots), _ranges(chunk_roots))
    return inner + outer


def verify_line(k: int, line_count: int, item: Any, path: Sequence[bytes], root: bytes) -> None:
    """Check that ``item`` is line ``k`` of the bulk statement whose ``lines_root`` is ``root``."""
    verify_inclusion(k, line_count, item_leaf(item), path, root)


def _ranges(hashes: Sequence[bytes]) -> Any:
    cache: dict[tuple[int, int], bytes] = {}

    def range_hash(a: int, b: int) -> bytes:
        if b - a == 1:
            return hashes[a]
        got = cache.get((a, b))
        if got is None:
            k = 1
            while k << 1 < b - a:
                k <<= 1
            got = cache[(a, b)] = node_hash(range_hash(a, a + k), range_hash(a + k, b))
        return got

    return range_hash
