"""Where the tree's nodes are stored: with the entry that completed them.

Appending leaf *i* completes the perfect subtrees at levels 1..t, where t is the number of
trailing one bits of *i*; their hashes are stored, in level order, in that entry's row
(``nodes``), next to its leaf hash (level 0). So node (level L, position p) lives in row
``((p + 1) << L) - 1`` at byte offset ``(L - 1) * 32`` — one row per append, and a proof
for any index at any size reads O(log n) rows in one query.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def node_row(level: int, pos: int) -> int:
    """The index of the entry whose append completed node (level, pos)."""
    return ((pos + 1) << level) - 1


def read_nodes(db: Any, coords: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Hashes of the given (level, pos) nodes, from their entries' rows; missing ones are absent."""
    wanted = sorted(set(coords))
    rows_needed = sorted({node_row(level, pos) for level, pos in wanted})
    found: dict[int, tuple[bytes, bytes]] = {}
    for start in range(0, len(rows_needed), 500):
        part = rows_needed[start : start + 500]
        rows = db.all(
            f"SELECT idx, leaf_hash, nodes FROM {db.t('dl_entries')} WHERE idx IN ("
            + ",".join(["%s"] * len(part)) + ")",
            part,
        )
        found.update({int(i): (bytes(leaf), bytes(nodes)) for i, leaf, nodes in rows})
    out = {}
    for level, pos in wanted:
        row = found.get(node_row(level, pos))
        if row is None:
            continue
        if level == 0:
            out[(level, pos)] = row[0]
        else:
            h = row[1][(level - 1) * 32 : level * 32]
            if len(h) == 32:
                out[(level, pos)] = h
    return out
