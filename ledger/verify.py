"""Verification of a whole log, entry by entry, from the entry bytes alone.

Shared by ``disclosure-ledger verify`` (on the stored log) and the court's script
(on an export). Every check is on. Two parts can run in other processes: the
stateless parsing of an entry (``parse_log_entry``, then ``add_parsed``), and the
Ed25519 checks themselves (``defer_signatures``, then ``check_deferred``). The reasons
given are the same whichever way the work is split.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ledger.entry import ZERO_HASH_HEX, Entry, parse_entry
from ledger.errors import LedgerError, VerificationError
from ledger.keys import VerifierKey
from ledger.merkle import Frontier
from ledger.note import match_signatures
from ledger.statement import Statement, parse_statement
from ledger.trust import TrustState


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
            rule = getattr(e, "rule", None)
            reason = f"{rule}: {e}" if rule else str(e)
            raise VerificationError(reason, index) from None


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
