"""Signing on two machines, on both backends: the importer writes a batch of imported records signed with
its key alone (`import-accounting --countersigner … --out`), the oversight principal countersigns it from
another keyring (`client cosign`), the operator submits it (`import-accounting --submit`, `submit`), all
or none; the same for the two administrators of a cutover (`legacy-cutover --cosigner … --out`). Cosign
refuses a batch that does not name its key, one it already signed, and one altered after signing; a batch
still lacking a signature is refused at submission in one line, exit 2, nothing appended."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from clifix import cli_env, ok, run

from ledger.authoring.batch import parse_pending
from ledger.core.keys import SignerKey
from ledger.core.statement import parse_statement

ORIGIN = "ledger.test.example/disclosures"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "accounting-2025.jsonl"
ADMIN = f"{ORIGIN}/admin"
ADMIN2 = "ledger.test.example/admin-2"
IMPORTER = "irs.gov/accounting/importer"
AUDITOR = "tigta.gov/auditor-1"
OTHER_AUDITOR = "tigta.gov/auditor-2"


@pytest.fixture
def env(backend_url, tmp_path, monkeypatch):
    return cli_env(tmp_path, monkeypatch, backend_url)


def size(capsys) -> int:
    return int(ok(capsys, "verify").split()[1])


def register_elsewhere(capsys, tmp_path: Path, keyring: Path, name: str, role: str, *attrs: str) -> str:
    """The holder makes the key in their own keyring and signs its registration; the administrator
    registers it from the proof. Returns the verifier key."""
    proof = ok(capsys, "--keyring", str(keyring), "keys", "proof", name, "--role", role, "--admin-name", ADMIN,
               *(a for attr in attrs for a in ("--attr", attr)))
    vkey = parse_pending(proof).envelope["body"]["vkey"]
    path = tmp_path / f"{name.replace('/', '_')}.proof"
    path.write_text(proof)
    ok(capsys, "keys", "register", name, "--vkey", vkey, "--role", role, "--proof", str(path))
    return str(vkey)


def setup(capsys, tmp_path: Path) -> tuple[Path, str]:
    """The operator's keyring (the default, under LEDGER_VAR) holds the administrators and the importer;
    TIGTA's own keyring (another folder) holds the two auditors' keys. Returns TIGTA's keyring and the
    importer's verifier key."""
    tigta = tmp_path / "tigta-keyring"
    ok(capsys, "init", "--origin", ORIGIN)
    ok(capsys, "keys", "new", ADMIN2, "--role", "administrator")
    ok(capsys, "keys", "new", IMPORTER, "--role", "importer", "--attr", "agency=IRS")
    importer = ok(capsys, "keys", "list")
    importer_vkey = next(line.split("\t")[0] for line in importer.splitlines() if line.startswith(IMPORTER + "+"))
    register_elsewhere(capsys, tmp_path, tigta, AUDITOR, "oversight", "agency=TIGTA")
    register_elsewhere(capsys, tmp_path, tigta, OTHER_AUDITOR, "oversight", "agency=TIGTA")
    ok(capsys, "--admin", ADMIN, "legacy-cutover", "2026-01-01", "--cosign", ADMIN2)
    assert not (tmp_path / "var" / "keyring" / f"{AUDITOR.replace('/', '__')}.key").exists()
    return tigta, importer_vkey


def write_batch(capsys, tmp_path: Path, name: str = "batch.json") -> Path:
    batch = tmp_path / name
    code, out, err = run(capsys, "import-accounting", str(EXAMPLE), "--key", IMPORTER, "--countersigner", AUDITOR,
                         "--out", str(batch))
    assert code == 0, err
    assert "nothing appended" in out and "900-7" not in out + err
    return batch


def cosign(capsys, tigta: Path, batch: Path, out: Path, key: str = AUDITOR, *extra: str) -> tuple[int, str, str]:
    return run(capsys, "--keyring", str(tigta), "client", "cosign", str(batch), "--key", key, "--out", str(out),
               *extra)


