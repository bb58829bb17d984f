"""What an operator meets first: making the sealed-store keys, a read-only command pointed at the wrong
database, a misspelt role, and what `init` says to do next. Each runs the real `disclosure-ledger`
command in a subprocess (exit code, stderr in one line, no traceback)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from storefix import postgres_base_url

ORIGIN = "ledger.test.example/disclosures"


def dl(tmp: Path, *argv: str, env: dict[str, str] | None = None,
       timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`disclosure-ledger ARGV` run in ``tmp`` (its ./var the default), as an operator would."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    return subprocess.run([sys.executable, "-m", "ledger.cli", *argv], cwd=tmp, env=base | (env or {}),
                          capture_output=True, text=True, timeout=timeout, check=False)


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_sealed_keys_new_makes_private_keys_once_and_prints_their_ids(tmp_path):
    out = tmp_path / "sealed"
    r = dl(tmp_path, "sealed-keys", "new", "--out", str(out))
    assert r.returncode == 0, r.stderr
    ids = json.loads(r.stdout)["created"]
    assert set(ids) == {"sealed", "pseudonym"} and all(len(v) == 16 for v in ids.values())
    assert "escrow" in r.stderr and "sealed-keys escrow" in r.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    for name in ("sealed.key", "pseudonym.key"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600
        assert (out / name).read_text().strip() not in r.stdout + r.stderr  # the keys are never printed
    same = dl(tmp_path, "sealed-keys", "ids", env={"LEDGER_SEALED_KEY_DIR": str(out)})
    assert json.loads(same.stdout) == ids
    before = (out / "sealed.key").read_bytes()
    again = dl(tmp_path, "sealed-keys", "new", "--out", str(out))
    assert again.returncode == 1 and "refusing to overwrite" in one_line_error(again)
    assert (out / "sealed.key").read_bytes() == before


def test_missing_sealed_keys_error_names_the_command(tmp_path):
    r = dl(tmp_path, "sealed-keys", "ids")
    assert r.returncode == 1 and "disclosure-ledger sealed-keys new --out DIR" in one_line_error(r)
    assert "SealedKeys.generate" not in r.stderr


@pytest.mark.parametrize("argv", [["verify"], ["export", "--out", "x.jsonl"], ["checkpoint"], ["entry", "0"],
                                  ["prove", "inclusion", "0"], ["prove", "consistency", "0", "1"]])
def test_read_only_commands_refuse_a_missing_sqlite_ledger_and_create_nothing(tmp_path, argv):
    r = dl(tmp_path, *argv)
    assert r.returncode == 1
    assert "no ledger in sqlite:///var/ledger.sqlite3" in one_line_error(r)
    assert not (tmp_path / "var").exists() and not (tmp_path / "x.jsonl").exists()


def test_read_only_commands_refuse_an_empty_sqlite_database(tmp_path):
    """An empty file (e.g. left by an old version's `verify` in the wrong folder) is not a ledger."""
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "ledger.sqlite3").write_bytes(b"")
    r = dl(tmp_path, "verify")
    assert r.returncode == 1 and "holds no genesis entry" in one_line_error(r)
    assert (tmp_path / "var" / "ledger.sqlite3").read_bytes() == b""


def test_read_only_commands_run_on_a_ledger_and_name_a_file_they_cannot_write(tmp_path):
    assert dl(tmp_path, "init", "--origin", ORIGIN).returncode == 0
    r = dl(tmp_path, "verify")
    assert r.returncode == 0 and r.stdout.startswith("ok: 1 entries")
    assert dl(tmp_path, "entry", "0").returncode == 0
    r = dl(tmp_path, "export", "--out", "no-such-folder/export.jsonl")
    assert r.returncode == 2 and "no-such-folder/export.jsonl" in one_line_error(r)
    r = dl(tmp_path, "submit", "no-such-submission.json")
    assert r.returncode == 2 and "no-such-submission.json" in one_line_error(r)


