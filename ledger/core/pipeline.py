"""Streaming an export through every entry check, in a pool of processes (docs/VERIFYING.md, step 4).

``check_export(path, marks, workers=..., chunk=...)`` reads an export in chunks of lines
(ledger.core.export_lines), parses them and checks their Ed25519 signatures in a process
pool, and admits them to a LogVerifier here, in index order: the chain, time and trust
checks depend on every earlier entry. It stops at the first failing entry and returns an
ExportResult: how far the export holds, and the roots, checkpoint keys and signing policy
at the sizes asked for (``marks``), for checking a checkpoint against it
(ledger.core.export_verify). It raises only UnreadableInputError (the file cannot be
opened); every failure in the file is in ``ExportResult.failure``.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from ledger.core.errors import UnreadableInputError, VerificationError
from ledger.core.export_lines import parse_export_line, read_line_chunks
from ledger.core.keys import VerifierKey
from ledger.core.merkle import EMPTY_ROOT
from ledger.core.plain import Facts
from ledger.core.trust import TrustState
from ledger.core.verify import EntryRecord, LogVerifier, check_deferred, entry_record

DEFAULT_CHUNK = 1000
# Progress: called with the bytes just checked and the entries admitted so far.
ProgressFn = Callable[[int, int], None]


class CheckFailed(Exception):
    """Something in the export, checkpoint or proofs does not hold (exit 1).

    ``reason`` is technical; ``facts`` are what ledger.core.diagnosis found in the files, for
    ledger.core.plain to say it plainly.
    """

    def __init__(self, reason: str, index: int | None = None, facts: Facts | None = None) -> None:
        self.reason = reason
        self.index = index
        self.facts = facts
        super().__init__(reason)


def _reason(error: VerificationError) -> str:
    """A VerificationError's message without its 'entry N: ' prefix (the index is reported apart)."""
    text = str(error)
    prefix = f"entry {error.index}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


def _unexpected(error: Exception) -> str:
    return f"unexpected error while checking this entry ({type(error).__name__}: {error}); please report it"


# ---- work that any process can do ---------------------------------------------------
# A chunk of export lines, parsed: the compact record of each entry (ledger.core.verify's
# EntryRecord: plain tuples, cheap to pickle), up to the first failure and its reason.
ParsedChunk = tuple[list[EntryRecord], tuple[int, str] | None]
Deferred = list[tuple[int, bytes, list[tuple[VerifierKey, bytes]]]]


def parse_chunk(start: int, lines: list[bytes]) -> ParsedChunk:
    """The stateless checks of export lines start, start+1, ...: stop at the first failure."""
    records: list[EntryRecord] = []
    append = records.append
    position = start
    try:
        for line in lines:
            append(entry_record(parse_export_line(line, position), position))
            position += 1
    except VerificationError as e:
        return records, (position, _reason(e))
    except Exception as e:  # a verifier bug or input nobody foresaw: still name the entry
        return records, (position, _unexpected(e))
    return records, None


def check_signatures(items: Deferred) -> tuple[int, str] | None:
    """The Ed25519 checks of admitted entries: (index, reason) of the first failure, or None."""
    return check_deferred(items)


def _worker_init() -> None:
    # Verification allocates many short-lived objects and makes no reference cycles;
    # the default collector thresholds would spend a third of the time scanning them.
    gc.freeze()
    gc.set_threshold(200_000, 50, 1000)


