"""Evidence bundles: `disclosure-ledger bundle` writes one, `verify_ledger.py --bundle` checks it offline.

A good bundle verifies (in-process and with the generated script in a subprocess); each tampering
fails with its exact reason; no committed value ever appears in a report.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from bundlefix import HELD_BACK, LINES, Scenario, tin

from ledger.authoring import disclosure as dc
from ledger.core.b64 import b64encode
from ledger.core.bundle_check import verify_bundle
from ledger.core.bundle_format import BundleError, BundleFiles
from ledger.core.canonical import canonical_bytes
from ledger.core.commitments import Opening
from ledger.core.entry import parse_entry
from ledger.core.keys import SignerKey, parse_vkey
from ledger.core.lines import CHUNK_LINES
from ledger.core.statement import parse_statement
from ledger.domain.bundle import BundleWriteError, write_bundle

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "verify_ledger.py"
if str(ROOT / "scripts") not in sys.path:
    sys.path.insert(0, str(ROOT / "scripts"))

import verify_ledger  # noqa: E402


# ---- helpers ------------------------------------------------------------------------------------
def files(d: Path) -> BundleFiles:
    def opt(name: str) -> bytes | None:
        return (d / name).read_bytes() if (d / name).exists() else None

    return BundleFiles((d / "bundle.json").read_bytes(), (d / "checkpoint").read_bytes(),
                       (d / "entries.jsonl").read_bytes(), (d / "proofs.jsonl").read_bytes(),
                       opt("lines.jsonl"), opt("openings.jsonl"))


def check(d: Path, openings: bool = True) -> list[tuple[str, str]]:
    passed: list[tuple[str, str]] = []
    trust_root = parse_vkey((d / "trust_root.vkey").read_text().strip())
    verify_bundle(files(d), trust_root, check_openings=openings, passed=lambda n, x: passed.append((n, x)))
    return passed


def failure(d: Path, openings: bool = True) -> BundleError:
    with pytest.raises(BundleError) as e:
        check(d, openings)
    return e.value


def run_verifier(args: list[str]) -> tuple[int, dict[str, Any], str]:
    """The generated verifier, in-process: (exit, JSON report, text report)."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = verify_ledger.main([*args, "--json"])
    text = io.StringIO()
    with contextlib.redirect_stdout(text), contextlib.redirect_stderr(io.StringIO()):
        verify_ledger.main(args)
    return code, json.loads(out.getvalue()), text.getvalue()


def read_jsonl(path: Path) -> list[Any]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def write_jsonl(path: Path, values: list[Any]) -> None:
    path.write_bytes(b"".join(canonical_bytes(v) + b"\n" for v in values))


def entries(d: Path) -> dict[int, bytes]:
    return {r["index"]: base64.b64decode(r["entry_b64"]) for r in read_jsonl(d / "entries.jsonl")}


def chunks_of(d: Path, statement_id: str) -> list[int]:
    """Entry indices of a bulk statement's chunks, in chunk order."""
    out = []
    for index, data in entries(d).items():
        stmt = parse_statement(parse_entry(data).statement)
        if stmt.type == "chunk" and stmt.body["of"] == statement_id:
            out.append((stmt.body["chunk"], index))
    return [i for _, i in sorted(out)]


def assert_no_values(text: str) -> None:
    """No TIN, name or address of the scenario appears in a report."""
    for k in range(LINES):
        assert tin(k) not in text
    assert "Fictional Person" not in text and "Main St" not in text


