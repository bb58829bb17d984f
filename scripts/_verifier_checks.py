"""Reading the verifier's inputs, and the checks of the checkpoint and proofs against each other
and against what the export established (docs/VERIFYING.md § 5.2, § 5.6).

This is a part of scripts/verify_ledger.py; scripts/build_verifier.py bundles it with the
integrity core (ledger/core/) and the rest of the command line into that one standalone file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from typing import Any

from _verifier_export import CheckFailed, ExportResult, UsageError

from ledger.core.b64 import b64decode
from ledger.core.canonical import MAX_SAFE_INTEGER, parse_canonical
from ledger.core.checkpoint import SignedCheckpoint, open_checkpoint, open_with_any
from ledger.core.diagnosis import SNIFF_BYTES, checkpoint_damage, checkpoint_facts, file_kind, folder_kind
from ledger.core.entry import parse_entry
from ledger.core.errors import LedgerError
from ledger.core.keys import VerifierKey, parse_vkey
from ledger.core.merkle import leaf_hash
from ledger.core.plain_files import KIND_NAMES, altered_file, wrong_kind
from ledger.core.proofs import verify_consistency, verify_inclusion
from ledger.core.verify_report import FileRecord, Report

_HASH_HEX_RE = re.compile(r"[0-9a-f]{64}\Z")


# ---- reading inputs -----------------------------------------------------------------
class Inputs:
    """The verifier's files: each read once and listed in the report with its size and SHA-256,
    and refused (exit 2, saying what it looks like) when it is of another kind than the option
    it was given with, or was changed outside what is signed (an editor's line endings)."""

    def __init__(self, report: Report) -> None:
        self.report = report

    def read(self, path: str, role: str, flag: str, kinds: tuple[str, ...]) -> bytes:
        """The bytes of ``path`` given as ``flag``, which must be one of ``kinds`` (or unrecognised)."""
        self.refuse_folder(path, flag, kinds[0])
        data = _read(path, role)
        self.expect(path, flag, file_kind(data[:SNIFF_BYTES]), kinds)
        self.note(role, path, len(data), hashlib.sha256(data).hexdigest())
        return data

    def read_named(self, path: str, role: str) -> bytes:
        """The bytes of a file named by its place (an evidence bundle's), listed in the report."""
        data = _read(path, role)
        self.note(role, path, len(data), hashlib.sha256(data).hexdigest())
        return data

    def note(self, role: str, path: str, size: int, sha256: str) -> None:
        self.report.files.append(FileRecord(role, path, size, sha256))

    def refuse_folder(self, path: str, flag: str, wanted: str) -> None:
        if os.path.isdir(path):
            try:
                names = os.listdir(path)
            except OSError:
                names = []
            raise UsageError(wrong_kind(flag, path, folder_kind(names), wanted))

    def expect(self, path: str, flag: str, kind: str | None, kinds: tuple[str, ...]) -> None:
        if kind is not None and kind not in kinds:
            raise UsageError(wrong_kind(flag, path, kind, kinds[0]))

    def bundle_folder(self, path: str, flag: str = "--bundle") -> None:
        """Refuse a --bundle that is not a folder, saying what it is."""
        if os.path.isdir(path):
            return
        if not os.path.exists(path):
            raise UsageError(f"cannot read {flag} {path!r}: there is no such folder")
        try:
            with open(path, "rb") as f:
                kind = file_kind(f.read(SNIFF_BYTES))
        except OSError:
            kind = None
        if kind is None:
            raise UsageError(f"the file given as {flag} ({path}) is not {KIND_NAMES['bundle']}")
        raise UsageError(wrong_kind(flag, path, kind, "bundle"))

    def checkpoint(self, path: str, role: str, flag: str) -> bytes:
        data = self.read(path, role, flag, ("checkpoint",))
        damage = checkpoint_damage(data)
        if damage is not None:
            raise UsageError(altered_file(flag, path, *damage))
        return data

    def export_head(self, path: str) -> None:
        """Refuse an --export that is another kind of file (its first bytes are enough to tell)."""
        self.refuse_folder(path, "--export", "export")
        try:
            with open(path, "rb") as f:
                head = f.read(SNIFF_BYTES)
        except OSError as e:
            raise UsageError(f"cannot read export {path!r}: {e.strerror or e}") from None
        kind = file_kind(head)
        folder = os.path.dirname(os.path.abspath(path))
        if kind in ("export", "export-line") and os.path.basename(path) == "entries.jsonl" and os.path.exists(
            os.path.join(folder, "bundle.json")
        ):
            kind = "bundle-entries"
        if kind != "empty":
            self.expect(path, "--export", kind, ("export", "export-line"))


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise UsageError(f"cannot read {what} {path!r}: {e.strerror or e}") from None


def _trust_root(value: str, inputs: Inputs) -> VerifierKey:
    text = value
    if os.path.isfile(value):
        try:
            text = inputs.read(value, "trust root", "--vkey", ("vkey",)).decode("utf-8").strip()
        except UnicodeDecodeError:
            raise UsageError(f"trust root file {value!r} is not UTF-8 text") from None
    else:
        inputs.refuse_folder(value, "--vkey", "vkey")
    try:
        return parse_vkey(text)
    except LedgerError as e:
        raise UsageError(f"--vkey is neither a verifier key nor a file holding one: {e}") from None


def _open_checkpoint(data: bytes, keys: list[VerifierKey], what: str) -> SignedCheckpoint:
    try:
        return open_checkpoint(data, keys[0]) if len(keys) == 1 else open_with_any(data, keys)
    except LedgerError as e:
        reason = f"{what}: {e}"
        raise CheckFailed(reason, None, checkpoint_facts(reason, data)) from None


def _hex32(value: Any, where: str) -> bytes:
    if not isinstance(value, str) or not _HASH_HEX_RE.match(value):
        raise CheckFailed(f"{where}: expected 64 lowercase hex digits, found {str(value)[:80]!r}")
    return bytes.fromhex(value)


def _size(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_SAFE_INTEGER:
        raise CheckFailed(f"{where}: expected a non-negative integer, found {value!r}")
    return value


def _proof_file(data: bytes, what: str, keys: tuple[str, ...]) -> dict[str, Any]:
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


def _entry_file(data: bytes) -> bytes:
    """Raw entry bytes (``disclosure-ledger entry`` output, one trailing LF allowed) or an export line."""
    if data.startswith(b'{"entry_b64":'):
        try:
            value = parse_canonical(data.removesuffix(b"\n"))
            if not isinstance(value, dict) or not isinstance(value.get("entry_b64"), str):
                raise CheckFailed("entry file: an export line needs a string entry_b64")
            return b64decode(value["entry_b64"])
        except LedgerError as e:
            raise CheckFailed(f"entry file: not an export line: {e}") from None
    return data.removesuffix(b"\n")


def _peek_size(data: bytes) -> int | None:
    """The tree size a checkpoint claims, before its signature is checked (to know what to record)."""
    lines = data.split(b"\n", 3)
    if len(lines) >= 2 and lines[1].isdigit() and len(lines[1]) <= 19:
        return int(lines[1])
    return None


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


def _check_consistency(previous: SignedCheckpoint, signed: SignedCheckpoint, data: bytes, report: Report) -> None:
    old, new = previous.checkpoint, signed.checkpoint
    if old.origin != new.origin:
        raise CheckFailed(f"previous checkpoint: origin {old.origin!r} differs from {new.origin!r}")
    proof = _proof_file(data, "consistency proof", ("old_size", "new_size", "old_root", "new_root", "path"))
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


def _check_inclusion(signed: SignedCheckpoint, proof_data: bytes, entry_data: bytes, report: Report) -> None:
    cp = signed.checkpoint
    proof = _proof_file(proof_data, "inclusion proof", ("index", "tree_size", "leaf_hash", "root", "path"))
    index = _size(proof["index"], "inclusion proof index")
    data = _entry_file(entry_data)
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
