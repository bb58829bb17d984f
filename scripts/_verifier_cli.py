"""The court's verifier: check a Disclosure Ledger export offline (docs/VERIFYING.md).

    python verify_ledger.py --vkey KEY --checkpoint FILE --export FILE
        [--previous-checkpoint FILE [--consistency-proof FILE]]
        [--inclusion-proof FILE --entry FILE] [--json] [--workers N]
    python verify_ledger.py --bundle DIR [--vkey KEY] [--openings] [--json]

Needs Python 3.11+ and the package pynacl (``pip install pynacl rfc8785``); nothing
else, no network, no database, no secret. ``--vkey`` is the ledger's published trust
root (a C2SP verifier key string, or a file holding it). Exit status: 0 when every
check holds, 1 when anything in the export, checkpoint or proofs fails (the report
names the first failing entry and the reason), 2 for usage errors and unreadable files.

This is the command-line part of scripts/verify_ledger.py; scripts/build_verifier.py
bundles it with the integrity core (ledger/*.py) into that one standalone file.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import re
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import IO, Any

from ledger.b64 import b64decode
from ledger.bundle_check import verify_bundle
from ledger.bundle_format import BundleError, BundleFiles
from ledger.canonical import MAX_SAFE_INTEGER, parse_canonical
from ledger.checkpoint import SignedCheckpoint, open_checkpoint, open_with_any
from ledger.entry import parse_entry
from ledger.errors import LedgerError, VerificationError
from ledger.keys import VerifierKey, parse_vkey
from ledger.merkle import EMPTY_ROOT, leaf_hash
from ledger.proofs import verify_consistency, verify_inclusion
from ledger.verify import EntryRecord, LogVerifier, check_deferred, entry_record

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
# An entry is at most 65,535 bytes, so its export line (base64 plus framing) is under 87,500.
MAX_LINE_BYTES = 100_000
DEFAULT_CHUNK = 1000
# An export line is JCS of {"entry_b64": ..., "index": ...} + LF. A line that is exactly
# _LINE_HEAD + canonical base64 + _LINE_MID + decimal + "}\n" is canonical (base64 needs no
# JSON escaping); any other line takes the slow path through parse_canonical, which
# refuses it or accepts it with the same result.
_LINE_HEAD = b'{"entry_b64":"'
_LINE_MID = b'","index":'
_LINE_TAIL_RE = re.compile(rb"(0|[1-9][0-9]{0,15})\}\n\Z")
_HASH_HEX_RE = re.compile(r"[0-9a-f]{64}\Z")


class CheckFailed(Exception):
    """Something in the export, checkpoint or proofs does not hold (exit 1)."""

    def __init__(self, reason: str, index: int | None = None) -> None:
        self.reason = reason
        self.index = index
        super().__init__(reason)


class UsageError(Exception):
    """Bad arguments or an unreadable file (exit 2)."""


def _reason(error: VerificationError) -> str:
    """A VerificationError's message without its 'entry N: ' prefix (the index is reported apart)."""
    text = str(error)
    prefix = f"entry {error.index}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


def _unexpected(error: Exception) -> str:
    return f"unexpected error while checking this entry ({type(error).__name__}: {error}); please report it"


# ---- export lines (contract point 12) -----------------------------------------------
def parse_export_line(line: bytes, position: int) -> bytes:
    """Return the entry bytes of export line ``position``; raise VerificationError naming it."""
    mid = line.rfind(_LINE_MID)
    tail = _LINE_TAIL_RE.match(line, mid + len(_LINE_MID)) if mid > 0 and line.startswith(_LINE_HEAD) else None
    if tail is not None and int(tail[1]) == position:
        try:
            return b64decode(line[len(_LINE_HEAD) : mid].decode("ascii"))
        except (LedgerError, UnicodeDecodeError):
            pass  # the slow path says what is wrong
    b64_text, index = _parse_odd_line(line, position)
    if index != position:
        raise VerificationError("export line index out of sequence", position, position, index)
    try:
        return b64decode(b64_text)
    except LedgerError as e:
        raise VerificationError(f"export line: entry_b64 is not strict base64: {e}", position) from None


