"""The manifest's root computed over forked processes (``chunk_roots(..., workers)``) is the root
computed in one process and the RFC 6962 root over every line commitment; a failure in a child's
range is raised in the caller, naming it."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.core.errors import LedgerError, ProofError
from ledger.core.lines import CHUNK_LINES, LinesTree, chunk_root, item_leaf, lines_root, root_of_chunks
from ledger.core.merkle import Frontier
from ledger.domain.bulk import ChunkSource, chunk_roots, list_source


def _items(n: int) -> list[dict[str, Any]]:
    return [{"line": k, "decision": "approve" if k % 3 else "refuse", "reason": f"r{k % 7}"} for k in range(n)]


@pytest.mark.parametrize("n", [1, 127, 128, 129, 1000, 128 * 9, 128 * 9 + 5])
@pytest.mark.parametrize("workers", [2, 3])
def test_forked_roots_equal_one_process_and_the_root_over_all_lines(n: int, workers: int) -> None:
    items = _items(n)
    source = list_source(items)
    one = chunk_roots(source, n)
    assert chunk_roots(source, n, workers) == one
    assert len(one) == -(-n // CHUNK_LINES)
    assert one[0] == chunk_root([item_leaf(it) for it in items[:CHUNK_LINES]])
    assert root_of_chunks(one) == lines_root([item_leaf(it) for it in items])


def test_a_failure_in_a_childs_range_is_raised_here() -> None:
    items = _items(128 * 8)
    inner = list_source(items)

    def short_at_six(c: int) -> tuple[list[Any], list[Any]]:  # chunk 6 lies in the child's half
        got, openings = inner(c)
        return (got[:-1] if c == 6 else got), openings

    source: ChunkSource = short_at_six
    with pytest.raises(LedgerError, match="chunk 6 of the source holds 127 items, expected 128"):
        chunk_roots(source, len(items), workers=2)
    with pytest.raises(LedgerError, match="chunk 6 of the source holds 127 items"):
        chunk_roots(source, len(items), workers=1)


def test_a_child_that_dies_is_reported() -> None:
    items = _items(128 * 8)
    inner = list_source(items)

    def dies_in_child(c: int) -> tuple[list[Any], list[Any]]:
        if c == 7:
            import os

            os._exit(3)  # the child's range only: the parent computes chunks 0..3
        return inner(c)

    with pytest.raises(LedgerError, match="ended without an answer"):
        chunk_roots(dies_in_child, len(items), workers=2)


def test_chunk_root_refuses_an_empty_or_oversized_chunk() -> None:
    with pytest.raises(LedgerError):
        chunk_root([])
    with pytest.raises(LedgerError):
        chunk_root([bytes(32)] * (CHUNK_LINES + 1))


@pytest.mark.parametrize("n", [1, 127, 128, 129, 128 * 4, 128 * 5 + 77])
def test_the_lines_tree_root_is_the_rfc6962_root_over_every_line(n: int) -> None:
    """LinesTree keeps chunk roots only; its root is still the plain RFC 6962 root over all the
    line commitments (a Frontier fed every leaf), with or without the last chunk added."""
    leaves = [item_leaf(it) for it in _items(n)]
    every = Frontier()
    for leaf in leaves:
        every.append(leaf)
    tree = LinesTree()
    last = (n - 1) // CHUNK_LINES * CHUNK_LINES
    for start in range(0, last, CHUNK_LINES):
        tree.add_chunk(leaves[start:start + CHUNK_LINES])
    assert tree.root_with(leaves[last:]) == every.root()
    tree.add_chunk(leaves[last:])
    assert tree.root() == every.root() and tree.size == n
    if n % CHUNK_LINES:  # a short chunk can only be the last
        with pytest.raises(ProofError, match="only the last chunk"):
            tree.add_chunk(leaves[:1])


def test_given_roots_skip_the_pass_and_must_count_the_chunks() -> None:
    """bulk_statement(roots=...) signs over the roots given (the matcher's pass computed them from
    the same items) instead of computing them; a list of the wrong length is refused."""
    from ledger.core.keys import SignerKey
    from ledger.core.statement import parse_statement
    from ledger.domain.bulk import bulk_statement

    items = _items(300)
    key = SignerKey.generate("irs.example/matcher")
    source = list_source(items)
    roots = chunk_roots(source, 300)
    made = bulk_statement([key], "review", {"request": "r"}, 300, source, roots=roots)
    body = parse_statement(made.manifest.note).envelope["body"]
    assert body["bulk"]["lines_root"] == lines_root([item_leaf(it) for it in items]).hex()
    with pytest.raises(LedgerError, match="2 chunk roots given for 3 chunks"):
        bulk_statement([key], "review", {"request": "r"}, 300, source, roots=roots[:2])
