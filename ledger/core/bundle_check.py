"""Checking an evidence bundle: one request's entries, proved against one checkpoint (docs/VERIFYING.md).

A bundle holds, for one request, a signed checkpoint, the entries of the request's life (request,
match results, reviews, releases and all their chunks, orders, attestations, ...) and every trust
entry up to the checkpoint's size, each entry with its inclusion proof; optionally paths of chosen
lines inside bulk statements (FORMAT § 17.7) and the openings of the bundled commitments.

Pure: the caller reads the files and passes their bytes; every failure is a ``BundleError`` whose
message names what failed and never repeats a committed value (openings are named by field and
commitment only). The order of the checks is fixed: checkpoint, inclusion proofs, signatures under
the trust state of the bundled trust entries (here), then bulk statements complete, line paths and
openings (ledger.core.bundle_lines), and the delivered files it holds (ledger.core.delivered); the files'
shape and bundle.json are ledger.core.bundle_format's.
"""

from __future__ import annotations

from typing import Any

from ledger.core.b64 import b64decode
from ledger.core.bundle_format import (
    BundleEntry,
    BundleError,
    BundleFiles,
    BundleSummary,
    Passed,
    bundle_count,
    bundle_jsonl,
    bundle_path,
    parse_bundle_manifest,
)
from ledger.core.bundle_lines import check_bundle_bulk, check_bundle_lines, check_bundle_openings
from ledger.core.checkpoint import Checkpoint, open_checkpoint
from ledger.core.delivered import check_delivered_files
from ledger.core.entry import ZERO_HASH_HEX, parse_entry
from ledger.core.errors import LedgerError
from ledger.core.keys import VerifierKey
from ledger.core.merkle import leaf_hash
from ledger.core.proofs import verify_inclusion
from ledger.core.statement import parse_statement
from ledger.core.trust import TRUST_TYPES, TrustState


# ---- the verification ---------------------------------------------------------------------------
def open_bundle_checkpoint(data: bytes, trust_root: VerifierKey) -> Checkpoint:
    """Check 1: the checkpoint is signed by the trust root."""
    try:
        return open_checkpoint(data, trust_root).checkpoint
    except LedgerError as e:
        raise BundleError(f"checkpoint: {e}") from None


def verify_bundle(files: BundleFiles, trust_root: VerifierKey, *, check_openings: bool,
                  passed: Passed) -> BundleSummary:
    """Every check of a bundle, in order; raise BundleError at the first that fails."""
    manifest = parse_bundle_manifest(files.manifest)
    cp = open_bundle_checkpoint(files.checkpoint, trust_root)
    if cp.origin != manifest["origin"] or cp.size != manifest["tree_size"]:
        raise BundleError(
            f"bundle.json names origin {manifest['origin']!r} and tree size {manifest['tree_size']}, "
            f"the checkpoint {cp.origin!r} and {cp.size}"
        )
    passed("checkpoint", f"{cp.origin}, size {cp.size}, root {cp.root.hex()}: signed by the trust root")

    entries = _bundle_inclusion(files, manifest, cp, passed)
    signatures = _bundle_signatures(entries, trust_root, cp, passed)
    if not any(be.stmt.type == "request" and be.stmt.id == manifest["request"] for be in entries):
        raise BundleError(f"bundle.json names request {manifest['request'][:130]!r}, which is not in the bundle")
    bulk = check_bundle_bulk(entries, manifest, passed)
    listed, held = manifest["entries"], [be.index for be in entries]
    if held != listed:
        missing = sorted(set(listed) - set(held))
        extra = sorted(set(held) - set(listed))
        raise BundleError(f"entries.jsonl does not hold the entries bundle.json lists "
                          f"(missing {missing[:10]}, not listed {extra[:10]})")
    lines = check_bundle_lines(files.lines, manifest, entries, bulk, passed)
    opened = erased = 0
    if check_openings:
        opened, erased = check_bundle_openings(files.openings, manifest, entries, passed)
    delivered = 0
    if files.delivered:
        delivered = check_delivered_files(files.delivered, manifest["request"], entries, bulk,
                                          files.openings if check_openings else None, passed)
    return BundleSummary(cp.origin, manifest["request"], cp.size, cp.root, len(entries), signatures,
                         sorted(bulk), lines, opened, erased, delivered)


