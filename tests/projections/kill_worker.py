"""A projection process to be killed: applies the disclosures projection slowly, announcing
each entry it has applied inside the (uncommitted) page transaction."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from projections.db import open_database
from projections.disclosures import DisclosuresProjection, _Page
from projections.runner import Runner
from projections.source import LogSource
from projections.tables import ViewTables


class SlowDisclosures(DisclosuresProjection):
    def apply(self, conn: sa.Connection, t: ViewTables, items: Sequence[Any]) -> None:
        page = _Page(conn, t)
        for entry in items:
            page.apply(entry)
            print(f"applied {entry.index}", flush=True)
            time.sleep(0.02)
        page.flush()


def main() -> None:
    ledger_url, views_url, page = sys.argv[1], sys.argv[2], int(sys.argv[3])
    runner = Runner(LogSource(open_database(ledger_url)), open_database(views_url), page=page,
                    projections={"disclosures": SlowDisclosures()})
    runner.create()
    projection = runner.projections["disclosures"]
    while runner.step(projection):
        print(f"committed {runner.tracking.position('disclosures')}", flush=True)
    print("done", flush=True)


if __name__ == "__main__":
    main()
