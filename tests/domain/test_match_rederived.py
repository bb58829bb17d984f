"""The disclosure service re-derives a match result from the request's openings, on SQLite and
PostgreSQL: a result misreporting one member (address class, usability, the TIN basis, an address
comparison that cannot have happened) is recorded as `blocked` under that member's rule and
refused — inline, in bulk form, and from the service's second process — with a message that names
no TIN, name or address; the honest matcher's result still lands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bench.forked import submit_bulk_forked
from ledger.authoring import disclosure as dc
from ledger.core.entry import parse_entry
from ledger.core.statement import parse_statement
from ledger.domain.bulk import bulk_request, opened_chunk_lines, submit_bulk
from ledger.domain.masterfile import MasterFile
from ledger.domain.matching import MatcherPrincipal
from ledger.domain.refusals import RuleRefusal

REQUESTER, MATCHER = "ice.dhs.gov/acting-director", "irs.gov/matcher"
PLACEHOLDER = "Failed to Provide"
BULK_LINES = 160  # more than an inline statement holds: two chunks


@pytest.fixture(scope="module")
def master() -> MasterFile:
    return MasterFile.generate(400, 11)


def _lines(master: MasterFile, n: int) -> list[dc.Line]:
    """Every third line's address is a placeholder; the rest are the IRS record exactly."""
    return [dc.Line(r.tin, r.name, PLACEHOLDER if k % 3 == 0 else r.address, ("2024",), "open case")
            for k, r in enumerate(master.records[:n])]


def _set(**members: Any) -> Callable[[dict[str, Any]], None]:
    return lambda item: item.update(members)


def _drop_tin(item: dict[str, Any]) -> None:
    item["match_basis"] = [b for b in item["match_basis"] if b != "tin"]
    item["method"] = "+".join(b.upper() for b in ("tin", "name", "address") if b in item["match_basis"])


# (rule, forgery, whether the forged line's address is the placeholder)
FORGERIES = {
    "match.address_class": (_set(address_class="junk"), True),  # still unusable: only the class lies
    "match.address_usable": (_set(address_usable=True), True),  # the incident: a placeholder called usable
    "match.basis_tin": (_drop_tin, False),  # the requester's TIN is the matched one, and the basis omits it
    "match.address_compared": (_set(irs_address_differs=False), True),  # a placeholder is never compared
}


