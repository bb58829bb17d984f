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
    """Each module appears once, in the builder's dependency order, before the CLI."""
    text = GENERATED.read_text(encoding="utf-8")
    positions = [text.index(f" ledger/core/{m}.py ") for m in build_verifier.core_modules()]
    assert positions == sorted(positions)
    assert text.index(" scripts/_verifier_cli.py ") > positions[-1]


def _bundle(tmp_path: Path, sources: dict[str, str]) -> None:
    bundle = build_verifier.Bundle()
    for name, source in sources.items():
        path = tmp_path / f"{name}.py"
        path.write_text(source)
        bundle.add(path, f"core.{name}")


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
        _bundle(tmp_path, {"errors": "class E(Exception):\n    pass\n",
                           "two": "from ledger.core.errors import E as F\n"})
    with pytest.raises(build_verifier.BuildError, match="top level"):
        _bundle(tmp_path, {"one": "def f():\n    from ledger.core.errors import E\n"})


def test_build_check_mode_reports_a_stale_file(tmp_path: Path) -> None:
    """--check exits 1 for a stale file and 0 for a fresh one."""
    stale = tmp_path / "verify_ledger.py"
    stale.write_text("# old\n")
    assert build_verifier.main(["--check", "--output", str(stale)]) == 1
    assert build_verifier.main(["--output", str(stale)]) == 0
    assert build_verifier.main(["--check", "--output", str(stale)]) == 0
    assert stale.read_text() == GENERATED.read_text()
    assert ROOT.exists()


CORE_DIR = ROOT / "ledger" / "core"


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append(("." * node.level) + (node.module or ""))
    return names


def test_the_core_is_the_folder_and_the_verifier_is_built_from_exactly_it() -> None:
    """ledger/core/ holds the verifier's modules, all of them and only them: the builder lists the folder."""
    on_disk = {p.stem for p in CORE_DIR.glob("*.py")} - {"__init__"}
    assert set(build_verifier.core_modules()) == on_disk
    assert len(on_disk) >= 18
    text = GENERATED.read_text(encoding="utf-8")
    bundled = {line.split()[2] for line in text.splitlines() if line.startswith("# " + "-" * 30 + " ledger/")}
    assert bundled == {f"ledger/core/{m}.py" for m in on_disk}
    # Nothing of the integrity core is left beside the application code at the top of ledger/.
    for name in ("canonical", "entry", "statement", "note", "checkpoint", "merkle", "proofs", "keys", "verify"):
        assert not (ROOT / "ledger" / f"{name}.py").exists(), name


def test_the_core_imports_only_the_standard_library_pynacl_and_itself() -> None:
    """Every import in ledger/core/ is the standard library, PyNaCl or another core module."""
    for path in sorted(CORE_DIR.glob("*.py")):
        for name in _imports(path):
            assert not name.startswith("."), f"{path.name}: relative import {name}"
            top = name.split(".")[0]
            if top == "ledger":
                assert name.startswith("ledger.core."), f"{path.name} imports {name}"
            else:
                assert top in sys.stdlib_module_names or top in ("nacl", "__future__"), f"{path.name} imports {name}"


def test_core_order_follows_the_imports_and_refuses_a_cycle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each module comes after those it imports; a cycle or an import of a missing module is a BuildError."""
    order = build_verifier.core_modules()
    for i, module in enumerate(order):
        for name in _imports(CORE_DIR / f"{module}.py"):
            if name.startswith("ledger.core."):
                assert order.index(name.split(".")[2]) < i, (module, name)
    (tmp_path / "a.py").write_text("from ledger.core.b import x\n")
    (tmp_path / "b.py").write_text("from ledger.core.a import y\n")
    monkeypatch.setattr(build_verifier, "CORE_DIR", tmp_path)
    with pytest.raises(build_verifier.BuildError, match="cycle"):
        build_verifier.core_modules()
    (tmp_path / "b.py").write_text("from ledger.core.gone import y\n")
    with pytest.raises(build_verifier.BuildError, match="gone"):
        build_verifier.core_modules()
