"""The matcher as a deployable principal: its store (an encrypted master-file extract), `matcher run`
matching every filed request once, and the officer's queue filling from it (real SQLite, real crypto)."""

from __future__ import annotations

import csv
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.cli import main

ORIGIN = "ledger.test.example/disclosures"
VERIFIER = Path(__file__).resolve().parents[2] / "scripts" / "verify_ledger.py"
PEOPLE = [("900-70-0001", "ITIN", "Fictional One", "1 Elm St, Boston, MA 02110", "1980-04-01"),
          ("900-70-0002", "ITIN", "Fictional Two", "2 Oak Ave, Boston, MA 02111", ""),
          ("666-01-0003", "SSN", "Fictional Three", "3 Pine Rd, Austin, TX 78701", "1975-12-31")]


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("LEDGER_VAR", str(tmp_path / "var"))
    monkeypatch.setenv("LEDGER_SEALED_KEY_DIR", str(tmp_path / "sealed"))
    monkeypatch.setenv("LEDGER_MATCHER_KEY_FILE", str(tmp_path / "matcher.key"))
    monkeypatch.delenv("LEDGER_DB_URL", raising=False)
    monkeypatch.delenv("LEDGER_MATCHER_STORE", raising=False)
    from ledger.sealed import SealedKeys

    SealedKeys.generate(tmp_path / "sealed")
    return tmp_path


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def queued(out: str, request: str) -> list[dict]:
    """The request's rows in `officer queue`'s output (JSON lines)."""
    return [q for q in map(json.loads, out.splitlines()) if q["request"] == request]


def write_extract(path: Path, rows) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["tin", "tin_type", "name", "address", "dob"])
        w.writerows(rows)
    return path


def setup_ledger(capsys, env: Path) -> None:
    assert _run(capsys, "init", "--origin", ORIGIN)[0] == 0
    for argv in (["ice.dhs.gov/director", "--role", "requester", "--attr", "agency=DHS/ICE",
                  "--attr", "category=agency_head"],
                 ["irs.gov/matcher", "--role", "matcher", "--attr", "agency=IRS"],
                 ["irs.gov/disclosure/officer-0042", "--role", "reviewer", "--attr", "agency=IRS"],
                 ["ice.dhs.gov/agent-a", "--role", "recipient", "--attr", "agency=DHS/ICE",
                  "--countersign", "ice.dhs.gov/director"]):
        code, _, err = _run(capsys, "keys", "new", *argv)
        assert code == 0, err


def file_request(capsys, env: Path, lines: list[dict], fields: tuple[str, ...] = ("name", "address")) -> str:
    code, out, err = _run(capsys, "client", "seed-request", "--key", "ice.dhs.gov/director", "--type", "request",
                          "--origin", ORIGIN)
    assert code == 0, err
    (env / "seed-request.txt").write_text(out)
    code, out, err = _run(capsys, "salt-seed", str(env / "seed-request.txt"))
    assert code == 0, err
    (env / "seed.json").write_text(out)
    spec = {"exception": "6103(i)(2)", "agency": "DHS/ICE", "statute": "8 USC 1253(a)(1)",
            "purpose": "criminal_investigation", "purpose_text": "fictional", "fields": list(fields),
            "recipients": [{"name": "Agent A", "agency": "DHS/ICE", "caseload": 2, "principal": "ice.dhs.gov/agent-a"}],
            "lines": lines,
            "case_ids": ["FICT-1"], "court_order": None, "resubmits": None}
    (env / "spec.json").write_text(json.dumps(spec))
    code, out, err = _run(capsys, "client", "request", "--key", "ice.dhs.gov/director", "--spec",
                          str(env / "spec.json"), "--seed", str(env / "seed.json"))
    assert code == 0, err
    (env / "sub.json").write_text(out)
    code, out, err = _run(capsys, "submit", str(env / "sub.json"))
    assert code == 0, err
    return json.loads(out)["id"]


def four_lines() -> list[dict]:
    """Three lines whose TIN, name and address agree with the extract, and one placeholder address."""
    lines = [{"tin": t, "name": n, "address": a, "periods": ["2024"], "reason": f"open case {i}"}
             for i, (t, _, n, a, _) in enumerate(PEOPLE)]
    lines.append({"tin": PEOPLE[0][0], "name": PEOPLE[0][2], "address": "Failed to Provide", "periods": ["2024"],
                  "reason": "open case 3"})
    return lines