def _parse_odd_line(line: bytes, position: int) -> tuple[str, int]:
    """The slow path: a precise reason for a line the fast pattern does not match."""
    if not line.endswith(b"\n"):
        if len(line) >= MAX_LINE_BYTES:
            raise VerificationError(f"export line is longer than {MAX_LINE_BYTES} bytes", position)
        raise VerificationError("export line does not end with LF (the file ends inside a line)", position)
    if line == b"\n":
        raise VerificationError("blank line in the export", position)
    try:
        value = parse_canonical(line[:-1])
    except LedgerError as e:
        raise VerificationError(f"export line is not canonical JSON: {e}", position) from None
    if not isinstance(value, dict) or set(value) != {"entry_b64", "index"}:
        found = sorted(value) if isinstance(value, dict) else type(value).__name__
        raise VerificationError(
            "export line must be an object of exactly entry_b64 and index", position, None, found
        )
    b64_text, index = value["entry_b64"], value["index"]
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise VerificationError("export line index must be a non-negative integer", position, None, index)
    if not isinstance(b64_text, str):
        raise VerificationError("export line entry_b64 must be a string", position)
    return b64_text, index


# ---- work that any process can do ---------------------------------------------------
# A chunk of export lines, parsed: the compact record of each entry (ledger.verify's
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


# ---- the report ---------------------------------------------------------------------
@dataclass
class Report:
    """Everything the verifier found, printed as text or JSON."""

    exit: int = EXIT_OK
    index: int | None = None
    reason: str | None = None
    trust_root: str | None = None
    origin: str | None = None
    checkpoint_size: int | None = None
    checkpoint_root: str | None = None
    size: int | None = None
    signatures: int = 0
    uncommitted: int | None = None
    root: str | None = None
    checks: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return self.exit == EXIT_OK

    def passed(self, name: str, detail: str) -> None:
        self.checks.append((name, detail))

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "exit": self.exit,
            "index": self.index,
            "reason": self.reason,
            "trust_root": self.trust_root,
            "origin": self.origin,
            "checkpoint_size": self.checkpoint_size,
            "checkpoint_root": self.checkpoint_root,
            "size": self.size,
            "signatures": self.signatures,
            "uncommitted": self.uncommitted,
            "root": self.root,
            "checks": [{"check": n, "detail": d} for n, d in self.checks],
            "notes": list(self.notes),
            "elapsed_seconds": round(self.elapsed, 3),
        }

    def as_text(self) -> str:
        out = ["Disclosure Ledger verification"]
        out += [f"  ok    {name:<12} {detail}" for name, detail in self.checks]
        out += [f"  note: {note}" for note in self.notes]
        if self.ok:
            if self.uncommitted:
                out.append(
                    f"  note: the last {self.uncommitted} entries of the export are verified but not yet "
                    "committed to by the checkpoint; a later checkpoint must cover them"
                )
            out.append("RESULT: OK (exit 0)")
        elif self.exit == EXIT_USAGE:
            out.append(f"RESULT: NOT VERIFIED, usage error: {self.reason} (exit 2)")
        else:
            where = f"at entry {self.index}" if self.index is not None else "(not about one entry)"
            out.append(f"  FAIL  {where}: {self.reason}")
            out.append(f"RESULT: FAILED {where}: {self.reason} (exit 1)")
        return "\n".join(out) + "\n"


