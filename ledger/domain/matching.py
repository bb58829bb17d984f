"""The matcher principal: compares each request line with the IRS's own records and signs,
per line, which requester-supplied fields actually agreed (``match_basis``) and the
versioned class of the requester-supplied address.

It runs on the IRS side with its own key (the ledger service holds no principal's key),
reads the request's openings from the sealed store, and hands back a submission whose
only openings are commitments to the matched TINs (from which the service computes
pseudonyms at ingest). Red flags that need the plaintext — boilerplate reasons, an
address differing from the IRS record, placeholder addresses — are computed here,
before anything is committed.
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from ledger.canonical import canonical_bytes
from ledger.client.disclosure import Submission
from ledger.client.trust import signed
from ledger.commitments import Opening, commit
from ledger.domain.address import ADDRESS_RULES_VERSION
from ledger.domain.bulk import BulkSubmission, bulk_statement, derived_salt
from ledger.domain.masterfile import MasterFile
from ledger.domain.matcher import MATCHER_VERSION, match_line
from ledger.keys import SignerKey
from ledger.lines import CHUNK_LINES
from ledger.statement import Statement

_FIELDS = ("tin", "name", "address", "reason")
BOILERPLATE_SHARE = 0.5  # most common reason shared by at least half the lines (and 2+)


def _norm_reason(text: Any) -> str:
    return re.sub(r"[\W_]+", " ", str(text or "")).strip().lower()


class MatcherPrincipal:
    def __init__(self, key: SignerKey, master: MasterFile) -> None:
        self.key = key
        self.master = master

    def _match(self, k: int, line: dict[str, Any], values: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """The match item of request line k, and the matched TIN (kept out of the item)."""
        result = match_line({"tin": values["tin"], "name": values["name"], "address": values["address"]},
                            self.master)
        verdict = result.address_verdict
        matched_tin = result.matched_tin if result.matched and result.matched_tin else None
        item = {
            "line": k, "matched": bool(result.matched and result.match_basis),
            "match_basis": sorted(result.match_basis), "method": result.method,
            "address_class": verdict.address_class, "address_usable": verdict.usable,
            "irs_address_differs": result.irs_address_differs, "taxpayer": None,
            "_placeholder": result.address_supplied and not verdict.usable,
        }
        return item, matched_tin

    def _lines(self, lines: Iterable[dict[str, Any]], openings: Callable[[list[str]], Mapping[str, Opening]],
               ) -> Iterator[tuple[int, dict[str, Any], dict[str, Any]]]:
        """(k, request line, opened values) for each line, opening a block of lines at a time."""
        block: list[dict[str, Any]] = []
        k = 0

        def flush() -> Iterator[tuple[int, dict[str, Any], dict[str, Any]]]:
            nonlocal k
            wanted = [line[f] for line in block for f in _FIELDS if line[f]]
            opened = openings(wanted)
            for line in block:
                yield k, line, {f: (opened[line[f]].value if line[f] else None) for f in _FIELDS}
                k += 1
            block.clear()

        for line in lines:
            block.append(line)
            if len(block) == CHUNK_LINES:
                yield from flush()
        if block:
            yield from flush()

    def match_request(self, request: Statement, openings: Mapping[str, Opening]) -> Submission:
        """The signed match result of every line of an inline request."""
        head, items, tin_openings = self._run(request, request.envelope["body"]["lines"], lambda wanted: openings,
                                              bulk=False)
        sid = str(uuid.uuid4())
        note = signed([self.key], "match_result", {**head, "lines": json.loads(items[0]) if items else []}, sid)
        return Submission(note, tuple(tin_openings(range(request_line_count(request)))), sid)

    def match_bulk(self, request: Statement, lines: Iterable[dict[str, Any]],
                   openings: Callable[[list[str]], Mapping[str, Opening]]) -> BulkSubmission:
        """The signed match result of a bulk request, in bulk form. ``lines`` are its items (e.g. from
        ``statement_items``); ``openings`` opens a block of commitments at a time (the sealed store's
        ``get_many``), so the whole request is never opened at once."""
        head, chunks, tin_openings = self._run(request, lines, openings, bulk=True)

        def source(c: int) -> tuple[list[Any], list[Opening]]:
            items = json.loads(chunks[c])
            return items, tin_openings(item["line"] for item in items)

        count = request.envelope["body"]["bulk"]["line_count"]
        return bulk_statement([self.key], "match_result", head, count, source)

    def _run(self, request: Statement, lines: Iterable[dict[str, Any]],
             opener: Callable[[list[str]], Mapping[str, Opening]], bulk: bool,
             ) -> tuple[dict[str, Any], list[bytes], Callable[[Iterable[int]], list[Opening]]]:
        """Match every line: the head of the result, its items as canonical JSON arrays (one per chunk,
        or one for an inline result) and a function giving the openings of the matched TINs."""
        seed = secrets.token_bytes(32)  # derives the TIN commitments' salts; never leaves this process
        chunks: list[bytes] = []
        current: list[dict[str, Any]] = []
        tins: dict[int, str] = {}
        flags: set[str] = set()
        reasons: Counter[str] = Counter()
        count = 0
        for k, line, values in self._lines(lines, opener):
            reasons[_norm_reason(values["reason"])] += 1
            item, tin = self._match(k, line, values)
            if item.pop("_placeholder"):
                flags.add("placeholder_addresses")
            if item["irs_address_differs"]:
                flags.add("requester_address_differs")
            if tin is not None:
                tins[k] = tin
                item["taxpayer"] = commit("tin", tin, derived_salt(seed, k, "tin")).commitment
            count += 1
            current.append(item)
            if bulk and len(current) == CHUNK_LINES:
                chunks.append(canonical_bytes(current))
                current = []
        if current:
            chunks.append(canonical_bytes(current))
        reasons.pop("", None)
        common = reasons.most_common(1)
        if common and common[0][1] >= 2 and common[0][1] >= BOILERPLATE_SHARE * count:
            flags.add("boilerplate_reasons")
        head = {"request": request.id, "matcher_version": MATCHER_VERSION,
                "address_rules_version": ADDRESS_RULES_VERSION, "red_flags": sorted(flags)}

        def tin_openings(ks: Iterable[int]) -> list[Opening]:
            return [commit("tin", tins[k], derived_salt(seed, k, "tin")) for k in ks if k in tins]

        return head, chunks, tin_openings


def request_line_count(request: Statement) -> int:
    body = request.envelope["body"]
    return len(body["lines"]) if "lines" in body else int(body["bulk"]["line_count"])
