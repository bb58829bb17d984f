"""scripts/verify_ledger.py is generated from the core: it never drifts, and it stands alone."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
from verifier_helpers import ROOT, SCRIPTS

if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

import build_verifier

GENERATED = SCRIPTS / "verify_ledger.py"


def test_checked_in_verifier_equals_a_fresh_build() -> None:
    """The checked-in file is byte for byte what build_verifier makes of the current core."""
    assert GENERATED.read_text(encoding="utf-8") == build_verifier.build(), (
        "scripts/verify_ledger.py is stale: run python scripts/build_verifier.py"
    )


def test_generated_file_says_it_is_generated() -> None:
    """Its header says it is generated and how to regenerate it."""
    lines = GENERATED.read_text(encoding="utf-8").splitlines()
    head = lines[:next(i for i, line in enumerate(lines) if not line.startswith("#"))]  # the comment on top
    assert len(head) <= 10
    assert any("GENERATED FILE" in line for line in head)
    assert any("python scripts/build_verifier.py" in line for line in head)


def test_generated_file_imports_only_stdlib_and_pynacl() -> None:
    """No ledger import is left; everything else is the standard library or nacl."""
    tree = ast.parse(GENERATED.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = [node.module or ""]
        else:
            continue
        for module in modules:
            top = module.split(".")[0]
            assert top in sys.stdlib_module_names or top in ("nacl", "tqdm"), module


def test_every_core_module_is_bundled_in_dependency_order() -> None:
    """Each module appears once, in the order of CORE, before the CLI."""
    text = GENERATED.read_text(encoding="utf-8")
    positions = [text.index(f" ledger/{m}.py ") for m in build_verifier.CORE]
    assert positions == sorted(positions)
    assert text.index(" scripts/_verifier_cli.py ") > positions[-1]


def _bundle(tmp_path: Path, sources: dict[str, str]) -> None:
    bundle = build_verifier.Bundle()
    for name, source in sources.items():
        path = tmp_path / f"{name}.py"
        path.write_text(source)
        bundle.add(path, name)


def test_build_refuses_a_name_bound_by_two_modules(tmp_path: Path) -> None:
    """Two modules binding one top-level name (say a private regex) would silently clash."""
    with pytest.raises(build_verifier.BuildError, match="_RE"):
        _bundle(tmp_path, {"one": "import re\n_RE = re.compile('a')\n", "two": "import re\n_RE = re.compile('b')\n"})


def test_build_refuses_a_name_shadowing_an_import(tmp_path: Path) -> None:
    """A module defining a name another imports from the standard library is refused."""
    with pytest.raises(build_verifier.BuildError, match="field"):
        _bundle(tmp_path, {"one": "from dataclasses import field\n", "two": "def field():\n    pass\n"})


def test_build_refuses_aliased_and_unknown_ledger_imports(tmp_path: Path) -> None:
    """`from ledger.x import y as z` and imports of unbundled ledger modules cannot be stripped safely."""
    with pytest.raises(build_verifier.BuildError, match="not bundled"):
        _bundle(tmp_path, {"one": "from ledger.store import thing\n"})
    with pytest.raises(build_verifier.BuildError, match="aliased"):
        _bundle(tmp_path, {"errors": "class E(Exception):\n    pass\n", "two": "from ledger.errors import E as F\n"})
    with pytest.raises(build_verifier.BuildError, match="top level"):
        _bundle(tmp_path, {"one": "def f():\n    from ledger.errors import E\n"})


def test_build_check_mode_reports_a_stale_file(tmp_path: Path) -> None:
    """--check exits 1 for a stale file and 0 for a fresh one."""
    stale = tmp_path / "verify_ledger.py"
    stale.write_text("# old\n")
    assert build_verifier.main(["--check", "--output", str(stale)]) == 1
    assert build_verifier.main(["--output", str(stale)]) == 0
    assert build_verifier.main(["--check", "--output", str(stale)]) == 0
    assert stale.read_text() == GENERATED.read_text()
    assert ROOT.exists()