def test_the_importer_writes_oversight_countersigns_elsewhere_the_operator_submits(env, capsys, tmp_path):
    tigta, importer_vkey = setup(capsys, tmp_path)
    before = size(capsys)
    batch = write_batch(capsys, tmp_path)
    assert size(capsys) == before  # nothing appended
    assert stat.S_IMODE(batch.stat().st_mode) == 0o600  # it holds the openings
    held = json.loads(batch.read_text())
    assert held["format"] == "dl-signing-batch/v1" and len(held["statements"]) == 2
    assert held["signer_vkeys"] == {IMPORTER: importer_vkey}
    assert len(held["openings"]) > 0
    first = held["statements"][0]
    assert f"— {IMPORTER} " in first and f"— {AUDITOR} " not in first

    cosigned = tmp_path / "cosigned.json"
    code, out, err = cosign(capsys, tigta, batch, cosigned, AUDITOR, "--vkey", importer_vkey)
    assert code == 0, err
    ids = [json.loads(note.split("\n")[0])["id"] for note in held["statements"]]
    assert "2 legacy_release statements: disclosed 2025-08-07 to 2025-" in out and "5 lines" in out
    assert all(i in out for i in ids)
    assert "900-7" not in out + err and "Fictional" not in out + err  # never an opening's value
    assert stat.S_IMODE(cosigned.stat().st_mode) == 0o600
    assert "every signer has signed" in out
    for note in json.loads(cosigned.read_text())["statements"]:
        assert parse_statement(note).signers == [IMPORTER, AUDITOR]  # complete: both lines

    code, out, err = run(capsys, "import-accounting", "--submit", str(cosigned))
    assert code == 0, err
    assert "imported 2 disclosures (5 lines)" in out
    assert size(capsys) == before + 2
    last = json.loads(ok(capsys, "entry", str(before + 1)).splitlines()[0])["statement"]
    assert f"— {AUDITOR} " in last and f"— {IMPORTER} " in last


def test_submit_takes_a_cosigned_batch_too(env, capsys, tmp_path):
    tigta, _ = setup(capsys, tmp_path)
    before = size(capsys)
    cosigned = tmp_path / "cosigned.json"
    assert cosign(capsys, tigta, write_batch(capsys, tmp_path), cosigned)[0] == 0
    out = ok(capsys, "submit", str(cosigned))
    assert [json.loads(line)["index"] for line in out.splitlines()] == [before, before + 1]
    assert size(capsys) == before + 2


def _tamper(batch: Path) -> None:
    held = json.loads(batch.read_text())
    held["statements"][1] = held["statements"][1].replace('"disclosed_on":"2025-', '"disclosed_on":"2024-', 1)
    assert held["statements"][1] != json.loads(batch.read_text())["statements"][1]
    batch.write_text(json.dumps(held))


@pytest.mark.parametrize("case, says", [
    ("wrong name", f"does not name {OTHER_AUDITOR} as a signer"),
    ("twice", f"is already signed by {AUDITOR}"),
    ("tampered", "statement 2 of 2 (legacy_release "),
    ("pinned key differs", f"the batch's key for {IMPORTER}"),
])
def test_cosign_refuses_in_one_line_and_writes_nothing(env, capsys, tmp_path, case, says):
    tigta, _ = setup(capsys, tmp_path)
    batch = write_batch(capsys, tmp_path)
    out = tmp_path / "out.json"
    key, extra = AUDITOR, ()
    if case == "wrong name":
        key = OTHER_AUDITOR
    elif case == "twice":
        once = tmp_path / "once.json"
        assert cosign(capsys, tigta, batch, once)[0] == 0
        batch = once
    elif case == "tampered":
        _tamper(batch)
    else:
        extra = ("--vkey", str(SignerKey.generate(IMPORTER).verifier))  # not the key the log registered
    code, printed, err = cosign(capsys, tigta, batch, out, key, *extra)
    assert code == 2 and says in err and len(err.strip().splitlines()) == 1, (code, err)
    assert "Traceback" not in err and printed == ""
    assert not out.exists()
    if case == "tampered":
        assert "does not verify over the signed text" in err


def test_a_batch_lacking_the_countersignature_is_refused_at_submission(env, capsys, tmp_path):
    setup(capsys, tmp_path)
    before = size(capsys)
    batch = write_batch(capsys, tmp_path)
    for argv in (("import-accounting", "--submit", str(batch)), ("submit", str(batch))):
        code, _, err = run(capsys, *argv)
        assert code == 2 and len(err.strip().splitlines()) == 1, (argv, err)
        assert f"lacks the signature of {AUDITOR}" in err and "nothing appended" in err and "Traceback" not in err
        assert size(capsys) == before


