"""`disclosure-ledger verify --deep`: a good ledger passes; an opening that does not open, a wrong, missing or
orphan pseudonym row, a missing opening each fail with the entry and what is wrong, and nothing a taxpayer
could be known by is printed; without the sealed-store keys it stops in one line (exit 2).

One ledger (tests/deepfix.py) is built per module on SQLite and copied for each test; the tamper sweep
(tests/store/test_tamper_sweep.py) runs the same checks over every column on both backends."""

from __future__ import annotations

import re
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from deepfix import build_deep_ledger

from ledger.cli import main
from ledger.sealed import SealedKeys, SealedStore


@dataclass
class Copy:
    """A copy of the built ledger: its folder, database file and the entries the tests tamper with."""

    var: Path
    db: Path
    match_index: int
    inspection_index: int
    size: int
    values: list[str]  # every committed value of length 4 or more (what must never be printed)

    def sql(self, statement: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with closing(sqlite3.connect(self.db)) as conn:
            rows = conn.execute(statement, params).fetchall()
            conn.commit()
        return rows


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, int], list[str]]]:
    root = tmp_path_factory.mktemp("deep")
    url = f"sqlite:///{root / 'var' / 'ledger.sqlite3'}"
    (root / "var").mkdir()
    built = build_deep_ledger(url, root / "var", extras=False)
    with SealedStore(url, built.keys) as store, closing(sqlite3.connect(root / "var" / "ledger.sqlite3")) as conn:
        commitments = [c for (c,) in conn.execute("SELECT commitment FROM sealed_openings")]
        groups = [g for (g,) in conn.execute("SELECT grp FROM sealed_groups")]
        opened = store.get_many(commitments)
        opened.update(o for held in store.group_openings(groups).values() for o in held.items())
    values = sorted({str(o.value) for o in opened.values() if len(str(o.value)) >= 4})
    assert len(values) > 100  # TINs, names, addresses, reasons of the built ledger
    info = {"match": built.match_index, "inspection": built.inspection_index, "size": built.domain.ledger.size()}
    built.close()
    yield root / "var", info, values


@pytest.fixture
def copy(original: tuple[Path, dict[str, int], list[str]], tmp_path: Path,
         monkeypatch: pytest.MonkeyPatch) -> Copy:
    var, info, values = original
    shutil.copytree(var, tmp_path / "var")
    monkeypatch.setenv("LEDGER_VAR", str(tmp_path / "var"))
    monkeypatch.setenv("LEDGER_SEALED_KEY_DIR", str(tmp_path / "var" / "sealed-keys"))
    for name in ("LEDGER_DB_URL", "LEDGER_KEY_DIR", "LEDGER_CHECKPOINT_FILE", "LEDGER_WITNESS_POLICY",
                 "LEDGER_SEALED_KEY_FILE", "LEDGER_PSEUDONYM_KEY_FILE", "LEDGER_KEYRING"):
        monkeypatch.delenv(name, raising=False)
    return Copy(tmp_path / "var", tmp_path / "var" / "ledger.sqlite3", info["match"], info["inspection"],
                info["size"], values)


def deep(capsys: pytest.CaptureFixture[str], copy: Copy) -> tuple[int, str, str]:
    """Exit code, output and errors of `verify --deep`, checked to print no committed value."""
    code = main(["verify", "--deep"])
    out, err = capsys.readouterr()
    printed = out + err
    leaked = [v for v in copy.values if v in printed]
    assert not leaked, f"verify --deep printed {len(leaked)} committed values"
    assert not re.search(r"\b\d{3}-\d{2}-\d{4}\b", printed), "a TIN-shaped number was printed"
    return code, out, err


def test_a_good_ledger_passes(capsys: pytest.CaptureFixture[str], copy: Copy) -> None:
    """The built ledger verifies deeply: every opening re-hashes, every pseudonym is recomputed."""
    code, out, err = deep(capsys, copy)
    assert code == 0, err
    assert out.startswith("ok: ")
    found = re.search(r"^deep: (\d+) openings re-hash to their commitments, (\d+) pseudonyms recomputed", out, re.M)
    assert found, out
    rows = copy.sql("SELECT COUNT(*) FROM dl_pseudonyms")[0][0]
    assert int(found.group(2)) == rows and int(found.group(1)) > 1000
    assert "of no logged statement: refused by a rule, or cut short" in out and "logged commitments erased" in out


def test_an_opening_moved_to_another_row_fails(capsys: pytest.CaptureFixture[str], copy: Copy) -> None:
    """The ciphertext of another opening under a match result's commitment decrypts but re-hashes to
    another commitment: the failure names the entry and the table."""
    entry = copy.sql("SELECT entry FROM dl_entries WHERE idx = ?", (copy.match_index,))[0][0]
    commitments = [c for (c,) in copy.sql("SELECT commitment FROM sealed_openings")]
    mine = next(c for c in commitments if c.encode() in bytes(entry))  # type: ignore[union-attr]
    other = next(c for c in commitments if c != mine)
    copy.sql("UPDATE sealed_openings SET ciphertext = (SELECT ciphertext FROM sealed_openings WHERE commitment = ?) "
             "WHERE commitment = ?", (other, mine))
    code, _, err = deep(capsys, copy)
    assert code == 1
    assert err.startswith(f"FAILED (deep) at entry {copy.match_index}: sealed_openings: ")
    assert "does not open" in err and mine[:16] in err and len(err.strip().splitlines()) == 1


