"""The verifier speaks plainly: files of the wrong kind are usage errors (exit 2) saying what they
are, usage errors print once, and failures are named in words a court's expert can repeat."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from verifier_helpers import ROOT, VECTORS, run, run_json, vector_args

from ledger.core.diagnosis import (
    ED25519_ORDER,
    checkpoint_damage,
    diagnose,
    file_kind,
    impossible_signature,
    line_index,
    sequence_facts,
)
from ledger.core.keys import SignerKey
from ledger.core.plain import Facts, explain
from ledger.core.readable import decoded_export

USAGE = ROOT / "tests" / "vectors" / "usage"
USAGE_VECTORS = sorted(p for p in USAGE.iterdir() if p.is_dir())
HAPPY = VECTORS / "happy-path"


def _usage(d: Path) -> dict[str, object]:
    return json.loads((d / "expected.json").read_text())


@pytest.mark.parametrize("d", USAGE_VECTORS, ids=[d.name for d in USAGE_VECTORS])
def test_a_file_of_the_wrong_kind_is_a_usage_error_saying_what_it_is(
    d: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each usage vector exits 2 with its exact message, once, on stderr; stdout stays empty."""
    want = _usage(d)
    monkeypatch.chdir(d)
    code, out, err = run(list(want["args"]))  # type: ignore[arg-type]
    assert (code, out) == (2, "")
    assert err == f"verify_ledger.py: error: {want['message']}\n"


