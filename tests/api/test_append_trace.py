"""Which of the project's files one accepted statement runs through, from HTTP to its stored entry.

The pure modules (the integrity core the court's verifier embeds, and the salts) and the rules engine
are where the checks live; everything else on the path is plumbing, and plumbing is kept short so
that a reader can follow a statement from ``POST /v1/statements`` to its row. The list is printed in
the order the files first run; docs/ARCHITECTURE.md shows it.
"""

from __future__ import annotations

import ast
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from apifix import open_api
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ledger", "api", "projections", "usecases")
LIMIT = 10


def _pure() -> frozenset[Path]:
    """The pure modules of ``ledger/``: each imports only the standard library, PyNaCl and other pure
    modules (at any depth, imports inside functions included). They are what ``ledger/core/`` holds."""
    stdlib = sys.stdlib_module_names
    imports: dict[Path, set[str]] = {}
    for path in (ROOT / "ledger").rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
        imports[path] = names

    def module_path(name: str) -> Path | None:
        base = ROOT / Path(*name.split("."))
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate in imports:
                return candidate
        return None

    impure: set[Path] = set()
    changed = True
    while changed:
        changed = False
        for path, names in imports.items():
            if path in impure:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in stdlib or top == "nacl" or name == "__future__":
                    continue
                target = module_path(name) if top == "ledger" else None
                if target is None or target in impure:
                    impure.add(path)
                    changed = True
                    break
    return frozenset(p for p in imports if p not in impure and p.name != "__init__.py")


def traced_files(post: Any) -> dict[Path, set[str]]:
    """The project files (outside the pure modules and ledger/rules/) whose code ran during ``post()``,
    in the order they first ran, on any thread, with the functions of each that ran."""
    pure, rules = _pure(), ROOT / "ledger" / "rules"
    seen: dict[str, set[str]] = {}

    def profile(frame: FrameType, event: str, arg: object) -> None:
        if event == "call":
            seen.setdefault(frame.f_code.co_filename, set()).add(frame.f_code.co_name)

    threading.setprofile(profile)
    sys.setprofile(profile)
    try:
        post()
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
    out = {}
    for name, functions in seen.items():
        path = Path(name).resolve()
        try:
            rel = path.relative_to(ROOT)
        except ValueError:
            continue
        if rel.parts[0] not in PACKAGES or path in pure or path.is_relative_to(rules):
            continue
        out[path] = functions
    return out


def test_the_pure_modules_are_found_by_their_imports():
    """The integrity core is pure; the store's database access, the service and the API are not."""
    pure = {str(p.relative_to(ROOT)) for p in _pure()}
    core = {f"ledger/core/{m}.py" for m in ("merkle", "statement", "trust", "verify")}
    assert core <= pure
    assert not pure & {"ledger/store/db.py", "ledger/store/ledger.py", "ledger/domain/service.py",
                       "ledger/sealed/store.py", "ledger/cli.py"}


def test_one_statement_runs_through_at_most_ten_plumbing_files(settings):
    """One accepted request over HTTP, the service configured as `serve` runs it (checkpoints signed in
    the background): at most ten project files outside the pure modules and the rules."""
    api, close = open_api(settings, background_checkpoints=True)
    try:
        _trace(api)
    finally:
        close()


def _trace(api: Any) -> None:
    payload = api.submission(api.request())
    # A client of its own, not yet started: its event loop and worker threads start under the profile.
    client = TestClient(api.client.app)
    response: dict[str, Any] = {}

    def post() -> None:
        response["r"] = client.post("/v1/statements", json=payload)

    files = traced_files(post)
    assert response["r"].status_code == 201, response["r"].text
    listed = "\n".join(f"{f.relative_to(ROOT)}: {', '.join(sorted(fns))}" for f, fns in files.items())
    print(f"\n{len(files)} files:\n{listed}")
    names = {str(f.relative_to(ROOT)) for f in files}
    # The profile saw the handler's thread and the append's transaction, not only the event loop.
    assert {"api/routes/statements.py", "ledger/store/ledger.py", "ledger/store/db.py"} <= names, listed
    assert len(files) <= LIMIT, f"{len(files)} files on the path of one statement:\n{listed}"
