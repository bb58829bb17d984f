"""Checking an evidence bundle: one request's entries, proved against one checkpoint (docs/VERIFYING.md).

A bundle holds, for one request, a signed checkpoint, the entries of the request's life (request,
match results, reviews, releases and all their chunks, orders, attestations, ...) and every trust
entry up to the checkpoint's size, each entry with its inclusion proof; optionally paths of chosen
lines inside bulk statements (FORMAT § 17.7) and the openings of the bundled commitments.

Pure: the caller reads the files and passes their bytes; every failure is a ``BundleError`` whose
message names what failed and never repeats a committed value (openings are named by field and
commitment only). The order of the checks is fixed: checkpoint, inclusion proofs, signatures under
the trust state of the bundled trust entries, bulk statements complete, line paths, openings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ledger.b64 import b64decode
from ledger.canonical import parse_canonical
from ledger.checkpoint import Checkpoint, open_checkpoint
from ledger.commitments import Opening, OpeningMismatch, check_commitment_hex, verify_opening
from ledger.entry import ZERO_HASH_HEX, Entry, parse_entry
from ledger.errors import LedgerError
from ledger.keys import VerifierKey
from ledger.lines import BULK_KINDS, CHUNK_LINES, LinesTree, chunk_count, item_leaf, verify_line
from ledger.merkle import leaf_hash
from ledger.proofs import verify_inclusion
from ledger.statement import Statement, parse_statement
from ledger.trust import TRUST_TYPES, TrustState

BUNDLE_FORMAT = "dl-bundle/v1"
BUNDLE_KEYS = frozenset({"format", "origin", "request", "tree_size", "entries", "bulk", "incomplete", "lines",
                         "openings"})
LINE_RECORD_KEYS = frozenset({"statement", "kind", "line", "chunk_index", "position", "path"})
_BUNDLE_HEX_RE = re.compile(r"[0-9a-f]{64}\Z")


class BundleError(LedgerError):
    """A bundle that does not verify: ``reason`` says what, ``index`` names the entry when there is one."""

    def __init__(self, reason: str, index: int | None = None) -> None:
        self.reason = reason
        self.index = index
        super().__init__(f"entry {index}: {reason}" if index is not None else reason)


@dataclass(frozen=True)
class BundleFiles:
    """The bytes of a bundle's files (None: the file is absent)."""

    manifest: bytes
    checkpoint: bytes
    entries: bytes
    proofs: bytes
    lines: bytes | None = None
    openings: bytes | None = None


@dataclass
class BundleEntry:
    index: int
    data: bytes
    entry: Entry
    stmt: Statement


@dataclass
class BulkStatement:
    """A bundled bulk statement and its chunks (by chunk number), checked complete."""

    stmt: BundleEntry
    line_count: int
    chunk_count: int
    lines_root: bytes
    chunks: dict[int, BundleEntry] = field(default_factory=dict)


@dataclass
class BundleSummary:
    """What a verified bundle established."""

    origin: str
    request: str
    tree_size: int
    root: bytes
    entries: int
    signatures: int
    bulk: list[str]
    lines: int
    openings: int
    erased: int


# ---- small parsers ------------------------------------------------------------------------------
def _bundle_jsonl(data: bytes, what: str) -> Iterator[tuple[int, Any]]:
    """(line number from 1, canonical JSON value) of a JSON Lines file."""
    if data and not data.endswith(b"\n"):
        raise BundleError(f"{what}: the file does not end with LF")
    for number, line in enumerate(data.split(b"\n")[:-1] if data else [], 1):
        try:
            yield number, parse_canonical(line)
        except LedgerError as e:
            raise BundleError(f"{what} line {number} is not canonical JSON: {e}") from None


