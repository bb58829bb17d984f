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

import re
import uuid
from collections import Counter
from typing import Any

from ledger.client.disclosure import Submission
from ledger.client.trust import signed
from ledger.commitments import Opening, commit
from ledger.domain.address import ADDRESS_RULES_VERSION
from ledger.domain.masterfile import MasterFile
from ledger.domain.matcher import MATCHER_VERSION, match_line
from ledger.keys import SignerKey
from ledger.statement import Statement

BOILERPLATE_SHARE = 0.5  # most common reason shared by at least half the lines (and 2+)


def _norm_reason(text: Any) -> str:
    return re.sub(r"[\W_]+", " ", str(text or "")).strip().lower()


class MatcherPrincipal:
    def __init__(self, key: SignerKey, master: MasterFile) -> None:
        self.key = key
        self.master = master

    def match_request(self, request: Statement, openings: dict[str, Opening]) -> Submission:
        """The signed match result of every line of a request."""
        body = request.envelope["body"]
        lines: list[dict[str, Any]] = []
        taxpayer_openings: list[Opening] = []
        flags: set[str] = set()
        reasons = []
        for k, line in enumerate(body["lines"]):
            values = {f: (openings[line[f]].value if line[f] else None) for f in ("tin", "name", "address", "reason")}
            reasons.append(_norm_reason(values["reason"]))
            result = match_line({"tin": values["tin"], "name": values["name"], "address": values["address"]},
                                self.master)
            taxpayer = None
            if result.matched and result.matched_tin:
                opening = commit("tin", result.matched_tin)
                taxpayer_openings.append(opening)
                taxpayer = opening.commitment
            verdict = result.address_verdict
            if result.address_supplied and not verdict.usable:
                flags.add("placeholder_addresses")
            if result.irs_address_differs:
                flags.add("requester_address_differs")
            lines.append({
                "line": k, "matched": bool(result.matched and result.match_basis),
                "match_basis": sorted(result.match_basis), "method": result.method,
                "address_class": verdict.address_class, "address_usable": verdict.usable,
                "irs_address_differs": result.irs_address_differs, "taxpayer": taxpayer,
            })
        common = Counter(r for r in reasons if r).most_common(1)
        if common and common[0][1] >= 2 and common[0][1] >= BOILERPLATE_SHARE * len(reasons):
            flags.add("boilerplate_reasons")
        match_body = {"request": request.id, "matcher_version": MATCHER_VERSION,
                      "address_rules_version": ADDRESS_RULES_VERSION, "lines": lines, "red_flags": sorted(flags)}
        sid = str(uuid.uuid4())
        return Submission(signed([self.key], "match_result", match_body, sid), tuple(taxpayer_openings), sid)