@pytest.mark.parametrize("d", USAGE_VECTORS[:3], ids=[d.name for d in USAGE_VECTORS[:3]])
def test_a_usage_error_with_json_is_one_json_report(d: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With --json the usage error is the JSON report on stdout (exit 2, the message), nothing on stderr."""
    want = _usage(d)
    monkeypatch.chdir(d)
    code, out, err = run([*want["args"], "--json"])  # type: ignore[misc]
    report = json.loads(out)
    assert (code, err, report["exit"], report["message"]) == (2, "", 2, want["message"])


def test_usage_errors_print_once() -> None:
    """A usage error is one line on stderr, not a second copy in a report on stdout."""
    code, out, err = run(["--checkpoint", str(HAPPY / "checkpoint.txt"), "--export", str(HAPPY / "export.jsonl")])
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith("verify_ledger.py: error: --vkey is required")


def test_checkpoint_and_export_swapped_was_exit_1_and_is_now_exit_2() -> None:
    """The finding: swapped --checkpoint and --export read as FAILED (exit 1); now a usage error."""
    code, report = run_json(["--vkey", str(HAPPY / "vkey.txt"), "--checkpoint", str(HAPPY / "export.jsonl"),
                             "--export", str(HAPPY / "checkpoint.txt")])
    assert code == 2 and report["index"] is None
    assert "is an export (JSON Lines of entries), not a checkpoint" in report["message"]


def test_a_checkpoint_with_an_extra_trailing_line_is_exit_2(tmp_path: Path) -> None:
    """The finding: an old checkpoint file with one extra line after its signature is not the log failing."""
    checkpoint = tmp_path / "checkpoint.txt"
    checkpoint.write_bytes((HAPPY / "checkpoint.txt").read_bytes() + b"\n")
    code, report = run_json(["--vkey", str(HAPPY / "vkey.txt"), "--checkpoint", str(checkpoint),
                             "--export", str(HAPPY / "export.jsonl")])
    assert code == 2
    assert "has an extra line after its signatures (line 6, empty)" in report["message"]


def test_a_signed_extension_line_stays_a_failure_of_the_checkpoint() -> None:
    """An extra line inside the signed text is the checkpoint itself (exit 1), not a file damaged around it."""
    code, report = run_json(vector_args(VECTORS / "checkpoint-extension-line"))
    assert code == 1
    assert report["message"] == ("the checkpoint's signed text has 4 lines where the ledger writes 3 (origin, size, "
                                 "root)")


@pytest.mark.parametrize("name,message", [
    ("entry-2-deleted", "entry 2 is missing: the export goes from entry 1 to entry 3"),
    ("crlf-line-endings", "the file has Windows line endings (CRLF): it was re-saved by an editor"),
    ("entry-3-bit-flip", "the content of entry 3 differs from what its signer signed: the entry was changed after "
                         "it was recorded (entry 4 links to a different entry 3), and the signature by "
                         "ice.dhs.gov/director does not match it"),
])
def test_the_findings_read_plainly(name: str, message: str) -> None:
    """The three messages the issue names, from the vectors that show them (the old wording is the detail)."""
    code, report = run_json(vector_args(VECTORS / name))
    assert (code, report["message"]) == (1, message)
    assert report["reason"] != message


def test_a_wrong_signature_and_an_edited_entry_read_differently() -> None:
    """Where the files tell, an altered signature and edited content are named as such, and the ambiguous
    case says that nothing tells which."""
    messages = {name: run_json(vector_args(VECTORS / name))[1]["message"] for name in
                ("entry-3-bit-flip", "cosignature-replaced", "signature-not-reduced", "signature-bit-flip")}
    assert messages["entry-3-bit-flip"].startswith("the content of entry 3 differs from what its signer signed")
    assert "is wrong: the other signers' signatures on the same content verify" in messages["cosignature-replaced"]
    assert "was altered: it is not a signature any Ed25519 key could produce" in messages["signature-not-reduced"]
    assert "nothing in the files tells which" in messages["signature-bit-flip"]


def test_the_plain_message_is_the_same_with_a_process_pool() -> None:
    """Diagnosis reads the files after the failure: the words do not depend on how the work was split."""
    for name in ("entry-3-bit-flip", "entries-1-2-swapped", "cosignature-replaced"):
        one = run_json([*vector_args(VECTORS / name), "--workers", "1"])[1]["message"]
        pool = run_json([*vector_args(VECTORS / name), "--workers", "2", "--chunk-size", "1"])[1]["message"]
        assert one == pool


def test_a_reason_no_rule_knows_keeps_its_technical_words() -> None:
    """An unforeseen reason is not dressed up: it is named with its entry and shown as it is."""
    assert explain(7, "some new check: it failed") == "entry 7 fails a check: some new check: it failed"
    assert explain(None, "some new check: it failed") == "some new check: it failed"


def test_missing_entries_are_counted_from_the_facts() -> None:
    """A gap of several entries is named as a range only when none of them appears elsewhere."""
    lines = [b'{"entry_b64":"AA==","index":%d}\n' % i for i in (0, 1, 2, 6, 7)]
    facts = sequence_facts(lines, 3, 6)
    assert (facts.expected_at, facts.gap_absent) == (None, True)
    assert explain(3, "export line index out of sequence (expected 3, found 6)", facts) == (
        "entries 3 to 5 are missing: the export goes from entry 2 to entry 6")
    moved = sequence_facts([*lines, b'{"entry_b64":"AA==","index":4}\n'], 3, 6)
    assert not moved.gap_absent
    assert explain(3, "export line index out of sequence (expected 3, found 6)", moved).startswith(
        "entry 3 is missing")


def test_impossible_signatures() -> None:
    """A real signature is possible; S not reduced, or R not a point of the group, is not."""
    key = SignerKey("t.example/k", bytes(32))
    signature = key.sign(b"message")
    assert not impossible_signature(signature)
    s = int.from_bytes(signature[32:], "little") + ED25519_ORDER
    assert impossible_signature(signature[:32] + s.to_bytes(32, "little"))
    assert impossible_signature(bytes(32) + signature[32:])  # R = 0 encodes no point of the group
    assert impossible_signature(signature[:63])


@pytest.mark.parametrize("head,kind", [
    (b"", "empty"),
    (b'{"entry_b64":"AA==","index":0}\n{"entry_b64":"AA==","index":1}\n', "export"),
    (b'{"entry_b64":"AA==","index":0}\n', "export-line"),
    (b'{"index":0,"prev":"00","recorded_at":"x","statement":"s"}', "entry"),
    (b"origin.example/log\n10\nAAAA\n\n\xe2\x80\x94 origin.example/log AAAA\n", "checkpoint"),
    (b"origin.example/log+aca75859+AdYWrCjyUiDSt3PV5eeouR0eG4oCilg0IVDyLauYmhLE\n", "vkey"),
    (b"PRIVATE+KEY+x+00000000+AAAA\n", "signer-key"),
    (b'{"index": 4, "leaf_hash": "", "path": [], "root": "", "tree_size": 10}\n', "inclusion-proof"),
    (b'{"new_root": "", "new_size": 1, "old_root": "", "old_size": 0, "path": []}\n', "consistency-proof"),
    (b'{"format":"dl-verification-report/v1"}', "report"),
    (b"# Disclosure Ledger export, decoded for reading\n", "decoded"),
    (b"junk\n", None),
])
def test_file_kinds(head: bytes, kind: str | None) -> None:
    """What a file looks like, from its first bytes."""
    assert file_kind(head) == kind


def test_checkpoint_damage() -> None:
    """Changes around the signed text are found; the file the ledger wrote has none."""
    good = (HAPPY / "checkpoint.txt").read_bytes()
    assert checkpoint_damage(good) is None
    assert checkpoint_damage(good + b"\n") == ("extra-line", 6, "")
    assert checkpoint_damage(good + b"copied\n") == ("extra-line", 6, "copied")
    assert checkpoint_damage(good[:-1]) == ("no-final-newline", None, None)
    assert checkpoint_damage(good.replace(b"\n", b"\r\n")) == ("crlf", None, None)
    assert checkpoint_damage(b"\xef\xbb\xbf" + good) == ("bom", None, None)


def test_line_index_reads_the_claimed_index() -> None:
    assert line_index(b'{"entry_b64":"eyJpbmRleCI6MH0=","index":12}\n') == 12
    assert line_index(b'{"index":3,"entry_b64":"AA=="}\n') == 3
    assert line_index(b"junk\n") is None


def test_a_bad_folder_given_as_export_says_it_is_a_folder(tmp_path: Path) -> None:
    """A plain folder is named as one (exit 2)."""
    code, report = run_json(["--vkey", str(HAPPY / "vkey.txt"), "--checkpoint", str(HAPPY / "checkpoint.txt"),
                             "--export", str(tmp_path)])
    assert code == 2
    assert report["message"] == f"the folder given as --export ({tmp_path}) is a folder, not an export (JSON Lines " \
        "of entries)"


def test_an_empty_export_is_every_entry_missing(tmp_path: Path) -> None:
    """An empty export is of the right kind: all the checkpoint's entries are missing (exit 1)."""
    for f in HAPPY.iterdir():
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / "export.jsonl").write_bytes(b"")
    code, report = run_json(vector_args(tmp_path))
    assert (code, report["index"]) == (1, 0)
    assert report["message"] == ("entries 0 to 9 are missing: the export holds no entry, but the checkpoint commits "
                                 "to 10 entries")


def test_facts_default_to_unknown() -> None:
    assert Facts() == Facts(None, None, None, False, False, None, None)


@settings(max_examples=300, deadline=None)
@given(index=st.none() | st.integers(0, 10**6), reason=st.text(max_size=200))
def test_explain_never_fails_and_never_says_entry_none(index: int | None, reason: str) -> None:
    """Any reason, with or without an entry: a message, and never 'entry None'."""
    message = explain(index, reason)
    assert isinstance(message, str)
    assert "entry None" not in message


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(st.binary(max_size=120), max_size=8), index=st.integers(0, 9))
def test_the_readers_of_damaged_files_never_fail(lines: list[bytes], index: int) -> None:
    """Whatever the bytes: a kind (or none), facts, a decoded text; never an exception."""
    data = b"\n".join(lines)
    file_kind(data)
    checkpoint_damage(data)
    for reason in (f"export line index out of sequence (expected {index}, found {index + 1})",
                   f"signature by a.example/k (0000000{index}) does not verify"):
        assert isinstance(diagnose(index, reason, data.splitlines(keepends=True)), Facts)
    assert "".join(decoded_export(data.splitlines(keepends=True))).startswith("# Disclosure Ledger export")
