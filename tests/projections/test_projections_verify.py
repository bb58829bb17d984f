"""`disclosure-ledger projections verify`: the stored views against a rebuild from the log, on SQLite
and PostgreSQL. Fresh views pass; a changed column (first, middle and last rows of every table, each
column), a deleted row or a stray row fails, naming the table and the row's key and nothing of its
contents; restoring the row passes again; views that lag pass at their own position; a position
beyond the log head fails. The live views are changed here directly through sqlite3 / psycopg."""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from logbuild import LogBuilder
from pjfix import dump, load_demo, other_views_url, runner
from storefix import make_settings

from ledger.cli import main
from projections.db import open_database
from projections.runner import all_projections
from projections.source import LogSource
from projections.tables import view_tables
from projections.verify import Verifier, verify_views

TABLES = [t for t in view_tables().metadata.sorted_tables if t.name != "pj_tracking"]
OWNER = {t.name: p.name for p in all_projections().values() for t in p.tables(view_tables())}


class Raw:
    """The views' database opened directly (no ledger or projections code): ``?`` placeholders."""

    def __init__(self, url: str) -> None:
        self.sqlite = url.startswith("sqlite")
        if self.sqlite:
            self.conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        else:
            import psycopg

            parts = urlsplit(url)
            schema = parse_qs(parts.query)["schema"][0]
            self.conn = psycopg.connect(parts._replace(query="").geturl(), autocommit=True)
            self.conn.execute(f'SET search_path TO "{schema}"')

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        cur = self.conn.execute(sql if self.sqlite else sql.replace("?", "%s"), params)
        return list(cur.fetchall()) if cur.description else []

    def close(self) -> None:
        self.conn.close()


def _pk(table: sa.Table) -> list[str]:
    return [c.name for c in table.primary_key.columns]


def _rows(raw: Raw, table: sa.Table) -> list[tuple[Any, ...]]:
    cols = ", ".join(c.name for c in table.columns)
    return raw.run(f"SELECT {cols} FROM {table.name} ORDER BY {', '.join(_pk(table))}")


def _changed(column: sa.Column, value: Any) -> Any:
    """Another value the column accepts: a flipped boolean, another number, another string of the same length."""
    if isinstance(column.type, sa.Boolean):
        return True if value is None else not value
    if isinstance(column.type, sa.Integer):
        return 1 if value is None else value + 1_000_003
    if value is None:
        return "x"
    if value == "":
        return "y"
    return value[:-1] + ("0" if value[-1] != "0" else "1")


