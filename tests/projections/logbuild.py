"""Writing § 6103 logs for projection tests without the rules engine: any well-formed body,
inline or in bulk form (manifest + 128-item chunks, FORMAT § 17.7), signed by registered
keys, with the pseudonyms the disclosure service would store at ingest (dl_pseudonyms)."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

from storefix import ORIGIN

from ledger.authoring.trust import key_registration, signed
from ledger.config import Settings
from ledger.core.canonical import canonical_bytes
from ledger.core.keys import SignerKey
from ledger.core.merkle import leaf_hash
from ledger.core.statement import make_envelope, sign_statement
from ledger.policy import DEFAULT_POLICY
from ledger.store.ledger import Ledger

CHUNK = 128
POLICY = {**DEFAULT_POLICY, "chunk": ["requester", "matcher", "reviewer", "releaser"]}
CLASSES = [("street", True), ("po_box", True), ("placeholder", False), ("missing", False), ("zip_only", False),
           ("city_only", False), ("junk", False)]


def h(*parts: Any) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def lines_root(items: list[Any]) -> str:
    leaves = [leaf_hash(canonical_bytes(i)) for i in items]
    return _root(leaves).hex()


def _root(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + _root(leaves[:k]) + _root(leaves[k:])).digest()


@dataclass
class Req:
    id: str
    lines: int
    bulk: bool
    review: str | None = None


@dataclass
class LogBuilder:
    ledger: Ledger
    keys: dict[str, SignerKey]
    requests: list[Req] = field(default_factory=list)
    n: int = 0

    @classmethod
    def open(cls, settings: Settings) -> LogBuilder:
        ledger = Ledger(settings)
        admin = SignerKey.generate(ORIGIN + "/admin")
        ledger.initialise(ORIGIN, str(admin.verifier), POLICY)
        keys = {}
        for role, name in [("requester", "ice.dhs.gov/director"), ("matcher", "irs.gov/matcher"),
                           ("reviewer", "irs.gov/officer"), ("releaser", "irs.gov/releaser"),
                           ("oversight", "tigta.gov/auditor")]:
            keys[role] = SignerKey.generate(name)
            ledger.append(key_registration(admin, keys[role], [role]))
        return cls(ledger, keys)

    def _append(self, role: str, type_: str, body: dict[str, Any], sid: str | None = None) -> int:
        return self.ledger.append(signed([self.keys[role]], type_, body, sid)).index

    def _bulk(self, role: str, type_: str, body: dict[str, Any], items: list[Any]) -> list[int]:
        """A manifest and its chunks; returns the chunks' indices."""
        sid = h("bulk", self.n, type_)
        self.n += 1
        manifest = {**body, "bulk": {"line_count": len(items), "chunk_count": math.ceil(len(items) / CHUNK),
                                     "lines_root": lines_root(items)}}
        self._append(role, type_, manifest, sid[:40])
        out = []
        for c in range(math.ceil(len(items) / CHUNK)):
            out.append(self._append(role, "chunk", {"of": sid[:40], "kind": type_, "chunk": c, "first_line": c * CHUNK,
                                                    "lines": items[c * CHUNK:(c + 1) * CHUNK]}))
        return out

    def request(self, n_lines: int, agency: str, exception: str, addresses: list[bool],
                resubmit: int | None = None) -> None:
        self.n += 1
        lines = [{"tin": h("tin", self.n, k), "name": h("name", self.n, k),
                  "address": h("addr", self.n, k) if addresses[k % len(addresses)] else None,
                  "periods": ["2024"], "reason": h("reason", self.n, k)} for k in range(n_lines)]
        body = {"exception": exception, "agency": agency, "statute": "8 USC 1253(a)(1)",
                "purpose": "criminal_investigation", "purpose_text": h("p", self.n), "fields": ["name", "address"],
                "recipients": [{"name": h("rcp", self.n, i), "agency": agency if i == 0 else "DOJ/FBI",
                                "personally_and_directly_engaged": True, "solely_for_use": True, "caseload": 3}
                               for i in range(2)],
                "case_ids": [h("case", self.n)], "court_order": None,
                "resubmits": self.requests[resubmit % len(self.requests)].id if resubmit is not None and self.requests
                else None}
        bulk = n_lines > CHUNK  # bulk form (only >150 lines need it; a log may use it earlier)
        if bulk:
            self._bulk("requester", "request", body, lines)
            sid = h("bulk", self.n - 1, "request")[:40]
        else:
            sid = h("req", self.n)[:40]
            self._append("requester", "request", {**body, "lines": lines}, sid)
        self.requests.append(Req(sid, n_lines, bulk))

    def match(self, which: int, taxpayers: list[int | None], classes: list[int]) -> None:
        req = self.requests[which % len(self.requests)]
        items = []
        for k in range(req.lines):
            tp = taxpayers[k % len(taxpayers)]
            cls, usable = CLASSES[classes[k % len(classes)] % len(CLASSES)]
            basis = [] if tp is None else (["address", "name"] if usable else ["tin"])
            items.append({"line": k, "matched": tp is not None, "match_basis": basis,
                          "method": "+".join(b.upper() for b in basis) or "NONE", "address_class": cls,
                          "address_usable": usable, "irs_address_differs": None if tp is None else False,
                          "taxpayer": None if tp is None else h("tp", tp, self.n, k)})
        unusable = any(not CLASSES[c % len(CLASSES)][1] for c in classes)
        body = {"request": req.id, "matcher_version": "m1", "address_rules_version": "addr-2026.1",
                "red_flags": ["placeholder_addresses"] if unusable else []}
        if req.bulk:
            for idx in self._bulk("matcher", "match_result", body, items):
                self._pseudonyms(idx, items, taxpayers, chunk_idx=idx)
        else:
            idx = self._append("matcher", "match_result", {**body, "lines": items})
            self._pseudonyms(idx, items, taxpayers)

    def _pseudonyms(self, idx: int, items: list[dict[str, Any]], taxpayers: list[int | None],
                    chunk_idx: int | None = None) -> None:
        if chunk_idx is not None:  # only this chunk's lines
            from ledger.core.entry import parse_entry
            from ledger.core.statement import parse_statement

            body = parse_statement(parse_entry(self.ledger.entry(chunk_idx)).statement).envelope["body"]
            items = body["lines"]
        rows = [(idx, i["line"], h("pseudonym", taxpayers[i["line"] % len(taxpayers)])) for i in items if i["taxpayer"]]
        self.store_pseudonyms(rows)

    def store_pseudonyms(self, rows: list[tuple[int, int, str]]) -> None:
        with self.ledger.store.writing() as db:
            db.many(f"INSERT INTO {db.t('dl_pseudonyms')} VALUES (%s,%s,%s) ON CONFLICT DO NOTHING", rows)

    def review(self, which: int, approve: list[bool]) -> None:
        req = self.requests[which % len(self.requests)]
        items = [{"line": k, "decision": "approve" if approve[k % len(approve)] else "refuse",
                  "reason": "ok" if approve[k % len(approve)] else "address_not_usable"} for k in range(req.lines)]
        body = {"request": req.id, "law_version": "6103-olrc-2023+dl-2026.1", "red_flags": ["tin_only_match"]}
        self.n += 1
        if req.bulk:
            self._bulk("reviewer", "review", body, items)
            req.review = h("bulk", self.n - 1, "review")[:40]
        else:
            req.review = h("rev", self.n)[:40]
            self._append("reviewer", "review", {**body, "lines": items}, req.review)

    def release(self, which: int, pick: list[bool], released: set[tuple[str, int]]) -> None:
        req = self.requests[which % len(self.requests)]
        if req.review is None:
            return
        lines = [k for k in range(req.lines) if pick[k % len(pick)] and (req.id, k) not in released]
        if not lines:
            return
        released.update((req.id, k) for k in lines)
        body = {"request": req.id, "review": req.review, "fields": ["address"], "recipients": [0, 1],
                "file_sha256": h("file", self.n), "channel": "secure-file-transfer"}
        if req.bulk:
            self._bulk("releaser", "release", body, lines)
        else:
            self._append("releaser", "release", {**body, "lines": lines})

    def withdraw(self, which: int) -> None:
        self._append("requester", "withdrawal", {"request": self.requests[which % len(self.requests)].id})

    def safeguard(self, agency: str, approved: bool, findings: int) -> None:
        self._append("oversight", "safeguard_status", {"agency": agency, "ssr_approved": approved,
                                                        "open_findings": findings, "cap_implementation_date": None})

    def inspection(self, taxpayer: int) -> None:
        self.n += 1
        idx = self._append("oversight", "inspection", {"view": "taxpayer_history", "reader": "tigta.gov/auditor",
                                                        "subject": h("subj", self.n),
                                                        "role": "oversight", "purpose": h("purpose", self.n)})
        self.store_pseudonyms([(idx, 0, h("pseudonym", taxpayer))])

    def blocked(self, stype: str) -> None:
        key = self.ledger.keys.statement
        self.n += 1
        body = {"statement_id": h("refused", self.n)[:40], "statement_sha256": h("sha", self.n),
                "statement_type": stype, "signers": ["ice.dhs.gov/director"], "rules": ["match.tin_only"]}
        env = make_envelope("blocked", f"blocked:{h('b', self.n)[:40]}", [key.name], body)
        self.ledger.append(sign_statement(env, [key]))
