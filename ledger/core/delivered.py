"""The disclosure file a release delivers (docs/FORMAT.md, "The delivered file"), and its check.

A delivered file is UTF-8 text, one canonical JSON object per line, each ending in LF:

    {"fields":["address","name"],"format":"dl-disclosure-file/v1","lines":3,"request":"…","review":"…"}
    {"address":"…","line":4,"name":"…"}
    …

the header first (``fields``: the release's fields, in the release's order; ``lines``: how many rows
follow), then one row per released line in increasing line order, holding ``line`` and exactly the
released fields. A row's ``name`` and ``address`` are the request line's own values (those its
commitments open to); its ``tin`` is the TIN the match result committed to for that line. The
release signs the file's SHA-256 (``file_sha256``), so a file is tied to exactly one release.

``check_delivered`` checks a file against the bundled statements: its hash is a release's, its header
names that release's request, review and fields, its rows are exactly the release's lines, each
approved by the review, with exactly the released fields; with the openings, every value is the one
its commitment opens to. Pure: the caller passes bytes; errors are BundleError naming the file, the
row and the field, never a value.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from ledger.core.bundle_format import BulkStatement, BundleEntry, BundleError, Passed, bundle_jsonl
from ledger.core.canonical import canonical_bytes, parse_canonical
from ledger.core.commitments import Opening, check_commitment_hex
from ledger.core.errors import LedgerError

DELIVERED_FORMAT = "dl-disclosure-file/v1"
DELIVERED_FIELDS = ("address", "name", "tin")  # the fields a delivered file can carry, and where each comes from
_HEADER_KEYS = frozenset({"format", "request", "review", "fields", "lines"})


def delivered_file(request: str, review: str, fields: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> bytes:
    """The file's bytes: the header and ``rows`` (each ``{"line": k, field: value, ...}``, increasing ``line``)."""
    header = {"format": DELIVERED_FORMAT, "request": request, "review": review, "fields": list(fields),
              "lines": len(rows)}
    return b"".join(canonical_bytes(x) + b"\n" for x in [header, *rows])


def statement_items(entries: Sequence[BundleEntry], bulk: Mapping[str, BulkStatement], statement_id: str) -> list[Any]:
    """The items of a bundled lifecycle statement: its own ``lines``, or its chunks' in order."""
    for be in entries:
        if be.stmt.id == statement_id:
            body = be.stmt.envelope["body"]
            if "lines" in body:
                return list(body["lines"])
            held = bulk.get(statement_id)
            if held is None:
                return []
            return [item for c in sorted(held.chunks) for item in held.chunks[c].stmt.envelope["body"]["lines"]]
    return []


def bundle_openings(data: bytes | None) -> dict[str, Opening]:
    """openings.jsonl by commitment (already checked by ``check_bundle_openings``)."""
    out: dict[str, Opening] = {}
    if data is None:
        return out
    for _, rec in bundle_jsonl(data, "openings.jsonl"):
        out[check_commitment_hex(rec["commitment"])] = Opening.from_json(rec["opening"])
    return out


def check_delivered(name: str, data: bytes, request_id: str, entries: Sequence[BundleEntry],
                    bulk: Mapping[str, BulkStatement], openings: Mapping[str, Opening] | None) -> str:
    """Check one delivered file (``name`` for messages) against the bundle; the release it belongs to."""
    digest = hashlib.sha256(data).hexdigest()
    releases = [be for be in entries if be.stmt.type == "release"
                and be.stmt.envelope["body"].get("file_sha256") == digest]
    if not releases:
        raise BundleError(f"delivered file {name}: its SHA-256 {digest[:16]}… is no bundled release's file_sha256")
    release = releases[0].stmt
    body = release.envelope["body"]
    lines = [x.rstrip(b"\r") for x in data.split(b"\n")]
    if not data.endswith(b"\n") or lines[-1] != b"":
        raise BundleError(f"delivered file {name}: each line must end with LF")
    lines.pop()
    try:
        header = parse_canonical(lines[0]) if lines else None
    except LedgerError as e:
        raise BundleError(f"delivered file {name}, line 1: not canonical JSON ({e})") from None
    if not isinstance(header, dict) or set(header) != _HEADER_KEYS or header["format"] != DELIVERED_FORMAT:
        raise BundleError(f"delivered file {name}, line 1: not a {DELIVERED_FORMAT} header")
    for key, want in (("request", request_id), ("review", body["review"]), ("fields", body["fields"])):
        if header[key] != want:
            raise BundleError(f"delivered file {name}: the header's {key} is not release {release.id}'s")
    released = statement_items(entries, bulk, release.id)
    if header["lines"] != len(released) or len(lines) - 1 != len(released):
        raise BundleError(f"delivered file {name}: {len(lines) - 1} rows, release {release.id} released "
                          f"{len(released)} lines")
    approved = {item["line"] for item in statement_items(entries, bulk, body["review"])
                if item.get("decision") == "approve"}
    request_lines = statement_items(entries, bulk, request_id)
    match_id = next((be.stmt.id for be in entries if be.stmt.type == "match_result"
                     and be.stmt.envelope["body"].get("request") == request_id), None)
    match_lines = {item["line"]: item for item in statement_items(entries, bulk, match_id)} if match_id else {}
    fields = list(body["fields"])
    for number, (raw, k) in enumerate(zip(lines[1:], released, strict=True), start=2):
        where = f"delivered file {name}, line {number}"
        try:
            row = parse_canonical(raw)
        except LedgerError as e:
            raise BundleError(f"{where}: not canonical JSON ({e})") from None
        if not isinstance(row, dict) or set(row) != {"line", *fields}:
            raise BundleError(f"{where}: a row holds exactly line and the released fields {fields}")
        if row["line"] != k:
            raise BundleError(f"{where}: the row is for line {row['line']}, the release's next line is {k}")
        if k not in approved:
            raise BundleError(f"{where}: line {k} is not approved by review {body['review']}")
        if openings is None:
            continue
        for f in fields:
            if f == "tin":
                commitment = match_lines.get(k, {}).get("taxpayer")
            elif f in DELIVERED_FIELDS and 0 <= k < len(request_lines):
                commitment = request_lines[k].get(f)
            else:
                commitment = None
            opening = openings.get(commitment) if isinstance(commitment, str) else None
            if opening is None:
                raise BundleError(f"{where}, field {f}: no bundled opening to check it against")
            if opening.value != row[f]:
                raise BundleError(f"{where}, field {f}: not the value line {k}'s commitment opens to")
    return release.id


def check_delivered_files(files: Sequence[tuple[str, bytes]], request_id: str, entries: Sequence[BundleEntry],
                          bulk: Mapping[str, BulkStatement], openings_data: bytes | None, passed: Passed) -> int:
    """Check 7 of a bundle: every delivered file it holds (``openings_data`` given: the values too)."""
    openings = bundle_openings(openings_data) if openings_data is not None else None
    names = []
    for name, data in files:
        names.append(f"{name} (release {check_delivered(name, data, request_id, entries, bulk, openings)})")
    passed("delivered", f"{len(files)} delivered files hold exactly the lines and fields their releases signed"
                        + (", each value the one its commitment opens to" if openings is not None else
                           " (values not checked: pass --openings)") + ": " + ", ".join(names))
    return len(files)
