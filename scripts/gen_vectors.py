#!/usr/bin/env python3
"""Generate the verifier's test vectors: tests/vectors/verify/<name>/.

    python scripts/gen_vectors.py            # (re)write tests/vectors/verify/
    python scripts/gen_vectors.py --check    # exit 1 if the checked-in vectors differ

Each vector is a small log built with the integrity core (real Ed25519, real canonical
JSON), deterministic: keys are SignerKey(name, SHA-256(label)), times are fixed. A vector
holds export.jsonl, checkpoint.txt, vkey.txt and expected.json ({"exit", "index",
"reason_contains", "description"}), and sometimes previous-checkpoint.txt with
consistency-proof.json, or inclusion-proof.json with entry.bin. One is the happy path;
each other is named after the one thing tampered with, and the tampering is applied
as an operator holding every service key would: later entries are re-chained and the
checkpoint re-signed, unless the tampering is of the chain or the checkpoint itself.

LogBuilder is also what bench/bench_verify.py uses to build large exports.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from ledger.core.b64 import b64decode, b64encode  # noqa: E402
from ledger.core.canonical import canonical_bytes  # noqa: E402
from ledger.core.checkpoint import Checkpoint, sign_checkpoint  # noqa: E402
from ledger.core.diagnosis import ED25519_ORDER  # noqa: E402
from ledger.core.entry import ZERO_HASH_HEX, encode_entry  # noqa: E402
from ledger.core.export_lines import export_line  # noqa: E402
from ledger.core.keys import SignerKey  # noqa: E402
from ledger.core.merkle import leaf_hash, root_from_leaf_hashes  # noqa: E402
from ledger.core.note import Note, NoteSignature, sign_note  # noqa: E402
from ledger.core.proofs import consistency_path, inclusion_path  # noqa: E402
from ledger.core.statement import parse_statement  # noqa: E402
from ledger.core.times import format_time  # noqa: E402
from ledger.core.trust import TrustState  # noqa: E402
from ledger.policy import trust_policy  # noqa: E402

OUT = ROOT / "tests" / "vectors" / "verify"
SEED_LABEL = "disclosure-ledger/test-vectors/v1"
ORIGIN = "ledger.example.gov/disclosures"
T0 = datetime(2025, 8, 1, 12, 0, 0, 123456, tzinfo=UTC)
POLICY = trust_policy(memo=["requester", "reviewer"], cosigned_memo=["requester", "reviewer"])


def signer(name: str, label: str | None = None) -> SignerKey:
    """A deterministic key: seed = SHA-256 of a label (the name unless told otherwise)."""
    return SignerKey(name, hashlib.sha256(f"{SEED_LABEL}/{label or name}".encode()).digest())


def stamp(moment: datetime) -> str:
    return format_time(moment)


class LogBuilder:
    """Statements and their recorded_at, then entries chained over them.

    Statement ``i`` is issued at T0 + i s and recorded 250 ms later unless told otherwise.
    Nothing is checked while building (tampered vectors need bad statements);
    ``admit_all`` runs the trust state over a log that must be valid.
    """

    def __init__(self, origin: str = ORIGIN, policy: dict[str, list[str]] | None = None) -> None:
        self.origin = origin
        self.policy = policy or POLICY
        self.checkpoint_key = signer(origin)
        self.statement_key = signer(origin + "/ledger")
        self.admin = signer("irs.gov/disclosure/admin-0001")
        self.items: list[tuple[str, str]] = []  # (statement note text, recorded_at)

    @property
    def size(self) -> int:
        return len(self.items)

    def issued(self, index: int | None = None) -> datetime:
        return T0 + timedelta(seconds=self.size if index is None else index)

    def recorded(self, index: int | None = None) -> str:
        return stamp(self.issued(index) + timedelta(milliseconds=250))

    # ---- statements -----------------------------------------------------------
    def envelope(
        self,
        type_: str,
        signers: Sequence[str],
        body: dict[str, Any],
        *,
        issued_at: datetime | None = None,
        valid_for: timedelta = timedelta(hours=1),
        id_: str | None = None,
    ) -> dict[str, Any]:
        issued = issued_at or self.issued()
        return {
            "v": 1,
            "type": type_,
            "id": id_ or f"vec-{self.size:04d}-{type_}",
            "signers": list(signers),
            "issued_at": stamp(issued),
            "not_after": stamp(issued + valid_for),
            "body": body,
        }

    def sign(self, envelope: dict[str, Any], keys: Sequence[SignerKey]) -> str:
        """The signed note of an envelope (not checked: tampered vectors need odd ones)."""
        return sign_note(canonical_bytes(envelope).decode("utf-8") + "\n", keys).encode()

    def statement(
        self, type_: str, keys: Sequence[SignerKey], body: dict[str, Any], *,
        signers: Sequence[str] | None = None, **kw: Any,
    ) -> str:
        names = list(signers) if signers is not None else [k.name for k in keys]
        return self.sign(self.envelope(type_, names, body, **kw), keys)

    def add(self, statement: str, recorded_at: str | None = None) -> int:
        self.items.append((statement, recorded_at or self.recorded()))
        return self.size - 1

    def genesis(self, **extra: Any) -> int:
        body: dict[str, Any] = {
            "origin": self.origin,
            "checkpoint_vkey": str(self.checkpoint_key.verifier),
            "statement_vkey": str(self.statement_key.verifier),
            "administrator": {"vkey": str(self.admin.verifier), "roles": ["administrator"], "attributes": {}},
            "policy": self.policy,
            **extra,
        }
        return self.add(self.statement("genesis", [self.statement_key], body))

    def registration(
        self, key: SignerKey, roles: Sequence[str], keys: Sequence[SignerKey] | None = None, **kw: Any
    ) -> str:
        body = {"name": key.name, "vkey": str(key.verifier), "roles": list(roles), "attributes": {}}
        return self.statement("key_registration", keys if keys is not None else [self.admin, key], body, **kw)

    def register(self, key: SignerKey, roles: Sequence[str]) -> int:
        return self.add(self.registration(key, roles))

    def revoke(self, key: SignerKey) -> int:
        body = {"name": key.name, "key_id": f"{key.verifier.key_id:08x}"}
        return self.add(self.statement("key_revocation", [self.admin], body))

    def memo(self, keys: Sequence[SignerKey], text: str, type_: str = "memo", **kw: Any) -> str:
        return self.statement(type_, keys, {"text": text}, **kw)

    # ---- the log --------------------------------------------------------------
    def entries(self) -> list[bytes]:
        """Entry bytes, each prev linking to the previous entry's leaf hash."""
        out = []
        prev = ZERO_HASH_HEX
        for index, (statement, recorded_at) in enumerate(self.items):
            entry = encode_entry(index, prev, recorded_at, statement)
            out.append(entry.data)
            prev = entry.leaf_hash.hex()
        return out

    def admit_all(self) -> None:
        """Raise unless every statement passes the trust state and its signatures (a valid log)."""
        state = TrustState()
        for index, (statement, recorded_at) in enumerate(self.items):
            state.admit(parse_statement(statement), index, recorded_at)


def export_bytes(entries: Sequence[bytes]) -> bytes:
    return b"".join(export_line(i, data) for i, data in enumerate(entries))


def root_of(entries: Sequence[bytes], size: int | None = None) -> bytes:
    return root_from_leaf_hashes([leaf_hash(e) for e in entries[: len(entries) if size is None else size]])


def checkpoint_text(origin: str, size: int, root: bytes, keys: Sequence[SignerKey]) -> str:
    return sign_checkpoint(Checkpoint(origin, size, root), keys).encode()


def _range_hash(entries: Sequence[bytes]) -> Callable[[int, int], bytes]:
    leaves = [leaf_hash(e) for e in entries]
    return lambda a, b: root_from_leaf_hashes(leaves[a:b])


def inclusion_proof(entries: Sequence[bytes], index: int, size: int) -> dict[str, Any]:
    """What ``disclosure-ledger prove inclusion`` prints."""
    rh = _range_hash(entries)
    return {"index": index, "tree_size": size, "leaf_hash": leaf_hash(entries[index]).hex(),
            "root": rh(0, size).hex(), "path": [h.hex() for h in inclusion_path(index, size, rh)]}


