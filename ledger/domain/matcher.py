"""The matcher: compares one request line with the IRS's own records.

It records *how* a line was matched, because in 2025 about 42,695 addresses were
released on TIN-only matches for lines whose address read "Failed to Provide" or
"NA NA" (domain-6103 § 4, § 6a item 7, § 6b (i)(2) items 3 and 11). The rule it
keeps: a field agrees only if the requester supplied it *and* it equals the IRS
record after normalisation. Nothing is inferred: a placeholder address never
agrees, a malformed TIN never agrees, and a name differing by a middle initial
does not agree.

Choosing the record:

* TIN found, and name + address (if they find anything) find the same record: that record;
* name + address find exactly one record and the TIN finds another (or nothing):
  the name + address record, with ``tin_conflict`` set when the TIN pointed elsewhere;
* name + address find several records and the TIN does not pick one of them: no match;
* otherwise the TIN's record, or no match.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ledger.core.errors import FormatError
from ledger.domain.address import AddressVerdict, classify_address, normalise_address

if TYPE_CHECKING:
    from ledger.domain.masterfile import MasterFile, TaxpayerRecord

MATCHER_VERSION = "match-2026.1"
MATCH_FIELDS = ("address", "name", "tin")


class TinFormatError(FormatError, ValueError):
    """Text that is not a TIN. The message never repeats the text."""


_TIN = re.compile(r"[0-9]{9}\Z")
_TIN_SEPARATORS = str.maketrans("", "", " -")


def normalise_tin(text: str) -> str:
    """The 9 ASCII digits of a TIN written ``912-70-1234``, ``912 70 1234`` or
    ``912701234`` (spaces and hyphens dropped, as ``ledger.sealed`` does for
    pseudonyms); anything else raises TinFormatError."""
    if not isinstance(text, str):
        raise TinFormatError(f"a TIN must be a string, found {type(text).__name__}")
    digits = text.strip().translate(_TIN_SEPARATORS)
    if not _TIN.match(digits):
        raise TinFormatError("a TIN is exactly 9 digits, optionally with spaces or hyphens")
    return digits


_HONORIFICS = frozenset({"MR", "MRS", "MS", "MISS", "DR", "SRA", "SRTA", "DON", "DONA"})
_SUFFIXES = frozenset({"JR", "SR", "II", "III", "IV", "V", "ESQ"})


def normalise_name(text: str | None) -> str:
    """Canonical form of a person's name: upper case, no accents or punctuation,
    "LAST, FIRST" turned into "FIRST LAST", leading titles dropped, suffixes kept.
    Empty for a missing or blank name."""
    if not isinstance(text, str):
        return ""
    folded = "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    ).upper()
    folded = re.sub(r"['\u2018\u2019.`]", "", folded)
    parts = [p.strip() for p in folded.split(",") if p.strip()]
    suffix: list[str] = []
    while len(parts) > 1 and _words(parts[-1]) and set(_words(parts[-1])) <= _SUFFIXES:
        suffix = _words(parts.pop()) + suffix
    if len(parts) == 2:
        parts = [parts[1], parts[0]]  # "GARCIA, MARIA" -> "MARIA GARCIA"
    words = [w for p in parts for w in _words(p)] + suffix
    while len(words) > 1 and words[0] in _HONORIFICS:
        words = words[1:]
    return " ".join(words)


def _words(text: str) -> list[str]:
    return re.sub(r"[^A-Z0-9]+", " ", text).split()


@dataclass(frozen=True)
class MatchResult:
    """How one request line was matched. ``matched_tin`` (the IRS record's TIN,
    for the pseudonym) is kept out of ``repr`` so that it is not logged in clear."""

    matched: bool
    matched_tin: str | None = field(repr=False)
    match_basis: tuple[str, ...]
    method: str
    address_verdict: AddressVerdict
    address_supplied: bool
    irs_address_differs: bool | None
    matcher_version: str = MATCHER_VERSION
    tin_conflict: bool = False


def supplied(line: Mapping[str, object], key: str) -> str | None:
    """The requester's text for ``key``, or None when it is missing, not text or blank (what the
    matcher treats as not supplied; the disclosure service re-derives a match result with it)."""
    value = line.get(key)
    return value if isinstance(value, str) and value.strip() else None


def tin_or_none(text: str | None) -> str | None:
    """The normalised TIN, or None for a missing or malformed one (which never agrees)."""
    if text is None:
        return None
    try:
        return normalise_tin(text)
    except TinFormatError:
        return None


def match_line(line: Mapping[str, object], master: MasterFile) -> MatchResult:
    """Match a line with requester-supplied "tin", "name", "address" (any may be
    missing, None or malformed) against the master file."""
    address_text = supplied(line, "address")
    verdict = classify_address(address_text)
    tin = tin_or_none(supplied(line, "tin"))
    name = normalise_name(supplied(line, "name"))
    address = normalise_address(address_text) if verdict.usable else ""

    by_tin = master.by_tin(tin) if tin else None
    by_identity = master.by_identity_keys(name, address)
    record: TaxpayerRecord | None = None
    conflict = False
    if by_tin is not None and (not by_identity or by_tin in by_identity):
        record = by_tin
    elif by_identity:
        conflict = by_tin is not None
        record = by_identity[0] if len(by_identity) == 1 else None
    basis: tuple[str, ...] = ()
    differs: bool | None = None
    if record is not None:
        record_name, record_address = master.identity_keys(record)
        agreed = {
            "tin": tin is not None and tin == normalise_tin(record.tin),
            "name": bool(name) and name == record_name,
            "address": bool(address) and address == record_address,
        }
        basis = tuple(f for f in MATCH_FIELDS if agreed[f])
        if verdict.usable:
            differs = address != record_address
    method = "+".join(f.upper() for f in ("tin", "name", "address") if f in basis) or "NONE"
    return MatchResult(
        matched=bool(basis),
        matched_tin=normalise_tin(record.tin) if record is not None and basis else None,
        match_basis=basis,
        method=method,
        address_verdict=verdict,
        address_supplied=address_text is not None,
        irs_address_differs=differs,
        tin_conflict=conflict,
    )


def address_usable_for_release(result: MatchResult) -> bool:
    """§ 6103(i)(2) item 11: an address may be released only when the requester
    supplied a usable address and the taxpayer was matched on the requester's
    name AND address. A TIN-only (or TIN + name) match never releases an address."""
    return (
        result.matched
        and result.address_supplied
        and result.address_verdict.usable
        and "name" in result.match_basis
        and "address" in result.match_basis
    )
