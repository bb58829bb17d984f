"""`disclosure-ledger witness …`: the commands an oversight body runs, their mistakes (one line, exit 2),
the key kept out of the settings, and a witness that imports nothing of the ledger but its core."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from witnessfix import LOG_KEY, ORIGIN, WITNESS_KEY, Log, Served, init_witness

from ledger.cli import main as ledger_main
from ledger.witness.cli import main
from ledger.witness.settings import CONFIG_FILE, KEY_FILE, WitnessSettings
from ledger.witness.state import WitnessStore

ROOT = Path(__file__).resolve().parents[2]


def one_line_error(capsys: pytest.CaptureFixture[str], code: int) -> str:
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_init_prints_the_vkey_and_keeps_the_key_out_of_the_settings(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """init: the vkey on stdout; the key in witness.key (mode 0600) alone; witness.json, the settings
    object and its repr name no private key."""
    folder = tmp_path / "w"
    assert ledger_main(["witness", "init", "--name", "witness.gao.example/w2", "--dir", str(folder)]) == 0
    vkey = capsys.readouterr().out.strip()
    assert vkey.startswith("witness.gao.example/w2+")
    key_text = (folder / KEY_FILE).read_text()
    assert key_text.startswith("PRIVATE+KEY+witness.gao.example/w2+")
    assert (folder / KEY_FILE).stat().st_mode & 0o777 == 0o600
    settings = WitnessSettings.load(folder)
    config = (folder / CONFIG_FILE).read_text()
    seed_b64 = key_text.strip().split("+", 4)[4]  # base64 may hold "+" itself
    for shown in (config, repr(settings), json.dumps(settings.__dict__, default=str)):
        assert "PRIVATE" not in shown and seed_b64 not in shown
    assert settings.signer().verifier.__str__() == vkey


@pytest.mark.parametrize(("argv", "match"), [
    (["init", "--name", "bad name"], "space"),
    (["init", "--name", "a+b"], "'+'"),
    (["init"], "--name"),
    (["add-log", "--origin", ORIGIN, "--vkey", "not-a-key"], "name+hex8+base64"),
    (["add-log", "--origin", ORIGIN, "--vkey", str(WITNESS_KEY.verifier)], "0x01"),
    (["add-log", "--origin", "", "--vkey", str(LOG_KEY.verifier)], "--origin"),
    (["serve", "--port", "70000"], "port"),
    (["refusals", "--body", "99"], "no refusal 99"),
    (["refusals", "--status", "500"], "invalid choice"),
    (["remove-log-key", "--origin", ORIGIN, "--vkey", str(LOG_KEY.verifier)], "last key"),
    (["frobnicate"], "invalid choice"),
])
def test_mistakes_are_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                                          match: str) -> None:
    """Each mistake a hurried operator makes: one line on stderr naming it, exit 2, no traceback."""
    folder = str(tmp_path / "w")
    init_witness(folder)
    capsys.readouterr()
    err = one_line_error(capsys, main([*argv, "--dir", folder]) if argv != ["frobnicate"] else main(argv))
    assert match in err


def test_missing_witness_and_second_init(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A folder with no witness, and init over an existing witness: one line each, exit 2."""
    assert "no witness in" in one_line_error(capsys, main(["logs", "--dir", str(tmp_path / "none")]))
    folder = str(tmp_path / "w")
    init_witness(folder)
    capsys.readouterr()
    assert "already holds a witness" in one_line_error(capsys, main(["init", "--name", "x.example/w",
                                                                     "--dir", folder]))


def test_key_readable_by_others_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """serve refuses a key file others can read."""
    folder = tmp_path / "w"
    init_witness(str(folder))
    (folder / KEY_FILE).chmod(0o644)
    capsys.readouterr()
    assert "readable by others" in one_line_error(capsys, main(["serve", "--dir", str(folder), "--port", "0"]))


