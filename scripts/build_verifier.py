"""Build scripts/verify_ledger.py: the integrity core and the verifier's CLI in one file.

    python scripts/build_verifier.py           # write scripts/verify_ledger.py
    python scripts/build_verifier.py --check   # exit 1 if the checked-in file is stale

The court runs one file that needs only Python 3.11+ and pynacl; the code it runs is
exactly ledger/core/*.py (one source of truth: every module of that folder and no other),
concatenated in dependency order with the ``from ledger.core... import`` lines taken out, then
the command line's parts (scripts/_verifier_*.py, their imports of each other taken out too),
scripts/_verifier_cli.py last. Every other
top-level import is hoisted into one block at the top. The build refuses anything it
cannot bundle faithfully: a name bound at top level by two modules, an aliased or
non-top-level ``ledger`` import, or an import of a ledger module that is not bundled.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "scripts" / "verify_ledger.py"
CLI = ROOT / "scripts" / "_verifier_cli.py"
# The command line in dependency order: each part imports only the core and the parts before it.
CLI_PARTS = ("_verifier_terminal", "_verifier_inputs", "_verifier_show", "_verifier_witnesses", "_verifier_cli")
CORE_DIR = ROOT / "ledger" / "core"
STDLIB = frozenset(sys.stdlib_module_names)

HEADER = '''\
#!/usr/bin/env python3
# GENERATED FILE - DO NOT EDIT. Built by scripts/build_verifier.py from the integrity core
{{{core}}}
# and scripts/_verifier_*.py. Regenerate with:  python scripts/build_verifier.py
# tests/scripts/test_build_verifier.py fails when this file differs from a fresh build.
'''


class BuildError(Exception):
    """The sources cannot be bundled faithfully."""


def _docstring_comment(tree: ast.Module) -> list[str]:
    doc = ast.get_docstring(tree, clean=True)
    if not doc:
        return []
    return [("# " + line).rstrip() for line in doc.splitlines()]


def _bound_names(node: ast.stmt) -> list[str]:
    """Names a top-level statement binds (imports excluded)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        targets = [node.target]
    names = []
    for target in targets:
        names += [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
    return names


class Bundle:
    """Collects hoisted imports and module bodies; checks that no top-level name is bound twice."""

    def __init__(self) -> None:
        self.plain: set[tuple[str, str | None]] = set()  # import x [as y]
        self.from_: dict[str, set[tuple[str, str | None]]] = {}  # from m import x [as y]
        self.bound: dict[str, str] = {}  # name -> where it was bound
        self.bodies: list[str] = []
        self.bundled: set[str] = set()
        self.parts: set[str] = set()  # the command line's parts bundled so far

    def _bind(self, name: str, where: str, source: str) -> None:
        previous = self.bound.get(name)
        if previous is not None and previous != source:
            raise BuildError(f"{name!r} is bound by both {previous} and {where}; rename one")
        self.bound[name] = source

    def add(self, path: Path, module: str | None, part: str | None = None) -> None:
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        lines = text.splitlines()
        rel = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
        drop: set[int] = set()
        for node in ast.walk(tree):
            is_ledger = isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "ledger"
            if is_ledger and node not in tree.body:
                raise BuildError(f"{rel}:{node.lineno}: a ledger import must be at top level")
            if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "ledger" for a in node.names):
                raise BuildError(f"{rel}:{node.lineno}: use 'from ledger.x import y', not 'import ledger'")
        body = tree.body
        if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
            drop.update(range(body[0].lineno, (body[0].end_lineno or body[0].lineno) + 1))
            body = body[1:]
        for node in body:
            span = range(node.lineno, (node.end_lineno or node.lineno) + 1)
            if isinstance(node, ast.ImportFrom):
                drop.update(span)
                mod = node.module or ""
                if node.level:
                    raise BuildError(f"{rel}:{node.lineno}: relative imports cannot be bundled")
                if mod == "__future__":
                    continue
                if mod in CLI_PARTS:
                    if mod not in self.parts:
                        raise BuildError(f"{rel}:{node.lineno}: {mod} is not bundled before this part")
                    for alias in node.names:
                        if alias.asname or self.bound.get(alias.name) != f"scripts/{mod}.py:{alias.name}":
                            raise BuildError(f"{rel}:{node.lineno}: {mod} defines no top-level {alias.name}")
                    continue
                if mod.split(".")[0] == "ledger":
                    target = mod.split(".", 1)[1] if "." in mod else ""
                    if target not in self.bundled:
                        raise BuildError(f"{rel}:{node.lineno}: {mod} is not bundled before this module")
                    for alias in node.names:
                        if alias.asname:
                            raise BuildError(f"{rel}:{node.lineno}: aliased ledger import {alias.name}")
                        if self.bound.get(alias.name) != f"{mod}.{alias.name}":
                            raise BuildError(f"{rel}:{node.lineno}: {mod} defines no top-level {alias.name}")
                    continue
                for alias in node.names:
                    self.from_.setdefault(mod, set()).add((alias.name, alias.asname))
                    self._bind(alias.asname or alias.name, rel, f"import {mod}.{alias.name}")
            elif isinstance(node, ast.Import):
                drop.update(span)
                for alias in node.names:
                    self.plain.add((alias.name, alias.asname))
                    if alias.asname:
                        self._bind(alias.asname, rel, f"import {alias.name}")
                    else:  # 'import a.b' binds the package a
                        self._bind(alias.name.split(".")[0], rel, f"import {alias.name.split('.')[0]}")
            else:
                for name in _bound_names(node):
                    self._bind(name, rel, f"ledger.{module}.{name}" if module else f"{rel}:{name}")
        kept = [line for number, line in enumerate(lines, 1) if number not in drop]
        while kept and not kept[0].strip():
            kept.pop(0)
        while kept and not kept[-1].strip():
            kept.pop()
        section = [f"# {'-' * 30} {rel} {'-' * (60 - len(rel))}", *_docstring_comment(tree), "", *kept]
        self.bodies.append("\n".join(section))
        if module:
            self.bundled.add(module)
        if part:
            self.parts.add(part)

    def imports(self) -> str:
        """One import block in ruff's isort order: stdlib then third party; straight imports first."""

        def section(stdlib: bool) -> list[str]:
            def wanted(module: str) -> bool:
                return (module.split(".")[0] in STDLIB) == stdlib

            straight = sorted((p for p in self.plain if wanted(p[0])), key=lambda p: _sort_key(p[0]))
            out = [f"import {m}" + (f" as {a}" if a else "") for m, a in straight]
            for module in sorted((m for m in self.from_ if wanted(m)), key=_sort_key):
                # isort (combine-as-imports off): plain names on one line, each aliased name on its own.
                names = sorted((x for x in self.from_[module] if not x[1]), key=lambda a: _name_key(a[0]))
                if names:
                    out.append(f"from {module} import " + ", ".join(n for n, _ in names))
                aliased = sorted((x for x in self.from_[module] if x[1]), key=lambda a: _name_key(a[0]))
                out += [f"from {module} import {n} as {a}" for n, a in aliased]
            return out

        return "\n".join(["from __future__ import annotations", "", *section(True), "", *section(False)])


