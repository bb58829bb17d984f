"""A principal's side of a bulk statement in its own process, beside the service's.

The requester, the matcher and the ledger service are different parties on different machines.
When one machine plays several of them (the benchmark, a rehearsal), ``submit_bulk_forked``
gives the principal's work — building items, committing to them, computing the manifest's root,
signing chunks — its own process, while this process appends what it sends, batch by batch,
through a bounded queue: the two run on two cores at once instead of taking turns.

The child is forked, so it inherits what ``build`` needs (the lines, the principal's key, a
master file) without copying them through a pipe; it must open its own database connections
(never use the parent's). Openings cross the queue as field, value and salt: unpickling builds
each again and recomputes its commitment (``Opening.__reduce__``), so the service trusts
nothing the other process computed that it would not check in a request from the network.

Not installed with the ledger: the bulk benchmark (bench/bench_bulk.py, through demo/bulk_story.py)
and its tests use it, from the repository root (``bench.forked``).
"""

from __future__ import annotations

import multiprocessing
import queue as queue_module
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.core.commitments import Opening
from ledger.core.errors import LedgerError
from ledger.domain.bulk import BATCH_CHUNKS, BulkSubmission
from ledger.domain.refusals import AppendRefused
from ledger.heap import settle_worker_heap
from ledger.store.ledger import Appended

QUEUE_DEPTH = 4  # batches in flight: enough to keep both sides busy, bounded memory (~3 MB a batch)


# (prepare, finish): the two halves of the service's submission (DisclosureService.prepare, .finish)
Stages = tuple[Callable[[list[str], list[Opening]], Any], Callable[[Any], list[Appended]]]


class PrincipalProcessError(LedgerError):
    """The principal's process failed, stopped or fell silent; nothing more was appended for it."""


@dataclass(frozen=True)
class ForkedSubmission:
    """What the principal's process built and the service appended."""

    statement_id: str
    manifest_note: str
    appended: list[Appended]
    waited_seconds: float = 0.0  # this process idle, waiting for the principal's next message


def submit_bulk_forked(submit_batch: Callable[[list[str], list[Opening]], list[Appended]],
                       build: Callable[[], BulkSubmission], batch_chunks: int = BATCH_CHUNKS,
                       progress: Callable[[int], None] | None = None, timeout: float = 900.0,
                       stages: Stages | None = None) -> ForkedSubmission:
    """Run ``build`` in a forked child and append its manifest and chunks here, in order.

    Batches land as with :func:`ledger.domain.bulk.submit_bulk` (each whole or not at all; a
    refusal raises here, and the child is stopped). ``timeout`` bounds the wait for each batch.

    ``stages``: the service's submission in two halves, ``(prepare, finish)`` (``DisclosureService.
    prepare`` and ``finish``). ``prepare`` (parse, schema and opening checks, encryption; no
    database) then runs in a second forked process of the service, a batch ahead of ``finish``
    (store and append), which stays here: the service checks batch n+1 while it appends batch n.
    """
    ctx = multiprocessing.get_context("fork")
    channel: Any = ctx.Queue(maxsize=QUEUE_DEPTH)
    child = ctx.Process(target=_principal, args=(build, channel, batch_chunks), name="principal")
    child.start()
    children = [child]
    source = channel
    if stages is not None:
        source = ctx.Queue(maxsize=QUEUE_DEPTH)
        checker = ctx.Process(target=_checker, args=(stages[0], channel, source, timeout), name="checker")
        checker.start()
        children.append(checker)
    appended: list[Appended] = []
    statement_id = manifest_note = ""
    finished = False
    waited = 0.0
    try:
        while True:
            start = time.perf_counter()
            try:
                message = source.get(timeout=timeout)
            except queue_module.Empty:
                raise PrincipalProcessError(
                    f"the principal's process sent nothing for {timeout:.0f} s "
                    f"({'still running' if child.is_alive() else f'exit code {child.exitcode}'})") from None
            waited += time.perf_counter() - start
            kind = message[0]
            if kind == "manifest":
                statement_id, manifest_note = message[1], message[2]
            elif kind == "batch":
                appended.extend(submit_batch(message[1], message[2]))
                if progress is not None:
                    progress(len(message[1]))
            elif kind == "prepared":
                assert stages is not None
                appended.extend(stages[1](message[1]))
                if progress is not None:
                    progress(len(message[1].notes))
            elif kind == "done":
                finished = True
                break
            elif kind == "refused":
                raise AppendRefused(*message[1:])
            else:
                raise PrincipalProcessError(f"the principal's process failed: {message[1]}")
    finally:
        for process in children:
            if not finished and process.is_alive():
                process.terminate()
            process.join(timeout=30)
        channel.close()
        if source is not channel:
            source.close()
    return ForkedSubmission(statement_id, manifest_note, appended, waited)


def _checker(prepare: Callable[[list[str], list[Opening]], Any], inbox: Any, outbox: Any, timeout: float) -> None:
    """The service's second process: prepare each batch the principal sends, pass on the rest."""
    settle_worker_heap()
    try:
        while True:
            message = inbox.get(timeout=timeout)
            if message[0] == "batch":
                try:
                    message = ("prepared", prepare(message[1], message[2]))
                except AppendRefused as e:  # sent by its parts: the main process raises it again
                    outbox.put(("refused", str(e), e.rule, e.statement_id))
                    return
            outbox.put(message)
            if message[0] in ("done", "error"):
                return
    except Exception as e:  # reported to the main process by type and message
        outbox.put(("error", f"checker: {type(e).__name__}: {e}"))


def _principal(build: Callable[[], BulkSubmission], channel: Any, batch_chunks: int) -> None:
    """The child: build, then send the manifest's id and note and the parts, a batch at a time."""
    settle_worker_heap()
    try:
        bulk = build()
        channel.put(("manifest", bulk.statement_id, bulk.manifest.note))
        batch: list[Any] = []
        for part in bulk.parts():
            batch.append(part)
            if len(batch) == batch_chunks:
                channel.put(("batch", *_unzip(batch)))
                batch = []
        if batch:
            channel.put(("batch", *_unzip(batch)))
        channel.put(("done",))
    except Exception as e:  # reported to the parent by type and message
        channel.put(("error", f"{type(e).__name__}: {e}"))


def _unzip(parts: Sequence[Any]) -> tuple[list[str], list[Opening]]:
    return [p.note for p in parts], [o for p in parts for o in p.openings]
