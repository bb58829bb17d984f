"""`import-accounting` and `legacy-cutover` from the command line, on both backends: the documented example
imports; a bad file, a record on or after the cutover, or no cutover at all is one line, exit 2, nothing
appended; the ledger then verifies."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest
from clifix import cli_env, ok, run

ORIGIN = "ledger.test.example/disclosures"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "accounting-2025.jsonl"
ADMIN = f"{ORIGIN}/admin"


@pytest.fixture
def env(backend_url, tmp_path, monkeypatch):
    return cli_env(tmp_path, monkeypatch, backend_url)


def setup(capsys, cutover: bool = True) -> None:
    ok(capsys, "init", "--origin", ORIGIN)
    ok(capsys, "keys", "new", "ledger.test.example/admin-2", "--role", "administrator")
    ok(capsys, "keys", "new", "irs.gov/accounting/importer", "--role", "importer", "--attr", "agency=IRS")
    ok(capsys, "keys", "new", "tigta.gov/auditor-1", "--role", "oversight", "--attr", "agency=TIGTA")
    if cutover:
        ok(capsys, "--admin", ADMIN, "legacy-cutover", "2026-01-01", "--cosign", "ledger.test.example/admin-2")


def size(capsys) -> int:
    out = ok(capsys, "verify")
    return int(out.split()[1])


def imports(capsys, path: Path) -> tuple[int, str, str]:
    return run(capsys, "import-accounting", str(path), "--key", "irs.gov/accounting/importer",
               "--countersign", "tigta.gov/auditor-1")


def test_the_documented_example_imports_and_verifies(env, capsys):
    setup(capsys)
    before = size(capsys)
    code, out, err = imports(capsys, EXAMPLE)
    assert code == 0, err
    assert "imported 2 disclosures (5 lines)" in out
    assert size(capsys) == before + 2


@pytest.mark.parametrize("change, says", [
    (lambda rows: [*rows[:2], "{not json", *rows[2:]], "line 3: not a JSON object"),
    (lambda rows: [rows[0].replace('"disclosed_on": "2025-08-07"', '"disclosed_on": "2025-8-7"'), *rows[1:]],
     "line 1: disclosed_on must be a date"),
    (lambda rows: [*rows, rows[0].replace('"2025-08-07"', '"2026-02-01"')], "line 6: disclosed on 2026-02-01, not "
     "before the policy's legacy_cutover 2026-01-01"),
])
def test_a_bad_file_is_one_line_exit_2_nothing_appended(env, capsys, tmp_path, change, says):
    setup(capsys)
    before = size(capsys)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(change(EXAMPLE.read_text().splitlines())) + "\n")
    code, _, err = imports(capsys, bad)
    assert code == 2 and says in err and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and "900-7" not in err  # never a TIN
    assert size(capsys) == before


def test_no_cutover_no_import(env, capsys):
    setup(capsys, cutover=False)
    before = size(capsys)
    code, _, err = imports(capsys, EXAMPLE)
    assert code == 2 and "sets no legacy_cutover" in err
    assert size(capsys) == before


def test_the_cutover_needs_a_second_administrator(env, capsys):
    setup(capsys, cutover=False)
    code, _, err = run(capsys, "--admin", ADMIN, "legacy-cutover", "2026-01-01")
    assert code == 1 and "policy.second_administrator" in err
    code, _, err = run(capsys, "--admin", ADMIN, "legacy-cutover", "2026-13-01", "--cosign",
                       "ledger.test.example/admin-2")
    assert code == 2 and "YYYY-MM-DD" in err


def test_the_clock_cannot_be_set_from_the_command_line_or_the_environment(env, capsys, monkeypatch):
    """No option and no LEDGER_* variable names a clock: the recorded time is the machine's."""
    import datetime as dt

    from ledger import cli

    def options(parser) -> list[str]:
        out = []
        for action in parser._actions:
            out.extend(action.option_strings)
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    out.extend(options(sub))
        return out

    clocky = ("time", "clock", "now", "date", "when", "issued", "recorded")
    durations = {"--timeout"}  # how long to wait, not what time it is
    found = [o for o in options(cli._parser()) if any(w in o for w in clocky) and o not in durations]
    assert found == [], found
    root = Path(cli.__file__).resolve().parents[1]
    parts = ("ledger", "api", "projections", "usecases")
    sources = "".join(p.read_text() for part in parts for p in (root / part).rglob("*.py"))
    env_names = set(re.findall(r"LEDGER_[A-Z_]+", sources))
    assert "LEDGER_DB_URL" in env_names  # the scan sees the settings
    clock_names = [n for n in env_names if any(w.upper() in n for w in clocky) and not n.endswith("_TIMEOUT")]
    assert clock_names == [], clock_names
    for name in ("LEDGER_NOW", "LEDGER_CLOCK", "LEDGER_TIME", "FAKETIME", "TZ"):
        monkeypatch.setenv(name, "2025-01-01T00:00:00Z")
    setup(capsys)
    code, _, err = imports(capsys, EXAMPLE)
    assert code == 0, err
    raw = ok(capsys, "entry", str(size(capsys) - 1))
    recorded = json.loads(raw.splitlines()[0])["recorded_at"]
    when = dt.datetime.fromisoformat(recorded.replace("Z", "+00:00"))
    assert abs(dt.datetime.now(dt.UTC) - when) < dt.timedelta(minutes=5)


def test_the_courts_verifier_checks_a_log_with_imported_records(env, capsys):
    """scripts/verify_ledger.py (the court's standalone verifier) verifies an export holding legacy_release
    entries: their countersignatures by an oversight key are admitted by the trust core it bundles."""
    import subprocess
    import sys

    setup(capsys)
    assert imports(capsys, EXAMPLE)[0] == 0
    export, checkpoint = env / "export.jsonl", env / "checkpoint.txt"
    ok(capsys, "export", "--out", str(export))
    checkpoint.write_text(ok(capsys, "checkpoint"))
    vkey = ok(capsys, "vkey").strip()
    import base64

    types = [json.loads(base64.b64decode(json.loads(line)["entry_b64"]))["statement"].split('"type":"')[1][:14]
             for line in export.read_text().splitlines()]
    assert types.count("legacy_release") == 2
    done = subprocess.run([sys.executable, str(Path(__file__).resolve().parents[2] / "scripts" / "verify_ledger.py"),
                           "--vkey", vkey, "--checkpoint", str(checkpoint), "--export", str(export), "--no-progress"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