class _Done:
    """A finished task, for the single-process path (the part of Future we use)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def done(self) -> bool:
        return True

    def result(self) -> Any:
        return self.value


class _InlinePool:
    """Runs tasks at once in this process (the part of ProcessPoolExecutor we use)."""

    def submit(self, func: Callable[..., Any], *args: Any) -> _Done:
        return _Done(func(*args))

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        pass


# ---- the export ---------------------------------------------------------------------
@dataclass
class ExportResult:
    """What streaming the export established."""

    size: int
    signatures: int
    roots: dict[int, bytes]  # root at each size of interest
    checkpoint_keys: dict[int, list[VerifierKey]]  # the log's checkpoint keys at those sizes
    policies: dict[int, dict[str, tuple[str, ...]]]  # the log's signing policy at those sizes
    origin: str | None
    failure: tuple[int, str] | None
    trust: TrustState  # as it stood after the last entry admitted (ledger.core.diagnosis finds keys there)


def check_export(
    path: str,
    marks: set[int],
    *,
    workers: int = 1,
    chunk: int = DEFAULT_CHUNK,
    progress: ProgressFn | None = None,
    digest: Any = None,
) -> ExportResult:
    """Stream the export through every entry check; stop at the first failing entry.

    Parsing (stateless) and Ed25519 checks run in a process pool of ``workers`` processes
    (none when 1, or when the file is small); the chain, time and trust checks, which depend
    on every earlier entry, run here, in index order. ``marks`` are the sizes whose root,
    checkpoint keys and policy are recorded. With ``digest`` (a hashlib object) the whole
    file is hashed: the bytes checked as they are read, then any after a failure.
    """
    verifier = LogVerifier(defer_signatures=True)
    roots: dict[int, bytes] = {}
    keys_at: dict[int, list[VerifierKey]] = {}
    policies: dict[int, dict[str, tuple[str, ...]]] = {}
    if 0 in marks:
        roots[0], keys_at[0], policies[0] = EMPTY_ROOT, [], {}
    signatures = 0
    failures: list[tuple[int, str]] = []
    pool: Any = _InlinePool()
    depth = 1
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed in finally, after the pool
    except OSError as e:
        raise UnreadableInputError(f"cannot read export {path!r}: {e.strerror or e}") from None
    if workers > 1 and os.fstat(f.fileno()).st_size > 2 * chunk * 700:
        # With fork, ProcessPoolExecutor starts every worker before any thread of its own.
        pool = ProcessPoolExecutor(workers, multiprocessing.get_context(), initializer=_worker_init)
        depth = 2 * workers
    parsing: deque[tuple[Any, int]] = deque()
    checking: deque[Any] = deque()

    def collect(result: Any) -> None:
        found = result.result()
        if found is not None:
            failures.append(found)

    def admit(task: Any, nbytes: int) -> bool:
        nonlocal signatures
        parsed, parse_failure = task.result()
        add = verifier.add_record
        try:
            for record in parsed:
                add(record)
                if verifier.size in marks:
                    roots[verifier.size] = verifier.root()
                    keys_at[verifier.size] = list(verifier.trust.checkpoint_keys)
                    policies[verifier.size] = dict(verifier.trust.policy)
        except VerificationError as e:
            failures.append((e.index if e.index is not None else verifier.size, _reason(e)))
        except Exception as e:  # a verifier bug or input nobody foresaw: still name the entry
            failures.append((verifier.size, _unexpected(e)))
        if not failures and parse_failure is not None:
            failures.append(parse_failure)
        items = verifier.deferred.items
        verifier.deferred.items = []
        if items:
            signatures += sum(len(checks) for _, _, checks in items)
            checking.append(pool.submit(check_signatures, items))
        while checking and (checking[0].done() or len(checking) > depth):
            collect(checking.popleft())
        if progress is not None:
            progress(nbytes, verifier.size)
        return not failures

    gc_state = gc.get_threshold()
    gc.set_threshold(200_000, 50, 1000)
    try:
        going = True
        position = 0
        for lines, nbytes in read_line_chunks(f, chunk, digest):
            parsing.append((pool.submit(parse_chunk, position, lines), nbytes))
            position += len(lines)
            if len(parsing) >= depth:
                going = admit(*parsing.popleft())
                if not going:
                    break
        while going and parsing:
            going = admit(*parsing.popleft())
        while checking:  # every entry admitted so far is signature-checked before we report
            collect(checking.popleft())
        if digest is not None:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    finally:
        gc.set_threshold(*gc_state)
        pool.shutdown(wait=True, cancel_futures=True)  # chunks after a failure are not looked at
        f.close()
    return ExportResult(
        size=verifier.size,
        signatures=signatures,
        roots=roots,
        checkpoint_keys=keys_at,
        policies=policies,
        origin=verifier.trust.origin,
        failure=min(failures) if failures else None,
        trust=verifier.trust,
    )