def test_the_principals_client_never_makes_a_database(tmp_path):
    """`client …` runs on a principal's own machine: their keyring, never a ledger database."""
    from ledger.client.keyring import Keyring

    Keyring(tmp_path / "var" / "keyring").new("ice.dhs.gov/director")
    r = dl(tmp_path, "client", "seed-request", "--key", "ice.dhs.gov/director", "--type", "request",
           "--origin", ORIGIN)
    assert r.returncode == 0, r.stderr
    assert dl(tmp_path, "client", "request", "--example").returncode == 0
    assert not (tmp_path / "var" / "ledger.sqlite3").exists()


def _pg_url(base: str, **parts: str) -> str:
    from urllib.parse import urlparse, urlunparse

    u = urlparse(base)
    netloc = u.netloc if "port" not in parts else f"{u.netloc.rsplit(':', 1)[0]}:{parts['port']}"
    path = u.path if "db" not in parts else "/" + parts["db"]
    query = parts.get("query", u.query)
    return urlunparse((u.scheme, netloc, path, "", query, ""))


@pytest.mark.parametrize(("wrong", "argv"), [("db", ["verify"]), ("port", ["verify"]),
                                             ("db", ["init", "--origin", ORIGIN]),
                                             ("port", ["keys", "new", "irs.gov/x", "--role", "reviewer"])])
def test_a_wrong_postgres_database_is_named_within_5_seconds(tmp_path, wrong, argv):
    base = postgres_base_url()
    url = _pg_url(base, db="no_such_ledger_db") if wrong == "db" else _pg_url(base, port="1")
    start = time.monotonic()
    r = dl(tmp_path, "--db", url, *argv)
    assert time.monotonic() - start < 5 + 3  # the timeout, and the interpreter's start
    line = one_line_error(r)
    assert r.returncode == 2 and "cannot open the database" in line
    assert ("no_such_ledger_db" in line and "does not exist" in line) if wrong == "db" else ":1/" in line


def test_a_postgres_schema_without_a_ledger_is_refused_and_not_created(tmp_path):
    import psycopg

    base = postgres_base_url()
    schema = f"nothing_{os.getpid()}_{time.monotonic_ns()}"
    url = _pg_url(base, query=f"schema={schema}")
    r = dl(tmp_path, "--db", url, "verify")
    assert r.returncode == 1 and f"no ledger in {url}" in one_line_error(r)
    with psycopg.connect(base) as conn:
        found = conn.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (schema,)).fetchone()
    assert found is None


def test_keys_new_refuses_a_role_the_policy_does_not_name(tmp_path):
    assert dl(tmp_path, "init", "--origin", ORIGIN).returncode == 0
    size = json.loads(dl(tmp_path, "prove", "inclusion", "0").stdout)["tree_size"]
    r = dl(tmp_path, "keys", "new", "ice.dhs.gov/releasing-officer", "--role", "approver")
    line = one_line_error(r)
    assert r.returncode == 2 and "approver" in line and "releaser" in line
    assert json.loads(dl(tmp_path, "prove", "inclusion", "0").stdout)["tree_size"] == size  # nothing written
    assert "ice.dhs.gov/releasing-officer" not in dl(tmp_path, "keys", "list").stdout
    help_text = dl(tmp_path, "keys", "new", "--help").stdout
    for role in ("requester", "reviewer", "releaser", "matcher", "recipient", "oversight", "court"):
        assert role in help_text
    assert dl(tmp_path, "keys", "new", "irs.gov/releaser-1", "--role", "releaser").returncode == 0


def test_init_says_what_to_publish_and_what_to_do_next(tmp_path):
    r = dl(tmp_path, "init", "--origin", ORIGIN)
    assert r.returncode == 0, r.stderr
    vkey = dl(tmp_path, "vkey").stdout.strip()
    assert "trust root" in r.stderr and vkey in r.stderr
    assert "sealed-keys new" in r.stderr and "keys new" in r.stderr and "verify" in r.stderr
