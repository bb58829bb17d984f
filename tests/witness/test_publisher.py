"""The one publisher, with three real witnesses on loopback and a 2-of-3 policy, on SQLite and
PostgreSQL: only checkpoints a quorum cosigned are published; below quorum the log keeps growing and
nothing is published, and publication catches up when witnesses return; the CLI's `checkpoint`
never signs under a policy; each witness sees strictly increasing sizes."""

from __future__ import annotations

from pathlib import Path

import pytest
from publishfix import trio, witnessed
from storefix import ORIGIN, build_world

from ledger.config import ConfigError, Settings
from ledger.core.tlog_policy import parse_policy
from ledger.core.witnessed import check_witness_policy, open_witnessed
from ledger.store.errors import NotWitnessed
from ledger.store.ledger import Ledger


def _setup(settings: Settings, tmp_path: Path, folder: str = "w"):  # type: ignore[no-untyped-def]
    world = build_world(settings)  # unwitnessed: init and registrations
    root = str(world.ledger.trust_root())
    world.ledger.close()
    return world, root


def test_publishes_only_quorum_cosigned_and_catches_up(settings: Settings, tmp_path: Path) -> None:
    world, root = _setup(settings, tmp_path)
    with trio(tmp_path / "w") as t:
        t.add_log(ORIGIN, root)
        policy = t.write_policy([root])
        with Ledger(witnessed(settings, policy)) as ledger:
            ledger.inline_checkpoints = False
            assert ledger.publisher.witnessed
            published = ledger.publish(lease_timeout=5)
            assert published is not None and published.checkpoint.size == ledger.size()
            got = check_witness_policy(published.encode(), world.ledger.trust_root(), parse_policy(policy.read_bytes()))
            assert len(got.cosigned) == 3
            # two witnesses down: the log grows, nothing is published, and status says why
            t.by_name("gao").down = True
            t.by_name("jct").down = True
            ledger.append(world.statement())
            size = ledger.size()
            assert ledger.publish(lease_timeout=5) is None
            assert ledger.latest_checkpoint().checkpoint.size == size - 1
            status = ledger.publisher.status()
            assert status.problem and "quorum" in status.problem and "gao" in status.problem
            assert status.published_size == size - 1 and status.signed_size == size
            with pytest.raises(NotWitnessed):
                ledger.checkpoint(force=True)  # signing: cosigned by one witness only, so not published
            # one returns: 2 of 3 again, publication catches up and the problem clears
            t.by_name("gao").down = False
            again = ledger.publish(lease_timeout=5)
            assert again is not None and again.checkpoint.size == size
            w = open_witnessed(again.encode(), [world.ledger.trust_root()], parse_policy(policy.read_bytes()))
            assert {c.witness.name for c in w.cosigned} == {"tigta", "gao"} and w.quorum_met
            assert ledger.publisher.status().problem is None
        for w in t.witnesses:
            ok = w.sizes()
            assert ok == sorted(set(ok)), (w.name, w.seen)  # strictly increasing
            assert not [s for s in w.seen if s[0] == 409], (w.name, w.seen)
        # tigta cosigned `size` in the failed round; the next round reused its line, not a second request
        assert t.by_name("tigta").sizes().count(size) == 1


def test_cli_checkpoint_never_signs_under_a_policy(settings: Settings, tmp_path: Path) -> None:
    world, root = _setup(settings, tmp_path)
    with trio(tmp_path / "w") as t:
        t.add_log(ORIGIN, root)
        policy = t.write_policy([root])
        for w in t.witnesses:
            w.down = True
        with Ledger(witnessed(settings, policy)) as ledger:
            before = ledger.latest_checkpoint()  # the unwitnessed one signed at init
            ledger.append(world.statement())
            assert ledger.checkpoint().encode() == before.encode()  # the latest published, not a new one
            assert ledger.publish() is None
            assert ledger.latest_checkpoint().encode() == before.encode()


def test_a_bad_policy_setting_stops_the_ledger(settings: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "bad.policy"
    bad.write_text("witness x notakey\n")
    with pytest.raises(ConfigError, match="not a witness policy"):
        Ledger(witnessed(settings, bad))
    with pytest.raises(ConfigError, match="LEDGER_WITNESS_POLICY"):
        Ledger(witnessed(settings, tmp_path / "missing.policy"))


def test_cli_checkpoint_and_bad_policy(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """`disclosure-ledger checkpoint` under a policy prints the latest published checkpoint and signs nothing
    (witnesses down); `publish` exits 1 naming why; a bad LEDGER_WITNESS_POLICY is one line and exit 2."""
    from ledger.cli import main

    world, root = _setup(settings, tmp_path)
    with Ledger(settings) as ledger:
        ledger.append(world.statement())
        before = ledger.checkpoint().encode()
    with trio(tmp_path / "w") as t:
        t.add_log(ORIGIN, root)
        monkeypatch.setenv("LEDGER_WITNESS_POLICY", str(t.write_policy([root])))
        for w in t.witnesses:
            w.down = True
        with Ledger(settings) as ledger:
            ledger.inline_checkpoints = False
            ledger.append(world.statement())
        capsys.readouterr()
        args = ["--db", settings.db_url, "--var", str(tmp_path)]
        assert main([*args, "checkpoint"]) == 0
        out = capsys.readouterr()
        assert out.out == before and "witnesses:" in out.err
        assert main([*args, "publish"]) == 1
        assert "quorum q = 2 of 3" in capsys.readouterr().err
        assert main([*args, "checkpoint"]) == 0
        assert capsys.readouterr().out == before  # still: nothing below quorum was published
    (tmp_path / "bad.policy").write_text("quorum none\n")
    monkeypatch.setenv("LEDGER_WITNESS_POLICY", str(tmp_path / "bad.policy"))
    assert main(["--db", settings.db_url, "--var", str(tmp_path), "checkpoint"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "quorum none" in err and "Traceback" not in err
    monkeypatch.setenv("LEDGER_WITNESS_TIMEOUT", "soon")
    assert main(["--db", settings.db_url, "--var", str(tmp_path), "checkpoint"]) == 2
    assert "LEDGER_WITNESS_TIMEOUT" in capsys.readouterr().err