def _bundle_inclusion(files: BundleFiles, manifest: dict[str, Any], cp: Checkpoint,
                     passed: Passed) -> list[BundleEntry]:
    """Check 2: every entry parses and its inclusion proof leads to the checkpoint's root."""
    raw: list[tuple[int, bytes]] = []
    for number, value in bundle_jsonl(files.entries, "entries.jsonl"):
        if not isinstance(value, dict) or set(value) != {"entry_b64", "index"}:
            raise BundleError(f"entries.jsonl line {number}: expected an export line {{entry_b64, index}}")
        index = bundle_count(value["index"], f"entries.jsonl line {number} index")
        if raw and index <= raw[-1][0]:
            raise BundleError(f"entries.jsonl line {number}: entry {index} is out of index order")
        if index >= cp.size:
            raise BundleError(f"entry {index} is past the checkpoint's tree size {cp.size}", index)
        if not isinstance(value["entry_b64"], str):
            raise BundleError("entries.jsonl: entry_b64 must be a string", index)
        try:
            raw.append((index, b64decode(value["entry_b64"])))
        except LedgerError as e:
            raise BundleError(f"entries.jsonl: entry_b64 is not strict base64: {e}", index) from None
    proofs: dict[int, list[bytes]] = {}
    for number, value in bundle_jsonl(files.proofs, "proofs.jsonl"):
        if not isinstance(value, dict) or set(value) != {"index", "tree_size", "path"}:
            raise BundleError(f"proofs.jsonl line {number}: expected {{index, tree_size, path}}")
        index = bundle_count(value["index"], f"proofs.jsonl line {number} index")
        if bundle_count(value["tree_size"], f"proofs.jsonl line {number} tree_size") != cp.size:
            raise BundleError(f"inclusion proof is for tree size {value['tree_size']}, "
                              f"the checkpoint's is {cp.size}", index)
        if index in proofs:
            raise BundleError("two inclusion proofs in proofs.jsonl", index)
        proofs[index] = bundle_path(value["path"], f"inclusion proof of entry {index}")
    out = []
    for index, data in raw:
        path = proofs.pop(index, None)
        if path is None:
            raise BundleError("no inclusion proof in proofs.jsonl", index)
        try:
            verify_inclusion(index, cp.size, leaf_hash(data), path, cp.root)
        except LedgerError as e:
            raise BundleError(f"inclusion proof does not lead to the checkpoint's root: {e}", index) from None
        try:
            entry = parse_entry(data)
            stmt = parse_statement(entry.statement)
        except LedgerError as e:
            raise BundleError(f"malformed entry: {e}", index) from None
        if entry.index != index:
            raise BundleError(f"the entry's own index is {entry.index}", index)
        out.append(BundleEntry(index, data, entry, stmt))
    if proofs:
        raise BundleError(f"proofs.jsonl holds proofs of entries not in the bundle: {sorted(proofs)[:10]}")
    passed("inclusion", f"{len(out)} entries, each included in the checkpoint's tree of size {cp.size}")
    return out


def _bundle_signatures(entries: list[BundleEntry], trust_root: VerifierKey, cp: Checkpoint,
                      passed: Passed) -> int:
    """Check 3: every statement is signed as the trust state of the bundled trust entries requires."""
    if not entries or entries[0].index != 0:
        raise BundleError("entry 0 (genesis) is missing from the bundle: the trust state starts there")
    trust = TrustState()
    signatures = 0
    previous: BundleEntry | None = None
    for be in entries:
        if previous is not None:
            if be.index == previous.index + 1 and be.entry.prev != leaf_hash(previous.data).hex():
                raise BundleError("prev does not link to the previous entry", be.index)
            if be.entry.recorded_at < previous.entry.recorded_at:
                raise BundleError(f"recorded_at decreases (entry {previous.index} was recorded at "
                                  f"{previous.entry.recorded_at})", be.index)
        elif be.entry.prev != ZERO_HASH_HEX:
            raise BundleError("entry 0 must have prev of 64 zeros", be.index)
        trust.size = be.index  # entries of other types change no trust state
        try:
            keys = trust.authorize(be.stmt, be.index, be.entry.recorded_at)
            trust.check_signatures(be.stmt, keys)
            trust.apply(be.stmt, be.index)
        except LedgerError as e:
            rule = getattr(e, "rule", None)
            raise BundleError(f"{rule}: {e}" if rule else str(e), be.index) from None
        signatures += len(keys)
        previous = be
    trust.size = cp.size
    if trust.origin != cp.origin:
        raise BundleError(f"the log's origin (genesis) is {trust.origin!r}, the checkpoint's is {cp.origin!r}")
    if trust_root not in trust.checkpoint_keys:
        raise BundleError(f"the trust root {trust_root} is not one of the log's checkpoint keys "
                          f"(genesis and ledger_key_rotation): {[str(k) for k in trust.checkpoint_keys]}")
    trust_count = sum(1 for be in entries if be.stmt.type in TRUST_TYPES)
    passed("signatures", f"{signatures} signatures on {len(entries)} statements, under the keys, roles and "
                         f"policy of the {trust_count} bundled trust entries")
    return signatures
