"""The operator's documentation stays true to the code: every `disclosure-ledger …` command it names
exists (its --help runs), what it says `make run` and `make clean` do is what the Makefile does, and
the quick start of docs/OPERATIONS.md runs as written, block after block, on SQLite in a temp dir."""

from __future__ import annotations

import argparse
import functools
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.cli import _parser

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
GLOBAL_OPTIONS = {"--db", "--var", "--keyring", "--admin"}  # each takes a value


def _code(text: str) -> list[str]:
    """The text of every inline code span and every line of every fenced block (continuations joined)."""
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```", text, re.S | re.M)
    outside = re.sub(r"^```[a-z]*\n.*?^```", "", text, flags=re.S | re.M)
    lines = [ln for b in blocks for ln in b.replace("\\\n", " ").splitlines()]
    return lines + re.findall(r"`([^`\n]+)`", outside)


def named_commands() -> dict[tuple[str, ...], str]:
    """Each `disclosure-ledger WORDS…` the docs show: the words that name a (sub)command, and the file."""
    found: dict[tuple[str, ...], str] = {}
    for doc in DOCS:
        for snippet in _code(doc.read_text(encoding="utf-8")):
            for rest in re.findall(r"disclosure-ledger((?:\s+[^\s|;&<>()]+)*)", snippet):
                try:
                    words = shlex.split(rest, comments=True)
                except ValueError:
                    words = rest.split()
                while words and (words[0] in GLOBAL_OPTIONS or words[0].split("=")[0] in GLOBAL_OPTIONS):
                    words = words[2:] if "=" not in words[0] else words[1:]
                if words and re.fullmatch(r"[a-z][a-z-]*", words[0]):
                    found.setdefault(tuple(words), doc.name)
    return found


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


@functools.cache
def _top() -> argparse.ArgumentParser:
    return _parser()


def command_path(words: tuple[str, ...]) -> tuple[str, ...] | None:
    """The run of leading words that names a (sub)command; None if a word where a subcommand is
    expected names none (`sealed-keys neww`, `frobnicate`)."""
    parser, path = _top(), []
    for word in words:
        subs = _subcommands(parser)
        if not subs:
            break
        if word not in subs:
            return None if re.fullmatch(r"[a-z][a-z-]*", word) else (tuple(path) or None)
        parser, path = subs[word], [*path, word]
    return tuple(path) or None


def test_every_command_the_docs_name_exists_and_has_help(capsys):
    from ledger.cli import main

    named = named_commands()
    assert ("init",) in {w[:1] for w in named} and len(named) > 50  # the scan finds them
    unknown = {" ".join(w): doc for w, doc in named.items() if command_path(w) is None}
    assert not unknown, f"the docs name commands that do not exist: {unknown}"
    for path in sorted({command_path(w) for w in named}):
        assert path is not None
        with pytest.raises(SystemExit) as done:
            main([*path, "--help"])
        out = capsys.readouterr().out
        assert done.value.code == 0 and out.startswith("usage: disclosure-ledger"), path


def _recipe(target: str) -> str:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(rf"^{target}:[^\n]*\n((?:\t[^\n]*\n)+)", makefile, re.M)
    assert match, target
    return match.group(1)


def test_what_operations_says_make_does_is_what_the_makefile_does():
    ops = (ROOT / "docs" / "OPERATIONS.md").read_text(encoding="utf-8")
    flat = " ".join(ops.split())
    if re.search(r"rm -rf[^\n]*\bvar\b", _recipe("clean")):
        assert "`make clean` deletes `.venv` and the whole of `./var`" in flat
        assert "`make clean` does not" not in flat
    if "disclosure-ledger serve" in _recipe("run"):
        assert "not the service" not in flat and "then serves" in flat


def quick_start() -> list[str]:
    ops = (ROOT / "docs" / "OPERATIONS.md").read_text(encoding="utf-8")
    section = ops.split("\n## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```sh\n(.*?)^```", section, re.S | re.M)


def test_the_quick_start_runs_as_written(tmp_path):
    blocks = quick_start()
    assert len(blocks) >= 4
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    script = "set -euo pipefail\n" + "".join(f"echo '### block {i}' >&2\n{b}" for i, b in enumerate(blocks))
    r = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=300, check=False)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Traceback" not in r.stderr
    lines = r.stdout.splitlines()
    assert any(ln.startswith("ok: 8 entries") for ln in lines), r.stdout  # genesis, 6 keys, the request
    assert '"waits_for": ["match_result"]' in r.stdout
    assert (tmp_path / "export.jsonl").stat().st_size > 0 and (tmp_path / "sealed-keys-escrow.json").exists()
