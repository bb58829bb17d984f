"""A database written by the release that stored every statement twice, migrated by today's code.

tests/fixtures/pre_one_copy holds the demo's database as that release wrote it (SQLite file and a
pg_dump of the PostgreSQL schema) and what that release's own code read from it: size, root, stored
checkpoints, export digest. Today's code reads it as it is, refuses to append until it is migrated,
and after `disclosure-ledger migrate` holds no second copy and gives the same root, checkpoints and
export bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import uuid
from pathlib import Path

import pytest
from clifix import cli_env, run
from storefix import drop_schema, postgres_base_url

from ledger.config import Settings
from ledger.core.checkpoint import open_with_any
from ledger.core.entry import parse_entry
from ledger.store.errors import NeedsMigration
from ledger.store.ledger import Ledger

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "pre_one_copy"
EXPECTED = json.loads((FIXTURE / "expected.json").read_text())
OLD_SCHEMA = "pre_one_copy"


def _facts(ledger: Ledger) -> dict[str, object]:
    buf = io.BytesIO()
    ledger.export(buf)
    size = ledger.size()
    with ledger.store.reading() as db:
        stored = [r[0] for r in db.all(f"SELECT note FROM {db.t('dl_checkpoints')} ORDER BY size")]
    keys = ledger.trust().checkpoint_keys
    for note in stored:  # each stored checkpoint still opens with the log's checkpoint keys, at its root
        cp = open_with_any(note, keys).checkpoint
        assert cp.root == ledger.root_at(cp.size)
    return {"size": size, "root": ledger.root_at(size).hex(),
            "export_sha256": hashlib.sha256(buf.getvalue()).hexdigest(),
            "checkpoints_sha256": hashlib.sha256("\n\n".join(stored).encode()).hexdigest(),
            "checkpoints": len(stored)}


def _tables(ledger: Ledger) -> set[str]:
    with ledger.store.reading() as db:
        if ledger.settings.is_postgres:
            return {r[0] for r in db.all("SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                                         (ledger.store.datastore.schema,))}
        return {r[0] for r in db.all("SELECT name FROM sqlite_master WHERE type = 'table'")}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def old_database(request: pytest.FixtureRequest, tmp_path: Path):
    """(backend, database URL) of a fresh copy of the fixture."""
    if request.param == "sqlite":
        db = tmp_path / "ledger.sqlite3"
        db.write_bytes(gzip.decompress((FIXTURE / "ledger.sqlite3.gz").read_bytes()))
        yield "sqlite", f"sqlite:///{db}"
        return
    base = postgres_base_url()
    schema = "t_" + uuid.uuid4().hex[:16]
    dump = gzip.decompress((FIXTURE / "ledger.pg.sql.gz").read_bytes()).decode("utf-8")
    dump = dump.replace(f"{OLD_SCHEMA}.", f"{schema}.").replace(f"SCHEMA {OLD_SCHEMA};", f"SCHEMA {schema};")
    (tmp_path / "dump.sql").write_text(dump, encoding="utf-8")
    subprocess.run(["psql", base, "--no-psqlrc", "--quiet", "-v", "ON_ERROR_STOP=1", "--single-transaction",
                    "--file", str(tmp_path / "dump.sql")], check=True, capture_output=True)
    yield "postgres", f"{base}?schema={schema}"
    drop_schema(base, schema)


def test_old_database_migrates_with_the_same_root_checkpoints_and_export(old_database, tmp_path, monkeypatch,
                                                                         capsys):
    backend, url = old_database
    expected = EXPECTED[backend]
    cli_env(tmp_path, monkeypatch, url)
    settings = Settings(url, tmp_path / "keys", tmp_path / "keys" / "last-checkpoint.txt")

    # As it was written: readable, verifiable, and what the old release read from it.
    with Ledger(settings) as ledger:
        outdated = ledger.outdated
        assert any("stored_events" in o or "ledger_events" in o for o in outdated), outdated
        assert "column dl_entries.notification_id" in outdated
        assert ledger.fsck().ok
        assert _facts(ledger) == expected
        with pytest.raises(NeedsMigration, match="disclosure-ledger migrate"):
            ledger.append(parse_entry(ledger.entry(0)).statement)
        assert ledger.size() == expected["size"]
    code, out, _ = run(capsys, "migrate", "--check")
    assert code == 1 and "needs migrating" in out and "notification_id" in out
    code, _, err = run(capsys, "serve", "--port", "0")  # the service does not start on it either
    assert code == 2 and "disclosure-ledger migrate" in err and "Traceback" not in err

    code, out, err = run(capsys, "migrate")
    assert code == 0, err
    assert out.startswith("migrated: dropped ") and "notification_id" in out

    with Ledger(settings) as ledger:
        assert ledger.outdated == []
        tables = _tables(ledger)
        assert not tables & {"stored_events", "ledger_events"}
        assert ledger.fsck().ok
        assert _facts(ledger) == expected
        # Appending works again: the genesis resubmitted is the same statement, so the original comes back.
        again = ledger.append(parse_entry(ledger.entry(0)).statement)
        assert again.index == 0 and again.duplicate
    code, out, _ = run(capsys, "migrate", "--check")
    assert code == 0 and "up to date" in out
    code, out, err = run(capsys, "verify")
    assert code == 0, err
    assert f"ok: {expected['size']} entries, root {expected['root']}" in out


def test_migrate_on_a_current_database_changes_nothing(world):
    before = world.export_bytes()
    assert world.ledger.outdated == [] and world.ledger.migrate() == []
    assert world.export_bytes() == before


def test_migrate_without_a_ledger_makes_none(tmp_path, monkeypatch, capsys):
    cli_env(tmp_path, monkeypatch)
    code, _, err = run(capsys, "migrate")
    assert code == run(capsys, "verify")[0] == 1  # as every command that needs a ledger: one line, no traceback
    assert "no ledger" in err and "init" in err and "Traceback" not in err
    assert not (tmp_path / "var" / "ledger.sqlite3").exists()


def test_or_export_the_old_database_and_restore_it_into_a_new_one(old_database, tmp_path, monkeypatch, capsys):
    """The other way over: `export` from the old database as it is, `restore --from-export` into an empty
    one; the new database holds the same entries, root and export, and no second copy."""
    backend, url = old_database
    expected = EXPECTED[backend]
    cli_env(tmp_path, monkeypatch, url)
    code, _, err = run(capsys, "export", "--out", str(tmp_path / "old.jsonl"))
    assert code == 0, err
    assert hashlib.sha256((tmp_path / "old.jsonl").read_bytes()).hexdigest() == expected["export_sha256"]
    fresh = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    monkeypatch.setenv("LEDGER_DB_URL", fresh)
    code, _, err = run(capsys, "restore", "--from-export", str(tmp_path / "old.jsonl"))
    assert code == 0, err
    assert f"imported {expected['size']} entries" in err and "Traceback" not in err
    with Ledger(Settings(fresh, tmp_path / "keys", tmp_path / "keys" / "cp.txt")) as ledger:
        assert ledger.outdated == [] and ledger.fsck().ok
        buf = io.BytesIO()
        ledger.export(buf)
        assert hashlib.sha256(buf.getvalue()).hexdigest() == expected["export_sha256"]
        assert ledger.root_at(ledger.size()).hex() == expected["root"]
