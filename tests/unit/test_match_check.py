"""The pure re-derivation of a match result's lines (ledger.domain.match_check): each member that the
requester's own text decides, against what MatcherPrincipal's matcher (match_line) writes."""

from __future__ import annotations

from typing import Any

from ledger.domain.address import ADDRESS_RULES_VERSION
from ledger.domain.masterfile import MasterFile
from ledger.domain.match_check import check_match_head, check_match_lines
from ledger.domain.matcher import match_line

MASTER = MasterFile.generate(50, 3)


def _item(k: int, values: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The item the matcher writes for ``values`` (as MatcherPrincipal does) and its matched TIN."""
    r = match_line(values, MASTER)
    return {"line": k, "matched": bool(r.matched and r.match_basis), "match_basis": sorted(r.match_basis),
            "method": r.method, "address_class": r.address_verdict.address_class,
            "address_usable": r.address_verdict.usable, "irs_address_differs": r.irs_address_differs,
            "taxpayer": "c" if r.matched_tin else None}, r.matched_tin


def _requests() -> list[dict[str, Any]]:
    a, b, c = MASTER.records[:3]
    return [
        {"tin": a.tin, "name": a.name, "address": a.address},  # exact
        {"tin": b.tin, "name": "NA NA", "address": "Failed to Provide"},  # TIN only, placeholder
        {"tin": "12-34", "name": c.name, "address": c.address},  # malformed TIN, name + address
        {"tin": None, "name": None, "address": None},  # nothing supplied
        {"tin": "000000000", "name": "Nobody Known", "address": "1 Elm St, Boston, MA 02110"},  # no match
    ]


def _honest() -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]], dict[int, str]]:
    requested = dict(enumerate(_requests()))
    items, tins = [], {}
    for k, values in requested.items():
        item, tin = _item(k, values)
        items.append(item)
        if tin is not None:
            tins[k] = tin
    return items, requested, tins


def test_the_matchers_own_result_passes():
    items, requested, tins = _honest()
    assert [i["match_basis"] for i in items][:3] == [["address", "name", "tin"], ["tin"], ["address", "name"]]
    assert check_match_lines(items, requested, tins) == []
    assert check_match_head({"address_rules_version": ADDRESS_RULES_VERSION}) == []
    assert [r for r, _ in check_match_head({"address_rules_version": "addr-0"})] == ["match.rules_version"]


def _one(k: int, **members: Any) -> list[str]:
    items, requested, tins = _honest()
    items[k].update(members)
    return [rule for rule, _ in check_match_lines(items, requested, tins)]


def test_each_member_misreported_names_its_rule():
    assert _one(1, address_class="junk") == ["match.address_class"]
    assert _one(1, address_class="street", address_usable=True) == ["match.address_class", "match.address_usable"]
    assert _one(0, address_usable=False) == ["match.address_usable"]
    assert _one(1, irs_address_differs=True) == ["match.address_compared"]
    assert _one(0, irs_address_differs=None) == ["match.address_compared"]  # a usable, matched line was compared
    assert _one(0, match_basis=["address", "name"]) == ["match.basis_tin"]
    assert _one(2, match_basis=["address", "name", "tin"]) == ["match.basis_tin"]  # a malformed TIN never agrees
    assert _one(1, match_basis=["address", "tin"]) == ["match.address_basis"]


def test_a_tin_basis_needs_the_matched_tin_to_be_the_requesters():
    items, requested, tins = _honest()
    tins[0] = MASTER.records[5].tin  # the taxpayer commitment opens to someone else's TIN
    assert [r for r, _ in check_match_lines(items, requested, tins)] == ["match.basis_tin"]


def test_lines_outside_the_request_are_left_to_the_rules():
    items, requested, tins = _honest()
    items[0]["address_class"] = "junk"
    del requested[0]
    assert check_match_lines(items, requested, tins) == []


def test_messages_name_no_personal_data():
    items, requested, tins = _honest()
    for item in items:
        item.update(address_class="military", address_usable=not item["address_usable"], irs_address_differs=None,
                    match_basis=[b for b in ("tin",) if b not in item["match_basis"]])
    found = check_match_lines(items, requested, tins)
    assert len({r for r, _ in found}) >= 4
    text = " ".join(m for _, m in found)
    for values in requested.values():
        for value in values.values():
            if value:
                assert value not in text and value.replace("-", "") not in text
    for tin in tins.values():
        assert tin not in text
