"""Checking the proof files the court is given: a consistency proof between two checkpoints, and an
inclusion proof of one entry (docs/VERIFYING.md § 5.6).

The files are JSON as ``disclosure-ledger proof`` writes them; the entry file is the entry's raw
bytes (one trailing LF allowed) or its export line. Each check records what it established in the
Report and raises CheckFailed (ledger.core.pipeline) at the first thing that does not hold.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ledger.core.b64 import b64decode
from ledger.core.canonical import MAX_SAFE_INTEGER, parse_canonical
from ledger.core.checkpoint import SignedCheckpoint
from ledger.core.entry import parse_entry
from ledger.core.errors import LedgerError
from ledger.core.merkle import leaf_hash
from ledger.core.pipeline import CheckFailed
from ledger.core.proofs import verify_consistency, verify_inclusion
from ledger.core.verify_report import Report

_HASH_HEX_RE = re.compile(r"[0-9a-f]{64}\Z")


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


def check_consistency_file(
    previous: SignedCheckpoint, signed: SignedCheckpoint, data: bytes, report: Report
) -> None:
    """The consistency proof in ``data`` proves ``previous`` a prefix of ``signed`` (CheckFailed if not)."""
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


def check_inclusion_file(signed: SignedCheckpoint, proof_data: bytes, entry_data: bytes, report: Report) -> None:
    """The inclusion proof in ``proof_data`` puts the entry in ``entry_data`` in ``signed``'s tree.

    CheckFailed (naming the proof's index once known) if it does not.
    """
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