def test_a_request_filed_from_the_cli_is_matched_by_matcher_run(env, capsys):
    """Filed from the CLI, a request used to wait for ever: `officer queue` printed nothing and `officer sheet`
    said "no complete match result yet". `matcher run` matches it with the matcher's key, from its own store,
    and the officer can review it; a second run finds nothing to do."""
    setup_ledger(capsys, env)
    request = file_request(capsys, env, four_lines())
    assert [q["waits_for"] for q in queued(_run(capsys, "officer", "queue")[1], request)] == [["match_result"]]
    code, out, _ = _run(capsys, "matcher", "new-key", "--out", str(env / "matcher.key"))
    assert code == 0 and len(json.loads(out)["key_id"]) == 16
    assert stat.S_IMODE(os.stat(env / "matcher.key").st_mode) == 0o600
    code, out, err = _run(capsys, "matcher", "import-master", str(write_extract(env / "extract.csv", PEOPLE)))
    assert code == 0, err
    store = env / "var" / "matcher" / "master.store"
    assert json.loads(out) == {"imported": 3, "store": str(store)}
    assert stat.S_IMODE(os.stat(store).st_mode) == 0o600
    data = store.read_bytes()
    for clear in (b"Fictional", b"900700001", b"Elm St", b"Boston"):
        assert clear not in data  # encrypted at rest
    code, out, err = _run(capsys, "matcher", "run", "--key", "irs.gov/matcher")
    assert code == 0, err
    done = [json.loads(x) for x in out.splitlines()]
    assert [(d["request"], d["lines"], d["matched"], d["resumed"]) for d in done] == [(request, 4, 4, False)]
    for clear in ("Fictional", "900", "Elm St"):
        assert clear not in out + err
    code, out, _ = _run(capsys, "officer", "queue")
    waiting = queued(out, request)
    assert code == 0 and len(waiting) == 1 and waiting[0]["waits_for"] == ["review"]
    assert "placeholder_addresses" in waiting[0]["red_flags"]
    assert _run(capsys, "officer", "sheet", request, "--out", str(env / "sheet.csv"))[0] == 0
    rows = list(csv.DictReader((env / "sheet.csv").open()))
    assert [(r["decision"], r["match_basis"]) for r in rows] == [
        ("approve", "address+name+tin")] * 3 + [("refuse", "name+tin")]
    code, out, err = _run(capsys, "matcher", "run", "--key", "irs.gov/matcher")
    assert code == 0 and out == "" and "matched 0 requests" in err