# ---- progress on stderr -------------------------------------------------------------
class _Progress:
    """tqdm when it is installed, else a plain counter; both on stderr."""

    def __init__(self, total_bytes: int, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.done = 0
        self.total = total_bytes
        self.last = 0.0
        if not enabled:
            return
        try:
            import tqdm

            tqdm.tqdm.monitor_interval = 0  # no monitor thread
            self.bar = tqdm.tqdm(total=total_bytes, unit="B", unit_scale=True, desc="verify", file=sys.stderr)
        except ImportError:
            self.bar = None

    def update(self, nbytes: int, entries: int) -> None:
        if not self.enabled:
            return
        self.done += nbytes
        if self.bar is not None:
            self.bar.update(nbytes)
            self.bar.set_postfix(entries=entries, refresh=False)
            return
        now = time.monotonic()
        if now - self.last >= 0.5:
            self.last = now
            share = 100.0 * self.done / self.total if self.total else 100.0
            sys.stderr.write(f"\rverify: {entries} entries ({share:.0f}%)")
            sys.stderr.flush()

    def close(self) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.close()
        else:
            sys.stderr.write("\n")
            sys.stderr.flush()


# ---- reading inputs -----------------------------------------------------------------
def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise UsageError(f"cannot read {what} {path!r}: {e.strerror or e}") from None


def _trust_root(value: str) -> VerifierKey:
    text = value
    if os.path.isfile(value):
        try:
            text = _read(value, "trust root file").decode("utf-8").strip()
        except UnicodeDecodeError:
            raise UsageError(f"trust root file {value!r} is not UTF-8 text") from None
    try:
        return parse_vkey(text)
    except LedgerError as e:
        raise UsageError(f"--vkey is neither a verifier key nor a file holding one: {e}") from None


def _open_checkpoint(data: bytes, keys: list[VerifierKey], what: str) -> SignedCheckpoint:
    try:
        return open_checkpoint(data, keys[0]) if len(keys) == 1 else open_with_any(data, keys)
    except LedgerError as e:
        raise CheckFailed(f"{what}: {e}") from None


def _hex32(value: Any, where: str) -> bytes:
    if not isinstance(value, str) or not _HASH_HEX_RE.match(value):
        raise CheckFailed(f"{where}: expected 64 lowercase hex digits, found {str(value)[:80]!r}")
    return bytes.fromhex(value)


def _size(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_SAFE_INTEGER:
        raise CheckFailed(f"{where}: expected a non-negative integer, found {value!r}")
    return value


def _proof_file(path: str, what: str, keys: tuple[str, ...]) -> dict[str, Any]:
    data = _read(path, what)
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise CheckFailed(f"{what} is not JSON: {e}") from None
    if not isinstance(value, dict) or not set(keys) <= set(value):
        raise CheckFailed(f"{what} must be an object with {', '.join(keys)}")
    path_value = value["path"]
    if not isinstance(path_value, list):
        raise CheckFailed(f"{what}: path must be a list of hashes")
    value["path"] = [_hex32(h, f"{what} path[{i}]") for i, h in enumerate(path_value)]
    return value


def _entry_file(path: str) -> bytes:
    """Raw entry bytes (``disclosure-ledger entry`` output, one trailing LF allowed) or an export line."""
    data = _read(path, "entry file")
    if data.startswith(b'{"entry_b64":'):
        try:
            value = parse_canonical(data.removesuffix(b"\n"))
            if not isinstance(value, dict) or not isinstance(value.get("entry_b64"), str):
                raise CheckFailed("entry file: an export line needs a string entry_b64")
            return b64decode(value["entry_b64"])
        except LedgerError as e:
            raise CheckFailed(f"entry file: not an export line: {e}") from None
    return data.removesuffix(b"\n")


# ---- the export ---------------------------------------------------------------------
@dataclass
class ExportResult:
    """What streaming the export established."""

    size: int
    signatures: int
    roots: dict[int, bytes]  # root at each size of interest
    checkpoint_keys: dict[int, list[VerifierKey]]  # the log's checkpoint keys at those sizes
    origin: str | None
    failure: tuple[int, str] | None


def _lines(f: IO[bytes], chunk: int) -> Iterator[tuple[list[bytes], int]]:
    """Chunks of export lines and their byte count; a line is cut at MAX_LINE_BYTES."""
    while True:
        lines = []
        nbytes = 0
        for _ in range(chunk):
            line = f.readline(MAX_LINE_BYTES)
            if not line:
                break
            lines.append(line)
            nbytes += len(line)
        if not lines:
            return
        yield lines, nbytes


def verify_export(
    path: str, marks: set[int], workers: int, chunk: int, progress: _Progress
) -> ExportResult:
    """Stream the export through every entry check; stop at the first failing entry.

    Parsing (stateless) and Ed25519 checks run in a process pool; the chain, time and
    trust checks, which depend on every earlier entry, run here, in index order.
    """
    verifier = LogVerifier(defer_signatures=True)
    roots: dict[int, bytes] = {}
    keys_at: dict[int, list[VerifierKey]] = {}
    if 0 in marks:
        roots[0], keys_at[0] = EMPTY_ROOT, []
    signatures = 0
    failures: list[tuple[int, str]] = []
    pool: Any = _InlinePool()
    depth = 1
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed in finally, after the pool
    except OSError as e:
        raise UsageError(f"cannot read export {path!r}: {e.strerror or e}") from None
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
        progress.update(nbytes, verifier.size)
        return not failures

    gc_state = gc.get_threshold()
    gc.set_threshold(200_000, 50, 1000)
    try:
        going = True
        position = 0
        for lines, nbytes in _lines(f, chunk):
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
    finally:
        gc.set_threshold(*gc_state)
        pool.shutdown(wait=True, cancel_futures=True)  # chunks after a failure are not looked at
        f.close()
    return ExportResult(
        size=verifier.size,
        signatures=signatures,
        roots=roots,
        checkpoint_keys=keys_at,
        origin=verifier.trust.origin,
        failure=min(failures) if failures else None,
    )


# ---- the whole verification ---------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    p = _ArgumentParser(
        prog="verify_ledger.py",
        description="Verify a Disclosure Ledger export, checkpoint and proofs offline (exit 0 = all hold).",
        epilog="Exit status: 0 every check holds; 1 a check fails; 2 usage error or unreadable file.",
    )
    p.add_argument("--vkey", help="trust root: the checkpoint verifier key, or a file holding it")
    p.add_argument("--checkpoint", metavar="FILE", help="signed checkpoint (C2SP tlog-checkpoint)")
    p.add_argument("--export", metavar="FILE", help="export (JSON Lines); optional when checking proofs only")
    p.add_argument("--previous-checkpoint", metavar="FILE", help="an older checkpoint to check consistency with")
    p.add_argument("--consistency-proof", metavar="FILE", help="consistency proof old -> checkpoint (JSON)")
    p.add_argument("--inclusion-proof", metavar="FILE", help="inclusion proof of one entry (JSON)")
    p.add_argument("--entry", metavar="FILE", help="that entry: raw entry bytes, or its export line")
    p.add_argument("--bundle", metavar="DIR", help="an evidence bundle (disclosure-ledger bundle) to verify")
    p.add_argument("--openings", action="store_true", help="with --bundle: check the bundle's openings too")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--workers", type=int, default=_cpu_count(), help="processes to use (default: all cores)")
    p.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK, help=argparse.SUPPRESS)
    bar = p.add_mutually_exclusive_group()
    bar.add_argument("--progress", action="store_true", default=None, help="progress on stderr (default: on a tty)")
    bar.add_argument("--no-progress", action="store_false", dest="progress")
    return p


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # report usage errors as exit 2, without SystemExit
        raise UsageError(message)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _check_arguments(args: argparse.Namespace) -> None:
    if args.bundle is not None:
        others = ("checkpoint", "export", "previous_checkpoint", "consistency_proof", "inclusion_proof", "entry")
        given = [f"--{n.replace('_', '-')}" for n in others if getattr(args, n) is not None]
        if given:
            raise UsageError(f"--bundle holds its own checkpoint and proofs: {', '.join(given)} cannot go with it")
        return
    if args.openings:
        raise UsageError("--openings goes with --bundle")
    if args.vkey is None:
        raise UsageError("--vkey is required: the ledger's published trust root (or a file holding it)")
    if args.checkpoint is None:
        raise UsageError("--checkpoint is required (or --bundle)")
    if args.export is None and args.inclusion_proof is None and args.consistency_proof is None:
        raise UsageError("--export is required (unless only --inclusion-proof or --consistency-proof is checked)")
    if (args.inclusion_proof is None) != (args.entry is None):
        raise UsageError("--inclusion-proof and --entry go together")
    if args.consistency_proof is not None and args.previous_checkpoint is None:
        raise UsageError("--consistency-proof needs --previous-checkpoint")
    if args.previous_checkpoint is not None and args.consistency_proof is None and args.export is None:
        raise UsageError("--previous-checkpoint without --export needs --consistency-proof")
    if args.workers < 1 or args.chunk_size < 1:
        raise UsageError("--workers and --chunk-size must be at least 1")


