"""The views name each recipient's principal (request body version 2; none for version 1), and views
written before the principal column existed are rebuilt, not left broken."""

from __future__ import annotations

import sqlalchemy as sa
from pjfix import dump, load_demo, runner

from projections.tables import view_tables


def test_views_name_the_principals_and_old_views_are_rebuilt(settings, tmp_path):
    ledger, _, report = load_demo(settings, tmp_path)
    try:
        r = runner(settings.db_url)
        r.catch_up()
        t = view_tables(r.views.schema)
        with r.views.engine.connect() as conn:
            released = conn.execute(sa.select(t.release_recipient.c.principal)).scalars().all()
            named = conn.execute(sa.select(t.request_recipient.c.principal)).scalars().all()
        assert report.lines_released > 0 and set(released) <= {f"ice.dhs.gov/agent-{i}" for i in range(3)}
        assert released and named and None not in named
        expected = dump(r.views)
        # views written by code without the principal column: the projection is rebuilt from entry 0
        with r.views.engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE {_name(r, 'pj_release_recipient')}"))
            conn.execute(sa.text(f"CREATE TABLE {_name(r, 'pj_release_recipient')} (release_id VARCHAR(128), "
                                 "position INTEGER, agency VARCHAR(80), name_commitment VARCHAR(64))"))
        again = runner(settings.db_url)
        again.catch_up()
        assert dump(again.views) == expected
    finally:
        ledger.close()


def _name(r, table: str) -> str:
    return f'"{r.views.schema}".{table}' if r.views.schema else table
