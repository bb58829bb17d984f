"""Bulk statements on the principal's side: a manifest and its chunks (FORMAT § 17.7).

``bulk_statement`` turns a statement's head and its items into a signed manifest plus signed
chunks, each with the openings of the commitments it carries; ``submit_bulk`` sends them to the
disclosure service in batches (one transaction per batch). ``read_bulk`` reads a bulk
statement's items back from the log, chunk by chunk, without holding them all.
"""

from __future__ import annotations

import hashlib
import itertools
import multiprocessing
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledger.authoring.disclosure import Line, Recipient, Submission, request_head
from ledger.authoring.trust import signed
from ledger.core.commitments import Opening
from ledger.core.entry import parse_entry
from ledger.core.errors import LedgerError
from ledger.core.keys import SignerKey
from ledger.core.lines import CHUNK_LINES, chunk_count, chunk_root, item_leaf, root_of_chunks
from ledger.core.statement import Statement, parse_statement
from ledger.core.times import utc_now
from ledger.heap import settle_worker_heap
from ledger.rules.catalog import LAW_VERSION
from ledger.salts import SaltSeed
from ledger.store.ledger import Appended

BATCH_CHUNKS = 64  # chunks per transaction when submitting (about 3 MB of statements)


ChunkSource = Callable[[int], tuple[list[Any], list[Opening]]]


@dataclass(frozen=True)
class BulkSubmission:
    """A signed manifest; its chunks are signed on demand, in order, from a reproducible source.

    ``source(c)`` returns chunk c's items and the openings of their commitments. It is called
    twice per chunk (once to compute the manifest's root, once to sign), so a source can build
    its items lazily (salts derived from the statement's seed keep commitments reproducible) and
    nothing the size of the whole statement is held in memory.
    """

    manifest: Submission
    signers: tuple[SignerKey, ...]
    kind: str
    line_count: int
    source: ChunkSource
    issued_at: datetime

    @property
    def statement_id(self) -> str:
        return self.manifest.statement_id

    @property
    def chunk_count(self) -> int:
        return chunk_count(self.line_count)

    def chunk(self, c: int) -> Submission:
        """Chunk c, signed: the same bytes every time (id, time and items are fixed, Ed25519 is
        deterministic), so resubmitting a batch after a failure returns the original indices."""
        items, openings = self.source(c)
        cid = f"{self.statement_id}.c{c}"
        note = signed(list(self.signers), "chunk", {"of": self.statement_id, "kind": self.kind, "chunk": c,
                                                    "first_line": c * CHUNK_LINES, "lines": items}, cid,
                      issued_at=self.issued_at)
        return Submission(note, tuple(openings), cid)

    def parts(self) -> Iterator[Submission]:
        yield self.manifest
        for c in range(self.chunk_count):
            yield self.chunk(c)


def list_source(items: Sequence[Any], openings: Callable[[int], Sequence[Opening]] | None = None) -> ChunkSource:
    """A chunk source over items held in memory; ``openings(k)`` gives item k's openings."""
    def source(c: int) -> tuple[list[Any], list[Opening]]:
        first = c * CHUNK_LINES
        part = list(items[first:first + CHUNK_LINES])
        found: list[Opening] = []
        if openings is not None:
            for k in range(first, first + len(part)):
                found.extend(openings(k))
        return part, found
    return source


def bulk_statement(signers: Sequence[SignerKey], type_: str, head: dict[str, Any], line_count: int,
                   source: ChunkSource, head_openings: Sequence[Opening] = (),
                   statement_id: str | None = None, workers: int = 1,
                   roots: Sequence[bytes] | None = None) -> BulkSubmission:
    """Sign ``head`` + ``{"bulk": …}`` as the manifest of ``line_count`` items from ``source``.

    ``workers`` > 1 computes the chunks' subtree roots in that many processes (this one and
    forked children, each over a range of chunks; the source must then be callable in a fork):
    nothing can be sent before the manifest is signed, so this pass is a bulk statement's
    critical path, and the cores are otherwise idle while it runs. ``roots``: the chunks' subtree
    roots already computed from the same items (a principal that encoded them anyway), which skips
    that pass; the ledger checks the manifest's root against the items when the last chunk lands.
    """
    if line_count < 1:
        raise LedgerError("a bulk statement has at least one item")
    if roots is None:
        roots = chunk_roots(source, line_count, workers)
    elif len(roots) != chunk_count(line_count):
        raise LedgerError(f"{len(roots)} chunk roots given for {chunk_count(line_count)} chunks")
    sid = statement_id or str(uuid.uuid4())
    body = dict(head)
    body["bulk"] = {"line_count": line_count, "chunk_count": chunk_count(line_count),
                    "lines_root": root_of_chunks(roots).hex()}
    issued_at = utc_now()
    manifest = Submission(signed(list(signers), type_, body, sid, issued_at=issued_at), tuple(head_openings), sid)
    return BulkSubmission(manifest, tuple(signers), type_, line_count, source, issued_at)