def run(args: argparse.Namespace, report: Report) -> None:
    """Every check, in the order of docs/VERIFYING.md; raise at the first that fails."""
    _check_arguments(args)
    if args.bundle is not None:
        run_bundle(args, report)
        return
    trust_root = _trust_root(args.vkey)
    report.trust_root = str(trust_root)
    checkpoint_data = _read(args.checkpoint, "checkpoint")
    previous_data = _read(args.previous_checkpoint, "previous checkpoint") if args.previous_checkpoint else None
    for name in ("export", "consistency_proof", "inclusion_proof", "entry"):
        path = getattr(args, name)
        if path is not None and not os.access(path, os.R_OK):
            raise UsageError(f"cannot read {name.replace('_', ' ')} {path!r}")

    signed = _open_checkpoint(checkpoint_data, [trust_root], "checkpoint")
    cp = signed.checkpoint
    report.origin, report.checkpoint_size, report.checkpoint_root = cp.origin, cp.size, cp.root.hex()
    report.passed("checkpoint", f"{cp.origin}, size {cp.size}, root {cp.root.hex()}: signed by the trust root")

    previous = None
    if previous_data is not None:
        # An older checkpoint may carry only a checkpoint key the log has since rotated away
        # from; the log's lineage is known once the export is read, so open it then.
        previous_keys = [trust_root]
        if args.export is None:
            previous = _open_checkpoint(previous_data, previous_keys, "previous checkpoint")

    if args.export is not None:
        marks = {cp.size}
        previous_size = _peek_size(previous_data) if previous_data is not None else None
        if previous_size is not None:
            marks.add(previous_size)
        progress = _Progress(os.path.getsize(args.export), _progress_wanted(args))
        try:
            result = verify_export(args.export, marks, args.workers, args.chunk_size, progress)
        finally:
            progress.close()
        report.size, report.signatures = result.size, result.signatures
        if result.failure is not None:
            raise CheckFailed(result.failure[1], result.failure[0])
        report.passed(
            "entries",
            f"{result.size} entries, {result.signatures} signatures: encoding, index, prev chain, times, "
            "envelopes, signers, keys and roles under the log's policy",
        )
        _check_against_checkpoint(result, cp, trust_root, report)
        if previous_data is not None:
            lineage = result.checkpoint_keys.get(previous_size or 0, [])
            previous = _open_checkpoint(previous_data, [trust_root, *lineage], "previous checkpoint")
            _check_previous_against_export(previous, result, cp.size, report)

    if previous is not None and args.consistency_proof is not None:
        _check_consistency(previous, signed, args.consistency_proof, report)
    if args.inclusion_proof is not None:
        _check_inclusion(signed, args.inclusion_proof, args.entry, report)


