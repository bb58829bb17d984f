"""docs/RULES.md § 14, the authority table, against the code: every statement type of the policy has a
row, every rule id a row names is one the rules can return, and every rule id has a refusal test."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from ledger.policy import DEFAULT_POLICY
from ledger.rules.catalog import CATALOG

ROOT = Path(__file__).resolve().parents[2]
RULE_ID = re.compile(r"[a-z_]+\.[a-z_]+(:[a-z_]+)?\Z")
GENERIC = "<code>."


def table() -> dict[str, list[str]]:
    """statement type -> the rule ids its row names."""
    text = (ROOT / "docs" / "RULES.md").read_text(encoding="utf-8")
    block = text.split("<!-- authority-table:start -->")[1].split("<!-- authority-table:end -->")[0]
    rows: dict[str, list[str]] = {}
    for line in block.strip().splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        assert len(cells) == 4, line
        (kind,) = re.findall(r"`([^`]+)`", cells[0])
        assert kind not in rows, f"two rows for {kind}"
        rows[kind] = re.findall(r"`([^`]+)`", cells[3])
    return rows


def rule_ids_in_code() -> set[str]:
    """Every string constant shaped like a rule id in the rules' source (rule ids are written whole), and
    in the disclosure service's re-derivation of match results (rules that need the openings)."""
    found = set()
    for path in [*(ROOT / "ledger" / "rules").glob("*.py"), ROOT / "ledger" / "domain" / "match_check.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and RULE_ID.match(node.value):
                found.add(node.value)
    return found


def preconditions() -> set[str]:
    names = {"fields"}
    for rule in CATALOG.values():
        names.update(rule.preconditions())
    return names


def test_every_statement_type_has_a_row():
    rows = table()
    assert set(rows) == set(DEFAULT_POLICY), (set(DEFAULT_POLICY) - set(rows), set(rows) - set(DEFAULT_POLICY))


def test_every_rule_id_in_the_table_exists_in_the_rules():
    code, known = rule_ids_in_code(), preconditions()
    for kind, ids in table().items():
        for rule in ids:
            if rule.startswith(GENERIC):
                name = rule[len(GENERIC):]
                assert name in known or (name == "document:<kind>" and any(n.startswith("document:") for n in known)), (
                    kind, rule)
            else:
                assert rule in code, f"{kind}: {rule} is not a rule id of ledger/rules"


def test_every_rule_id_has_a_refusal_test():
    """A rule id is tested when a test outside this file names it in a string; the exceptions'
    preconditions are each dropped in turn by tests/domain/test_exceptions.py."""
    tests = [p.read_text(encoding="utf-8") for p in (ROOT / "tests").rglob("*.py")
             if p.name != Path(__file__).name]
    exceptions = (ROOT / "tests" / "domain" / "test_exceptions.py").read_text(encoding="utf-8")
    assert "preconditions()" in exceptions
    untested = []
    for rule in sorted({r for ids in table().values() for r in ids}):
        if rule.startswith(GENERIC):
            name = rule[len(GENERIC):]
            # each exception's preconditions are dropped by test_missing_precondition_is_blocked
            ok = name != "fields" or any(re.search(r"\.fields[\"']", t) for t in tests)
        else:
            ok = any(f'"{rule}"' in t or f"'{rule}'" in t for t in tests)
        if not ok:
            untested.append(rule)
    assert not untested, f"rule ids without a refusal test: {untested}"