def _where(table: sa.Table, row: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    names = [c.name for c in table.columns]
    keys = _pk(table)
    return " AND ".join(f"{k} = ?" for k in keys), tuple(row[names.index(k)] for k in keys)


def _key_text(table: sa.Table, row: tuple[Any, ...]) -> str:
    names = [c.name for c in table.columns]
    return "(" + ", ".join(f"{k}={row[names.index(k)]!r}" for k in _pk(table)) + ")"


@pytest.fixture
def demo(settings, tmp_path):
    """The demo scenario's log, its views caught up in the ledger's own database."""
    ledger, _, _ = load_demo(settings, tmp_path)
    r = runner(settings.db_url)
    r.catch_up()
    raw = Raw(settings.db_url)
    yield ledger, r, raw
    raw.close()
    r.views.close()
    ledger.close()


def _cli(settings, tmp_path, *extra: str) -> list[str]:
    return ["--db", settings.db_url, "--var", str(tmp_path), "projections", *extra]


def test_fresh_views_pass(demo, settings, tmp_path, capsys):
    ledger, r, _ = demo
    rows = sum(len(v) for v in dump(r.views).values())
    assert main(_cli(settings, tmp_path, "verify")) == 0
    out, err = capsys.readouterr()
    assert out == f"ok: 4 projections, 13 tables, {rows} rows match the log at position {ledger.size()}\n"
    assert "FAILED" not in err
    assert main(_cli(settings, tmp_path, "verify", "--name", "safeguards")) == 0
    assert capsys.readouterr().out == f"ok: 1 projections, 2 tables, 2 rows match the log at position {ledger.size()}\n"


@pytest.mark.slow
def test_each_column_of_first_middle_last_rows(demo):
    """Every column of three rows of every table: changed, it fails naming that table and row; restored (the row
    as it was), it passes."""
    _, r, raw = demo
    with Verifier(r.source, r.views) as v:
        assert v.verify().ok
        tried = expected = 0
        for table in TABLES:
            rows = _rows(raw, table)
            assert len(rows) >= 1, table.name  # the demo fills every table
            sample = sorted({0, len(rows) // 2, len(rows) - 1})
            expected += len(sample) * len(table.columns)
            for row in (rows[k] for k in sample):
                where, key = _where(table, row)
                for i, column in enumerate(table.columns):
                    new = _changed(column, row[i])
                    raw.run(f"UPDATE {table.name} SET {column.name} = ? WHERE {where}", (new, *key))
                    report = v.verify()
                    assert not report.ok, (table.name, column.name)
                    (d,) = report.differences
                    assert (d.projection, d.table) == (OWNER[table.name], table.name)
                    if column.primary_key:  # the row is gone from its key and stray at another
                        assert d.rows == 2
                    else:
                        assert (d.rows, d.first_key) == (1, _key_text(table, row))
                    moved = tuple(new if c is column else row[k] for k, c in enumerate(table.columns))
                    where_new, key_new = _where(table, moved)
                    raw.run(f"UPDATE {table.name} SET {column.name} = ? WHERE {where_new}", (row[i], *key_new))
                    assert raw.run(f"SELECT * FROM {table.name} WHERE {where}", key) == [row]  # restored as it was
                    tried += 1
                assert v.verify().ok, table.name  # the row restored, column by column
        assert tried == expected > 250


def test_deleted_and_stray_rows(demo):
    _, r, raw = demo
    with Verifier(r.source, r.views) as v:
        for table in TABLES:
            rows = _rows(raw, table)
            row = rows[len(rows) // 2]
            where, key = _where(table, row)
            cols = ", ".join(c.name for c in table.columns)
            marks = ", ".join("?" for _ in table.columns)
            raw.run(f"DELETE FROM {table.name} WHERE {where}", key)
            (d,) = v.verify().differences
            assert (d.table, d.rows, d.first_key) == (table.name, 1, _key_text(table, row))
            raw.run(f"INSERT INTO {table.name} ({cols}) VALUES ({marks})", row)
            assert v.verify().ok
            first = table.primary_key.columns.values()[0]
            stray = tuple(_changed(c, x) if c is first else x for c, x in zip(table.columns, row, strict=True))
            raw.run(f"INSERT INTO {table.name} ({cols}) VALUES ({marks})", stray)
            (d,) = v.verify().differences
            assert (d.table, d.rows, d.first_key) == (table.name, 1, _key_text(table, stray))
            where, key = _where(table, stray)
            raw.run(f"DELETE FROM {table.name} WHERE {where}", key)
            assert v.verify().ok, table.name


def test_tracking_table(demo):
    """pj_tracking: each row's name and position are compared; updated_at (when the last page was written,
    which the log does not say) is not; a deleted or stray row fails."""
    ledger, r, raw = demo
    size = ledger.size()
    names = [n for (n,) in raw.run("SELECT name FROM pj_tracking ORDER BY name")]
    assert names == sorted(all_projections())
    with Verifier(r.source, r.views) as v:
        for name in (names[0], names[len(names) // 2], names[-1]):
            (position, updated_at) = raw.run("SELECT position, updated_at FROM pj_tracking WHERE name = ?", (name,))[0]
            raw.run("UPDATE pj_tracking SET name = ? WHERE name = ?", ("x" + name, name))
            lines = sorted(d.line() for d in v.verify().differences)
            assert f"projection {name} table pj_tracking: 1 rows differ, first at key (name={name!r})" in lines
            assert f"projection (none) table pj_tracking: 1 rows differ, first at key (name={'x' + name!r})" in lines
            raw.run("UPDATE pj_tracking SET name = ? WHERE name = ?", (name, "x" + name))
            assert v.verify().ok
            raw.run("UPDATE pj_tracking SET position = ? WHERE name = ?", (position + 1, name))
            (d,) = v.verify().differences
            top = "the largest signed checkpoint" if name == "checkpoints" else "the log head"
            assert d.line() == f"projection {name} table pj_tracking: position {size + 1} is beyond {top} {size}"
            raw.run("UPDATE pj_tracking SET position = 0 WHERE name = ?", (name,))
            report = v.verify()  # at 0 the views should be empty, and they are not
            assert report.differences and {d.projection for d in report.differences} == {name}
            assert {d.table for d in report.differences} <= {t.name for t in all_projections()[name].tables(v.t)}
            raw.run("UPDATE pj_tracking SET position = ? WHERE name = ?", (position, name))
            assert v.verify().ok
            raw.run("UPDATE pj_tracking SET updated_at = ? WHERE name = ?", ("2001-01-01T00:00:00.000000Z", name))
            assert v.verify().ok  # not compared
            raw.run("UPDATE pj_tracking SET updated_at = ? WHERE name = ?", (updated_at, name))
        row = raw.run("SELECT name, position, updated_at FROM pj_tracking WHERE name = 'inspections'")[0]
        raw.run("DELETE FROM pj_tracking WHERE name = 'inspections'")  # a runner would start it again at 0
        assert [d.line() for d in v.verify().differences] == [
            "projection inspections table pj_tracking: 1 rows differ, first at key (name='inspections')",
            "projection inspections table pj_inspection: 7 rows differ, first at key (idx=41)"]
        raw.run("INSERT INTO pj_tracking (name, position, updated_at) VALUES (?, ?, ?)", row)
        assert v.verify().ok
        raw.run("INSERT INTO pj_tracking (name, position, updated_at) VALUES ('stray', 3, ?)", (row[2],))
        (d,) = v.verify().differences
        assert d.line() == "projection (none) table pj_tracking: 1 rows differ, first at key (name='stray')"
        assert v.verify("inspections").ok  # one projection: only its own row
        raw.run("DELETE FROM pj_tracking WHERE name = 'stray'")
        assert v.verify().ok


def test_cli_failure_names_keys_not_contents(demo, settings, tmp_path, capsys):
    """Exit 1 and one FAILED line per differing table on stderr: the key, never the row's values."""
    _, _, raw = demo
    line, release_line = view_tables().line, view_tables().release_line
    (row,) = raw.run("SELECT request_id, line, pseudonym FROM pj_line WHERE pseudonym IS NOT NULL "
                     "ORDER BY request_id, line LIMIT 1")
    raw.run("UPDATE pj_line SET pseudonym = ? WHERE request_id = ? AND line = ?",
            ("f" * 64, row[0], row[1]))
    (gone,) = raw.run("SELECT release_id, line, pseudonym, agency FROM pj_release_line "
                      "ORDER BY release_id, line LIMIT 1")
    raw.run("DELETE FROM pj_release_line WHERE release_id = ? AND line = ?", gone[:2])
    assert main(_cli(settings, tmp_path, "verify")) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"FAILED: projection disclosures table {line.name}: 1 rows differ, first at key "
        f"(request_id={row[0]!r}, line={row[1]})",
        f"FAILED: projection disclosures table {release_line.name}: 1 rows differ, first at key "
        f"(release_id={gone[0]!r}, line={gone[1]})"]
    for value in (row[2], "f" * 64, gone[2], gone[3]):
        assert value is None or value not in err


def test_sqlite_value_of_another_kind(tmp_path):
    """SQLite stores what it is given: a boolean 2, or a number as text, is not what the log says."""
    settings = make_settings(f"sqlite:///{tmp_path}/ledger.sqlite3", tmp_path)
    raw = None
    ledger, _, _ = load_demo(settings, tmp_path)
    try:
        r = runner(settings.db_url)
        r.catch_up()
        raw = Raw(settings.db_url)
        (rid, k) = raw.run("SELECT request_id, line FROM pj_line WHERE has_tin = 1 LIMIT 1")[0]
        with Verifier(r.source, r.views) as v:
            raw.run("UPDATE pj_line SET has_tin = 2 WHERE request_id = ? AND line = ?", (rid, k))
            assert not v.verify().ok
            raw.run("UPDATE pj_line SET has_tin = 1 WHERE request_id = ? AND line = ?", (rid, k))
            assert v.verify().ok
            raw.run("UPDATE pj_line SET request_idx = CAST(request_idx AS TEXT) || 'x' "
                    "WHERE request_id = ? AND line = ?", (rid, k))
            assert not v.verify().ok
    finally:
        if raw:
            raw.close()
        ledger.close()


def test_missing_table_or_column(demo):
    """Reported by name; verify creates nothing in the live views."""
    _, r, raw = demo
    raw.run("DROP TABLE pj_safeguard")
    (d,) = verify_views(r.source, r.views).differences
    assert d.line() == "projection safeguards table pj_safeguard: missing"
    raw.run("ALTER TABLE pj_inspection DROP COLUMN reader")
    assert [d.line() for d in verify_views(r.source, r.views, "inspections").differences] == [
        "projection inspections table pj_inspection: column reader missing"]
    raw.run("DROP TABLE pj_tracking")
    lines = [d.line() for d in verify_views(r.source, r.views).differences]
    assert lines[:4] == [f"projection {n} table pj_tracking: missing" for n in all_projections()]
    assert "projection safeguards table pj_safeguard: missing" in lines
    (n,) = raw.run("SELECT COUNT(*) FROM pj_checkpoint")[0]
    assert f"projection checkpoints table pj_checkpoint: {n} rows differ, first at key (size=1)" in lines  # at 0
    assert not sa.inspect(r.views.engine).has_table("pj_tracking", schema=r.views.schema)
    assert not sa.inspect(r.views.engine).has_table("pj_safeguard", schema=r.views.schema)


def test_lagging_views_pass_at_their_position(settings, tmp_path):
    """Views part way through a log with bulk requests (chunks) pass at each page, as the log grows."""
    log = LogBuilder.open(settings)
    views_url, cleanup = other_views_url(settings.db_url, tmp_path)
    try:
        released: set = set()
        log.request(3, "DHS/ICE", "6103(i)(2)", [True, False])
        log.request(130, "DOJ/FBI", "6103(i)(1)", [True])  # bulk: a manifest and two chunks
        log.match(0, [1, None, 2], [0, 2])
        log.match(1, [3, 4], [0, 1, 4])
        log.safeguard("DHS/ICE", True, 0)
        log.review(0, [True, False])
        log.review(1, [True])
        log.release(0, [True], released)
        log.release(1, [True, False], released)
        log.inspection(1)
        log.blocked("release")
        log.withdraw(0)
        live = runner(settings.db_url, views_url, page=4)
        live.create()
        with Verifier(LogSource(open_database(settings.db_url)), live.views, page=3) as v:
            seen = set()
            for _ in range(40):
                report = v.verify()
                assert report.ok, [d.line() for d in report.differences]
                seen.add(report.positions["disclosures"])
                if not live.step(live.projections["disclosures"]):
                    break
            assert len(seen) > 5 and max(seen) == log.ledger.size()
            live.step(live.projections["safeguards"])  # projections at different positions
            report = v.verify()
            assert report.ok and report.positions["safeguards"] == 4 and report.positions["inspections"] == 0
            assert report.summary().endswith(f"at position {log.ledger.size()} (safeguards at 4, inspections at 0,"
                                             " checkpoints at 0)")
            log.request(2, "HHS/OIG", "6103(m)", [False])  # the log grows; the views lag again
            assert v.verify().ok
            live.catch_up()
            report = v.verify()
            assert report.ok and report.positions["safeguards"] == report.positions["inspections"] == log.ledger.size()
    finally:
        log.ledger.close()
        cleanup()


def test_position_beyond_the_log_head_fails(demo, settings, tmp_path, capsys):
    ledger, _, raw = demo
    size = ledger.size()
    raw.run("UPDATE pj_tracking SET position = ? WHERE name = 'disclosures'", (size + 5,))
    assert main(_cli(settings, tmp_path, "verify")) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"FAILED: projection disclosures table pj_tracking: position {size + 5} is beyond the log head {size}"]


def test_views_moving_during_verify(demo, settings):
    """A runner applying pages while verify runs: verify compares consistent positions and passes."""
    ledger, r, raw = demo
    raw.run("DELETE FROM pj_tracking")
    for table in TABLES:
        raw.run(f"DELETE FROM {table.name}")
    live = runner(settings.db_url, page=10)
    live.catch_up(max_pages=2)
    moves = []

    def progress(stage: str, n: int, total: int | None) -> None:
        if len(moves) < 3:
            moves.append(live.catch_up(max_pages=1))  # a page lands between the rebuild and the comparison

    with Verifier(LogSource(open_database(settings.db_url)), r.views) as v:
        report = v.verify(progress=progress)
        assert report.ok, [d.line() for d in report.differences]
        assert moves and any(sum(m.values()) for m in moves)
    live.catch_up()
    assert verify_views(r.source, r.views).positions["disclosures"] == ledger.size()


def test_separate_views_database_and_env(demo, settings, tmp_path, capsys, monkeypatch):
    """--views-db and LEDGER_VIEWS_DB_URL name the views' database, as for the other subcommands."""
    ledger, _, _ = demo
    views_url, cleanup = other_views_url(settings.db_url, tmp_path)
    try:
        assert main(_cli(settings, tmp_path, "--views-db", views_url, "rebuild")) == 0
        capsys.readouterr()
        assert main(_cli(settings, tmp_path, "--views-db", views_url, "verify", "--page", "7")) == 0
        assert capsys.readouterr().out.startswith("ok: 4 projections, 13 tables")
        other = Raw(views_url)
        try:
            other.run("DELETE FROM pj_checkpoint WHERE size = (SELECT MAX(size) FROM pj_checkpoint)")
        finally:
            other.close()
        monkeypatch.setenv("LEDGER_VIEWS_DB_URL", views_url)
        assert main(_cli(settings, tmp_path, "verify")) == 1
        assert capsys.readouterr().err.splitlines() == [
            f"FAILED: projection checkpoints table pj_checkpoint: 1 rows differ, first at key (size={ledger.size()})"]
        monkeypatch.delenv("LEDGER_VIEWS_DB_URL")
        assert main(_cli(settings, tmp_path, "verify")) == 0  # the ledger's own views are untouched
    finally:
        cleanup()


@pytest.mark.parametrize("args", [["verify", "--name", "nope"], ["verify", "--page", "0"], ["verify", "--page", "x"],
                                  ["rebuild", "--page", "0"], ["--views-db", "mysql://h/db", "verify"]])
def test_bad_arguments(args, tmp_path, capsys):
    argv = ["--db", f"sqlite:///{tmp_path}/l.sqlite3", "--var", str(tmp_path), "projections", *args]
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    assert code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "error" in err and "Traceback" not in err


def test_scratch_database_is_deleted(demo):
    _, r, _ = demo
    v = Verifier(r.source, r.views)
    assert v.verify().ok
    where = v._dir.name
    v.close()
    assert not os.path.exists(where)


IMPORTED = [("Failed to Provide", ["tin"]), ("Boston, MA", ["tin"]), (None, ["tin"]),
            ("12 Main St, Boston, MA 02110", ["address", "name", "tin"])]


def test_imported_records(settings, tmp_path, capsys):
    """Views holding imported accounting (legacy_release: a request and a release in one entry) verify, and
    a changed imported line fails."""
    from domainfix import AGENCY, open_domain

    from ledger.domain.accounting import cutover_policy, legacy_release, read_accounting
    from ledger.domain.service import DisclosureService
    from ledger.policy import DEFAULT_POLICY
    from ledger.sealed import SealedKeys, SealedStore

    d = open_domain(settings)
    keys = SealedKeys.random()
    sealed = SealedStore(settings.db_url, keys)
    raw = Raw(settings.db_url)
    try:
        service = DisclosureService(d.ledger, sealed, keys)
        admin2 = d.principal("ledger.test.example/admin-2", ["administrator"])
        importer = d.principal("irs.gov/accounting/importer", ["importer"], agency="IRS")
        auditor = d.principal("tigta.gov/auditor-v", ["oversight"], agency="TIGTA")
        d.ledger.append(cutover_policy([d.admin, admin2], DEFAULT_POLICY, "2026-01-01"))
        rows = [json.dumps({"source": "irs-2025-accounting", "disclosed_on": "2025-08-07", "agency": AGENCY,
                            "exception": "6103(i)(2)", "purpose": "criminal_investigation", "fields": ["address"],
                            "tin": f"900-70-{k:04d}", "name": f"Person {k}", "address": address,
                            "match_basis": basis, "matched_tin": f"900-70-{k:04d}"})
                for k, (address, basis) in enumerate(IMPORTED, 1)]
        (record,) = read_accounting(rows)
        sub = legacy_release([importer, auditor], record, service.issue_seed(importer.name, "legacy_release"))
        service.submit(sub.note, sub.openings)
        r = runner(settings.db_url)
        r.catch_up()
        assert raw.run("SELECT COUNT(*) FROM pj_release_line WHERE imported = ?", (True,)) == [(4,)]
        assert verify_views(r.source, r.views).ok
        raw.run("UPDATE pj_release_line SET disclosed_at = ? WHERE release_id = ? AND line = 2",
                ("2025-08-08T00:00:00.000000Z", sub.statement_id))
        assert [x.line() for x in verify_views(r.source, r.views).differences] == [
            f"projection disclosures table pj_release_line: 1 rows differ, first at key "
            f"(release_id={sub.statement_id!r}, line=2)"]
        assert main(_cli(settings, tmp_path, "verify")) == 1
        out, err = capsys.readouterr()
        assert "pj_release_line: 1 rows differ" in err
        assert not any(x in out + err for x in ("900-70", "Person", "Boston", "Main St", "2025-08-0"))
    finally:
        raw.close()
        sealed.close()
        d.ledger.close()
