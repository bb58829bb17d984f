"""Reading the stored log: entries by index, the tree's subtree hashes, proofs, the export.

``LogReader`` is the read half of :class:`ledger.store.ledger.Ledger` (which adds appends,
checkpoints and keys). It needs only the recorder and reads in its own transactions; nothing
here writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any

from ledger.b64 import b64encode
from ledger.canonical import canonical_bytes
from ledger.errors import LedgerError
from ledger.merkle import EMPTY_ROOT, fold_right, perfect_ranges
from ledger.proofs import consistency_path, inclusion_path
from ledger.store.tree import read_nodes

PAGE = 2000  # entries per read while iterating


class LogReader:
    """Reads of the log held by ``recorder`` (the chaining recorder of ledger.store.recorders)."""

    recorder: Any

    # ---- reads -----------------------------------------------------------------
    def size(self) -> int:
        with self.recorder.reading() as db:
            rows = db.all(f"SELECT MAX(idx) FROM {db.t('dl_entries')}")
        return 0 if rows[0][0] is None else int(rows[0][0]) + 1

    def entry(self, index: int) -> bytes:
        with self.recorder.reading() as db:
            rows = db.all(f"SELECT entry FROM {db.t('dl_entries')} WHERE idx = %s", (index,))
        if not rows:
            raise LedgerError(f"no entry {index}")
        return bytes(rows[0][0])

    def iter_entries(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, bytes]]:
        """(index, entry bytes) in index order, a page at a time."""
        at = start
        while stop is None or at < stop:
            limit = PAGE if stop is None else min(PAGE, stop - at)
            with self.recorder.reading() as db:
                rows = db.all(
                    f"SELECT idx, entry FROM {db.t('dl_entries')} WHERE idx >= %s ORDER BY idx LIMIT %s",
                    (at, limit),
                )
            if not rows:
                return
            for idx, data in rows:
                yield int(idx), bytes(data)
            at = int(rows[-1][0]) + 1

    def statement_index(self, statement_id: str) -> int | None:
        with self.recorder.reading() as db:
            rows = db.all(f"SELECT idx FROM {db.t('dl_entries')} WHERE statement_id = %s", (statement_id,))
        return int(rows[0][0]) if rows else None

    # ---- tree ------------------------------------------------------------------
    def _nodes(self, coords: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        wanted = sorted(set(coords))
        with self.recorder.reading() as db:
            out = read_nodes(db, wanted)
        missing = [c for c in wanted if c not in out]
        if missing:
            raise LedgerError(f"tree nodes missing from the store: {missing[:5]}")
        return out

    def _with_ranges(self, build: Callable[[Callable[[int, int], bytes]], Any]) -> Any:
        """Run a proof builder twice: once to learn which subtrees it needs, once with their hashes."""
        needed: list[tuple[int, int]] = []

        def record(a: int, b: int) -> bytes:
            needed.append((a, b))
            return bytes(32)

        build(record)
        nodes = self._nodes([c for a, b in needed for c in perfect_ranges(a, b)])

        def range_hash(a: int, b: int) -> bytes:
            return fold_right(nodes[c] for c in perfect_ranges(a, b))

        return build(range_hash)

    def root_at(self, size: int) -> bytes:
        if size == 0:
            return EMPTY_ROOT
        return self._with_ranges(lambda rh: rh(0, size))  # type: ignore[no-any-return]

    def inclusion_proof(self, index: int, size: int | None = None) -> dict[str, Any]:
        size = self.size() if size is None else size
        path, root = self._with_ranges(lambda rh: (inclusion_path(index, size, rh), rh(0, size)))
        leaf = self._with_ranges(lambda rh: rh(index, index + 1))
        return {"index": index, "tree_size": size, "leaf_hash": leaf.hex(), "root": root.hex(),
                "path": [h.hex() for h in path]}

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> dict[str, Any]:
        new_size = self.size() if new_size is None else new_size
        if not 0 <= old_size <= new_size <= self.size():
            raise LedgerError(f"cannot prove {old_size} -> {new_size} on a log of {self.size()} entries")
        path = self._with_ranges(lambda rh: consistency_path(old_size, new_size, rh))
        return {"old_size": old_size, "new_size": new_size, "old_root": self.root_at(old_size).hex(),
                "new_root": self.root_at(new_size).hex(), "path": [h.hex() for h in path]}

    # ---- export ----------------------------------------------------------------
    def export(self, out: IO[bytes], progress: Callable[[int], None] | None = None) -> int:
        """Write the export (contract point 12), streaming; return the number of entries."""
        count = 0
        for index, data in self.iter_entries():
            out.write(canonical_bytes({"entry_b64": b64encode(data), "index": index}) + b"\n")
            count += 1
            if progress:
                progress(1)
        return count


