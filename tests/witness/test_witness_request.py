"""`disclosure-ledger witness-request URL --vkey VKEY`: the ledger sends its latest checkpoint with the
consistency proof from the size the witness holds (learnt from a 409 when unknown) and prints the
cosignature once it verifies; a witness holding a larger tree than the ledger's (a restored old
database with its outside checkpoint copy gone) is reported, not papered over."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from witnessfix import Served, init_witness

from ledger.cli import main
from ledger.core.cosignature import parse_cosigner_vkey
from ledger.core.keys import parse_vkey
from ledger.core.note import parse_note
from ledger.core.tlog_policy import parse_policy
from ledger.core.witnessed import check_witness_policy

ORIGIN = "ledger.test.example/disclosures"


@pytest.fixture
def setup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[tuple[list[str], Served, str, str]]:
    """A ledger (SQLite, under tmp_path/var) and a served witness following it."""
    base = ["--var", str(tmp_path / "var"), "--db", f"sqlite:///{tmp_path}/var/ledger.sqlite3"]
    assert main([*base, "init", "--origin", ORIGIN]) == 0
    assert main([*base, "vkey"]) == 0
    capsys.readouterr()
    main([*base, "vkey"])
    log_vkey = capsys.readouterr().out.strip()
    witness_vkey = init_witness(str(tmp_path / "w"), log_vkey=log_vkey, origin=ORIGIN)
    server = Served(str(tmp_path / "w"))
    capsys.readouterr()
    yield base, server, witness_vkey, log_vkey
    server.stop()


def grow(base: list[str], name: str) -> None:
    assert main([*base, "keys", "new", name, "--role", "oversight"]) == 0


def test_cosignature_printed_and_verified(setup: tuple[list[str], Served, str, str],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """First contact (old 0), then after the log grew (the witness's 409 names its size, the proof goes
    from there): each time one valid cosignature line on stdout, exit 0."""
    base, server, witness_vkey, log_vkey = setup
    assert main([*base, "witness-request", server.url, "--vkey", witness_vkey]) == 0
    first = capsys.readouterr()
    assert first.out.startswith("\u2014 witness.tigta.example/w1 ") and first.out.count("\n") == 1
    for i in range(3):
        grow(base, f"tigta.gov/auditor-{i}")
    capsys.readouterr()
    assert main([*base, "witness-request", server.url, "--vkey", witness_vkey, "--cosigned"]) == 0
    done = capsys.readouterr()
    assert "sent with old size 1" in done.err  # the size of the first cosignature, learnt from a 409
    policy = parse_policy(f"log {log_vkey}\nwitness w {witness_vkey}\nquorum w\n")
    witnessed = check_witness_policy(done.out, parse_vkey(log_vkey), policy)
    assert witnessed.signed.checkpoint.size == 4
    witness = parse_cosigner_vkey(witness_vkey)
    assert witness.owns(parse_note(done.out).signatures[-1])


def test_witness_ahead_of_a_restored_ledger_is_reported(setup: tuple[list[str], Served, str, str], tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """The witness cosigned size 3; the database is put back to a backup of size 1 and the outside
    checkpoint copy deleted (the operator as adversary): the witness holds more than the ledger can
    prove, and witness-request says so (exit 1) instead of getting a smaller tree cosigned."""
    base, server, witness_vkey, _ = setup
    assert main([*base, "checkpoint"]) == 0
    assert main([*base, "backup", "--out", str(tmp_path / "old.sqlite3")]) == 0
    grow(base, "tigta.gov/a")
    grow(base, "tigta.gov/b")
    assert main([*base, "witness-request", server.url, "--vkey", witness_vkey]) == 0
    assert main([*base, "restore", str(tmp_path / "old.sqlite3"), "--force"]) in (0, 1)
    (tmp_path / "var" / "service-keys" / "last-checkpoint.txt").unlink()
    capsys.readouterr()
    assert main([*base, "witness-request", server.url, "--vkey", witness_vkey]) == 1
    err = capsys.readouterr().err
    assert "holds a tree of size 3, larger than this checkpoint's 1" in err


def test_mistakes_and_refusals(setup: tuple[list[str], Served, str, str], capsys: pytest.CaptureFixture[str]) -> None:
    """A bad --vkey and an unreachable witness: exit 2, one line; a witness that does not follow this
    log (404) or a cosignature by another key than --vkey: exit 1."""
    base, server, witness_vkey, log_vkey = setup
    assert main([*base, "witness-request", server.url, "--vkey", log_vkey]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main([*base, "witness-request", "http://127.0.0.1:9", "--vkey", witness_vkey, "--timeout", "2"]) == 2
    assert "did not answer" in capsys.readouterr().err
    assert main([*base, "witness-request", server.url, "--vkey", witness_vkey.split("+")[0] + "x+" +
                 "+".join(witness_vkey.split("+")[1:])]) == 2  # key ID no longer matches the name
    capsys.readouterr()
    from ledger.core.cosignature import CosignerSigner

    stranger = str(CosignerSigner("witness.tigta.example/w1", bytes(32)).verifier)
    assert main([*base, "witness-request", server.url, "--vkey", stranger]) == 1
    assert "no cosignature by" in capsys.readouterr().err
