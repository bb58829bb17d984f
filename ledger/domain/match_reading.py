"""The request behind a match result, opened a block of lines at a time, for re-deriving it.

The disclosure service checks a match result (and each chunk of a bulk one) against the
requester's own text (``ledger.domain.match_check``). This reads, for a set of the request's
line numbers, the opened ``tin`` and ``address`` of each: an inline request's lines
from its entry, a bulk request's from the chunk holding them, opened from the sealed store (a
bulk chunk's openings are one sealed group). It never opens more than one request chunk at once.

In the service's second process (``DisclosureService.stages``, bench/forked.py) it must not use
the first process's connections: built with ``forked=True``, it opens its own the first time it
is used in another process, and reads the bulk requests' chunk positions from the rules state as
the service last synced it before forking.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from typing import Any

from ledger.core.entry import parse_entry
from ledger.core.lines import CHUNK_LINES
from ledger.core.statement import Statement, parse_statement
from ledger.domain.refusals import AppendRefused
from ledger.sealed import SealedStore
from ledger.store.ledger import Ledger
from ledger.store.reading import LogReader

FIELDS = ("tin", "address")  # what the check re-derives from; the names are not compared yet


class RequestOpenings:
    """Opened request lines for the match results the service checks."""

    def __init__(self, ledger: Ledger, sealed: SealedStore, *, forked: bool = False) -> None:
        self._ledger = ledger
        self._sealed = sealed
        self._reads: LogReader = ledger
        self._home = os.getpid() if forked else None
        self._requests: dict[str, str] = {}  # bulk match result id -> its request's id
        self._last: Statement | None = None  # the request read last: a bulk result's chunks come one by one

    def _connections(self) -> None:
        """In a forked process: a reader of the log of its own (no DDL, which two processes at once would
        race on PostgreSQL's catalog); the sealed store's pool forgets the parent's connections without
        closing them (they are the parent's)."""
        if self._home is not None and os.getpid() != self._home:
            self._reads = Ledger(dataclasses.replace(self._ledger.settings, create_tables=False))
            self._sealed.engine.dispose(close=False)
            self._home = None

    @property
    def _in_service_process(self) -> bool:
        return (self._home is None or self._home == os.getpid()) and self._reads is self._ledger

    def note_manifest(self, manifest_id: str, request_id: str) -> None:
        """A bulk match result's manifest seen in a submission: its chunks check against this request."""
        self._requests[manifest_id] = request_id

    def request_of(self, manifest_id: str) -> str | None:
        """The request a bulk match result's manifest names, or None when the log has no such
        manifest (the rules then refuse its chunk)."""
        if manifest_id not in self._requests:
            stmt = self._statement(manifest_id)
            if stmt is None or stmt.type != "match_result":
                return None
            self._requests[manifest_id] = stmt.envelope["body"]["request"]
        return self._requests[manifest_id]

    def _statement(self, statement_id: str) -> Statement | None:
        self._connections()
        index = self._reads.statement_index(statement_id)
        return None if index is None else self._at(index)

    def _at(self, index: int) -> Statement:
        return parse_statement(parse_entry(self._reads.entry(index)).statement)

    def opened(self, request_id: str, lines: Iterable[int]) -> dict[int, dict[str, Any]] | None:
        """By line number, the opened values of the request's ``lines`` that exist; None when the
        log has no such request (the rules then refuse the match result). Lines are read and opened
        one request chunk at a time."""
        self._connections()
        request = self._last if self._last is not None and self._last.id == request_id else None
        if request is None:
            request = self._statement(request_id)
            if request is None or request.type != "request":
                return None
            self._last = request  # an entry never changes once in the log
        body = request.envelope["body"]
        wanted = sorted(set(lines))
        out: dict[int, dict[str, Any]] = {}
        if "lines" in body:
            held = body["lines"]
            for start in range(0, len(wanted), CHUNK_LINES):
                block = [k for k in wanted[start:start + CHUNK_LINES] if 0 <= k < len(held)]
                out.update(self._open({k: held[k] for k in block}, ()))
            return out
        by_chunk: dict[int, list[int]] = {}
        for k in wanted:
            if 0 <= k < int(body["bulk"]["line_count"]):
                by_chunk.setdefault(k // CHUNK_LINES, []).append(k)
        for c, block in sorted(by_chunk.items()):
            chunk = self._request_chunk(request_id, c)
            if chunk is None:  # the request is not complete: the rules refuse the result (bulk.incomplete)
                return None
            first = int(chunk.envelope["body"]["first_line"])
            held = chunk.envelope["body"]["lines"]
            out.update(self._open({k: held[k - first] for k in block}, (chunk.id,)))
        return out

    def _request_chunk(self, request_id: str, c: int) -> Statement | None:
        """Chunk c of a bulk request: where the rules state placed it, else under the id the bulk
        builder gives it (checked to be that chunk). None when the log has not got it (the state of
        the service's own process is synced first); in the second process, whose state may be older
        than the log, a chunk it cannot find refuses the submission (nothing stored)."""
        parts = self._parts(request_id)
        at = parts[c] if parts is not None and c < len(parts) else None
        chunk = self._at(at) if at is not None else self._statement(f"{request_id}.c{c}")
        if chunk is not None and chunk.type == "chunk" and chunk.envelope["body"]["of"] == request_id \
                and chunk.envelope["body"]["chunk"] == c:
            return chunk
        if self._in_service_process:
            return None
        raise AppendRefused(f"chunk {c} of request {request_id} could not be read to check the match "
                            "result against it; submit again once the request is complete", "match.unchecked")

    def _parts(self, request_id: str) -> list[int] | None:
        rules = self._ledger.rules
        state = getattr(rules, "state", None) if rules is not None else None
        parts = None if state is None else state.parts.get(request_id)
        if parts is None and self._in_service_process and rules is not None:
            state = getattr(self._ledger.synced_rules(), "state", None)
            parts = None if state is None else state.parts.get(request_id)
        return None if parts is None else list(parts)

    def _open(self, lines: dict[int, dict[str, Any]], groups: Iterable[str]) -> dict[int, dict[str, Any]]:
        """The opened fields of ``lines`` (request items by line number)."""
        opened = self._sealed.get_many([line[f] for line in lines.values() for f in FIELDS if line.get(f)], groups,
                                       fields=FIELDS)
        out: dict[int, dict[str, Any]] = {}
        for k, line in lines.items():
            values: dict[str, Any] = {}
            for f in FIELDS:
                commitment = line.get(f)
                if not commitment:
                    values[f] = None
                elif commitment in opened:
                    values[f] = opened[commitment].value
                else:
                    raise AppendRefused(f"line {k}: the request's {f} opening is not held (erased?), so the match "
                                        "result cannot be checked against it", "match.unchecked")
            out[k] = values
        return out
