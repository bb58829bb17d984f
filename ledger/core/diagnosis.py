"""What the files say about a failure, and what kind of file a file is.

When a check fails, the verifier has a technical reason; ledger.core.plain turns it into plain
words, and some of those words need more than the reason: whether a missing index appears
later in the export (moved, not deleted), whether a signature that does not verify could
have been made by any Ed25519 key at all, whether the next entry still links to the entry
as it is. These functions find that out from the bytes, after the failure (never on the
path of a verification that holds). Pure: they read what they are given, no files.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

import nacl.bindings

from ledger.core.b64 import b64decode
from ledger.core.entry import parse_entry, parse_entry_fields
from ledger.core.errors import LedgerError
from ledger.core.keys import VerifierKey, parse_vkey
from ledger.core.merkle import leaf_hash
from ledger.core.note import SIG_PREFIX, parse_note
from ledger.core.plain import Facts
from ledger.core.statement import Statement, parse_statement
from ledger.core.trust import TrustState

# The order of Ed25519's prime-order group: a signature's S is reduced modulo it.
ED25519_ORDER = 2**252 + 27742317777372353535851937790883648493
SNIFF_BYTES = 65_536
DECODED_HEADER = "# Disclosure Ledger export, decoded for reading"
# A line's "index" member, read without parsing the line (base64 holds no quote).
_LINE_INDEX_RE = re.compile(rb'"index":(0|[1-9][0-9]{0,15})[,}]')
_SEQUENCE_RE = re.compile(r"^export line index out of sequence \(expected (\d+), found (\d+)\)")
_SIGNATURE_RE = re.compile(r"^signature by (\S+) \(([0-9a-f]{8})\) does not verify")
_CHECKPOINT_SIGNATURE_RE = re.compile(r"^(?:previous checkpoint|checkpoint): signature by (\S+) \(([0-9a-f]{8})\)")
_VKEY_RE = re.compile(r"[!-*,-~]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+={0,2}\Z")
_TREE_SIZE_TEXT_RE = re.compile(r"[0-9]{1,19}\Z")
# At most this many indices between an expected and a found one are checked one by one.
_GAP_LIMIT = 10_000

KeyLookup = Callable[[str, int, Statement], "VerifierKey | None"]


def impossible_signature(signature: bytes) -> bool:
    """True when no Ed25519 signer can have made ``signature`` (R || S), whatever the message.

    A signer's R is a multiple of the base point (a point of the prime-order group, never
    the identity) and its S is reduced modulo the group's order: a signature whose S is not
    reduced, or whose R is not such a point, was damaged or altered after signing.
    """
    if len(signature) != 64:
        return True
    if int.from_bytes(signature[32:], "little") >= ED25519_ORDER:
        return True
    return not nacl.bindings.crypto_core_ed25519_is_valid_point(signature[:32])


def line_index(line: bytes) -> int | None:
    """The index an export line (or a bundle's entries.jsonl line) claims, or None."""
    match = _LINE_INDEX_RE.search(line, max(0, line.rfind(b'"index":')))
    return int(match[1]) if match else None


def line_entry(line: bytes) -> bytes | None:
    """The entry bytes an export line carries, or None when the line cannot be decoded."""
    try:
        value = json.loads(line)
        return b64decode(value["entry_b64"])
    except (ValueError, TypeError, KeyError, LedgerError):
        return None


def trust_keys(trust: TrustState) -> KeyLookup:
    """Find a signer's key by name and key ID: in the log's trust state, or, for a key that
    signs its own registration or the ledger's rotation, in the statement's body."""

    def find(name: str, key_id: int, stmt: Statement) -> VerifierKey | None:
        candidates = [record.key for record in trust.keys.get(name, [])]
        for field_name in ("vkey", "statement_vkey"):
            text = stmt.body.get(field_name)
            if isinstance(text, str):
                with contextlib.suppress(LedgerError):
                    candidates.append(parse_vkey(text))
        return next((k for k in candidates if k.name == name and k.key_id == key_id), None)

    return find


def diagnose(index: int | None, reason: str, lines: Iterable[bytes], keys: KeyLookup | None = None) -> Facts:
    """The facts ledger.core.plain needs about a failure of entry ``index``, from the export's lines."""
    sequence = _SEQUENCE_RE.match(reason)
    if sequence is not None:
        return sequence_facts(lines, int(sequence[1]), int(sequence[2]))
    signature = _SIGNATURE_RE.match(reason)
    if signature is not None and index is not None:
        return signature_facts(lines, index, signature[1], int(signature[2], 16), keys)
    return Facts()


def sequence_facts(lines: Iterable[bytes], expected: int, found: int) -> Facts:
    """Where the indices around an out-of-sequence line appear in the export."""
    facts = Facts()
    gap = range(expected, found) if 1 < found - expected <= _GAP_LIMIT else None
    gap_seen = False
    for position, line in enumerate(lines):
        index = line_index(line)
        if index is None:
            continue
        if index == expected and facts.expected_at is None:
            facts.expected_at = position
        if index == found and facts.found_first_at is None:
            facts.found_first_at = position
        if position == found:
            facts.found_position_holds = index
        if gap is not None and index in gap:
            gap_seen = True
    facts.gap_absent = gap is not None and not gap_seen
    return facts


def signature_facts(
    lines: Iterable[bytes], index: int, name: str, key_id: int, keys: KeyLookup | None = None
) -> Facts:
    """What entry ``index``, its other signatures and the entry after it say about a bad signature."""
    facts = Facts()
    data = following = None
    for line in lines:
        found = line_index(line)
        if found == index and data is None:
            data = line_entry(line)
        elif found == index + 1 and data is not None:
            following = line_entry(line)
            break
    if data is None:
        return facts
    try:
        stmt = parse_statement(parse_entry(data).statement)
    except LedgerError:
        return facts
    message = stmt.note.text.encode("utf-8")
    others = []
    for sig in stmt.note.signatures:
        if sig.name == name and sig.key_id == key_id:
            facts.impossible_signature = impossible_signature(sig.signature)
        else:
            others.append(sig)
    if others and keys is not None:
        verified = []
        for sig in others:
            key = keys(sig.name, sig.key_id, stmt)
            if key is None:
                break
            try:
                key.verify(message, sig.signature)
                verified.append(True)
            except LedgerError:
                verified.append(False)
        if len(verified) == len(others):
            facts.others_verify = all(verified)
    if following is not None:
        with contextlib.suppress(LedgerError):
            facts.next_links = parse_entry_fields(following)[1] == leaf_hash(data).hex()
    return facts


def checkpoint_facts(reason: str, data: bytes) -> Facts:
    """Whether a checkpoint's signature that does not verify could have been made by any key."""
    facts = Facts()
    match = _CHECKPOINT_SIGNATURE_RE.match(reason)
    if match is None:
        return facts
    try:
        note = parse_note(data)
    except LedgerError:
        return facts
    for sig in note.signatures:
        if sig.name == match[1] and sig.key_id == int(match[2], 16):
            facts.impossible_signature = impossible_signature(sig.signature)
    return facts


# ---- kinds of file ------------------------------------------------------------------------
def file_kind(head: bytes) -> str | None:
    """What the first bytes of a file (up to SNIFF_BYTES) look like: a ledger.core.plain_files.KIND_NAMES
    key, or None when it looks like none of them (it is then read as what it was given as)."""
    if not head:
        return "empty"
    head = head.removeprefix(b"\xef\xbb\xbf")
    first, _, rest = head.partition(b"\n")
    first = first.rstrip(b"\r")
    if first.startswith(b"{"):
        return _json_kind(first, more=bool(rest.strip()))
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text.startswith(DECODED_HEADER):
        return "decoded"
    lines = text.replace("\r\n", "\n").split("\n")
    if text.startswith("PRIVATE+KEY+"):
        return "signer-key"
    if _VKEY_RE.match(lines[0]) and not any(line.strip() for line in lines[1:]):
        return "vkey"
    if len(lines) >= 3 and lines[0] and " " not in lines[0] and _TREE_SIZE_TEXT_RE.match(lines[1]):
        return "checkpoint"
    return None


def _json_kind(first: bytes, more: bool) -> str | None:
    try:
        value: Any = json.loads(first)
    except ValueError:
        value = None
    if not isinstance(value, dict):  # a line too long to sniff whole, or not JSON
        if b'"entry_b64"' in first:
            return "export" if more else "export-line"
        if b'"prev"' in first and b'"statement"' in first:
            return "entry"
        return None
    keys = set(value)
    if {"entry_b64", "index"} <= keys:
        return "export" if more else "export-line"
    if {"index", "prev", "recorded_at", "statement"} <= keys:
        return "entry"
    if {"old_size", "new_size", "old_root", "new_root", "path"} <= keys:
        return "consistency-proof"
    if {"index", "tree_size", "leaf_hash", "root", "path"} <= keys:
        return "inclusion-proof"
    if keys == {"index", "path", "tree_size"}:
        return "bundle-proofs"
    if {"commitment", "opening"} <= keys:
        return "bundle-openings"
    form = value.get("format")
    if isinstance(form, str) and form.startswith("dl-bundle/"):
        return "bundle-json"
    if isinstance(form, str) and form.startswith("dl-verification-report/"):
        return "report"
    if {"body", "signers", "type"} <= keys:
        return "statement"
    return None


def folder_kind(names: Iterable[str]) -> str:
    """A folder holding bundle.json is an evidence bundle."""
    return "bundle" if "bundle.json" in set(names) else "folder"


def checkpoint_damage(data: bytes) -> tuple[str, int | None, str | None] | None:
    """How a checkpoint file was changed outside its signed text: (a ledger.core.plain_files.DAMAGE key,
    the line number, the line), or None.

    Such a change (an editor's line endings or byte order mark, a line added after the
    signatures) says nothing about the log: the file is not the one the ledger wrote.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return "bom", None, None
    if b"\r\n" in data:
        return "crlf", None, None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    split = text.find("\n\n")
    if split < 0:
        return None
    block = text[split + 2 :].split("\n")
    signed = [n for n, line in enumerate(block) if line.startswith(SIG_PREFIX)]
    if not signed:
        return None
    trailing = block[signed[-1] + 1 :]
    if trailing == [""]:
        return None
    if not trailing:
        return "no-final-newline", None, None
    return "extra-line", text[: split + 2].count("\n") + signed[-1] + 2, trailing[0]
