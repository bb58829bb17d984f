"""An entry and its statement decoded for a person to read.

The export is base64 that nobody can read; ``verify_ledger.py --show INDEX`` and
``disclosure-ledger export --decoded`` print what an entry says instead: when it was
recorded, what kind of statement it holds, who signed it with which key, and its body.
Nothing is looked up: names, TINs and addresses appear in the log only as salted
commitments (64 hex digits), and so they appear here; no opening is ever shown. What is
shown is what the file holds, not what a verification established.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

from ledger.core.diagnosis import DECODED_HEADER, line_entry, line_index
from ledger.core.entry import parse_entry
from ledger.core.errors import LedgerError
from ledger.core.statement import parse_statement

DECODED_NOTE = (
    "# A reading aid, not evidence: the export is the evidence, and verify_ledger.py checks it.\n"
    "# Names, TINs, addresses and case numbers appear only as salted commitments (64 hex digits);\n"
    "# this file holds no openings. Signatures are listed, not checked here.\n"
)
_INLINE = 100  # a list of plain values is written on one line up to this width


def decode_entry(data: bytes) -> dict[str, Any]:
    """What entry ``data`` says, as plain JSON values; raises LedgerError if it cannot be read."""
    entry = parse_entry(data)
    shown: dict[str, Any] = {
        "index": entry.index,
        "recorded_at": entry.recorded_at,
        "prev": entry.prev,
        "leaf_hash": entry.leaf_hash.hex(),
        "statement_sha256": hashlib.sha256(entry.statement.encode("utf-8")).hexdigest(),
    }
    try:
        stmt = parse_statement(entry.statement)
    except LedgerError as e:
        shown["unreadable_statement"] = str(e)
        shown["statement_text"] = entry.statement
        return shown
    shown.update(
        type=stmt.type,
        id=stmt.id,
        signers=stmt.signers,
        issued_at=stmt.envelope["issued_at"],
        not_after=stmt.envelope["not_after"],
        signatures=[{"name": s.name, "key_id": f"{s.key_id:08x}"} for s in stmt.note.signatures],
        body=stmt.body,
    )
    return shown


def describe_entry(data: bytes) -> str:
    """Entry ``data`` as text for a person; raises LedgerError if it cannot be read."""
    shown = decode_entry(data)
    out = [f"entry {shown['index']}"]
    if "unreadable_statement" in shown:
        out += [
            f"  recorded at:   {shown['recorded_at']}",
            f"  statement:     cannot be read ({shown['unreadable_statement']})",
            f"  its text:      {json.dumps(shown['statement_text'])}",
        ]
    else:
        signatures = ", ".join(f"{s['name']} (key {s['key_id']})" for s in shown["signatures"])
        out += [
            f"  type:          {shown['type']}",
            f"  id:            {_scalar(shown['id'])}",
            f"  recorded at:   {shown['recorded_at']}",
            f"  issued at:     {shown['issued_at']}",
            f"  valid until:   {shown['not_after']}",
            f"  signers:       {', '.join(shown['signers'])}",
            f"  signatures:    {signatures}",
        ]
    out += [
        f"  leaf hash:     {shown['leaf_hash']}",
        f"  links to:      {shown['prev']}",
        f"  statement SHA-256: {shown['statement_sha256']}",
    ]
    if "body" in shown:
        out.append("  body:" + ("" if shown["body"] else " (empty)"))
        out += _outline(shown["body"], "    ")
    return "\n".join(out) + "\n"


def decoded_export(lines: Iterable[bytes]) -> Iterator[str]:
    """The decoded companion of an export: a header, then each line's entry as describe_entry says."""
    yield DECODED_HEADER + "\n" + DECODED_NOTE
    for position, line in enumerate(lines):
        yield "\n" + describe_line(line, position)


def describe_line(line: bytes, position: int) -> str:
    """One export line for a person, or why it cannot be decoded."""
    data = line_entry(line)
    if data is not None:
        try:
            return describe_entry(data)
        except LedgerError as e:
            return f"line {position + 1}: an entry that cannot be read ({e})\n"
    index = line_index(line)
    claimed = f" (it claims to be entry {index})" if index is not None else ""
    return f"line {position + 1}: not an export line that can be decoded{claimed}\n"


def _scalar(value: Any) -> str:
    """A plain value on one line: a string bare unless it could be read as something else, JSON otherwise."""
    if isinstance(value, str):
        bare = value.isprintable() and value == value.strip() and ": " not in value
        if bare and value[:1] not in ("", "[", "{", '"', "-", "#") and not _looks_like_json(value):
            return value
        return json.dumps(value, ensure_ascii=not value.isprintable())
    return json.dumps(value)


def _looks_like_json(text: str) -> bool:
    """A string that reads as a JSON number, true, false or null if printed bare."""
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _outline(value: Any, pad: str) -> list[str]:
    """Nested objects and lists as indented ``key: value`` lines."""
    out = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                inline = _inline_list(item)
                out += [f"{pad}{key}: {inline}"] if inline else [f"{pad}{key}:", *_outline(item, pad + "  ")]
            else:
                out.append(f"{pad}{key}: {_scalar(item) if not isinstance(item, (dict, list)) else json.dumps(item)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)) and item:
                inline = _inline_list(item)
                if inline:
                    out.append(f"{pad}- {inline}")
                    continue
                nested = _outline(item, pad + "  ")
                out += [f"{pad}- {nested[0].lstrip()}", *nested[1:]]
            else:
                out.append(f"{pad}- {_scalar(item) if not isinstance(item, (dict, list)) else json.dumps(item)}")
    return out


def _inline_list(value: Any) -> str | None:
    if not isinstance(value, list) or any(isinstance(v, (dict, list)) for v in value):
        return None
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _INLINE and all(not isinstance(v, str) or v.isprintable() for v in value) else None
