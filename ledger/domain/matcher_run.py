"""Running the matcher in a deployment: every filed request without a complete match result gets one.

``run_once`` reads the rules' state at the log's head and, oldest request first:

* a request filed, not withdrawn or returned, with no match result: matches it (inline, or in bulk
  form for a bulk request) under a salt seed the ledger issues for the result, and submits it;
* a request whose bulk match result was cut short (the matcher was killed between two of its
  batches): rebuilds the same result — the same seed, still held by the ledger until its last chunk
  lands, the manifest's own ``issued_at``, the same master file, so the same bytes — and submits
  the chunks the log lacks.

An inline result lands in one transaction and a bulk one batch by batch, so a run killed at any
point leaves each request either unmatched, completely matched, or resumable: running again
matches each request exactly once. The rules refuse a second match result for a request
(``match.already_matched``), and one run at a time holds the lock beside the matcher's store.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ledger.authoring.disclosure import Submission
from ledger.core.bundle_format import statement_commitments
from ledger.core.commitments import Opening
from ledger.core.entry import parse_entry
from ledger.core.errors import LedgerError
from ledger.core.statement import Statement, parse_statement
from ledger.domain.bulk import BATCH_CHUNKS, BulkSubmission, opened_chunk_lines, submit_bulk
from ledger.domain.matching import MatcherPrincipal
from ledger.domain.state import M_MATCHED, RequestFacts


@dataclass(frozen=True)
class Failed:
    """A request this run could not match, and why (the message names no personal data). The run goes on
    with the next request and leaves this one for the operator: it is not tried again by this process."""

    request: str
    reason: str


@dataclass(frozen=True)
class Matched:
    """One request matched by a run: its id, the match result's, how many lines and how many matched."""

    request: str
    match_result: str
    lines: int
    matched: int
    resumed: bool
    bulk: bool


def pending(state: Any, matcher_name: str) -> list[RequestFacts]:
    """Requests waiting for this matcher, oldest filed first: no match result, or its own cut short."""
    out = []
    for req in state.requests.values():
        if not req.complete or req.withdrawn or req.returned is not None or req.match_complete:
            continue
        if req.match_id is not None:
            bulk = state.bulk.get(req.match_id)
            if bulk is None or matcher_name not in bulk.signers:
                continue  # another matcher's result in progress: not this one's to finish
        out.append(req)
    return sorted(out, key=lambda r: r.filed_at)


def _statement(ledger: Any, statement_id: str) -> Statement:
    index = ledger.statement_index(statement_id)
    if index is None:
        raise LedgerError(f"no statement {statement_id} in the log")
    return parse_statement(parse_entry(ledger.entry(index)).statement)


def run_once(service: Any, matcher: MatcherPrincipal, batch_chunks: int = BATCH_CHUNKS,
             stop: Callable[[], bool] = lambda: False, skip: set[str] | None = None) -> Iterator[Matched | Failed]:
    """Match every request waiting (``pending``), yielding each once its result is in the log, or why it
    could not be (its id is then added to ``skip``, which the requests it holds are left out by)."""
    ledger = service.ledger
    engine = ledger.synced_rules()
    state = getattr(engine, "state", None)
    if state is None:
        raise LedgerError("this ledger has no § 6103 rules engine")
    skip = set() if skip is None else skip
    for req in pending(state, matcher.key.name):
        if stop():
            return
        if req.id in skip:
            continue
        try:
            yield _match(service, matcher, req, state, batch_chunks)
        except LedgerError as e:
            skip.add(req.id)
            yield Failed(req.id, f"{type(e).__name__}: {e}")


def _match(service: Any, matcher: MatcherPrincipal, req: RequestFacts, state: Any, batch_chunks: int) -> Matched:
    """Match one request, or finish its cut-short bulk result."""
    ledger = service.ledger
    request = _statement(ledger, req.id)
    if req.match_id is not None:
        return _resume(service, matcher, request, req, state, batch_chunks)
    seed = service.issue_seed(matcher.key.name, "match_result")
    if "bulk" in request.envelope["body"]:
        lines, opener = opened_chunk_lines(ledger, state.parts.get(req.id, []), service.sealed)
        bulk = matcher.match_bulk(request, lines, _complete(opener, req.id), seed=seed)
        submit_bulk(service.submit_batch, bulk, batch_chunks)
        sid = bulk.statement_id
    else:
        wanted = [c for f, c in statement_commitments(request) if f in ("tin", "name", "address", "reason")]
        sub: Submission = matcher.match_request(request, _complete(service.openings, req.id)(wanted), seed=seed)
        service.submit(sub.note, sub.openings)
        sid = sub.statement_id
    return _done(ledger, req.id, sid, resumed=False, bulk="bulk" in request.envelope["body"])


Opener = Callable[[list[str]], Mapping[str, Opening]]


def _complete(opener: Callable[..., Mapping[str, Opening]], request_id: str) -> Opener:
    """``opener``, refusing (LedgerError) a block of commitments the sealed store does not open in full."""
    def opened(wanted: list[str]) -> Mapping[str, Opening]:
        found = opener(wanted)
        missing = sum(1 for c in wanted if c not in found)
        if missing:
            raise LedgerError(f"the sealed store holds no opening of {missing} commitments of request {request_id}'s "
                              "lines (erased?)")
        return found
    return opened


def _resume(service: Any, matcher: MatcherPrincipal, request: Statement, req: RequestFacts, state: Any,
            batch_chunks: int) -> Matched:
    """Finish a bulk match result the log holds in part: the same bytes, from the chunk it lacks on."""
    ledger = service.ledger
    match_id = str(req.match_id)
    manifest = _statement(ledger, match_id)
    seed = service.seeds.store.get_many([match_id]).get(match_id)
    if seed is None:
        raise LedgerError(f"the match result {match_id} of request {req.id} is incomplete and the ledger no "
                          "longer holds its salt seed (it expired): it cannot be finished")
    lines, opener = opened_chunk_lines(ledger, state.parts.get(req.id, []), service.sealed)
    rebuilt = matcher.match_bulk(request, lines, _complete(opener, req.id), seed=seed)
    if parse_statement(rebuilt.manifest.note).envelope["body"] != manifest.envelope["body"]:
        raise LedgerError(f"the match result {match_id} of request {req.id} cannot be rebuilt as it began (was the "
                          "master file replaced since?): it cannot be finished")
    # The manifest as logged, and its issued_at on every chunk: the chunks are then the same bytes.
    rebuilt = dataclasses.replace(rebuilt, manifest=Submission(manifest.raw, (), match_id),
                                  issued_at=manifest.issued_at)
    done = state.bulk[match_id].next_chunk
    _submit_from(service, rebuilt, done, batch_chunks)
    return _done(ledger, req.id, match_id, resumed=True, bulk=True)


def _submit_from(service: Any, bulk: BulkSubmission, first_chunk: int, batch_chunks: int) -> None:
    batch: list[Submission] = []
    for c in range(first_chunk, bulk.chunk_count):
        batch.append(bulk.chunk(c))
        if len(batch) == batch_chunks or c == bulk.chunk_count - 1:
            service.submit_batch([p.note for p in batch], [o for p in batch for o in p.openings])
            batch = []


def _done(ledger: Any, request_id: str, match_id: str, *, resumed: bool, bulk: bool) -> Matched:
    req = ledger.synced_rules().state.requests[request_id]
    return Matched(request_id, match_id, req.line_count, sum(1 for b in req.match if b & M_MATCHED), resumed, bulk)
