"""The disclosure officer's tools: the work queue, review sheets in and out of CSV.

A review sheet has one row per request line with what the matcher logged (no personal data:
the log holds none) and a suggested decision; the officer edits ``decision`` and ``reason`` and
the sheet becomes a signed review (inline, or in bulk form past 150 lines). A logged review
goes back out to the same CSV shape, so what was signed can be read in a spreadsheet.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from ledger.authoring import disclosure as dc
from ledger.core.errors import LedgerError
from ledger.core.keys import SignerKey
from ledger.domain.bulk import BulkSubmission, bulk_review
from ledger.domain.schemas import MAX_LINES
from ledger.domain.state import DomainState
from ledger.rules.catalog import CATALOG

SHEET_COLUMNS = ("line", "matched", "match_basis", "method", "address_class", "address_usable",
                 "irs_address_differs", "decision", "reason")
REVIEW_COLUMNS = ("line", "decision", "reason")
_REASON = re.compile(r"[A-Za-z0-9_ ./()+:-]{1,80}\Z")


class ReviewSheetError(LedgerError):
    """A review sheet that cannot become a review: the message names the row and the problem."""


@dataclass(frozen=True)
class QueueItem:
    request: str
    index: int
    exception: str
    agency: str
    lines: int
    filed_at: int
    red_flags: tuple[str, ...]


def work_queue(state: DomainState, flags: Any = None) -> list[QueueItem]:
    """Requests filed and matched, waiting for a review (oldest first). ``flags(req)`` gives red flags."""
    out = []
    for req in state.requests.values():
        if req.complete and req.match_complete and req.review_id is None and not req.withdrawn and \
                req.returned is None:
            out.append(QueueItem(req.id, req.index, req.body["exception"], req.body["agency"], req.line_count,
                                 req.filed_at, tuple(flags(req)) if flags else ()))
    return sorted(out, key=lambda q: q.filed_at)


def suggest(item: dict[str, Any], needs_address: bool) -> tuple[str, str]:
    """The decision the rules allow for a matched line (the officer may refuse more, never approve more)."""
    if not item["matched"]:
        return "refuse", "not_matched"
    if needs_address:
        if not item["address_usable"]:
            return "refuse", "address_unusable"
        if not {"name", "address"} <= set(item["match_basis"]):
            return "refuse", "tin_only_match" if item["match_basis"] == ["tin"] else "address_not_matched"
    return "approve", "ok"


def needs_address(request_body: dict[str, Any]) -> bool:
    rule = CATALOG.get(request_body["exception"])
    return "address" in request_body["fields"] or (rule is not None and rule.address_per_line)


def write_sheet(match_items: Iterable[dict[str, Any]], request_body: dict[str, Any], out: IO[str]) -> int:
    """Write the review sheet for a matched request; returns the number of rows."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SHEET_COLUMNS)
    address = needs_address(request_body)
    n = 0
    for item in match_items:
        decision, reason = suggest(item, address)
        writer.writerow([item["line"], _b(item["matched"]), "+".join(item["match_basis"]), item["method"],
                         item["address_class"], _b(item["address_usable"]),
                         "" if item["irs_address_differs"] is None else _b(item["irs_address_differs"]),
                         decision, reason])
        n += 1
    return n


def _b(value: bool) -> str:
    return "true" if value else "false"


def read_decisions(f: IO[str], line_count: int) -> list[tuple[int, str, str]]:
    """(line, decision, reason) for every line 0..line_count-1 exactly once, in line order.

    Reads any CSV with at least the columns line, decision, reason (a review sheet or a review
    CSV); refuses a missing, repeated or unknown line, a decision other than approve/refuse and
    a reason that is not a short code (free text belongs in the sealed record, not the log).
    """
    reader = csv.DictReader(f)
    missing = [c for c in REVIEW_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ReviewSheetError(f"the sheet has no column {missing[0]!r} (it needs {', '.join(REVIEW_COLUMNS)})")
    decisions: list[tuple[int, str, str] | None] = [None] * line_count
    for row_number, row in enumerate(reader, start=2):
        text = (row.get("line") or "").strip()
        if not text.isdigit():
            raise ReviewSheetError(f"row {row_number}: line {text[:20]!r} is not a line number")
        k = int(text)
        if k >= line_count:
            raise ReviewSheetError(f"row {row_number}: line {k} is outside the request (lines 0..{line_count - 1})")
        if decisions[k] is not None:
            raise ReviewSheetError(f"row {row_number}: line {k} appears twice")
        decision = (row.get("decision") or "").strip().lower()
        if decision not in ("approve", "refuse"):
            raise ReviewSheetError(f"row {row_number}: decision must be approve or refuse, found {decision[:20]!r}")
        reason = (row.get("reason") or "").strip()
        if not _REASON.match(reason):
            raise ReviewSheetError(f"row {row_number}: reason must be a short code (letters, digits, _ . / ( ) + : -)")
        decisions[k] = (k, decision, reason)
    absent = [k for k, d in enumerate(decisions) if d is None]
    if absent:
        raise ReviewSheetError(f"{len(absent)} lines have no row, first line {absent[0]}")
    return [d for d in decisions if d is not None]


def review_from_decisions(signer: SignerKey, request_id: str, decisions: list[tuple[int, str, str]],
                          red_flags: list[str]) -> dc.Submission | BulkSubmission:
    """The signed review: inline up to 150 lines, in bulk form past that."""
    if len(decisions) <= MAX_LINES:
        return dc.review(signer, request_id, decisions, red_flags)
    return bulk_review(signer, request_id, decisions, red_flags)


def write_review(review_items: Iterable[dict[str, Any]], out: IO[str]) -> int:
    """A logged review back out to CSV (line, decision, reason)."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REVIEW_COLUMNS)
    n = 0
    for item in review_items:
        writer.writerow([item["line"], item["decision"], item["reason"]])
        n += 1
    return n


def rows(f: IO[str]) -> Iterator[dict[str, str]]:
    yield from csv.DictReader(f)
