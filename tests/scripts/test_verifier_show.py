"""--show INDEX: an entry and its statement decoded for a person, verifying nothing, never an opening."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from verifier_helpers import VECTORS, run

from ledger.core.readable import decoded_export

HAPPY = VECTORS / "happy-path"


def test_show_prints_one_entry_for_a_person() -> None:
    """Entry 4 of the happy path: its type, signers, key IDs, times, hashes and body, and no base64."""
    code, out, err = run(["--export", str(HAPPY / "export.jsonl"), "--show", "4"])
    assert (code, err) == (0, "")
    assert "A reading aid, not evidence" in out and "this file holds no openings" in out
    for line in ("entry 4", "  type:          cosigned_memo", "  id:            vec-0004-cosigned_memo",
                 "  signers:       ice.dhs.gov/director, irs.gov/disclosure/officer-0042",
                 "  signatures:    ice.dhs.gov/director (key 8753c288), "
                 "irs.gov/disclosure/officer-0042 (key c3256c6c)",
                 "  recorded at:   2025-08-01T12:00:04.373456Z", "    text: cosigned by requester and reviewer"):
        assert line in out.splitlines(), line
    assert "eyJ" not in out  # no base64 of the entry


def test_show_as_json() -> None:
    code, out, _ = run(["--export", str(HAPPY / "export.jsonl"), "--show", "0", "--json"])
    shown = json.loads(out)
    assert code == 0
    assert (shown["index"], shown["type"]) == (0, "genesis")
    assert shown["signers"] == ["ledger.example.gov/disclosures/ledger"]
    assert shown["body"]["origin"] == "ledger.example.gov/disclosures"
    assert len(shown["leaf_hash"]) == len(shown["statement_sha256"]) == 64


def test_show_all_is_the_decoded_companion() -> None:
    """--show all prints what `disclosure-ledger export --decoded` writes (the same function, the same bytes)."""
    code, out, _ = run(["--export", str(HAPPY / "export.jsonl"), "--show", "all"])
    with open(HAPPY / "export.jsonl", "rb") as f:
        assert (code, out) == (0, "".join(decoded_export(f)))
    assert out.count("\nentry ") == 10


def test_show_all_as_json_lines() -> None:
    code, out, _ = run(["--export", str(HAPPY / "export.jsonl"), "--show", "all", "--json"])
    assert code == 0
    assert [json.loads(line)["index"] for line in out.splitlines()] == list(range(10))


@pytest.mark.parametrize("args,message", [
    (["--show", "4"], "give --export FILE or --bundle DIR"),
    (["--export", "EXPORT", "--show", "4", "--vkey", "k"], "--show only reads the file and verifies nothing"),
    (["--export", "EXPORT", "--show", "4", "--report", "r"], "--report cannot go with --show"),
    (["--export", "EXPORT", "--show", "four"], "--show takes an entry's index"),
    (["--export", "EXPORT", "--show", "99"], "holds no entry 99 (10 lines)"),
    (["--export", "CHECKPOINT", "--show", "1"], "is a checkpoint, not an export"),
])
def test_show_usage_errors(args: list[str], message: str) -> None:
    args = [str(HAPPY / "export.jsonl") if a == "EXPORT" else str(HAPPY / "checkpoint.txt") if a == "CHECKPOINT"
            else a for a in args]
    code, out, err = run(args)
    assert (code, out) == (2, "")
    assert message in err


def test_show_of_a_line_that_cannot_be_decoded_says_so() -> None:
    """A damaged line is described, not shown as an entry (exit 1)."""
    code, out, _ = run(["--export", str(VECTORS / "base64-with-junk" / "export.jsonl"), "--show", "3"])
    assert code == 1
    assert out == "line 4: not an export line that can be decoded (it claims to be entry 3)\n"
    code, out, _ = run(["--export", str(VECTORS / "base64-with-junk" / "export.jsonl"), "--show", "all"])
    assert code == 1 and "line 4: not an export line" in out
    code, out, _ = run(["--export", str(VECTORS / "base64-with-junk" / "export.jsonl"), "--show", "3", "--json"])
    assert code == 1 and json.loads(out) == {"line": 4, "error": "not an export line that can be decoded"}


def test_show_finds_an_entry_by_its_index_when_lines_moved() -> None:
    """In an export whose lines were moved, --show 2 shows entry 2 wherever it is."""
    code, out, _ = run(["--export", str(VECTORS / "entry-2-moved" / "export.jsonl"), "--show", "2"])
    assert code == 0 and "\nentry 2\n" in out


def test_text_that_could_deceive_a_reader_is_escaped(tmp_path: Path) -> None:
    """Control characters, bidirectional overrides and values that read as numbers are shown escaped or quoted."""
    import gen_vectors as gv  # scripts/ is on the path once verifier_helpers is imported

    b = gv.base()
    b.add(b.memo([gv.ALICE], "pay \u202eevil\u202c \x1b[31mred"))
    b.add(b.statement("memo", [gv.ALICE], {"text": "12", "note": "null", "plain": "6103(i)(2)"}))
    export = tmp_path / "export.jsonl"
    export.write_bytes(gv.export_bytes(b.entries()))
    code, out, _ = run(["--export", str(export), "--show", "10"])
    assert code == 0
    assert '    text: "pay \\u202eevil\\u202c \\u001b[31mred"' in out
    assert "\x1b" not in out and "\u202e" not in out
    code, out, _ = run(["--export", str(export), "--show", "11"])
    assert '    text: "12"' in out and '    note: "null"' in out and "    plain: 6103(i)(2)" in out


def test_show_from_a_bundle_folder(tmp_path: Path) -> None:
    """--bundle DIR --show INDEX reads the bundle's entries.jsonl."""
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    shutil.copy(HAPPY / "export.jsonl", bundle / "entries.jsonl")
    code, out, _ = run(["--bundle", str(bundle), "--show", "3"])
    assert code == 0 and "  type:          memo" in out
    code, _, err = run(["--bundle", str(HAPPY / "export.jsonl"), "--show", "3"])
    assert code == 2 and "not an evidence bundle folder" in err


def test_decoded_export_never_fails_on_junk() -> None:
    """Any bytes: each line is shown or described, never an exception."""
    lines = [b"\xff\xfe\n", b"{}\n", b'{"entry_b64":"AA==","index":1}\n', b""]
    text = "".join(decoded_export(io.BytesIO(b"".join(lines))))
    assert text.count("\nline ") == 3