def chunk_roots(source: ChunkSource, line_count: int, workers: int = 1) -> list[bytes]:
    """Every chunk's subtree root over its items' line commitments, in chunk order.

    With ``workers`` > 1 the chunks are split into that many contiguous ranges; forked children
    take all but the first and send their roots back through a pipe. A failure in a child (a
    source of the wrong length, say) is raised here as LedgerError naming the child's error.
    """
    n = chunk_count(line_count)
    workers = max(1, min(workers, n // 2))
    if workers == 1:
        return _ranged_roots(source, line_count, 0, n)
    bounds = [n * i // workers for i in range(workers + 1)]
    ctx = multiprocessing.get_context("fork")
    children = []
    for first, stop in itertools.pairwise(bounds[1:]):
        receiver, sender = ctx.Pipe(duplex=False)
        child = ctx.Process(target=_roots_child, args=(sender, source, line_count, first, stop), daemon=True,
                            name="chunk-roots")
        child.start()
        sender.close()
        children.append((receiver, child))
    try:
        out = _ranged_roots(source, line_count, bounds[0], bounds[1])
        for receiver, child in children:
            try:
                got = receiver.recv()
            except EOFError:
                raise LedgerError(f"a chunk-roots process ended without an answer (exit code {child.exitcode})") \
                    from None
            if isinstance(got, str):
                raise LedgerError(f"a chunk-roots process failed: {got}")
            out.extend(got[i:i + 32] for i in range(0, len(got), 32))
    finally:
        for receiver, child in children:
            receiver.close()
            if child.is_alive():
                child.terminate()
            child.join()
    if len(out) != n:  # (each range answered with its own roots; a short answer would land here)
        raise LedgerError(f"chunk roots: {len(out)} for {n} chunks")
    return out


def _ranged_roots(source: ChunkSource, line_count: int, first: int, stop: int) -> list[bytes]:
    roots = []
    for c in range(first, stop):
        items, _ = source(c)
        expected = min(CHUNK_LINES, line_count - c * CHUNK_LINES)
        if len(items) != expected:
            raise LedgerError(f"chunk {c} of the source holds {len(items)} items, expected {expected}")
        roots.append(chunk_root([item_leaf(it) for it in items]))
    return roots


def _roots_child(sender: Any, source: ChunkSource, line_count: int, first: int, stop: int) -> None:
    """A forked child's share of ``chunk_roots``: its range's roots as one byte string, or the error."""
    settle_worker_heap()
    try:
        sender.send(b"".join(_ranged_roots(source, line_count, first, stop)))
    except Exception as e:  # sent to the parent, which raises it as LedgerError
        sender.send(f"{type(e).__name__}: {e}")
    finally:
        sender.close()


def submit_bulk(submit_batch: Callable[[list[str], list[Opening]], list[Appended]], bulk: BulkSubmission,
                batch_chunks: int = BATCH_CHUNKS, progress: Callable[[int], None] | None = None) -> list[Appended]:
    """Submit a manifest and its chunks, ``batch_chunks`` statements per transaction, in order.

    Each batch lands whole or not at all; a refusal raises (earlier batches stay).
    """
    out: list[Appended] = []
    batch: list[Submission] = []
    for part in bulk.parts():
        batch.append(part)
        if len(batch) == batch_chunks:
            out.extend(submit_batch([p.note for p in batch], [o for p in batch for o in p.openings]))
            if progress is not None:
                progress(len(batch))
            batch = []
    if batch:
        out.extend(submit_batch([p.note for p in batch], [o for p in batch for o in p.openings]))
        if progress is not None:
            progress(len(batch))
    return out


def read_chunks(ledger: Any, indices: Sequence[int]) -> Iterator[tuple[int, Statement]]:
    """(index, statement) of the chunks at ``indices`` (from ``DomainState.parts``), in order."""
    for start in range(0, len(indices), 256):
        for idx, data in ledger.entries_at(indices[start:start + 256]):
            yield idx, parse_statement(parse_entry(data).statement)


def opened_chunk_lines(ledger: Any, indices: Sequence[int], sealed: Any,
                       ) -> tuple[Iterator[Any], Callable[[list[str]], dict[str, Opening]]]:
    """The items of the chunks at ``indices``, in order, and an opener for a block of their
    commitments (what ``MatcherPrincipal.match_bulk`` takes): a bulk chunk's openings are stored
    as one group in ``sealed`` (a SealedStore), opened once when its first line is opened and
    dropped when the block after it is; openings stored one by one are looked up as such."""
    pending: list[str] = []  # chunks whose lines were read and may still be opened
    cache: dict[str, dict[str, Opening]] = {}

    def lines() -> Iterator[Any]:
        for _, chunk in read_chunks(ledger, indices):
            pending.append(chunk.id)
            yield from chunk.envelope["body"]["lines"]

    def opener(wanted: list[str]) -> dict[str, Opening]:
        missing = [g for g in pending if g not in cache]
        cache.update(sealed.group_openings(missing) if missing else {})
        for g in [g for g in cache if g not in pending]:
            del cache[g]
        found: dict[str, Opening] = {}
        for c in wanted:
            for g in pending:
                opening = cache.get(g, {}).get(c)
                if opening is not None:
                    found[c] = opening
                    break
        rest = [c for c in wanted if c not in found]
        if rest:
            found.update(sealed.get_many(rest))
        del pending[:-1]  # the last chunk's lines may not all be opened yet
        return found

    return lines(), opener


def statement_items(ledger: Any, stmt: Statement, parts: dict[str, list[int]]) -> Iterator[Any]:
    """The items of a lifecycle statement, inline or bulk (read from its chunks)."""
    body = stmt.envelope["body"]
    if "lines" in body:
        yield from body["lines"]
        return
    for _idx, chunk in read_chunks(ledger, parts.get(stmt.id, [])):
        yield from chunk.envelope["body"]["lines"]


# ---- builders of the four bulk kinds -------------------------------------------------------------
def bulk_request(signer: SignerKey, *, exception: str, agency: str, statute: str | None, purpose: str,
                 purpose_text: str, fields: Sequence[str], recipients: Sequence[Recipient],
                 lines: Sequence[Line], case_ids: Sequence[str] = (), court_order: str | None = None,
                 resubmits: str | None = None, statement_id: str | None = None, workers: int = 1,
                 seed: SaltSeed | None = None) -> BulkSubmission:
    """A written request naming ``len(lines)`` taxpayers, in bulk form (any size up to 10 million).

    ``seed``: the salt seed the ledger issued for the request (FORMAT § 13.1): one for the manifest,
    from which every line's salts derive, so a chunk's openings are recomputed rather than held
    (without one, a seed drawn here: only a ledger without the disclosure service accepts that).
    ``workers``: processes computing the manifest's root (``bulk_statement``)."""
    if seed is None:
        seed = SaltSeed.local(statement_id or str(uuid.uuid4()), "request", signer.name)
    elif statement_id not in (None, seed.statement_id) or seed.statement_type != "request":
        raise LedgerError(f"the seed was issued for {seed.statement_type} {seed.statement_id}")
    statement_id = seed.statement_id
    head_openings: list[Opening] = []
    positions: dict[str, int] = {}

    def c(field: str, value: Any) -> str:
        position = positions.get(field, 0)
        positions[field] = position + 1
        opening = seed.commit(field, value, None, position)
        head_openings.append(opening)
        return opening.commitment

    head = request_head(c, exception=exception, agency=agency, statute=statute, purpose=purpose,
                        purpose_text=purpose_text, fields=fields, recipients=recipients, case_ids=case_ids,
                        court_order=court_order, resubmits=resubmits)

    def source(chunk: int) -> tuple[list[Any], list[Opening]]:
        items: list[Any] = []
        openings: list[Opening] = []
        first = chunk * CHUNK_LINES
        for k in range(first, min(first + CHUNK_LINES, len(lines))):
            ln = lines[k]
            item: dict[str, Any] = {"periods": list(ln.periods)}
            for f in ("tin", "name", "address", "reason"):
                value = getattr(ln, f)
                if value is None:
                    item[f] = None
                else:
                    opening = seed.commit(f, value, k)
                    openings.append(opening)
                    item[f] = opening.commitment
            items.append(item)
        return items, openings

    return bulk_statement([signer], "request", head, len(lines), source, head_openings, statement_id, workers)


def bulk_review(signer: SignerKey, request_id: str, decisions: Sequence[tuple[int, str, str]],
                red_flags: Sequence[str], workers: int = 1) -> BulkSubmission:
    """Decisions (line, "approve"|"refuse", reason code) for every line, in line order."""
    items = [{"line": k, "decision": d, "reason": r} for k, d, r in decisions]
    head = {"request": request_id, "law_version": LAW_VERSION, "red_flags": sorted(red_flags)}
    return bulk_statement([signer], "review", head, len(items), list_source(items), workers=workers)


def bulk_release(signer: SignerKey, request_id: str, review_id: str, lines: Sequence[int], fields: Sequence[str],
                 recipients: Sequence[int], delivered_file: bytes,
                 channel: str = "secure-file-transfer") -> BulkSubmission:
    """Exactly the approved lines (strictly increasing) and fields, to recipients named in the request."""
    head = {"request": request_id, "review": review_id, "fields": list(fields), "recipients": list(recipients),
            "file_sha256": hashlib.sha256(delivered_file).hexdigest(), "channel": channel}
    return bulk_statement([signer], "release", head, len(lines), list_source(sorted(lines)))