def test_bad_extracts_are_one_line_naming_row_and_field_and_import_nothing(env, capsys):
    """A bad extract: exit 2, one line naming the file, row and field (never the value), and the store that was
    there is left exactly as it was."""
    assert _run(capsys, "matcher", "new-key", "--out", str(env / "matcher.key"))[0] == 0
    assert _run(capsys, "matcher", "new-key", "--out", str(env / "matcher.key"))[0] == 1  # never overwritten
    good = write_extract(env / "good.csv", PEOPLE)
    assert _run(capsys, "matcher", "import-master", str(good))[0] == 0
    store = env / "var" / "matcher" / "master.store"
    before = store.read_bytes()
    cases = {
        "tin": ([*list(PEOPLE[:1]), ("12-34", "ITIN", "X Y", "1 A St, B, MA 02110", "")], "row 3, field tin"),
        "dup": ([*list(PEOPLE), PEOPLE[1]], "row 5, field tin"),
        "type": ([("900-70-0009", "EIN", "X Y", "1 A St, B, MA 02110", "")], "row 2, field tin_type"),
        "name": ([("900-70-0009", "ITIN", " ", "1 A St, B, MA 02110", "")], "row 2, field name"),
        "dob": ([("900-70-0009", "ITIN", "X Y", "1 A St, B, MA 02110", "1980-13-45")], "row 2, field dob"),
    }
    for label, (rows, where) in cases.items():
        path = write_extract(env / f"bad-{label}.csv", rows)
        code, out, err = _run(capsys, "matcher", "import-master", str(path))
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, (label, err)
        assert f"{path}: {where}" in err, err
        assert "12-34" not in err and "EIN" not in err and "1980-13-45" not in err
        assert store.read_bytes() == before
    (env / "header.csv").write_text("tin,name,address,dob\n900700001,A B,1 A St,\n")
    code, _, err = _run(capsys, "matcher", "import-master", str(env / "header.csv"))
    assert code == 2 and "missing column 'tin_type'" in err
    code, _, err = _run(capsys, "matcher", "import-master", str(env / "nowhere.csv"))
    assert code == 2 and "nowhere.csv: cannot be read" in err
    assert store.read_bytes() == before
    assert [p.name for p in store.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_the_store_refuses_another_key_a_truncated_or_altered_file(env, tmp_path):
    from ledger.domain.matcher_store import MatcherStoreError, import_extract, load_master, new_key, read_key

    new_key(tmp_path / "k1")
    new_key(tmp_path / "k2")
    k1, k2 = read_key(tmp_path / "k1"), read_key(tmp_path / "k2")
    store = tmp_path / "s" / "master.store"
    assert import_extract(write_extract(tmp_path / "e.csv", PEOPLE), store, k1) == 3
    assert len(load_master(store, k1)) == 3
    with pytest.raises(MatcherStoreError, match="sealed under the key"):
        load_master(store, k2)
    data = store.read_bytes()
    for bad in (data[:-5], data[:-20] + bytes(20), data + b"x"):
        store.write_bytes(bad)
        with pytest.raises(MatcherStoreError):
            load_master(store, k1)
    with pytest.raises(MatcherStoreError, match="no matcher store key"):
        os.environ.pop("LEDGER_MATCHER_KEY_FILE", None)
        read_key(None)


def test_an_extract_of_100000_records_is_imported_and_matched_against(env, capsys):
    """At the scale of a real extract: 100,000 synthetic records in, every one back out under the key, and
    the matcher finding people in it by TIN and by name and address."""
    from ledger.domain.masterfile import MasterFile
    from ledger.domain.matcher import match_line
    from ledger.domain.matcher_store import load_master, read_key

    master = MasterFile.generate(100_000, 2026)
    path = write_extract(env / "big.csv", ([r.tin, r.tin_type, r.name, r.address, r.dob or ""] for r in master))
    assert _run(capsys, "matcher", "new-key", "--out", str(env / "matcher.key"))[0] == 0
    code, out, err = _run(capsys, "matcher", "import-master", str(path))
    assert code == 0 and json.loads(out)["imported"] == 100_000, err
    store = env / "var" / "matcher" / "master.store"
    assert stat.S_IMODE(os.stat(store).st_mode) == 0o600
    loaded = load_master(store, read_key(env / "matcher.key"))
    assert len(loaded) == 100_000
    assert [(r.tin, r.name, r.address, r.dob) for r in loaded.records[::997]] == [
        (r.tin, r.name, r.address, r.dob) for r in master.records[::997]]
    for r in master.records[::25_000]:
        result = match_line({"tin": r.tin, "name": r.name, "address": r.address}, loaded)
        assert result.matched and set(result.match_basis) == {"tin", "name", "address"}


def _register(capsys, name: str, role: str, *attrs: str) -> None:
    argv = ["keys", "new", name, "--role", role]
    for a in attrs:
        argv += ["--attr", a]
    code, _, err = _run(capsys, *argv)
    assert code == 0, err


def _court(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(VERIFIER), *args], capture_output=True, text=True, timeout=120)