BUNDLE_FILES = ("bundle.json", "checkpoint", "entries.jsonl", "proofs.jsonl")


def run_bundle(args: argparse.Namespace, report: Report) -> None:
    """Verify an evidence bundle: the order of docs/VERIFYING.md, "Evidence bundles"."""
    folder = args.bundle
    if not os.path.isdir(folder):
        raise UsageError(f"--bundle {folder!r} is not a folder")

    def optional(name: str) -> bytes | None:
        path = os.path.join(folder, name)
        return _read(path, f"bundle file {name}") if os.path.exists(path) else None

    required = {name: _read(os.path.join(folder, name), f"bundle file {name}") for name in BUNDLE_FILES}
    if args.vkey is not None:
        trust_root = _trust_root(args.vkey)
    else:
        data = optional("trust_root.vkey")
        if data is None:
            raise UsageError("the bundle has no trust_root.vkey: pass the ledger's published key with --vkey")
        try:
            trust_root = parse_vkey(data.decode("utf-8").strip())
        except (LedgerError, UnicodeDecodeError) as e:
            raise CheckFailed(f"trust_root.vkey is not a verifier key: {e}") from None
        report.notes.append(
            "no --vkey given: the trust root is the bundle's own trust_root.vkey, so this shows the bundle is "
            "consistent with itself, not that it comes from the ledger; pin the published key with --vkey"
        )
    report.trust_root = str(trust_root)
    openings = optional("openings.jsonl")
    files = BundleFiles(required["bundle.json"], required["checkpoint"], required["entries.jsonl"],
                        required["proofs.jsonl"], optional("lines.jsonl"), openings)
    try:
        summary = verify_bundle(files, trust_root, check_openings=args.openings, passed=report.passed)
    except BundleError as e:
        raise CheckFailed(e.reason, e.index) from None
    except Exception as e:  # a verifier bug or input nobody foresaw: still a report, not a traceback
        raise CheckFailed(
            f"unexpected error while checking the bundle ({type(e).__name__}); please report it"
        ) from None
    report.origin, report.checkpoint_size = summary.origin, summary.tree_size
    report.checkpoint_root = report.root = summary.root.hex()
    report.size, report.signatures = summary.entries, summary.signatures
    report.notes.append(
        f"bundle of request {summary.request}: a bundle cannot prove that no entry was left out of it "
        "(a trust entry such as a key revocation, or a later statement about the request); the full export "
        "proves that"
    )
    if openings is not None and not args.openings:
        report.notes.append("openings.jsonl was not checked: pass --openings to check it")


