"""The court's verifier: check a Disclosure Ledger export offline (docs/VERIFYING.md).

    python verify_ledger.py --vkey KEY --checkpoint FILE --export FILE
        [--previous-checkpoint FILE [--consistency-proof FILE]]
        [--inclusion-proof FILE --entry FILE] [--json] [--workers N] [--report FILE]
    python verify_ledger.py --bundle DIR [--vkey KEY] [--openings] [--json] [--report FILE]
    python verify_ledger.py --export FILE --show INDEX|all [--json]
    python verify_ledger.py --bundle DIR --show INDEX|all [--json]
    ... [--policy FILE]   the checkpoint must meet a witness policy (c2sp.org/tlog-policy) you pinned

Needs Python 3.11+ and the package pynacl (``pip install pynacl rfc8785``); nothing
else, no network, no database, no secret. ``--vkey`` is the ledger's published trust
root (a C2SP verifier key string, or a file holding it). Exit status: 0 when every
check holds, 1 when anything in the export, checkpoint or proofs fails (the report
names the first failing entry and says why in plain words), 2 for usage errors,
unreadable files and files of the wrong kind. ``--report FILE`` also writes FILE.json
and FILE.txt, a report to attach to a declaration; ``--show`` prints entries decoded
for a person, verifying nothing.

This is the command-line part of scripts/verify_ledger.py; scripts/build_verifier.py
bundles it with the integrity core (ledger/core/) into that one standalone file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from typing import Any

import nacl
from _verifier_inputs import Inputs, _trust_root
from _verifier_show import show
from _verifier_terminal import UsageError, _Progress
from _verifier_witnesses import SHIPPED_POLICY, check_witnesses, pinned_policy

from ledger.core.bundle_check import verify_bundle
from ledger.core.bundle_format import BundleError, BundleFiles
from ledger.core.diagnosis import diagnose
from ledger.core.errors import LedgerError, UnreadableInputError
from ledger.core.export_verify import open_checked, verify_export
from ledger.core.keys import parse_vkey
from ledger.core.pipeline import DEFAULT_CHUNK, CheckFailed
from ledger.core.plain import explain, not_checked
from ledger.core.proof_files import check_consistency_file, check_inclusion_file
from ledger.core.verify_report import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Report

# The project's version (pyproject.toml); the verifier's SHA-256, in every report, names the exact file.
VERIFIER_VERSION = "0.1.0"
BUNDLE_FILES = ("bundle.json", "checkpoint", "entries.jsonl", "proofs.jsonl")
DELIVERED_DIR = "delivered"  # the files the bundle's releases delivered (disclosure-ledger bundle --delivered)


# ---- arguments ----------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    p = _ArgumentParser(
        prog="verify_ledger.py",
        description="Verify a Disclosure Ledger export, checkpoint and proofs offline (exit 0 = all hold).",
        epilog="Exit status: 0 every check holds; 1 a check fails; 2 usage error, unreadable file or a file "
        "of the wrong kind.",
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
    p.add_argument("--policy", metavar="FILE",
                   help="witness policy (c2sp.org/tlog-policy) the checkpoint's cosignatures must meet; yours, "
                        "never one the ledger's operator supplies")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--report", metavar="FILE",
                   help="also write the report for a declaration to FILE.json and FILE.txt (never overwritten)")
    p.add_argument("--show", metavar="INDEX",
                   help="print entry INDEX (or 'all') of --export or --bundle decoded for a person, and verify "
                   "nothing; no openings are ever shown")
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
    if args.show is not None:
        _check_show_arguments(args)
        return
    if args.report is not None:
        args.report_paths = _report_paths(args.report)
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


def _check_show_arguments(args: argparse.Namespace) -> None:
    if (args.export is None) == (args.bundle is None):
        raise UsageError("--show reads one file: give --export FILE or --bundle DIR")
    verifying = ("vkey", "checkpoint", "previous_checkpoint", "consistency_proof", "inclusion_proof", "entry",
                 "report", "policy")
    given = [f"--{n.replace('_', '-')}" for n in verifying if getattr(args, n) is not None]
    if given or args.openings:
        given += ["--openings"] if args.openings else []
        raise UsageError(f"--show only reads the file and verifies nothing: run the verification without it "
                         f"({', '.join(given)} cannot go with --show)")
    if args.show != "all" and not (args.show.isdigit() and len(args.show) <= 16):
        raise UsageError(f"--show takes an entry's index (0, 1, ...) or 'all', not {args.show!r}")


def _report_paths(base: str) -> tuple[str, str]:
    """FILE.json and FILE.txt (a .json or .txt given is dropped first); refused if either exists."""
    stem = base[: -len(".json")] if base.endswith(".json") else base[: -len(".txt")] if base.endswith(".txt") else base
    paths = (stem + ".json", stem + ".txt")
    for path in paths:
        if os.path.exists(path):
            raise UsageError(f"--report: {path} exists; reports are never overwritten, choose another name")
    folder = os.path.dirname(os.path.abspath(paths[0]))
    if not os.access(folder, os.W_OK):
        raise UsageError(f"--report: cannot write into {folder}")
    return paths


# ---- verification -------------------------------------------------------------------
def run(args: argparse.Namespace, report: Report, inputs: Inputs) -> None:
    """Every check, in the order of docs/VERIFYING.md; raise at the first that fails.

    Every file but the export is read (and its kind checked) before anything is verified.
    """
    _check_arguments(args)
    if args.bundle is not None:
        report.what = "bundle"
        report.not_checked = not_checked("bundle", previous=False, openings=args.openings,
                                         witnesses=args.policy is not None)
        run_bundle(args, report, inputs)
        return
    report.what = "export" if args.export is not None else "proofs"
    report.not_checked = not_checked(report.what, previous=args.previous_checkpoint is not None, openings=False,
                                     witnesses=args.policy is not None)
    report.stage = "trust root"
    trust_root = _trust_root(args.vkey, inputs)
    report.trust_root, report.trust_root_source = str(trust_root), "--vkey"
    pinned = pinned_policy(args.policy, inputs) if args.policy is not None else None
    report.stage = "checkpoint"
    checkpoint_data = inputs.checkpoint(args.checkpoint, "checkpoint", "--checkpoint")
    previous_data = consistency_data = inclusion_data = entry_data = None
    if args.previous_checkpoint is not None:
        previous_data = inputs.checkpoint(args.previous_checkpoint, "previous checkpoint", "--previous-checkpoint")
    if args.consistency_proof is not None:
        consistency_data = inputs.read(args.consistency_proof, "consistency proof", "--consistency-proof",
                                       ("consistency-proof",))
    if args.inclusion_proof is not None:
        inclusion_data = inputs.read(args.inclusion_proof, "inclusion proof", "--inclusion-proof",
                                     ("inclusion-proof",))
        entry_data = inputs.read(args.entry, "entry", "--entry", ("entry", "export-line"))
    if args.export is not None:
        inputs.export_head(args.export)

    signed = open_checked(checkpoint_data, [trust_root], "checkpoint")
    cp = signed.checkpoint
    report.origin, report.checkpoint_size, report.checkpoint_root = cp.origin, cp.size, cp.root.hex()
    report.passed("checkpoint", f"{cp.origin}, size {cp.size}, root {cp.root.hex()}: signed by the trust root")
    if pinned is not None:
        check_witnesses(checkpoint_data, trust_root, pinned, None, report)

    previous = None
    if previous_data is not None and args.export is None:
        # With the export, an older checkpoint may carry only a checkpoint key the log has since
        # rotated away from; the log's lineage is known once the export is read, so open it then.
        report.stage = "previous"
        previous = open_checked(previous_data, [trust_root], "previous checkpoint")

    if args.export is not None:
        digest = hashlib.sha256() if args.report is not None else None
        progress = _Progress(os.path.getsize(args.export), _progress_wanted(args))
        try:
            checked = verify_export(report, args.export, signed, trust_root, previous_data, workers=args.workers,
                                    chunk=args.chunk_size, progress=progress.update, digest=digest)
        except UnreadableInputError as e:
            raise UsageError(str(e)) from None
        finally:
            progress.close()
        previous = checked.previous

    if previous is not None and consistency_data is not None:
        report.stage = "consistency"
        check_consistency_file(previous, signed, consistency_data, report)
    if inclusion_data is not None and entry_data is not None:
        report.stage = "inclusion"
        check_inclusion_file(signed, inclusion_data, entry_data, report)


def run_bundle(args: argparse.Namespace, report: Report, inputs: Inputs) -> None:
    """Verify an evidence bundle: the order of docs/VERIFYING.md, "Evidence bundles"."""
    folder = args.bundle
    inputs.bundle_folder(folder)

    def read(name: str) -> bytes:
        return inputs.read_named(os.path.join(folder, name), f"bundle file {name}")

    def optional(name: str) -> bytes | None:
        return read(name) if os.path.exists(os.path.join(folder, name)) else None

    pinned = pinned_policy(args.policy, inputs) if args.policy is not None else None
    required = {name: read(name) for name in BUNDLE_FILES}
    if args.vkey is not None:
        trust_root = _trust_root(args.vkey, inputs)
        report.trust_root_source = "--vkey"
    else:
        data = optional("trust_root.vkey")
        if data is None:
            raise UsageError("the bundle has no trust_root.vkey: pass the ledger's published key with --vkey")
        try:
            trust_root = parse_vkey(data.decode("utf-8").strip())
        except (LedgerError, UnicodeDecodeError) as e:
            raise CheckFailed(f"trust_root.vkey is not a verifier key: {e}") from None
        report.trust_root_source = "the bundle's own trust_root.vkey (not pinned with --vkey)"
        report.notes.append(
            "no --vkey given: the trust root is the bundle's own trust_root.vkey, so this shows the bundle is "
            "consistent with itself, not that it comes from the ledger; pin the published key with --vkey"
        )
    report.trust_root = str(trust_root)
    openings = optional("openings.jsonl")
    delivered_dir = os.path.join(folder, DELIVERED_DIR)
    delivered = tuple((name, read(os.path.join(DELIVERED_DIR, name)))
                      for name in (sorted(os.listdir(delivered_dir)) if os.path.isdir(delivered_dir) else []))
    files = BundleFiles(required["bundle.json"], required["checkpoint"], required["entries.jsonl"],
                        required["proofs.jsonl"], optional("lines.jsonl"), openings, delivered)
    report.stage = "bundle"
    try:
        summary = verify_bundle(files, trust_root, check_openings=args.openings, passed=report.passed)
    except BundleError as e:
        lines = required["entries.jsonl"].splitlines(keepends=True)
        raise CheckFailed(e.reason, e.index, diagnose(e.index, e.reason, lines)) from None
    except Exception as e:  # a verifier bug or input nobody foresaw: still a report, not a traceback
        raise CheckFailed(
            f"unexpected error while checking the bundle ({type(e).__name__}); please report it"
        ) from None
    if pinned is not None:
        check_witnesses(required["checkpoint"], trust_root, pinned, optional(SHIPPED_POLICY), report)
    report.origin, report.checkpoint_size = summary.origin, summary.tree_size
    report.checkpoint_root = report.root = summary.root.hex()
    report.size, report.signatures = summary.entries, summary.signatures
    report.notes.append(
        f"bundle of request {summary.request}: a bundle cannot prove that no entry was left out of it "
        "(a trust entry such as a key revocation, or a later statement about the request); the full export "
        "proves that"
    )
    if openings is not None and not args.openings:
        report.notes.append("openings.jsonl was not checked: pass --openings to check it"
                            + (" (and the values of the delivered files)" if delivered else ""))


def _progress_wanted(args: argparse.Namespace) -> bool:
    return bool(args.progress) if args.progress is not None else sys.stderr.isatty()


# ---- the report for a declaration ----------------------------------------------------
def _verifier_facts() -> dict[str, str]:
    try:
        with open(__file__, "rb") as f:
            sha256 = hashlib.sha256(f.read()).hexdigest()
    except OSError:  # pragma: no cover - the file that runs can be read
        sha256 = "unknown"
    return {"file": os.path.basename(__file__), "version": VERIFIER_VERSION, "sha256": sha256,
            "python": platform.python_version(), "pynacl": str(getattr(nacl, "__version__", "unknown"))}


def _write_report(paths: tuple[str, str], report: Report) -> None:
    report.verifier = _verifier_facts()
    record = json.dumps(report.record(), indent=2, ensure_ascii=False) + "\n"
    for path, text in zip(paths, (record, report.record_text()), strict=True):
        with open(path, "x", encoding="utf-8") as f:
            f.write(text)


# ---- main ---------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """Run the verifier; return the exit status (0 holds, 1 fails, 2 usage)."""
    started = time.monotonic()
    argv = sys.argv[1:] if argv is None else list(argv)
    report = Report(command=list(argv))
    report.run = {"started_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "platform": platform.platform()}
    as_json = "--json" in argv
    args = None
    try:
        args = _parser().parse_args(argv)
        if args.show is not None:
            _check_arguments(args)
            return show(args)
        report.run["workers"] = args.workers
        run(args, report, Inputs(report))
    except SystemExit as e:  # --help
        return int(e.code or 0) if not isinstance(e.code, str) else EXIT_USAGE
    except UsageError as e:
        report.fail(EXIT_USAGE, None, str(e), str(e))
    except CheckFailed as e:
        report.fail(EXIT_FAILED, e.index, e.reason, explain(e.index, e.reason, e.facts))
    report.elapsed = time.monotonic() - started
    if report.exit == EXIT_USAGE and not as_json:
        print(f"verify_ledger.py: error: {report.message}", file=sys.stderr)
    elif as_json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        print(report.as_text(), end="")
    paths = getattr(args, "report_paths", None)
    if paths is not None:
        try:
            _write_report(paths, report)
        except OSError as e:
            print(f"verify_ledger.py: error: the report could not be written: {e}", file=sys.stderr)
            return report.exit if report.exit != EXIT_OK else EXIT_USAGE
    return report.exit


if __name__ == "__main__":
    sys.exit(main())