def test_release_file_writes_exactly_the_approved_lines_and_the_court_checks_it(env, capsys):
    """`release-file` writes the approved lines x the released fields, the releaser signs a release over the
    file, `bundle --delivered` carries it, and the court's verifier with openings checks it holds exactly what
    was approved; a signed file whose values are not the committed ones is caught."""
    from ledger.authoring import disclosure as dc
    from ledger.bootstrap import open_ledger
    from ledger.client.keyring import Keyring
    from ledger.config import Settings

    setup_ledger(capsys, env)
    _register(capsys, "irs.gov/disclosure/release-0007", "releaser", "agency=IRS")
    _register(capsys, "tigta.gov/auditor-01", "oversight", "agency=TIGTA")
    request = file_request(capsys, env, four_lines())
    assert _run(capsys, "matcher", "new-key", "--out", str(env / "matcher.key"))[0] == 0
    assert _run(capsys, "matcher", "import-master", str(write_extract(env / "x.csv", PEOPLE)))[0] == 0
    assert _run(capsys, "matcher", "run", "--key", "irs.gov/matcher")[0] == 0
    keyring = Keyring(env / "var" / "keyring")
    with open_ledger(Settings.from_env(None, env / "var")) as ledger:
        ledger.append(dc.recipient_attestation(keyring.get("ice.dhs.gov/agent-a"), request, 0).note)
        ledger.append(dc.safeguard_status(keyring.get("tigta.gov/auditor-01"), "DHS/ICE", ssr_approved=True).note)
    assert _run(capsys, "officer", "sheet", request, "--out", str(env / "sheet.csv"))[0] == 0
    code, out, err = _run(capsys, "officer", "review", request, "--csv", str(env / "sheet.csv"), "--key",
                          "irs.gov/disclosure/officer-0042")
    assert code == 0, err
    review = json.loads(out)["review"]
    delivered = env / "delivered.jsonl"
    code, _, err = _run(capsys, "release-file", request, "--review", "not-the-review", "--out", str(delivered))
    assert code == 1 and "is not the review of request" in err and not delivered.exists()
    code, out, err = _run(capsys, "release-file", request, "--review", review, "--out", str(delivered))
    assert code == 0, err
    made = json.loads(out)
    assert made["lines"] == [0, 1, 2] and made["fields"] == ["name", "address"]
    assert stat.S_IMODE(os.stat(delivered).st_mode) == 0o600
    rows = [json.loads(x) for x in delivered.read_text(encoding="utf-8").splitlines()]
    assert rows[0] == {"fields": ["name", "address"], "format": "dl-disclosure-file/v1", "lines": 3,
                       "request": request, "review": review}
    assert rows[1:] == [{"line": k, "name": n, "address": a} for k, (_, _, n, a, _) in enumerate(PEOPLE)]
    assert "Failed to Provide" not in delivered.read_text()
    assert _run(capsys, "release-file", request, "--review", review, "--out", str(delivered))[0] == 2  # no overwrite
    code, out, err = _run(capsys, "client", "release", "--key", "irs.gov/disclosure/release-0007", "--request",
                          request, "--review", review, "--lines", "0,1,2", "--fields", "name,address",
                          "--file", str(delivered))
    assert code == 0, err
    (env / "release.json").write_text(out)
    code, out, err = _run(capsys, "submit", str(env / "release.json"))
    assert code == 0, err
    assert json.loads(json.loads((env / "release.json").read_text())["statement"].split("\n")[0])[
        "body"]["file_sha256"] == made["sha256"]
    code, _, err = _run(capsys, "release-file", request, "--review", review, "--out", str(env / "again.jsonl"))
    assert code == 1 and "no approved line left to release" in err

    bundle = env / "bundle"
    code, _, err = _run(capsys, "bundle", request, "--out", str(bundle), "--openings", "--delivered", str(delivered))
    assert code == 0 and "1 delivered files" in err, err
    assert (bundle / "delivered" / "delivered.jsonl").read_bytes() == delivered.read_bytes()
    done = _court("--bundle", str(bundle), "--openings")
    assert done.returncode == 0 and "3 lines" not in done.stderr, done.stdout + done.stderr
    assert "delivered files hold exactly the lines and fields their releases signed, each value the one its " \
           "commitment opens to" in done.stdout
    # a file no release signed cannot go into a bundle; one changed inside a bundle fails the court's check
    forged = env / "forged.jsonl"
    forged.write_bytes(delivered.read_bytes().replace(b"Fictional Two", b"Fictional Twin"))
    code, _, err = _run(capsys, "bundle", request, "--out", str(env / "b2"), "--delivered", str(forged))
    assert code == 1 and "is no release's file_sha256" in err
    (bundle / "delivered" / "delivered.jsonl").write_bytes(forged.read_bytes())
    failed = _court("--bundle", str(bundle), "--openings")
    assert failed.returncode == 1 and "is no bundled release's file_sha256" in failed.stdout + failed.stderr


