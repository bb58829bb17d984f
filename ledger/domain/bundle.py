"""Writing an evidence bundle for one request (docs/VERIFYING.md, "Evidence bundles").

``write_bundle`` gathers, as of one signed checkpoint, every entry of a request's life and every
trust entry up to the checkpoint's size, with their inclusion proofs; optionally the paths of chosen
lines inside the request's bulk statements, and the openings of the bundled commitments (an
authorised path: they come from the sealed store). ``scripts/verify_ledger.py --bundle`` checks it
offline with ``ledger.core.bundle_check``.

Files (all written 0600 in a new 0700 folder):

- ``bundle.json``      canonical JSON: format, origin, request, tree_size, entries, bulk, incomplete,
                       lines, openings
- ``checkpoint``       the signed checkpoint note the proofs are against
- ``trust_root.vkey``  the ledger's checkpoint verifier key (a court should pin its own copy)
- ``entries.jsonl``    export lines (FORMAT § 12) of the bundled entries, in index order
- ``proofs.jsonl``     ``{"index", "path": [base64 ...], "tree_size"}`` per entry, same order
- ``lines.jsonl``      with ``lines``: ``{"chunk_index", "kind", "line", "path", "position", "statement"}``
- ``openings.jsonl``   with openings: ``{"commitment", "opening": {"field", "salt", "value"}}``
- ``delivered/NAME``   with delivered files: each byte for byte (FORMAT, "The delivered file")
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger.core.b64 import b64encode
from ledger.core.bundle_format import BUNDLE_FORMAT, statement_commitments
from ledger.core.canonical import canonical_bytes
from ledger.core.checkpoint import SignedCheckpoint
from ledger.core.commitments import Opening
from ledger.core.entry import parse_entry
from ledger.core.errors import LedgerError
from ledger.core.lines import BULK_KINDS, CHUNK_LINES, LinesTree, item_leaf, line_path
from ledger.core.statement import Statement, parse_statement
from ledger.core.trust import TRUST_TYPES

# Statement types that may belong to a request's life (chunks are found by their manifest's id).
_TYPES = sorted(TRUST_TYPES | {
    "request", "match_result", "review", "release", "chunk", "withdrawal", "supporting_document",
    "recipient_attestation", "receipt", "disposition", "correction", "court_order", "vacatur", "use_freeze",
    "erasure", "return_for_correction",
})
_BY_REQUEST = frozenset({"match_result", "review", "release", "withdrawal", "supporting_document",
                         "recipient_attestation", "erasure", "return_for_correction"})
_BY_RELEASE = frozenset({"receipt", "disposition"})
_BY_ORDER = frozenset({"vacatur", "use_freeze"})

# (commitments, groups) -> openings: SealedStore.get_many or DisclosureService.openings; the groups
# are the ids of the bulk chunks among the entries (a chunk's openings are sealed as one group)
OpeningSource = Callable[[Iterable[str], Iterable[str]], dict[str, Opening]]


class BundleWriteError(LedgerError):
    """A bundle that cannot be written: no such request, a line no bulk statement holds, ..."""


@dataclass
class _Picked:
    index: int
    data: bytes
    stmt: Statement


@dataclass
class BundleWritten:
    """What was written."""

    out: Path
    request: str
    tree_size: int
    entries: list[int]
    bulk: list[str]
    incomplete: list[str]
    lines: int
    openings: int
    files: list[str] = field(default_factory=list)


def _rows(ledger: Any, size: int) -> Iterator[tuple[int, str, bytes]]:
    """(index, type, entry bytes) of entries below ``size`` whose type may matter, in index order."""
    yield from ledger.entries_of_types(sorted(_TYPES), 0, size)


def _stmt(data: bytes) -> Statement:
    return parse_statement(parse_entry(data).statement)


def _covers(order: Statement, request: Statement) -> bool:
    covers = order.envelope["body"].get("covers") or {}
    body = request.envelope["body"]
    return (request.id in covers.get("requests", []) or body.get("exception") in covers.get("exceptions", [])
            or body.get("purpose") in covers.get("purposes", []) or body.get("agency") in covers.get("agencies", []))


def select_entries(ledger: Any, request_id: str, size: int) -> tuple[list[_Picked], Statement]:
    """Every trust entry below ``size`` and every entry of the request's life, in index order."""
    picked: dict[int, _Picked] = {}
    ids: set[str] = set()          # bundled § 6103 statement ids (chunks' manifests among them)
    bulk_ids: list[bytes] = []     # ids of bundled bulk statements, to find their chunks
    releases: set[str] = set()
    request: Statement | None = None
    orders: list[_Picked] = []     # court orders: which cover the request is known at the end
    by_order: list[_Picked] = []   # vacaturs and use freezes
    corrections: list[_Picked] = []
    for idx, stype, data in _rows(ledger, size):
        if stype in TRUST_TYPES:
            picked[idx] = _Picked(idx, data, _stmt(data))
            continue
        if stype == "chunk":
            if not any(b in data for b in bulk_ids):  # cheap: a chunk of ours holds its manifest's id
                continue
            stmt = _stmt(data)
            if stmt.envelope["body"].get("of") in ids:
                picked[idx] = _Picked(idx, data, stmt)
            continue
        stmt = _stmt(data)
        body = stmt.envelope["body"]
        mine = False
        if stype == "request":
            mine = stmt.id == request_id
            if mine:
                request = stmt
        elif stype in _BY_REQUEST:
            mine = body.get("request") == request_id
            if mine and stype == "release":
                releases.add(stmt.id)
        elif stype in _BY_RELEASE:
            mine = body.get("release") in releases
        elif stype == "court_order":
            orders.append(_Picked(idx, data, stmt))
        elif stype in _BY_ORDER:
            by_order.append(_Picked(idx, data, stmt))
        elif stype == "correction":
            corrections.append(_Picked(idx, data, stmt))
        if mine:
            picked[idx] = _Picked(idx, data, stmt)
            ids.add(stmt.id)
            if stype in BULK_KINDS and "bulk" in body:
                bulk_ids.append(stmt.id.encode("utf-8"))
    if request is None:
        raise BundleWriteError(f"no request {request_id!r} in the log below tree size {size}")
    cited = request.envelope["body"].get("court_order")
    for p in orders:
        if p.stmt.id == cited or _covers(p.stmt, request):
            picked[p.index] = p
            ids.add(p.stmt.id)
    for p in by_order:
        if p.stmt.envelope["body"].get("order") in ids:
            picked[p.index] = p
            ids.add(p.stmt.id)
    for p in corrections:
        if p.stmt.envelope["body"].get("corrects") in ids:
            picked[p.index] = p
    return [picked[i] for i in sorted(picked)], request


