"""The verifier's command line: arguments, exit statuses, proofs on their own, progress."""

from __future__ import annotations

import builtins
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from verifier_helpers import VECTORS, run, run_json, vector_args, verify_ledger

HAPPY = VECTORS / "happy-path"
CONSISTENCY = VECTORS / "consistency-proof-valid"
INCLUSION = VECTORS / "inclusion-proof-valid"


def _base(d: Path = HAPPY) -> list[str]:
    return ["--vkey", str(d / "vkey.txt"), "--checkpoint", str(d / "checkpoint.txt")]


def test_vkey_may_be_the_key_string_itself() -> None:
    """--vkey takes the verifier key string as well as a file holding it."""
    key = (HAPPY / "vkey.txt").read_text().strip()
    code, report = run_json(["--vkey", key, "--checkpoint", str(HAPPY / "checkpoint.txt"),
                             "--export", str(HAPPY / "export.jsonl")])
    assert code == 0
    assert report["trust_root"] == key


@pytest.mark.parametrize(
    "args,message",
    [
        ([], "--export is required"),
        (["--export", "/nonexistent/export.jsonl"], "cannot read"),
        (["--export", "EXPORT", "--consistency-proof", "x.json"], "needs --previous-checkpoint"),
        (["--export", "EXPORT", "--inclusion-proof", "x.json"], "go together"),
        (["--export", "EXPORT", "--workers", "0"], "at least 1"),
        (["--export", "EXPORT", "--no-such-option"], "unrecognized arguments"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    """Bad arguments and unreadable files exit 2 (never 1: nothing was found wrong with the log)."""
    args = [str(HAPPY / "export.jsonl") if a == "EXPORT" else a for a in args]
    code, report = run_json([*_base(), *args])
    assert code == 2
    assert report["exit"] == 2 and report["ok"] is False
    assert message in report["reason"]


def test_usage_error_without_json_goes_to_stderr() -> None:
    """Without --json a usage error is printed on stderr too."""
    code, _, err = run(["--checkpoint", str(HAPPY / "checkpoint.txt"), "--export", str(HAPPY / "export.jsonl")])
    assert code == 2
    assert "--vkey" in err


def test_a_malformed_trust_root_is_a_usage_error() -> None:
    """--vkey that is neither a key nor a file is a usage error."""
    code, report = run_json(["--vkey", "not-a-key", "--checkpoint", str(HAPPY / "checkpoint.txt"),
                             "--export", str(HAPPY / "export.jsonl")])
    assert code == 2
    assert "verifier key" in report["reason"]


def test_an_unreadable_checkpoint_is_a_usage_error(tmp_path: Path) -> None:
    """A checkpoint file that cannot be read exits 2; one that can be read but is wrong exits 1."""
    code, _ = run_json(["--vkey", str(HAPPY / "vkey.txt"), "--checkpoint", str(tmp_path / "missing"),
                        "--export", str(HAPPY / "export.jsonl")])
    assert code == 2
    junk = tmp_path / "junk.txt"
    junk.write_text("junk\n")
    code, report = run_json(["--vkey", str(HAPPY / "vkey.txt"), "--checkpoint", str(junk),
                             "--export", str(HAPPY / "export.jsonl")])
    assert (code, report["index"]) == (1, None)
    assert report["reason"].startswith("checkpoint:")


def test_help_exits_0() -> None:
    """--help prints usage and returns 0."""
    code, out, _ = run(["--help"])
    assert code == 0
    assert "--vkey" in out


def test_inclusion_proof_without_the_export() -> None:
    """An entry's inclusion proof is checked against the checkpoint without the export."""
    args = [*_base(INCLUSION), "--inclusion-proof", str(INCLUSION / "inclusion-proof.json"),
            "--entry", str(INCLUSION / "entry.bin")]
    code, report = run_json(args)
    assert code == 0, report
    assert report["size"] is None
    assert [c["check"] for c in report["checks"]] == ["checkpoint", "inclusion"]


def test_inclusion_entry_may_be_an_export_line_or_end_with_a_newline(tmp_path: Path) -> None:
    """--entry accepts the raw entry bytes, with one trailing LF, or the entry's export line."""
    line = (INCLUSION / "export.jsonl").read_bytes().splitlines(keepends=True)[4]
    raw = (INCLUSION / "entry.bin").read_bytes()
    for name, data in [("line.jsonl", line), ("raw-lf.bin", raw + b"\n")]:
        path = tmp_path / name
        path.write_bytes(data)
        code, report = run_json([*_base(INCLUSION), "--inclusion-proof", str(INCLUSION / "inclusion-proof.json"),
                                 "--entry", str(path)])
        assert code == 0, report


@pytest.mark.parametrize(
    "change,reason",
    [
        (lambda p: p.update(tree_size=9), "tree size 9"),
        (lambda p: p.update(leaf_hash="00" * 32), "leaf_hash is not the hash of the entry"),
        (lambda p: p.update(root="00" * 32), "root differs"),
        (lambda p: p.update(path=p["path"][:-1]), "inclusion proof"),
        (lambda p: p.update(path=["XYZ"]), "64 lowercase hex"),
        (lambda p: p.pop("root"), "must be an object with"),
    ],
)
def test_inclusion_proof_failures_exit_1(tmp_path: Path, change: Any, reason: str) -> None:
    """A wrong or malformed inclusion proof exits 1 and names the entry."""
    proof = json.loads((INCLUSION / "inclusion-proof.json").read_text())
    change(proof)
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(proof))
    entry = str(INCLUSION / "entry.bin")
    code, report = run_json([*_base(INCLUSION), "--inclusion-proof", str(path), "--entry", entry])
    assert code == 1
    assert reason in report["reason"]


def test_consistency_proof_without_the_export() -> None:
    """An older checkpoint and a consistency proof are checked without the export."""
    args = [*_base(CONSISTENCY), "--previous-checkpoint", str(CONSISTENCY / "previous-checkpoint.txt"),
            "--consistency-proof", str(CONSISTENCY / "consistency-proof.json")]
    code, report = run_json(args)
    assert code == 0, report
    assert [c["check"] for c in report["checks"]] == ["checkpoint", "consistency"]


def test_forked_previous_checkpoint_with_its_own_consistency_proof_fails_without_export() -> None:
    """A previous checkpoint over a fork fails its consistency proof even without the export."""
    d = VECTORS / "previous-checkpoint-forked"
    args = [*_base(d), "--previous-checkpoint", str(d / "previous-checkpoint.txt"),
            "--consistency-proof", str(d / "consistency-proof.json")]
    code, report = run_json(args)
    assert code == 1
    assert "old_root differs" in report["reason"]


def test_previous_checkpoint_alone_is_checked_against_the_export() -> None:
    """With the export, an older checkpoint needs no consistency proof: its root is recomputed."""
    args = [*vector_args(HAPPY), "--previous-checkpoint", str(CONSISTENCY / "previous-checkpoint.txt")]
    code, report = run_json(args)
    assert code == 0, report
    assert "previous" in [c["check"] for c in report["checks"]]


def test_progress_with_tqdm_and_without(monkeypatch: pytest.MonkeyPatch) -> None:
    """--progress draws on stderr with tqdm, and with a plain counter when tqdm is missing."""
    code, _, err = run([*vector_args(HAPPY), "--progress"])
    assert code == 0
    assert "verify" in err
    real_import = builtins.__import__

    def no_tqdm(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "tqdm":
            raise ImportError("no tqdm here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    code, _, err = run([*vector_args(HAPPY), "--progress"])
    assert code == 0
    assert "verify:" in err and "entries" in err


def test_no_progress_by_default_when_not_on_a_terminal() -> None:
    """Without a tty and without --progress, stderr stays quiet."""
    code, _, err = run(vector_args(HAPPY))
    assert (code, err) == (0, "")


def test_export_line_parser_fast_and_slow_paths_agree() -> None:
    """A canonical line takes the fast path; a renumbered line fails with the slow path's reason."""
    line = (HAPPY / "export.jsonl").read_bytes().splitlines(keepends=True)[3]
    data = verify_ledger.parse_export_line(line, 3)
    assert data.startswith(b'{"index":3,')
    with pytest.raises(verify_ledger.VerificationError, match="index out of sequence"):
        verify_ledger.parse_export_line(line, 4)


def test_a_directory_as_export_is_a_usage_error(tmp_path: Path) -> None:
    """An export path that is a directory cannot be read: exit 2."""
    code, _ = run_json([*_base(), "--export", str(tmp_path)])
    assert code == 2


def test_copied_vector_verifies_from_another_folder(tmp_path: Path) -> None:
    """Nothing depends on where the files are."""
    for f in HAPPY.iterdir():
        shutil.copy(f, tmp_path / f.name)
    code, _ = run_json(vector_args(tmp_path))
    assert code == 0