def consistency_proof(entries: Sequence[bytes], old: int, new: int) -> dict[str, Any]:
    """What ``disclosure-ledger prove consistency`` prints."""
    rh = _range_hash(entries)
    return {"old_size": old, "new_size": new, "old_root": rh(0, old).hex(), "new_root": rh(0, new).hex(),
            "path": [h.hex() for h in consistency_path(old, new, rh)]}


# ---- the scenario every vector starts from ----------------------------------------
ALICE = signer("ice.dhs.gov/director")  # requester
BOB = signer("irs.gov/disclosure/officer-0042")  # reviewer
CAROL = signer("tigta.gov/agent-0007")  # requester, revoked at entry 7
DAVE = signer("treasury.gov/analyst-0099")  # never registered in the base log
MALLORY = signer("mallory.example/impostor")


def base(b: LogBuilder | None = None) -> LogBuilder:
    """10 entries: genesis; alice, bob registered; memos; carol registered, signs, revoked."""
    b = b or LogBuilder()
    b.genesis()  # 0
    b.register(ALICE, ["requester"])  # 1
    b.register(BOB, ["reviewer"])  # 2
    b.add(b.memo([ALICE], "first memo from the requester"))  # 3
    b.add(b.memo([ALICE, BOB], "cosigned by requester and reviewer", "cosigned_memo"))  # 4
    b.register(CAROL, ["requester"])  # 5
    b.add(b.memo([CAROL], "carol's only memo"))  # 6
    b.revoke(CAROL)  # 7
    b.add(b.memo([BOB], "reviewer's note"))  # 8
    b.add(b.memo([ALICE], "last memo"))  # 9
    return b


@dataclass
class Files:
    """The files of one vector."""

    export: bytes
    checkpoint: str
    vkey: str
    extra: dict[str, bytes] = field(default_factory=dict)


def finish(
    b: LogBuilder,
    entries: list[bytes] | None = None,
    *,
    export: bytes | None = None,
    size: int | None = None,
    keys: Sequence[SignerKey] | None = None,
    vkey: str | None = None,
) -> Files:
    """Files for a log: its export, a checkpoint over all (or ``size``) entries, the trust root."""
    entries = b.entries() if entries is None else entries
    size = len(entries) if size is None else size
    cp = checkpoint_text(b.origin, size, root_of(entries, size), keys or [b.checkpoint_key])
    return Files(export if export is not None else export_bytes(entries), cp,
                 vkey or str(b.checkpoint_key.verifier) + "\n")


@dataclass
class Vector:
    name: str
    description: str
    exit: int
    index: int | None
    reason: str | None
    message: str | None
    make: Callable[[], Files]


VECTORS: list[Vector] = []


def vector(name: str, description: str, exit: int = 1, index: int | None = None, reason: str | None = None,
           message: str | None = None) -> Callable[[Callable[[], Files]], Callable[[], Files]]:
    """Register a vector: ``reason`` is part of the technical reason, ``message`` the exact plain message."""
    def register(make: Callable[[], Files]) -> Callable[[], Files]:
        if (exit != 0) != (message is not None):
            raise SystemExit(f"{name}: a failing vector has a plain message, a passing one has none")
        VECTORS.append(Vector(name, description, exit, index, reason, message, make))
        return make
    return register


def _lines(export: bytes) -> list[bytes]:
    return export.splitlines(keepends=True)


def _flip_bit(data: bytes, needle: bytes, bit: int = 0) -> bytes:
    at = data.index(needle)
    out = bytearray(data)
    out[at] ^= 1 << bit
    return bytes(out)


def _replace(b: LogBuilder, index: int, statement: str, recorded_at: str | None = None) -> LogBuilder:
    b.items[index] = (statement, recorded_at or b.items[index][1])
    return b


def _flip_signature(note: str, line: int = 0, bit: int = 3) -> str:
    head, _, sigs = note.rpartition("\n\n")
    lines = sigs.split("\n")
    prefix, blob = lines[line].rsplit(" ", 1)
    raw = bytearray(b64decode(blob))
    raw[4 + 10] ^= 1 << bit
    lines[line] = f"{prefix} {b64encode(bytes(raw))}"
    return head + "\n\n" + "\n".join(lines)


# ---- happy paths ------------------------------------------------------------------
@vector("happy-path", "a valid 10-entry log, its checkpoint and trust root", exit=0)
def _happy() -> Files:
    b = base()
    b.admit_all()
    return finish(b)


@vector("entries-past-checkpoint", "valid; the checkpoint covers 8 of 10 entries (2 verified, not committed)",
        exit=0)
def _past_checkpoint() -> Files:
    return finish(base(), size=8)


def _rotated() -> tuple[LogBuilder, SignerKey, SignerKey]:
    b = base()
    new_statement = signer(b.origin + "/ledger", "ledger-statement-key-2")
    new_checkpoint = signer(b.origin, "ledger-checkpoint-key-2")
    body = {"statement_vkey": str(new_statement.verifier), "checkpoint_vkey": str(new_checkpoint.verifier)}
    b.add(b.statement("ledger_key_rotation", [new_statement, b.admin], body))  # 10
    b.statement_key = new_statement
    b.add(b.statement("blocked", [new_statement], {"statement_sha256": "00" * 32, "rules": ["demo.rule"]}))  # 11
    b.add(b.memo([ALICE], "after the ledger's key rotation"))  # 12
    return b, new_statement, new_checkpoint


@vector("checkpoint-key-rotated", "valid; ledger_key_rotation at 10, checkpoint signed by the new and old "
        "checkpoint keys, trust root = the new key", exit=0)
def _rotated_new_root() -> Files:
    b, _, new_checkpoint = _rotated()
    b.admit_all()
    return finish(b, keys=[new_checkpoint, b.checkpoint_key], vkey=str(new_checkpoint.verifier) + "\n")


@vector("checkpoint-key-rotated-old-trust-root", "valid; as checkpoint-key-rotated, checked with the old "
        "(genesis) checkpoint key as trust root", exit=0)
def _rotated_old_root() -> Files:
    b, _, new_checkpoint = _rotated()
    return finish(b, keys=[new_checkpoint, b.checkpoint_key])


@vector("consistency-proof-valid", "valid; with an older checkpoint (size 6) and a consistency proof 6 -> 10",
        exit=0)
def _consistency_ok() -> Files:
    b = base()
    entries = b.entries()
    f = finish(b, entries)
    f.extra["previous-checkpoint.txt"] = checkpoint_text(b.origin, 6, root_of(entries, 6), [b.checkpoint_key]).encode()
    f.extra["consistency-proof.json"] = _proof_json(consistency_proof(entries, 6, 10))
    return f


@vector("inclusion-proof-valid", "valid; with an inclusion proof of entry 4 in the tree of size 10", exit=0)
def _inclusion_ok() -> Files:
    b = base()
    entries = b.entries()
    f = finish(b, entries)
    f.extra["inclusion-proof.json"] = _proof_json(inclusion_proof(entries, 4, 10))
    f.extra["entry.bin"] = entries[4]
    return f


def _proof_json(proof: dict[str, Any]) -> bytes:
    return (json.dumps(proof) + "\n").encode()  # as `disclosure-ledger prove` prints it


# ---- the export's lines -----------------------------------------------------------
@vector("entry-3-bit-flip", "one bit of entry 3 flipped (a letter of its memo text); nothing re-signed",
        index=3, reason="does not verify",
        message="the content of entry 3 differs from what its signer signed: the entry was changed after it was "
        "recorded (entry 4 links to a different entry 3), and the signature by ice.dhs.gov/director does not match "
        "it")
def _bit_flip() -> Files:
    b = base()
    entries = b.entries()
    entries[3] = _flip_bit(entries[3], b"first memo", bit=1)
    return finish(b, b.entries(), export=export_bytes(entries))


@vector("entry-2-deleted", "export line 2 removed", index=2, reason="export line index out of sequence",
        message="entry 2 is missing: the export goes from entry 1 to entry 3")