def _sort_key(module: str) -> tuple[str, str]:
    return (module.lower(), module)


def _name_key(name: str) -> tuple[int, str]:
    # isort's force-sort-within-sections off, order-by-type on: CONSTANTS, Classes, functions.
    if name.isupper() and len(name) > 1:
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


def _core_imports(path: Path) -> set[str]:
    """The core modules a core module imports (``from ledger.core.x import ...``)."""
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ledger.core."):
            found.add(node.module.split(".", 2)[2])
    return found


def core_modules() -> tuple[str, ...]:
    """Every module of ledger/core/, each after the core modules it imports (ties alphabetical)."""
    paths = {p.stem: p for p in sorted(CORE_DIR.glob("*.py")) if p.stem != "__init__"}
    needs = {name: _core_imports(path) for name, path in paths.items()}
    for name, wanted in needs.items():
        missing = wanted - paths.keys()
        if missing:
            raise BuildError(f"ledger/core/{name}.py imports ledger.core.{sorted(missing)[0]}, which does not exist")
    order: list[str] = []
    while len(order) < len(needs):
        ready = sorted(n for n in needs if n not in order and needs[n] <= set(order))
        if not ready:
            cycle = sorted(n for n in needs if n not in order)
            raise BuildError(f"the core's modules import each other in a cycle among {', '.join(cycle)}")
        order.append(ready[0])
    return tuple(order)


def _core_comment(core: tuple[str, ...]) -> str:
    """``# ledger/core/{a,b,...}.py`` wrapped to comment lines of at most 100 characters."""
    lines, line = [], "# ledger/core/{"
    for i, module in enumerate(core):
        part = module + (",", "}.py")[i == len(core) - 1]
        if len(line) + len(part) > 100:
            lines.append(line)
            line = "#     "
        line += part
    return "\n".join([*lines, line])


def build() -> str:
    """The text of scripts/verify_ledger.py for the current sources."""
    bundle = Bundle()
    core = core_modules()
    for module in core:
        bundle.add(CORE_DIR / f"{module}.py", f"core.{module}")
    for part in CLI_PARTS:
        bundle.add(ROOT / "scripts" / f"{part}.py", None, part)
    cli_doc = ast.get_docstring(ast.parse(CLI.read_text(encoding="utf-8")), clean=True) or ""
    parts = [
        HEADER.replace("{{{core}}}", _core_comment(core)),
        '"""' + cli_doc.replace('"""', '\\"\\"\\"') + '\n"""',
        "",
        bundle.imports(),
        "",
        *[body + "\n\n" for body in bundle.bodies],
    ]
    text = "\n".join(parts).rstrip() + "\n"
    ast.parse(text)  # it must at least be Python
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 if the checked-in file is stale")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    try:
        text = build()
    except BuildError as e:
        print(f"build_verifier: {e}", file=sys.stderr)
        return 2
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale: run python scripts/build_verifier.py", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    args.output.chmod(0o755)
    print(f"wrote {args.output} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