def test_logs_refusals_and_the_evidence_bytes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """logs shows the size held; refusals lists a refused submission and --body writes it back exactly."""
    folder = tmp_path / "w"
    init_witness(str(folder))
    settings = WitnessSettings.load(folder)
    from ledger.witness.service import Witness

    with WitnessStore(settings.db_url) as store:
        witness = Witness(settings.signer(), store)
        log = Log().grow(4)
        assert witness.add_checkpoint(log.request(0)).status == 200
        stale = log.grow(2).request(1)
        assert witness.add_checkpoint(stale).status == 409
    capsys.readouterr()
    assert main(["logs", "--dir", str(folder)]) == 0
    assert "size 4" in capsys.readouterr().out
    assert main(["refusals", "--dir", str(folder), "--json"]) == 0
    (row,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert row["status"] == 409 and row["held_size"] == 4 and row["body"] == stale.decode()
    out = subprocess.run([sys.executable, "-m", "ledger.witness", "refusals", "--dir", str(folder), "--body",
                          str(row["id"])], capture_output=True, check=True)
    assert out.stdout == stale


def test_rotate_key_keeps_the_old_key_aside_and_the_state(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """rotate-key: a new vkey, the old key file kept under retired-keys/, the latest checkpoint kept."""
    folder = tmp_path / "w"
    old = init_witness(str(folder))
    capsys.readouterr()
    assert main(["rotate-key", "--dir", str(folder)]) == 0
    new = capsys.readouterr().out.strip()
    assert new != old and WitnessSettings.load(folder).vkey == new
    (archived,) = (folder / "retired-keys").iterdir()
    assert archived.stat().st_mode & 0o777 == 0o600 and "PRIVATE+KEY" in archived.read_text()
    assert WitnessSettings.load(folder).signer().verifier.__str__() == new


def test_the_witness_imports_only_the_core_and_its_own_package() -> None:
    """Every ledger import in ledger/witness/ is a core module (the court's verifier's) or the witness's
    own; its third-party imports are its database driver and its HTTP server."""
    allowed_third_party = {"psycopg", "uvicorn"}
    core = {f"ledger.core.{p.stem}" for p in (ROOT / "ledger" / "core").glob("*.py")} | {"ledger.core"}
    for path in sorted((ROOT / "ledger" / "witness").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                top = name.split(".")[0]
                if top == "ledger":
                    assert name in core or name.startswith("ledger.witness"), f"{path.name} imports {name}"
                elif top not in sys.stdlib_module_names and top != "__future__":
                    assert top in allowed_third_party, f"{path.name} imports {name}"


def test_running_the_witness_loads_nothing_else_of_the_ledger(tmp_path: Path) -> None:
    """`python -m ledger.witness` with every witness module imported loads no store, domain, rules,
    sealed store, API, projections, eventsourcing or SQLAlchemy."""
    probe = ("import runpy, sys\n"
             "import ledger.witness.cli, ledger.witness.http, ledger.witness.service, ledger.witness.state\n"
             "import uvicorn\n"
             "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('api', 'projections', 'eventsourcing',"
             " 'sqlalchemy', 'fastapi') or m.startswith(('ledger.store', 'ledger.domain', 'ledger.rules',"
             " 'ledger.sealed', 'ledger.authoring', 'ledger.client', 'ledger.cli', 'ledger.config')))\n"
             "print(bad)\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == "[]"


@pytest.mark.postgres
def test_served_with_postgres_settings_from_init(tmp_path: Path) -> None:
    """A witness initialised on PostgreSQL serves from it (its database is named only in witness.json)."""
    from storefix import drop_schema, postgres_base_url

    base = postgres_base_url()
    schema = "t_witness_cli_" + os.urandom(4).hex()
    try:
        folder = tmp_path / "w"
        init_witness(str(folder), f"{base}?schema={schema}")
        server = Served(str(folder))
        try:
            import urllib.request

            body = Log().grow(3).request(0)
            with urllib.request.urlopen(urllib.request.Request(server.url + "/add-checkpoint", data=body)) as r:
                assert r.status == 200
        finally:
            server.stop()
    finally:
        drop_schema(base, schema)
