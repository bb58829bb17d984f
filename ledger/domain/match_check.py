"""Re-deriving a match result from the request's openings: what the matcher cannot misreport.

The matcher principal signs, per request line, how the line was matched (``match_result``,
docs/FORMAT.md § 17.4.2). Some of its members follow from the requester's own text alone,
without the IRS master file: the class of the requested address under the address rules, whether
that class is usable, whether the requester's TIN is the matched TIN, and whether an address could
have been compared at all. The disclosure service holds the request's openings and the matched
TINs' openings, so it re-derives those members here and refuses a result that disagrees.

Everything here is pure: the caller opens the values and hands them in. Messages name line
numbers, class names and field names only — never a TIN, a name or an address.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ledger.domain.address import ADDRESS_RULES_VERSION, classify_address
from ledger.domain.matcher import supplied, tin_or_none

Violation = tuple[str, str]  # (rule id, message)

RULES = ("match.rules_version", "match.address_class", "match.address_usable", "match.basis_tin",
         "match.address_basis", "match.address_compared")


def check_match_head(head: Mapping[str, Any], rules_version: str = ADDRESS_RULES_VERSION) -> list[Violation]:
    """The result's address rules are the ones this service classifies with (else its classes
    cannot be re-derived)."""
    claimed = head.get("address_rules_version")
    if claimed != rules_version:
        return [("match.rules_version", f"the match result classes addresses under rules {claimed!r}; "
                                        f"this ledger re-derives them under {rules_version!r}")]
    return []


def check_match_lines(items: Iterable[Mapping[str, Any]], requested: Mapping[int, Mapping[str, Any]],
                      matched_tins: Mapping[int, Any]) -> list[Violation]:
    """The violations of each item whose request line is in ``requested``.

    ``requested``: by line number, the request line's opened values (``tin``, ``name``,
    ``address``; None where the requester supplied nothing). ``matched_tins``: by line number, the
    opened value of the item's ``taxpayer`` commitment (lines without one are absent). Items whose
    line is not in ``requested`` are skipped (the rules refuse lines outside the request)."""
    out: list[Violation] = []
    for item in items:
        k = item["line"]
        values = requested.get(k)
        if values is None:
            continue
        verdict = classify_address(supplied(values, "address"))
        basis = set(item["match_basis"])
        if item["address_class"] != verdict.address_class:
            out.append(("match.address_class", f"line {k}: the result says {item['address_class']}, the "
                                               f"requested address is {verdict.address_class}"))
        if item["address_usable"] is not verdict.usable:
            out.append(("match.address_usable", f"line {k}: the result says the address is "
                                                f"{'' if item['address_usable'] else 'not '}usable, its class "
                                                f"{verdict.address_class} is {'' if verdict.usable else 'not '}usable"))
        if "address" in basis and not verdict.usable:
            out.append(("match.address_basis", f"line {k}: the requested address ({verdict.address_class}) is "
                                               "not usable and cannot be a basis of the match"))
        requested_tin = tin_or_none(supplied(values, "tin"))
        matched_value = matched_tins.get(k)
        matched_tin = tin_or_none(matched_value) if isinstance(matched_value, str) else None
        tin_agrees = requested_tin is not None and requested_tin == matched_tin
        if ("tin" in basis) != tin_agrees:
            out.append(("match.basis_tin", f"line {k}: the result {'lists' if 'tin' in basis else 'omits'} tin "
                                           f"in its basis, but the requester's TIN "
                                           f"{'is' if tin_agrees else 'is not'} the matched TIN"))
        differs = item["irs_address_differs"]
        if not verdict.usable and differs is not None:
            out.append(("match.address_compared", f"line {k}: an unusable address ({verdict.address_class}) was "
                                                  "not compared with the IRS record; irs_address_differs must "
                                                  "be null"))
        elif verdict.usable and item["matched"] and differs is None:
            out.append(("match.address_compared", f"line {k}: a usable address of a matched line is compared "
                                                  "with the IRS record; irs_address_differs must be true or "
                                                  "false"))
    return out