def _deleted() -> Files:
    f = finish(base())
    lines = _lines(f.export)
    f.export = b"".join(lines[:2] + lines[3:])
    return f


@vector("entries-3-to-5-deleted", "export lines 3, 4 and 5 removed", index=3,
        reason="export line index out of sequence",
        message="entries 3 to 5 are missing: the export goes from entry 2 to entry 6")
def _deleted_range() -> Files:
    f = finish(base())
    lines = _lines(f.export)
    f.export = b"".join(lines[:3] + lines[6:])
    return f


@vector("entry-2-moved", "export line 2 moved to after line 6", index=2, reason="export line index out of sequence",
        message="entry 2 is out of place: the export holds entry 3 where entry 2 belongs, and entry 2 on line 7 of "
        "the export")
def _moved() -> Files:
    f = finish(base())
    lines = _lines(f.export)
    f.export = b"".join(lines[:2] + lines[3:7] + lines[2:3] + lines[7:])
    return f


@vector("entries-1-2-swapped", "export lines 1 and 2 swapped", index=1, reason="export line index out of sequence",
        message="entries 1 and 2 are swapped: the export holds entry 2 where entry 1 belongs, and entry 1 where "
        "entry 2 belongs")
def _swapped() -> Files:
    f = finish(base())
    lines = _lines(f.export)
    lines[1], lines[2] = lines[2], lines[1]
    f.export = b"".join(lines)
    return f


@vector("entry-duplicated", "export line 4 repeated", index=5, reason="export line index out of sequence",
        message="entry 4 appears twice in the export: on lines 5 and 6, the second where entry 5 belongs")
def _duplicated() -> Files:
    f = finish(base())
    lines = _lines(f.export)
    f.export = b"".join(lines[:5] + lines[4:])
    return f


@vector("entry-index-mismatch", "export line 4 holds entry 4 re-encoded with index 5 (chain re-linked)",
        index=4, reason="entry index out of sequence",
        message="entry 4 is numbered 5 inside its own bytes: the entry and its line in the export disagree about "
        "its position (it was renumbered)")
def _entry_index() -> Files:
    b = base()
    entries = b.entries()
    out = entries[:4]  # entry 4 gets index 5; the chain is re-linked from there on
    prev_hex = leaf_hash(out[-1]).hex()
    for i in range(4, 10):
        statement, recorded_at = b.items[i]
        data = encode_entry(i + 1 if i == 4 else i, prev_hex, recorded_at, statement).data
        out.append(data)
        prev_hex = leaf_hash(data).hex()
    return finish(b, out)


@vector("index-skipped", "indices jump from 3 to 5 (entries and export lines renumbered, chain re-linked, "
        "checkpoint re-signed)", index=4, reason="export line index out of sequence",
        message="entry 4 is missing: the export goes from entry 3 to entry 5")
def _skipped() -> Files:
    b = base()
    out = []
    prev_hex = ZERO_HASH_HEX
    for i, (statement, recorded_at) in enumerate(b.items):
        number = i if i < 4 else i + 1
        data = encode_entry(number, prev_hex, recorded_at, statement).data
        out.append((number, data))
        prev_hex = leaf_hash(data).hex()
    datas = [d for _, d in out]
    return finish(b, datas, export=b"".join(export_line(n, d) for n, d in out))


@vector("truncated-tail", "the last 2 export lines removed; the checkpoint commits to 10",
        index=8, reason="the export ends after 8 entries but the checkpoint commits to 10",
        message="entries 8 and 9 are missing: the export ends after entry 7, but the checkpoint commits to 10 "
        "entries")
def _truncated() -> Files:
    f = finish(base())
    f.export = b"".join(_lines(f.export)[:8])
    return f


@vector("appended-unsigned", "an 11th entry whose statement has no signature line (past the checkpoint)",
        index=10, reason="malformed statement: note has no blank line",
        message="entry 10's statement carries no signature")
def _appended_unsigned() -> Files:
    b = base()
    entries = b.entries()
    f = finish(b, entries)
    text = canonical_bytes(b.envelope("memo", [ALICE.name], {"text": "unsigned"})).decode() + "\n"
    data = encode_entry(10, leaf_hash(entries[-1]).hex(), b.recorded(), text).data
    f.export += export_line(10, data)
    return f


@vector("trailing-garbage", "a line of junk after the last export line", index=10,
        reason="export line is not canonical JSON",
        message="line 11 of the export, where entry 10 belongs, is not an entry: it is not JSON")
def _garbage() -> Files:
    f = finish(base())
    f.export += b"garbage\n"
    return f


@vector("trailing-partial-line", "the export ends in the middle of a line (no final LF)", index=10,
        reason="does not end with LF",
        message="the export is cut off in the middle of its line 11, where entry 10 begins: the file is incomplete")
def _partial() -> Files:
    f = finish(base())
    f.export += b'{"entry_b64":"eyJpbmRleCI6'
    return f


@vector("blank-line", "an empty line between export lines 2 and 3", index=3, reason="blank line",
        message="line 4 of the export, where entry 3 belongs, is empty")
def _blank() -> Files:
    f = finish(base())
    lines = _lines(f.export)
    f.export = b"".join([*lines[:3], b"\n", *lines[3:]])
    return f


@vector("non-canonical-json", "export line 2 with a space after a colon", index=2,
        reason="export line is not canonical JSON",
        message="line 3 of the export (entry 2) is not written exactly as the ledger writes it (RFC 8785 canonical "
        "JSON): it was re-formatted or edited")
def _noncanonical_line() -> Files:
    f = finish(base())
    lines = _lines(f.export)
    lines[2] = lines[2].replace(b'"index":', b'"index": ')
    f.export = b"".join(lines)
    return f


@vector("export-keys-reordered", "export line 6 with index before entry_b64", index=6,
        reason="export line is not canonical JSON",
        message="line 7 of the export (entry 6) is not written exactly as the ledger writes it (RFC 8785 canonical "
        "JSON): it was re-formatted or edited")
def _reordered() -> Files:
    b = base()
    entries = b.entries()
    f = finish(b, entries)
    lines = _lines(f.export)
    lines[6] = b'{"index":6,"entry_b64":"' + b64encode(entries[6]).encode() + b'"}\n'
    f.export = b"".join(lines)
    return f


@vector("crlf-line-endings", "every export line ends with CR LF", index=0, reason="ends with CR LF",
        message="the file has Windows line endings (CRLF): it was re-saved by an editor")
def _crlf() -> Files:
    f = finish(base())
    f.export = f.export.replace(b"\n", b"\r\n")
    return f


@vector("byte-order-mark", "the export starts with a UTF-8 byte order mark (what some editors add on saving)",
        index=0, reason="byte order mark",
        message="the file starts with a byte order mark (BOM): it was re-saved by an editor")
def _bom() -> Files:
    f = finish(base())
    f.export = b"\xef\xbb\xbf" + f.export
    return f


@vector("base64-with-junk", "a '!' inside entry 3's base64", index=3, reason="not strict base64",
        message="the base64 encoding of entry 3 was edited: it holds characters that are not base64")
def _b64_junk() -> Files:
    f = finish(base())
    lines = _lines(f.export)
    lines[3] = lines[3][:40] + b"!" + lines[3][40:]
    f.export = b"".join(lines)
    return f


@vector("base64-with-newline", "an escaped newline inside entry 5's base64 (what lenient decoders skip)",
        index=5, reason="not strict base64",
        message="the base64 encoding of entry 5 was edited: a line break was put inside it")
def _b64_newline() -> Files:
    f = finish(base())
    lines = _lines(f.export)
    lines[5] = lines[5][:60] + b"\\n" + lines[5][60:]
    f.export = b"".join(lines)
    return f


@vector("base64-non-canonical-padding", "entry 2's base64 with non-zero padding bits (decodes to the same bytes)",
        index=2, reason="non-zero padding bits",
        message="the base64 encoding of entry 2 was edited: its padding bits were altered (it decodes to the same "
        "bytes, but is not the ledger's encoding)")