def test_the_importer_options_are_checked(env, capsys, tmp_path):
    setup(capsys, tmp_path)
    before = size(capsys)
    batch = tmp_path / "batch.json"
    for argv, says in [
        (("--countersigner", AUDITOR), "--out BATCH"),
        (("--countersigner", ADMIN2, "--out", str(batch)), f"--countersigner {ADMIN2}: no key with the oversight"),
        (("--countersign", AUDITOR, "--countersigner", AUDITOR, "--out", str(batch)), "not both"),
    ]:
        code, _, err = run(capsys, "import-accounting", str(EXAMPLE), "--key", IMPORTER, *argv)
        assert code == 2 and says in err and len(err.strip().splitlines()) == 1, (argv, err)
        assert not batch.exists()
    code, _, err = run(capsys, "import-accounting", "--submit", str(batch), "--key", IMPORTER)
    assert code == 2 and "takes nothing else" in err
    assert size(capsys) == before


def test_the_second_administrator_of_a_cutover_signs_on_their_own_machine(env, capsys, tmp_path):
    other = tmp_path / "admin2-keyring"
    ok(capsys, "init", "--origin", ORIGIN)
    register_elsewhere(capsys, tmp_path, other, ADMIN2, "administrator")
    before = size(capsys)
    batch, cosigned = tmp_path / "cutover.json", tmp_path / "cutover-cosigned.json"
    code, _, err = run(capsys, "--admin", ADMIN, "legacy-cutover", "2026-01-01", "--cosigner", ADMIN2,
                       "--out", str(batch))
    assert code == 0, err
    assert size(capsys) == before
    code, _, err = run(capsys, "submit", str(batch))
    assert code == 2 and f"lacks the signature of {ADMIN2}" in err
    code, out, err = run(capsys, "--keyring", str(other), "client", "cosign", str(batch), "--key", ADMIN2,
                         "--out", str(cosigned))
    assert code == 0, err
    assert "1 policy statement: legacy_cutover 2026-01-01" in out
    assert f"1 statement for {ADMIN2} to sign" in out and f"signed 1 statement as {ADMIN2}:" in out
    ok(capsys, "submit", str(cosigned))
    assert size(capsys) == before + 1
    out = ok(capsys, "import-accounting", str(EXAMPLE), "--key", IMPORTER, "--countersign", "x", "--dry-run")
    assert "all before 2026-01-01" in out  # the cutover is in force now


def test_an_erasures_second_administrator_signs_on_their_own_machine(tmp_path, monkeypatch, capsys):
    """`client erasure --cosigner … --out` and `client cosign`: no database, two keyrings."""
    monkeypatch.delenv("LEDGER_KEYRING", raising=False)
    first, second = tmp_path / "admin-keys", tmp_path / "admin2-keys"
    ok(capsys, "--keyring", str(first), "keys", "proof", ADMIN, "--role", "administrator", "--admin-name", ADMIN2)
    ok(capsys, "--keyring", str(second), "keys", "proof", ADMIN2, "--role", "administrator", "--admin-name", ADMIN)
    spec = tmp_path / "erasure.json"
    spec.write_text(json.dumps({"request": "REQ-1", "commitments": ["a1b2c3d4" * 8], "reason": "retention_expired"}))
    batch, cosigned = tmp_path / "erasure-batch.json", tmp_path / "erasure-cosigned.json"
    code, out, err = run(capsys, "--keyring", str(first), "client", "erasure", "--key", ADMIN, "--input", str(spec),
                         "--cosigner", ADMIN2, "--out", str(batch))
    assert code == 0 and out == "", err
    assert stat.S_IMODE(batch.stat().st_mode) == 0o600
    code, out, err = run(capsys, "--keyring", str(second), "client", "cosign", str(batch), "--key", ADMIN2,
                         "--out", str(cosigned))
    assert code == 0, err
    assert "1 erasure statement: 1 commitment to erase" in out
    stmt = parse_statement(json.loads(cosigned.read_text())["statements"][0])
    assert stmt.type == "erasure" and stmt.signers == [ADMIN, ADMIN2] and len(stmt.note.signatures) == 2