def test_a_wrong_pseudonym_fails(capsys: pytest.CaptureFixture[str], copy: Copy) -> None:
    """A pseudonym row swapped for another taxpayer's is found by recomputing it from the opened TIN."""
    (line, _), (_, theirs) = copy.sql("SELECT line, pseudonym FROM dl_pseudonyms WHERE idx = ? ORDER BY line LIMIT 2",
                                      (copy.match_index,))
    copy.sql("UPDATE dl_pseudonyms SET pseudonym = ? WHERE idx = ? AND line = ?", (theirs, copy.match_index, line))
    code, _, err = deep(capsys, copy)
    assert code == 1
    assert err.startswith(f"FAILED (deep) at entry {copy.match_index}: dl_pseudonyms row for line {line} differs "
                          "from the pseudonym recomputed from its opening")
    assert str(theirs) not in err


def test_a_missing_pseudonym_fails(capsys: pytest.CaptureFixture[str], copy: Copy) -> None:
    """An inspection without its subject's row: the entry should have one."""
    copy.sql("DELETE FROM dl_pseudonyms WHERE idx = ?", (copy.inspection_index,))
    code, _, err = deep(capsys, copy)
    assert code == 1
    assert err.startswith(f"FAILED (deep) at entry {copy.inspection_index}: dl_pseudonyms has no row for line 0")


@pytest.mark.parametrize(("where", "line", "says"), [
    ("beyond", 0, "for an entry that does not exist (the log has"),
    ("match", 9999, "holds a row for line 9999, which names no matched taxpayer"),
    ("genesis", 0, "holds a row for line 0, which names no matched taxpayer"),
])
def test_an_orphan_pseudonym_row_fails(capsys: pytest.CaptureFixture[str], copy: Copy,
                                       where: str, line: int, says: str) -> None:
    """A pseudonym row no entry explains: past the log, on a line the match result does not have, on an
    entry that has no taxpayer at all."""
    index = {"beyond": copy.size + 5, "match": copy.match_index, "genesis": 0}[where]
    copy.sql("INSERT INTO dl_pseudonyms VALUES (?, ?, ?)", (index, line, "ab" * 32))
    code, _, err = deep(capsys, copy)
    assert code == 1
    assert err.startswith(f"FAILED (deep) at entry {index}: dl_pseudonyms ") and says in err


def test_a_deleted_opening_fails(capsys: pytest.CaptureFixture[str], copy: Copy) -> None:
    """A logged commitment whose opening is gone, and no erasure names it."""
    entry = copy.sql("SELECT entry FROM dl_entries WHERE idx = ?", (copy.match_index,))[0][0]
    mine = next(c for (c,) in copy.sql("SELECT commitment FROM sealed_openings")
                if str(c).encode() in bytes(entry))  # type: ignore[arg-type]
    copy.sql("DELETE FROM sealed_openings WHERE commitment = ?", (mine,))
    code, _, err = deep(capsys, copy)
    assert code == 1
    assert err.startswith(f"FAILED (deep) at entry {copy.match_index}: no opening is stored for its tin "
                          f"commitment {str(mine)[:16]}")


def test_a_tampered_group_fails(capsys: pytest.CaptureFixture[str], copy: Copy) -> None:
    """A bit flipped in a bulk chunk's sealed group: the group no longer decrypts."""
    grp, index, ciphertext = copy.sql("SELECT g.grp, e.idx, g.ciphertext FROM sealed_groups g JOIN dl_entries e "
                                      "ON e.statement_id = g.grp ORDER BY e.idx LIMIT 1")[0]
    flipped = bytearray(ciphertext)  # type: ignore[arg-type]
    flipped[40] ^= 0x01
    copy.sql("UPDATE sealed_groups SET ciphertext = ? WHERE grp = ?", (bytes(flipped), grp))
    code, _, err = deep(capsys, copy)
    assert code == 1
    assert err.startswith(f"FAILED (deep) at entry {index}: sealed_groups: openings of group {grp} cannot be "
                          "decrypted")


def test_without_keys_it_stops_in_one_line(capsys: pytest.CaptureFixture[str], copy: Copy,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """No sealed-store keys configured: one line, exit 2, before anything is checked."""
    monkeypatch.delenv("LEDGER_SEALED_KEY_DIR")
    code, out, err = deep(capsys, copy)
    assert code == 2 and out == ""
    assert err.startswith("error: verify --deep needs the sealed-store keys: no sealed-store keys configured")
    assert len(err.strip().splitlines()) == 1
    monkeypatch.setenv("LEDGER_SEALED_KEY_FILE", str(copy.var / "sealed-keys" / "sealed.key"))
    code, _, err = deep(capsys, copy)  # the key-file variables go together
    assert code == 2 and "LEDGER_PSEUDONYM_KEY_FILE is not set" in err


def test_the_key_files_are_read_as_submit_reads_them(capsys: pytest.CaptureFixture[str], copy: Copy,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """LEDGER_SEALED_KEY_FILE and LEDGER_PSEUDONYM_KEY_FILE work as the key directory does."""
    monkeypatch.delenv("LEDGER_SEALED_KEY_DIR")
    monkeypatch.setenv("LEDGER_SEALED_KEY_FILE", str(copy.var / "sealed-keys" / "sealed.key"))
    monkeypatch.setenv("LEDGER_PSEUDONYM_KEY_FILE", str(copy.var / "sealed-keys" / "pseudonym.key"))
    assert deep(capsys, copy)[0] == 0


def test_wrong_keys_are_named(capsys: pytest.CaptureFixture[str], copy: Copy, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys that are not this database's: the first opening fails, and the message says whose key it is."""
    SealedKeys.generate(tmp_path / "other-keys")
    monkeypatch.setenv("LEDGER_SEALED_KEY_DIR", str(tmp_path / "other-keys"))
    code, _, err = deep(capsys, copy)
    assert code == 1 and err.startswith("FAILED (deep) at entry ")
    assert "wrong sealed key, or the ciphertext was altered" in err and "wrong keys?" in err
