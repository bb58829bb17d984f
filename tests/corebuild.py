"""Builders for tests of the pure integrity core: deterministic keys, contract times,
signed statements and small, valid logs.

A plain module (tests/conftest.py puts tests/ on sys.path) so that unit, property and
integration tests share one way of building a log. Everything here goes through the
real core (real Ed25519, real canonical JSON); nothing is mocked.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ledger.core.b64 import b64decode, b64encode
from ledger.core.checkpoint import Checkpoint, SignedCheckpoint, sign_checkpoint
from ledger.core.entry import ZERO_HASH_HEX, Entry, encode_entry
from ledger.core.keys import SignerKey
from ledger.core.merkle import root_from_leaf_hashes
from ledger.core.note import SIG_PREFIX
from ledger.core.statement import make_envelope, parse_statement, sign_statement
from ledger.core.times import format_time
from ledger.core.trust import TrustState
from ledger.core.verify import LogVerifier
from ledger.policy import trust_policy

ORIGIN = "ledger.example.gov/disclosures"
STATEMENT_KEY_NAME = ORIGIN + "/ledger"
ADMIN_NAME = "irs.gov/disclosure/admin-0001"
REQUESTER_NAME = "ice.dhs.gov/director"
REVIEWER_NAME = "irs.gov/disclosure/officer-0042"

# A fixed instant with a non-zero fraction, so six-digit microseconds are exercised.
T0 = datetime(2025, 8, 1, 12, 0, 0, 123456, tzinfo=UTC)


def genesis_policy() -> dict[str, list[str]]:
    """The policy of the brief: trust types plus one domain type (memo) for requesters."""
    return trust_policy(memo=["requester"])


def key(name: str, generation: int = 0) -> SignerKey:
    """A deterministic Ed25519 key for a name (a different one per generation)."""
    return SignerKey(name, hashlib.sha256(f"corebuild\n{name}\n{generation}".encode()).digest())


def at(seconds: float) -> datetime:
    """T0 plus some seconds."""
    return T0 + timedelta(seconds=seconds)


def stamp(seconds: float) -> str:
    """The contract time string of T0 plus some seconds."""
    return format_time(at(seconds))


def flip_signature_bit(note_text: str, line: int = 0, bit: int = 0) -> str:
    """The same note with one bit of one Ed25519 signature flipped (key hash untouched)."""
    split = note_text.rindex("\n\n") + 2
    head, sig_lines = note_text[:split], note_text[split:].split("\n")
    prefix, blob_text = sig_lines[line].rsplit(" ", 1)
    blob = bytearray(b64decode(blob_text))
    blob[4 + bit // 8] ^= 1 << (bit % 8)
    sig_lines[line] = f"{prefix} {b64encode(bytes(blob))}"
    assert sig_lines[line].startswith(SIG_PREFIX)
    return head + "\n".join(sig_lines)


def chain(statements: Sequence[str], recorded_at: Sequence[str]) -> list[Entry]:
    """Entries 0..n-1 holding the statements, each prev linking to the previous leaf hash."""
    entries: list[Entry] = []
    prev = ZERO_HASH_HEX
    for index, (statement, when) in enumerate(zip(statements, recorded_at, strict=True)):
        entry = encode_entry(index, prev, when, statement)
        entries.append(entry)
        prev = entry.leaf_hash.hex()
    return entries


class LogBuilder:
    """Builds a valid log one statement at a time, admitting each through a TrustState.

    Entry ``i`` is recorded at T0 + i seconds and its statement is issued at the same
    instant (unless told otherwise), so time rules pass by default. ``append`` raises
    whatever the trust state raises and then appends nothing.
    """

    def __init__(self, origin: str = ORIGIN, policy: dict[str, list[str]] | None = None) -> None:
        self.origin = origin
        self.policy = policy if policy is not None else genesis_policy()
        self.checkpoint_key = key(origin)
        self.statement_key = key(origin + "/ledger")
        self.admin = key(ADMIN_NAME)
        self.entries: list[Entry] = []
        self.state = TrustState()
        self._ids = itertools.count()

    # ---- time ---------------------------------------------------------------
    @property
    def size(self) -> int:
        return len(self.entries)

    def now(self) -> datetime:
        """The instant of the next entry."""
        return at(self.size)

    # ---- statements ---------------------------------------------------------
    def statement(
        self,
        type_: str,
        keys: Sequence[SignerKey],
        body: dict[str, Any],
        *,
        signers: Sequence[str] | None = None,
        issued_at: datetime | None = None,
        valid_for: timedelta = timedelta(hours=1),
        id_: str | None = None,
    ) -> str:
        """A statement signed by keys; ``signers`` (the listed names) default to the keys' names."""
        envelope = make_envelope(
            type_,
            id_ or f"{type_}-{next(self._ids):04d}",
            list(signers) if signers is not None else [k.name for k in keys],
            body,
            issued_at=issued_at or self.now(),
            valid_for=valid_for,
        )
        return sign_statement(envelope, keys)

    def genesis_body(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "checkpoint_vkey": str(self.checkpoint_key.verifier),
            "statement_vkey": str(self.statement_key.verifier),
            "administrator": {
                "vkey": str(self.admin.verifier),
                "roles": ["administrator"],
                "attributes": {},
            },
            "policy": self.policy,
        }

    def genesis(self) -> str:
        return self.statement("genesis", [self.statement_key], self.genesis_body())

    def registration(
        self,
        new: SignerKey,
        roles: Sequence[str],
        *,
        admin: SignerKey | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> str:
        """key_registration of ``new``, signed by an administrator and by ``new`` (proof of possession)."""
        body = {
            "name": new.name,
            "vkey": str(new.verifier),
            "roles": list(roles),
            "attributes": attributes or {},
        }
        return self.statement("key_registration", [admin or self.admin, new], body)

    def revocation(self, old: SignerKey, *, admin: SignerKey | None = None) -> str:
        body = {"name": old.name, "key_id": f"{old.verifier.key_id:08x}"}
        return self.statement("key_revocation", [admin or self.admin], body)

    def rotation(self, old: SignerKey, new: SignerKey, *, admin: SignerKey | None = None) -> str:
        """key_rotation from ``old`` to ``new`` (same name), signed by an administrator and by ``new``."""
        body = {
            "name": new.name,
            "vkey": str(new.verifier),
            "retires": f"{old.verifier.key_id:08x}",
        }
        return self.statement("key_rotation", [admin or self.admin, new], body)

    def ledger_key_rotation(
        self,
        *,
        statement_key: SignerKey | None = None,
        checkpoint_key: SignerKey | None = None,
        admin: SignerKey | None = None,
    ) -> str:
        """ledger_key_rotation signed by an administrator and by the ledger's (new, if any) statement key."""
        body: dict[str, Any] = {}
        if statement_key is not None:
            body["statement_vkey"] = str(statement_key.verifier)
        if checkpoint_key is not None:
            body["checkpoint_vkey"] = str(checkpoint_key.verifier)
        ledger_key = statement_key or self.statement_key
        return self.statement("ledger_key_rotation", [admin or self.admin, ledger_key], body)

    def memo(self, signer: SignerKey, text: str = "a memo") -> str:
        return self.statement("memo", [signer], {"text": text})

    # ---- the log ------------------------------------------------------------
    def append(self, statement: str, recorded_at: str | None = None) -> Entry:
        """Admit the statement as the next entry (trust + signatures), then encode and keep it."""
        when = recorded_at or format_time(self.now())
        self.state.admit(parse_statement(statement), self.size, when)
        prev = self.entries[-1].leaf_hash.hex() if self.entries else ZERO_HASH_HEX
        entry = encode_entry(self.size, prev, when, statement)
        self.entries.append(entry)
        return entry

    def start(self) -> LogBuilder:
        """Append the genesis entry."""
        self.append(self.genesis())
        return self

    def register(self, new: SignerKey, roles: Sequence[str] = ("requester",)) -> SignerKey:
        self.append(self.registration(new, roles))
        return new

    def statements(self) -> list[str]:
        return [e.statement for e in self.entries]

    def recorded_ats(self) -> list[str]:
        return [e.recorded_at for e in self.entries]

    def data(self) -> list[bytes]:
        return [e.data for e in self.entries]

    def root(self) -> bytes:
        return root_from_leaf_hashes([e.leaf_hash for e in self.entries])

    def checkpoint(self) -> SignedCheckpoint:
        return sign_checkpoint(Checkpoint(self.origin, self.size, self.root()), [self.checkpoint_key])

    def verify(self) -> LogVerifier:
        """Run a fresh LogVerifier over the entry bytes."""
        verifier = LogVerifier()
        for index, data in enumerate(self.data()):
            verifier.add(data, index)
        return verifier


def small_log() -> LogBuilder:
    """genesis, a requester's registration, two memos, a reviewer's registration (5 entries)."""
    log = LogBuilder().start()
    requester = log.register(key(REQUESTER_NAME))
    log.append(log.memo(requester, "first"))
    log.append(log.memo(requester, "second"))
    log.register(key(REVIEWER_NAME), ("reviewer",))
    return log
