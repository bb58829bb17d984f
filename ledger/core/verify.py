"""Verification of a whole log, entry by entry, from the entry bytes alone.

Shared by ``disclosure-ledger verify`` (on the stored log) and the court's script
(on an export). Every check is on. Two parts can run in other processes: the
stateless parsing of an entry (``parse_log_entry``, then ``add_parsed``; or, sending
less between processes, ``entry_record``, then ``add_record``), and the Ed25519 checks
themselves (``defer_signatures``, then ``check_deferred``). The reasons given are the
same whichever way the work is split.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from ledger.core.entry import ZERO_HASH_HEX, Entry, parse_entry, parse_entry_fields
from ledger.core.errors import LedgerError, VerificationError
from ledger.core.keys import VerifierKey
from ledger.core.merkle import Frontier, leaf_hash
from ledger.core.note import match_signature_lines, match_signatures
from ledger.core.statement import Statement, parse_statement, parse_statement_parts
from ledger.core.times import parse_time
from ledger.core.trust import TRUST_TYPES, TrustState


class ChainLink(Protocol):
    """What the chain checks read of an entry: an Entry, or a lighter record of these four."""

    @property
    def index(self) -> int: ...

    @property
    def prev(self) -> str: ...

    @property
    def recorded_at(self) -> str: ...

    @property
    def leaf_hash(self) -> bytes: ...


@dataclass
class DeferredSignatures:
    """Ed25519 checks collected for a range of entries: (index, signed text, [(key, signature)]).

    Which signature line belongs to which key was settled when the entry was admitted
    (``match_signatures``); only the Ed25519 verifications remain.
    """

    items: list[tuple[int, bytes, list[tuple[VerifierKey, bytes]]]] = field(default_factory=list)


def parse_log_entry(data: bytes, index: int) -> tuple[Entry, Statement | str]:
    """The stateless checks of entry ``index``, which need no earlier entry.

    Raises VerificationError if the entry is malformed. A malformed statement is returned
    as its reason, for ``add_parsed`` to raise after the chain checks (as ``add`` does).
    """
    try:
        entry = parse_entry(data)
    except LedgerError as e:
        raise VerificationError(f"malformed entry: {e}", index) from None
    try:
        return entry, parse_statement(entry.statement)
    except LedgerError as e:
        return entry, f"malformed statement: {e}"


# ---- an entry as a compact record, to cross processes ------------------------------
# The stateless checks of an entry (parse_log_entry) can run in another process; what the
# in-order checks then need of it travels as plain tuples, which pickle cheaply:
#   (index, prev, recorded_at, leaf_hash, statement), statement being the reason it is
#   malformed, or (type, id, signers, issued_at, not_after, body, signed text, lines),
#   body only for the TRUST_TYPES (None otherwise: no check reads another type's body),
#   lines the signature lines as (name, key_id, signature).
StatementFacts = tuple[
    str, str, list[str], str, str, "dict[str, Any] | None", bytes, tuple[tuple[str, int, bytes], ...]
]
EntryRecord = tuple[int, str, str, bytes, "StatementFacts | str"]


def entry_record(data: bytes, index: int) -> EntryRecord:
    """``parse_log_entry`` of entry ``index``, as a compact record for ``LogVerifier.add_record``.

    Raises VerificationError if the entry is malformed (a malformed statement is recorded).
    """
    try:
        entry_index, prev, recorded_at, statement = parse_entry_fields(data)
    except LedgerError as e:
        raise VerificationError(f"malformed entry: {e}", index) from None
    leaf = leaf_hash(data)
    try:
        _, note, envelope = parse_statement_parts(statement)
    except LedgerError as e:
        return entry_index, prev, recorded_at, leaf, f"malformed statement: {e}"
    type_ = envelope["type"]
    facts: StatementFacts = (
        type_, envelope["id"], envelope["signers"], envelope["issued_at"], envelope["not_after"],
        envelope["body"] if type_ in TRUST_TYPES else None,
        note.text.encode("utf-8"),
        tuple([(s.name, s.key_id, s.signature) for s in note.signatures]),
    )
    return entry_index, prev, recorded_at, leaf, facts


class SignatureLine(NamedTuple):
    name: str
    key_id: int
    signature: bytes


class StatementRecord:
    """What the trust checks read of a statement (ledger.core.trust.TrustInput), rebuilt from
    StatementFacts without parsing the statement again. Its envelope carries the body only
    for the TRUST_TYPES ({} for any other type)."""

    __slots__ = ("envelope", "id", "issued_at", "lines", "message", "not_after", "signers", "type")

    def __init__(self, facts: StatementFacts) -> None:
        type_, id_, signers, issued_at, not_after, body, message, lines = facts
        self.type: str = type_
        self.id: str = id_
        self.signers: list[str] = signers
        self.envelope: dict[str, Any] = {
            "v": 1, "type": type_, "id": id_, "signers": signers, "issued_at": issued_at,
            "not_after": not_after, "body": {} if body is None else body,
        }
        self.issued_at: datetime = parse_time(issued_at)
        self.not_after: datetime = parse_time(not_after)
        self.message = message
        self.lines = [SignatureLine(*line) for line in lines]


class LogVerifier:
    """Feed entries in order; every structural, chain, time and trust check runs as they arrive."""

    def __init__(self, *, defer_signatures: bool = False) -> None:
        self.trust = TrustState()
        self.frontier = Frontier()
        self.prev_hex = ZERO_HASH_HEX
        self.last_recorded_at: str | None = None
        self.defer = defer_signatures
        self.deferred = DeferredSignatures()
        # Receives (level, position, hash) of every tree node completed; fsck compares stored nodes.
        self.on_node: Callable[[int, int, bytes], None] | None = None

    @property
    def size(self) -> int:
        return self.frontier.size

    def root(self) -> bytes:
        return self.frontier.root()

    def add(self, data: bytes, index: int | None = None) -> Entry:
        """Check one entry's bytes as the next entry; raise VerificationError naming it."""
        expected = self.size
        if index is not None and index != expected:
            raise VerificationError("index out of sequence", expected, expected, index)
        entry, stmt = parse_log_entry(data, expected)
        self.add_parsed(entry, stmt)
        return entry

    def add_parsed(self, entry: ChainLink, stmt: Statement | str) -> None:
        """``add`` for an entry already through ``parse_log_entry`` (perhaps in another process).

        ``entry`` may be the Entry or any record of its index, prev, recorded_at and leaf hash.
        """
        expected = self.size
        if entry.index != expected:
            raise VerificationError("entry index out of sequence", expected, expected, entry.index)
        if entry.prev != self.prev_hex:
            raise VerificationError("prev does not link to the previous entry", expected, self.prev_hex, entry.prev)
        if self.last_recorded_at is not None and entry.recorded_at < self.last_recorded_at:
            raise VerificationError(
                "recorded_at decreases", expected, f">= {self.last_recorded_at}", entry.recorded_at
            )
        if isinstance(stmt, str):
            raise VerificationError(stmt, expected)
        self.admit(stmt, expected, entry.recorded_at)
        self.frontier.append(entry.leaf_hash, self.on_node)
        self.prev_hex = entry.leaf_hash.hex()
        self.last_recorded_at = entry.recorded_at

    def add_record(self, record: EntryRecord) -> None:
        """``add`` for an entry already through ``entry_record`` (perhaps in another process).

        Deferred signatures only: the Ed25519 checks are collected in ``deferred``.
        """
        index, prev, recorded_at, leaf, facts = record
        expected = self.size
        if index != expected:
            raise VerificationError("entry index out of sequence", expected, expected, index)
        if prev != self.prev_hex:
            raise VerificationError("prev does not link to the previous entry", expected, self.prev_hex, prev)
        if self.last_recorded_at is not None and recorded_at < self.last_recorded_at:
            raise VerificationError("recorded_at decreases", expected, f">= {self.last_recorded_at}", recorded_at)
        if isinstance(facts, str):
            raise VerificationError(facts, expected)
        try:
            stmt = StatementRecord(facts)
            keys = self.trust.authorize(stmt, expected, recorded_at)
            lines = match_signature_lines(stmt.lines, keys)
            self.deferred.items.append(
                (expected, stmt.message, [(k, line.signature) for k, line in zip(keys, lines, strict=True)])
            )
            self.trust.apply(stmt, expected)
        except VerificationError:
            raise
        except LedgerError as e:
            raise VerificationError(_rule_reason(e), expected) from None
        self.frontier.append(leaf, self.on_node)
        self.prev_hex = leaf.hex()
        self.last_recorded_at = recorded_at

    def admit(self, stmt: Statement, index: int, recorded_at: str) -> None:
        try:
            keys = self.trust.authorize(stmt, index, recorded_at)
            if self.defer:
                lines = match_signatures(stmt.note, keys)
                self.deferred.items.append(
                    (index, stmt.note.text.encode("utf-8"),
                     [(k, line.signature) for k, line in zip(keys, lines, strict=True)])
                )
            else:
                self.trust.check_signatures(stmt, keys)
            self.trust.apply(stmt, index)
        except VerificationError:
            raise
        except LedgerError as e:
            raise VerificationError(_rule_reason(e), index) from None


def _rule_reason(error: LedgerError) -> str:
    rule = getattr(error, "rule", None)
    return f"{rule}: {error}" if rule else str(error)


def check_deferred(
    items: Sequence[tuple[int, bytes, Sequence[tuple[VerifierKey, bytes]]]],
) -> tuple[int, str] | None:
    """Check deferred signatures; return (index, reason) of the first failure, else None.

    The reason is the one ``add`` gives without deferring.
    """
    for index, message, checks in items:
        for key, signature in checks:
            try:
                key.verify(message, signature)
            except LedgerError as e:
                return index, str(e)
    return None
