"""Salts the ledger vouches for (docs/FORMAT.md § 13.1): every salt of a statement's commitments is
derived from a seed the ledger issued for that statement, so hiding does not rest on the submitter.

    salt = HMAC-SHA-256(seed, "dl/salt/v1" || LF || JCS({"field": f, "line": k, "position": p}))[:16]

``seed`` is 32 random bytes the ledger drew for one statement id and one principal; ``(f, k, p)`` is
the commitment's slot (``ledger.core.bundle_format.commitment_slots``): its field, its absolute line
number (null for a member of the statement's head) and its position among the head's members of
that field. A bulk statement has one seed, its manifest's; its chunks' salts derive from it with
their absolute line numbers. A salt that is zero, repeated, chosen, or computed from the value is
refused, because the only salt accepted for a slot is this one.

A principal asks for a seed with a **seed request**: a C2SP signed note, never appended to the log,

    dl/salt-seed-request/v1
    {"issued_at":"…","origin":"…","statement_id":"…","statement_type":"…"}

signed by the principal alone. Its first line keeps it apart from every statement (whose text is
one line of JSON), so its signature can never pass for one. The ledger answers with the seed
**sealed to the principal's own key**: libsodium's sealed box to the X25519 form of the signer's
Ed25519 public key, which only the holder of the signing key opens — a replayed request gains
nothing. Pure: standard library, PyNaCl and the canonical encoder; no I/O.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

import nacl.bindings
import nacl.exceptions
import nacl.public
import nacl.signing

from ledger.core.b64 import b64decode, b64encode
from ledger.core.canonical import canonical_bytes, parse_canonical
from ledger.core.commitments import SALT_SIZE, Opening, commit
from ledger.core.errors import FormatError, LedgerError
from ledger.core.keys import SignerKey, VerifierKey
from ledger.core.note import Note, parse_note, sign_note
from ledger.core.times import format_time, parse_time, utc_now

SEED_SIZE = 32
SALT_TAG = b"dl/salt/v1\n"
SEED_REQUEST_TAG = "dl/salt-seed-request/v1"
SEED_REQUEST_KEYS = frozenset({"issued_at", "origin", "statement_id", "statement_type"})
# The statement types whose bodies carry commitments (bundle_format.commitment_slots): only these
# are issued seeds. A bulk chunk takes its manifest's seed.
SEEDED_TYPES = frozenset({"request", "match_result", "court_order", "correction", "inspection", "legacy_release"})
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z")
_FIELD_RE = re.compile(r"[a-z0-9_]+(?:\.[a-z0-9_]+)*\Z")


class SeedError(LedgerError):
    """A seed request, seed answer or seed that is malformed or cannot be opened (never quotes a seed)."""


def slot_document(field_: str, line: int | None, position: int) -> bytes:
    """JCS({"field": f, "line": k, "position": p}), built directly: field names are ASCII without
    characters JSON escapes, and the numbers are plain integers (tested against the encoder)."""
    if type(field_) is not str or not _FIELD_RE.match(field_):
        raise SeedError(f"a slot's field is a field name, found {str(field_)[:40]!r}")
    if (line is not None and (type(line) is not int or line < 0)) or type(position) is not int or position < 0:
        raise SeedError("a slot's line (or null) and position are non-negative integers")
    return ('{"field":"' + field_ + '","line":' + ("null" if line is None else str(line))
            + ',"position":' + str(position) + "}").encode("ascii")


def derive_salt(seed: bytes, field_: str, line: int | None, position: int) -> bytes:
    """The salt of slot (field, line, position) under ``seed``: the only one the ledger accepts."""
    if type(seed) is not bytes or len(seed) != SEED_SIZE:
        raise SeedError(f"a seed is {SEED_SIZE} bytes")
    return hmac.digest(seed, SALT_TAG + slot_document(field_, line, position), "sha256")[:SALT_SIZE]


class SaltDeriver:
    """``derive_salt`` for one seed, fast: each field's HMAC state over the tag and the slot's first
    bytes is computed once and copied per salt (a bulk chunk has 512 of them; tested equal)."""

    def __init__(self, seed: bytes) -> None:
        if type(seed) is not bytes or len(seed) != SEED_SIZE:
            raise SeedError(f"a seed is {SEED_SIZE} bytes")
        self._seed = seed
        self._heads: dict[str, Any] = {}

    def __call__(self, field_: str, line: int | None, position: int) -> bytes:
        head = self._heads.get(field_)
        if head is None:
            slot_document(field_, 0, 0)  # the field name is checked once
            head = self._heads[field_] = hmac.new(
                self._seed, SALT_TAG + b'{"field":"' + field_.encode("ascii") + b'","line":', "sha256")
        if (line is not None and (type(line) is not int or line < 0)) or type(position) is not int or position < 0:
            raise SeedError("a slot's line (or null) and position are non-negative integers")
        mac = head.copy()
        mac.update(b'null,"position":%d}' % position if line is None else b'%d,"position":%d}' % (line, position))
        return mac.digest()[:SALT_SIZE]


@dataclass(frozen=True)
class SaltSeed:
    """A seed the ledger issued to ``principal`` for statement ``statement_id`` of ``statement_type``.

    ``repr`` never shows the seed. ``commit`` commits to a value in a slot with the derived salt."""

    statement_id: str
    statement_type: str
    principal: str
    seed: bytes = field(repr=False)
    expires_at: str = ""

    def __post_init__(self) -> None:
        if type(self.seed) is not bytes or len(self.seed) != SEED_SIZE:
            raise SeedError(f"a seed is {SEED_SIZE} bytes")

    @cached_property
    def _derive(self) -> SaltDeriver:
        return SaltDeriver(self.seed)

    def __getstate__(self) -> dict[str, Any]:  # pickled without its deriver (rebuilt on first use)
        return {k: v for k, v in self.__dict__.items() if k != "_derive"}

    def salt(self, field_: str, line: int | None = None, position: int = 0) -> bytes:
        return self._derive(field_, line, position)

    def commit(self, field_: str, value: Any, line: int | None = None, position: int = 0) -> Opening:
        return commit(field_, value, self.salt(field_, line, position))

    @classmethod
    def local(cls, statement_id: str, statement_type: str, principal: str) -> SaltSeed:
        """A seed drawn here, not issued by a ledger: for a ledger without the disclosure service
        (tests, a rehearsal); the disclosure service refuses statements built with it."""
        return cls(statement_id, statement_type, principal, secrets.token_bytes(SEED_SIZE))


# ---- seed requests (the principal's signed note) ------------------------------------------------
@dataclass(frozen=True)
class SeedRequest:
    """A parsed seed request; its signature is not checked here (the ledger checks it against its keys)."""

    note: Note
    principal: str
    origin: str
    statement_id: str
    statement_type: str
    issued_at: datetime


def seed_request(signer: SignerKey, origin: str, statement_type: str, statement_id: str,
                 issued_at: datetime | None = None) -> str:
    """The signed seed request for statement ``statement_id`` of ``statement_type`` (a note to send)."""
    body = {"issued_at": format_time(issued_at or utc_now()), "origin": origin, "statement_id": statement_id,
            "statement_type": statement_type}
    _check_request_body(body)
    text = SEED_REQUEST_TAG + "\n" + canonical_bytes(body).decode("utf-8") + "\n"
    return sign_note(text, [signer]).encode()


def parse_seed_request(data: str) -> SeedRequest:
    """Parse a seed request note (shape only); SeedError says what is wrong."""
    try:
        note = parse_note(data)
    except LedgerError as e:
        raise SeedError(f"a seed request is a signed note: {e}") from None
    lines = note.text.split("\n")
    if len(lines) != 3 or lines[0] != SEED_REQUEST_TAG or lines[2] != "":
        raise SeedError(f"a seed request's text is {SEED_REQUEST_TAG!r} and one line of canonical JSON")
    if len(note.signatures) != 1:
        raise SeedError("a seed request is signed by exactly one key: the principal's")
    try:
        body = parse_canonical(lines[1].encode("utf-8"))
    except LedgerError as e:
        raise SeedError(f"a seed request's body is not canonical JSON: {e}") from None
    _check_request_body(body)
    return SeedRequest(note, note.signatures[0].name, body["origin"], body["statement_id"], body["statement_type"],
                       parse_time(body["issued_at"]))


def _check_request_body(body: Any) -> None:
    if not isinstance(body, dict) or set(body) != SEED_REQUEST_KEYS:
        found = sorted(body) if isinstance(body, dict) else type(body).__name__
        raise SeedError(f"a seed request's body has exactly {sorted(SEED_REQUEST_KEYS)}, found {found}")
    if not all(isinstance(v, str) for v in body.values()):
        raise SeedError("a seed request's members are strings")
    if not _ID_RE.match(body["statement_id"]):
        raise SeedError("statement_id: 1-128 of [A-Za-z0-9._:-], starting with a letter or digit")
    if body["statement_type"] not in SEEDED_TYPES:
        raise SeedError(f"statement_type: one of {', '.join(sorted(SEEDED_TYPES))} (the types that commit), "
                        f"found {body['statement_type'][:40]!r}")
    try:
        parse_time(body["issued_at"])
    except FormatError as e:
        raise SeedError(f"issued_at: {e}") from None


# ---- the answer: the seed sealed to the principal's key ----------------------------------------
def seal_seed(key: VerifierKey, seed: bytes) -> bytes:
    """``seed`` in a sealed box to the X25519 form of ``key`` (an Ed25519 key): only its holder opens it."""
    public = nacl.bindings.crypto_sign_ed25519_pk_to_curve25519(key.public_key)
    return bytes(nacl.public.SealedBox(nacl.public.PublicKey(public)).encrypt(seed))


def open_seed(signer: SignerKey, sealed: bytes) -> bytes:
    """Open a sealed seed with the principal's signing key (SeedError if it was not sealed to it)."""
    private = nacl.signing.SigningKey(signer.seed).to_curve25519_private_key()
    try:
        seed = nacl.public.SealedBox(private).decrypt(sealed)
    except nacl.exceptions.CryptoError:
        raise SeedError(f"the sealed seed does not open with the key of {signer.name}") from None
    if len(seed) != SEED_SIZE:
        raise SeedError(f"a seed is {SEED_SIZE} bytes, the sealed box held {len(seed)}")
    return seed


