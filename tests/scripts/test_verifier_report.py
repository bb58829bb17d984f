"""--report FILE: a JSON and a text report an expert can attach to a declaration."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from verifier_helpers import ROOT, SCRIPTS, VECTORS, run, vector_args, verify_ledger

HAPPY = VECTORS / "happy-path"


def _report(tmp_path: Path, args: list[str], name: str = "report") -> tuple[int, dict[str, Any], str]:
    base = tmp_path / name
    code, _, _ = run([*args, "--report", str(base)])
    return code, json.loads((tmp_path / f"{name}.json").read_text()), (tmp_path / f"{name}.txt").read_text()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _without_run(text: str) -> str:
    return text.split("\nRUN (differs from run to run)\n")[0]


def test_a_verified_export_reproduces_with_the_same_hashes(tmp_path: Path) -> None:
    """Two runs over the same files give the same report, but for its run section; the hashes are the files'."""
    code, first, first_text = _report(tmp_path, vector_args(HAPPY), "first")
    code2, second, second_text = _report(tmp_path, vector_args(HAPPY), "second")
    assert code == code2 == 0
    first["command"][-1] = second["command"][-1] = "REPORT"
    assert {k: v for k, v in first.items() if k != "run"} == {k: v for k, v in second.items() if k != "run"}
    assert _without_run(first_text).replace(str(tmp_path / "first"), "R") == _without_run(second_text).replace(
        str(tmp_path / "second"), "R")
    files = {f["role"]: f for f in first["files"]}
    for role, name in (("trust root", "vkey.txt"), ("checkpoint", "checkpoint.txt"), ("export", "export.jsonl")):
        assert files[role]["sha256"] == _sha256(HAPPY / name)
        assert files[role]["size"] == (HAPPY / name).stat().st_size
        assert f"SHA-256 {_sha256(HAPPY / name)}" in first_text
    assert first["verifier"]["sha256"] == _sha256(SCRIPTS / "verify_ledger.py")
    assert first["result"] == {"status": "VERIFIED", "exit": 0, "index": None, "message": None, "reason": None,
                               "meaning": first["result"]["meaning"]}
    assert "exactly the log of 10 entries" in first["result"]["meaning"]
    assert first["trust_root"] == {"vkey": (HAPPY / "vkey.txt").read_text().strip(), "source": "--vkey"}
    assert first["policy"]["log_policy"]["memo"] == ["requester", "reviewer"]
    assert [c["check"] for c in first["checks"]] == ["checkpoint", "entries", "key lineage", "root"]
    assert any("--previous-checkpoint" in n for n in first["not_checked"])
    assert first_text.startswith("DISCLOSURE LEDGER VERIFICATION REPORT\n")
    assert "RESULT: VERIFIED (exit status 0)" in first_text


def test_a_failed_export_names_the_entry_and_the_reason(tmp_path: Path) -> None:
    """The report of a failing export names the first failing entry, in plain words and in detail."""
    code, report, text = _report(tmp_path, vector_args(VECTORS / "entry-3-bit-flip"))
    expected = json.loads((VECTORS / "entry-3-bit-flip" / "expected.json").read_text())
    assert code == 1
    result = report["result"]
    assert (result["status"], result["exit"], result["index"]) == ("FAILED", 1, 3)
    assert result["message"] == expected["message"]
    assert expected["reason_contains"] in result["reason"]
    assert report["checks"][-1] == {"check": "entries", "result": "failed", "detail": expected["message"]}
    assert "RESULT: FAILED (exit status 1)" in text
    assert f"what failed:  {expected['message']}" in text and "where:        entry 3" in text
    assert "detail:       signature by ice.dhs.gov/director (8753c288) does not verify" in text


def test_a_report_is_never_overwritten(tmp_path: Path) -> None:
    """A second run naming the same report is refused (exit 2) before anything is checked."""
    _report(tmp_path, vector_args(HAPPY))
    before = (tmp_path / "report.json").read_bytes()
    code, out, err = run([*vector_args(VECTORS / "entry-3-bit-flip"), "--report", str(tmp_path / "report.json")])
    assert (code, out) == (2, "")
    assert "report.json exists" in err
    assert (tmp_path / "report.json").read_bytes() == before


def test_a_usage_error_is_reported_too(tmp_path: Path) -> None:
    """A run stopped by a file of the wrong kind leaves a report saying so (exit 2, nothing about the log)."""
    args = ["--vkey", str(HAPPY / "vkey.txt"), "--checkpoint", str(HAPPY / "export.jsonl"),
            "--export", str(HAPPY / "checkpoint.txt")]
    code, report, _ = _report(tmp_path, args)
    assert code == 2 and report["result"]["status"] == "NOT RUN (usage error)"
    assert "not a checkpoint" in report["result"]["message"]
    assert "Nothing is said about the log" in report["result"]["meaning"]


def test_the_report_names_the_proofs_and_the_previous_checkpoint(tmp_path: Path) -> None:
    """Every file given is listed with its hash; checks run are listed; what a consistency check covers is
    no longer among what was not checked."""
    d = VECTORS / "consistency-proof-valid"
    code, report, _ = _report(tmp_path, vector_args(d))
    assert code == 0
    roles = [f["role"] for f in report["files"]]
    assert roles == ["trust root", "checkpoint", "previous checkpoint", "consistency proof", "export"]
    assert [c["check"] for c in report["checks"]][-2:] == ["previous", "consistency"]
    assert not any("--previous-checkpoint" in n for n in report["not_checked"])


def test_the_verifier_version_is_the_projects() -> None:
    """The version the report gives is the project's (the SHA-256 then names the exact file)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert project == verify_ledger.VERIFIER_VERSION


def test_report_paths() -> None:
    """FILE, FILE.json or FILE.txt all mean FILE.json and FILE.txt."""
    for given in ("r", "r.json", "r.txt"):
        assert verify_ledger._report_paths(given) == ("r.json", "r.txt")


@pytest.mark.parametrize("sample", ["verified", "failed"])
def test_the_sample_reports_in_the_docs_are_what_the_verifier_writes(
    tmp_path: Path, sample: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/VERIFYING.md shows a report of the happy-path vector and of entry-3-bit-flip: those are exactly
    what the verifier writes today, but for the verifier's hash, paths and the run section."""
    doc = (ROOT / "docs" / "VERIFYING.md").read_text()
    match = re.search(rf"<!-- sample report: {sample} -->\n```\n(.*?)```", doc, re.DOTALL)
    assert match, f"docs/VERIFYING.md has no sample report '{sample}'"
    name = "happy-path" if sample == "verified" else "entry-3-bit-flip"
    d = tmp_path / "files"
    d.mkdir()
    for f in (VECTORS / name).iterdir():
        (d / f.name).write_bytes(f.read_bytes())
    monkeypatch.chdir(d)
    run(["--vkey", "vkey.txt", "--checkpoint", "checkpoint.txt", "--export", "export.jsonl", "--report", "report"])
    written = (d / "report.txt").read_text()
    assert _mask(match[1]) == _mask(written)


def _mask(text: str) -> str:
    """The parts that differ between machines and builds: the verifier's hash and versions, the run."""
    text = _without_run(text)
    text = re.sub(r"(  sha256:\s+)[0-9a-f]{64}", r"\1<sha256>", text)
    text = re.sub(r"(  (python|pynacl):\s+)\S+", r"\1<version>", text)
    return text.rstrip()
