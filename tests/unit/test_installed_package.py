"""What `pip install` ships: ``ledger``, ``api`` and ``projections``, and neither the demo (``demo/``, what
`make run` loads) nor the benchmarks' helpers (``bench/``). The installed code imports neither, and the
service's code never imports the principal's side (``ledger.client``: their keyring, their commands)."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import setuptools

ROOT = Path(__file__).resolve().parents[2]
INSTALLED = ("ledger", "api", "projections", "usecases")
NOT_INSTALLED = ("demo", "bench")
# The service's code: it runs with no principal's private key and reads no keyring.
SERVICE = ("api", "projections", "usecases", "ledger/core", "ledger/authoring", "ledger/domain", "ledger/store",
           "ledger/rules", "ledger/sealed")


def _installed_packages() -> list[str]:
    find = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    return setuptools.find_packages(where=str(ROOT), include=find["include"], exclude=find.get("exclude", ()))


def _imports(folder: str) -> dict[str, set[str]]:
    """Every module each file under ``folder`` imports (absolute imports, inside functions too)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
                names |= {f"{node.module}.{a.name}" for a in node.names}
        found[str(path.relative_to(ROOT))] = names
    return found


def test_the_package_holds_the_ledger_the_use_cases_the_api_and_the_projections_only() -> None:
    packages = _installed_packages()
    wanted = {"ledger", "ledger.authoring", "ledger.client", "ledger.domain", "api", "projections", "usecases"}
    assert wanted <= set(packages)
    strays = [p for p in packages if p.split(".")[0] not in INSTALLED]
    assert strays == [], f"installed besides ledger, usecases, api and projections: {strays}"


def test_neither_the_demo_nor_the_benchmark_helpers_are_inside_the_package() -> None:
    packages = _installed_packages()
    assert [p for p in packages if "demo" in p.split(".") or "bench" in p.split(".")] == []
    assert not (ROOT / "ledger" / "demo").exists()
    assert not (ROOT / "ledger" / "domain" / "forked.py").exists()
    assert (ROOT / "demo" / "__main__.py").is_file() and (ROOT / "bench" / "forked.py").is_file()


def test_installed_code_imports_neither_the_demo_nor_bench() -> None:
    found = {path: sorted(n for n in names if n.split(".")[0] in NOT_INSTALLED)
             for folder in INSTALLED for path, names in _imports(folder).items()}
    assert sum(len(names) for names in _imports("ledger").values()) > 500  # the scan reads real imports
    assert {path: names for path, names in found.items() if names} == {}


def test_the_service_never_imports_the_principals_side() -> None:
    assert "ledger.client.keyring" in _imports("ledger")["ledger/cli.py"]  # the scan sees such imports
    found = {path: sorted(n for n in names if n == "ledger.client" or n.startswith("ledger.client."))
             for folder in SERVICE for path, names in _imports(folder).items()}
    assert {path: names for path, names in found.items() if names} == {}
