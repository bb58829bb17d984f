"""The matcher principal: compares each request line with the IRS's own records and signs,
per line, which requester-supplied fields actually agreed (``match_basis``) and the
versioned class of the requester-supplied address.

It runs on the IRS side with its own key (the ledger service holds no principal's key),
reads the request's openings from the sealed store, and hands back a submission whose
only openings are commitments to the matched TINs (from which the service computes
pseudonyms at ingest), their salts derived from the seed the ledger issued for the result
(``seed``; without one, a seed drawn here, which only a ledger without the service accepts).
Red flags that need the plaintext — boilerplate reasons, an address differing from the IRS
record, placeholder addresses — are computed here, before anything is committed.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ledger.authoring.disclosure import Submission
from ledger.authoring.trust import signed
from ledger.core.canonical import canonical_bytes
from ledger.core.commitments import Opening
from ledger.core.errors import LedgerError
from ledger.core.keys import SignerKey
from ledger.core.lines import CHUNK_LINES, chunk_root
from ledger.core.merkle import leaf_hash
from ledger.core.statement import Statement
from ledger.domain.address import ADDRESS_RULES_VERSION
from ledger.domain.bulk import BulkSubmission, bulk_statement
from ledger.domain.masterfile import MasterFile
from ledger.domain.matcher import MATCHER_VERSION, match_line
from ledger.heap import settle_worker_heap
from ledger.salts import SaltSeed

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
               first: int = 0) -> Iterator[tuple[int, dict[str, Any], dict[str, Any]]]:
        """(k, request line, opened values) for each line from line ``first`` on, opening a block of
        lines at a time."""
        block: list[dict[str, Any]] = []
        k = first

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

    def _seed(self, seed: SaltSeed | None) -> SaltSeed:
        if seed is None:
            return SaltSeed.local(str(uuid.uuid4()), "match_result", self.key.name)
        if seed.statement_type != "match_result" or seed.principal != self.key.name:
            raise LedgerError(f"the seed for {seed.statement_id} is a {seed.statement_type} seed of {seed.principal}")
        return seed

    def match_request(self, request: Statement, openings: Mapping[str, Opening],
                      seed: SaltSeed | None = None) -> Submission:
        """The signed match result of every line of an inline request (its id: the seed's)."""
        seed = self._seed(seed)
        head, items, tin_openings, _ = self._run(request, request.envelope["body"]["lines"], lambda wanted: openings,
                                              bulk=False, seed=seed)
        sid = seed.statement_id
        note = signed([self.key], "match_result", {**head, "lines": json.loads(items[0]) if items else []}, sid)
        return Submission(note, tuple(tin_openings(range(request_line_count(request)))), sid)

    def match_bulk(self, request: Statement, lines: Iterable[dict[str, Any]],
                   openings: Callable[[list[str]], Mapping[str, Opening]], seed: SaltSeed | None = None,
                   ) -> BulkSubmission:
        """The signed match result of a bulk request, in bulk form. ``lines`` are its items (e.g. from
        ``statement_items``); ``openings`` opens a block of commitments at a time (the sealed store's
        ``get_many``), so the whole request is never opened at once."""
        seed = self._seed(seed)
        return self._bulk(request, seed, *self._run(request, lines, openings, bulk=True, seed=seed))

    def match_bulk_split(self, request: Statement, open_range: RangeOpener, workers: int = 2,
                         seed: SaltSeed | None = None) -> BulkSubmission:
        """As :meth:`match_bulk`, the matching pass split over ``workers`` forked processes, each
        taking a contiguous range of chunks. ``open_range(first_chunk, stop_chunk)`` runs in the
        worker: it opens its own connections and returns that range's items and an opener."""
        chunk_total = request.envelope["body"]["bulk"]["chunk_count"]
        bounds = [chunk_total * i // workers for i in range(workers + 1)]
        seed = self._seed(seed)
        ranges = [(a, b) for a, b in itertools.pairwise(bounds) if b > a]
        # Forked processes, not a pool: the key, the master file and ``open_range`` are inherited,
        # never pickled; each range's result comes back through the queue.
        ctx = multiprocessing.get_context("fork")
        results: Any = ctx.Queue()
        procs = [ctx.Process(target=_match_range, args=(self, open_range, i, a, b, seed, results), daemon=True)
                 for i, (a, b) in enumerate(ranges)]
        for proc in procs:
            proc.start()
        parts: dict[int, _Pass] = {}
        try:
            while len(parts) < len(procs):
                i, found = results.get(timeout=3600)
                if isinstance(found, str):
                    raise LedgerError(f"matching chunks {ranges[i][0]}..{ranges[i][1] - 1} failed: {found}")
                parts[i] = found
        finally:
            for proc in procs:
                if proc.is_alive() and len(parts) < len(procs):
                    proc.terminate()
                proc.join(timeout=30)
        total = _Pass.merge(parts[i] for i in range(len(procs)))
        return self._bulk(request, seed, *self._finish(request, total, seed), workers=workers)

    def _bulk(self, request: Statement, seed: SaltSeed, head: dict[str, Any], chunks: list[bytes],
              tin_openings: Callable[[Iterable[int]], list[Opening]], roots: list[bytes],
              workers: int = 1) -> BulkSubmission:
        def source(c: int) -> tuple[list[Any], list[Opening]]:
            items = json.loads(chunks[c])
            return items, tin_openings(item["line"] for item in items)

        count = request.envelope["body"]["bulk"]["line_count"]
        # the chunk roots the matching pass computed from the same bytes: no second pass over the items
        return bulk_statement([self.key], "match_result", head, count, source, statement_id=seed.statement_id,
                              workers=workers, roots=roots)

    def _run(self, request: Statement, lines: Iterable[dict[str, Any]],
             opener: Callable[[list[str]], Mapping[str, Opening]], bulk: bool, seed: SaltSeed,
             ) -> tuple[dict[str, Any], list[bytes], Callable[[Iterable[int]], list[Opening]], list[bytes]]:
        """Match every line: the head of the result, its items as canonical JSON arrays (one per chunk,
        or one for an inline result), a function giving the openings of the matched TINs and, in
        bulk, each chunk's subtree root. The TIN commitments' salts derive from ``seed``."""
        return self._finish(request, self._pass(lines, opener, seed, bulk), seed)

    def _pass(self, lines: Iterable[dict[str, Any]], opener: Callable[[list[str]], Mapping[str, Opening]],
              seed: SaltSeed, bulk: bool = True, first: int = 0) -> _Pass:
        """Match the lines from line ``first`` on (a chunk boundary when ``bulk``)."""
        out = _Pass()
        current: list[bytes] = []
        for k, line, values in self._lines(lines, opener, first):
            out.reasons[_norm_reason(values["reason"])] += 1
            item, tin = self._match(k, line, values)
            if item.pop("_placeholder"):
                out.flags.add("placeholder_addresses")
            if item["irs_address_differs"]:
                out.flags.add("requester_address_differs")
            if tin is not None:
                out.tins[k] = tin
                item["taxpayer"] = seed.commit("tin", tin, k).commitment
            out.count += 1
            current.append(canonical_bytes(item))
            if bulk and len(current) == CHUNK_LINES:
                out.add_chunk(current, bulk)
                current = []
        if current:
            out.add_chunk(current, bulk)
        return out

    @staticmethod
    def _finish(request: Statement, done: _Pass, seed: SaltSeed,
                ) -> tuple[dict[str, Any], list[bytes], Callable[[Iterable[int]], list[Opening]], list[bytes]]:
        flags, reasons, tins = set(done.flags), Counter(done.reasons), done.tins
        reasons.pop("", None)
        common = reasons.most_common(1)
        if common and common[0][1] >= 2 and common[0][1] >= BOILERPLATE_SHARE * done.count:
            flags.add("boilerplate_reasons")
        head = {"request": request.id, "matcher_version": MATCHER_VERSION,
                "address_rules_version": ADDRESS_RULES_VERSION, "red_flags": sorted(flags)}

        def tin_openings(ks: Iterable[int]) -> list[Opening]:
            return [seed.commit("tin", tins[k], k) for k in ks if k in tins]

        return head, done.chunks, tin_openings, done.roots


RangeOpener = Callable[[int, int], tuple[Iterable[dict[str, Any]], Callable[[list[str]], Mapping[str, Opening]]]]


@dataclass
class _Pass:
    """What matching a run of lines found: items (canonical JSON per chunk), matched TINs by line,
    red flags, normalised reasons, and how many lines."""

    chunks: list[bytes] = field(default_factory=list)
    roots: list[bytes] = field(default_factory=list)  # each chunk's subtree root (the manifest's, in bulk)
    tins: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    reasons: Counter[str] = field(default_factory=Counter)
    count: int = 0

    def add_chunk(self, items: list[bytes], bulk: bool) -> None:
        """A chunk of items, each its canonical bytes: the chunk's bytes (JCS of a list is its items'
        JCS joined) and, in bulk, its subtree root, each item encoded once."""
        self.chunks.append(b"[" + b",".join(items) + b"]")
        if bulk:
            self.roots.append(chunk_root([leaf_hash(it) for it in items]))

    @staticmethod
    def merge(parts: Iterable[_Pass]) -> _Pass:
        """The passes over consecutive ranges, in order, as one."""
        out = _Pass()
        for part in parts:
            out.chunks.extend(part.chunks)
            out.roots.extend(part.roots)
            out.tins.update(part.tins)
            out.flags |= part.flags
            out.reasons.update(part.reasons)
            out.count += part.count
        return out


def _match_range(matcher: MatcherPrincipal, open_range: RangeOpener, i: int, first_chunk: int, stop_chunk: int,
                 seed: SaltSeed, results: Any) -> None:
    """In a worker process: match chunks [first_chunk, stop_chunk) of a bulk request; put (i, result)."""
    settle_worker_heap()
    try:
        lines, opener = open_range(first_chunk, stop_chunk)
        results.put((i, matcher._pass(lines, opener, seed, True, first_chunk * CHUNK_LINES)))
    except Exception as e:  # reported to the parent by type and message
        results.put((i, f"{type(e).__name__}: {e}"))


def request_line_count(request: Statement) -> int:
    body = request.envelope["body"]
    return len(body["lines"]) if "lines" in body else int(body["bulk"]["line_count"])
