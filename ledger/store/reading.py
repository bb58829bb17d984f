"""Reading the stored log: entries by index, the tree's subtree hashes, proofs, the export.

``LogReader`` is the read half of :class:`ledger.store.ledger.Ledger` (which adds appends,
checkpoints and keys). It needs only the store and reads in its own transactions; nothing
here writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any

from ledger.core.errors import LedgerError
from ledger.core.export_lines import export_line
from ledger.core.merkle import EMPTY_ROOT, fold_right, perfect_ranges
from ledger.core.proofs import consistency_path, inclusion_path
from ledger.store.tree import read_nodes

if TYPE_CHECKING:
    from ledger.store.db import Store

PAGE = 2000  # entries per read while iterating


class LogReader:
    """Reads of the log held by ``store`` (ledger.store.db.Store)."""

    store: Store

    # ---- reads -----------------------------------------------------------------
    def size(self) -> int:
        with self.store.reading() as db:
            rows = db.all(f"SELECT MAX(idx) FROM {db.t('dl_entries')}")
        return 0 if rows[0][0] is None else int(rows[0][0]) + 1

    def entry(self, index: int) -> bytes:
        with self.store.reading() as db:
            rows = db.all(f"SELECT entry FROM {db.t('dl_entries')} WHERE idx = %s", (index,))
        if not rows:
            raise LedgerError(f"no entry {index}")
        return bytes(rows[0][0])

    def iter_entries(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, bytes]]:
        """(index, entry bytes) in index order, a page at a time."""
        at = start
        while stop is None or at < stop:
            limit = PAGE if stop is None else min(PAGE, stop - at)
            with self.store.reading() as db:
                rows = db.all(
                    f"SELECT idx, entry FROM {db.t('dl_entries')} WHERE idx >= %s ORDER BY idx LIMIT %s",
                    (at, limit),
                )
            if not rows:
                return
            for idx, data in rows:
                yield int(idx), bytes(data)
            at = int(rows[-1][0]) + 1

    def entries_at(self, indices: Sequence[int]) -> list[tuple[int, bytes]]:
        """(index, entry bytes) of the entries at ``indices`` that exist, in index order."""
        out: list[tuple[int, bytes]] = []
        for start in range(0, len(indices), 256):
            part = list(indices[start:start + 256])
            marks = ",".join(["%s"] * len(part))
            with self.store.reading() as db:
                rows = db.all(f"SELECT idx, entry FROM {db.t('dl_entries')} WHERE idx IN ({marks}) "
                              "ORDER BY idx", part)
            out += [(int(i), bytes(d)) for i, d in rows]
        return sorted(out)

    def entries_of_types(self, types: Sequence[str], start: int = 0,
                         stop: int | None = None) -> Iterator[tuple[int, str, bytes]]:
        """(index, statement type, entry bytes) of the entries of ``types`` in [start, stop), in
        index order, a page at a time (the type column is indexed by nothing but read with the row)."""
        at, marks = start, ",".join(["%s"] * len(types))
        end = self.size() if stop is None else stop
        while at < end and types:
            with self.store.reading() as db:
                rows = db.all(
                    f"SELECT idx, stype, entry FROM {db.t('dl_entries')} WHERE idx >= %s AND idx < %s "
                    f"AND stype IN ({marks}) ORDER BY idx LIMIT %s", (at, end, *types, PAGE))
            if not rows:
                return
            for idx, stype, data in rows:
                yield int(idx), str(stype), bytes(data)
            at = int(rows[-1][0]) + 1

    def statement_index(self, statement_id: str) -> int | None:
        with self.store.reading() as db:
            rows = db.all(f"SELECT idx FROM {db.t('dl_entries')} WHERE statement_id = %s", (statement_id,))
        return int(rows[0][0]) if rows else None

    def settled(self, statement_ids: Sequence[str]) -> tuple[dict[str, bytes], set[str]]:
        """What the log holds under these statement ids: the stored entries' bytes by id, and the ids
        a rule refused (each recorded by a `blocked` entry). One consistent read."""
        if not statement_ids:
            return {}, set()
        ids = list(dict.fromkeys(statement_ids))
        marks = ",".join(["%s"] * len(ids))
        with self.store.reading() as db:
            rows = db.all(f"SELECT statement_id, entry FROM {db.t('dl_entries')} "
                          f"WHERE statement_id IN ({marks})", ids)
            refused = db.all(f"SELECT statement_id FROM {db.t('dl_refused')} "
                             f"WHERE statement_id IN ({marks})", ids)
        return {str(i): bytes(d) for i, d in rows}, {str(r[0]) for r in refused}

    def pseudonym_rows(self, lo: int, hi: int) -> list[tuple[int, int, str]]:
        """(index, line, pseudonym) of the pseudonyms stored at ingest for entries lo <= index < hi, in
        order (``dl_pseudonyms``: beside the log, checked by ``verify --deep``)."""
        with self.store.reading() as db:
            rows = db.all(f"SELECT idx, line, pseudonym FROM {db.t('dl_pseudonyms')} "
                          "WHERE idx >= %s AND idx < %s ORDER BY idx, line", (lo, hi))
        return [(int(i), int(k), str(p)) for i, k, p in rows]

    def refused_count(self) -> int:
        """How many statement ids a rule refused (the `blocked` entries that recorded a refusal)."""
        with self.store.reading() as db:
            return int(db.all(f"SELECT COUNT(*) FROM {db.t('dl_refused')}")[0][0])

    def last_signed(self) -> tuple[int, str] | None:
        """(size, signed_at) of the newest stored checkpoint, or None before the first."""
        with self.store.reading() as db:
            rows = db.all(f"SELECT size, signed_at FROM {db.t('dl_checkpoints')} "
                          "ORDER BY size DESC LIMIT 1")
        return (int(rows[0][0]), str(rows[0][1])) if rows else None

    # ---- tree ------------------------------------------------------------------
    def _nodes(self, coords: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        wanted = sorted(set(coords))
        with self.store.reading() as db:
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
        """Write the export (docs/FORMAT.md § 12), streaming; return the number of entries."""
        count = 0
        for index, data in self.iter_entries():
            out.write(export_line(index, data))
            count += 1
            if progress:
                progress(1)
        return count