def _peek_size(data: bytes) -> int | None:
    """The tree size a checkpoint claims, before its signature is checked (to know what to record)."""
    lines = data.split(b"\n", 3)
    if len(lines) >= 2 and lines[1].isdigit() and len(lines[1]) <= 19:
        return int(lines[1])
    return None


def _progress_wanted(args: argparse.Namespace) -> bool:
    return bool(args.progress) if args.progress is not None else sys.stderr.isatty()


def _check_against_checkpoint(
    result: ExportResult, cp: Any, trust_root: VerifierKey, report: Report
) -> None:
    if result.size < cp.size:
        raise CheckFailed(
            f"the export ends after {result.size} entries but the checkpoint commits to {cp.size}", result.size
        )
    if result.origin != cp.origin:
        raise CheckFailed(f"the log's origin (genesis) is {result.origin!r}, the checkpoint's is {cp.origin!r}")
    lineage = result.checkpoint_keys.get(cp.size, [])
    if trust_root not in lineage:
        raise CheckFailed(
            f"the trust root {trust_root} is not one of the log's checkpoint keys at size {cp.size} "
            f"(genesis checkpoint_vkey and ledger_key_rotation): {[str(k) for k in lineage]}"
        )
    report.passed("key lineage", "the trust root is a checkpoint key named by the log itself")
    root = result.roots[cp.size]
    report.root = root.hex()
    if root != cp.root:
        raise CheckFailed(
            f"the RFC 6962 root of the first {cp.size} entries is {root.hex()}, "
            f"the checkpoint's root is {cp.root.hex()}"
        )
    report.passed("root", f"RFC 6962 root of entries 0..{cp.size - 1} equals the checkpoint's root")
    report.uncommitted = result.size - cp.size
    if report.uncommitted:
        report.passed(
            "uncommitted", f"entries {cp.size}..{result.size - 1} verified, not yet committed to by the checkpoint"
        )


def _check_previous_against_export(
    previous: SignedCheckpoint, result: ExportResult, size: int, report: Report
) -> None:
    old = previous.checkpoint
    if old.origin != report.origin:
        raise CheckFailed(f"previous checkpoint: origin {old.origin!r} differs from {report.origin!r}")
    if old.size > size:
        raise CheckFailed(f"previous checkpoint: size {old.size} is larger than the checkpoint's {size}")
    root = result.roots.get(old.size)
    if root is None:  # pragma: no cover - old.size <= size <= result.size, and old.size was a mark
        raise CheckFailed(f"previous checkpoint: no root recorded at size {old.size}")
    if root != old.root:
        raise CheckFailed(
            f"previous checkpoint: the export's root at size {old.size} is {root.hex()}, the previous "
            f"checkpoint's is {old.root.hex()}: the log was rewritten or forked since then"
        )
    report.passed("previous", f"previous checkpoint (size {old.size}) is a prefix of this export")