def _b64_padding() -> Files:
    b = base()
    entries = b.entries()
    f = finish(b, entries)
    text = b64encode(entries[2])
    stem = text.rstrip("=")
    assert stem != text, "entry 2 needs base64 padding for this vector"
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    bumped = stem[:-1] + alphabet[alphabet.index(stem[-1]) + 1] + text[len(stem):]
    assert base64.b64decode(bumped) == entries[2]
    lines = _lines(f.export)
    lines[2] = b'{"entry_b64":"' + bumped.encode() + b'","index":2}\n'
    f.export = b"".join(lines)
    return f


# ---- entries --------------------------------------------------------------------
@vector("prev-broken", "entry 5's prev names entry 3 instead of entry 4 (later entries re-linked, re-signed)",
        index=5, reason="prev does not link to the previous entry",
        message="the chain of entries is broken at entry 5: it does not link to entry 4 as given (entry 4 was "
        "changed, or entries were removed, inserted or re-linked)")
def _prev() -> Files:
    b = base()
    entries = b.entries()
    out = entries[:5]
    prev_hex = leaf_hash(entries[3]).hex()
    for i in range(5, 10):
        statement, recorded_at = b.items[i]
        data = encode_entry(i, prev_hex, recorded_at, statement).data
        out.append(data)
        prev_hex = leaf_hash(data).hex()
    return finish(b, out)


@vector("recorded-at-decreasing", "entry 5 recorded before entry 4", index=5, reason="recorded_at decreases",
        message="entry 5 is recorded at 2025-08-01T11:59:34.123456Z, earlier than entry 4 "
        "(2025-08-01T12:00:04.373456Z): recording times never go back")
def _time_back() -> Files:
    b = base()
    return finish(_replace(b, 5, b.items[5][0], stamp(b.issued(4) - timedelta(seconds=30))))


@vector("recorded-at-bad-format", "entry 3's recorded_at without fraction digits", index=3,
        reason="expected YYYY-MM-DDTHH:MM:SS.ffffffZ",
        message="entry 3's recording time '2025-08-01T12:00:03Z' is not written in the ledger's time format "
        "(YYYY-MM-DDTHH:MM:SS.ffffffZ)")
def _time_format() -> Files:
    b = base()
    return finish(_replace(b, 3, b.items[3][0], "2025-08-01T12:00:03Z"))


@vector("entry-non-canonical", "entry 3 encoded with spaces (json.dumps defaults), chain re-linked",
        index=3, reason="malformed entry: not canonical",
        message="entry 3 is not written exactly as the ledger writes entries (RFC 8785 canonical JSON): it was "
        "re-encoded or edited after it was recorded")
def _entry_noncanonical() -> Files:
    b = base()
    entries = b.entries()
    out = entries[:3]
    statement, recorded_at = b.items[3]
    prev_hex = leaf_hash(out[-1]).hex()
    loose = json.dumps({"index": 3, "prev": prev_hex, "recorded_at": recorded_at, "statement": statement},
                       sort_keys=True, ensure_ascii=False).encode()
    out.append(loose)
    prev_hex = leaf_hash(loose).hex()
    for i in range(4, 10):
        statement, recorded_at = b.items[i]
        data = encode_entry(i, prev_hex, recorded_at, statement).data
        out.append(data)
        prev_hex = leaf_hash(data).hex()
    return finish(b, out)


@vector("entry-too-large", "entry 10 is over 65,535 bytes (a 33 kB statement of quotes, escaped twice)",
        index=10, reason="at most 65535 are allowed",
        message="entry 10 is 66076 bytes, larger than any entry can be (at most 65535)")
def _too_large() -> Files:
    b = base()
    entries = b.entries()
    note = b.memo([ALICE], '"' * 16_400)
    assert len(note.encode()) <= 60_000
    recorded_at = b.recorded()
    data = canonical_bytes({"index": 10, "prev": leaf_hash(entries[-1]).hex(), "recorded_at": recorded_at,
                            "statement": note})
    assert len(data) > 65_535
    return finish(b, [*entries, data])


@vector("export-line-too-long", "a 120,000-byte line after the last entry (no entry's line can be that long)",
        index=10, reason="longer than 100000 bytes",
        message="line 11 of the export is longer than any entry's line can be: it is not an entry")
def _long_line() -> Files:
    f = finish(base())
    f.export += b'{"entry_b64":"' + b"A" * 120_000 + b'","index":10}\n'
    return f


@vector("statement-too-large", "entry 10's statement is over 60,000 bytes (the entry itself is under 65,535)",
        index=10, reason="at most 60000 are allowed",
        message="entry 10's statement is 60500 bytes, larger than any statement can be (at most 60000)")
def _statement_too_large() -> Files:
    b = base()
    b.add(b.memo([ALICE], "x" * 60_200))
    return finish(b)


@vector("signature-line-truncated", "entry 8's signature line is 4 bytes short", index=8,
        reason="expected 68 bytes",
        message="a signature on entry 8 is cut short or damaged (64 bytes where a signature line holds 68)")
def _short_sig() -> Files:
    b = base()
    note = b.items[8][0]
    head, _, sig = note.rpartition("\n\n")
    prefix, blob = sig.rstrip("\n").rsplit(" ", 1)
    short = b64encode(b64decode(blob)[:64])
    return finish(_replace(b, 8, f"{head}\n\n{prefix} {short}\n"))


@vector("genesis-missing", "the log starts with a key registration", index=0, reason="entry 0 must be genesis",
        message="the log does not begin with its genesis entry: entry 0 is a key_registration statement")
def _no_genesis() -> Files:
    b = base()
    b.items = b.items[1:]
    return finish(b)


@vector("genesis-repeated", "a second genesis statement at entry 10", index=10,
        reason="genesis is only allowed at entry 0",
        message="entry 10 is a second genesis entry: only entry 0 may be one")
def _second_genesis() -> Files:
    b = base()
    b.genesis()
    return finish(b)


OFFICIAL = signer("ice.dhs.gov/official")  # DHS/ICE's official, named at genesis


def _anchored(officials: list[dict[str, Any]]) -> LogBuilder:
    """A log whose genesis names an agency official (agency-anchored); alice registered with the
    official's countersignature, then the base log's memos."""
    b = LogBuilder()
    b.genesis(agency_officials=officials)
    body = {"name": ALICE.name, "vkey": str(ALICE.verifier), "roles": ["requester"],
            "attributes": {"agency": "DHS/ICE", "category": "agency_head"}}
    b.add(b.statement("key_registration", [b.admin, ALICE, OFFICIAL], body))
    b.add(b.memo([ALICE], "first memo from the requester"))
    return b


@vector("genesis-agency-officials", "valid; genesis names DHS/ICE's official (agency_officials), who "
        "countersigns the requester's registration at entry 1", exit=0)
def _agency_officials() -> Files:
    b = _anchored([{"vkey": str(OFFICIAL.verifier), "agency": "DHS/ICE"}])
    b.admit_all()
    return finish(b)


@vector("genesis-agency-official-malformed", "genesis names an agency official without its agency", index=0,
        reason="agency_officials[0] must be an object of vkey and agency",
        message="the genesis entry names the log's agency officials in a form the format does not allow "
                "(agency_officials[0] must be an object of vkey and agency)")
def _agency_official_malformed() -> Files:
    return finish(_anchored([{"vkey": str(OFFICIAL.verifier)}]))


# ---- statements and signatures ----------------------------------------------------
@vector("signature-bit-flip", "one bit of the Ed25519 signature of entry 6 flipped (re-chained, re-signed)",
        index=6, reason="does not verify",
        message="entry 6 does not carry a valid signature by tigta.gov/agent-0007: its content was changed after "
        "tigta.gov/agent-0007 signed it, or the signature itself was altered (nothing in the files tells which)")
def _sig_flip() -> Files:
    b = base()
    return finish(_replace(b, 6, _flip_signature(b.items[6][0])))


@vector("cosignature-bit-flip", "one bit of the reviewer's signature on the cosigned entry 4 flipped",
        index=4, reason="signature by irs.gov/disclosure/officer-0042",
        message="the signature by irs.gov/disclosure/officer-0042 on entry 4 was altered: it is not a signature "
        "any Ed25519 key could produce")
def _cosig_flip() -> Files:
    b = base()
    return finish(_replace(b, 4, _flip_signature(b.items[4][0], line=1)))