# ---- a good bundle --------------------------------------------------------------------------------
def test_bundle_holds_the_requests_life_and_every_trust_entry(scenario: Scenario, bundle_dir: Path) -> None:
    """Every chunk of the four bulk statements, the order, attestation, receipt; all trust entries; nothing else."""
    manifest = json.loads((bundle_dir / "bundle.json").read_text())
    assert manifest["format"] == "dl-bundle/v1"
    assert manifest["request"] == scenario.ids["request"]
    assert manifest["openings"] is True and manifest["lines"] == [3, 200] and manifest["incomplete"] == []
    assert sorted(manifest["bulk"]) == sorted(scenario.ids[k] for k in ("request", "match", "review", "release"))
    types: dict[str, int] = {}
    ids = set()
    for data in entries(bundle_dir).values():
        stmt = parse_statement(parse_entry(data).statement)
        types[stmt.type] = types.get(stmt.type, 0) + 1
        ids.add(stmt.id)
    assert types["chunk"] == 12
    assert types["court_order"] == types["receipt"] == types["recipient_attestation"] == 1
    assert types["request"] == types["match_result"] == types["review"] == types["release"] == 1
    assert "safeguard_status" not in types  # about the agency, not the request
    assert scenario.other_request not in ids
    trust = [i for i, d in scenario.domain.ledger.iter_entries()
             if parse_statement(parse_entry(d).statement).type in {"genesis", "key_registration", "policy",
                                                                   "blocked", "key_revocation"}]
    assert set(trust) <= set(manifest["entries"])
    assert (bundle_dir / "openings.jsonl").stat().st_mode & 0o777 == 0o600


def test_good_bundle_verifies_in_process(bundle_dir: Path) -> None:
    """Every check passes, in the documented order."""
    passed = check(bundle_dir)
    assert [n for n, _ in passed] == ["checkpoint", "inclusion", "signatures", "bulk", "lines", "openings"]


def test_line_records_cover_each_bulk_statement_holding_the_line(scenario: Scenario, bundle_dir: Path) -> None:
    """Line 200: in the request, match and review at position 72 of chunk 1; in the release (5 lines held
    back) at global position 195, i.e. position 67 of its chunk 1. Line 3 is in all four, in chunk 0."""
    records = read_jsonl(bundle_dir / "lines.jsonl")
    by = {(r["line"], r["kind"]): r for r in records}
    assert len(records) == 8
    for kind in ("request", "match_result", "review"):
        assert by[(200, kind)]["position"] == 200 - CHUNK_LINES
    assert by[(200, "release")]["position"] == 195 - CHUNK_LINES
    assert by[(200, "release")]["chunk_index"] == chunks_of(bundle_dir, scenario.ids["release"])[1]
    assert by[(3, "request")]["chunk_index"] == chunks_of(bundle_dir, scenario.ids["request"])[0]


def test_held_back_line_has_no_release_record(scenario: Scenario, tmp_path: Path) -> None:
    """A line that was not released gets proofs in the request, match and review only."""
    k = HELD_BACK[0]
    scenario.bundle(tmp_path / "b", lines=(k,), openings=False)
    kinds = sorted(r["kind"] for r in read_jsonl(tmp_path / "b" / "lines.jsonl"))
    assert kinds == ["match_result", "request", "review"]
    assert not (tmp_path / "b" / "openings.jsonl").exists()
    assert [n for n, _ in check(tmp_path / "b", openings=False)][-1] == "lines"


