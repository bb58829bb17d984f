"""Two small projections: recipients' safeguard posture and inspections of taxpayer histories;
and the checkpoint history, whose source is the signed checkpoints rather than the entries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from projections.base import EntryProjection, Projection
from projections.source import CheckpointRow, LogSource
from projections.tables import ViewTables


class SafeguardsProjection(EntryProjection):
    """Every ``safeguard_status`` statement; the latest per agency is the current posture."""

    name = "safeguards"
    types = frozenset({"safeguard_status"})

    def tables(self, t: ViewTables) -> list[sa.Table]:
        return [t.safeguard]

    def apply(self, conn: sa.Connection, t: ViewTables, items: Sequence[Any]) -> None:
        rows = [{"idx": e.index, "recorded_at": e.recorded_at, "agency": e.body["agency"],
                 "ssr_approved": bool(e.body["ssr_approved"]), "open_findings": int(e.body["open_findings"]),
                 "cap_implementation_date": e.body["cap_implementation_date"], "signer": e.signers[0]}
                for e in items if e.type == "safeguard_status"]
        if rows:
            conn.execute(sa.insert(t.safeguard), rows)


class InspectionsProjection(EntryProjection):
    """Every ``inspection`` (an authorised read of a taxpayer's history).

    The body names its subject only by a salted commitment to the pseudonym, which cannot be
    linked without the opening. The pseudonym is taken from ``dl_pseudonyms (idx, 0)`` when
    the ingest stored it there (see docs/PROJECTIONS.md: a change the ledger needs).
    """

    name = "inspections"
    types = frozenset({"inspection"})

    def tables(self, t: ViewTables) -> list[sa.Table]:
        return [t.inspection]

    def apply(self, conn: sa.Connection, t: ViewTables, items: Sequence[Any]) -> None:
        rows = [{"idx": e.index, "recorded_at": e.recorded_at, "signer": e.signers[0],
                 "reader": e.body.get("reader"), "view": e.body["view"], "role": e.body["role"],
                 "subject_commitment": e.body["subject"], "pseudonym": e.pseudonyms.get(0)}
                for e in items if e.type == "inspection"]
        if rows:
            conn.execute(sa.insert(t.inspection), rows)


class CheckpointsProjection(Projection):
    """Signed checkpoints (size, root, time) for monitors; position = the last size copied."""

    name = "checkpoints"

    def tables(self, t: ViewTables) -> list[sa.Table]:
        return [t.checkpoint]

    def head(self, source: LogSource) -> int:
        return source.checkpoint_head()

    def read(self, source: LogSource, position: int, page: int) -> tuple[Sequence[CheckpointRow], int]:
        rows = source.read_checkpoints(position, page)
        return rows, (rows[-1].size if rows else position)

    def apply(self, conn: sa.Connection, t: ViewTables, items: Sequence[Any]) -> None:
        if items:
            conn.execute(sa.insert(t.checkpoint),
                         [{"size": c.size, "root": c.root, "signed_at": c.signed_at} for c in items])