@vector("cosignature-replaced", "the reviewer's signature on the cosigned entry 4 replaced by his real signature "
        "of another text (re-chained, re-signed)", index=4, reason="signature by irs.gov/disclosure/officer-0042",
        message="the signature by irs.gov/disclosure/officer-0042 on entry 4 is wrong: the other signers' signatures "
        "on the same content verify, so the content is what they signed")
def _cosig_replaced() -> Files:
    b = base()
    note = parse_statement(b.items[4][0]).note
    other = sign_note("another text\n", [BOB]).signatures[0]
    return finish(_replace(b, 4, Note(note.text, (note.signatures[0], other)).encode()))


@vector("signature-not-reduced", "entry 6's Ed25519 signature with S raised by the group's order (re-chained, "
        "re-signed): no signer makes such a signature", index=6, reason="does not verify",
        message="the signature by tigta.gov/agent-0007 on entry 6 was altered: it is not a signature any Ed25519 "
        "key could produce")
def _sig_not_reduced() -> Files:
    b = base()
    note = parse_statement(b.items[6][0]).note
    sig = note.signatures[0]
    s_value = int.from_bytes(sig.signature[32:], "little") + ED25519_ORDER
    assert s_value < 2**256
    bad = NoteSignature(sig.name, sig.key_id, sig.signature[:32] + s_value.to_bytes(32, "little"))
    return finish(_replace(b, 6, Note(note.text, (bad,)).encode()))


@vector("statement-signed-by-unregistered-key", "entry 3 signed by a name never registered", index=3,
        reason="trust.unknown_key",
        message="entry 3 is signed by mallory.example/impostor, who has no registered key at that point in the log")
def _unregistered() -> Files:
    b = base()
    return finish(_replace(b, 3, b.memo([MALLORY], "first memo from the requester", issued_at=b.issued(3))))


@vector("signed-by-other-key-of-same-name", "entry 3 signed by a different key under alice's name", index=3,
        reason="no signature by ice.dhs.gov/director",
        message="entry 3 is signed under the name ice.dhs.gov/director, but not with ice.dhs.gov/director's "
        "registered key (8753c288)")
def _same_name() -> Files:
    b = base()
    impostor = signer(ALICE.name, "impostor-alice")
    return finish(_replace(b, 3, b.memo([impostor], "first memo from the requester", issued_at=b.issued(3))))


@vector("signed-before-registration", "dave signs entry 5; his key is registered only at entry 6", index=5,
        reason="trust.unknown_key",
        message="entry 5 is signed by treasury.gov/analyst-0099, who has no registered key at that point in the "
        "log")
def _before_registration() -> Files:
    b = base(LogBuilder())
    b.items = b.items[:5]
    b.add(b.memo([DAVE], "too early"))  # 5
    b.register(DAVE, ["requester"])  # 6
    return finish(b)


@vector("signed-after-revocation", "carol (revoked at entry 7) signs entry 10", index=10,
        reason="trust.revoked_key",
        message="entry 10 is signed by tigta.gov/agent-0007, whose key had been revoked before it")
def _after_revocation() -> Files:
    b = base()
    b.add(b.memo([CAROL], "after my revocation"))
    return finish(b)


@vector("extra-signature-line", "entry 3 carries a valid signature by bob, who is not a listed signer", index=3,
        reason="do not match the listed signers",
        message="entry 3 carries a signature by irs.gov/disclosure/officer-0042, who is not listed among its "
        "signers (ice.dhs.gov/director)")
def _extra_sig() -> Files:
    b = base()
    note = b.memo([ALICE, BOB], "first memo from the requester", signers=[ALICE.name], issued_at=b.issued(3))
    return finish(_replace(b, 3, note))


@vector("missing-cosigner", "entry 4 lists alice and bob; only alice signed", index=4,
        reason="do not match the listed signers",
        message="entry 4 has no signature by irs.gov/disclosure/officer-0042, who is listed as its signer")
def _missing_cosigner() -> Files:
    b = base()
    note = b.memo([ALICE], "cosigned by requester and reviewer", "cosigned_memo", signers=[ALICE.name, BOB.name],
                  issued_at=b.issued(4))
    return finish(_replace(b, 4, note))


@vector("duplicate-signature-line", "entry 9 signed twice by alice's key", index=9,
        reason="do not match the listed signers",
        message="entry 9 carries 2 signatures by ice.dhs.gov/director, who may sign it only once")
def _dup_sig() -> Files:
    b = base()
    env = b.envelope("memo", [ALICE.name], {"text": "last memo"}, issued_at=b.issued(9))
    note = sign_note(canonical_bytes(env).decode() + "\n", [ALICE])
    doubled = Note(note.text, (note.signatures[0], NoteSignature(*_astuple(note.signatures[0]))))
    return finish(_replace(b, 9, doubled.encode()))


def _astuple(s: NoteSignature) -> tuple[str, int, bytes]:
    return (s.name, s.key_id, s.signature)


@vector("role-not-allowed", "alice (requester) signs a policy statement (administrators only)", index=3,
        reason="trust.role",
        message="entry 3 is a policy statement signed by ice.dhs.gov/director, whose roles (requester) the log's "
        "policy does not allow to sign it (it needs: administrator)")
def _role() -> Files:
    b = base()
    return finish(_replace(b, 3, b.statement("policy", [ALICE], {"policy": POLICY}, issued_at=b.issued(3))))


@vector("role-removed-by-policy", "a policy at entry 10 lets only reviewers sign memos; bob's memo at 11 "
        "passes, alice's at 12 does not", index=12, reason="trust.role",
        message="entry 12 is a memo statement signed by ice.dhs.gov/director, whose roles (requester) the log's "
        "policy does not allow to sign it (it needs: reviewer)")
def _policy_change() -> Files:
    b = base()
    b.add(b.statement("policy", [b.admin], {"policy": {**POLICY, "memo": ["reviewer"]}}))  # 10
    b.add(b.memo([BOB], "still allowed"))  # 11
    b.add(b.memo([ALICE], "no longer allowed"))  # 12
    return finish(b)


@vector("type-not-in-policy", "entry 3 has type 'release', which the log's policy does not list", index=3,
        reason="trust.type",
        message="entry 3 is a 'release' statement, a type the log's policy does not allow")
def _type() -> Files:
    b = base()
    return finish(_replace(b, 3, b.memo([ALICE], "first memo from the requester", "release", issued_at=b.issued(3))))


@vector("statement-expired", "entry 3's statement expired (not_after) before it was recorded", index=3,
        reason="trust.expired",
        message="entry 3's statement had expired when it was recorded: valid until 2025-08-01T11:00:03.123456Z, "
        "recorded at 2025-08-01T12:00:03.373456Z")
def _expired() -> Files:
    b = base()
    note = b.memo([ALICE], "first memo from the requester", issued_at=b.issued(3) - timedelta(hours=2))
    return finish(_replace(b, 3, note))


@vector("statement-issued-in-future", "entry 3's statement issued 10 minutes after it was recorded", index=3,
        reason="trust.future",
        message="entry 3 was recorded at 2025-08-01T12:00:03.373456Z, before its statement was issued "
        "(2025-08-01T12:10:03.123456Z; more than the 5 minutes of clock difference allowed)")
def _future() -> Files:
    b = base()
    note = b.memo([ALICE], "first memo from the requester", issued_at=b.issued(3) + timedelta(minutes=10))
    return finish(_replace(b, 3, note))


@vector("statement-float", "entry 3's statement body holds a float", index=3, reason="floats are not allowed",
        message="entry 3's statement holds a number with a fraction (1.5), which the ledger's format forbids")
def _float() -> Files:
    b = base()
    env = b.envelope("memo", [ALICE.name], {"text": "x", "amount": 0}, issued_at=b.issued(3))
    text = canonical_bytes(env).decode().replace('"amount":0', '"amount":1.5') + "\n"
    return finish(_replace(b, 3, sign_note(text, [ALICE]).encode()))


@vector("statement-duplicate-key", "entry 3's envelope repeats the key 'type'", index=3,
        reason="duplicate object key",
        message="entry 3's statement gives the field 'type' twice, which the ledger's format forbids (readers "
        "could see different values)")
