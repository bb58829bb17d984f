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


def test_operator_and_principal_paths(env, capsys):
    """init, keys, a signed request submitted with openings, a blocked one, verify, proofs, export."""
    assert _run(capsys, "init", "--origin", "ledger.test.example/disclosures")[0] == 0
    code, out, _ = _run(capsys, "keys", "new", "ice.dhs.gov/director", "--role", "requester",
                        "--attr", "agency=DHS/ICE", "--attr", "category=agency_head")
    assert code == 0 and json.loads(out)["index"] == 1
    code, out, _ = _run(capsys, "client", "request", "--key", "ice.dhs.gov/director",
                        "--spec", str(_spec(env, "8 USC 1253(a)(1)")))
    assert code == 0
    submission = env / "sub.json"
    submission.write_text(out)
    assert "900-70-0001" not in json.loads(out)["statement"]
    code, out, _ = _run(capsys, "submit", str(submission))
    assert code == 0 and json.loads(out)["index"] == 2
    code, out, _ = _run(capsys, "client", "request", "--key", "ice.dhs.gov/director",
                        "--spec", str(_spec(env, "8 USC 1231")))
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