@dataclass
class _Bulk:
    manifest: _Picked
    line_count: int
    chunk_count: int
    chunks: list[_Picked] = field(default_factory=list)


def _bulk_statements(entries: list[_Picked]) -> dict[str, _Bulk]:
    bulk: dict[str, _Bulk] = {}
    for p in entries:
        body = p.stmt.envelope["body"]
        if p.stmt.type in BULK_KINDS and "bulk" in body:
            bulk[p.stmt.id] = _Bulk(p, body["bulk"]["line_count"], body["bulk"]["chunk_count"])
        elif p.stmt.type == "chunk" and body.get("of") in bulk:
            bulk[body["of"]].chunks.append(p)
    return bulk


def line_records(bulk: dict[str, _Bulk], lines: Sequence[int]) -> list[dict[str, Any]]:
    """For each line K and each complete bulk statement holding it: K's path in its lines_root."""
    trees: dict[str, tuple[list[list[Any]], list[list[bytes]], list[bytes]]] = {}
    for sid, b in bulk.items():
        if len(b.chunks) != b.chunk_count:
            continue  # incomplete in the log: no lines_root to prove against yet
        items_of = [c.stmt.envelope["body"]["lines"] for c in b.chunks]
        tree = LinesTree()
        leaves_of = []
        for items in items_of:
            leaves_of.append([item_leaf(item) for item in items])
            tree.add_chunk(leaves_of[-1])
        trees[sid] = (items_of, leaves_of, tree.chunk_roots)
    out: list[dict[str, Any]] = []
    for k in lines:
        found = 0
        for sid, (items_of, leaves_of, chunk_roots) in trees.items():
            b = bulk[sid]
            kind = b.manifest.stmt.type
            if kind == "release":
                g = next((c * CHUNK_LINES + p for c, items in enumerate(items_of)
                          for p, item in enumerate(items) if item == k), None)
            else:
                g = k if 0 <= k < b.line_count else None
            if g is None:
                continue
            c, position = divmod(g, CHUNK_LINES)
            path = line_path(g, leaves_of[c], chunk_roots, b.line_count)
            out.append({"statement": sid, "kind": kind, "line": k, "chunk_index": b.chunks[c].index,
                        "position": position, "path": [b64encode(h) for h in path]})
            found += 1
        if not found:
            raise BundleWriteError(f"line {k} is in no complete bulk statement of the request")
    return out


