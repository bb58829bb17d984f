"""The three key drills of docs/OPERATIONS.md § 5, run with the real `disclosure-ledger` commands in the
order the guide gives them, on SQLite and PostgreSQL: a principal's key compromised, revoked and
replaced; the ledger's checkpoint key rotated; the sealed-store and pseudonym keys escrowed, lost
and restored."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from clifix import cli_env, ok, run

from ledger.core.checkpoint import open_checkpoint
from ledger.core.errors import LedgerError
from ledger.core.keys import parse_vkey
from ledger.core.statement import parse_statement

ORIGIN = "ledger.test.example/disclosures"
ADMIN = ORIGIN + "/admin"
DIRECTOR = "ice.dhs.gov/director"
CRIMINAL = "8 USC 1253(a)(1)"


@pytest.fixture
def env(backend_url, tmp_path, monkeypatch):
    return cli_env(tmp_path, monkeypatch, backend_url)


def spec(tmp: Path, tin: str) -> Path:
    body = {"exception": "6103(i)(2)", "agency": "DHS/ICE", "statute": CRIMINAL,
            "purpose": "criminal_investigation", "purpose_text": "fictional", "fields": ["name", "address"],
            "recipients": [{"name": "Agent A", "agency": "DHS/ICE", "caseload": 2}],
            "lines": [{"tin": tin, "name": "Fictional One", "address": "1 Elm St, Boston, MA 02110",
                       "periods": ["2024"], "reason": "open case"}],
            "case_ids": ["FICT-1"], "court_order": None, "resubmits": None}
    path = tmp / f"spec-{tin}.json"
    path.write_text(json.dumps(body))
    return path


def seeded_request(capsys, env: Path, tin: str, keyring: Path | None = None) -> str:
    """The director asks for a salt seed (a signed note), the operator answers it, the director signs the
    request built from it (FORMAT § 13.1); returns the submission."""
    mine = ["--keyring", str(keyring)] if keyring else []
    (env / "seed-request.txt").write_text(ok(capsys, *mine, "client", "seed-request", "--key", DIRECTOR,
                                             "--type", "request", "--origin", ORIGIN))
    (env / "seed.json").write_text(ok(capsys, "salt-seed", str(env / "seed-request.txt")))
    return ok(capsys, *mine, "client", "request", "--key", DIRECTOR, "--spec", str(spec(env, tin)),
              "--seed", str(env / "seed.json"))


def holder_request(capsys, env: Path, holder: Path, tin: str) -> Path:
    """The director, on their own machine, signs a request; returns the submission file."""
    out = seeded_request(capsys, env, tin, holder)
    path = env / f"sub-{tin}.json"
    path.write_text(out)
    return path


def register_from_holder(capsys, env: Path, holder: Path) -> str:
    """§ 4: the holder signs their own registration; the administrator countersigns it. Returns the vkey."""
    proof = env / "director.proof"
    proof.write_text(ok(capsys, "--keyring", str(holder), "keys", "proof", DIRECTOR, "--role", "requester",
                        "--admin-name", ADMIN, "--attr", "agency=DHS/ICE", "--attr", "category=agency_head"))
    vkey = json.loads(proof.read_text().splitlines()[0])["body"]["vkey"]  # as OPERATIONS § 4 reads it
    ok(capsys, "--admin", ADMIN, "keys", "register", DIRECTOR, "--vkey", vkey, "--role", "requester",
       "--proof", str(proof))
    return str(vkey)


def test_drill_principal_key_compromised_revoked_and_replaced(env, capsys):
    """§ 5.1: after `keys revoke`, a statement the stolen key signed is refused; the holder's new key, registered
    by proof, is accepted; the old key can never be registered again; verify passes."""
    holder = env / "director-machine"
    ok(capsys, "init", "--origin", ORIGIN)
    old_vkey = register_from_holder(capsys, env, holder)
    ok(capsys, "submit", str(holder_request(capsys, env, holder, "900-70-0001")))
    stolen = holder_request(capsys, env, holder, "900-70-0002")  # signed by the key, not yet submitted

    revoked = json.loads(ok(capsys, "keys", "revoke", DIRECTOR, "--reason", "compromised"))
    code, _, err = run(capsys, "submit", str(stolen))
    assert code == 1 and "trust.revoked_key" in err

    key_file = holder / (DIRECTOR.replace("/", "__") + ".key")
    quarantine = env / "quarantine"
    quarantine.mkdir()
    shutil.move(key_file, quarantine / key_file.name)  # the compromised key leaves the keyring
    new_vkey = register_from_holder(capsys, env, holder)
    assert new_vkey != old_vkey
    ok(capsys, "submit", str(holder_request(capsys, env, holder, "900-70-0003")))

    listed = [line.split("\t") for line in ok(capsys, "keys", "list").splitlines() if line.startswith(DIRECTOR)]
    assert [(k, state) for k, _, _, state in listed] == [(old_vkey, f"revoked at {revoked['index']}"),
                                                         (new_vkey, "valid")]
    # the stolen key cannot come back through a fresh proof
    thief = env / "thief"
    thief.mkdir()
    shutil.copy(quarantine / key_file.name, thief / key_file.name)
    code, _, err = run(capsys, "--keyring", str(thief), "keys", "proof", DIRECTOR, "--role", "requester",
                       "--admin-name", ADMIN, "--attr", "agency=DHS/ICE", "--attr", "category=agency_head")
    assert code == 0
    (env / "thief.proof").write_text(_)
    code, _, err = run(capsys, "--admin", ADMIN, "keys", "register", DIRECTOR, "--vkey", old_vkey, "--role",
                       "requester", "--proof", str(env / "thief.proof"))
    assert code == 1 and "registered" in err, err  # a key once registered is never registered again
    assert ok(capsys, "verify").startswith("ok:")


def _signature_lines(note: str) -> list[str]:
    return [line for line in note.splitlines() if line.startswith("— ")]


def test_drill_ledger_checkpoint_key_rotated(env, capsys):
    """§ 5.2 step by step: during the overlap a checkpoint carries both keys (old and new trust roots verify it);
    after --retire-old only the new key signs; verify passes throughout."""
    ok(capsys, "init", "--origin", ORIGIN)
    ok(capsys, "keys", "new", DIRECTOR, "--role", "requester", "--attr", "agency=DHS/ICE")
    keys = Path(env / "var" / "service-keys")
    shutil.copytree(keys, env / "escrow-before-rotation")                  # 1. back up
    old_root = ok(capsys, "vkey").strip()
    new_root = ok(capsys, "rotate-ledger-key").splitlines()[-1].strip()    # 2. rotate
    assert new_root != old_root and not (keys / "pending").exists()
    ok(capsys, "keys", "new", "irs.gov/disclosure/officer-0042", "--role", "reviewer")  # 3. the log grows
    overlap = ok(capsys, "checkpoint")                                     # 4. two signature lines
    assert len(_signature_lines(overlap)) == 2
    assert ok(capsys, "vkey").strip() == new_root                          # 5. the new trust root
    for root in (old_root, new_root):  # a monitor pinned to either root accepts the handover checkpoint
        open_checkpoint(overlap, parse_vkey(root))
    ok(capsys, "rotate-ledger-key", "--retire-old")                        # 6. end the overlap
    ok(capsys, "keys", "new", "irs.gov/disclosure/release-0007", "--role", "releaser")
    after = ok(capsys, "checkpoint")                                       # 7. one signature line
    assert len(_signature_lines(after)) == 1
    open_checkpoint(after, parse_vkey(new_root))
    with pytest.raises(LedgerError):
        open_checkpoint(after, parse_vkey(old_root))  # the retired key signs nothing more
    assert ok(capsys, "verify").startswith("ok:")


def test_drill_sealed_and_pseudonym_keys_escrowed_lost_and_restored(env, capsys, monkeypatch):
    """§ 5.3: escrow under a passphrase, lose the key files, restore them from the bundle: the same key ids,
    openings sealed before the loss open again (a bundle with --openings); a wrong passphrase restores nothing."""
    ok(capsys, "init", "--origin", ORIGIN)
    ok(capsys, "keys", "new", DIRECTOR, "--role", "requester", "--attr", "agency=DHS/ICE",
       "--attr", "category=agency_head")
    out = seeded_request(capsys, env, "900-70-0001")
    (env / "sub.json").write_text(out)
    request_id = parse_statement(json.loads(out)["statement"]).id
    ok(capsys, "submit", str(env / "sub.json"))
    ids = json.loads(ok(capsys, "sealed-keys", "ids"))

    monkeypatch.delenv("LEDGER_ESCROW_PASSPHRASE", raising=False)
    code, _, err = run(capsys, "sealed-keys", "escrow", "--out", str(env / "escrow.json"))
    assert code == 1 and "LEDGER_ESCROW_PASSPHRASE" in err  # no default passphrase
    passphrase = "correct horse battery staple 2026"
    monkeypatch.setenv("LEDGER_ESCROW_PASSPHRASE", passphrase)
    escrowed = ok(capsys, "sealed-keys", "escrow", "--out", str(env / "escrow.json"))
    assert passphrase not in escrowed and json.loads(escrowed)["escrowed"] == ids
    assert json.loads(ok(capsys, "sealed-keys", "ids", "--bundle", str(env / "escrow.json"))) == ids
    bundle_bytes = (env / "escrow.json").read_bytes()
    for key_file in (env / "sealed").iterdir():
        assert key_file.read_text().strip().encode() not in bundle_bytes

    shutil.rmtree(env / "sealed")  # the keys are lost
    code, _, err = run(capsys, "bundle", request_id, "--out", str(env / "ev-lost"), "--openings")
    assert code == 1

    monkeypatch.setenv("LEDGER_ESCROW_PASSPHRASE", passphrase + "!")
    code, _, err = run(capsys, "sealed-keys", "restore", str(env / "escrow.json"), "--out", str(env / "restored"))
    assert code == 1 and "passphrase" in err and not (env / "restored" / "sealed.key").exists()
    monkeypatch.setenv("LEDGER_ESCROW_PASSPHRASE", passphrase)
    restored = ok(capsys, "sealed-keys", "restore", str(env / "escrow.json"), "--out", str(env / "restored"))
    assert json.loads(restored)["restored"] == ids
    monkeypatch.setenv("LEDGER_SEALED_KEY_DIR", str(env / "restored"))
    assert json.loads(ok(capsys, "sealed-keys", "ids")) == ids
    ok(capsys, "bundle", request_id, "--out", str(env / "ev"), "--openings")
    openings = list((env / "ev").rglob("*opening*"))
    assert openings, sorted(p.name for p in (env / "ev").rglob("*"))
    assert "900-70-0001" in "".join(p.read_text() for p in openings if p.is_file())