def test_a_signed_file_holding_other_values_than_the_approved_lines_fails_the_court(env, capsys):
    """The rules never see the file, only its hash: a releaser who signs a file with a value that is not the
    line's (or a line the release does not name) is caught by the court's verifier with openings."""
    from ledger.core.delivered import delivered_file

    setup_ledger(capsys, env)
    _register(capsys, "irs.gov/disclosure/release-0007", "releaser", "agency=IRS")
    _register(capsys, "tigta.gov/auditor-01", "oversight", "agency=TIGTA")
    from ledger.authoring import disclosure as dc
    from ledger.bootstrap import open_ledger
    from ledger.client.keyring import Keyring
    from ledger.config import Settings

    request = file_request(capsys, env, four_lines())
    assert _run(capsys, "matcher", "new-key", "--out", str(env / "matcher.key"))[0] == 0
    assert _run(capsys, "matcher", "import-master", str(write_extract(env / "x.csv", PEOPLE)))[0] == 0
    assert _run(capsys, "matcher", "run", "--key", "irs.gov/matcher")[0] == 0
    keyring = Keyring(env / "var" / "keyring")
    with open_ledger(Settings.from_env(None, env / "var")) as ledger:
        ledger.append(dc.recipient_attestation(keyring.get("ice.dhs.gov/agent-a"), request, 0).note)
        ledger.append(dc.safeguard_status(keyring.get("tigta.gov/auditor-01"), "DHS/ICE", ssr_approved=True).note)
    assert _run(capsys, "officer", "sheet", request, "--out", str(env / "sheet.csv"))[0] == 0
    code, out, _ = _run(capsys, "officer", "review", request, "--csv", str(env / "sheet.csv"), "--key",
                        "irs.gov/disclosure/officer-0042")
    review = json.loads(out)["review"]
    rows = [{"line": k, "name": n, "address": a} for k, (_, _, n, a, _) in enumerate(PEOPLE)]
    rows[1]["address"] = "99 Other St, Boston, MA 02111"
    forged = env / "forged.jsonl"
    forged.write_bytes(delivered_file(request, review, ["name", "address"], rows))
    code, out, err = _run(capsys, "client", "release", "--key", "irs.gov/disclosure/release-0007", "--request",
                          request, "--review", review, "--lines", "0,1,2", "--fields", "name,address",
                          "--file", str(forged))
    (env / "release.json").write_text(out)
    assert _run(capsys, "submit", str(env / "release.json"))[0] == 0  # the log sees only the hash
    code, _, err = _run(capsys, "bundle", request, "--out", str(env / "bundle"), "--openings",
                        "--delivered", str(forged))
    assert code == 0, err
    assert _court("--bundle", str(env / "bundle")).returncode == 0  # without openings: the shape only
    failed = _court("--bundle", str(env / "bundle"), "--openings")
    assert failed.returncode == 1
    assert "forged.jsonl, line 3, field address: not the value line 1's commitment opens to" in failed.stdout
    assert "99 Other St" not in failed.stdout + failed.stderr


def test_a_store_normalised_by_other_rules_is_normalised_again(tmp_path, monkeypatch):
    """Names and addresses are normalised at import and kept; a store made under another version of the rules
    is normalised again when loaded, so the matcher always answers by the rules in force."""
    from ledger.domain import matcher_store
    from ledger.domain.masterfile import MasterFile

    matcher_store.new_key(tmp_path / "k")
    key = matcher_store.read_key(tmp_path / "k")
    extract = write_extract(tmp_path / "e.csv", PEOPLE)
    fresh = MasterFile([matcher_store.TaxpayerRecord(*row[:5]) for row in PEOPLE])
    with monkeypatch.context() as m:
        m.setattr(matcher_store, "NORMALISED_BY", "match-1999/addr-1999")
        m.setattr(matcher_store, "normalise_name", lambda text: "STALE")
        matcher_store.import_extract(extract, tmp_path / "old.store", key)
        stale = matcher_store.load_master(tmp_path / "old.store", key)  # under those rules: their keys
        assert {stale.identity_keys(r)[0] for r in stale} == {"STALE"}
    loaded = matcher_store.load_master(tmp_path / "old.store", key)
    assert [loaded.identity_keys(r) for r in loaded] == [fresh.identity_keys(r) for r in fresh]
    matcher_store.import_extract(extract, tmp_path / "new.store", key)
    kept = matcher_store.load_master(tmp_path / "new.store", key)
    assert [kept.identity_keys(r) for r in kept] == [fresh.identity_keys(r) for r in fresh]


