"""`disclosure-ledger projections rebuild|catch-up|status`, found by entry point."""

from __future__ import annotations

from pjfix import dump, load_demo, other_views_url, runner

from ledger.cli import main


def test_rebuild_and_status(settings, tmp_path, capsys):
    """Rebuild into a separate views database, then status shows every projection at the head."""
    ledger, _, _ = load_demo(settings, tmp_path)
    size = ledger.size()
    views_url, cleanup = other_views_url(settings.db_url, tmp_path)
    try:
        base = ["--db", settings.db_url, "--var", str(tmp_path), "projections", "--views-db", views_url]
        assert main([*base, "rebuild", "--page", "9"]) == 0
        assert main([*base, "catch-up"]) == 0
        capsys.readouterr()
        assert main([*base, "status"]) == 0
        lines = capsys.readouterr().out.splitlines()[1:]
        by_name = {x.split()[0]: [int(v) for v in x.split()[1:]] for x in lines}
        assert by_name["disclosures"] == [size, size, 0]
        assert by_name["checkpoints"][2] == 0
        # the rebuilt views equal the views built in the ledger's own database, row for row
        same_db = runner(settings.db_url)
        same_db.catch_up()
        assert dump(runner(settings.db_url, views_url).views) == dump(same_db.views)
    finally:
        ledger.close()
        cleanup()