def _write(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _delivered(entries: list[_Picked], paths: Sequence[Path]) -> list[tuple[str, bytes]]:
    """(name, bytes) of each delivered file, each the file of one of the bundled releases."""
    signed = {p.stmt.envelope["body"].get("file_sha256") for p in entries if p.stmt.type == "release"}
    out: list[tuple[str, bytes]] = []
    for path in paths:
        try:
            data = Path(path).read_bytes()
        except OSError as e:
            raise BundleWriteError(f"--delivered {path}: cannot be read ({e.strerror})") from None
        if hashlib.sha256(data).hexdigest() not in signed:
            raise BundleWriteError(f"--delivered {path}: its SHA-256 is no release's file_sha256 in this bundle")
        if Path(path).name in {n for n, _ in out}:
            raise BundleWriteError(f"--delivered {path}: two delivered files are named {Path(path).name}")
        out.append((Path(path).name, data))
    return out


def _jsonl(values: Iterable[Any]) -> bytes:
    return b"".join(canonical_bytes(v) + b"\n" for v in values)


def write_bundle(ledger: Any, request_id: str, out: Path, *, lines: Sequence[int] = (),
                 openings: OpeningSource | None = None, checkpoint: SignedCheckpoint | None = None,
                 delivered: Sequence[Path] = ()) -> BundleWritten:
    """Write the bundle of ``request_id`` into the new or empty folder ``out``.

    ``checkpoint`` defaults to ``ledger.checkpoint()``: the latest published checkpoint (unwitnessed:
    signing one for the current size when the latest is behind; with a witness policy: the latest a
    quorum cosigned, its cosignatures included, and the policy is shipped as ``witness.policy``).
    ``openings`` (e.g. ``DisclosureService.openings``) is given only to an authorised caller: the
    openings are return information. ``delivered``: files the request's releases delivered (written by
    ``release-file``), copied into ``delivered/`` for the court to check against the releases.
    """
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BundleWriteError(f"{out} exists and is not an empty folder")
    signed = checkpoint or ledger.checkpoint()
    size = signed.checkpoint.size
    entries, _request = select_entries(ledger, request_id, size)
    delivered_files = _delivered(entries, delivered)
    bulk = _bulk_statements(entries)
    incomplete = sorted(sid for sid, b in bulk.items() if len(b.chunks) != b.chunk_count)
    wanted = sorted(set(lines))
    records = line_records(bulk, wanted) if wanted else []
    opening_records: list[dict[str, Any]] = []
    if openings is not None:
        needed: dict[str, str] = {}
        erased: set[str] = set()
        for p in entries:
            for f, c in statement_commitments(p.stmt):
                needed.setdefault(c, f)
            if p.stmt.type == "erasure":
                erased.update(p.stmt.envelope["body"].get("commitments", []))
        found = openings(list(needed), [p.stmt.id for p in entries if p.stmt.type == "chunk"])
        for c, f in needed.items():
            if c in found:
                opening_records.append({"commitment": c, "opening": found[c].to_json()})
            elif c not in erased:
                raise BundleWriteError(f"the sealed store holds no opening of {c[:16]}… (field {f})")
    manifest: dict[str, Any] = {
        "format": BUNDLE_FORMAT, "origin": signed.checkpoint.origin, "request": request_id, "tree_size": size,
        "entries": [p.index for p in entries], "bulk": sorted(bulk), "incomplete": incomplete, "lines": wanted,
        "openings": openings is not None,
    }
    proofs = []
    for p in entries:
        proof = ledger.inclusion_proof(p.index, size)
        proofs.append({"index": p.index, "tree_size": size,
                       "path": [b64encode(bytes.fromhex(h)) for h in proof["path"]]})
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    files = {
        "bundle.json": canonical_bytes(manifest) + b"\n",
        "checkpoint": signed.encode().encode("utf-8"),
        "trust_root.vkey": f"{ledger.trust_root()}\n".encode(),
        "entries.jsonl": _jsonl({"entry_b64": b64encode(p.data), "index": p.index} for p in entries),
        "proofs.jsonl": _jsonl(proofs),
    }
    if wanted:
        files["lines.jsonl"] = _jsonl(records)
    if openings is not None:
        files["openings.jsonl"] = _jsonl(opening_records)
    policy_file = getattr(getattr(ledger, "settings", None), "witness_policy", None)
    if policy_file is not None:
        # The operator's witness policy, for the reader's information: a court's own --policy decides,
        # and refuses a shipped one naming witnesses it does not trust.
        files["witness.policy"] = Path(policy_file).read_bytes()
    if delivered_files:
        (out / "delivered").mkdir(mode=0o700)
        files.update((f"delivered/{name}", data) for name, data in delivered_files)
    for name, data in files.items():
        _write(out / name, data)
    return BundleWritten(out, request_id, size, manifest["entries"], manifest["bulk"], incomplete, len(records),
                         len(opening_records), sorted(files))
