"""Every exception in the catalog: a complete request is approved and released; removing any
one precondition is refused with the rule's name, and the refusal is a `blocked` entry."""

from __future__ import annotations

import pytest
from domainfix import open_domain, run_exception

from ledger.core.entry import parse_entry
from ledger.core.statement import parse_statement
from ledger.domain.refusals import RuleRefusal
from ledger.rules.catalog import CATALOG
from ledger.store.fsck import fsck

CASES = [(code, p) for code, rule in sorted(CATALOG.items()) for p in rule.preconditions()]


@pytest.fixture
def domain(settings):
    """The whole matrix runs on SQLite and on PostgreSQL."""
    d = open_domain(settings)
    yield d
    d.ledger.close()


@pytest.mark.parametrize("code", sorted(CATALOG))
def test_complete_request_is_released(domain, code):
    """A request meeting every precondition of its exception is reviewed and released."""
    ids = run_exception(domain, code)
    state = domain.engine.state.requests[ids["request"]]
    assert state.released_lines == {0, 1, 2}
    assert fsck(domain.ledger.store).ok


@pytest.mark.parametrize(("code", "precondition"), CASES, ids=[f"{c}-{p}" for c, p in CASES])
def test_missing_precondition_is_blocked(domain, code, precondition):
    """Without the precondition, the statement that needs it is refused and logged as blocked."""
    with pytest.raises(RuleRefusal) as info:
        run_exception(domain, code, drop=precondition)
    rule_id = f"{code}.{precondition}"
    assert rule_id in info.value.rules
    assert rule_id in str(info.value)
    blocked = parse_statement(parse_entry(domain.ledger.entry(info.value.blocked_index)).statement)
    assert blocked.type == "blocked"
    assert rule_id in blocked.body["rules"]
    assert fsck(domain.ledger.store).ok
