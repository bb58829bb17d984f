"""The accounting from before the ledger: past disclosures imported as ``legacy_release`` statements.

An agency's own accounting of disclosures it made before the ledger existed (the IRS's 2025
records, say) is read from JSON Lines, one released taxpayer line per input line (docs/FORMAT.md
§ 17.10.1), and recorded as signed ``legacy_release`` statements: consecutive input lines of one
disclosure (same source, date, agency, exception, purpose and fields) become one statement of at most
150 lines. What the audit measures need is carried as commitments whose openings are sealed — the
TIN, name and address as requested, the TIN of the record released — beside the codes in clear: the
address class and usability the ledger's own address rules give the requested address, and the match
basis. The importer signs; an oversight principal countersigns; the rules refuse a record dated on or
after the policy's ``legacy_cutover`` and any later statement referring to one (ledger.rules.engine).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.authoring import disclosure as dc
from ledger.authoring.batch import sign_for_later
from ledger.authoring.trust import signed
from ledger.core.errors import LedgerError
from ledger.core.keys import SignerKey
from ledger.domain.address import classify_address
from ledger.domain.schemas import LEGACY_BASIS, MAX_LINES
from ledger.salts import SaltSeed

INPUT_KEYS = frozenset({"source", "disclosed_on", "agency", "exception", "purpose", "fields", "tin", "name",
                        "address", "match_basis", "matched_tin"})
REQUIRED_KEYS = frozenset({"source", "disclosed_on", "agency", "exception", "fields", "tin", "match_basis",
                           "matched_tin"})
_DATE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])\Z")
_CODE = re.compile(r"[A-Za-z0-9_ ./()+:-]{1,80}\Z")
_TIN = re.compile(r"[0-9]{9}\Z")
MAX_TEXT = 500


class AccountingError(LedgerError):
    """An accounting file that cannot be imported: the message names the line and the member (never a value
    of personal data)."""


@dataclass(frozen=True)
class LegacyLine:
    tin: str | None
    name: str | None
    address: str | None
    match_basis: tuple[str, ...]
    matched_tin: str | None


@dataclass(frozen=True)
class LegacyDisclosure:
    """One past disclosure: its head and its lines (at most 150), with the input line numbers they came from."""

    source: str
    disclosed_on: str
    agency: str
    exception: str
    purpose: str | None
    fields: tuple[str, ...]
    lines: tuple[LegacyLine, ...]
    first_input_line: int

    @property
    def head(self) -> tuple[Any, ...]:
        return (self.source, self.disclosed_on, self.agency, self.exception, self.purpose, self.fields)


def _fail(number: int, message: str) -> AccountingError:
    return AccountingError(f"line {number}: {message}")


def _code(number: int, key: str, value: Any, nullable: bool = False) -> str | None:
    if value is None and nullable:
        return None
    if not isinstance(value, str) or not _CODE.match(value):
        raise _fail(number, f"{key} must be a code of letters, digits and _ ./()+:- (1-80 characters)")
    return value


def _text(number: int, key: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise _fail(number, f"{key} must be null or a non-empty string of at most {MAX_TEXT} characters")
    return value


def _tin(number: int, key: str, value: Any) -> str | None:
    if value is None:
        return None
    digits = value.replace("-", "") if isinstance(value, str) else ""
    if not _TIN.match(digits):
        raise _fail(number, f"{key} must be null or a TIN of 9 digits (dashes allowed)")
    return digits


def parse_line(number: int, text: str) -> tuple[tuple[Any, ...], LegacyLine]:
    """One input line: (the head of its disclosure, its line). AccountingError names what is wrong."""
    try:
        value = json.loads(text)
    except ValueError:
        raise _fail(number, "not a JSON object (the file is JSON Lines: one object per line)") from None
    if not isinstance(value, dict):
        raise _fail(number, "not a JSON object (the file is JSON Lines: one object per line)")
    missing, extra = sorted(REQUIRED_KEYS - set(value)), sorted(set(value) - INPUT_KEYS)
    if missing or extra:
        raise _fail(number, f"missing {missing}, unexpected {extra}" if missing and extra else
                    f"missing {missing}" if missing else f"unexpected {extra}")
    day = value["disclosed_on"]
    if not isinstance(day, str) or not _DATE.match(day):
        raise _fail(number, "disclosed_on must be a date YYYY-MM-DD")
    fields = value["fields"]
    if not isinstance(fields, list) or not 1 <= len(fields) <= 10:
        raise _fail(number, "fields must be a list of 1-10 codes (the fields released)")
    head = (_code(number, "source", value["source"]), day, _code(number, "agency", value["agency"]),
            _code(number, "exception", value["exception"]), _code(number, "purpose", value.get("purpose"), True),
            tuple(str(_code(number, "fields", f)) for f in fields))
    basis = value["match_basis"]
    if (not isinstance(basis, list) or any(b not in LEGACY_BASIS for b in basis) or len(set(basis)) != len(basis)):
        raise _fail(number, f"match_basis must be a list of distinct {', '.join(LEGACY_BASIS)} (empty: not matched)")
    line = LegacyLine(_tin(number, "tin", value["tin"]), _text(number, "name", value.get("name")),
                      _text(number, "address", value.get("address")), tuple(sorted(basis)),
                      _tin(number, "matched_tin", value["matched_tin"]))
    if bool(line.match_basis) != (line.matched_tin is not None):
        raise _fail(number, "matched_tin is given exactly when match_basis is not empty")
    if "address" in line.match_basis and not classify_address(line.address).usable:
        raise _fail(number, "match_basis names the address, but the requested address is not a usable address")
    return head, line


def read_accounting(lines: Iterable[str]) -> list[LegacyDisclosure]:
    """The disclosures of a JSON Lines accounting file, in order; AccountingError on the first bad line
    (nothing is imported then). Blank lines are skipped."""
    out: list[LegacyDisclosure] = []
    current: list[LegacyLine] = []
    head: tuple[Any, ...] | None = None
    first = 0

    def close() -> None:
        if head is not None and current:
            source, day, agency, exception, purpose, fields = head
            out.append(LegacyDisclosure(source, day, agency, exception, purpose, fields, tuple(current), first))

    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        line_head, line = parse_line(number, text)
        if line_head != head or len(current) == MAX_LINES:
            close()
            head, current, first = line_head, [], number
        current.append(line)
    close()
    if not out:
        raise AccountingError("the file holds no disclosure (JSON Lines: one released line per line)")
    return out


def legacy_release(signers: Sequence[SignerKey], record: LegacyDisclosure, seed: SaltSeed | None,
                   countersigner: str | None = None) -> dc.Submission:
    """The signed statement of one past disclosure (the importer first, then the oversight countersigner)
    with the openings of its commitments, every salt derived from ``seed``. With ``countersigner`` (a name),
    ``signers`` (the importer) sign a statement that lists that name after them: its holder countersigns
    it on their own machine (``ledger.authoring.batch``), and it stays valid for ``batch.VALID_FOR``."""
    c = dc._Openings(seed, "legacy_release")
    lines = []
    for k, ln in enumerate(record.lines):
        verdict = classify_address(ln.address)
        lines.append({"line": k, "tin": c("tin", ln.tin, k), "name": c("name", ln.name, k),
                      "address": c("address", ln.address, k), "address_class": verdict.address_class,
                      "address_usable": verdict.usable, "match_basis": list(ln.match_basis),
                      "taxpayer": c("matched_tin", ln.matched_tin, k)})
    body = {"source": record.source, "disclosed_on": record.disclosed_on, "agency": record.agency,
            "exception": record.exception, "purpose": record.purpose, "fields": list(record.fields), "lines": lines}
    if countersigner is None:
        return dc._submit(list(signers), "legacy_release", body, c)
    if seed is None:
        raise AccountingError("an imported record signed for a countersigner elsewhere needs its salt seed")
    note = sign_for_later("legacy_release", seed.statement_id, list(signers), [countersigner], body)
    return dc.Submission(note, tuple(c.items), seed.statement_id)


def cutover_policy(administrators: Sequence[SignerKey], policy: Mapping[str, Sequence[str]], cutover: str,
                   later: Sequence[str] = ()) -> str:
    """A signed ``policy`` statement: ``policy`` with its ``legacy_cutover`` set (two administrators when
    it is set for the first time or moved later). ``later``: administrators the envelope lists who sign it
    on their own machines (``ledger.authoring.batch``)."""
    if not _DATE.match(cutover):
        raise AccountingError(f"the cutover must be a date YYYY-MM-DD, found {cutover[:40]!r}")
    body = {"policy": {t: list(r) for t, r in policy.items()}, "legacy_cutover": cutover}
    if later:
        return sign_for_later("policy", str(uuid.uuid4()), list(administrators), list(later), body)
    return signed(list(administrators), "policy", body)
