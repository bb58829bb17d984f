"""Address validation by content: is a requester-supplied address an address?

§ 6103(i)(2)(B)(i) requires a request to set forth the taxpayer's name *and
address*. In 2025 the IRS's check only confirmed that the field was not blank,
and about 42,695 addresses were released for lines reading "Failed to Provide",
"Unknown Address" or "NA NA". This module judges the content instead and names
what it found, under a versioned rule set (the class and version are logged):

usable          street, po_box, rural_route, military, pr_urbanization
not usable      missing, placeholder, junk, zip_only, city_only, street_only,
                facility_only, foreign_or_unparseable

Parsing uses ``usaddress`` (a CRF tagger) only to find where the street ends and
the city begins when nothing separates them; every decision is made by the
rules here and in ``address_text``, with the tables in ``address_data``.
``normalise_address`` gives the canonical form used to compare a requester's
address with the IRS record.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from ledger.domain import address_parse as parse
from ledger.domain.address_data import (
    CITY_WORDS,
    DIRECTIONALS,
    EXACT_ZIP_PREFIXES,
    FACILITY_STRONG,
    FACILITY_WEAK,
    MILITARY_CITIES,
    MILITARY_STATES,
    NUMBER_WORDS,
    ORDINAL_WORDS,
    PLACEHOLDER_ZIPS,
    STATE_ZIP_FIRST_DIGITS,
    STREET_SUFFIXES,
    UNIT_WORDS,
)
from ledger.domain.address_text import (
    all_placeholder,
    fold,
    is_gibberish,
    junk_reason,
    placeholder_reason,
    tokenise,
)

ADDRESS_RULES_VERSION = "addr-2026.1"

USABLE_CLASSES: frozenset[str] = frozenset(
    {"street", "po_box", "rural_route", "military", "pr_urbanization"}
)
UNUSABLE_CLASSES: frozenset[str] = frozenset({
    "missing", "placeholder", "junk", "zip_only", "city_only", "street_only",
    "facility_only", "foreign_or_unparseable",
})
ADDRESS_CLASSES: frozenset[str] = USABLE_CLASSES | UNUSABLE_CLASSES


@dataclass(frozen=True)
class AddressVerdict:
    """What an address field holds. ``reason`` is a fixed phrase that never
    quotes the input, so the whole verdict may be logged."""

    address_class: str
    usable: bool
    reason: str
    rules_version: str = ADDRESS_RULES_VERSION


def _verdict(address_class: str, reason: str) -> AddressVerdict:
    assert address_class in ADDRESS_CLASSES
    return AddressVerdict(address_class, address_class in USABLE_CLASSES, reason)


@functools.lru_cache(maxsize=4096)
def classify_address(text: str | None) -> AddressVerdict:
    """Classify a requester-supplied address by its content (rules ``addr-2026.1``).

    A pure function of the text with an immutable result, cached: a bulk request repeats the same
    few placeholders ("Failed to Provide", "NA NA") hundreds of thousands of times. The cache is
    small and in this process only (the verdict never quotes the text)."""
    if text is None or not text.strip():
        return _verdict("missing", "no address given")
    if not re.search(r"[A-Z0-9]", fold(text)):
        return _verdict("junk", "only punctuation or symbols")
    segments = tokenise(text)
    if not segments:
        return _verdict("junk", "only punctuation or symbols")
    reason = placeholder_reason(segments)
    if reason:
        return _verdict("placeholder", reason)
    reason = junk_reason(text, segments)
    if reason:
        return _verdict("junk", reason)
    return _classify_structure(segments)


def _classify_structure(segments: list[list[str]]) -> AddressVerdict:
    p = parse.parse_address(segments)
    if p.foreign:
        return _verdict("foreign_or_unparseable", p.foreign)
    if p.zip5 in PLACEHOLDER_ZIPS:
        return _verdict("placeholder", "a placeholder ZIP code")
    if parse.street_name_is_placeholder(p.delivery):
        return _verdict("placeholder", "a placeholder street name")
    if all_placeholder(p.city, strong=True):
        return _verdict("placeholder", "a placeholder city")
    found = parse.find_delivery(p.delivery)
    if p.state is None:
        return _without_state(p, found)
    if p.state in MILITARY_STATES or p.city_text in MILITARY_CITIES:
        return _military(p, found)
    if "urb" in found and p.state == "PR":
        return _urbanization(p, found)
    kind = parse.last_usable_kind(found)
    if kind is None:
        return _no_delivery_line(p, found)
    return _with_last_line(p, kind)


def _with_last_line(p: parse.ParsedAddress, kind: str) -> AddressVerdict:
    if not p.city:
        return _verdict("street_only", "a delivery line without a city")
    if not parse.city_is_valid(p.city):
        return _verdict("foreign_or_unparseable", "the city is not a place name")
    if p.zip5 is None:
        return _verdict("street_only", "a delivery line without a ZIP code")
    problem = _zip_problem(p.zip5, p.state)
    if problem:
        return _verdict("foreign_or_unparseable", problem)
    reasons = {
        "street": "house number, street, city, state and ZIP",
        "po_box": "post office box, city, state and ZIP",
        "rural_route": "rural route or highway contract box, city, state and ZIP",
        "military": "military or diplomatic unit, APO/FPO/DPO, AA/AE/AP and ZIP",
        "pr_urbanization": "urbanization, house line, city, PR and ZIP",
    }
    return _verdict(kind, reasons[kind])


def _without_state(p: parse.ParsedAddress, found: dict[str, int]) -> AddressVerdict:
    if p.bad_state:
        return _verdict("foreign_or_unparseable", "not a US state or territory code")
    if any(k in found for k in ("street", "po_box", "rural_route", "military_unit", "ship", "urb")):
        if p.zip5 is None:
            return _verdict("street_only", "a delivery line without city, state or ZIP")
        return _verdict("street_only", "a delivery line without a state")
    tokens = [t for t, _ in p.delivery]
    if "general_delivery" in found:
        return _verdict("city_only", "general delivery, not a street, box or unit address")
    if _has_facility(tokens, strong_only=False):
        return _verdict("facility_only", "a facility name without a street address")
    if not tokens:
        if p.zip5 is not None:
            return _verdict("zip_only", "a ZIP code only")
        return _verdict("foreign_or_unparseable", "no address parts found")
    return _unrecognised(tokens, state_known=False)


_DELIVERY_WORDS = frozenset({"PO", "POB", "BOX", "RR", "HC", "HCR", "PSC", "CMR", "RFD", "DRAWER"})


def _unrecognised(tokens: list[str], *, state_known: bool) -> AddressVerdict:
    if any(is_gibberish(t) for t in tokens):
        return _verdict("junk", "random characters")
    if all(t.isdigit() for t in tokens):
        return _verdict("junk", "numbers that are not an address")
    if tokens[0] in UNIT_WORDS:
        return _verdict("street_only", "a unit without a street")
    if tokens[0] in _DELIVERY_WORDS:
        return _verdict("street_only", "an incomplete box, route or unit line")
    if not any(re.fullmatch(r"[A-Z]*[AEIOUY][A-Z]*", t) and len(t) >= 2 for t in tokens):
        return _verdict("junk", "no words, only codes or numbers")
    if 2 <= len(tokens) <= 4 and tokens[-1] in STREET_SUFFIXES and not state_known:
        return _verdict("street_only", "a street name without a house number")
    if state_known:
        return _verdict("city_only", "no street, box, route or unit line")
    if all(t.isalpha() for t in tokens) and len(tokens) <= 3:
        return _verdict("city_only", "a place name only")
    return _verdict("foreign_or_unparseable", "not recognisable as a US address")


def _no_delivery_line(p: parse.ParsedAddress, found: dict[str, int]) -> AddressVerdict:
    tokens = [t for t, _ in p.delivery]
    if "general_delivery" in found:
        return _verdict("city_only", "general delivery, not a street, box or unit address")
    if _has_facility(tokens + p.city, strong_only=True) or _has_facility(tokens, strong_only=False):
        return _verdict("facility_only", "a facility name without a street address")
    if "urb" in found:
        return _verdict("city_only", "an urbanization without a house number and street")
    if not tokens:
        if p.city:
            return _verdict("city_only", "a city and state without a street, box or unit")
        return _verdict("city_only", "a state without a city or street")
    return _unrecognised(tokens, state_known=True)


def _military(p: parse.ParsedAddress, found: dict[str, int]) -> AddressVerdict:
    if "military_unit" not in found and "ship" not in found:
        if not p.delivery:
            return _verdict("city_only", "APO/FPO/DPO without a unit, PSC, CMR or ship")
        return _verdict(
            "foreign_or_unparseable", "a military address needs a unit, PSC, CMR or ship line"
        )
    if p.state not in MILITARY_STATES or p.city_text not in MILITARY_CITIES:
        return _verdict("foreign_or_unparseable", "APO/FPO/DPO must go with AA, AE or AP")
    return _with_last_line(p, "military")


def _urbanization(p: parse.ParsedAddress, found: dict[str, int]) -> AddressVerdict:
    if parse.urbanization_has_house_line(p.delivery):
        return _with_last_line(p, "pr_urbanization")
    kind = parse.last_usable_kind(found)
    if kind is not None:  # URB with an ordinary street, box or route line
        return _with_last_line(p, kind)
    if not p.city:
        return _verdict("street_only", "an urbanization without a city")
    return _verdict("city_only", "an urbanization without a house number and street")


def _has_facility(tokens: list[str], *, strong_only: bool) -> bool:
    words = FACILITY_STRONG if strong_only else FACILITY_STRONG | FACILITY_WEAK
    return any(t in words for t in tokens)


def _zip_problem(zip5: str, state: str | None) -> str | None:
    if zip5 in PLACEHOLDER_ZIPS or zip5[:3] in {"000", "001", "002", "003", "004"}:
        return "not a ZIP code in use"
    if state is None:
        return None
    if state in EXACT_ZIP_PREFIXES:
        if zip5[:3] not in EXACT_ZIP_PREFIXES[state]:
            return "the ZIP code does not belong to the state"
    elif zip5[0] not in STATE_ZIP_FIRST_DIGITS[state]:
        return "the ZIP code does not belong to the state"
    return None


# --- canonical form for comparison --------------------------------------------

_BOX_PHRASES = (
    (re.compile(r"\b(?:P O BOX|POST OFFICE BOX|POST BOX|POB|P O B)\b"), "PO BOX"),
    (re.compile(r"\b(?:RURAL ROUTE|RURAL RTE|RURAL RT|R R)\b"), "RR"),
    (re.compile(r"\b(?:RT|RTE|ROUTE)(?= \d+[A-Z]? BOX\b)"), "RR"),
    (re.compile(r"\b(?:HIGHWAY CONTRACT ROUTE|HIGHWAY CONTRACT|HCR|H C|STAR ROUTE|STAR RTE)\b"), "HC"),
    (re.compile(r"\b(?:URBANIZACION|URBANIZ|URBN)\b"), "URB"),
    (re.compile(r"\bPO BOX # "), "PO BOX "),
)
_GLUED_ROUTE = re.compile(r"(RR|HC|HCR|RT|RTE)-?(\d+)")
_BOX_AFTER = frozenset({"PO", "CALLER", "LOCK"})
_BOX_GROUPS = frozenset({"RR", "HC", "PSC", "CMR", "UNIT", "OMC"})


def normalise_address(text: str | None) -> str:
    """Canonical comparable form: upper case, no punctuation, USPS abbreviations
    (ST, AVE, N, PO BOX, RR, HC ...), apartment-like units as ``#``, state as
    its code, ZIP cut to five digits, "USA" dropped. Empty for a missing value."""
    if text is None:
        return ""
    p = parse.parse_address(tokenise(text))
    words: list[str] = []
    for tok, _seg in p.delivery:
        glued = _GLUED_ROUTE.fullmatch(tok)
        words.extend([glued.group(1), glued.group(2)] if glued else [tok])
    line = " ".join(words + p.city)
    for pattern, repl in _BOX_PHRASES:
        line = pattern.sub(repl, line)
    tokens = _canonical_tokens(line.split())
    out: list[str] = []
    for i, tok in enumerate(tokens):
        grouped = any(tokens[j] in _BOX_GROUPS for j in range(max(0, i - 2), i))
        if tok == "BOX" and not (out and out[-1] in _BOX_AFTER) and not grouped:
            out.append("PO")
        out.append(tok)
    out += [code for code in (p.state or p.bad_state, p.zip5) if code]
    return " ".join(out)


def _canonical_tokens(tokens: list[str]) -> list[str]:
    result: list[str] = []
    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if tok.isdigit():
            result.append(tok.lstrip("0") or "0")
        elif i == 0 and tok in NUMBER_WORDS and nxt:
            result.append(NUMBER_WORDS[tok])
        elif tok in UNIT_WORDS and i > 0 and (any(c.isdigit() for c in nxt) or len(nxt) == 1):
            result.append(UNIT_WORDS[tok])
        elif tok in DIRECTIONALS:
            result.append(DIRECTIONALS[tok])
        elif tok in STREET_SUFFIXES:
            result.append(STREET_SUFFIXES[tok])
        elif tok in CITY_WORDS:
            result.append(CITY_WORDS[tok])
        elif tok in ORDINAL_WORDS:
            result.append(ORDINAL_WORDS[tok])
        else:
            result.append(tok)
    return result
