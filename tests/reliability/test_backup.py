"""Backup and restore on real SQLite and PostgreSQL (pg_dump/psql): a restored backup verifies and
continues the same chain; a backup older than the last signed checkpoint refuses appends until the
missing entries are restored byte for byte from an export."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from storefix import ORIGIN

from ledger.config import Settings
from ledger.domain.refusals import AppendRefused
from ledger.store import backup as bk
from ledger.store.fsck import fsck
from ledger.store.ledger import Ledger


@pytest.fixture(autouse=True)
def _pg_tools(settings: Settings) -> None:
    if settings.is_postgres and not (shutil.which("pg_dump") and shutil.which("psql")):
        pytest.skip("pg_dump/psql not installed")


def _fill(world, n: int) -> None:
    for i in range(n):
        world.ledger.append(world.statement(n=i))
    world.ledger.checkpoint()


def _export(ledger: Ledger, path: Path) -> bytes:
    with open(path, "wb") as f:
        ledger.export(f)
    return path.read_bytes()


def test_backup_restore_round_trip_continues_the_chain(world, settings, tmp_path):
    """A backup restored over a wiped database verifies, matches the export and takes appends on the same chain."""
    _fill(world, 6)
    before = world.export_bytes()
    n = bk.backup(settings, tmp_path / "b1")
    assert n == world.ledger.size()
    world.ledger.close()
    with pytest.raises(bk.BackupError, match="refusing to overwrite"):
        bk.restore(settings, tmp_path / "b1")
    assert bk.restore(settings, tmp_path / "b1", force=True) == n
    with Ledger(settings) as again:
        assert _export(again, tmp_path / "e") == before
        assert fsck(again.store).ok
        status = bk.restore_status(again)
        assert status.missing == 0 and status.root_matches is True
        a = again.append(world.statement(n=99))
        assert a.index == n
        assert again.checkpoint().checkpoint.size == n + 1
        assert fsck(again.store).ok


def test_backup_refuses_existing_file_and_restore_refuses_wrong_kind(world, settings, tmp_path):
    out = tmp_path / "b"
    out.write_text("x")
    with pytest.raises(bk.BackupError, match="exists"):
        bk.backup(settings, out)
    junk = tmp_path / "junk"
    junk.write_bytes(b"not a backup\n")
    with pytest.raises(bk.BackupError):
        bk.restore(settings, junk, force=True)
    assert fsck(world.ledger.store).ok


def test_old_backup_refuses_appends_until_entries_restored_from_export(world, settings, tmp_path):
    """Restore a backup older than the last signed checkpoint: appends refused (ledger.behind_checkpoint);
    `import_export` writes the missing entries unchanged; then the same chain continues."""
    _fill(world, 4)
    bk.backup(settings, tmp_path / "old")
    _fill(world, 5)  # more entries and a checkpoint over them (outside copy moves forward)
    signed = world.ledger.checkpoint().checkpoint
    full = _export(world.ledger, tmp_path / "export.jsonl")
    world.ledger.close()

    bk.restore(settings, tmp_path / "old", force=True)
    with Ledger(settings) as restored:
        status = bk.restore_status(restored)
        assert status.missing == 5 and "missing" in status.describe()
        snapshot = _export(restored, tmp_path / "r0")
        with pytest.raises(AppendRefused) as info:
            restored.append(world.statement(n=100))
        assert info.value.rule == "ledger.behind_checkpoint"
        assert _export(restored, tmp_path / "r1") == snapshot

        done = bk.import_export(restored, tmp_path / "export.jsonl")
        assert (done.imported, done.size_after, done.checkpoint_size) == (5, signed.size, signed.size)
        assert _export(restored, tmp_path / "r2") == full
        assert fsck(restored.store).ok
        assert restored.root_at(signed.size) == signed.root
        a = restored.append(world.statement(n=101))
        assert a.index == signed.size
        assert restored.checkpoint().checkpoint.size == signed.size + 1  # extends the signed one
        assert fsck(restored.store).ok


def test_import_refuses_another_history_and_short_exports(world, settings, tmp_path):
    """An export of another ledger, or one that does not reach the signed checkpoint, writes nothing."""
    from storefix import build_world, make_settings

    _fill(world, 3)
    short = tmp_path / "short.jsonl"
    _export(world.ledger, short)
    bk.backup(settings, tmp_path / "old")
    _fill(world, 3)
    world.ledger.close()
    other_dir = tmp_path / "other"
    other_url = (f"sqlite:///{other_dir}/o.sqlite3" if not settings.is_postgres
                 else settings.db_url.rsplit("=", 1)[0] + "=" + settings.db_url.rsplit("=", 1)[1] + "_o")
    other = build_world(make_settings(other_url, other_dir))
    assert other.ledger.origin == ORIGIN
    _fill(other, 8)
    foreign = tmp_path / "foreign.jsonl"
    _export(other.ledger, foreign)
    other.ledger.close()
    try:
        bk.restore(settings, tmp_path / "old", force=True)
        with Ledger(settings) as restored:
            snapshot = _export(restored, tmp_path / "s0")
            with pytest.raises(bk.BackupError, match="another history"):
                bk.import_export(restored, foreign)
            with pytest.raises(bk.BackupError, match="newer export"):
                bk.import_export(restored, short)
            assert _export(restored, tmp_path / "s1") == snapshot
    finally:
        if settings.is_postgres:
            from storefix import drop_schema, postgres_base_url

            drop_schema(postgres_base_url(), other_url.rsplit("=", 1)[1])


def test_cli_backup_and_restore(world, settings, tmp_path, capsys, monkeypatch):
    """`disclosure-ledger backup` / `restore` (SQLite and PostgreSQL), `restore --from-export`."""
    from ledger import cli

    monkeypatch.setenv("LEDGER_KEY_DIR", str(settings.key_dir))
    monkeypatch.setenv("LEDGER_CHECKPOINT_FILE", str(settings.checkpoint_path))
    base = ["--db", settings.db_url, "--var", str(tmp_path / "var")]
    _fill(world, 2)
    assert cli.main([*base, "backup", "--out", str(tmp_path / "b")]) == 0
    _fill(world, 2)
    export = tmp_path / "x.jsonl"
    full = _export(world.ledger, export)
    world.ledger.close()
    assert cli.main([*base, "restore", str(tmp_path / "b")]) == 1  # refuses to overwrite
    assert "refusing to overwrite" in capsys.readouterr().err
    assert cli.main([*base, "restore", str(tmp_path / "b"), "--force"]) == 1  # restored, but behind
    assert "entries are missing" in capsys.readouterr().err
    assert cli.main([*base, "restore", "--from-export", str(export)]) == 0
    assert "imported 2 entries" in capsys.readouterr().err
    assert cli.main([*base, "export", "--out", str(tmp_path / "y.jsonl")]) == 0
    assert (tmp_path / "y.jsonl").read_bytes() == full
    assert cli.main([*base, "verify"]) == 0


def test_backup_taken_while_appending_is_a_consistent_prefix(world, settings, tmp_path):
    """A backup taken while another thread appends holds a verifiable prefix of the final log."""
    import threading

    notes = [world.statement(n=i) for i in range(120)]
    started = threading.Event()

    def writer() -> None:
        for i, note in enumerate(notes):
            world.ledger.append(note)
            if i == 20:
                started.set()

    t = threading.Thread(target=writer)
    t.start()
    started.wait(60)
    n = bk.backup(settings, tmp_path / "hot")
    t.join()
    world.ledger.checkpoint()
    full = _export(world.ledger, tmp_path / "full.jsonl")
    world.ledger.close()
    bk.restore(settings, tmp_path / "hot", force=True)
    with Ledger(settings) as restored:
        assert restored.size() == n
        assert fsck(restored.store).ok
        prefix = _export(restored, tmp_path / "prefix.jsonl")
        assert full.startswith(prefix) and prefix.count(b"\n") == n
        bk.import_export(restored, tmp_path / "full.jsonl")
        assert _export(restored, tmp_path / "again.jsonl") == full