def _dup_key() -> Files:
    b = base()
    env = b.envelope("memo", [ALICE.name], {"text": "x"}, issued_at=b.issued(3))
    text = canonical_bytes(env).decode().replace('"type":"memo"', '"type":"memo","type":"memo"') + "\n"
    return finish(_replace(b, 3, sign_note(text, [ALICE]).encode()))


@vector("statement-not-nfc", "entry 3's memo text is not NFC-normalised (e + combining acute)", index=3,
        reason="not NFC-normalised",
        message="entry 3 holds text that is not in Unicode normal form (NFC), which the ledger never writes: it "
        "was re-encoded or edited")
def _nfc() -> Files:
    b = base()
    env = b.envelope("memo", [ALICE.name], {"text": "cafe"}, issued_at=b.issued(3))
    text = canonical_bytes(env).decode().replace("cafe", "cafe\u0301") + "\n"
    note = sign_note(text, [ALICE]).encode()
    statement, recorded_at = note, b.items[3][1]
    entries = b.entries()
    data = json.dumps({"index": 3, "prev": leaf_hash(entries[2]).hex(), "recorded_at": recorded_at,
                       "statement": statement}, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return finish(b, [*entries[:3], data], export=export_bytes([*entries[:3], data]))


# ---- the trust model ----------------------------------------------------------------
@vector("key-registration-without-proof-of-possession", "carol's registration (entry 5) signed by the "
        "administrator only", index=5, reason="trust.proof_of_possession",
        message="entry 5 registers a key without a signature by that key: nothing shows that its holder has it (no "
        "proof of possession)")
def _no_pop() -> Files:
    b = base()
    return finish(_replace(b, 5, b.registration(CAROL, ["requester"], keys=[b.admin], issued_at=b.issued(5))))


@vector("key-registration-by-non-administrator", "dave registered at entry 10 by alice (a requester)",
        index=10, reason="trust.role",
        message="entry 10 is a key_registration statement signed by ice.dhs.gov/director, whose roles (requester) "
        "the log's policy does not allow to sign it (it needs: administrator)")
def _reg_by_requester() -> Files:
    b = base()
    b.add(b.registration(DAVE, ["requester"], keys=[ALICE, DAVE]))
    return finish(b)


@vector("key-registration-ledger-role", "dave registered at entry 10 with the ledger's role", index=10,
        reason="the ledger role cannot be registered",
        message="entry 10 registers a key with the ledger's own role, which no principal may hold")
def _ledger_role() -> Files:
    b = base()
    b.add(b.registration(DAVE, ["ledger"]))
    return finish(b)


@vector("key-registration-attributes-not-object", "dave registered at entry 10 with attributes that are a "
        "string, not an object", index=10, reason="attributes must be an object",
        message="entry 10 gives the key's attributes as text, where the format requires an object")
def _attributes() -> Files:
    b = base()
    body = {"name": DAVE.name, "vkey": str(DAVE.verifier), "roles": ["requester"], "attributes": "xy"}
    b.add(b.statement("key_registration", [b.admin, DAVE], body))
    return finish(b)


@vector("revocation-by-non-administrator", "bob (a reviewer) revokes alice's key at entry 10", index=10,
        reason="trust.role",
        message="entry 10 is a key_revocation statement signed by irs.gov/disclosure/officer-0042, whose roles "
        "(reviewer) the log's policy does not allow to sign it (it needs: administrator)")
def _revoke_by_reviewer() -> Files:
    b = base()
    body = {"name": ALICE.name, "key_id": f"{ALICE.verifier.key_id:08x}"}
    b.add(b.statement("key_revocation", [BOB], body))
    return finish(b)


@vector("ledger-key-rotation-without-administrator", "the new ledger statement key alone signs its rotation "
        "at entry 10", index=10, reason="needs an administrator's signature beside the ledger's key",
        message="entry 10 replaces the ledger's keys without an administrator's signature")
def _lkr_alone() -> Files:
    b = base()
    new_statement = signer(b.origin + "/ledger", "ledger-statement-key-2")
    b.add(b.statement("ledger_key_rotation", [new_statement], {"statement_vkey": str(new_statement.verifier)}))
    return finish(b)


@vector("blocked-signed-by-administrator", "a 'blocked' entry (ledger only) signed by the administrator",
        index=10, reason="trust.role",
        message="entry 10 is a blocked statement signed by irs.gov/disclosure/admin-0001, whose roles "
        "(administrator) the log's policy does not allow to sign it (it needs: ledger)")
def _blocked_admin() -> Files:
    b = base()
    b.add(b.statement("blocked", [b.admin], {"statement_sha256": "00" * 32, "rules": ["demo.rule"]}))
    return finish(b)


# ---- the checkpoint and the trust root ----------------------------------------------
@vector("checkpoint-size-raised", "the checkpoint's size edited from 10 to 11, not re-signed",
        reason="does not verify",
        message="the checkpoint is not what the key ledger.example.gov/disclosures signed: its text (origin, size "
        "or root) was changed after it was signed, or its signature was altered")
def _cp_size() -> Files:
    f = finish(base())
    f.checkpoint = f.checkpoint.replace("\n10\n", "\n11\n", 1)
    return f


@vector("checkpoint-root-altered", "one character of the checkpoint's root changed, not re-signed",
        reason="does not verify",
        message="the checkpoint is not what the key ledger.example.gov/disclosures signed: its text (origin, size "
        "or root) was changed after it was signed, or its signature was altered")
def _cp_root() -> Files:
    f = finish(base())
    lines = f.checkpoint.split("\n")
    lines[2] = ("B" if lines[2][0] != "B" else "C") + lines[2][1:]
    f.checkpoint = "\n".join(lines)
    return f


@vector("checkpoint-root-resigned", "a checkpoint properly signed over a root that is not the export's",
        reason="the checkpoint's root is",
        message="the export is not the log the checkpoint commits to: the hash of its first 10 entries differs "
        "from the checkpoint's root (entries were changed, removed, inserted or reordered and the chain rebuilt, "
        "or the checkpoint is of another log)")
def _cp_wrong_root() -> Files:
    b = base()
    f = finish(b)
    f.checkpoint = checkpoint_text(b.origin, 10, hashlib.sha256(b"another tree").digest(), [b.checkpoint_key])
    return f


@vector("checkpoint-size-beyond-export", "a checkpoint properly signed for 11 entries over a 10-entry export",
        index=10, reason="the export ends after 10 entries but the checkpoint commits to 11",
        message="entry 10 is missing: the export ends after entry 9, but the checkpoint commits to 11 entries")
def _cp_beyond() -> Files:
    b = base()
    full = base()
    full.add(full.memo([ALICE], "withheld from the export"))
    f = finish(full)
    f.export = export_bytes(b.entries())
    return f


@vector("checkpoint-wrong-key", "the checkpoint signed by another key under the origin's name",
        reason="no signature by ledger.example.gov/disclosures",
        message="the checkpoint carries no signature by the trust root (the key aca75859 of "
        "ledger.example.gov/disclosures)")
def _cp_wrong_key() -> Files:
    b = base()
    return finish(b, keys=[signer(b.origin, "not-the-checkpoint-key")])


@vector("checkpoint-extension-line", "the checkpoint note carries an extension line (signed)",
        reason="expected exactly 3 lines",
        message="the checkpoint's signed text has 4 lines where the ledger writes 3 (origin, size, root)")
def _cp_extension() -> Files:
    b = base()
    f = finish(b)
    body = Checkpoint(b.origin, 10, root_of(b.entries())).text() + "extension line\n"
    f.checkpoint = sign_note(body, [b.checkpoint_key]).encode()
    return f


@vector("checkpoint-unsigned", "the checkpoint's signature block is missing",
        reason="note has no blank line",
        message="the checkpoint carries no signature")
def _cp_unsigned() -> Files:
    b = base()
    f = finish(b)
    f.checkpoint = Checkpoint(b.origin, 10, root_of(b.entries())).text()
    return f


@vector("wrong-trust-root", "a checkpoint signed by a key that is not the log's checkpoint key, and that key "
        "given as trust root", reason="is not one of the log's checkpoint keys",
        message="the trust root is not a checkpoint key that the log itself names (in its genesis entry or a "
        "ledger key rotation): the checkpoint was signed by a key the log never declared")
def _wrong_root() -> Files:
    b = base()
    other = signer(b.origin, "someone-elses-key")
    return finish(b, keys=[other], vkey=str(other.verifier) + "\n")


@vector("trust-root-of-another-log", "the trust root of another log (another origin)",
        reason="differs from the trust root's name",
        message="the checkpoint is for the log 'ledger.example.gov/disclosures', but the trust root is a key of "
        "'ledger.example.org/another-log': they belong to different logs")
def _other_origin() -> Files:
    b = base()
    return finish(b, vkey=str(signer("ledger.example.org/another-log").verifier) + "\n")


@vector("log-of-another-origin", "a log whose genesis names another origin, checkpointed under this one",
        reason="the log's origin (genesis) is",
        message="the export is the log 'ledger.example.org/another-log', but the checkpoint is for the log "
        "'ledger.example.gov/disclosures'")
def _other_log() -> Files:
    other = base(LogBuilder("ledger.example.org/another-log"))
    real = LogBuilder()
    entries = other.entries()
    cp = checkpoint_text(real.origin, 10, root_of(entries), [real.checkpoint_key])
    return Files(export_bytes(entries), cp, str(real.checkpoint_key.verifier) + "\n")


# ---- proofs ---------------------------------------------------------------------------
@vector("consistency-proof-altered", "a bit of the consistency proof's first hash flipped",
        reason="consistency proof",
        message="the consistency proof does not show that the checkpoint extends the previous one: its path does "
        "not lead to the previous checkpoint's root")
def _consistency_bad() -> Files:
    f = _consistency_ok()
    proof = json.loads(f.extra["consistency-proof.json"])
    proof["path"][0] = _flip_hex(proof["path"][0])
    f.extra["consistency-proof.json"] = _proof_json(proof)
    return f


@vector("previous-checkpoint-forked", "a validly signed older checkpoint (size 6) over a fork in which entry 5 "
        "differs: the export is not an extension of it (split view)", reason="rewritten or forked",
        message="the export does not extend the previous checkpoint: its first 6 entries differ from those the "
        "previous checkpoint commits to, so the log was rewritten or forked after it was signed")
def _forked() -> Files:
    b = base()
    entries = b.entries()
    fork = base()
    _replace(fork, 5, fork.registration(DAVE, ["requester"], issued_at=fork.issued(5)))
    fork_entries = fork.entries()
    f = finish(b, entries)
    f.extra["previous-checkpoint.txt"] = checkpoint_text(b.origin, 6, root_of(fork_entries, 6),
                                                         [b.checkpoint_key]).encode()
    f.extra["consistency-proof.json"] = _proof_json(consistency_proof(entries, 6, 10))
    return f


@vector("inclusion-proof-altered", "a bit of the inclusion proof's second hash flipped", index=4,
        reason="inclusion proof: root mismatch",
        message="the inclusion proof does not show that entry 4 is in the log the checkpoint commits to: its path "
        "does not lead to the checkpoint's root")
def _inclusion_bad() -> Files:
    f = _inclusion_ok()
    proof = json.loads(f.extra["inclusion-proof.json"])
    proof["path"][1] = _flip_hex(proof["path"][1])
    f.extra["inclusion-proof.json"] = _proof_json(proof)
    return f


@vector("inclusion-proof-wrong-entry", "the inclusion proof of entry 4 given with entry 5's bytes", index=4,
        reason="the entry is entry 5, the proof is for entry 4",
        message="the entry given is entry 5, but the inclusion proof is for entry 4")
def _inclusion_wrong_entry() -> Files:
    f = _inclusion_ok()
    b = base()
    f.extra["entry.bin"] = b.entries()[5]
    return f


def _flip_hex(h: str) -> str:
    return f"{int(h[0], 16) ^ 1:x}" + h[1:]


# ---- usage: files of the wrong kind (exit 2) ------------------------------------------
USAGE_OUT = ROOT / "tests" / "vectors" / "usage"
BASE_ARGS = ["--vkey", "vkey.txt", "--checkpoint", "checkpoint.txt", "--export", "export.jsonl"]


@dataclass
class UsageVector:
    name: str
    description: str
    args: list[str]  # the verifier's arguments, paths relative to the vector's folder
    message: str
    make: Callable[[], dict[str, bytes]]  # the folder's files (paths relative to it)


USAGE: list[UsageVector] = []


def usage(name: str, description: str, args: list[str], message: str
          ) -> Callable[[Callable[[], dict[str, bytes]]], Callable[[], dict[str, bytes]]]:
    def register(make: Callable[[], dict[str, bytes]]) -> Callable[[], dict[str, bytes]]:
        USAGE.append(UsageVector(name, description, args, message, make))
        return make
    return register


def _happy_files() -> dict[str, bytes]:
    f = _happy()
    return {"export.jsonl": f.export, "checkpoint.txt": f.checkpoint.encode(), "vkey.txt": f.vkey.encode()}


@usage("checkpoint-and-export-swapped", "the export given as --checkpoint and the checkpoint as --export",
       ["--vkey", "vkey.txt", "--checkpoint", "export.jsonl", "--export", "checkpoint.txt"],
       "the file given as --checkpoint (export.jsonl) is an export (JSON Lines of entries), not a checkpoint: were "
       "--checkpoint and --export swapped?")
def _u_swapped() -> dict[str, bytes]:
    return _happy_files()


@usage("export-given-the-checkpoint", "the checkpoint given as --export too",
       ["--vkey", "vkey.txt", "--checkpoint", "checkpoint.txt", "--export", "checkpoint.txt"],
       "the file given as --export (checkpoint.txt) is a checkpoint, not an export (JSON Lines of entries): were "
       "--checkpoint and --export swapped?")
def _u_export_checkpoint() -> dict[str, bytes]:
    return _happy_files()


@usage("checkpoint-extra-blank-line", "an empty line added after the checkpoint's signature (an old copy re-saved)",
       BASE_ARGS, "the file given as --checkpoint (checkpoint.txt) has an extra line after its signatures (line 6, "
       "empty): it was edited; use the file the ledger wrote")
def _u_blank() -> dict[str, bytes]:
    files = _happy_files()
    files["checkpoint.txt"] += b"\n"
    return files


@usage("checkpoint-extra-text-line", "a line of text added after the checkpoint's signature",
       BASE_ARGS, "the file given as --checkpoint (checkpoint.txt) has an extra line after its signatures (line 6: "
       "'saved from the agency site on 2025-08-02'): it was edited; use the file the ledger wrote")
def _u_text() -> dict[str, bytes]:
    files = _happy_files()
    files["checkpoint.txt"] += b"saved from the agency site on 2025-08-02\n"
    return files


@usage("checkpoint-crlf", "the checkpoint re-saved with Windows line endings",
       BASE_ARGS, "the file given as --checkpoint (checkpoint.txt) has Windows line endings (CRLF): it was re-saved "
       "by an editor; use the file the ledger wrote")
def _u_crlf() -> dict[str, bytes]:
    files = _happy_files()
    files["checkpoint.txt"] = files["checkpoint.txt"].replace(b"\n", b"\r\n")
    return files


@usage("checkpoint-empty", "an empty file given as the checkpoint", BASE_ARGS,
       "the file given as --checkpoint (checkpoint.txt) is an empty file, not a checkpoint")
def _u_empty() -> dict[str, bytes]:
    return {**_happy_files(), "checkpoint.txt": b""}


@usage("vkey-given-the-checkpoint", "the checkpoint given as --vkey",
       ["--vkey", "checkpoint.txt", "--checkpoint", "checkpoint.txt", "--export", "export.jsonl"],
       "the file given as --vkey (checkpoint.txt) is a checkpoint, not a verifier key (a trust root): --vkey takes "
       "the ledger's published verifier key (one line: name+id+key)")
def _u_vkey() -> dict[str, bytes]:
    return _happy_files()


@usage("checkpoint-given-the-vkey", "the trust root given as --checkpoint",
       ["--vkey", "vkey.txt", "--checkpoint", "vkey.txt", "--export", "export.jsonl"],
       "the file given as --checkpoint (vkey.txt) is a verifier key (a trust root), not a checkpoint: were --vkey "
       "and --checkpoint swapped?")
def _u_checkpoint_vkey() -> dict[str, bytes]:
    return _happy_files()


@usage("previous-checkpoint-given-the-export", "the export given as --previous-checkpoint",
       [*BASE_ARGS, "--previous-checkpoint", "export.jsonl"],
       "the file given as --previous-checkpoint (export.jsonl) is an export (JSON Lines of entries), not a "
       "checkpoint")
def _u_previous() -> dict[str, bytes]:
    return _happy_files()


def _bundle_files() -> dict[str, bytes]:
    files = _happy_files()
    entries = base().entries()
    files["bundle/bundle.json"] = canonical_bytes({
        "bulk": [], "entries": [0, 3], "format": "dl-bundle/v1", "incomplete": [], "lines": [], "openings": False,
        "origin": ORIGIN, "request": "vec-0003-memo", "tree_size": 10}) + b"\n"
    files["bundle/entries.jsonl"] = export_line(0, entries[0]) + export_line(3, entries[3])
    return files


@usage("bundle-folder-given-as-export", "an evidence bundle's folder given as --export",
       ["--vkey", "vkey.txt", "--checkpoint", "checkpoint.txt", "--export", "bundle"],
       "the folder given as --export (bundle) is an evidence bundle folder, not an export (JSON Lines of entries): "
       "check an evidence bundle with --bundle bundle")
def _u_bundle() -> dict[str, bytes]:
    return _bundle_files()


@usage("bundle-entries-given-as-export", "an evidence bundle's entries.jsonl given as --export",
       ["--vkey", "vkey.txt", "--checkpoint", "checkpoint.txt", "--export", "bundle/entries.jsonl"],
       "the file given as --export (bundle/entries.jsonl) is an evidence bundle's entries.jsonl, not an export "
       "(JSON Lines of entries): check an evidence bundle with --bundle FOLDER")
def _u_bundle_entries() -> dict[str, bytes]:
    return _bundle_files()


@usage("export-given-as-bundle", "the export given as --bundle", ["--bundle", "export.jsonl"],
       "the file given as --bundle (export.jsonl) is an export (JSON Lines of entries), not an evidence bundle "
       "folder")
def _u_export_bundle() -> dict[str, bytes]:
    return _happy_files()


@usage("entry-given-the-export", "the whole export given as --entry with an inclusion proof",
       [*BASE_ARGS[:4], "--inclusion-proof", "inclusion-proof.json", "--entry", "export.jsonl"],
       "the file given as --entry (export.jsonl) is an export (JSON Lines of entries), not a single entry: give the "
       "entry's line alone, or what `disclosure-ledger entry N` prints")
def _u_entry() -> dict[str, bytes]:
    f = _inclusion_ok()
    return {**_happy_files(), "inclusion-proof.json": f.extra["inclusion-proof.json"]}


@usage("consistency-proof-given-as-inclusion-proof", "a consistency proof given as --inclusion-proof",
       [*BASE_ARGS[:4], "--inclusion-proof", "consistency-proof.json", "--entry", "entry.bin"],
       "the file given as --inclusion-proof (consistency-proof.json) is a consistency proof, not an inclusion proof: "
       "give it with --previous-checkpoint and --consistency-proof")
def _u_proofs() -> dict[str, bytes]:
    f = _consistency_ok()
    return {**_happy_files(), "consistency-proof.json": f.extra["consistency-proof.json"],
            "entry.bin": _inclusion_ok().extra["entry.bin"]}


# ---- writing --------------------------------------------------------------------------
def write_all(out: Path) -> list[str]:
    """Write every vector under out/ (replacing it); return the names."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    names = [v.name for v in VECTORS]
    if len(set(names)) != len(names):
        raise SystemExit("two vectors share a name")
    index_lines = [
        "# Verifier test vectors",
        "",
        "Generated by `python scripts/gen_vectors.py`; do not edit by hand. Each folder holds",
        "`export.jsonl`, `checkpoint.txt`, `vkey.txt` (the trust root), `expected.json`, and",
        "sometimes `previous-checkpoint.txt` + `consistency-proof.json` or `inclusion-proof.json`",
        "+ `entry.bin`. Run one with:",
        "",
        "    python scripts/verify_ledger.py --vkey DIR/vkey.txt --checkpoint DIR/checkpoint.txt \\",
        "        --export DIR/export.jsonl [--previous-checkpoint DIR/previous-checkpoint.txt \\",
        "        --consistency-proof DIR/consistency-proof.json] [--inclusion-proof \\",
        "        DIR/inclusion-proof.json --entry DIR/entry.bin]",
        "",
        "`message` is the verifier's exact plain message (what a court's expert repeats); `reason",
        "contains` is part of its technical reason, kept beside it in the report.",
        "",
        "| vector | exit | index | message | reason contains | what was done |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for v in VECTORS:
        files = v.make()
        d = out / v.name
        d.mkdir()
        (d / "export.jsonl").write_bytes(files.export)
        (d / "checkpoint.txt").write_bytes(files.checkpoint.encode())
        (d / "vkey.txt").write_bytes(files.vkey.encode())
        for name, data in sorted(files.extra.items()):
            (d / name).write_bytes(data)
        expected = {"exit": v.exit, "index": v.index, "message": v.message, "reason_contains": v.reason,
                    "description": v.description}
        (d / "expected.json").write_text(json.dumps(expected, indent=2, ensure_ascii=False) + "\n")
        index_lines.append(
            f"| `{v.name}` | {v.exit} | {'' if v.index is None else v.index} | {v.message or ''} | {v.reason or ''} "
            f"| {v.description} |"
        )
    (out / "README.md").write_text("\n".join(index_lines) + "\n")
    return names


def write_usage(out: Path) -> list[str]:
    """Write every usage vector under out/ (replacing it); return the names."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    index_lines = [
        "# Verifier usage vectors: files of the wrong kind",
        "",
        "Generated by `python scripts/gen_vectors.py`; do not edit by hand. Each folder holds the",
        "files, and `expected.json` with the verifier's arguments (paths relative to the folder), the",
        "exit status (2: nothing is said about the log) and the exact message on stderr. Run one from",
        "its folder: `python ../../../../scripts/verify_ledger.py ARGS...`.",
        "",
        "| vector | arguments | message | what was done |",
        "| --- | --- | --- | --- |",
    ]
    for v in USAGE:
        d = out / v.name
        for name, data in sorted(v.make().items()):
            (d / name).parent.mkdir(parents=True, exist_ok=True)
            (d / name).write_bytes(data)
        expected = {"exit": 2, "args": v.args, "message": v.message, "description": v.description}
        (d / "expected.json").write_text(json.dumps(expected, indent=2, ensure_ascii=False) + "\n")
        index_lines.append(f"| `{v.name}` | `{' '.join(v.args)}` | {v.message} | {v.description} |")
    (out / "README.md").write_text("\n".join(index_lines) + "\n")
    return [v.name for v in USAGE]


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate tests/vectors/verify/")
    parser.add_argument("--check", action="store_true", help="exit 1 if the checked-in vectors differ")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--usage-out", type=Path, default=USAGE_OUT)
    args = parser.parse_args(argv)
    if args.check:
        for write, target in ((write_all, args.out), (write_usage, args.usage_out)):
            with tempfile.TemporaryDirectory() as tmp:
                write(Path(tmp) / "v")
                fresh, current = _tree(Path(tmp) / "v"), _tree(target)
            if fresh != current:
                changed = sorted(k for k in fresh.keys() | current.keys() if fresh.get(k) != current.get(k))
                print(f"{target} differs from a fresh build: {changed[:10]}", file=sys.stderr)
                return 1
        return 0
    names = write_all(args.out)
    print(f"wrote {len(names)} vectors to {args.out}")
    names = write_usage(args.usage_out)
    print(f"wrote {len(names)} usage vectors to {args.usage_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
