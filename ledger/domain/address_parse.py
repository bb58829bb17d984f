"""The structure of a US address: delivery line(s), city, state, ZIP.

The last line (state, ZIP, country) is read from the end by our own rules. The
``usaddress`` tagger is consulted for one question only, where the city starts
when no comma or line break marks it ("123 Main St Springfield IL"); its answer
is checked and repaired here. Delivery lines (street, PO box, rural route,
military unit, ship, urbanization) are recognised by patterns in this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import usaddress

from ledger.domain.address_data import (
    COUNTRY_US,
    DIRECTIONALS,
    FOREIGN_COUNTRIES,
    MAX_STATE_WORDS,
    NUMBER_TAKERS,
    NUMBER_WORDS,
    STATE_CODES,
    STATE_NAMES,
    STREET_SUFFIXES,
    SUFFIX_LIKE_STATE_CODES,
    UNIT_WORDS,
)
from ledger.domain.address_text import ZIP_TOKEN, all_placeholder

Token = tuple[str, int]  # (text, index of the comma/line-separated part)

_APARTMENT_LIKE = frozenset({"APT", "APTO", "APARTMENT", "STE", "SUITE", "UNIT", "#", "NO", "NUM"})
_NOT_STREET_WORDS = _APARTMENT_LIKE | frozenset({"BOX", "BX", "PMB", "DRAWER"})
_CITY_BLOCKERS = NUMBER_TAKERS | frozenset({"URB", "GENERAL", "DELIVERY", "PSC", "CMR"})
_URB_NAME_STOP = frozenset({"CALLE", "AVE", "AVENIDA", "CAMINO", "PASEO", "CARR", "VIA", "BLQ",
                            "BLOQUE", "CASA", "APT", "APTO", "EDIF"})


@dataclass
class ParsedAddress:
    """An address taken apart; ``foreign`` says why it is not a US address."""

    delivery: list[Token] = field(default_factory=list)
    city: list[str] = field(default_factory=list)
    state: str | None = None
    zip5: str | None = None
    bad_state: str | None = None
    foreign: str | None = None

    @property
    def city_text(self) -> str:
        return " ".join(self.city)


def parse_address(segments: list[list[str]]) -> ParsedAddress:
    """Read ZIP, state and city from the end; what precedes is the delivery part."""
    flat: list[Token] = [(t, i) for i, seg in enumerate(segments) for t in seg]
    flat = _strip_us_country(flat)
    foreign = _foreign(flat)
    if foreign:
        return ParsedAddress(delivery=flat, foreign=foreign)
    result = ParsedAddress()
    if len(flat) >= 2 and re.fullmatch(r"\d{4}", flat[-1][0]) and re.fullmatch(r"\d{5}", flat[-2][0]):
        flat = flat[:-1]  # "00926 3232": ZIP+4 written with a space
    if flat and ZIP_TOKEN.fullmatch(flat[-1][0]):
        result.zip5 = flat[-1][0][:5]
        flat = flat[:-1]
        while flat and flat[-1][0] in {"ZIP", "ZIPCODE", "CODE", "CP"}:
            flat = flat[:-1]
    if _foreign_country_inside(flat):
        return ParsedAddress(delivery=flat, foreign="a foreign country")
    state, n = _state_at_end(flat)
    suffix_like = state in SUFFIX_LIKE_STATE_CODES and n == 1 and result.zip5 is None
    if suffix_like and len(flat) > 1 and flat[-2][1] == flat[-1][1]:
        state = None  # "123 Elm Ct": a street suffix, not Connecticut
    if state is None:
        if result.zip5 and len(flat) >= 2 and _looks_like_state_code(flat[-1][0]):
            result.bad_state = flat[-1][0]
            flat = flat[:-1]
        result.delivery = flat
        return result
    result.state = state
    flat = flat[:-n]
    tail = [state] + ([result.zip5] if result.zip5 else [])
    result.city, result.delivery = _split_city(flat, tail)
    return result


def _strip_us_country(flat: list[Token]) -> list[Token]:
    for n in (5, 4, 3, 2, 1):
        if len(flat) > n and " ".join(t for t, _ in flat[-n:]) in COUNTRY_US:
            return flat[:-n]
    return flat


def _foreign(flat: list[Token]) -> str | None:
    words = [t for t, _ in flat]
    for n in (3, 2, 1):
        new_mexico = n == 1 and len(words) > 1 and words[-2] == "NEW"
        if len(words) >= n and " ".join(words[-n:]) in FOREIGN_COUNTRIES and not new_mexico:
            return "a foreign country"
    tail = " ".join(words[-2:])
    if re.fullmatch(r"(?:\S+ )?[A-Z]\d[A-Z] ?\d[A-Z]\d", tail):
        return "a foreign postal code"
    if re.fullmatch(r"[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}", tail):
        return "a foreign postal code"
    return None


def _foreign_country_inside(flat: list[Token]) -> bool:
    """A country name as a whole part, or ending the text before the ZIP, with no
    US state after it (Mexico, MO stays American)."""
    if not flat or _state_at_end(flat)[0] is not None:
        return False
    if _foreign(flat):
        return True
    parts: dict[int, list[str]] = {}
    for tok, seg in flat:
        parts.setdefault(seg, []).append(tok)
    return any(" ".join(words) in FOREIGN_COUNTRIES for words in parts.values())


def _state_at_end(flat: list[Token]) -> tuple[str | None, int]:
    for n in range(min(MAX_STATE_WORDS, len(flat)), 0, -1):
        words = [t for t, _ in flat[-n:]]
        phrase = " ".join(words)
        if n == 1 and phrase in STATE_CODES:
            return phrase, 1
        if phrase in STATE_NAMES and len({s for _, s in flat[-n:]}) == 1:
            return STATE_NAMES[phrase], n
    return None, 0


def _looks_like_state_code(token: str) -> bool:
    return (
        len(token) == 2
        and token.isalpha()
        and token not in STREET_SUFFIXES
        and token not in DIRECTIONALS
        and token not in UNIT_WORDS
    )


def _split_city(head: list[Token], tail: list[str]) -> tuple[list[str], list[Token]]:
    """(city, delivery tokens). The city is the last comma/line part before the
    state when that part is a clean place name; otherwise the tagger decides,
    and a city that swallowed the street name ("123 MAIN | SPRINGFIELD") is cut back."""
    if not head:
        return [], []
    last_seg = head[-1][1]
    part = [tok for tok in head if tok[1] == last_seg]
    rest = head[: len(head) - len(part)]
    words = [t for t, _ in part]
    if rest and _clean_city(words):
        return words, rest
    k = _city_start(words, tail)
    city, delivery = words[k:], rest + part[:k]
    if len(city) >= 2 and last_usable_kind(find_delivery(delivery)) is None:
        for shift in range(1, len(city)):
            moved = delivery + [(t, last_seg) for t in city[:shift]]
            if last_usable_kind(find_delivery(moved)) is not None:
                return city[shift:], moved
    return city, delivery


def _clean_city(words: list[str]) -> bool:
    return 0 < len(words) <= 5 and all(
        re.fullmatch(r"[A-Z]+(?:-[A-Z]+)*", w) and w not in _CITY_BLOCKERS for w in words
    )


def _city_start(words: list[str], tail: list[str]) -> int:
    """Index in ``words`` where the city begins (len(words) when there is none)."""
    try:
        tagged = usaddress.parse(" ".join(words + tail))
    except Exception:  # a tagger failure falls back to the rule below
        tagged = []
    if len(tagged) == len(words) + len(tail):
        k = len(words)
        while k > 0 and tagged[k - 1][1] == "PlaceName":
            k -= 1
        if k < len(words):
            return k
    k = len(words)
    while k > 0 and _cityish(words[k - 1]):
        k -= 1
    return k


def _cityish(word: str) -> bool:
    return (
        word.isalpha()
        and word not in STREET_SUFFIXES
        and word not in DIRECTIONALS
        and word not in _CITY_BLOCKERS
    )


def city_is_valid(city: list[str]) -> bool:
    """A place name: words of letters, at least two letters in all."""
    letters = sum(c.isalpha() for w in city for c in w)
    return letters >= 2 and all(re.fullmatch(r"[A-Z]+(?:[-/][A-Z]+)*", w) for w in city)


# --- delivery lines ------------------------------------------------------------

_BOX_ID = r"(?:#\s*)?[A-Z]?\d+[A-Z]?(?:-[A-Z0-9]+)?\b"
_RURAL = re.compile(
    r"\b(?:RURAL ROUTE|RURAL RTE|RURAL RT|RURAL|RR|R R|RFD|R F D|RD|RTE|RT|ROUTE|HIGHWAY CONTRACT ROUTE"
    r"|HIGHWAY CONTRACT|HCR|HC|H C|STAR ROUTE|STAR RTE)"
    r"(?:\s*-?\s*(?:#\s*)?\d+[A-Z]?)?\s*(?:,\s*)?(?:BOX|BX)\s*" + _BOX_ID
)
_PO_BOX = re.compile(
    r"\b(?:P\s?O\s?BOX|PO\s+DRAWER|POST\s+OFFICE\s+BOX|POST\s+BOX|P\s?O\s?B|CALLER\s+BOX|CALLER"
    r"|DRAWER|LOCK\s?BOX|BOX|BX)\s*" + _BOX_ID
)
_MILITARY_UNIT = re.compile(r"\b(?:PSC|CMR|UNIT|OMC)\s*(?:#\s*)?\d+[A-Z]?\b")
_SHIP = re.compile(r"\b(?:USS|USNS|USCGC|USNV|USAV|USCG)\s+[A-Z]")
_URB = re.compile(r"\b(?:URB|URBANIZACION|URBANIZ|URBN)\b")
_GENERAL_DELIVERY = re.compile(r"\bGENERAL\s+DELIVERY\b")
_KM_STREET = re.compile(r"\bCARR(?:ETERA)?\s+\d+[A-Z]?\s*(?:,\s*)?(?:KM|K)\s+\d+(?:\.\d+)?")
_SPANISH_STREET = re.compile(
    r"\b(?:CALLE|AVE|AVENIDA|AV|CAMINO|PASEO|CALLEJON|VIA)\s+(?:[A-Z][A-Z0-9-]*\s+){1,4}"
    r"\d+[A-Z]?(?:-[A-Z0-9]+)?(?=\s*(?:,|$|#|APT|APTO))"
)
_HOUSE = re.compile(
    r"\d+[A-Z]?|\d+-\d+[A-Z]?|\d+[A-Z]?-[A-Z0-9]{1,4}|[NSEW]\d+[NSEW]\d+"
    r"|[A-Z]{1,2}-?\d{1,5}[A-Z]?|\d[A-Z]{1,2}-?\d{1,4}"
)
_NOT_HOUSE = re.compile(r"(?:RR|RFD|RD|HC|HCR|PO|SR|CR|FM|US|I|RT|PSC|CMR|KM)-?\d.*")
_FRACTION = re.compile(r"\d+/\d+")
_ORDINAL = re.compile(r"\d+(?:ST|ND|RD|TH)")


def _join(tokens: list[Token]) -> tuple[str, list[int]]:
    parts: list[str] = []
    offsets: list[int] = []
    pos = 0
    for i, (tok, seg) in enumerate(tokens):
        if i and seg != tokens[i - 1][1]:
            parts.append(",")
            pos += 2
        offsets.append(pos)
        parts.append(tok)
        pos += len(tok) + 1
    return " ".join(parts), offsets


def find_delivery(delivery: list[Token]) -> dict[str, int]:
    """Kinds of delivery line present, each with its last position in the text."""
    text, offsets = _join(delivery)
    found: dict[str, int] = {}

    def note(kind: str, pos: int) -> None:
        found[kind] = max(found.get(kind, -1), pos)

    taken: list[tuple[int, int]] = []
    for kind, pattern in (("rural_route", _RURAL), ("military_unit", _MILITARY_UNIT)):
        for m in pattern.finditer(text):
            note(kind, m.start())
            taken.append(m.span())
    for m in _PO_BOX.finditer(text):
        if not any(a < m.end() and m.start() < b for a, b in taken):
            note("po_box", m.start())
            taken.append(m.span())
    for kind, pattern in (("ship", _SHIP), ("urb", _URB), ("general_delivery", _GENERAL_DELIVERY),
                          ("street", _KM_STREET), ("street", _SPANISH_STREET)):
        for m in pattern.finditer(text):
            note(kind, m.start())
    for index, _name in street_lines(delivery):
        if not any(a <= offsets[index] < b for a, b in taken):
            note("street", offsets[index])
    return found


def last_usable_kind(found: dict[str, int]) -> str | None:
    """The street, PO box or rural route line nearest the city line, if any."""
    kinds = [k for k in ("street", "po_box", "rural_route") if k in found]
    return max(kinds, key=lambda k: found[k]) if kinds else None


def street_lines(tokens: list[Token]) -> list[tuple[int, list[str]]]:
    """(index of the house number, street-name tokens) for each house-number line."""
    lines: list[tuple[int, list[str]]] = []
    n = len(tokens)
    for i, (tok, seg) in enumerate(tokens):
        starts_part = i == 0 or tokens[i - 1][1] != seg
        if not (_is_house_number(tok) or (starts_part and tok in NUMBER_WORDS)):
            continue
        if not starts_part and tokens[i - 1][0] in NUMBER_TAKERS:
            continue
        j = i + 1
        if j < n and tokens[j][1] == seg and _FRACTION.fullmatch(tokens[j][0]):
            j += 1
        name: list[str] = []
        while j < n and tokens[j][1] == seg:
            word = tokens[j][0]
            following = tokens[j + 1][0] if j + 1 < n and tokens[j + 1][1] == seg else ""
            if word == "#" or (word in UNIT_WORDS and name and _is_unit_id(following)):
                break
            name.append(word)
            j += 1
        if _valid_street_name(name):
            lines.append((i, name))
    return lines


def _is_house_number(token: str) -> bool:
    return bool(_HOUSE.fullmatch(token)) and not _NOT_HOUSE.fullmatch(token)


def _is_unit_id(token: str) -> bool:
    return any(c.isdigit() for c in token) or len(token) == 1


def _valid_street_name(name: list[str]) -> bool:
    words = [
        w for w in name
        if sum(c.isalpha() for c in w) >= 2 and w not in DIRECTIONALS and w not in _NOT_STREET_WORDS
    ]
    ordinal = any(_ORDINAL.fullmatch(w) for w in name)
    grid = any(w in DIRECTIONALS for w in name) and any(w[:1].isdigit() for w in name)
    return bool(words) or ordinal or grid


def street_name_is_placeholder(delivery: list[Token]) -> bool:
    """True when a house-number line's street name is only placeholder words."""
    for _index, name in street_lines(delivery):
        core = [w for w in name if w not in STREET_SUFFIXES and w not in DIRECTIONALS]
        if all_placeholder(core, strong=True):
            return True
    return False


def urbanization_has_house_line(delivery: list[Token]) -> bool:
    """After removing "URB <name>", is there a house line (number + a word)?"""
    words = [t for t, _ in delivery]
    segs = [s for _, s in delivery]
    for i, word in enumerate(words):
        if not _URB.fullmatch(word):
            continue
        j = i + 1
        while (j < len(words) and segs[j] == segs[i] and not any(c.isdigit() for c in words[j])
               and words[j] not in _URB_NAME_STOP):
            j += 1
        rest = words[:i] + words[j:]
        has_number = any(any(c.isdigit() for c in w) for w in rest)
        has_word = any(sum(c.isalpha() for c in w) >= 2 and w not in _APARTMENT_LIKE for w in rest)
        return has_number and has_word
    return False