class Forger(MatcherPrincipal):
    """The matcher's key signing a result with one member of one line misreported."""

    def __init__(self, key: Any, master: MasterFile, line: int, forge: Callable[[dict[str, Any]], None]) -> None:
        super().__init__(key, master)
        self.line, self.forge = line, forge

    def _match(self, k: int, line: dict[str, Any], values: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        item, tin = super()._match(k, line, values)
        if k == self.line:
            self.forge(item)
        return item, tin


def _file(service: Any, keys: dict[str, Any], lines: list[dc.Line], *, bulk: bool) -> Any:
    ice = keys[REQUESTER]
    args = dict(exception="6103(i)(2)", agency="DHS/ICE", statute="8 USC 1253(a)(1)",
                purpose="criminal_investigation", purpose_text="fictional", fields=["name", "address"],
                recipients=[dc.Recipient("Agent", "DHS/ICE")], lines=lines,
                seed=service.issue_seed(ice.name, "request"))
    if bulk:
        request = bulk_request(ice, **args)
        submit_bulk(service.submit_batch, request)
        return parse_statement(request.manifest.note)
    sub = dc.request(ice, **args)
    service.submit(sub.note, sub.openings)
    return parse_statement(sub.note)


def _match(service: Any, matcher: MatcherPrincipal, request: Any, *, forked: bool = False) -> Any:
    """Submit ``matcher``'s result for ``request`` through the service (inline, bulk or from the
    service's second process, as the request's form and ``forked`` say)."""
    seed = service.issue_seed(matcher.key.name, "match_result")
    body = request.envelope["body"]
    if "lines" in body:
        wanted = [line[f] for line in body["lines"] for f in ("tin", "name", "address", "reason") if line[f]]
        sub = matcher.match_request(request, service.openings(wanted), seed=seed)
        return service.submit(sub.note, sub.openings)
    parts = service.ledger.rules.state.parts.get(request.id, [])

    def build() -> Any:
        return matcher.match_bulk(request, *opened_chunk_lines(service.ledger, parts, service.sealed), seed=seed)

    if forked:
        return submit_bulk_forked(service.submit_batch, build, stages=service.stages([seed.statement_id]))
    return submit_bulk(service.submit_batch, build())


def _blocked_rules(ledger: Any, index: int) -> list[str]:
    stmt = parse_statement(parse_entry(ledger.entry(index)).statement)
    assert stmt.type == "blocked"
    return stmt.envelope["body"]["rules"]


def _assert_refused(d: Any, service: Any, keys: dict[str, Any], master: MasterFile, rule: str, *,
                    bulk: bool, forked: bool = False) -> None:
    forge, on_placeholder = FORGERIES[rule]
    n = BULK_LINES if bulk else 6
    lines = _lines(master, n)
    # in bulk, a line of the second chunk: its request chunk is the one opened
    target = next(k for k in range(130 if bulk else 0, n) if (k % 3 == 0) == on_placeholder)
    request = _file(service, keys, lines, bulk=bulk)
    size = d.ledger.size()
    with pytest.raises(RuleRefusal) as refused:
        _match(service, Forger(keys[MATCHER], master, target, forge), request, forked=forked)
    assert refused.value.rules == [rule]
    assert refused.value.blocked_index == size  # nothing else of the submission landed
    assert d.ledger.size() == size + 1
    assert _blocked_rules(d.ledger, size) == [rule]
    message = str(refused.value)
    assert f"line {target}:" in message
    for line in lines:  # nothing personal: no TIN (in any spelling), name or address of any line
        assert line.tin not in message and line.tin.replace("-", "") not in message
        assert line.name not in message and line.address not in message
    # the honest matcher's result for the same request lands
    honest = _match(service, MatcherPrincipal(keys[MATCHER], master), request)
    assert d.ledger.rules.state.requests[request.id].match_id is not None
    assert honest


@pytest.mark.parametrize("rule", sorted(FORGERIES))
def test_a_forged_inline_match_result_is_blocked(bulk_world, master, rule):
    d, service, keys = bulk_world
    _assert_refused(d, service, keys, master, rule, bulk=False)


@pytest.mark.parametrize("rule", sorted(FORGERIES))
def test_a_forged_bulk_match_result_is_blocked(bulk_world, master, rule):
    d, service, keys = bulk_world
    _assert_refused(d, service, keys, master, rule, bulk=True)


def test_the_service_second_process_checks_a_bulk_match_result(bulk_world, master):
    """``stages``: the check runs in the service's checking process, which opens its own connections."""
    d, service, keys = bulk_world
    _assert_refused(d, service, keys, master, "match.address_usable", bulk=True, forked=True)
    request = _file(service, keys, _lines(master, BULK_LINES), bulk=True)
    out = _match(service, MatcherPrincipal(keys[MATCHER], master), request, forked=True)
    assert len(out.appended) == 3  # the manifest and its two chunks
    assert d.ledger.rules.state.requests[request.id].match_id == out.statement_id


def test_a_result_under_other_address_rules_is_blocked(bulk_world, master, monkeypatch):
    """The classes cannot be re-derived under rules the ledger does not run."""
    import ledger.domain.matching as matching

    _d, service, keys = bulk_world
    request = _file(service, keys, _lines(master, 3), bulk=False)
    monkeypatch.setattr(matching, "ADDRESS_RULES_VERSION", "addr-1999.1")
    with pytest.raises(RuleRefusal) as refused:
        _match(service, MatcherPrincipal(keys[MATCHER], master), request)
    assert refused.value.rules == ["match.rules_version"]


def test_a_forged_result_resubmitted_is_refused_by_id(bulk_world, master):
    """The id of a blocked result is taken for good: sent again, nothing more is recorded."""
    from ledger.domain.refusals import AppendRefused

    d, service, keys = bulk_world
    request = _file(service, keys, _lines(master, 3), bulk=False)
    forger = Forger(keys[MATCHER], master, 0, _set(address_usable=True))
    seed = service.issue_seed(forger.key.name, "match_result")
    body = request.envelope["body"]
    wanted = [line[f] for line in body["lines"] for f in ("tin", "name", "address", "reason") if line[f]]
    sub = forger.match_request(request, service.openings(wanted), seed=seed)
    with pytest.raises(RuleRefusal):
        service.submit(sub.note, sub.openings)
    size = d.ledger.size()
    with pytest.raises(AppendRefused) as again:
        service.submit(sub.note, sub.openings)
    assert again.value.rule == "ledger.refused_id"
    assert d.ledger.size() == size
