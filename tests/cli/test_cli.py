"""The `disclosure-ledger` command, in-process: operator, principal and court paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger.cli import main


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("LEDGER_VAR", str(tmp_path / "var"))
    monkeypatch.setenv("LEDGER_SEALED_KEY_DIR", str(tmp_path / "sealed"))
    monkeypatch.delenv("LEDGER_DB_URL", raising=False)
    from ledger.sealed import SealedKeys

    SealedKeys.generate(tmp_path / "sealed")
    return tmp_path


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _spec(tmp: Path, statute: str) -> Path:
    spec = {"exception": "6103(i)(2)", "agency": "DHS/ICE", "statute": statute,
            "purpose": "criminal_investigation", "purpose_text": "fictional", "fields": ["name", "address"],
            "recipients": [{"name": "Agent A", "agency": "DHS/ICE", "caseload": 2}],
            "lines": [{"tin": "900-70-0001", "name": "Fictional One", "address": "1 Elm St, Boston, MA 02110",
                       "periods": ["2024"], "reason": "open case"}],
            "case_ids": ["FICT-1"], "court_order": None, "resubmits": None}
    path = tmp / f"spec-{statute.replace(' ', '_')}.json"
    path.write_text(json.dumps(spec))
    return path


def _request(capsys, env: Path, statute: str) -> tuple[int, str, str]:
    """The principal's three steps: a signed seed request, the operator's answer, the request built from it."""
    code, out, err = _run(capsys, "client", "seed-request", "--key", "ice.dhs.gov/director", "--type", "request",
                          "--origin", "ledger.test.example/disclosures")
    assert code == 0, err
    (env / "seed-request.txt").write_text(out)
    code, out, err = _run(capsys, "salt-seed", str(env / "seed-request.txt"))
    assert code == 0, err
    (env / "seed.json").write_text(out)
    return _run(capsys, "client", "request", "--key", "ice.dhs.gov/director", "--spec", str(_spec(env, statute)),
                "--seed", str(env / "seed.json"))


def test_operator_and_principal_paths(env, capsys):
    """init, keys, a signed request submitted with openings, a blocked one, verify, proofs, export."""
    assert _run(capsys, "init", "--origin", "ledger.test.example/disclosures")[0] == 0
    code, out, _ = _run(capsys, "keys", "new", "ice.dhs.gov/director", "--role", "requester",
                        "--attr", "agency=DHS/ICE", "--attr", "category=agency_head")
    assert code == 0 and json.loads(out)["index"] == 1
    code, out, _ = _request(capsys, env, "8 USC 1253(a)(1)")
    assert code == 0
    submission = env / "sub.json"
    submission.write_text(out)
    assert "900-70-0001" not in json.loads(out)["statement"]
    code, out, _ = _run(capsys, "submit", str(submission))
    assert code == 0 and json.loads(out)["index"] == 2
    code, out, _ = _request(capsys, env, "8 USC 1231")
    (env / "civil.json").write_text(out)
    code, _, err = _run(capsys, "submit", str(env / "civil.json"))
    assert code == 1 and "6103(i)(2).criminal_statute" in err and "blocked entry 3" in err
    assert _run(capsys, "verify")[0] == 0
    code, out, _ = _run(capsys, "prove", "inclusion", "2")
    assert json.loads(out)["tree_size"] == 4
    code, out, _ = _run(capsys, "prove", "consistency", "1", "4")
    assert json.loads(out)["old_size"] == 1
    assert _run(capsys, "export", "--out", str(env / "export.jsonl"))[0] == 0
    assert len((env / "export.jsonl").read_bytes().splitlines()) == 4
    code, out, _ = _run(capsys, "vkey")
    assert out.startswith("ledger.test.example/disclosures+")


def test_bad_submission_is_a_clear_error(env, capsys):
    """A submission that is not JSON is refused with a message, exit 1."""
    _run(capsys, "init", "--origin", "ledger.test.example/disclosures")
    bad = env / "bad.json"
    bad.write_text("not json")
    code, _, err = _run(capsys, "submit", str(bad))
    assert code == 1 and "submission" in err


def test_sealed_keys_have_no_default(env, capsys, monkeypatch):
    """Without sealed-store keys configured, submit refuses and says which variables to set."""
    monkeypatch.delenv("LEDGER_SEALED_KEY_DIR")
    _run(capsys, "init", "--origin", "ledger.test.example/disclosures")
    sub = env / "s.json"
    sub.write_text(json.dumps({"statement": "x", "openings": []}))
    code, _, err = _run(capsys, "submit", str(sub))
    assert code == 1 and "LEDGER_SEALED_KEY" in err


def test_officer_queue_sheet_review_and_return(env, capsys):
    """The officer's commands: queue, sheet (CSV), review from the edited sheet, the review back
    out to CSV, a bad sheet refused with its row, and a request returned for correction."""
    import csv

    from ledger.authoring.trust import signed
    from ledger.bootstrap import open_ledger
    from ledger.client.keyring import Keyring
    from ledger.config import Settings
    from ledger.core.commitments import commit

    _run(capsys, "init", "--origin", "ledger.test.example/disclosures")
    _run(capsys, "keys", "new", "ice.dhs.gov/director", "--role", "requester", "--attr", "agency=DHS/ICE",
         "--attr", "category=agency_head")
    for name, role in (("irs.gov/matcher", "matcher"), ("irs.gov/disclosure/officer-0042", "reviewer")):
        _run(capsys, "keys", "new", name, "--role", role, "--attr", "agency=IRS")
    request_ids = []
    for _ in range(2):
        _, out, _ = _request(capsys, env, "8 USC 1253(a)(1)")
        (env / "sub.json").write_text(out)
        request_ids.append(json.loads(json.loads(out)["statement"].split("\n")[0])["id"])
        assert _run(capsys, "submit", str(env / "sub.json"))[0] == 0
    first, second = request_ids
    code, out, _ = _run(capsys, "officer", "queue")
    queue = [json.loads(x) for x in out.splitlines()]  # filed but not matched: each waits for its match result
    assert code == 0 and [(q["request"], q["waits_for"]) for q in queue] == [
        (first, ["match_result"]), (second, ["match_result"])]
    assert all(q["age"] == "0h 00m" and q["age_seconds"] < 60 for q in queue)
    assert _run(capsys, "officer", "queue", "--waiting-for", "review")[1] == ""  # nothing to review yet
    matcher = Keyring(env / "var" / "keyring").get("irs.gov/matcher")
    line = {"line": 0, "matched": True, "match_basis": ["address", "name", "tin"], "method": "TIN+NAME+ADDRESS",
            "address_class": "street", "address_usable": True, "irs_address_differs": False,
            "taxpayer": commit("tin", "900700001").commitment}
    with open_ledger(Settings.from_env(None, env / "var")) as ledger:
        ledger.append(signed([matcher], "match_result", {
            "request": first, "matcher_version": "m-1", "address_rules_version": "a-1", "lines": [line],
            "red_flags": []}))
    code, out, _ = _run(capsys, "officer", "queue", "--waiting-for", "review")
    queue = [json.loads(x) for x in out.splitlines()]
    assert code == 0 and [q["request"] for q in queue] == [first] and queue[0]["lines"] == 1

    sheet = env / "sheet.csv"
    assert _run(capsys, "officer", "sheet", first, "--out", str(sheet))[0] == 0
    rows = list(csv.DictReader(sheet.open()))
    assert [(r["line"], r["decision"], r["reason"], r["method"]) for r in rows] == [
        ("0", "approve", "ok", "TIN+NAME+ADDRESS")]
    bad = env / "bad.csv"
    bad.write_text("line,decision,reason\n0,maybe,ok\n")
    code, _, err = _run(capsys, "officer", "review", first, "--csv", str(bad), "--key",
                        "irs.gov/disclosure/officer-0042")
    assert code == 1 and "row 2: decision must be approve or refuse" in err
    code, out, _ = _run(capsys, "officer", "review", first, "--csv", str(sheet), "--key",
                        "irs.gov/disclosure/officer-0042")
    assert code == 0 and json.loads(out)["index"] > 0
    back = env / "review.csv"
    assert _run(capsys, "officer", "review-csv", first, "--out", str(back))[0] == 0
    assert back.read_text() == "line,decision,reason\n0,approve,ok\n"
    assert _run(capsys, "officer", "queue", "--waiting-for", "review")[1] == ""
    queue = [json.loads(x) for x in _run(capsys, "officer", "queue")[1].splitlines()]
    assert [(q["request"], q["waits_for"]) for q in queue] == [  # a version-1 spec: never released, filed again
        (first, ["resubmission"]), (second, ["match_result"])]

    code, out, _ = _run(capsys, "officer", "return", second, "--reason", "addresses_missing", "--key",
                        "irs.gov/disclosure/officer-0042", "--line", "0")
    assert code == 0
    code, _, err = _run(capsys, "officer", "return", second, "--reason", "again", "--key",
                        "irs.gov/disclosure/officer-0042")
    assert code == 1 and "request.returned" in err
    queue = [json.loads(x) for x in _run(capsys, "officer", "queue")[1].splitlines()]
    assert [q["waits_for"] for q in queue if q["request"] == second] == [["resubmission"]]


def test_export_decoded_is_a_readable_companion_without_openings(env, capsys):
    """`export --decoded` writes each entry for a person beside the export: what the court's verifier prints
    with --show all, byte for byte, and no opening (TIN, name, address, case number) anywhere in it."""
    from ledger.core.readable import decoded_export

    assert _run(capsys, "init", "--origin", "ledger.test.example/disclosures")[0] == 0
    assert _run(capsys, "keys", "new", "ice.dhs.gov/director", "--role", "requester",
                "--attr", "agency=DHS/ICE", "--attr", "category=agency_head")[0] == 0
    code, out, _ = _request(capsys, env, "8 USC 1253(a)(1)")
    (env / "sub.json").write_text(out)
    assert _run(capsys, "submit", str(env / "sub.json"))[0] == 0
    export = env / "export.jsonl"
    code, _, err = _run(capsys, "export", "--out", str(export), "--decoded")
    assert code == 0 and "export.decoded.txt" in err
    text = (env / "export.decoded.txt").read_text(encoding="utf-8")
    with open(export, "rb") as f:
        assert text == "".join(decoded_export(f))
    assert "  type:          request" in text and "  signers:       ice.dhs.gov/director" in text
    for secret in ("900-70-0001", "900700001", "Fictional One", "Elm St", "FICT-1", "open case"):
        assert secret not in text
    other = env / "companion.txt"
    assert _run(capsys, "export", "--out", str(env / "again.jsonl"), "--decoded", str(other))[0] == 0
    assert other.read_text(encoding="utf-8") == text


def test_seed_steps_and_their_mistakes(env, capsys):
    """`client request --example` prints every step; a hurried user's mistakes are one line and exit 2; a
    statement that commits to personal data cannot bypass the seed check through `append`."""
    code, out, _ = _run(capsys, "client", "request", "--example")
    assert code == 0 and "client seed-request" in out and "/v1/salt-seeds" in out and "--seed seed.json" in out
    assert json.loads(out.split("# spec.json (fictional):\n")[1])["lines"]  # the example spec parses
    _run(capsys, "init", "--origin", "ledger.test.example/disclosures")
    _run(capsys, "keys", "new", "ice.dhs.gov/director", "--role", "requester", "--attr", "agency=DHS/ICE",
         "--attr", "category=agency_head")
    code, _, err = _run(capsys, "client", "request", "--key", "ice.dhs.gov/director",
                        "--spec", str(_spec(env, "8 USC 1253(a)(1)")))
    assert code == 2 and "--seed" in err and len(err.strip().splitlines()) == 1
    code, _, err = _run(capsys, "client", "request", "--key", "ice.dhs.gov/director",
                        "--spec", str(_spec(env, "8 USC 1253(a)(1)")), "--seed", str(env / "missing.json"))
    assert code == 2 and "missing.json" in err and "Traceback" not in err
    code, _, err = _run(capsys, "salt-seed", str(env / "missing.txt"))
    assert code == 2 and "missing.txt" in err
    (env / "bad.txt").write_text("not a seed request")
    code, _, err = _run(capsys, "salt-seed", str(env / "bad.txt"))
    assert code == 1 and "salts.request" in err
    code, out, _ = _request(capsys, env, "8 USC 1253(a)(1)")
    (env / "note.txt").write_text(json.loads(out)["statement"])
    code, _, err = _run(capsys, "append", str(env / "note.txt"))
    assert code == 2 and "submit" in err
    assert json.loads(_run(capsys, "checkpoint")[1].split("\n")[1]) == 2  # nothing appended past the key


def test_client_request_writes_version_2_when_recipients_name_principals(env, capsys):
    """A spec whose recipients name their principals gives a version-2 request; one naming some but not
    all is a one-line usage error (exit 2); one naming none is version 1, with a warning that the ledger
    never releases it."""
    _run(capsys, "init", "--origin", "ledger.test.example/disclosures")
    _run(capsys, "keys", "new", "ice.dhs.gov/director", "--role", "requester", "--attr", "agency=DHS/ICE",
         "--attr", "category=agency_head")
    code, out, err = _request(capsys, env, "8 USC 1253(a)(1)")
    assert code == 0 and "version-1 request" in err
    assert "version" not in json.loads(json.loads(out)["statement"].split("\n")[0])["body"]
    spec_path = _spec(env, "8 USC 1253(a)(1)")
    spec = json.loads(spec_path.read_text())
    spec["recipients"] = [{"name": "Agent A", "agency": "DHS/ICE", "principal": "ice.dhs.gov/agent-a"},
                          {"name": "Agent B", "agency": "DHS/ICE", "principal": "ice.dhs.gov/agent-b"}]
    spec_path.write_text(json.dumps(spec))
    code, out, err = _run(capsys, "client", "request", "--key", "ice.dhs.gov/director", "--spec", str(spec_path),
                          "--seed", str(env / "seed.json"))
    assert code == 0 and "warning" not in err, err
    body = json.loads(json.loads(out)["statement"].split("\n")[0])["body"]
    assert body["version"] == 2 and [r["principal"] for r in body["recipients"]] == [
        "ice.dhs.gov/agent-a", "ice.dhs.gov/agent-b"]
    del spec["recipients"][1]["principal"]
    spec_path.write_text(json.dumps(spec))
    code, _, err = _run(capsys, "client", "request", "--key", "ice.dhs.gov/director", "--spec", str(spec_path),
                        "--seed", str(env / "seed.json"))
    assert code == 2 and "principal" in err and len(err.strip().splitlines()) == 1