def test_good_bundle_verifies_with_the_generated_script(bundle_dir: Path) -> None:
    """The court's one-file verifier, pinned to the trust root, in a subprocess; and in-process for the JSON."""
    vkey = (bundle_dir / "trust_root.vkey").read_text().strip()
    proc = subprocess.run([sys.executable, str(SCRIPT), "--bundle", str(bundle_dir), "--openings", "--vkey", vkey],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "RESULT: OK (exit 0)" in proc.stdout
    assert "cannot prove that no entry was left out" in proc.stdout
    assert_no_values(proc.stdout + proc.stderr)
    code, report, _ = run_verifier(["--bundle", str(bundle_dir), "--openings", "--vkey", vkey])
    assert code == 0, report
    assert [c["check"] for c in report["checks"]] == ["checkpoint", "inclusion", "signatures", "bulk", "lines",
                                                      "openings"]


def test_a_bundle_report_lists_its_files_and_never_an_opening(bundle_dir: Path, tmp_path: Path) -> None:
    """--report on a bundle: every file read with its SHA-256 (openings.jsonl's too, by hash only), the trust
    root pinned, what a bundle cannot show among what was not checked; no committed value in either file."""
    vkey = (bundle_dir / "trust_root.vkey").read_text().strip()
    code, _, _ = run_verifier(["--bundle", str(bundle_dir), "--openings", "--vkey", vkey,
                               "--report", str(tmp_path / "r1")])
    report = json.loads((tmp_path / "r1.json").read_text())
    assert code == 0 and report["result"]["status"] == "VERIFIED"
    listed = {Path(f["path"]).name: f["sha256"] for f in report["files"]}
    for name in ("bundle.json", "checkpoint", "entries.jsonl", "proofs.jsonl", "lines.jsonl", "openings.jsonl"):
        assert listed[name] == hashlib.sha256((bundle_dir / name).read_bytes()).hexdigest()
    assert report["trust_root"] == {"vkey": vkey, "source": "--vkey"}
    assert any("left out of the bundle" in n for n in report["not_checked"])
    assert "each entry of the bundle is in the log" in report["result"]["meaning"]
    assert_no_values((tmp_path / "r1.json").read_text() + (tmp_path / "r1.txt").read_text())


def test_show_reads_a_bundled_entry(bundle_dir: Path) -> None:
    """--bundle DIR --show INDEX decodes a bundled entry: commitments as they are, no opening."""
    import contextlib
    import io

    index = json.loads((bundle_dir / "bundle.json").read_text())["entries"][-1]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = verify_ledger.main(["--bundle", str(bundle_dir), "--show", str(index)])
    assert code == 0 and f"\nentry {index}\n" in out.getvalue()
    assert_no_values(out.getvalue())


def test_without_vkey_the_report_says_whose_key_it_used(bundle_dir: Path) -> None:
    """No --vkey: the bundle's own trust_root.vkey, and the report says so; unchecked openings are noted."""
    code, report, text = run_verifier(["--bundle", str(bundle_dir)])
    assert code == 0, report
    assert any("no --vkey given" in n for n in report["notes"])
    assert any("openings.jsonl was not checked" in n for n in report["notes"])
    assert "no --vkey given" in text


def test_bundle_command_writes_the_bundle(scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """`disclosure-ledger bundle REQUEST --out DIR --openings --line K` with the sealed keys from the environment."""
    from ledger.cli import main

    settings = scenario.domain.ledger.settings
    key_dir = tmp_path / "sealed-keys"
    scenario.keys.save(key_dir)
    monkeypatch.setenv("LEDGER_SEALED_KEY_DIR", str(key_dir))
    monkeypatch.setenv("LEDGER_KEY_DIR", str(settings.key_dir))
    monkeypatch.setenv("LEDGER_CHECKPOINT_FILE", str(settings.checkpoint_path))
    out = tmp_path / "cli-bundle"
    code = main(["--db", settings.db_url, "bundle", scenario.ids["request"], "--out", str(out), "--openings",
                 "--line", "130"])
    assert code == 0, capsys.readouterr().err
    assert [n for n, _ in check(out)] == ["checkpoint", "inclusion", "signatures", "bulk", "lines", "openings"]
    assert {r["line"] for r in read_jsonl(out / "lines.jsonl")} == {130}
    monkeypatch.delenv("LEDGER_SEALED_KEY_DIR")
    assert main(["--db", settings.db_url, "bundle", scenario.ids["request"], "--out", str(tmp_path / "x"),
                 "--openings"]) == 1
    assert "sealed-store keys" in capsys.readouterr().err


def test_writer_refusals(scenario: Scenario, tmp_path: Path) -> None:
    """Unknown request, a line no bulk statement holds, a folder that is not empty."""
    with pytest.raises(BundleWriteError, match="no request"):
        write_bundle(scenario.domain.ledger, "no-such-request", tmp_path / "a")
    with pytest.raises(BundleWriteError, match="line 300 is in no complete bulk statement"):
        scenario.bundle(tmp_path / "b", lines=(LINES,), openings=False)
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "x").write_text("x")
    with pytest.raises(BundleWriteError, match="not an empty folder"):
        scenario.bundle(tmp_path / "c")


def test_inline_request_and_its_return_for_correction(scenario: Scenario, tmp_path: Path) -> None:
    """An inline request's bundle: no bulk statements; the reviewer's return_for_correction is in it."""
    reviewer = scenario.domain.keys["irs.gov/disclosure/officer-0042"]
    back = dc.return_for_correction(reviewer, scenario.other_request, "address_missing", [0])
    scenario.service.submit(back.note)
    out = tmp_path / "b"
    write_bundle(scenario.domain.ledger, scenario.other_request, out, openings=scenario.service.openings)
    ids = {parse_statement(parse_entry(data).statement).id for data in entries(out).values()}
    assert {scenario.other_request, back.statement_id} <= ids
    assert scenario.ids["request"] not in ids
    assert json.loads((out / "bundle.json").read_text())["bulk"] == []
    assert [n for n, _ in check(out)] == ["checkpoint", "inclusion", "signatures", "openings"]
    with pytest.raises(BundleWriteError, match="line 0 is in no complete bulk statement"):
        write_bundle(scenario.domain.ledger, scenario.other_request, tmp_path / "c", lines=(0,))


# ---- tampering: each fails with its exact reason -------------------------------------------------
def test_tampered_opening(copy: Any) -> None:
    """An opening whose value was changed: named by commitment and field, never by value."""
    d = copy()
    records = read_jsonl(d / "openings.jsonl")
    target = next(r for r in records if r["opening"]["field"] == "tin")
    target["opening"]["value"] = "999999999"
    write_jsonl(d / "openings.jsonl", records)
    e = failure(d)
    assert e.reason == f"opening of {target['commitment'][:16]}… (field tin) does not match its commitment"
    code, report, text = run_verifier(["--bundle", str(d), "--openings"])
    assert code == 1 and report["reason"] == e.reason and report["index"] == e.index
    assert_no_values(json.dumps(report) + text)
    assert "999999999" not in json.dumps(report) + text


def test_opening_missing_or_extra(copy: Any) -> None:
    """Every commitment needs its opening, and no opening may be left over."""
    d = copy()
    records = read_jsonl(d / "openings.jsonl")
    write_jsonl(d / "openings.jsonl", records[1:])
    assert failure(d).reason.startswith(f"no opening of {records[0]['commitment'][:16]}… (field purpose_text)")
    extra = Opening.from_json({"field": "tin", "salt": b64encode(bytes(16)), "value": "123456789"})
    write_jsonl(d / "openings.jsonl", [*records, {"commitment": extra.commitment, "opening": extra.to_json()}])
    assert failure(d).reason == (f"1 openings match no commitment of the bundled statements "
                                 f"(first {extra.commitment[:16]}…)")


def test_line_claimed_in_another_chunk(scenario: Scenario, copy: Any) -> None:
    """lines.jsonl says line 3 of the request is in its second chunk."""
    d = copy()
    records = read_jsonl(d / "lines.jsonl")
    rec = next(r for r in records if r["line"] == 3 and r["kind"] == "request")
    other = chunks_of(d, scenario.ids["request"])[1]
    rec["chunk_index"] = other
    write_jsonl(d / "lines.jsonl", records)
    assert failure(d).reason == f"line 3 is not in chunk entry {other}: it holds lines 128..255"
    code, report, _ = run_verifier(["--bundle", str(d)])
    assert code == 1 and report["reason"] == f"line 3 is not in chunk entry {other}: it holds lines 128..255"


def test_line_claimed_at_another_position(scenario: Scenario, copy: Any) -> None:
    """lines.jsonl says line 200 of the release is at position 72 of its chunk (it is at 67)."""
    d = copy()
    records = read_jsonl(d / "lines.jsonl")
    rec = next(r for r in records if r["line"] == 200 and r["kind"] == "release")
    rec["position"] = 72
    write_jsonl(d / "lines.jsonl", records)
    assert failure(d).reason == (f"line 200 of release {scenario.ids['release']} is not at position 72 of chunk "
                                 f"entry {rec['chunk_index']}: it is at position 67")


def test_line_with_a_wrong_path(copy: Any) -> None:
    """A path that does not lead to the manifest's lines_root."""
    d = copy()
    records = read_jsonl(d / "lines.jsonl")
    records[0]["path"][0] = b64encode(bytes(32))
    write_jsonl(d / "lines.jsonl", records)
    assert "its path does not lead to lines_root" in failure(d).reason


def test_item_swapped_between_chunks(scenario: Scenario, copy: Any) -> None:
    """Swapping an item between two chunks changes both entries: the first one's inclusion proof fails."""
    d = copy()
    first, second = chunks_of(d, scenario.ids["request"])[:2]
    raw = entries(d)
    docs = {i: json.loads(raw[i]) for i in (first, second)}
    items = {i: parse_statement(docs[i]["statement"]).body["lines"][0] for i in (first, second)}
    texts = {i: canonical_bytes(items[i]).decode() for i in (first, second)}
    for i, j in ((first, second), (second, first)):
        assert texts[i] in docs[i]["statement"]
        docs[i]["statement"] = docs[i]["statement"].replace(texts[i], texts[j])
        raw[i] = canonical_bytes(docs[i])
    write_jsonl(d / "entries.jsonl", [{"entry_b64": b64encode(raw[i]), "index": i} for i in sorted(raw)])
    e = failure(d)
    assert e.index == first
    assert e.reason.startswith("inclusion proof does not lead to the checkpoint's root: root mismatch")


def test_missing_chunk(scenario: Scenario, copy: Any) -> None:
    """A chunk removed from entries.jsonl and proofs.jsonl."""
    d = copy()
    gone = chunks_of(d, scenario.ids["match"])[1]
    write_jsonl(d / "entries.jsonl", [r for r in read_jsonl(d / "entries.jsonl") if r["index"] != gone])
    write_jsonl(d / "proofs.jsonl", [r for r in read_jsonl(d / "proofs.jsonl") if r["index"] != gone])
    reason = f"match_result {scenario.ids['match']}: chunk 1 of 3 is missing from the bundle"
    assert failure(d).reason == reason
    code, report, text = run_verifier(["--bundle", str(d), "--openings"])
    assert (code, report["reason"]) == (1, reason)
    assert f"FAILED (not about one entry): {reason}" in text


def test_tampered_checkpoint(copy: Any) -> None:
    """A checkpoint whose size was changed no longer verifies against the trust root."""
    d = copy()
    text = (d / "checkpoint").read_text()
    origin, size, rest = text.split("\n", 2)
    (d / "checkpoint").write_text(f"{origin}\n{int(size) + 1}\n{rest}")
    e = failure(d)
    assert e.index is None and e.reason.startswith("checkpoint: ")
    assert "signature" in e.reason
    code, report, _ = run_verifier(["--bundle", str(d)])
    assert (code, report["reason"]) == (1, e.reason)


def test_wrong_vkey(bundle_dir: Path) -> None:
    """A trust root that did not sign the checkpoint: same name, other key; and another name."""
    origin = json.loads((bundle_dir / "bundle.json").read_text())["origin"]
    same_name = str(SignerKey.generate(origin).verifier)
    code, report, _ = run_verifier(["--bundle", str(bundle_dir), "--vkey", same_name])
    assert code == 1 and report["reason"].startswith("checkpoint: ")
    assert report["trust_root"] == same_name
    other = str(SignerKey.generate("ledger.other.example/log").verifier)
    code, report, _ = run_verifier(["--bundle", str(bundle_dir), "--vkey", other])
    assert code == 1
    assert report["reason"] == (f"checkpoint: checkpoint origin {origin!r} differs from the trust root's name "
                                "'ledger.other.example/log'")


def test_missing_trust_entry_fails_the_signature_check(copy: Any) -> None:
    """Leaving out the registration of a signer's key: that signer's statements no longer verify."""
    d = copy()
    raw = entries(d)
    reg = next(i for i, data in raw.items()
               if (s := parse_statement(parse_entry(data).statement)).type == "key_registration"
               and s.body["name"] == "irs.gov/matcher")
    write_jsonl(d / "entries.jsonl", [r for r in read_jsonl(d / "entries.jsonl") if r["index"] != reg])
    write_jsonl(d / "proofs.jsonl", [r for r in read_jsonl(d / "proofs.jsonl") if r["index"] != reg])
    e = failure(d)
    assert e.reason.startswith("trust.unknown_key: no key is registered for irs.gov/matcher")


def test_incomplete_bulk_statement_says_so(scenario: Scenario, copy: Any) -> None:
    """A bulk statement the writer found incomplete in the log: the missing-chunk reason says so."""
    d = copy()
    gone = chunks_of(d, scenario.ids["release"])[2]
    write_jsonl(d / "entries.jsonl", [r for r in read_jsonl(d / "entries.jsonl") if r["index"] != gone])
    write_jsonl(d / "proofs.jsonl", [r for r in read_jsonl(d / "proofs.jsonl") if r["index"] != gone])
    manifest = json.loads((d / "bundle.json").read_text())
    manifest["incomplete"] = [scenario.ids["release"]]
    (d / "bundle.json").write_bytes(canonical_bytes(manifest) + b"\n")
    assert failure(d).reason == (f"release {scenario.ids['release']}: chunk 2 of 3 is missing from the bundle "
                                 "(bundle.json says the log itself holds only the chunks before it: the statement "
                                 "is incomplete in the log)")


@pytest.mark.parametrize("name,content,reason", [
    ("bundle.json", b"not json", "bundle.json is not canonical JSON"),
    ("bundle.json", b'{"format":"dl-bundle/v2"}\n', "bundle.json must hold exactly"),
    ("bundle.json", b"REQUEST", "bundle.json names request 'no-such-request', which is not in the bundle"),
    ("entries.jsonl", b'{"entry_b64":"@@","index":3}\n', "entry_b64 is not strict base64"),
    ("entries.jsonl", b'{"entry_b64":7,"index":3}\n', "entry_b64 must be a string"),
    ("entries.jsonl", b'[1,2]', "does not end with LF"),
    ("proofs.jsonl", b'{"index":0,"path":"x","tree_size":1}\n', "inclusion proof is for tree size 1"),
    ("lines.jsonl", b'{"line":1}\n', "lines.jsonl line 1: expected exactly"),
    ("openings.jsonl", b'{"commitment":"zz","opening":{}}\n', "expected a commitment of 64 lowercase hex"),
    ("openings.jsonl", b'{"commitment":"' + b"a" * 64 + b'","opening":{"field":"tin"}}\n', "an opening has exactly"),
    ("checkpoint", b"", "checkpoint: "),
])
def test_malformed_files_fail_with_a_reason(copy: Any, name: str, content: bytes, reason: str) -> None:
    """Malformed files are reported (exit 1) with what is wrong, never a traceback or an 'unexpected error'."""
    d = copy()
    if content == b"REQUEST":
        manifest = json.loads((d / "bundle.json").read_text())
        content = canonical_bytes({**manifest, "request": "no-such-request"}) + b"\n"
    (d / name).write_bytes(content)
    code, report, _ = run_verifier(["--bundle", str(d), "--openings"])
    assert code == 1, report
    assert reason in report["reason"]
    assert "unexpected" not in report["reason"]


def test_usage_errors(tmp_path: Path, bundle_dir: Path) -> None:
    """Not a folder, a missing file, --bundle with --checkpoint, --openings without --bundle: exit 2."""
    for args, message in (
        (["--bundle", str(tmp_path / "none")], "there is no such folder"),
        (["--bundle", str(tmp_path)], "cannot read bundle file bundle.json"),
        (["--bundle", str(bundle_dir), "--checkpoint", "x"], "--checkpoint cannot go with it"),
        (["--openings", "--vkey", "x", "--checkpoint", "y", "--export", "z"], "--openings goes with --bundle"),
    ):
        code, report, _ = run_verifier(args)
        assert code == 2, report
        assert message in report["reason"]


def test_openings_requested_but_absent(tmp_path: Path, scenario: Scenario) -> None:
    """--openings on a bundle written without them fails with that reason."""
    scenario.bundle(tmp_path / "b", lines=(), openings=False)
    code, report, _ = run_verifier(["--bundle", str(tmp_path / "b"), "--openings"])
    assert code == 1
    assert "holds no openings.jsonl" in report["reason"]