def _bundle_count(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BundleError(f"{where}: expected a non-negative integer, found {str(value)[:40]!r}")
    return value


def _bundle_path(value: Any, where: str) -> list[bytes]:
    if not isinstance(value, list):
        raise BundleError(f"{where}: path must be a list of base64 hashes")
    out = []
    for i, h in enumerate(value):
        if not isinstance(h, str):
            raise BundleError(f"{where}: path[{i}] is not a string")
        try:
            out.append(b64decode(h, length=32))
        except LedgerError as e:
            raise BundleError(f"{where}: path[{i}] is not a base64 32-byte hash: {e}") from None
    return out


def parse_bundle_manifest(data: bytes) -> dict[str, Any]:
    """bundle.json: an object with exactly BUNDLE_KEYS, of the right types."""
    try:
        value = parse_canonical(data.removesuffix(b"\n"))
    except LedgerError as e:
        raise BundleError(f"bundle.json is not canonical JSON: {e}") from None
    if not isinstance(value, dict) or set(value) != BUNDLE_KEYS:
        found = sorted(value) if isinstance(value, dict) else type(value).__name__
        raise BundleError(f"bundle.json must hold exactly {sorted(BUNDLE_KEYS)}, found {found}")
    if value["format"] != BUNDLE_FORMAT:
        raise BundleError(f"bundle.json: format is {str(value['format'])[:40]!r}, expected {BUNDLE_FORMAT!r}")
    for key in ("origin", "request"):
        if not isinstance(value[key], str):
            raise BundleError(f"bundle.json: {key} must be a string")
    _bundle_count(value["tree_size"], "bundle.json tree_size")
    for key in ("entries", "lines"):
        if not isinstance(value[key], list):
            raise BundleError(f"bundle.json: {key} must be a list of integers")
        for i, x in enumerate(value[key]):
            _bundle_count(x, f"bundle.json {key}[{i}]")
    for key in ("bulk", "incomplete"):
        if not isinstance(value[key], list) or not all(isinstance(x, str) for x in value[key]):
            raise BundleError(f"bundle.json: {key} must be a list of statement ids")
    if not isinstance(value["openings"], bool):
        raise BundleError("bundle.json: openings must be true or false")
    return value


def statement_commitments(stmt: Statement) -> list[tuple[str, str]]:
    """(field, commitment) of every commitment a § 6103 statement carries (FORMAT § 17.3, 17.4.10, 17.7).

    The same list as the disclosure service's ``body_commitments``, computed here from the
    statement alone so that the court's verifier can check openings without the service.
    """
    body = stmt.envelope["body"]
    out: list[tuple[str, Any]] = []
    kind = body.get("kind") if stmt.type == "chunk" else stmt.type
    if stmt.type == "request":
        out.append(("purpose_text", body.get("purpose_text")))
        out.extend(("recipient_name", r.get("name")) for r in _bundle_dicts(body.get("recipients")))
        out.extend(("case_id", c) for c in _bundle_list(body.get("case_ids")))
    if kind == "request":
        for line in _bundle_dicts(body.get("lines")):
            out.extend((f, line.get(f)) for f in ("tin", "name", "address", "reason"))
    elif kind == "match_result":
        out.extend(("tin", line.get("taxpayer")) for line in _bundle_dicts(body.get("lines")))
    elif stmt.type == "court_order":
        out.append(("docket", body.get("docket")))
    elif stmt.type == "correction":
        out.append(("correction_reason", body.get("reason")))
    elif stmt.type == "inspection":
        out.extend([("pseudonym", body.get("subject")), ("inspection_purpose", body.get("purpose"))])
    return [(f, c) for f, c in out if isinstance(c, str)]


def _bundle_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _bundle_dicts(value: Any) -> list[dict[str, Any]]:
    return [x for x in _bundle_list(value) if isinstance(x, dict)]


# ---- the verification ---------------------------------------------------------------------------
Passed = Callable[[str, str], None]


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
    bulk = _bundle_bulk(entries, manifest, passed)
    listed, held = manifest["entries"], [be.index for be in entries]
    if held != listed:
        missing = sorted(set(listed) - set(held))
        extra = sorted(set(held) - set(listed))
        raise BundleError(f"entries.jsonl does not hold the entries bundle.json lists "
                          f"(missing {missing[:10]}, not listed {extra[:10]})")
    lines = _bundle_lines(files.lines, manifest, entries, bulk, passed)
    opened = erased = 0
    if check_openings:
        opened, erased = _bundle_openings(files.openings, manifest, entries, passed)
    return BundleSummary(cp.origin, manifest["request"], cp.size, cp.root, len(entries), signatures,
                         sorted(bulk), lines, opened, erased)


def _bundle_inclusion(files: BundleFiles, manifest: dict[str, Any], cp: Checkpoint,
                     passed: Passed) -> list[BundleEntry]:
    """Check 2: every entry parses and its inclusion proof leads to the checkpoint's root."""
    raw: list[tuple[int, bytes]] = []
    for number, value in _bundle_jsonl(files.entries, "entries.jsonl"):
        if not isinstance(value, dict) or set(value) != {"entry_b64", "index"}:
            raise BundleError(f"entries.jsonl line {number}: expected an export line {{entry_b64, index}}")
        index = _bundle_count(value["index"], f"entries.jsonl line {number} index")
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
    for number, value in _bundle_jsonl(files.proofs, "proofs.jsonl"):
        if not isinstance(value, dict) or set(value) != {"index", "tree_size", "path"}:
            raise BundleError(f"proofs.jsonl line {number}: expected {{index, tree_size, path}}")
        index = _bundle_count(value["index"], f"proofs.jsonl line {number} index")
        if _bundle_count(value["tree_size"], f"proofs.jsonl line {number} tree_size") != cp.size:
            raise BundleError(f"inclusion proof is for tree size {value['tree_size']}, "
                              f"the checkpoint's is {cp.size}", index)
        if index in proofs:
            raise BundleError("two inclusion proofs in proofs.jsonl", index)
        proofs[index] = _bundle_path(value["path"], f"inclusion proof of entry {index}")
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


def _bundle_bulk(entries: list[BundleEntry], manifest: dict[str, Any], passed: Passed) -> dict[str, BulkStatement]:
    """Check 4: every bulk statement has all its chunks, in place, and their items give its lines_root."""
    bulk: dict[str, BulkStatement] = {}
    for be in entries:
        stmt = be.stmt
        body = stmt.envelope["body"]
        if stmt.type in BULK_KINDS and "bulk" in body:
            b = body["bulk"]
            try:
                n = _bundle_count(b["line_count"], "bulk.line_count")
                c = _bundle_count(b["chunk_count"], "bulk.chunk_count")
                root = bytes.fromhex(b["lines_root"]) if _BUNDLE_HEX_RE.match(b["lines_root"]) else b""
            except (TypeError, KeyError, BundleError):
                raise BundleError(f"{stmt.type} {stmt.id}: malformed bulk member", be.index) from None
            if n < 1 or c != chunk_count(n) or len(root) != 32:
                raise BundleError(f"{stmt.type} {stmt.id}: bulk member is inconsistent ({n} lines, {c} chunks)",
                                  be.index)
            bulk[stmt.id] = BulkStatement(be, n, c, root)
        elif stmt.type == "chunk":
            of = body.get("of")
            owner = bulk.get(of) if isinstance(of, str) else None
            if owner is None:
                raise BundleError(f"chunk {stmt.id} belongs to {str(of)[:130]!r}, which is not a bulk statement "
                                  "before it in the bundle", be.index)
            what = f"{owner.stmt.stmt.type} {owner.stmt.stmt.id}"
            if body.get("kind") != owner.stmt.stmt.type:
                raise BundleError(f"{what}: chunk {stmt.id} says its kind is {str(body.get('kind'))[:40]!r}",
                                  be.index)
            if stmt.signers != owner.stmt.stmt.signers:
                raise BundleError(f"{what}: chunk {stmt.id} is signed by {stmt.signers}, the manifest by "
                                  f"{owner.stmt.stmt.signers}", be.index)
            number = body.get("chunk")
            if not isinstance(number, int) or isinstance(number, bool) or not 0 <= number < owner.chunk_count:
                raise BundleError(f"{what}: chunk number {str(number)[:20]} is not in 0..{owner.chunk_count - 1}",
                                  be.index)
            if number in owner.chunks:
                raise BundleError(f"{what}: chunk {number} appears twice (entries {owner.chunks[number].index} "
                                  f"and {be.index})", be.index)
            owner.chunks[number] = be
    listed = manifest["bulk"]
    if sorted(listed) != sorted(bulk):
        raise BundleError(f"bundle.json lists bulk statements {sorted(listed)}, the bundle holds {sorted(bulk)}")
    incomplete = set(manifest["incomplete"])
    for sid, b in bulk.items():
        what = f"{b.stmt.stmt.type} {sid}"
        tree = LinesTree()
        for number in range(b.chunk_count):
            part = b.chunks.get(number)
            if part is None:
                note = (" (bundle.json says the log itself holds only the chunks before it: the statement is "
                        "incomplete in the log)") if sid in incomplete else ""
                raise BundleError(f"{what}: chunk {number} of {b.chunk_count} is missing from the bundle{note}")
            if number and part.index < b.chunks[number - 1].index:
                raise BundleError(f"{what}: chunk {number} is at entry {part.index}, before chunk {number - 1}",
                                  part.index)
            body = part.stmt.envelope["body"]
            items = body.get("lines")
            expected = min(CHUNK_LINES, b.line_count - number * CHUNK_LINES)
            if body.get("first_line") != number * CHUNK_LINES:
                raise BundleError(f"{what}: chunk {number} has first_line {str(body.get('first_line'))[:20]}, "
                                  f"expected {number * CHUNK_LINES}", part.index)
            if not isinstance(items, list) or len(items) != expected:
                found = len(items) if isinstance(items, list) else "no"
                raise BundleError(f"{what}: chunk {number} holds {found} items, expected {expected}", part.index)
            try:
                tree.add_chunk([item_leaf(item) for item in items])
            except LedgerError as e:
                raise BundleError(f"{what}: chunk {number}: {e}", part.index) from None
        if tree.root() != b.lines_root:
            raise BundleError(f"{what}: the items of its {b.chunk_count} chunks give the root {tree.root().hex()}, "
                              f"the manifest's lines_root is {b.lines_root.hex()}", b.stmt.index)
    if bulk:
        passed("bulk", f"{len(bulk)} bulk statements complete: every chunk present and in place, items recomputed "
                       "to each manifest's lines_root")
    return bulk


def _bundle_line_of(kind: str, item: Any, global_position: int) -> int | None:
    """The request line an item is about (None when the item names none)."""
    if kind == "request":
        return global_position
    if kind == "release":
        return item if isinstance(item, int) and not isinstance(item, bool) else None
    line = item.get("line") if isinstance(item, dict) else None
    return line if isinstance(line, int) and not isinstance(line, bool) else None


def _bundle_held(kind: str, items: list[Any], first: int) -> str:
    if kind == "release":
        return f"released lines {items[0]}..{items[-1]}" if items else "no lines"
    return f"lines {first}..{first + len(items) - 1}"


def _bundle_lines(data: bytes | None, manifest: dict[str, Any], entries: list[BundleEntry],
                 bulk: dict[str, BulkStatement], passed: Passed) -> int:
    """Check 5: each lines.jsonl record proves line K of a bulk statement inside its lines_root."""
    if data is None:
        if manifest["lines"]:
            raise BundleError("bundle.json lists lines but the bundle has no lines.jsonl")
        return 0
    count = 0
    for number, rec in _bundle_jsonl(data, "lines.jsonl"):
        where = f"lines.jsonl line {number}"
        if not isinstance(rec, dict) or set(rec) != LINE_RECORD_KEYS:
            raise BundleError(f"{where}: expected exactly {sorted(LINE_RECORD_KEYS)}")
        k = _bundle_count(rec["line"], f"{where} line")
        chunk_index = _bundle_count(rec["chunk_index"], f"{where} chunk_index")
        position = _bundle_count(rec["position"], f"{where} position")
        sid = rec["statement"]
        b = bulk.get(sid) if isinstance(sid, str) else None
        if b is None:
            raise BundleError(f"{where}: {str(sid)[:130]!r} is not a bulk statement of the bundle")
        kind = b.stmt.stmt.type
        if rec["kind"] != kind:
            raise BundleError(f"{where}: kind {str(rec['kind'])[:40]!r}, but {sid} is a {kind}")
        chunk = next((c for c in b.chunks.values() if c.index == chunk_index), None)
        if chunk is None:
            raise BundleError(f"line {k} of {kind} {sid}: entry {chunk_index} is not one of its chunks")
        body = chunk.stmt.envelope["body"]
        items, first = body["lines"], body["first_line"]
        held = [_bundle_line_of(kind, item, first + p) for p, item in enumerate(items)]
        if k not in held:
            raise BundleError(
                f"line {k} is not in chunk entry {chunk_index}: it holds {_bundle_held(kind, items, first)}"
            )
        if position >= len(items) or held[position] != k:
            raise BundleError(f"line {k} of {kind} {sid} is not at position {position} of chunk entry "
                              f"{chunk_index}: it is at position {held.index(k)}")
        path = _bundle_path(rec["path"], f"{where} (line {k} of {kind} {sid})")
        try:
            verify_line(first + position, b.line_count, items[position], path, b.lines_root)
        except LedgerError as e:
            raise BundleError(f"line {k} of {kind} {sid}: its path does not lead to lines_root: {e}") from None
        count += 1
    wanted = set(manifest["lines"])
    if count:
        passed("lines", f"{count} line proofs ({', '.join(map(str, sorted(wanted))) or 'none listed'}) verify "
                        "inside their chunks and their manifests' lines_root")
    return count


def _bundle_openings(data: bytes | None, manifest: dict[str, Any], entries: list[BundleEntry],
                    passed: Passed) -> tuple[int, int]:
    """Check 6: every bundled commitment has its opening, each opening verifies, none is left over."""
    if data is None or not manifest["openings"]:
        raise BundleError("--openings: the bundle holds no openings.jsonl (it was written without --openings)")
    needed: dict[str, tuple[str, BundleEntry]] = {}
    erased: set[str] = set()
    for be in entries:
        for f, c in statement_commitments(be.stmt):
            needed.setdefault(c, (f, be))
        if be.stmt.type == "erasure":
            erased.update(c for c in _bundle_list(be.stmt.envelope["body"].get("commitments")) if isinstance(c, str))
    given: dict[str, Opening] = {}
    for number, rec in _bundle_jsonl(data, "openings.jsonl"):
        where = f"openings.jsonl line {number}"
        if not isinstance(rec, dict) or set(rec) != {"commitment", "opening"}:
            raise BundleError(f"{where}: expected exactly commitment and opening")
        try:
            commitment = check_commitment_hex(rec["commitment"])
            opening = Opening.from_json(rec["opening"])
        except LedgerError as e:
            raise BundleError(f"{where}: {e}") from None
        if commitment in given:
            raise BundleError(f"{where}: a second opening of {commitment[:16]}…")
        given[commitment] = opening
    skipped = 0
    for commitment, (f, be) in needed.items():
        found = given.pop(commitment) if commitment in given else None
        what = f"{be.stmt.type} {be.stmt.id}"
        if found is None:
            if commitment in erased:
                skipped += 1
                continue
            raise BundleError(f"no opening of {commitment[:16]}… (field {f}) of {what}", be.index)
        if found.field != f:
            raise BundleError(f"opening of {commitment[:16]}… is for field {found.field}, {what} commits "
                              f"field {f} there", be.index)
        try:
            verify_opening(commitment, found)
        except OpeningMismatch:
            raise BundleError(f"opening of {commitment[:16]}… (field {f}) does not match its commitment",
                              be.index) from None
        except LedgerError as e:
            raise BundleError(f"opening of {commitment[:16]}… (field {f}): {type(e).__name__}", be.index) from None
    if given:
        extra = sorted(given)
        raise BundleError(f"{len(extra)} openings match no commitment of the bundled statements "
                          f"(first {extra[0][:16]}…)")
    passed("openings", f"{len(needed) - skipped} openings verify against their commitments"
                       + (f"; {skipped} erased by a bundled erasure statement" if skipped else ""))
    return len(needed) - skipped, skipped