def test_release_file_of_the_tin_gives_the_matched_tin_and_refuses_fields_not_requested(env, capsys):
    """A released `tin` is the TIN the match result committed to (the IRS record's, in its 9 digits), and the
    court's check opens it there; a field the request did not ask for is refused (exit 2), nothing written."""
    from ledger.authoring import disclosure as dc
    from ledger.bootstrap import open_ledger
    from ledger.client.keyring import Keyring
    from ledger.config import Settings

    setup_ledger(capsys, env)
    _register(capsys, "irs.gov/disclosure/release-0007", "releaser", "agency=IRS")
    _register(capsys, "tigta.gov/auditor-01", "oversight", "agency=TIGTA")
    request = file_request(capsys, env, four_lines(), fields=("name", "address", "tin"))
    assert _run(capsys, "matcher", "new-key", "--out", str(env / "matcher.key"))[0] == 0
    assert _run(capsys, "matcher", "import-master", str(write_extract(env / "x.csv", PEOPLE)))[0] == 0
    assert _run(capsys, "matcher", "run", "--key", "irs.gov/matcher")[0] == 0
    keyring = Keyring(env / "var" / "keyring")
    with open_ledger(Settings.from_env(None, env / "var")) as ledger:
        ledger.append(dc.recipient_attestation(keyring.get("ice.dhs.gov/agent-a"), request, 0).note)
        ledger.append(dc.safeguard_status(keyring.get("tigta.gov/auditor-01"), "DHS/ICE", ssr_approved=True).note)
    assert _run(capsys, "officer", "sheet", request, "--out", str(env / "sheet.csv"))[0] == 0
    code, out, _ = _run(capsys, "officer", "review", request, "--csv", str(env / "sheet.csv"), "--key",
                        "irs.gov/disclosure/officer-0042")
    review = json.loads(out)["review"]
    out_file = env / "tin.jsonl"
    code, _, err = _run(capsys, "release-file", request, "--review", review, "--out", str(out_file),
                        "--fields", "tin,dob")
    assert code == 2 and "--fields: dob is not a field the request asked for" in err and not out_file.exists()
    code, out, err = _run(capsys, "release-file", request, "--review", review, "--out", str(out_file),
                          "--fields", "tin,name")
    assert code == 0, err
    rows = [json.loads(x) for x in out_file.read_text().splitlines()[1:]]
    assert rows == [{"line": k, "tin": t.replace("-", ""), "name": n} for k, (t, _, n, _, _) in enumerate(PEOPLE)]
    code, out, err = _run(capsys, "client", "release", "--key", "irs.gov/disclosure/release-0007", "--request",
                          request, "--review", review, "--lines", "0,1,2", "--fields", "tin,name",
                          "--file", str(out_file))
    (env / "release.json").write_text(out)
    assert _run(capsys, "submit", str(env / "release.json"))[0] == 0
    assert _run(capsys, "bundle", request, "--out", str(env / "b"), "--openings", "--delivered", str(out_file))[0] == 0
    done = _court("--bundle", str(env / "b"), "--openings")
    assert done.returncode == 0 and "each value the one its commitment opens to" in done.stdout, done.stdout


def test_matcher_run_and_release_file_never_make_a_ledger_and_the_store_needs_no_database(env, capsys, monkeypatch):
    """`matcher run` and `release-file` on a folder without a ledger refuse and create nothing; the store's
    key and import touch no database at all (a server that does not answer is not asked)."""
    db = env / "var" / "ledger.sqlite3"
    code, _, err = _run(capsys, "matcher", "run", "--key", "irs.gov/matcher")
    assert code == 1 and str(db) in err and not db.exists()
    code, _, err = _run(capsys, "release-file", "REQ", "--review", "REV", "--out", str(env / "f.jsonl"))
    assert code == 1 and str(db) in err and not db.exists() and not (env / "f.jsonl").exists()
    monkeypatch.setenv("LEDGER_DB_URL", "postgresql://nobody@127.0.0.1:1/nothing")
    assert _run(capsys, "matcher", "new-key", "--out", str(env / "matcher.key"))[0] == 0
    code, out, err = _run(capsys, "matcher", "import-master", str(write_extract(env / "e.csv", PEOPLE)))
    assert code == 0 and json.loads(out)["imported"] == 3, err