def _check_consistency(previous: SignedCheckpoint, signed: SignedCheckpoint, path: str, report: Report) -> None:
    old, new = previous.checkpoint, signed.checkpoint
    if old.origin != new.origin:
        raise CheckFailed(f"previous checkpoint: origin {old.origin!r} differs from {new.origin!r}")
    proof = _proof_file(path, "consistency proof", ("old_size", "new_size", "old_root", "new_root", "path"))
    sizes = (
        _size(proof["old_size"], "consistency proof old_size"),
        _size(proof["new_size"], "consistency proof new_size"),
    )
    if sizes != (old.size, new.size):
        raise CheckFailed(f"consistency proof is for sizes {sizes}, the checkpoints have {(old.size, new.size)}")
    if _hex32(proof["old_root"], "consistency proof old_root") != old.root:
        raise CheckFailed("consistency proof old_root differs from the previous checkpoint's root")
    if _hex32(proof["new_root"], "consistency proof new_root") != new.root:
        raise CheckFailed("consistency proof new_root differs from the checkpoint's root")
    try:
        verify_consistency(old.size, new.size, old.root, new.root, proof["path"])
    except LedgerError as e:
        raise CheckFailed(f"consistency proof: {e}") from None
    report.passed("consistency", f"checkpoint of size {old.size} is a prefix of the one of size {new.size}")


def _check_inclusion(signed: SignedCheckpoint, path: str, entry_path: str, report: Report) -> None:
    cp = signed.checkpoint
    proof = _proof_file(path, "inclusion proof", ("index", "tree_size", "leaf_hash", "root", "path"))
    index = _size(proof["index"], "inclusion proof index")
    data = _entry_file(entry_path)
    try:
        entry = parse_entry(data)
    except LedgerError as e:
        raise CheckFailed(f"entry file: malformed entry: {e}", index) from None
    if entry.index != index:
        raise CheckFailed(f"the entry is entry {entry.index}, the proof is for entry {index}", index)
    tree_size = _size(proof["tree_size"], "inclusion proof tree_size")
    if tree_size != cp.size:
        raise CheckFailed(f"inclusion proof is for tree size {tree_size}, the checkpoint's is {cp.size}", index)
    if _hex32(proof["root"], "inclusion proof root") != cp.root:
        raise CheckFailed("inclusion proof root differs from the checkpoint's root", index)
    if _hex32(proof["leaf_hash"], "inclusion proof leaf_hash") != leaf_hash(data):
        raise CheckFailed("inclusion proof leaf_hash is not the hash of the entry", index)
    try:
        verify_inclusion(index, cp.size, leaf_hash(data), proof["path"], cp.root)
    except LedgerError as e:
        raise CheckFailed(f"inclusion proof: {e}", index) from None
    report.passed("inclusion", f"entry {index} is included in the checkpoint's tree of size {cp.size}")


def main(argv: list[str] | None = None) -> int:
    """Run the verifier; return the exit status (0 holds, 1 fails, 2 usage)."""
    started = time.monotonic()
    report = Report()
    as_json = "--json" in (sys.argv[1:] if argv is None else argv)
    try:
        args = _parser().parse_args(argv)
        run(args, report)
    except SystemExit as e:  # --help
        return int(e.code or 0) if not isinstance(e.code, str) else EXIT_USAGE
    except UsageError as e:
        report.exit, report.reason = EXIT_USAGE, str(e)
        if not as_json:
            print(f"verify_ledger.py: error: {e}", file=sys.stderr)
    except CheckFailed as e:
        report.exit, report.index, report.reason = EXIT_FAILED, e.index, e.reason
    report.elapsed = time.monotonic() - started
    if as_json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        print(report.as_text(), end="")
    return report.exit


if __name__ == "__main__":
    sys.exit(main())
