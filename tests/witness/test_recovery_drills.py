"""The recovery drills of OPERATIONS § 16, through the real command, on SQLite and PostgreSQL, with three
witnesses (2 of 3):

1. An old backup restored and the outside checkpoint copy deleted with it: the witnesses' high-water
   mark still refuses it — `publish` and `verify` fail naming both sizes, /readyz says so, appends are
   refused — until `restore --from-export` brings the lost tail back; then publication resumes with
   the same witnesses, and no witness ever cosigned a smaller or other tree.
2. The tail truly lost: the log is finished. A new origin and key start a successor whose genesis
   names the finished log's last cosigned checkpoint; the witnesses follow the new log.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from publishfix import trio, witnessed
from storefix import ORIGIN, build_world

from ledger.cli import main
from ledger.config import Settings
from ledger.core.entry import parse_entry
from ledger.core.statement import parse_statement
from ledger.core.tlog_policy import parse_policy
from ledger.core.witnessed import check_witness_policy
from ledger.domain.refusals import AppendRefused
from ledger.store.ledger import Ledger
from ledger.witness_client import fetch_latest


def cli(settings: Settings, tmp: Path, *args: str) -> int:
    return main(["--db", settings.db_url, "--var", str(tmp), *args])


@pytest.fixture
def drill(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    world = build_world(settings)
    root = str(world.ledger.trust_root())
    world.ledger.close()
    with trio(tmp_path / "w") as t:
        t.add_log(ORIGIN, root)
        policy = t.write_policy([root])
        monkeypatch.setenv("LEDGER_WITNESS_POLICY", str(policy))
        yield world, t, policy, witnessed(settings, policy)


def _size(settings: Settings) -> int:
    with Ledger(settings) as ledger:
        return ledger.size()


def _grow(settings: Settings, world: Any, n: int) -> None:
    with Ledger(settings) as ledger:
        for i in range(n):
            ledger.append(world.statement(n=i + 100 * ledger.size()))


def test_drill_old_backup_without_outside_copy(drill: Any, settings: Settings, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    world, t, policy, ws = drill
    assert cli(settings, tmp_path, "publish") == 0
    assert cli(settings, tmp_path, "backup", "--out", str(tmp_path / "old.backup")) == 0
    old_size = _size(settings)
    _grow(ws, world, 3)
    assert cli(settings, tmp_path, "publish") == 0
    assert cli(settings, tmp_path, "export", "--out", str(tmp_path / "export.jsonl")) == 0
    cosigned = _size(settings)
    capsys.readouterr()

    # the disaster: the old backup restored, the outside checkpoint copy deleted with it
    settings.checkpoint_path.unlink()
    assert cli(settings, tmp_path, "restore", str(tmp_path / "old.backup"), "--force") == 0
    capsys.readouterr()
    assert cli(settings, tmp_path, "publish") == 1
    err = capsys.readouterr().err
    assert f"the log holds {old_size} entries but witness" in err and f"cosigned size {cosigned}" in err
    assert cli(settings, tmp_path, "verify") == 1
    err = capsys.readouterr().err
    assert "FAILED against the witnesses" in err
    assert f"the log holds {old_size} entries but witness" in err and f"cosigned size {cosigned}" in err
    with Ledger(ws) as ledger, pytest.raises(AppendRefused, match=f"a checkpoint of {cosigned} was signed"):
        ledger.append(world.statement(n=999))
    _readiness_names_both_sizes(ws, old_size, cosigned)

    # recovery: the lost tail, byte for byte, from the export; publication resumes
    assert cli(settings, tmp_path, "restore", "--from-export", str(tmp_path / "export.jsonl")) == 0
    capsys.readouterr()
    assert cli(settings, tmp_path, "verify") == 0
    out = capsys.readouterr().out
    assert f"witnesses: the log ({cosigned} entries) extends the largest checkpoint a witness cosigned " \
           f"(size {cosigned}" in out
    _grow(ws, world, 2)
    assert cli(settings, tmp_path, "publish") == 0
    note = capsys.readouterr().out
    assert check_witness_policy(note, world.ledger.trust_root(), parse_policy(policy.read_bytes())) \
        .signed.checkpoint.size == cosigned + 2
    for w in t.witnesses:
        assert not w.store.refusals(status=422), w.name  # never an inconsistent tree
        sizes = w.sizes()  # the recovered size is cosigned once more (what the restored database knew was old)
        assert sizes == sorted(sizes) and sizes[-1] == cosigned + 2 and old_size not in sizes[1:], w.seen


def _readiness_names_both_sizes(ws: Settings, old_size: int, cosigned: int) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import ApiSettings
    from ledger.sealed import SealedKeys

    app = create_app(ApiSettings(ws, background_checkpoints=False), SealedKeys.random(), views_interval=None)
    with TestClient(app) as client:
        r = client.get("/readyz")
        assert r.status_code == 503
        body = r.json()
        assert f"the log holds {old_size} entries but witness" in body["checks"]["witnesses"]
        assert f"cosigned size {cosigned}" in body["witnesses"]
        assert body["checks"]["log"] != "ok"


def test_drill_tail_truly_lost_starts_a_successor(drill: Any, settings: Settings, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    world, t, policy, ws = drill
    old_root = str(world.ledger.trust_root())
    assert cli(settings, tmp_path, "backup", "--out", str(tmp_path / "old.backup")) == 0
    _grow(ws, world, 3)
    assert cli(settings, tmp_path, "publish") == 0
    settings.checkpoint_path.unlink()  # and no export, no mirror: the tail is gone
    assert cli(settings, tmp_path, "restore", str(tmp_path / "old.backup"), "--force") == 0
    capsys.readouterr()
    assert cli(settings, tmp_path, "publish") == 1

    # the finished log's last cosigned checkpoint, from a witness (not from the operator's storage)
    last = fetch_latest(t.witnesses[0].url, ORIGIN)
    assert last is not None
    (tmp_path / "finished.checkpoint").write_text(last)
    new_origin = "ledger.test.example/disclosures-2"
    new_var = tmp_path / "successor"
    new_db = settings.db_url.replace("ledger.sqlite3", "successor.sqlite3") if "sqlite" in settings.db_url \
        else settings.db_url + "s2"
    monkeypatch.delenv("LEDGER_WITNESS_POLICY")  # the witnesses learn the new key once it exists
    assert main(["--db", new_db, "--var", str(new_var), "init", "--origin", new_origin,
                 "--predecessor", str(tmp_path / "finished.checkpoint"), "--predecessor-vkey", old_root]) == 0
    new_settings = dataclasses.replace(settings, db_url=new_db, key_dir=new_var / "service-keys",
                                       checkpoint_path=new_var / "service-keys" / "last-checkpoint.txt")
    try:
        with Ledger(new_settings) as successor:
            genesis = parse_statement(parse_entry(successor.entry(0)).statement)
            new_root = str(successor.trust_root())
        assert genesis.body["predecessor"] == {"origin": ORIGIN, "checkpoint_vkey": old_root, "checkpoint": last}
        t.add_log(new_origin, new_root)
        new_policy = tmp_path / "successor.policy"
        new_policy.write_text(policy.read_text().replace(f"log {old_root}", f"log {new_root}"))
        monkeypatch.setenv("LEDGER_WITNESS_POLICY", str(new_policy))
        capsys.readouterr()
        assert main(["--db", new_db, "--var", str(new_var), "publish"]) == 0
        note = capsys.readouterr().out
        from ledger.core.keys import parse_vkey

        got = check_witness_policy(note, parse_vkey(new_root), parse_policy(new_policy.read_bytes()))
        assert len(got.cosigned) == 3
        # the finished log stays finished: its witnesses still hold its last cosigned size
        assert fetch_latest(t.witnesses[1].url, ORIGIN) is not None
        assert cli(settings, tmp_path, "publish") == 1
    finally:
        if "sqlite" not in new_db:
            from storefix import drop_schema

            base, schema = new_db.split("?schema=")
            drop_schema(base, schema)


def test_init_predecessor_mistakes_are_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path}/x.sqlite3"
    (tmp_path / "cp").write_text("not a checkpoint\n")
    assert main(["--db", db, "--var", str(tmp_path), "init", "--origin", "a.example/x", "--predecessor",
                 str(tmp_path / "cp")]) == 2
    assert "--predecessor-vkey" in capsys.readouterr().err
    assert main(["--db", db, "--var", str(tmp_path), "init", "--origin", "a.example/x", "--predecessor",
                 str(tmp_path / "missing"), "--predecessor-vkey", "x"]) == 2
    assert main(["--db", db, "--var", str(tmp_path), "init", "--origin", "a.example/x", "--predecessor",
                 str(tmp_path / "cp"), "--predecessor-vkey", "x"]) == 2
    assert "not a checkpoint of that key" in capsys.readouterr().err
