"""The log's tables as the projections read them, over their own SQLAlchemy connection.

The views may live in another database and are rebuilt by another process, so they do not hold a
:class:`ledger.store.ledger.Ledger`; they read the log through these queries, which are the only
SQLAlchemy code that knows the ledger's tables. Read only: nothing here creates or writes a table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa


@dataclass(frozen=True)
class LogTables:
    """``dl_entries`` (the columns the views read), ``dl_pseudonyms`` and ``dl_checkpoints``."""

    entries: sa.Table
    pseudonyms: sa.Table
    checkpoints: sa.Table

    @classmethod
    def of(cls, schema: str | None = None) -> LogTables:
        m = sa.MetaData(schema=schema)
        entries = sa.Table(
            "dl_entries", m,
            sa.Column("idx", sa.BigInteger, primary_key=True),
            sa.Column("recorded_at", sa.Text),
            sa.Column("stype", sa.Text),
            sa.Column("entry", sa.LargeBinary),
        )
        pseudonyms = sa.Table(
            "dl_pseudonyms", m,
            sa.Column("idx", sa.BigInteger, primary_key=True),
            sa.Column("line", sa.Integer, primary_key=True),
            sa.Column("pseudonym", sa.Text),
        )
        checkpoints = sa.Table(
            "dl_checkpoints", m,
            sa.Column("size", sa.BigInteger, primary_key=True),
            sa.Column("root", sa.LargeBinary),
            sa.Column("signed_at", sa.Text),
        )
        return cls(entries, pseudonyms, checkpoints)

    def head(self, conn: Any) -> int:
        """The log's size (entries 0 … head−1 exist)."""
        top = conn.execute(sa.select(sa.func.max(self.entries.c.idx))).scalar()
        return 0 if top is None else int(top) + 1

    def page(self, conn: Any, start: int, limit: int
             ) -> tuple[list[tuple[int, str, str, bytes]], dict[int, dict[int, str]]]:
        """(index, recorded_at, type, entry bytes) of at most ``limit`` entries from ``start`` in index
        order, and the pseudonyms stored for them (index -> line -> pseudonym)."""
        e, p = self.entries, self.pseudonyms
        rows = conn.execute(
            sa.select(e.c.idx, e.c.recorded_at, e.c.stype, e.c.entry)
            .where(e.c.idx >= start).order_by(e.c.idx).limit(limit)
        ).all()
        if not rows:
            return [], {}
        last = int(rows[-1][0])
        found: dict[int, dict[int, str]] = {}
        for idx, line, pseudonym in conn.execute(
            sa.select(p.c.idx, p.c.line, p.c.pseudonym).where(p.c.idx >= start, p.c.idx <= last)
        ):
            found.setdefault(int(idx), {})[int(line)] = str(pseudonym)
        return [(int(i), str(t), str(s), bytes(d)) for i, t, s, d in rows], found

    def checkpoint_head(self, conn: Any) -> int:
        """The size of the largest signed checkpoint (0: none)."""
        top = conn.execute(sa.select(sa.func.max(self.checkpoints.c.size))).scalar()
        return 0 if top is None else int(top)

    def checkpoints_after(self, conn: Any, after_size: int, limit: int) -> list[tuple[int, bytes, str]]:
        """(size, root, signed_at) of the stored checkpoints larger than ``after_size``, smallest first."""
        c = self.checkpoints
        rows = conn.execute(
            sa.select(c.c.size, c.c.root, c.c.signed_at).where(c.c.size > after_size)
            .order_by(c.c.size).limit(limit)
        ).all()
        return [(int(s), bytes(r), str(t)) for s, r, t in rows]
