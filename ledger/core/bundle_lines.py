"""Checks 4-6 of an evidence bundle: bulk statements complete (every chunk in place, items giving
lines_root), the paths of chosen lines inside their chunks, and the openings of the bundled commitments.
"""

from __future__ import annotations

from typing import Any

from ledger.core.bundle_format import (
    BUNDLE_HEX_RE,
    LINE_RECORD_KEYS,
    BulkStatement,
    BundleEntry,
    BundleError,
    Passed,
    bundle_count,
    bundle_jsonl,
    bundle_list,
    bundle_path,
    statement_commitments,
)
from ledger.core.commitments import Opening, OpeningMismatch, check_commitment_hex, verify_opening
from ledger.core.errors import LedgerError
from ledger.core.lines import BULK_KINDS, CHUNK_LINES, LinesTree, chunk_count, item_leaf, verify_line


def check_bundle_bulk(entries: list[BundleEntry], manifest: dict[str, Any], passed: Passed) -> dict[str, BulkStatement]:
    """Check 4: every bulk statement has all its chunks, in place, and their items give its lines_root."""
    bulk: dict[str, BulkStatement] = {}
    for be in entries:
        stmt = be.stmt
        body = stmt.envelope["body"]
        if stmt.type in BULK_KINDS and "bulk" in body:
            b = body["bulk"]
            try:
                n = bundle_count(b["line_count"], "bulk.line_count")
                c = bundle_count(b["chunk_count"], "bulk.chunk_count")
                root = bytes.fromhex(b["lines_root"]) if BUNDLE_HEX_RE.match(b["lines_root"]) else b""
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


def check_bundle_lines(data: bytes | None, manifest: dict[str, Any], entries: list[BundleEntry],
                 bulk: dict[str, BulkStatement], passed: Passed) -> int:
    """Check 5: each lines.jsonl record proves line K of a bulk statement inside its lines_root."""
    if data is None:
        if manifest["lines"]:
            raise BundleError("bundle.json lists lines but the bundle has no lines.jsonl")
        return 0
    count = 0
    for number, rec in bundle_jsonl(data, "lines.jsonl"):
        where = f"lines.jsonl line {number}"
        if not isinstance(rec, dict) or set(rec) != LINE_RECORD_KEYS:
            raise BundleError(f"{where}: expected exactly {sorted(LINE_RECORD_KEYS)}")
        k = bundle_count(rec["line"], f"{where} line")
        chunk_index = bundle_count(rec["chunk_index"], f"{where} chunk_index")
        position = bundle_count(rec["position"], f"{where} position")
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
        path = bundle_path(rec["path"], f"{where} (line {k} of {kind} {sid})")
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


def check_bundle_openings(data: bytes | None, manifest: dict[str, Any], entries: list[BundleEntry],
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
            erased.update(c for c in bundle_list(be.stmt.envelope["body"].get("commitments")) if isinstance(c, str))
    given: dict[str, Opening] = {}
    for number, rec in bundle_jsonl(data, "openings.jsonl"):
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