def seed_answer(seed: SaltSeed, key: VerifierKey) -> dict[str, str]:
    """What the ledger sends back: the seed's statement, type, principal, expiry and the sealed seed."""
    return {"statement_id": seed.statement_id, "statement_type": seed.statement_type, "principal": seed.principal,
            "expires_at": seed.expires_at, "sealed_seed": b64encode(seal_seed(key, seed.seed))}


def open_seed_answer(signer: SignerKey, answer: Any) -> SaltSeed:
    """The SaltSeed in a ledger's answer to this principal's seed request."""
    keys = {"statement_id", "statement_type", "principal", "expires_at", "sealed_seed"}
    if not isinstance(answer, dict) or set(answer) != keys or not all(isinstance(v, str) for v in answer.values()):
        raise SeedError(f"a seed answer is an object of the strings {sorted(keys)}")
    if answer["principal"] != signer.name:
        raise SeedError(f"the seed was issued to {answer['principal'][:128]!r}, not {signer.name!r}")
    try:
        sealed = b64decode(answer["sealed_seed"])
    except FormatError as e:
        raise SeedError(f"sealed_seed: {e}") from None
    return SaltSeed(answer["statement_id"], answer["statement_type"], signer.name, open_seed(signer, sealed),
                    answer["expires_at"])
