"""Verifying an export against a signed checkpoint: the library the court's verifier runs.

``verify_log(export, checkpoint, trust_root, workers=...)`` is the whole check of
docs/VERIFYING.md steps 3 to 5 as a function: it returns a Report whose ``exit`` is
EXIT_OK, EXIT_FAILED (with the first failing entry and the reason in plain words) or
EXIT_USAGE (a file that cannot be read). scripts/verify_ledger.py parses its arguments,
reads and sniffs its files, and calls ``verify_export`` (the export part, between the
checkpoint and the proofs) with the same Report, so the command and the library give the
same verdict in the same words.

The stages, each recorded in ``report.stage`` before it runs: "entries" (every entry,
ledger.core.pipeline), "log vs checkpoint" (key lineage, root, uncommitted entries) and
"previous" (an older checkpoint is a prefix of the export). A failure raises CheckFailed.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any

from ledger.core.canonical import canonical_bytes
from ledger.core.checkpoint import SignedCheckpoint, open_checkpoint, open_with_any
from ledger.core.diagnosis import checkpoint_facts, diagnose, trust_keys
from ledger.core.errors import LedgerError, UnreadableInputError
from ledger.core.keys import VerifierKey
from ledger.core.pipeline import DEFAULT_CHUNK, CheckFailed, ExportResult, ProgressFn, check_export
from ledger.core.plain import Facts, explain, not_checked
from ledger.core.verify_report import EXIT_FAILED, EXIT_USAGE, FileRecord, Report


def open_checked(data: bytes, keys: list[VerifierKey], what: str) -> SignedCheckpoint:
    """The checkpoint in ``data``, signed by one of ``keys``; CheckFailed (with its facts) if not."""
    try:
        return open_checkpoint(data, keys[0]) if len(keys) == 1 else open_with_any(data, keys)
    except LedgerError as e:
        reason = f"{what}: {e}"
        raise CheckFailed(reason, None, checkpoint_facts(reason, data)) from None


def peek_checkpoint_size(data: bytes) -> int | None:
    """The tree size a checkpoint claims, before its signature is checked (to know what to record)."""
    lines = data.split(b"\n", 3)
    if len(lines) >= 2 and lines[1].isdigit() and len(lines[1]) <= 19:
        return int(lines[1])
    return None


def diagnose_file(path: str, index: int | None, reason: str, trust: Any = None) -> Facts:
    """ledger.core.diagnosis on an export (or a bundle's entries.jsonl), after a failure; never raises."""
    try:
        with open(path, "rb") as f:
            return diagnose(index, reason, f, trust_keys(trust) if trust is not None else None)
    except Exception:  # the facts only sharpen the words: the failure stands without them
        return Facts()


@dataclass
class ExportChecked:
    """What verify_export established: the export's result, and the older checkpoint it opened (if any)."""

    result: ExportResult
    previous: SignedCheckpoint | None


def verify_export(
    report: Report,
    export: str,
    signed: SignedCheckpoint,
    trust_root: VerifierKey,
    previous: bytes | None = None,
    *,
    workers: int = 1,
    chunk: int = DEFAULT_CHUNK,
    progress: ProgressFn | None = None,
    digest: Any = None,
) -> ExportChecked:
    """Check the export at ``export`` against ``signed`` (opened with ``trust_root``), recording in ``report``.

    ``previous`` is an older checkpoint's bytes, opened here with the trust root or any
    checkpoint key the log named until its size. The export is listed in ``report.files``
    (its SHA-256 when ``digest``, a hashlib object, is given). Raise CheckFailed at the
    first check that fails, UnreadableInputError when the export cannot be read.
    """
    cp = signed.checkpoint
    report.stage = "entries"
    marks = {cp.size}
    previous_size = peek_checkpoint_size(previous) if previous is not None else None
    if previous_size is not None:
        marks.add(previous_size)
    result = check_export(export, marks, workers=workers, chunk=chunk, progress=progress, digest=digest)
    report.files.append(FileRecord("export", export, os.path.getsize(export), digest.hexdigest() if digest else ""))
    report.size, report.signatures = result.size, result.signatures
    if result.failure is not None:
        index, reason = result.failure
        report.size = min(report.size, index)  # entries after the first failure were not all checked
        raise CheckFailed(reason, index, diagnose_file(export, index, reason, result.trust))
    report.passed(
        "entries",
        f"{result.size} entries, {result.signatures} signatures: encoding, index, prev chain, times, "
        "envelopes, signers, keys and roles under the log's policy",
    )
    policy = result.policies.get(cp.size)
    if policy is not None:
        report.log_policy = {t: list(roles) for t, roles in policy.items()}
        report.log_policy_sha256 = hashlib.sha256(canonical_bytes(report.log_policy)).hexdigest()
    report.stage = "log vs checkpoint"
    check_against_checkpoint(result, cp, trust_root, report)
    older = None
    if previous is not None:
        # An older checkpoint may carry only a checkpoint key the log has since rotated away
        # from: it is opened with every key the log named until its size.
        report.stage = "previous"
        lineage = result.checkpoint_keys.get(previous_size or 0, [])
        older = open_checked(previous, [trust_root, *lineage], "previous checkpoint")
        check_previous_against_export(older, result, cp.size, report)
    return ExportChecked(result, older)


def check_against_checkpoint(result: ExportResult, cp: Any, trust_root: VerifierKey, report: Report) -> None:
    """The export's origin, key lineage and root agree with the checkpoint's (CheckFailed if not)."""
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


def check_previous_against_export(
    previous: SignedCheckpoint, result: ExportResult, size: int, report: Report
) -> None:
    """An older checkpoint is a prefix of the export: same origin, root at its size (CheckFailed if not)."""
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


def verify_log(
    export: str,
    checkpoint: bytes,
    trust_root: VerifierKey,
    *,
    previous: bytes | None = None,
    workers: int = 1,
    chunk: int = DEFAULT_CHUNK,
    progress: ProgressFn | None = None,
) -> Report:
    """Verify an export against a signed checkpoint and the trust root; the verdict is ``report.exit``.

    The same checks, in the same order and words, as
    ``verify_ledger.py --vkey KEY --checkpoint FILE --export FILE [--previous-checkpoint FILE]``
    (whose report also lists the files read and the run; this one lists the export only).
    """
    report = Report(what="export")
    report.not_checked = not_checked("export", previous=previous is not None, openings=False, witnesses=False)
    report.trust_root, report.trust_root_source = str(trust_root), "--vkey"
    try:
        report.stage = "checkpoint"
        signed = open_checked(checkpoint, [trust_root], "checkpoint")
        cp = signed.checkpoint
        report.origin, report.checkpoint_size, report.checkpoint_root = cp.origin, cp.size, cp.root.hex()
        report.passed("checkpoint", f"{cp.origin}, size {cp.size}, root {cp.root.hex()}: signed by the trust root")
        verify_export(report, export, signed, trust_root, previous, workers=workers, chunk=chunk, progress=progress)
    except UnreadableInputError as e:
        report.fail(EXIT_USAGE, None, str(e), str(e))
    except CheckFailed as e:
        report.fail(EXIT_FAILED, e.index, e.reason, explain(e.index, e.reason, e.facts))
    return report
